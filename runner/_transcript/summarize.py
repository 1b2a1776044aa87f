"""Folding a stream into its ``TranscriptSummary``: ``SummaryBuilder`` takes one item at a
time, so a transcript of any length is summarized in memory bounded by its largest line; every
figure runner reports is computed here, per CLI session of a file.
"""

from __future__ import annotations

from collections.abc import Iterable

from runner._transcript.blocks import (
    ContentBlock,
    TextBlock,
    ToolResultBlock,
    ToolUseBlock,
    UnknownBlock,
)
from runner._transcript.events import (
    AssistantEvent,
    ResultEvent,
    SystemApiRetry,
    SystemInit,
    SystemOther,
    UnknownEvent,
    UserEvent,
    WireEvent,
)
from runner._transcript.normalized import drift, result_status
from runner._transcript.stream import ParseError, StreamItem
from runner._transcript.summary import SessionSummary, TranscriptFormat, TranscriptSummary
from runner._transcript.usage import Usage, UsageEstimator, UsageTotals, totals, usage_of

_MAX_LISTED = 20
# A session log's every line names its session (sessionId) and the line before (parentUuid);
# it may open with a few lines of other types (summary, file-history-snapshot).
_SNIFF_EVENTS = 20
_LOG_KEYS = (b'"parentUuid"', b'"sessionId"')


class _Session:
    """What one CLI session said, folded one event at a time."""

    def __init__(self) -> None:
        self.events = 0
        self.session_id: str | None = None
        self.cli_version: str | None = None
        self.result: ResultEvent | None = None  # the last one
        self.results = 0
        self.turns = 0  # summed: each result counts its own segment's turns
        self.duration_ms = 0  # summed, likewise
        self.segment_usage = Usage()
        self.tool_ids: set[str] = set()
        self.tool_sequence: list[str] = []
        self.skills: list[str] = []  # loaded: the Skill call's result was not an error
        self.skill_errors: list[str] = []
        self.skill_calls: dict[str, str] = {}  # Skill calls awaiting a result: id -> skill
        self.last_text: str | None = None
        self.retries = 0
        self.last_retry_status: int | None = None
        self.estimator = UsageEstimator()
        self.log = False  # a session log: it has no result event to say how it ended

    def result_event(self, item: ResultEvent) -> None:
        self.result = item
        self.results += 1
        self.turns += item.num_turns or 0
        self.duration_ms += item.duration_ms or 0
        self.segment_usage += usage_of(item.usage)
        self.session_id = self.session_id or item.session_id

    def assistant(self, event: AssistantEvent) -> None:
        self.estimator.add(event)
        for block in event.message.content:
            if isinstance(block, ToolUseBlock) and block.id not in self.tool_ids:
                self.tool_ids.add(block.id)
                self.tool_sequence.append(block.name)
                skill = block.input.get("skill") if block.name == "Skill" else None
                if isinstance(skill, str):
                    self.skill_calls[block.id] = skill
            elif isinstance(block, TextBlock) and event.parent_tool_use_id is None:
                self.last_text = block.text

    def tool_results(self, content: list[ContentBlock]) -> None:
        """A skill counts as loaded only when its Skill call's result says so: the CLI answers
        a skill it does not know with an error result, and the agent carries on without it."""
        for block in content:
            if isinstance(block, ToolResultBlock) and block.tool_use_id in self.skill_calls:
                skill = self.skill_calls.pop(block.tool_use_id)
                named = self.skill_errors if block.is_error else self.skills
                if skill not in named:
                    named.append(skill)

    def usage_totals(self) -> UsageTotals:
        return totals(self.result, self.estimator, self.segment_usage, silent=not self.events)

    def status(self) -> str:
        return "unknown" if self.log and self.result is None else result_status(self.result)

    def brief(self, money: UsageTotals) -> SessionSummary:
        result = self.result
        return SessionSummary(
            session_id=self.session_id,
            cli_version=self.cli_version,
            events=self.events,
            status=self.status(),
            is_error=True if result is None else result.is_error,
            num_turns=self.turns if result else None,
            cost_usd=money.cost_usd,
            estimated_cost_usd=money.estimated_cost_usd,
            usage=money.usage,
            usage_estimated=money.estimated,
            duration_ms=self.duration_ms if result else None,
            tool_calls=len(self.tool_sequence),
            results=self.results,
        )


