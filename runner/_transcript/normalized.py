"""The normalized transcript: wire events turned into the ``TranscriptEvent`` union the rest
of runner reads (text, thinking, tool calls and results, retries, subagents, the result, and a
notice for anything runner did not recognize), one stream item at a time.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from runner._transcript.blocks import (
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UnknownBlock,
)
from runner._transcript.events import (
    AssistantEvent,
    ResultEvent,
    SystemApiRetry,
    SystemOther,
    SystemTaskNotification,
    SystemTaskProgress,
    SystemTaskStarted,
    SystemTaskUpdated,
    UnknownEvent,
    UserEvent,
)
from runner._transcript.stream import ParseError, StreamItem


class _Normalized(BaseModel):
    model_config = ConfigDict(frozen=True)
    parent_tool_use_id: str | None = None  # the Agent/Task call this happened inside, if any


class TextEvent(_Normalized):
    kind: Literal["text"] = "text"
    text: str


class ThinkingEvent(_Normalized):
    kind: Literal["thinking"] = "thinking"
    thinking: str


class ToolUseEvent(_Normalized):
    kind: Literal["tool_use"] = "tool_use"
    id: str
    name: str
    input: dict[str, Any]


class ToolResultEvent(_Normalized):
    kind: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    text: str
    is_error: bool = False


class RetryEvent(_Normalized):
    kind: Literal["retry"] = "retry"
    attempt: int
    error_status: int | None = None
    error: str | None = None
    retry_delay_ms: float | None = None


class SubagentEvent(_Normalized):
    """A subagent or background task's lifecycle (from the CLI's task_* system events)."""

    kind: Literal["subagent"] = "subagent"
    phase: Literal["started", "progress", "updated", "notification"]
    task_id: str | None
    description: str | None = None
    status: str | None = None
    tool_use_id: str | None = None


class ResultInfo(_Normalized):
    kind: Literal["result"] = "result"
    status: str
    is_error: bool
    num_turns: int | None = None
    cost_usd: float | None = None
    text: str | None = None


class NoticeEvent(_Normalized):
    """Something runner did not recognize: an unknown event, a drifted shape, a bad line."""

    kind: Literal["notice"] = "notice"
    what: str
    line: int | None = None


TranscriptEvent: TypeAlias = Annotated[
    TextEvent
    | ThinkingEvent
    | ToolUseEvent
    | ToolResultEvent
    | RetryEvent
    | SubagentEvent
    | ResultInfo
    | NoticeEvent,
    Field(discriminator="kind"),
]

_TASK_PHASES: dict[type, Literal["started", "progress", "updated"]] = {
    SystemTaskStarted: "started",
    SystemTaskProgress: "progress",
    SystemTaskUpdated: "updated",
}


def result_status(result: ResultEvent | None) -> str:
    """success; the subtype for other endings; api_error for an error under subtype success."""
    if result is None:
        return "incomplete"
    if result.subtype == "success" and result.is_error:
        return "api_error"
    return result.subtype


def normalize(item: StreamItem) -> Iterator[TranscriptEvent]:
    if isinstance(item, ParseError):
        yield NoticeEvent(what=f"unparsed line: {item.error}", line=item.line)
    elif isinstance(item, AssistantEvent | UserEvent):
        parent = item.parent_tool_use_id
        content = item.message.content
        if isinstance(content, str):
            return  # the prompt, or CLI-added text; not the agent's doing
        for block in content:
            if isinstance(block, TextBlock) and isinstance(item, AssistantEvent):
                yield TextEvent(text=block.text, parent_tool_use_id=parent)
            elif isinstance(block, ThinkingBlock):
                yield ThinkingEvent(thinking=block.thinking, parent_tool_use_id=parent)
            elif isinstance(block, ToolUseBlock):
                yield ToolUseEvent(
                    id=block.id, name=block.name, input=block.input, parent_tool_use_id=parent
                )
            elif isinstance(block, ToolResultBlock):
                yield ToolResultEvent(
                    tool_use_id=block.tool_use_id,
                    text=block.text(),
                    is_error=bool(block.is_error),
                    parent_tool_use_id=parent,
                )
            elif isinstance(block, UnknownBlock):
                what = block.problem or f"unknown content block type {block.type!r}"
                yield NoticeEvent(what=what, parent_tool_use_id=parent)
    elif isinstance(item, SystemApiRetry):
        yield RetryEvent(
            attempt=item.attempt,
            error_status=item.error_status,
            error=item.error,
            retry_delay_ms=item.retry_delay_ms,
        )
    elif isinstance(item, SystemTaskStarted | SystemTaskProgress | SystemTaskUpdated):
        yield SubagentEvent(
            phase=_TASK_PHASES[type(item)],
            task_id=item.task_id,
            description=getattr(item, "description", None),
            status=item.patch.get("status") if isinstance(item, SystemTaskUpdated) else None,
            tool_use_id=getattr(item, "tool_use_id", None),
        )
    elif isinstance(item, SystemTaskNotification):
        yield SubagentEvent(
            phase="notification",
            task_id=item.task_id,
            description=item.summary,
            status=item.status,
            tool_use_id=item.tool_use_id,
        )
    elif isinstance(item, ResultEvent):
        yield ResultInfo(
            status=result_status(item),
            is_error=item.is_error,
            num_turns=item.num_turns,
            cost_usd=item.total_cost_usd,
            text=item.result,
        )
    elif isinstance(item, UnknownEvent):
        yield NoticeEvent(what=drift(item) or f"unknown event {item.label}")
    elif isinstance(item, SystemOther) and (changed := drift(item)):
        yield NoticeEvent(what=changed)


def drift(item: UnknownEvent | SystemOther) -> str | None:
    """What changed, when a known type came in a shape runner did not expect."""
    return f"{item.label}: {item.problem}" if item.problem else None
