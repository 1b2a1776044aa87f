"""What a run said and did: normalized transcript events, and the summary runner reports.

``normalize`` turns wire events into the ``TranscriptEvent`` union the rest of runner uses.
``SummaryBuilder`` folds a stream into a ``TranscriptSummary`` one event at a time, so a
transcript of any length is summarized in memory bounded by its largest line. ``Transcript``
keeps the events for in-memory work and derives its views through the same builder.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field

from runner.events import (
    AssistantEvent,
    ResultEvent,
    SystemApiRetry,
    SystemInit,
    SystemOther,
    SystemTaskNotification,
    SystemTaskProgress,
    SystemTaskStarted,
    SystemTaskUpdated,
    TextBlock,
    ThinkingBlock,
    ToolResultBlock,
    ToolUseBlock,
    UnknownBlock,
    UnknownEvent,
    UserEvent,
)
from runner.stream import ParseError, StreamItem, iter_events
from runner.usage import Usage, UsageEstimator, UsageTotals, totals, usage_of

# ---- normalized events ----------------------------------------------------------------------


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


# ---- summary --------------------------------------------------------------------------------


class TranscriptSummary(BaseModel):
    """The figures of one run's transcript; ``transcript --json`` prints this."""

    events: int  # top-level JSON events read
    parse_errors: int
    status: str
    is_error: bool
    num_turns: int | None  # over all result segments
    cost_usd: float | None  # the CLI's figure, from the (last) result event
    estimated_cost_usd: float | None  # priced from runner's table (None if a model is unknown)
    usage: Usage
    usage_estimated: bool
    models: dict[str, Usage]
    duration_ms: int | None
    duration_api_ms: int | None
    tool_sequence: list[str]
    skills_invoked: list[str]
    final_text: str | None
    api_retries: int
    api_error_status: int | None
    errors: list[str]  # the CLI's own words on why it stopped, e.g. "Reached maximum budget"
    session_id: str | None
    cli_version: str | None
    results: int  # result events: more than one when background tasks woke the agent again
    unknown_events: int  # JSON objects of a type runner does not model (kept, not dropped)
    unknown_blocks: int  # content blocks of a type runner does not model (kept, not dropped)
    # Known types in shapes runner did not expect: the CLI changed. The first few, to look at.
    shape_problems: list[str]
    parse_error_lines: list[int]  # the first few, to look at

    @property
    def best_cost_usd(self) -> float | None:
        """The CLI's cost, else runner's estimate (None when a model's price is unknown)."""
        return self.cost_usd if self.cost_usd is not None else self.estimated_cost_usd


_MAX_LISTED = 20


