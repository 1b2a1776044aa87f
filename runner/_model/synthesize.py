"""An API cassette told as the stream-json the CLI would have printed for it.

A cassette holds what went over the wire: requests (the conversation so far) and replies (one
assistant message each). The CLI prints each reply's content blocks as ``assistant`` lines
(one a block, the same id, model and usage), the tool results it sends back as a ``user``
line, and a ``result`` at the end. ``stream_lines`` rebuilds those lines, so a cassette feeds
the same reader (``stream.iter_events``, ``SummaryBuilder``) as a recorded stream. A subagent's
last message (it calls no tool) is its report: by default the CLI does not print it, and its
text comes back as the Agent call's result.

Conversations are told apart by a request's first message: the first request's is the main
one. A new first message that holds the ``prompt`` of a tool call (Agent, Task) is that call's
subagent; failing that, the subagent of the latest such call still waiting for its result;
failing that, the main conversation going on (a compacted history starts anew too).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from runner._model.cassette import Cassette, Exchange
from runner._model.normalize import Normalizer, digest
from runner._transcript.usage import Usage

MESSAGES_PATH = "/v1/messages"
NOTICE_TYPE = "runner_replay_notice"  # an unknown event type: the summary counts it


@dataclass
class _Synthesis:
    lines: list[dict[str, Any]] = field(default_factory=list)
    parents: dict[str, str | None] = field(default_factory=dict)  # conversation -> its parent
    main: str | None = None
    pending: dict[str, str] = field(default_factory=dict)  # unanswered tool calls: id -> name
    prompts: dict[str, str] = field(default_factory=dict)  # call id -> prompt (Agent, Task)
    by_model: dict[str, Usage] = field(default_factory=dict)
    main_usage: Usage = field(default_factory=Usage)
    main_turns: int = 0
    final_text: str | None = None
    ended: bool = False  # the main conversation's last reply called no tool
    attempt: int = 0  # failed tries of the current request
    ending: tuple[int, str] | None = None  # the error the CLI gave up on: status, message

    def exchange(self, ex: Exchange, *, last: bool = False) -> None:
        """One exchange's lines; ``last``: an error here is the run's ending, not a retry."""
        body = ex.request.body if isinstance(ex.request.body, dict) else {}
        if ex.request.path.split("?", 1)[0] != MESSAGES_PATH:
            return  # token counts and the like: no turn of the conversation
        parent = self._conversation(body.get("messages"))
        self._answers(body.get("messages"), parent)
        message = ex.response.message()
        if ex.response.status != 200 and last:
            self.ending = (ex.response.status, _error_message(ex))
        elif ex.response.status != 200:
            self._error(ex)
        elif message is None:
            self._notice(f"exchange {ex.index}: a 200 reply that is not a message; skipped")
        else:
            self._reply(message, parent)

    def _conversation(self, messages: Any) -> str | None:
        """The parent tool call of the conversation a request belongs to (None: main)."""
        first = messages[0] if isinstance(messages, list) and messages else None
        key = digest(Normalizer().value(first))
        if self.main is None:
            self.main = key
        if key not in self.parents:
            spawner = None if key == self.main else self._spawner(json.dumps(first))
            if spawner is None:
                self.main = key  # nothing could have spawned it: the main one, compacted
            self.parents[key] = spawner
        return self.parents[key]

    def _answers(self, messages: Any, parent: str | None) -> None:
        """The results of pending tool calls this request sends, as one user line."""
        blocks = [
            b
            for m in (messages if isinstance(messages, list) else [])
            if isinstance(m, dict) and isinstance(m.get("content"), list)
            for b in m["content"]
            if isinstance(b, dict) and b.get("type") == "tool_result"
        ]
        answered = [
            b for b in blocks if self.pending.pop(str(b.get("tool_use_id")), None) is not None
        ]
        if answered:
            content = [{k: v for k, v in b.items() if k != "cache_control"} for b in answered]
            self.lines.append(
                {
                    "type": "user",
                    "message": {"role": "user", "content": content},
                    "parent_tool_use_id": parent,
                }
            )

    def _reply(self, message: dict[str, Any], parent: str | None) -> None:
        model = str(message.get("model", "unknown"))
        usage = Usage.model_validate(
            {k: v or 0 for k, v in (message.get("usage") or {}).items() if k in Usage.model_fields}
        )
        self.attempt = 0
        self.by_model[model] = self.by_model.get(model, Usage()) + usage
        blocks = [b for b in message.get("content", []) if isinstance(b, dict)]
        calls = any(b.get("type") == "tool_use" for b in blocks)
        if parent is not None and not calls:
            return  # a subagent's report: the CLI prints it only as the Agent call's result
        for block in blocks:
            self.lines.append(_assistant_line(message, model, block, parent))
            if block.get("type") == "tool_use":
                self._call(block)
        if parent is None:
            self.main_usage += usage
            self.main_turns += 1
            texts = [str(b.get("text", "")) for b in blocks if b.get("type") == "text"]
            self.final_text = texts[-1] if texts else self.final_text
            self.ended = not calls

    def _call(self, block: dict[str, Any]) -> None:
        tool_id, tool_input = str(block.get("id")), block.get("input")
        self.pending[tool_id] = str(block.get("name"))
        if isinstance(tool_input, dict) and isinstance(tool_input.get("prompt"), str):
            self.prompts[tool_id] = tool_input["prompt"]

    def _spawner(self, first: str) -> str | None:
        """The tool call that started the conversation whose first message is ``first``."""
        for tool_id, prompt in reversed(self.prompts.items()):
            if json.dumps(prompt)[1:-1] in first:
                return tool_id
        waiting = [tool_id for tool_id in self.pending if tool_id in self.prompts]
        return waiting[-1] if waiting else None

    def _error(self, ex: Exchange) -> None:
        # The CLI retries a failed request and says so; a replay says the same.
        self.attempt += 1
        self.lines.append(
            {
                "type": "system",
                "subtype": "api_retry",
                "attempt": self.attempt,
                "error_status": ex.response.status,
                "error": _error_message(ex, field="type"),
            }
        )

    def _notice(self, what: str) -> None:
        self.lines.append({"type": NOTICE_TYPE, "what": what})

    def result(self, cassette: Cassette) -> dict[str, Any] | None:
        """The result line the header's ending implies; None for a run with none (a timeout,
        a crash: its stream had no result either)."""
        header = cassette.header
        reason = header.exit_reason or ("success" if self.ended else None)
        if reason == "success":
            subtype, is_error = "success", False
        elif reason == "api_error":
            subtype, is_error = "success", True  # how the CLI reports an API error
        elif reason is not None and reason.startswith("error_"):
            subtype, is_error = reason, True
        else:
            return None
        status, said = self.ending if self.ending is not None else (None, "")
        return {
            "type": "result",
            "subtype": subtype,
            "is_error": is_error,
            "num_turns": header.num_turns if header.num_turns is not None else self.main_turns,
            "total_cost_usd": header.cost_usd,
            "usage": self.main_usage.model_dump(),
            "modelUsage": {m: _model_usage(u) for m, u in self.by_model.items()},
            "result": self.final_text if status is None else f"API Error: {status} {said}",
            "api_error_status": status,
        }


def _error_message(ex: Exchange, field: str = "message") -> str:
    """The error reply's own words (``field`` of its ``error``), or its status."""
    body = ex.response.body
    error = body.get("error") if isinstance(body, dict) else None
    said = error.get(field) if isinstance(error, dict) else None
    return str(said) if said else f"HTTP {ex.response.status}"