class SummaryBuilder:
    """Folds stream items into a TranscriptSummary; memory grows with tool calls and sessions,
    not bytes."""

    def __init__(self) -> None:
        self.events = 0
        self.parse_error_lines: list[int] = []
        self.parse_errors = 0
        self.unknown = 0
        self.unknown_kinds: dict[str, int] = {}
        self.unknown_blocks = 0
        self.shape_problems: list[str] = []
        self.format: TranscriptFormat = "stream-json"
        self.session = _Session()  # the current (last) one
        self.done: list[SessionSummary] = []  # the sessions before it

    def add(self, item: StreamItem) -> None:
        if isinstance(item, ParseError):
            self.parse_errors += 1
            if len(self.parse_error_lines) < _MAX_LISTED:
                self.parse_error_lines.append(item.line)
            return
        self.events += 1
        if self.events <= _SNIFF_EVENTS and self.format == "stream-json":
            self._sniff(item)
        if isinstance(item, SystemInit):
            self._init(item)
        session = self.session
        session.events += 1
        if isinstance(item, AssistantEvent):
            session.assistant(item)
            self._unknown_blocks(item.message.content)
        elif isinstance(item, UserEvent) and not isinstance(item.message.content, str):
            session.tool_results(item.message.content)
            self._unknown_blocks(item.message.content)
        elif isinstance(item, ResultEvent):
            session.result_event(item)
        elif isinstance(item, SystemApiRetry):
            session.retries += 1
            session.last_retry_status = item.error_status
        elif isinstance(item, UnknownEvent | SystemOther):
            self._unknown(item)

    def _init(self, init: SystemInit) -> None:
        """A new session when the id changes: several runs appended to one file."""
        current = self.session
        if current.session_id is not None and init.session_id not in (None, current.session_id):
            self.done.append(current.brief(current.usage_totals()))
            self.session = current = _Session()
        current.session_id = current.session_id or init.session_id
        current.cli_version = current.cli_version or init.claude_code_version

    def _sniff(self, item: WireEvent) -> None:
        raw = item.raw_json()
        if not all(key in raw for key in _LOG_KEYS):
            return
        line = item.full()
        if "parentUuid" in line and isinstance(session_id := line.get("sessionId"), str):
            self.format = "session-log"
            self.session.session_id = self.session.session_id or session_id
            self.session.log = True
            version = line.get("version")
            if isinstance(version, str):
                self.session.cli_version = self.session.cli_version or version

    def _unknown(self, item: UnknownEvent | SystemOther) -> None:
        if problem := drift(item):
            self._problem(problem)
            if isinstance(item, SystemOther):
                return  # a known subtype that changed shape: named above, not unknown
        elif item.label in self.unknown_kinds or len(self.unknown_kinds) < _MAX_LISTED:
            self.unknown_kinds[item.label] = self.unknown_kinds.get(item.label, 0) + 1
        self.unknown += 1

    def _problem(self, what: str) -> None:
        if len(self.shape_problems) < _MAX_LISTED:
            self.shape_problems.append(what)

    def _unknown_blocks(self, content: list[ContentBlock]) -> None:
        for block in content:
            if isinstance(block, UnknownBlock):
                self.unknown_blocks += 1
                if block.problem:
                    self._problem(block.problem)

    def summary(self) -> TranscriptSummary:
        session = self.session
        result = session.result
        money = session.usage_totals()
        final = result.result if result is not None else None
        last = session.brief(money)
        sessions = [*self.done, last] if self.events else []
        return TranscriptSummary(
            events=self.events,
            parse_errors=self.parse_errors,
            format=self.format,
            warnings=self._warnings(sessions, result, money),
            status=last.status,
            is_error=last.is_error,
            num_turns=last.num_turns,
            cost_usd=money.cost_usd,
            estimated_cost_usd=money.estimated_cost_usd,
            usage=money.usage,
            usage_estimated=money.estimated,
            models={m: t.usage for m, t in money.by_model.items()},
            duration_ms=last.duration_ms,
            duration_api_ms=result.duration_api_ms if result else None,
            tool_sequence=list(session.tool_sequence),
            skills_invoked=list(session.skills),
            skill_errors=list(session.skill_errors),
            final_text=final if final is not None else session.last_text,
            api_retries=session.retries,
            # Without a result, the status the CLI was retrying on is the best account of why.
            api_error_status=result.api_error_status if result else session.last_retry_status,
            errors=list(result.errors or []) if result else [],
            session_id=session.session_id,
            cli_version=session.cli_version,
            results=session.results,
            unknown_events=self.unknown,
            unknown_kinds=dict(self.unknown_kinds),
            unknown_blocks=self.unknown_blocks,
            shape_problems=list(self.shape_problems),
            parse_error_lines=list(self.parse_error_lines),
            sessions=sessions,
        )

    def _warnings(
        self, sessions: list[SessionSummary], result: ResultEvent | None, money: UsageTotals
    ) -> list[str]:
        warnings = []
        if self.format == "session-log":
            warnings.append(
                "a Claude Code session log (~/.claude/projects/*.jsonl), not stream-json output: "
                "it has no result event, so status, turns and the CLI's cost are unknown; tools, "
                "text and tokens are read from its messages"
            )
        if len(sessions) > 1:
            unfinished = [str(n) for n, s in enumerate(sessions, 1) if s.status == "incomplete"]
            never = f"; session {', '.join(unfinished)} never finished" if unfinished else ""
            warnings.append(
                f"{len(sessions)} sessions in one file (runs appended to one log?): the figures "
                f"are the last session's; every session is listed apart (sessions){never}"
            )
        used = money.usage != Usage() or bool(result and result.total_cost_usd)
        if result is not None and not result.model_usage and used:
            warnings.append(
                "the result has no modelUsage (an old CLI, or a trimmed result): "
                "no figures per model, and no estimate"
            )
        return warnings


def summarize(items: Iterable[StreamItem]) -> TranscriptSummary:
    builder = SummaryBuilder()
    for item in items:
        builder.add(item)
    return builder.summary()
