"""The CLI's stream-json vocabulary as pydantic models: top-level events and content blocks.

Known shapes declare the fields runner reads and ignore the rest for speed; each parsed event
keeps its exact JSON line (``raw_json()``), so nothing is lost and ``full()`` gives every field.
Unknown event types, system subtypes and block types are rare: they keep all their fields on
the model itself (``extra="allow"``). ``parse_event`` never drops a JSON object.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias, get_args

import msgspec
import pydantic_core
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError


class EventParseError(ValueError):
    """A line that is not a JSON object. Carries the offending bytes."""

    def __init__(self, message: str, raw: bytes) -> None:
        super().__init__(message)
        self.raw = raw


class _Known(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _Open(BaseModel):
    # For shapes we do not know: every field is kept on the model.
    model_config = ConfigDict(extra="allow", frozen=True)


# ---- content blocks -------------------------------------------------------------------------


class TextBlock(_Known):
    type: Literal["text"]
    text: str


class ThinkingBlock(_Known):
    type: Literal["thinking"]
    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(_Known):
    type: Literal["redacted_thinking"]
    data: str


class ToolUseBlock(_Known):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ImageBlock(_Known):
    type: Literal["image"]
    source: dict[str, Any]


class UnknownBlock(_Open):
    """A content block of a type runner does not model, or of a known type in a shape it did
    not expect; all its fields kept."""

    type: str

    @property
    def problem(self) -> str | None:
        """Set when the type is one runner models: the CLI changed that block's shape."""
        if self.type in _BLOCK_TYPES:
            return f"{self.type} block in an unexpected shape"
        return None


# Tagged unions try the "type" tag first (one dict lookup); a block of a type we do not know
# falls through, left to right, to UnknownBlock, which keeps all its fields.
ToolResultItem: TypeAlias = Annotated[
    Annotated[TextBlock | ImageBlock, Field(discriminator="type")] | UnknownBlock,
    Field(union_mode="left_to_right"),
]


class ToolResultBlock(_Known):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[ToolResultItem] | None = None
    is_error: bool | None = None

    def text(self) -> str:
        """The result as text: the string, or its text items joined."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        return "\n".join(i.text for i in self.content if isinstance(i, TextBlock))


ContentBlock: TypeAlias = Annotated[
    Annotated[
        TextBlock
        | ThinkingBlock
        | RedactedThinkingBlock
        | ToolUseBlock
        | ToolResultBlock
        | ImageBlock,
        Field(discriminator="type"),
    ]
    | UnknownBlock,
    Field(union_mode="left_to_right"),
]


_BLOCK_TYPES: frozenset[str] = frozenset(
    get_args(model.model_fields["type"].annotation)[0]
    for model in (
        TextBlock,
        ThinkingBlock,
        RedactedThinkingBlock,
        ToolUseBlock,
        ToolResultBlock,
        ImageBlock,
    )
)


# ---- usage ----------------------------------------------------------------------------------


class WireUsage(_Known):
    """Token counts as the Messages API reports them (``usage`` on messages and results)."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_creation_input_tokens: int | None = None
    cache_read_input_tokens: int | None = None


class ModelUsage(_Known):
    """One model's totals in a result's ``modelUsage`` (the CLI spells these in camelCase)."""

    input_tokens: int = Field(0, alias="inputTokens")
    output_tokens: int = Field(0, alias="outputTokens")
    cache_read_input_tokens: int = Field(0, alias="cacheReadInputTokens")
    cache_creation_input_tokens: int = Field(0, alias="cacheCreationInputTokens")
    web_search_requests: int = Field(0, alias="webSearchRequests")
    cost_usd: float | None = Field(None, alias="costUSD")


# ---- top-level events -----------------------------------------------------------------------


class _RawLine:
    """The source line of a parsed event, set by parse_event without pydantic's attribute
    machinery, which would cost as much as the parse itself."""

    __slots__ = ()

    def raw_json(self) -> bytes:
        """The event as JSON: its exact source line when parsed, else its fields."""
        raw: bytes | None = getattr(self, "_raw", None)
        if raw is not None:
            return raw
        assert isinstance(self, BaseModel)
        return self.model_dump_json(by_alias=True, exclude_unset=True).encode()

    def full(self) -> dict[str, Any]:
        """Every field of the event, the undeclared ones included."""
        data: dict[str, Any] = pydantic_core.from_json(self.raw_json())
        return data


class _Event(_RawLine, _Known):
    # Hot events declare only what runner reads: each declared field costs ~0.3 us a line.
    # session_id, uuid, timestamps and the rest are in the raw line (``full()``).
    __slots__ = ("_raw",)


class AssistantMessage(_Known):
    id: str
    model: str
    content: list[ContentBlock]
    # A snapshot from the message's start, repeated on each of its lines (output_tokens is 1).
    usage: WireUsage | None = None


class UserMessage(_Known):
    content: str | list[ContentBlock]


class AssistantEvent(_Event):
    """One content block of a model message (the CLI sends each block as its own line)."""

    type: Literal["assistant"]
    message: AssistantMessage
    parent_tool_use_id: str | None = None  # set inside a subagent
    error: str | None = None  # on a message the CLI made up for a failure: authentication_failed


class UserEvent(_Event):
    """Tool results, the prompt, or (``is_synthetic``) text the CLI adds, such as a skill body."""

    type: Literal["user"]
    message: UserMessage
    parent_tool_use_id: str | None = None
    is_synthetic: bool = Field(False, alias="isSynthetic")


class StreamEvent(_Event):
    """A raw Messages API SSE event (only with ``--include-partial-messages``)."""

    type: Literal["stream_event"]
    event: dict[str, Any]
    parent_tool_use_id: str | None = None


