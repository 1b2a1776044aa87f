"""One scenario run in one lane: a fresh workspace, the CLI, and a RunRecord, whatever happens.

``run_one`` is the engine's public call. Every run leaves a folder::

    stream.ndjson   the CLI's stdout, byte for byte, written as it arrived
    stderr.log      its stderr (capped)
    process.json    how the process tree ended (from the reaper)
    files/          the files the run added or changed, for scoring after the workspace is gone
    record.json     the RunRecord, written last and atomically, also on timeout or cancellation
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, computed_field

from runner.atomic import write_atomically
from runner.claude import ClaudeRun, CliOutcome, CliSpec, child_env, isolated_env
from runner.claude_bin import ClaudeBinary, ClaudeNotFoundError, find_claude
from runner.lanes import DEFAULT_ALLOWED_TOOLS, Lane, cli_spec, get_lane
from runner.process import Limits
from runner.usage import Usage
from runner.workspace import FileChange, Workspace

SCHEMA_VERSION = 1


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


@dataclass(frozen=True)
class RunOptions:
    """How to run, not what: none of this can change the agent's behaviour."""

    binary: ClaudeBinary | None = None  # default: find_claude()
    # A local endpoint's URL (a scripted model, a replay proxy): the CLI talks to it, and none
    # of the caller's ANTHROPIC_* variables (a real key, a real URL) reach the run.
    endpoint: str | None = None
    env: dict[str, str] | None = None  # set in the CLI's environment last
    keep_workspace: bool = False
    workspace_parent: Path | None = None
    grace_s: float = 5.0
    fail_fast_auth: bool = True
    # Told the workspace once it exists, before the CLI starts (the replay proxy learns the
    # run's paths from it).
    on_workspace: Callable[[Workspace], None] | None = None


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
        return spec.skill.name, skill_md.read_text(encoding="utf-8")
    except OSError as exc:
        raise RunSpecError(f"{skill_md}: cannot read the skill ({exc.strerror})") from exc


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
    options = options or RunOptions()
    lane = get_lane(lane) if isinstance(lane, str) else lane
    cli = check(spec, lane)
    started_at = datetime.now(UTC).isoformat(timespec="milliseconds")

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
        write_atomically(run_dir / "record.json", rec.model_dump_json(indent=2))
        return rec

    try:
        binary = options.binary or find_claude()
    except ClaudeNotFoundError as exc:
        return record(CliOutcome.not_run(str(exc)), cli.argv(Path("claude"))[1:], [], None)

    ws = await anyio.to_thread.run_sync(_prepare, spec, lane, options.workspace_parent)
    if options.on_workspace is not None:
        options.on_workspace(ws)
    if options.endpoint is None:
        env = child_env(ws.home, passthrough=spec.env_passthrough, overrides=options.env)
    else:
        env = isolated_env(
            options.endpoint, ws.home, passthrough=spec.env_passthrough, extra=options.env
        )
    limits = Limits(spec.timeout_s, spec.idle_timeout_s, options.grace_s)
    claude = ClaudeRun(
        cli,
        spec.instruction,
        binary=binary,
        cwd=ws.path,
        env=env,
        run_dir=run_dir,
        limits=limits,
        fail_fast_auth=options.fail_fast_auth,
    )
    try:
        await claude.run()
    finally:
        # Also on cancellation: the record says why the run ended. Shielded, and bounded by
        # the size of the workspace.
        with anyio.CancelScope(shield=True):
            files = await anyio.to_thread.run_sync(_collect, ws, run_dir)
            kept = str(ws.root) if options.keep_workspace else None
            if kept is None:
                await anyio.to_thread.run_sync(ws.remove)
            rec = record(claude.outcome(), claude.argv[1:], files, kept)
    return rec


def _prepare(spec: RunSpec, lane: Lane, parent: Path | None) -> Workspace:
    ws = Workspace.create(spec.fixture, parent=parent)
    if lane.skill == "installed" and spec.skill is not None:
        ws.install_skill(spec.skill)
    ws.snapshot()
    return ws


def _collect(ws: Workspace, run_dir: Path) -> list[FileChange]:
    changes = ws.changes()
    ws.capture(changes, run_dir / "files")
    return changes
