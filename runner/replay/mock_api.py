"""A scripted Anthropic Messages API endpoint on 127.0.0.1, speaking SSE like the real one.

The real CLI runs against it: its tools really run, only the model's turns are scripted.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio

from runner.replay.http import HttpRequest, HttpResponse, serve
from runner.replay.script import Script, ScriptText, ScriptThinking, ScriptToolUse, Turn, expand

_TEXT_CHUNK = 64  # characters per text/thinking delta, so the CLI really assembles a stream
_JSON_CHUNK = 256  # characters per input_json_delta


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None


@dataclass
class _Conversation:
    turns: list[Turn]
    served: int = 0


@dataclass
class ScriptedModel:
    """Answers ``POST /v1/messages`` with the script's turns in order, per conversation."""

    script: Script
    requests: list[RecordedRequest] = field(default_factory=list)
    _main: _Conversation = field(init=False)
    _others: dict[str, _Conversation] = field(init=False)

    def __post_init__(self) -> None:
        self._main = _Conversation(expand(self.script.turns))
        self._others = {k: _Conversation(expand(v)) for k, v in self.script.conversations.items()}

    @property
    def turns_served(self) -> int:
        return self._main.served + sum(c.served for c in self._others.values())

    @property
    def turns_left(self) -> int:
        every = [self._main, *self._others.values()]
        return sum(len(c.turns) - c.served for c in every)

    def _conversation(self, body: dict[str, Any]) -> _Conversation:
        if self._others:
            messages = body.get("messages")
            first = json.dumps(messages[0]) if isinstance(messages, list) and messages else ""
            for marker, conversation in self._others.items():
                if marker in first:
                    return conversation
        return self._main

    async def handle(self, req: HttpRequest) -> HttpResponse:
        try:
            body = json.loads(req.body) if req.body else None
        except ValueError:
            body = None
        self.requests.append(RecordedRequest(req.method, req.path, req.headers, body))
        if req.method == "POST" and req.path == "/v1/messages/count_tokens":
            return _json(200, {"input_tokens": len(req.body) // 4})
        if req.method != "POST" or req.path != "/v1/messages":
            return _json(404, _error_body("not_found_error", f"no scripted route {req.path}"))
        if not isinstance(body, dict):
            return _json(400, _error_body("invalid_request_error", "body is not a JSON object"))
        conversation = self._conversation(body)
        if conversation.served >= len(conversation.turns):
            # A 400 ends the CLI quickly; a 5xx would send it into minutes of retries.
            n = len(conversation.turns)
            msg = f"scripted model: the script has {n} turns for this conversation, all used"
            return _json(400, _error_body("invalid_request_error", msg))
        turn = conversation.turns[conversation.served]
        conversation.served += 1
        index = self.turns_served - 1  # unique across conversations: message and tool ids
        if turn.hang:
            await anyio.sleep_forever()
        if turn.delay_s:
            await anyio.sleep(turn.delay_s)
        if turn.error is not None:
            return _json(turn.error.status, _error_body(turn.error.type, turn.error.message))
        model = self.script.model or str(body.get("model", "claude-scripted"))
        events = _turn_events(turn, index=index, model=model)
        if body.get("stream"):
            return HttpResponse(
                200,
                [("content-type", "text/event-stream"), ("cache-control", "no-cache")],
                _sse(events),
            )
        return _json(200, _aggregate(events))


def _json(status: int, payload: Any) -> HttpResponse:
    return HttpResponse(
        status, [("content-type", "application/json")], json.dumps(payload).encode()
    )


def _error_body(kind: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": kind, "message": message}}


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def _turn_events(turn: Turn, *, index: int, model: str) -> list[dict[str, Any]]:
    """The SSE events of one streamed message, as the Messages API sends them."""
    usage = turn.usage
    out_tokens = usage.output_tokens
    if out_tokens is None:
        out_tokens = 1 + sum(len(json.dumps(b.model_dump())) for b in turn.content) // 4
    events: list[dict[str, Any]] = [
        {
            "type": "message_start",
            "message": {
                "id": f"msg_scripted_{index:04d}",
                "type": "message",
                "role": "assistant",
                "model": model,
                "content": [],
                "stop_reason": None,
                "stop_sequence": None,
                "usage": {
                    "input_tokens": usage.input_tokens,
                    "cache_creation_input_tokens": usage.cache_creation_input_tokens,
                    "cache_read_input_tokens": usage.cache_read_input_tokens,
                    "output_tokens": 1,
                },
            },
        }
    ]
    for i, block in enumerate(turn.content):
        events.extend(_block_events(i, block, index=index))
    events.append(
        {
            "type": "message_delta",
            "delta": {"stop_reason": turn.effective_stop_reason(), "stop_sequence": None},
            "usage": {"output_tokens": out_tokens},
        }
    )
    events.append({"type": "message_stop"})
    return events


def _block_events(
    i: int, block: ScriptText | ScriptThinking | ScriptToolUse, *, index: int
) -> list[dict[str, Any]]:
    start: dict[str, Any]
    deltas: list[dict[str, Any]]
    if isinstance(block, ScriptText):
        start = {"type": "text", "text": ""}
        deltas = [{"type": "text_delta", "text": c} for c in _chunks(block.text, _TEXT_CHUNK)]
    elif isinstance(block, ScriptThinking):
        start = {"type": "thinking", "thinking": "", "signature": ""}
        deltas = [
            {"type": "thinking_delta", "thinking": c} for c in _chunks(block.thinking, _TEXT_CHUNK)
        ]
        deltas.append({"type": "signature_delta", "signature": block.signature})
    else:
        tool_id = block.id or f"toolu_scripted_{index:04d}_{i}"
        start = {"type": "tool_use", "id": tool_id, "name": block.name, "input": {}}
        deltas = [
            {"type": "input_json_delta", "partial_json": c}
            for c in _chunks(json.dumps(block.input), _JSON_CHUNK)
        ]
    return [
        {"type": "content_block_start", "index": i, "content_block": start},
        *({"type": "content_block_delta", "index": i, "delta": d} for d in deltas),
        {"type": "content_block_stop", "index": i},
    ]


async def _sse(events: list[dict[str, Any]]) -> AsyncIterator[bytes]:
    for event in events:
        yield f"event: {event['type']}\ndata: {json.dumps(event)}\n\n".encode()


def _aggregate(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The non-streaming reply: the same message, assembled."""
    message: dict[str, Any] = dict(events[0]["message"])
    blocks: list[dict[str, Any]] = []
    partial_json: dict[int, str] = {}
    for ev in events[1:]:
        if ev["type"] == "content_block_start":
            blocks.append(dict(ev["content_block"]))
        elif ev["type"] == "content_block_delta":
            d, block = ev["delta"], blocks[ev["index"]]
            if d["type"] == "input_json_delta":
                partial_json[ev["index"]] = partial_json.get(ev["index"], "") + d["partial_json"]
            else:
                key = {"text_delta": "text", "thinking_delta": "thinking"}.get(d["type"])
                if key:
                    block[key] += d[key]
                else:
                    block["signature"] = d["signature"]
        elif ev["type"] == "message_delta":
            message.update(ev["delta"])
            message["usage"] = {**message["usage"], **ev["usage"]}
    for i, text in partial_json.items():
        blocks[i]["input"] = json.loads(text)
    message["content"] = blocks
    return message


@dataclass(frozen=True)
class RunningModel:
    url: str
    model: ScriptedModel


@asynccontextmanager
async def scripted_model(script: Script, *, port: int = 0) -> AsyncIterator[RunningModel]:
    """Serve ``script`` on 127.0.0.1 for the body of the ``async with``; stops on exit."""
    model = ScriptedModel(script)
    async with anyio.create_task_group() as tg:
        bound = await tg.start(partial(serve, model.handle, port=port))
        try:
            yield RunningModel(f"http://127.0.0.1:{bound}", model)
        finally:
            tg.cancel_scope.cancel()
