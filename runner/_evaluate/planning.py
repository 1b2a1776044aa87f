"""A suite's plan: scenario x lane x trial, each run with its spec, key, scripted model and
cassettes, and every configuration error (missing skills, scripts, lanes, cassettes) found
before any run starts. ``Settings`` say how the suite runs; ``suite.SuiteRunner`` runs the plan.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from runner._agent.claude_bin import ClaudeBinary, find_claude, known_version
from runner._agent.engine import RunSpec, RunSpecError, check
from runner._agent.lanes import Lane
from runner._agent.sandbox import SandboxMode, default_mode
from runner._evaluate.judge import Judge
from runner._evaluate.run_keys import RunKey, run_key, tree_digest
from runner._evaluate.scenarios import SCENARIO_FILE, Scenario
from runner._model.script import Script, ScriptFileError, load_script

if TYPE_CHECKING:
    from runner._evaluate.tapes import Cassettes, Tape

# The cassettes (runner._evaluate.tapes) are read when one is named: a cached eval needs none.

KEY_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")


def has_api_key(environ: Mapping[str, str] | None = None) -> bool:
    """Whether runs can go live; without a key every run plays its scripted model."""
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in KEY_VARS)


class PlanError(ValueError):
    """A suite that cannot run as asked; the message is one line saying what to fix."""


@dataclass(frozen=True)
class Settings:
    """How to run a suite: none of this is a scenario's own input."""

    binary: ClaudeBinary
    cli_version: str
    scripted: bool  # every run against its scenario's scripted model (no API key, $0)
    model: str | None = None  # overrides every scenario's model (eval --model)
    concurrency: int = 2
    workspace_parent: Path | None = None
    grace_s: float = 5.0
    cassettes: Cassettes | None = None  # eval --record / --replay
    sandbox: SandboxMode = "bwrap"  # every run's, its judges' and its command checks'


def local_settings(
    claude_bin: str | None,
    *,
    version_memo: Path | None,
    offline: bool = False,
    model: str | None = None,
    concurrency: int = 2,
    cassettes: Cassettes | None = None,
    sandbox: SandboxMode | None = None,
) -> Settings:
    """Settings as eval makes them on this machine: the CLI found (its version known without
    starting it, when it can be), scripted unless an API key is set or ``offline``, and the
    sandbox (default: $RUNNER_SANDBOX, else bwrap). ClaudeNotFoundError when there is no
    CLI."""
    binary = find_claude(claude_bin)
    return Settings(
        binary=binary,
        cli_version=known_version(binary, memo=version_memo),
        scripted=offline or not has_api_key(),
        model=model,
        concurrency=concurrency,
        cassettes=cassettes,
        sandbox=sandbox or default_mode(),
    )


@dataclass(frozen=True)
class Unit:
    """One planned run."""

    scenario: Scenario
    lane: Lane
    trial: int
    spec: RunSpec
    key: RunKey
    script: Script | None
    seed: int | None
    # Offline: the scenario's judges' scripted models, by file (empty when live).
    judge_scripts: Mapping[Path, Script] = field(default_factory=dict)
    tape: Tape | None = None  # the API cassette it records or replays
    judge_tapes: tuple[Tape | None, ...] = ()  # its judges' cassettes, in the checks' order

    @property
    def run_id(self) -> str:
        return f"{self.scenario.id}/{self.lane.name}#{self.trial}"

    @property
    def live(self) -> bool:
        """It reaches the live API: no scripted model answers it, no cassette is replayed."""
        return self.script is None and not (self.tape is not None and self.tape.replaying)


