"""A scripted Anthropic Messages API endpoint on 127.0.0.1, speaking SSE like the real one.

The real CLI runs against it: its tools really run, only the model's turns are scripted. Each
CLI session (the ``x-claude-code-session-id`` header, which subagents share with their parent)
plays the script from its start with its own draw of the choices, so one server can serve many
runs in a row.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import anyio

from runner._model.http import (
    HttpRequest,
    HttpResponse,
    api_error,
    json_response,
    probe_reply,
    serving,
)
from runner._model.script import Script, ScriptText, ScriptThinking, ScriptToolUse, Turn
from runner._model.sse import SseEvent, aggregate, encode
from runner._util.figures import plural

SESSION_HEADER = "x-claude-code-session-id"
_TEXT_CHUNK = 64  # characters per text/thinking delta, so the CLI really assembles a stream
_JSON_CHUNK = 256  # characters per input_json_delta


@dataclass(frozen=True)
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the parsed JSON body, or None


@dataclass(frozen=True)
class Exchange:
    """One request and what it got, told as it arrives (the ``mock-model`` log)."""

    method: str
    path: str
    session: str | None  # the session header; None: the default session
    status: int | None  # None: the turn hangs
    conversation: str | None = None  # the marker that routed it; None: the main conversation
    turn: int | None = None  # 0-based index in its conversation; == turns when all were used
    turns: int | None = None  # the conversation's length


@dataclass(frozen=True)
class SessionInfo:
    id: str | None  # None: requests without the session header
    seed: int  # the seed its choices were drawn with
    turns: int  # turns its draw resolved to, every conversation included
    served: int


@dataclass
class _Conversation:
    turns: list[Turn]
    served: int = 0

    @property
    def left(self) -> int:
        return len(self.turns) - self.served


@dataclass
class _Session:
    seed: int
    main: _Conversation
    others: dict[str, _Conversation]

    @classmethod
    def draw(cls, script: Script, seed: int) -> _Session:
        resolved = script.resolved(seed)
        others = {k: _Conversation(v) for k, v in resolved.conversations.items()}
        return cls(seed, _Conversation(resolved.turns), others)

    @property
    def conversations(self) -> list[_Conversation]:
        return [self.main, *self.others.values()]

    @property
    def served(self) -> int:
        return sum(c.served for c in self.conversations)

    @property
    def left(self) -> int:
        return sum(c.left for c in self.conversations)

    def route(self, body: dict[str, Any]) -> tuple[str | None, _Conversation]:
        """The conversation a request belongs to: a marker in its first message, else main."""
        if self.others:
            messages = body.get("messages")
            first = json.dumps(messages[0]) if isinstance(messages, list) and messages else ""
            for marker, conversation in self.others.items():
                if marker in first:
                    return marker, conversation
        return None, self.main


@dataclass
class ScriptedModel:
    """Answers ``POST /v1/messages`` with the script's turns in order, per session and
    conversation. Session n (0-based, in order of first request) draws its choices with
    ``seed + n``; ``seed`` defaults to the script's."""

    script: Script
    seed: int | None = None
    on_exchange: Callable[[Exchange], None] | None = None
    requests: list[RecordedRequest] = field(default_factory=list)
    _sessions: dict[str | None, _Session] = field(init=False, default_factory=dict)

    @property
    def base_seed(self) -> int:
        return self.script.seed if self.seed is None else self.seed

    @property
    def turns_served(self) -> int:
        return sum(s.served for s in self._sessions.values())

    @property
    def turns_left(self) -> int:
        if not self._sessions:
            return self.script.resolved(self.base_seed).total
        return sum(s.left for s in self._sessions.values())

    @property
    def sessions(self) -> list[SessionInfo]:
        return [
            SessionInfo(key, s.seed, s.served + s.left, s.served)
            for key, s in self._sessions.items()
        ]

    def _session(self, key: str | None) -> _Session:
        if key not in self._sessions:
            self._sessions[key] = _Session.draw(self.script, self.base_seed + len(self._sessions))
        return self._sessions[key]

    def _note(self, exchange: Exchange) -> None:
        if self.on_exchange is not None:
            self.on_exchange(exchange)

    async def handle(self, req: HttpRequest) -> HttpResponse:
        try:
            body = json.loads(req.body) if req.body else None
        except (ValueError, RecursionError):  # not JSON, or nested past what Python reads
            body = None
        self.requests.append(RecordedRequest(req.method, req.path, req.headers, body))
        exchange = Exchange(req.method, req.path, req.headers.get(SESSION_HEADER), None)
        messages = _messages_body(req, body)
        if isinstance(messages, HttpResponse):
            self._note(replace(exchange, status=messages.status))
            return messages
        return await self._answer(messages, exchange)

    async def _answer(self, body: dict[str, Any], exchange: Exchange) -> HttpResponse:
        session = self._session(exchange.session)
        marker, conversation = session.route(body)
        n = len(conversation.turns)
        exchange = replace(exchange, conversation=marker, turn=conversation.served, turns=n)
        if conversation.left == 0:
            self._note(replace(exchange, status=400))
            # A 400 ends the CLI quickly; a 5xx would send it into minutes of retries.
            has = plural(n, "turn")
            msg = f"scripted model: the script has {has} for this conversation, all used"
            return api_error(400, "invalid_request_error", msg)
        turn = conversation.turns[conversation.served]
        conversation.served += 1
        self._note(replace(exchange, status=_status(turn)))
        # Ids count per session, unique across its conversations: every run sees the same ids.
        return await self._play(turn, body, index=session.served - 1)

    async def _play(self, turn: Turn, body: dict[str, Any], *, index: int) -> HttpResponse:
        if turn.hang:
            await anyio.sleep_forever()
        if turn.delay_s:
            await anyio.sleep(turn.delay_s)
        if turn.error is not None:
            return api_error(turn.error.status, turn.error.type, turn.error.message)
        model = self.script.model or str(body.get("model", "claude-scripted"))
        events = _turn_events(turn, index=index, model=model)
        if body.get("stream"):
            return HttpResponse(
                200,
                [("content-type", "text/event-stream"), ("cache-control", "no-cache")],
                _sse(events),
            )
        return json_response(200, aggregate(events))


def _messages_body(req: HttpRequest, body: Any) -> dict[str, Any] | HttpResponse:
    """A Messages request's body, or the answer to a request that takes no turn: a token
    count, the CLI's probe, an unknown route, a body that is not an object."""
    if (probe := probe_reply(req)) is not None:
        return probe
    if req.method == "POST" and req.path == "/v1/messages/count_tokens":
        return json_response(200, {"input_tokens": len(req.body) // 4})
    if req.method != "POST" or req.path != "/v1/messages":
        return api_error(404, "not_found_error", f"no scripted route {req.path}")
    if not isinstance(body, dict):
        return api_error(400, "invalid_request_error", "body is not a JSON object")
    return body


def _status(turn: Turn) -> int | None:
    if turn.hang:
        return None
    return turn.error.status if turn.error is not None else 200


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
        yield encode(SseEvent(event=event["type"], data=event))


@dataclass(frozen=True)
class RunningModel:
    url: str
    model: ScriptedModel


@asynccontextmanager
async def scripted_model(
    script: Script, *, port: int = 0, seed: int | None = None
) -> AsyncIterator[RunningModel]:
    """Serve ``script`` on 127.0.0.1 for the body of the ``async with``; stops on exit.

    ``seed`` overrides the script's as the first session's seed."""
    model = ScriptedModel(script, seed=seed)
    async with serving(model.handle, port=port) as url:
        yield RunningModel(url, model)
