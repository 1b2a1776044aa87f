"""One scenario run in one lane: a fresh workspace, the CLI, and a RunRecord, whatever happens.

``run_one`` is the engine's public call. Every run leaves a folder::

    stream.ndjson   the CLI's stdout, byte for byte, written as it arrived
    stderr.log      its stderr (capped)
    process.json    how the process tree ended (from the reaper)
    files/          the files the run added or changed, for scoring after the workspace is gone
    record.json     the RunRecord, written last and atomically, also on timeout or cancellation
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

from runner._agent.claude_bin import ClaudeBinary, ClaudeNotFoundError, find_claude
from runner._agent.cli_spec import CliSpec, cli_env
from runner._agent.jail import DEFAULT_MAX_PROCESSES, MIN_PROCESSES, Network
from runner._agent.lanes import DEFAULT_ALLOWED_TOOLS, Lane, cli_spec, get_lane
from runner._agent.outcome import CliOutcome
from runner._agent.sandbox import (
    Launch,
    SandboxMode,
    SandboxUnavailable,
    default_mode,
    launching,
)
from runner._agent.workspace import FileChange, Workspace
from runner._transcript.tokens import Usage
from runner._util.atomic import write_atomically
from runner._util.inputs import SKILL_FILE_BYTES, read_input
from runner._util.redact import Redactor
from runner._util.terminal import encodable

if TYPE_CHECKING:
    from runner._agent.claude import ClaudeRun
    from runner._model.normalize import RunPaths

# What runs the CLI (runner._agent.claude: the stream's events and parser, the process, the reaper;
# the live proxy) is imported by run_one: specs, keys and stored records need none of it, and
# a cached eval only those.

SCHEMA_VERSION = 1
# The CLI's endpoint and credential: runner's own, never the caller's.
RUNNERS_OWN = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "ANTHROPIC_BASE_URL")


class RunSpec(BaseModel):
    """Every input of a scenario's run that can change what the agent does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    scenario: str
    instruction: str
    fixture: Path | None = None  # copied fresh for every run; None: an empty folder
    skill: Path | None = None  # a skill folder holding SKILL.md
    model: str | None = None
    timeout_s: float = Field(default=600.0, gt=0)
    idle_timeout_s: float | None = Field(default=180.0, gt=0)
    max_turns: int | None = Field(default=None, ge=1)
    max_budget_usd: float | None = Field(default=None, gt=0)
    allowed_tools: tuple[str, ...] = DEFAULT_ALLOWED_TOOLS
    nudge: str | None = None  # agent-skill's nudge; "{skill}" becomes the skill's name
    env_passthrough: tuple[str, ...] = ()  # caller variables the CLI may see, beyond the allowlist
    extra_args: tuple[str, ...] = ()
    sandbox: SandboxMode = Field(default_factory=default_mode)  # "none": on the host, unconfined
    network: Network = "model"  # in the sandbox: "model" reaches only the model; "host": all
    max_processes: int = Field(default=DEFAULT_MAX_PROCESSES, ge=MIN_PROCESSES)  # in the sandbox

    @field_validator("env_passthrough")
    @classmethod
    def _not_runners_own(cls, names: tuple[str, ...]) -> tuple[str, ...]:
        held = sorted(set(names) & set(RUNNERS_OWN))
        if held:
            raise ValueError(
                f"{', '.join(held)}: runner sets these itself (the CLI talks to runner's "
                "proxy, which holds the real credential); they cannot be passed through"
            )
        return names


@dataclass(frozen=True)
class RunOptions:
    """How to run, not what: none of this can change the agent's behaviour."""

    binary: ClaudeBinary | None = None  # default: find_claude()
    # A local endpoint's URL (a scripted model, a replay proxy) for the CLI to talk to. None:
    # the live API, through runner's own proxy, which holds the credential.
    endpoint: str | None = None
    keep_workspace: bool = False
    workspace_parent: Path | None = None
    grace_s: float = 5.0
    fail_fast_auth: bool = True
    # Told the run's paths as the CLI sees them, once the workspace exists and before the CLI
    # starts (the replay proxy learns them here).
    on_paths: Callable[[RunPaths], None] | None = None
    # The caller's environment the run takes from (variables passed through, the live key and
    # endpoint for runner's proxy, the secrets to redact); None: os.environ. A cluster task
    # passes the driver's, since a Ray worker's own environment is not the caller's.
    environ: Mapping[str, str] | None = None


