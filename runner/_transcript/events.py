"""The CLI's stream-json vocabulary as pydantic models: the top-level events, by ``type`` and,
for ``system`` events, ``subtype`` (their content blocks are in ``blocks``).

Known shapes declare the fields runner reads and ignore the rest for speed; each parsed event
keeps its exact JSON line (``raw_json()``), so nothing is lost and ``full()`` gives every field.
Unknown event types and system subtypes are rare: they keep all their fields on the model itself
(``extra="allow"``). ``runner._transcript.parse`` reads a line into one of these.
"""

from __future__ import annotations

from typing import Any, Literal, TypeAlias

import pydantic_core
from pydantic import BaseModel, Field

from runner._transcript.blocks import ContentBlock, _Known, _Open

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