def plan(
    scenarios: list[Scenario],
    lanes: list[Lane],
    trials: int,
    settings: Settings,
    *,
    first_trial: int = 0,
) -> list[Unit]:
    """Every run, in order (scenario, lane, trial), with its key; PlanError before anything
    runs when one of them cannot. Trials are numbered from ``first_trial`` (an A/A copy)."""
    scripts: dict[Path, Script] = {}
    digests: dict[Path, str] = {}

    def digest(tree: Path | None) -> str | None:
        if tree is None:
            return None
        if tree not in digests:
            digests[tree] = tree_digest(tree)
        return digests[tree]

    units = []
    for scenario in scenarios:
        spec = scenario.run_spec(model=settings.model, sandbox=settings.sandbox)
        where = scenario.folder / "scenario.toml"
        judges = _judge_scripts(scenario, scripts) if settings.scripted else {}
        for lane in lanes:
            try:
                cli = check(spec, lane)
            except RunSpecError as exc:
                raise PlanError(f"{where}: {exc}") from None
            for trial in range(first_trial, first_trial + trials):
                tape = _tape(settings, scenario, lane.name, trial)
                script = None
                if settings.scripted and (tape is None or not tape.replaying):
                    script = _lane_script(scenario, lane, scripts)
                seed = None if script is None else script.seed + trial
                key = run_key(
                    spec,
                    lane,
                    cli,
                    trial=trial,
                    cli_version=settings.cli_version,
                    fixture_digest=digest(spec.fixture),
                    skill_digest=digest(spec.skill) if lane.installs_skill else None,
                    script=script,
                    seed=seed,
                    cassette=cassette_digest(tape),
                )
                judge_tapes = tuple(
                    _tape(settings, scenario, lane.name, trial, _judge_suffix(i))
                    for i in range(len(lane_judges(scenario, lane.name)))
                )
                units.append(
                    Unit(scenario, lane, trial, spec, key, script, seed, judges, tape, judge_tapes)
                )
    return units


def _tape(
    settings: Settings, scenario: Scenario, lane: str, trial: int, suffix: str = ""
) -> Tape | None:
    if settings.cassettes is None:
        return None
    from runner._evaluate.tapes import TapeError, tape_for

    try:
        return tape_for(settings.cassettes, scenario.id, lane, trial, suffix)
    except TapeError as exc:
        raise PlanError(str(exc)) from None


def cassette_digest(tape: Tape | None) -> str | None:
    """The digest of the cassette ``tape`` replays, as a run's key holds it; None if none."""
    return tape.cassette.digest if tape is not None and tape.cassette is not None else None


def _lane_script(scenario: Scenario, lane: Lane, loaded: dict[Path, Script]) -> Script:
    source = scenario.mock_script(lane.name)
    if source is None:
        # Named after the lane, the file the fix writes: the one line to add points at it.
        expected = f"mock/{lane.name}.json"
        raise PlanError(
            f"{scenario.folder}: no scripted model for lane {lane.name}, so it cannot run "
            f"offline; write {expected} (the model's turns) and add "
            f'"{lane.name}" = "{expected}" under [mock] in {SCENARIO_FILE}, '
            "or set ANTHROPIC_API_KEY to run it live"
        )
    return _script(source, loaded)


def lane_judges(scenario: Scenario, lane: str) -> list[Judge]:
    """The judge checks run in ``lane``, in order: a judge's cassette is named by its place."""
    return [c for c in scenario.checks_for(lane) if isinstance(c, Judge)]


def _judge_suffix(index: int) -> str:
    """A judge's cassette sits beside its run's: ``<lane>-<trial>.judge-<n>.ndjson``."""
    return f".judge-{index}"


def _script(path: Path, loaded: dict[Path, Script]) -> Script:
    if path not in loaded:
        try:
            loaded[path] = load_script(path)
        except ScriptFileError as exc:
            raise PlanError(str(exc)) from None
    return loaded[path]


def _judge_scripts(scenario: Scenario, loaded: dict[Path, Script]) -> dict[Path, Script]:
    judges = {}
    for c in scenario.checks:
        if isinstance(c, Judge):
            if c.mock is None:
                raise PlanError(
                    f"{scenario.folder / 'scenario.toml'}: check {c.label!r}: a judge needs "
                    '`mock = "judge.json"` (its scripted reply) to run offline'
                )
            judges[c.mock] = _script(c.mock, loaded)
    return judges