class RunRecord(CliOutcome):
    """What one run did and cost, and how it ended (``CliOutcome``), and of what."""

    schema_version: Literal[1] = 1  # SCHEMA_VERSION
    scenario: str
    lane: str
    trial: int
    started_at: str  # UTC, ISO 8601
    files: list[FileChange]  # against the workspace the run started with
    argv: list[str]  # the CLI's arguments, without the binary's path
    workspace: str | None = None  # the workspace's root, when kept

    @computed_field  # type: ignore[prop-decorator]
    @property
    def cost_usd(self) -> float | None:
        """The CLI's cost, else runner's estimate (None when a model's price is unknown)."""
        return self.transcript.best_cost_usd

    @computed_field  # type: ignore[prop-decorator]
    @property
    def num_turns(self) -> int | None:
        return self.transcript.num_turns

    @computed_field  # type: ignore[prop-decorator]
    @property
    def usage(self) -> Usage:
        return self.transcript.usage

    @property
    def succeeded(self) -> bool:
        return self.exit_reason == "success"


class RunSpecError(ValueError):
    """A spec that cannot run in the lane asked for; the message says what to change."""


def check(spec: RunSpec, lane: Lane) -> CliSpec:
    """What ``spec`` puts on the CLI's command line in ``lane``; RunSpecError, before anything
    starts, when it cannot run there."""
    if spec.fixture is not None and not spec.fixture.is_dir():
        raise RunSpecError(f"{spec.scenario}: the workspace {spec.fixture} is not a folder")
    skill_name, skill_text = _skill_text(spec, lane)
    return cli_spec(
        lane,
        model=spec.model,
        max_turns=spec.max_turns,
        max_budget_usd=spec.max_budget_usd,
        allowed_tools=spec.allowed_tools,
        skill_name=skill_name,
        skill_text=skill_text,
        nudge=spec.nudge,
        extra_args=spec.extra_args,
    )


