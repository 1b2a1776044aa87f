"""How one CLI invocation ended, as a run's record keeps it: one exit reason, the transcript's
figures, and the diagnostics. Apart from ``runner._agent.claude``, which decides them, so a stored
record is read without the modules that run the CLI."""

from __future__ import annotations

import re

from pydantic import BaseModel, Field

from runner._transcript.summary import TranscriptSummary

EXIT_REASONS = (
    "success",
    "timeout",
    "idle_timeout",
    "error_max_turns",
    "error_max_budget_usd",
    "error_during_execution",
    "api_error",
    "auth_error",
    "spawn_error",
    "cancelled",
    "replay_diverged",  # set by the replay proxy's caller: a request the cassette did not hold
    "runner_error",  # set by run_one: runner itself failed inside this run (``error`` says how)
)
EXIT_REASON_PATTERN = re.compile(rf"^({'|'.join(EXIT_REASONS)}|exit_code_\d+|signal_\d+)$")


class Diagnostics(BaseModel):
    """Why a run took the time it did, and what it was doing when it ended."""

    duration_ms: int | None = None
    first_response_ms: int | None = None  # spawn to the first event on stdout
    max_inter_turn_ms: int | None = None  # the longest wait between two model messages
    timeout_at_turn: int | None = None  # model messages seen when a timeout stopped the run
    last_tool_call: str | None = None  # e.g. "Write(src/a.ts)"
    api_retries: int = 0
    cli_version: str | None = None
    session_id: str | None = None
    agent_log: str = ""  # the tail of the CLI's stderr
    stderr_bytes: int = 0
    leftover_processes: list[str] = []  # other processes still running at the end, then ended
    unkillable_processes: list[str] = []  # processes that survived SIGKILL (stuck in the kernel)
    process_tree_lost: str | None = None  # the reaper was killed before it ended the tree


class CliOutcome(BaseModel):
    """How one CLI invocation ended, and what it said."""

    exit_reason: str = Field(pattern=EXIT_REASON_PATTERN.pattern)
    api_error_status: int | None = None
    exit_code: int | None = None
    signal: int | None = None
    error: str | None = None  # a one-line account when runner could not run the CLI at all
    transcript: TranscriptSummary
    diagnostics: Diagnostics = Diagnostics()

    @classmethod
    def not_run(cls, error: str, *, reason: str = "spawn_error") -> CliOutcome:
        # an empty stream's figures; the reader
        from runner._transcript.summarize import SummaryBuilder

        return cls(exit_reason=reason, error=error, transcript=SummaryBuilder().summary())