class ResultEvent(_Event):
    """The end of a query: how it ended, and totals. A session with background tasks can send
    several (see ``result_index``): ``num_turns``, ``duration_ms`` and ``usage`` cover this
    segment's main thread only; ``modelUsage``, ``total_cost_usd`` and ``duration_api_ms`` are
    the session's running totals, subagents included."""

    type: Literal["result"]
    subtype: str  # "success" does not mean success: read is_error
    session_id: str | None = None
    is_error: bool = False
    num_turns: int | None = None
    duration_ms: int | None = None
    duration_api_ms: int | None = None
    total_cost_usd: float | None = None
    usage: WireUsage | None = None
    model_usage: dict[str, ModelUsage] = Field(default_factory=dict, alias="modelUsage")
    result: str | None = None
    api_error_status: int | None = None
    stop_reason: str | None = None
    terminal_reason: str | None = None
    errors: list[str] | None = None
    result_index: int | None = None


class _System(_Event):
    type: Literal["system"]


class SystemInit(_System):
    subtype: Literal["init"]
    session_id: str | None = None
    cwd: str | None = None
    model: str | None = None
    claude_code_version: str | None = None
    permission_mode: str | None = Field(None, alias="permissionMode")
    api_key_source: str | None = Field(None, alias="apiKeySource")
    tools: list[str] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list)  # the skills the agent can see


class SystemStatus(_System):
    subtype: Literal["status"]
    status: str | None = None


class SystemApiRetry(_System):
    """The CLI is retrying a failed API request (it retries 401s and 5xx for minutes)."""

    subtype: Literal["api_retry"]
    attempt: int
    max_retries: int | None = None
    retry_delay_ms: float | None = None
    error_status: int | None = None
    error: str | None = None


class SystemThinkingTokens(_System):
    subtype: Literal["thinking_tokens"]
    estimated_tokens: int | None = None
    estimated_tokens_delta: int | None = None


class SystemTaskStarted(_System):
    subtype: Literal["task_started"]
    task_id: str
    description: str | None = None
    tool_use_id: str | None = None
    task_type: str | None = None  # local_agent (a subagent), local_bash (a background command)
    subagent_type: str | None = None
    is_backgrounded: bool | None = None


class SystemTaskProgress(_System):
    subtype: Literal["task_progress"]
    task_id: str
    description: str | None = None
    tool_use_id: str | None = None
    last_tool_name: str | None = None
    usage: dict[str, Any] | None = None


class SystemTaskUpdated(_System):
    subtype: Literal["task_updated"]
    task_id: str | None = None
    patch: dict[str, Any] = Field(default_factory=dict)


class SystemTaskNotification(_System):
    subtype: Literal["task_notification"]
    task_id: str
    status: str | None = None
    summary: str | None = None
    output_file: str | None = None
    tool_use_id: str | None = None
    usage: dict[str, Any] | None = None


class _OpenEvent(_RawLine, _Open):
    __slots__ = ("_problem", "_raw")

    @property
    def problem(self) -> str | None:
        """Why the object did not fit the model of its known type; None when its type is new."""
        problem: str | None = getattr(self, "_problem", None)
        return problem

    @property
    def label(self) -> str:
        """``type/subtype`` (or just the type), for telling a human which event this is."""
        subtype = getattr(self, "subtype", None)
        kind = getattr(self, "type", None)
        return f"{kind}/{subtype}" if subtype else str(kind)


class SystemPermissionDenied(_System):
    """A tool call the permission mode refused; the agent is told and goes on."""

    subtype: Literal["permission_denied"]
    tool_name: str | None = None
    tool_use_id: str | None = None
    message: str | None = None


class SystemCompactBoundary(_System):
    """The conversation was compacted here; ``compact_metadata`` says why and by how much."""

    subtype: Literal["compact_boundary"]
    compact_metadata: dict[str, Any] = Field(default_factory=dict)


class _Hook(_System):
    hook_id: str | None = None
    hook_name: str | None = None  # e.g. "PreToolUse:Bash"
    hook_event: str | None = None


class SystemHookStarted(_Hook):
    subtype: Literal["hook_started"]


class SystemHookResponse(_Hook):
    subtype: Literal["hook_response"]
    exit_code: int | None = None
    outcome: str | None = None
    stdout: str | None = None
    stderr: str | None = None


class SystemBackgroundTasksChanged(_System):
    """The background tasks running changed; ``tasks`` is the set now (empty: all done)."""

    subtype: Literal["background_tasks_changed"]
    tasks: list[dict[str, Any]] = Field(default_factory=list)


class SystemModelFallback(_System):
    """The CLI went on with another model, e.g. when the first was overloaded."""

    subtype: Literal["model_fallback"]
    trigger: str | None = None
    original_model: str | None = None
    fallback_model: str | None = None


class SystemOther(_OpenEvent):
    """A system event of a subtype runner does not model yet; all fields kept."""

    type: Literal["system"]
    subtype: str


class UnknownEvent(_OpenEvent):
    """A JSON object of a type runner does not know, or of a known type in an unexpected shape."""

    type: str | None = None


SystemEvent: TypeAlias = (
    SystemInit
    | SystemStatus
    | SystemApiRetry
    | SystemThinkingTokens
    | SystemTaskStarted
    | SystemTaskProgress
    | SystemTaskUpdated
    | SystemTaskNotification
    | SystemPermissionDenied
    | SystemCompactBoundary
    | SystemHookStarted
    | SystemHookResponse
    | SystemBackgroundTasksChanged
    | SystemModelFallback
)
KnownEvent: TypeAlias = AssistantEvent | UserEvent | StreamEvent | ResultEvent | SystemEvent
WireEvent: TypeAlias = KnownEvent | SystemOther | UnknownEvent

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
