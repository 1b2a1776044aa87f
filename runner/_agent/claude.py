"""Running the Claude Code CLI once: argv from a frozen spec, an allowlisted environment, the
stream watched as it arrives, and a typed account of how the run ended and why.

``ClaudeRun`` knows nothing of scenarios or lanes: it takes a ``CliSpec``, a prompt, a working
directory and an environment. How it ended is one ``exit_reason``; see ``classify``.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from runner._agent.claude_bin import ClaudeBinary

# Re-exported: the call and its outcome as stored, in modules that do not import the stream.
from runner._agent.cli_spec import LOCAL_KEY as LOCAL_KEY
from runner._agent.cli_spec import STREAM_FLAGS as STREAM_FLAGS
from runner._agent.cli_spec import CliSpec as CliSpec
from runner._agent.cli_spec import cli_env as cli_env
from runner._agent.cli_spec import inherited_env as inherited_env
from runner._agent.outcome import EXIT_REASON_PATTERN as EXIT_REASON_PATTERN
from runner._agent.outcome import EXIT_REASONS
from runner._agent.outcome import CliOutcome as CliOutcome
from runner._agent.outcome import Diagnostics as Diagnostics
from runner._agent.process import Limits, ProcessRun, RunFiles
from runner._agent.sandbox import Launch
from runner._transcript.blocks import ToolUseBlock
from runner._transcript.events import AssistantEvent, SystemApiRetry
from runner._transcript.stream import StreamItem
from runner._transcript.summarize import SummaryBuilder
from runner._transcript.summary import TranscriptSummary
from runner._util.redact import Redactor

# ---- watching the stream --------------------------------------------------------------------

# The argument that says what a call did, per tool: Write(src/a.ts), Bash(npm test).
_CALL_ARGUMENT = {
    "Write": "file_path",
    "Edit": "file_path",
    "MultiEdit": "file_path",
    "Read": "file_path",
    "NotebookEdit": "notebook_path",
    "Bash": "command",
    "Glob": "pattern",
    "Grep": "pattern",
    "Skill": "skill",
    "Agent": "description",
    "Task": "description",
    "WebFetch": "url",
    "WebSearch": "query",
}
_CALL_MAX = 80


def describe_call(name: str, tool_input: Mapping[str, Any], workspace: Path | None = None) -> str:
    value = tool_input.get(_CALL_ARGUMENT.get(name, ""))
    if not isinstance(value, str):
        value = next((v for v in tool_input.values() if isinstance(v, str)), "")
    if workspace is not None and value.startswith(f"{workspace}/"):
        value = value[len(str(workspace)) + 1 :]
    value = " ".join(value.split())
    if len(value) > _CALL_MAX:
        value = value[: _CALL_MAX - 1] + "…"
    return f"{name}({value})"


def is_auth_failure(status: int | None, error: str | None) -> bool:
    return status == 401 or error == "authentication_failed"


class RunMonitor:
    """Watches the stream as it arrives: folds the summary, times the turns, and asks for a
    stop at the first authentication retry (the CLI would retry for minutes)."""

    def __init__(self, *, workspace: Path | None = None, fail_fast_auth: bool = True) -> None:
        self.builder = SummaryBuilder()
        self.workspace = workspace
        self.fail_fast_auth = fail_fast_auth
        self.first_event: float | None = None
        self.turns = 0  # model messages seen (a message's blocks come as several lines)
        self.max_gap_s: float | None = None
        self.last_tool_call: str | None = None
        self.auth_failed = False
        self._turn_ids: set[str] = set()
        self._last_turn: float | None = None

    def __call__(self, item: StreamItem) -> str | None:
        now = time.monotonic()
        self.first_event = self.first_event or now
        self.builder.add(item)
        if isinstance(item, AssistantEvent):
            self._assistant(item, now)
        elif isinstance(item, SystemApiRetry) and is_auth_failure(item.error_status, item.error):
            self.auth_failed = True
            return "auth_error" if self.fail_fast_auth else None
        return None

    def _assistant(self, event: AssistantEvent, now: float) -> None:
        if is_auth_failure(None, event.error):
            self.auth_failed = True  # "Not logged in": a synthetic message, then a result
        if event.message.id not in self._turn_ids:
            self._turn_ids.add(event.message.id)
            self.turns += 1
            if self._last_turn is not None:
                gap = now - self._last_turn
                self.max_gap_s = gap if self.max_gap_s is None else max(self.max_gap_s, gap)
            self._last_turn = now
        for block in event.message.content:
            if isinstance(block, ToolUseBlock):
                self.last_tool_call = describe_call(block.name, block.input, self.workspace)


# ---- how a run ended ------------------------------------------------------------------------

_TIMEOUTS = ("timeout", "idle_timeout")


def classify(proc: ProcessRun, summary: TranscriptSummary, *, auth_failed: bool) -> str:
    """One exit reason. An authentication failure explains any ending but the user's own
    cancellation; then runner's stops; then the CLI's result; then the process's status."""
    if proc.spawn_error is not None:
        return "spawn_error"
    if proc.stop_reason == "cancelled":
        return "cancelled"
    if auth_failed or summary.api_error_status == 401:
        return "auth_error"
    if proc.stop_reason in _TIMEOUTS:
        return proc.stop_reason
    if summary.results:
        # A result subtype this CLI version added is still an error the run ended on.
        return summary.status if summary.status in EXIT_REASONS else "error_during_execution"
    if proc.signal is not None:
        return f"signal_{proc.signal}"
    return f"exit_code_{proc.exit_code}"


