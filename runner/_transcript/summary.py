"""The figures of one run's transcript as runner keeps them (``TranscriptSummary``, in every
run's record): in their own module, so reading a stored run does not import the stream's
event models that ``runner._transcript.transcript`` builds them from."""

from __future__ import annotations

from typing import Literal, TypeAlias

from pydantic import BaseModel

from runner._transcript.tokens import Usage

TranscriptFormat: TypeAlias = Literal["stream-json", "session-log"]


class SessionSummary(BaseModel):
    """One CLI session's figures. A file of runs appended to one log holds several (the
    ``claude -p ... | tee -a log`` loop): a system/init with another session_id starts one."""

    session_id: str | None
    cli_version: str | None
    events: int
    status: str  # "incomplete" when the session never sent its result
    is_error: bool
    num_turns: int | None
    cost_usd: float | None
    estimated_cost_usd: float | None
    usage: Usage
    usage_estimated: bool
    duration_ms: int | None
    tool_calls: int
    results: int


class TranscriptSummary(BaseModel):
    """The figures of one run's transcript; ``transcript --json`` prints this. In a file of
    several sessions the run's figures are the last session's; ``sessions`` has each one."""

    events: int  # top-level JSON events read
    parse_errors: int
    # "session-log": a Claude Code session log (~/.claude/projects/*.jsonl), not stream-json.
    format: TranscriptFormat = "stream-json"
    warnings: list[str] = []  # what makes the figures below less than they seem
    status: str
    is_error: bool
    num_turns: int | None  # over all result segments
    cost_usd: float | None  # the CLI's figure, from the (last) result event
    # Priced from runner's table; None if a model is unknown or nothing could be priced.
    estimated_cost_usd: float | None
    usage: Usage
    usage_estimated: bool
    models: dict[str, Usage]
    duration_ms: int | None
    duration_api_ms: int | None
    tool_sequence: list[str]
    skills_invoked: list[str]
    # Skills whose Skill call came back an error ("Unknown skill: x"): asked for, not loaded.
    skill_errors: list[str] = []
    final_text: str | None
    api_retries: int
    api_error_status: int | None
    errors: list[str]  # the CLI's own words on why it stopped, e.g. "Reached maximum budget"
    session_id: str | None
    cli_version: str | None
    results: int  # result events: more than one when background tasks woke the agent again
    # JSON objects of a type, or system subtype, runner does not model (kept, not dropped);
    # unknown_kinds names the first few (``system/notification``) with their counts.
    unknown_events: int
    unknown_kinds: dict[str, int] = {}
    unknown_blocks: int  # content blocks of a type runner does not model (kept, not dropped)
    # Known types in shapes runner did not expect: the CLI changed. The first few, to look at.
    shape_problems: list[str]
    parse_error_lines: list[int]  # the first few, to look at
    sessions: list[SessionSummary] = []  # each session in the file, in order

    @property
    def best_cost_usd(self) -> float | None:
        """The CLI's cost, else runner's estimate (None when a model's price is unknown)."""
        return self.cost_usd if self.cost_usd is not None else self.estimated_cost_usd
