"""Running the Claude Code CLI once: argv from a frozen spec, an allowlisted environment, the
stream watched as it arrives, and a typed account of how the run ended and why.

``ClaudeRun`` knows nothing of scenarios or lanes: it takes a ``CliSpec``, a prompt, a working
directory and an environment. How it ended is one ``exit_reason``; see ``classify``.
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from runner.claude_bin import ClaudeBinary
from runner.events import AssistantEvent, SystemApiRetry, ToolUseBlock
from runner.process import Limits, ProcessRun, RunFiles
from runner.redact import Redactor
from runner.sandbox import Launch
from runner.stream import StreamItem
from runner.transcript import SummaryBuilder, TranscriptSummary

STREAM_FLAGS = ("--print", "--output-format=stream-json", "--verbose")


class CliSpec(BaseModel):
    """Everything that reaches the CLI's argv. Values go as single ``--flag=value`` tokens, so
    a value that starts with ``-`` or holds spaces is never read as another flag."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = None
    append_system_prompt: str | None = None
    max_turns: int | None = Field(default=None, ge=1)
    max_budget_usd: float | None = Field(default=None, gt=0)
    permission_mode: str | None = None
    allowed_tools: tuple[str, ...] | None = None  # pre-approved: no permission prompt
    tools: tuple[str, ...] | None = None  # the tools that exist at all; () turns them all off
    extra_args: tuple[str, ...] = ()  # passed as given, after everything else

    def argv(self, binary: Path) -> list[str]:
        # The prompt goes on stdin: --allowedTools and --tools take several values and would
        # swallow a positional prompt after them.
        args = [str(binary), *STREAM_FLAGS]
        options: list[tuple[str, object]] = [
            ("model", self.model),
            ("append-system-prompt", self.append_system_prompt),
            ("max-turns", self.max_turns),
            ("max-budget-usd", self.max_budget_usd),
            ("permission-mode", self.permission_mode),
            ("allowedTools", _joined(self.allowed_tools)),
            ("tools", _joined(self.tools)),
        ]
        args += [f"--{flag}={value}" for flag, value in options if value is not None]
        return [*args, *self.extra_args]


def _joined(names: tuple[str, ...] | None) -> str | None:
    return None if names is None else ",".join(names)


# ---- environment ----------------------------------------------------------------------------

# A local endpoint (the scripted model, the replay proxy, runner's live proxy, which adds the
# real credential upstream) takes any key; the CLI wants one.
LOCAL_KEY = "sk-runner-local"


def inherited_env(
    passthrough: Iterable[str] = (),
    *,
    search_path: str | None = None,
    inherit: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What of the caller's environment (``inherit``, default os.environ) reaches the CLI:
    PATH, unless ``search_path`` replaces it, and the ``passthrough`` names that are set.
    The rest of the CLI's environment is runner's own. The cache key holds exactly this."""
    source = os.environ if inherit is None else inherit
    env = {k: v for k, v in source.items() if k == "PATH" or k in set(passthrough)}
    if search_path is not None:
        env["PATH"] = search_path
    return env


def cli_env(
    base_url: str,
    *,
    home: str | os.PathLike[str],
    tmp: str | os.PathLike[str],
    search_path: str | None = None,
    passthrough: Iterable[str] = (),
    inherit: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The CLI's whole environment: ``inherited_env`` (never a real key or endpoint), then
    runner's fixed settings and the run's own HOME, config and temp folders, as the CLI sees
    them, so the user's skills, settings and CLAUDE.md never reach a run. Nothing else: what
    reaches the CLI is in the run's key or runner's own."""
    env = inherited_env(passthrough, search_path=search_path, inherit=inherit)
    env |= {
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": f"{home}/.claude",
        # Task output files go to /tmp/claude-<uid> unless these say otherwise.
        "TMPDIR": str(tmp),
        "CLAUDE_CODE_TMPDIR": str(tmp),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": LOCAL_KEY,
    }
    return env


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

_EXIT_REASONS = (
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
EXIT_REASON_PATTERN = re.compile(rf"^({'|'.join(_EXIT_REASONS)}|exit_code_\d+|signal_\d+)$")
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
        return summary.status if summary.status in _EXIT_REASONS else "error_during_execution"
    if proc.signal is not None:
        return f"signal_{proc.signal}"
    return f"exit_code_{proc.exit_code}"


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
        return cls(exit_reason=reason, error=error, transcript=SummaryBuilder().summary())


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