class ClaudeRun:
    """One CLI invocation. ``await run()``; then, or after a cancellation, ``outcome()``."""

    def __init__(
        self,
        spec: CliSpec,
        prompt: str,
        *,
        binary: ClaudeBinary,
        cwd: Path,
        env: Mapping[str, str],
        run_dir: Path,
        limits: Limits | None = None,
        fail_fast_auth: bool = True,
        launch: Launch | None = None,
        redact: Redactor | None = None,
    ) -> None:
        """``cwd`` is on the host; ``launch`` says how the CLI starts (default: on the host,
        in ``cwd``) and where it sees its workspace."""
        self.spec = spec
        self.argv = spec.argv(binary.path)
        seen = Path(launch.workspace) if launch is not None else cwd
        self.monitor = RunMonitor(workspace=seen, fail_fast_auth=fail_fast_auth)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.files = RunFiles.in_dir(run_dir)
        self.process = ProcessRun(
            launch.command(self.argv) if launch is not None else self.argv,
            env,
            cwd,
            prompt.encode(),
            self.files,
            limits or Limits(),
            self.monitor,
            sandboxed=launch is not None and launch.sandboxed,
            redact=redact or Redactor(),
        )

    async def run(self) -> CliOutcome:
        await self.process.run()
        return self.outcome()

    def outcome(self) -> CliOutcome:
        proc, monitor = self.process, self.monitor
        summary = monitor.builder.summary()
        reason = classify(proc, summary, auth_failed=monitor.auth_failed)
        return CliOutcome(
            exit_reason=reason,
            api_error_status=summary.api_error_status,
            exit_code=proc.exit_code,
            signal=proc.signal,
            error=_spawn_error(proc),
            transcript=summary,
            diagnostics=Diagnostics(
                duration_ms=proc.duration_ms,
                first_response_ms=_ms(proc.started, monitor.first_event),
                max_inter_turn_ms=_ms(0.0, monitor.max_gap_s),
                timeout_at_turn=monitor.turns if reason in _TIMEOUTS else None,
                last_tool_call=monitor.last_tool_call,
                api_retries=summary.api_retries,
                cli_version=summary.cli_version,
                session_id=summary.session_id,
                agent_log=proc.stderr_text,
                stderr_bytes=proc.stderr_bytes,
                leftover_processes=proc.leftovers,
                unkillable_processes=proc.survivors,
                process_tree_lost=proc.tree_lost,
            ),
        )


def _spawn_error(proc: ProcessRun) -> str | None:
    """Why the CLI did not start, with the last line its launcher (bwrap) said about it."""
    if proc.spawn_error is None:
        return None
    said = proc.stderr_text.strip().splitlines()
    return f"{proc.spawn_error}: {said[-1][:300]}" if said else proc.spawn_error


def _ms(start: float | None, end: float | None) -> int | None:
    return None if start is None or end is None else round((end - start) * 1000)