def _skill_text(spec: RunSpec, lane: Lane) -> tuple[str | None, str | None]:
    if not lane.uses_skill:
        return None, None
    if spec.skill is None:
        raise RunSpecError(
            f"{spec.scenario}: lane {lane.name} needs a skill (a folder with SKILL.md); none given"
        )
    skill_md = spec.skill / "SKILL.md"
    try:
        return spec.skill.name, read_input(skill_md, limit=SKILL_FILE_BYTES).decode("utf-8")
    except OSError as exc:
        raise RunSpecError(f"{skill_md}: cannot read the skill ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise RunSpecError(f"{skill_md}: not UTF-8 text ({exc.reason}); save it as UTF-8") from None


async def run_one(
    spec: RunSpec,
    lane: Lane | str,
    *,
    run_dir: Path,
    trial: int = 0,
    options: RunOptions | None = None,
) -> RunRecord:
    """Run ``spec`` once in ``lane``; the record is also written to ``run_dir/record.json``.

    Cancelling the caller ends the CLI and its whole process tree within bounded time; the
    record (exit_reason ``cancelled``) is written before the cancellation goes on.
    """
    from runner._agent.claude import ClaudeRun
    from runner._agent.process import Limits

    options = options or RunOptions()
    lane = get_lane(lane) if isinstance(lane, str) else lane
    cli = check(spec, lane)
    started_at = datetime.now(UTC).isoformat(timespec="milliseconds")
    redact = Redactor.from_environment(options.environ)

    def record(
        outcome: CliOutcome, argv: list[str], files: list[FileChange], kept: str | None
    ) -> RunRecord:
        rec = RunRecord(
            scenario=spec.scenario,
            lane=lane.name,
            trial=trial,
            started_at=started_at,
            argv=argv,
            files=files,
            workspace=kept,
            **dict(outcome),
        )
        text = rec.model_dump_json(indent=2)
        clean = redact.text(text)  # e.g. a leftover's command line holding a secret
        write_atomically(run_dir / "record.json", clean)
        return rec if clean == text else RunRecord.model_validate_json(clean)

    try:
        binary = options.binary or find_claude()
    except ClaudeNotFoundError as exc:
        return record(CliOutcome.not_run(str(exc)), cli.argv(Path("claude"))[1:], [], None)

    if not os.access(binary.path, os.X_OK) or not binary.path.is_file():
        missing = CliOutcome.not_run(f"{binary.path}: not an executable file")
        return record(missing, cli.argv(binary.path)[1:], [], None)
    ws = await anyio.to_thread.run_sync(_prepare, spec, lane, options.workspace_parent)
    claude: ClaudeRun | None = None
    not_started = CliOutcome.not_run("cancelled before the CLI started", reason="cancelled")
    failed: str | None = None  # runner's own failure inside this run: the run's, not the eval's
    try:
        async with (
            _endpoint(options) as endpoint,
            launching(
                spec.sandbox,
                network=spec.network,
                max_processes=spec.max_processes,
                workspace=ws,
                binary=binary.path.resolve(),
                endpoint=endpoint,
            ) as launch,
        ):
            if options.on_paths is not None:
                options.on_paths(_seen(ws, launch))
            env = cli_env(
                launch.base_url,
                home=launch.home,
                tmp=launch.tmp,
                search_path=launch.search_path,
                passthrough=spec.env_passthrough,
                inherit=options.environ,
            )
            claude = ClaudeRun(
                cli,
                spec.instruction,
                binary=binary,
                cwd=ws.path,
                env=env,
                run_dir=run_dir,
                limits=Limits(spec.timeout_s, spec.idle_timeout_s, options.grace_s),
                fail_fast_auth=options.fail_fast_auth,
                launch=launch,
                redact=redact,
            )
            await claude.run()
    except SandboxUnavailable as exc:
        not_started = CliOutcome.not_run(str(exc))
    except OSError:
        raise  # runner's own files or disk: the eval's problem (the agent's are contained)
    except Exception as exc:
        failed = _failure("during the run", exc)
    finally:
        # Also on cancellation: the record says why the run ended. Shielded, and bounded by
        # the size of the workspace.
        with anyio.CancelScope(shield=True):
            kept = str(ws.root) if options.keep_workspace else None
            try:
                files = await anyio.to_thread.run_sync(_collect, ws, run_dir, redact)
            except OSError:
                raise
            except Exception as exc:
                files, failed = [], failed or _failure("capturing the run's files", exc)
            finally:
                if kept is None:
                    await anyio.to_thread.run_sync(ws.remove)
            outcome = not_started if claude is None else claude.outcome()
            if failed is not None:
                update = {"exit_reason": "runner_error", "error": failed}
                outcome = outcome.model_copy(update=update)
            argv = cli.argv(binary.path)[1:] if claude is None else claude.argv[1:]
            rec = record(outcome, argv, files, kept)
    return rec


def _failure(when: str, exc: Exception) -> str:
    return f"runner failed {when}: {described(exc)}"


def described(exc: BaseException) -> str:
    """An exception in one line, told by what was raised, not by the task groups around it;
    a file name in it that is not UTF-8 is escaped, so the record can still be written."""
    if isinstance(exc, BaseExceptionGroup):
        return "; ".join(described(inner) for inner in exc.exceptions)
    return encodable(f"{type(exc).__name__}: {exc}")


@asynccontextmanager
async def _endpoint(options: RunOptions) -> AsyncIterator[str]:
    if options.endpoint is not None:
        yield options.endpoint
        return
    from runner._model.live import forwarding

    async with forwarding(options.environ) as url:
        yield url


def _seen(ws: Workspace, launch: Launch) -> RunPaths:
    """The run's own paths as the CLI sees them: fixed ones in the sandbox."""
    from runner._model.normalize import RunPaths

    if launch.sandboxed:
        return RunPaths(workspace=launch.workspace, home=launch.home)
    return RunPaths.of(ws.root, ws.path, ws.home)


def _prepare(spec: RunSpec, lane: Lane, parent: Path | None) -> Workspace:
    ws = Workspace.create(spec.fixture, parent=parent)
    if lane.skill == "installed" and spec.skill is not None:
        ws.install_skill(spec.skill)
    ws.snapshot()
    return ws


def _collect(ws: Workspace, run_dir: Path, redact: Redactor) -> list[FileChange]:
    return ws.capture(ws.changes(), run_dir / "files", redact=redact)