def _assistant_line(
    message: dict[str, Any], model: str, block: dict[str, Any], parent: str | None
) -> dict[str, Any]:
    return {
        "type": "assistant",
        "message": {
            "id": message.get("id", "msg_replayed"),
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [block],
            "usage": message.get("usage"),
        },
        "parent_tool_use_id": parent,
    }


def _model_usage(usage: Usage) -> dict[str, int]:
    return {
        "inputTokens": usage.input_tokens,
        "outputTokens": usage.output_tokens,
        "cacheReadInputTokens": usage.cache_read_input_tokens,
        "cacheCreationInputTokens": usage.cache_creation_input_tokens,
    }


def stream_lines(cassette: Cassette) -> bytes:
    """The NDJSON the CLI would have printed for ``cassette``: init, the conversation, the
    result."""
    synthesis = _Synthesis()
    exchanges = cassette.exchanges
    gave_up = cassette.header.exit_reason == "api_error"
    for n, ex in enumerate(exchanges, 1):
        # The error an API-error run ended on is its ending; any other error, one retry.
        synthesis.exchange(ex, last=gave_up and n == len(exchanges))
    models = list(synthesis.by_model)
    init = {
        "type": "system",
        "subtype": "init",
        "model": models[0] if models else None,
        "claude_code_version": cassette.header.cli_version,
    }
    result = synthesis.result(cassette)
    lines = [init, *synthesis.lines, *([result] if result is not None else [])]
    return b"".join(json.dumps(line, ensure_ascii=False).encode() + b"\n" for line in lines)
