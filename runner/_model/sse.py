"""Server-sent events as the Messages API speaks them: decoding, encoding, and the message a
stream of events adds up to.

``SseDecoder`` is sans-IO like ``stream.LineFramer``: feed it bytes cut anywhere, get whole
events back. The proxy tees a response through one while passing the bytes on untouched.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, ConfigDict

_DELTA_FIELDS = {
    "text_delta": "text",
    "thinking_delta": "thinking",
    "input_json_delta": "partial_json",
}


class SseEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    event: str
    data: Any  # the data lines' JSON; the text itself when it is not JSON


class SseDecoder:
    """Bytes in, events out. An event ends at a blank line; ``:`` lines are comments."""

    def __init__(self) -> None:
        self._buffer = b""

    def feed(self, chunk: bytes) -> list[SseEvent]:
        self._buffer += chunk
        # Normalize line ends once per chunk; a \r\n split across chunks only delays an event.
        if b"\r" in self._buffer:
            self._buffer = self._buffer.replace(b"\r\n", b"\n")
        *blocks, self._buffer = self._buffer.split(b"\n\n")
        return [e for e in map(_event, blocks) if e is not None]

    def close(self) -> list[SseEvent]:
        rest, self._buffer = self._buffer, b""
        event = _event(rest.rstrip(b"\n"))
        return [] if event is None else [event]


def _event(block: bytes) -> SseEvent | None:
    name, data = "message", []
    for line in block.decode("utf-8", "replace").split("\n"):
        field, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if field == "event":
            name = value
        elif field == "data":
            data.append(value)
    if not data:
        return None
    text = "\n".join(data)
    try:
        return SseEvent(event=name, data=json.loads(text))
    except ValueError:
        return SseEvent(event=name, data=text)


def encode(event: SseEvent) -> bytes:
    data = event.data if isinstance(event.data, str) else json.dumps(event.data)
    return f"event: {event.event}\ndata: {data}\n\n".encode()


def join_deltas(events: list[SseEvent]) -> list[SseEvent]:
    """The same stream with each run of one block's text, thinking or JSON deltas joined into
    one delta: what a client assembles is unchanged, and a path split across deltas is whole
    again, so it can be found and replaced."""
    out: list[SseEvent] = []
    for ev in events:
        prev = out[-1] if out else None
        key = _delta_key(ev)
        if prev is not None and key is not None and _delta_key(prev) == key:
            field, before = _DELTA_FIELDS[key[1]], prev.data["delta"]
            delta = {**before, field: before[field] + ev.data["delta"][field]}
            out[-1] = SseEvent(event=prev.event, data={**prev.data, "delta": delta})
        else:
            out.append(ev)
    return out


def _delta_key(ev: SseEvent) -> tuple[Any, str] | None:
    if ev.event != "content_block_delta" or not isinstance(ev.data, dict):
        return None
    delta = ev.data.get("delta")
    if not isinstance(delta, dict) or delta.get("type") not in _DELTA_FIELDS:
        return None
    if not isinstance(delta.get(_DELTA_FIELDS[delta["type"]]), str):
        return None
    return ev.data.get("index"), delta["type"]


def aggregate(events: list[dict[str, Any]]) -> dict[str, Any]:
    """The message a stream's event data adds up to: what a non-streaming reply holds."""
    message: dict[str, Any] = {}
    blocks: dict[int, dict[str, Any]] = {}
    partial_json: dict[int, str] = {}
    for ev in events:
        kind = ev.get("type")
        if kind == "message_start":
            message = dict(ev["message"])
        elif kind == "content_block_start":
            blocks[ev["index"]] = dict(ev["content_block"])
        elif kind == "content_block_delta":
            d, i = ev["delta"], ev["index"]
            block = blocks.setdefault(i, {})
            if d["type"] == "input_json_delta":
                partial_json[i] = partial_json.get(i, "") + d["partial_json"]
            elif d["type"] in _DELTA_FIELDS:
                field = _DELTA_FIELDS[d["type"]]
                block[field] = block.get(field, "") + d[field]
            elif d["type"] == "signature_delta":
                block["signature"] = d["signature"]
        elif kind == "message_delta":
            message.update(ev.get("delta", {}))
            message["usage"] = {**message.get("usage", {}), **ev.get("usage", {})}
    for i, text in partial_json.items():
        try:
            blocks[i]["input"] = json.loads(text) if text else {}
        except ValueError:
            blocks[i]["input"] = text  # kept as sent: a replay shows what the model wrote
    message["content"] = [blocks[i] for i in sorted(blocks)]
    return message


def map_data(events: list[SseEvent], change: Callable[[Any], Any]) -> list[SseEvent]:
    """``events`` with each one's data passed through ``change`` (scrubbed, or filled in)."""
    return [SseEvent(event=e.event, data=change(e.data)) for e in events]