class SummaryBuilder:
    """Folds stream items into a TranscriptSummary; memory grows with tool calls, not bytes."""

    def __init__(self) -> None:
        self.events = 0
        self.parse_error_lines: list[int] = []
        self.parse_errors = 0
        self.unknown = 0
        self.unknown_blocks = 0
        self.shape_problems: list[str] = []
        self.result: ResultEvent | None = None  # the last one
        self.results = 0
        self.turns = 0  # summed: each result counts its own segment's turns
        self.duration_ms = 0  # summed, likewise
        self.segment_usage = Usage()
        self.init: SystemInit | None = None
        self.tool_ids: set[str] = set()
        self.tool_sequence: list[str] = []
        self.skills: list[str] = []
        self.last_text: str | None = None
        self.retries = 0
        self.last_retry_status: int | None = None
        self.estimator = UsageEstimator()

    def add(self, item: StreamItem) -> None:
        if isinstance(item, ParseError):
            self.parse_errors += 1
            if len(self.parse_error_lines) < _MAX_LISTED:
                self.parse_error_lines.append(item.line)
            return
        self.events += 1
        if isinstance(item, AssistantEvent):
            self._assistant(item)
        elif isinstance(item, UserEvent) and not isinstance(item.message.content, str):
            for block in item.message.content:
                if isinstance(block, UnknownBlock):
                    self._unknown_block(block)
        elif isinstance(item, ResultEvent):
            self.result = item
            self.results += 1
            self.turns += item.num_turns or 0
            self.duration_ms += item.duration_ms or 0
            self.segment_usage += usage_of(item.usage)
        elif isinstance(item, SystemApiRetry):
            self.retries += 1
            self.last_retry_status = item.error_status
        elif isinstance(item, SystemInit):
            self.init = self.init or item
        elif isinstance(item, UnknownEvent):
            self.unknown += 1
        if isinstance(item, UnknownEvent | SystemOther) and (problem := drift(item)):
            self._problem(problem)

    def _problem(self, what: str) -> None:
        if len(self.shape_problems) < _MAX_LISTED:
            self.shape_problems.append(what)

    def _unknown_block(self, block: UnknownBlock) -> None:
        self.unknown_blocks += 1
        if block.problem:
            self._problem(block.problem)

    def _assistant(self, event: AssistantEvent) -> None:
        self.estimator.add(event)
        for block in event.message.content:
            if isinstance(block, ToolUseBlock) and block.id not in self.tool_ids:
                self.tool_ids.add(block.id)
                self.tool_sequence.append(block.name)
                skill = block.input.get("skill") if block.name == "Skill" else None
                if isinstance(skill, str) and skill not in self.skills:
                    self.skills.append(skill)
            elif isinstance(block, TextBlock) and event.parent_tool_use_id is None:
                self.last_text = block.text
            elif isinstance(block, UnknownBlock):
                self._unknown_block(block)

    def usage_totals(self) -> UsageTotals:
        return totals(self.result, self.estimator, self.segment_usage)

    def summary(self) -> TranscriptSummary:
        result = self.result
        money = self.usage_totals()
        final = result.result if result is not None else None
        return TranscriptSummary(
            events=self.events,
            parse_errors=self.parse_errors,
            status=result_status(result),
            is_error=True if result is None else result.is_error,
            num_turns=self.turns if result else None,
            cost_usd=money.cost_usd,
            estimated_cost_usd=money.estimated_cost_usd,
            usage=money.usage,
            usage_estimated=money.estimated,
            models={m: t.usage for m, t in money.by_model.items()},
            duration_ms=self.duration_ms if result else None,
            duration_api_ms=result.duration_api_ms if result else None,
            tool_sequence=list(self.tool_sequence),
            skills_invoked=list(self.skills),
            final_text=final if final is not None else self.last_text,
            api_retries=self.retries,
            # Without a result, the status the CLI was retrying on is the best account of why.
            api_error_status=result.api_error_status if result else self.last_retry_status,
            errors=list(result.errors or []) if result else [],
            session_id=(result.session_id if result else None)
            or (self.init.session_id if self.init else None),
            cli_version=self.init.claude_code_version if self.init else None,
            results=self.results,
            unknown_events=self.unknown,
            unknown_blocks=self.unknown_blocks,
            shape_problems=list(self.shape_problems),
            parse_error_lines=list(self.parse_error_lines),
        )


def summarize(items: Iterable[StreamItem]) -> TranscriptSummary:
    builder = SummaryBuilder()
    for item in items:
        builder.add(item)
    return builder.summary()


class Transcript:
    """A whole run's stream in memory, with derived views. For huge files use ``summarize``."""

    def __init__(self, items: Iterable[StreamItem]) -> None:
        self.items: list[StreamItem] = list(items)
        self._summary: TranscriptSummary | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> Transcript:
        with open(path, "rb") as f:
            return cls(iter_events(f))

    def summary(self) -> TranscriptSummary:
        if self._summary is None:
            self._summary = summarize(self.items)
        return self._summary

    def events(self) -> list[TranscriptEvent]:
        return [ev for item in self.items for ev in normalize(item)]

    def tool_sequence(self) -> list[str]:
        return self.summary().tool_sequence

    def skills_invoked(self) -> list[str]:
        return self.summary().skills_invoked

    def final_text(self) -> str | None:
        return self.summary().final_text

    def write_ndjson(self, path: str | Path) -> None:
        """Write the stream back out: every event as its exact source line."""
        with open(path, "wb") as f:
            for item in self.items:
                raw = item.raw if isinstance(item, ParseError) else item.raw_json()
                if raw is not None:
                    f.write(raw + b"\n")
