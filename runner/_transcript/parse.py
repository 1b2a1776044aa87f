"""One stream-json line to one typed event: ``parse_event``, which never drops a JSON object.

A known event is validated against its model in one pass (dispatch on ``type``, then
``subtype``); a line too large to validate whole is skimmed to its declared fields first;
anything that does not fit becomes ``SystemOther`` or ``UnknownEvent`` with all its fields.
"""

from __future__ import annotations

from typing import Annotated

import msgspec
import pydantic_core
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from runner._transcript.events import (
    AssistantEvent,
    KnownEvent,
    ResultEvent,
    StreamEvent,
    SystemEvent,
    SystemOther,
    UnknownEvent,
    UserEvent,
    WireEvent,
)


class EventParseError(ValueError):
    """A line that is not a JSON object. Carries the offending bytes."""

    def __init__(self, message: str, raw: bytes) -> None:
        super().__init__(message)
        self.raw = raw


# Dispatch on "type", then on "subtype" for system events: two dict lookups, no trial and error.
_KNOWN: TypeAdapter[KnownEvent] = TypeAdapter(
    Annotated[
        AssistantEvent
        | UserEvent
        | StreamEvent
        | ResultEvent
        | Annotated[SystemEvent, Field(discriminator="subtype")],
        Field(discriminator="type"),
    ]
)

_set = object.__setattr__

# Large lines are mostly fields runner does not model: the CLI echoes whole files in a user
# event's tool_use_result (Edit's originalFile, Read's content). pydantic would decode them all
# before ignoring them; msgspec finds each top-level field's span without decoding it (~2 GB/s),
# so only the declared fields are decoded. The event still keeps its whole line. The skipped
# fields are checked for JSON syntax, not UTF-8 (that check costs more than the whole parse);
# the CLI writes valid UTF-8, and ``full()`` would report a bad byte if one were there.
SKIM_MIN_BYTES = 64 * 1024
_SPANS = msgspec.json.Decoder(dict[str, msgspec.Raw])


def _declared(model: type[BaseModel]) -> dict[str, bytes]:
    """Wire name -> its JSON key with the colon, for every field ``model`` declares."""
    names = {f.alias or name for name, f in model.model_fields.items()}
    return {name: msgspec.json.encode(name) + b":" for name in names}


_DECLARED: dict[bytes, dict[str, bytes]] = {
    b'"assistant"': _declared(AssistantEvent),
    b'"user"': _declared(UserEvent),
    b'"stream_event"': _declared(StreamEvent),
    b'"result"': _declared(ResultEvent),
}


def _skim(raw: bytes) -> bytes:
    """The same JSON object with only the fields its model declares, cut from the line."""
    try:
        spans = _SPANS.decode(raw)
    except (msgspec.DecodeError, RecursionError):
        # Not an object, not JSON, or nested deeper than Python's stack (msgspec recurses on
        # it): pydantic reads the whole line, and says which (its own depth limit is 200).
        return raw
    kind = spans.get("type")
    keys = _DECLARED.get(bytes(kind)) if kind is not None else None
    if keys is None:
        return raw
    pieces: list[bytes | msgspec.Raw] = []
    for name, span in spans.items():
        if name in keys:
            pieces += (b",", keys[name], span)
    if not pieces:
        return raw
    pieces[0] = b"{"
    pieces.append(b"}")
    return b"".join(pieces)


# The validator itself: TypeAdapter.validate_json is a Python call around it, ~5% of a line.
_VALIDATE_JSON = _KNOWN.validator.validate_json


def parse_event(raw: bytes) -> WireEvent:
    """Parse one JSON line. Raises EventParseError only when it is not a JSON object."""
    try:
        doc = _skim(raw) if len(raw) >= SKIM_MIN_BYTES else raw
        event: WireEvent = _VALIDATE_JSON(doc)
    except ValidationError as exc:
        event = _fallback(raw, exc)
    _set(event, "_raw", raw)
    return event


def _fallback(raw: bytes, exc: ValidationError) -> SystemOther | UnknownEvent:
    first = exc.errors(include_url=False)[0]
    if first["type"] == "json_invalid":
        what = "JSON nested too deep" if "recursion limit" in first["msg"] else "not JSON"
        raise EventParseError(f"{what}: {first['msg']}", raw) from None
    try:
        obj = pydantic_core.from_json(raw)
    except ValueError as err:  # pragma: no cover - validate_json already accepted the JSON
        raise EventParseError(f"not JSON: {err}", raw) from None
    if not isinstance(obj, dict):
        raise EventParseError(f"not a JSON object but {type(obj).__name__}", raw)
    kind, subtype = obj.get("type"), obj.get("subtype")
    event: SystemOther | UnknownEvent
    if kind == "system" and isinstance(subtype, str):
        event = SystemOther.model_validate(obj)
    else:
        event = UnknownEvent.model_validate(
            {**obj, "type": kind if isinstance(kind, str) else None}
        )
    # An unknown tag is news, not a problem; a known tag that does not fit its model is drift.
    if first["type"] not in ("union_tag_invalid", "union_tag_not_found"):
        where = ".".join(str(p) for p in first["loc"][1:]) or "(event)"
        _set(event, "_problem", f"{where}: {first['msg']}")
    return event
