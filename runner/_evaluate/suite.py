"""A suite's runs: scenario x lane x trial, each through the cache, then scored.

``plan`` checks everything that can be wrong with the configuration before any run starts
(missing skills, scripts, lanes) and derives every key; ``run_plan`` runs the plan under a
capacity limiter and reports each result as it lands, so the caller can show progress and
save partial results.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from runner._agent.claude_bin import ClaudeBinary, find_claude, known_version
from runner._agent.engine import (
    RunOptions,
    RunRecord,
    RunSpec,
    RunSpecError,
    check,
    described,
    run_one,
)
from runner._agent.lanes import LANES, Lane
from runner._agent.sandbox import SandboxMode, default_mode
from runner._evaluate.cache import CachedRun, Producer, RunCache, RunKey, run_key, tree_digest
from runner._evaluate.checks import Judge, JudgeVerdict, RunView, parse_verdict, score
from runner._evaluate.results import RunResult
from runner._evaluate.scenarios import SCENARIO_FILE, Scenario
from runner._model.script import Script, ScriptFileError, load_script

if TYPE_CHECKING:
    from runner._evaluate.tapes import Cassettes, Tape

# The scripted model's server and the cassettes' proxy (runner._model, h11) are imported
# when a run is made or a cassette named: a cached eval needs neither.

KEY_VARS = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
JUDGE_LANE = LANES["baseline"]  # one turn, no tools: the judge only reads
JUDGE_TIMEOUT_S = 300.0


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
                    cassette=_replayed(tape),
                )
                judge_tapes = tuple(
                    _tape(settings, scenario, lane.name, trial, _judge_suffix(i))
                    for i in range(len(_judges(scenario, lane.name)))
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


def _replayed(tape: Tape | None) -> str | None:
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


def _judges(scenario: Scenario, lane: str) -> list[Judge]:
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


async def run_against(
    script: Script | None,
    seed: int | None,
    options: RunOptions,
    run: Callable[[RunOptions], Awaitable[RunRecord]],
) -> RunRecord:
    """``run`` against the scripted model on 127.0.0.1 for its run only (``script``), or as
    ``options`` say (the live API through runner's proxy). Here and on a cluster's node."""
    if script is None:
        return await run(options)
    from runner._model.mock_api import scripted_model

    async with scripted_model(script, seed=seed) as model:
        return await run(replace(options, endpoint=model.url))


Remote = Callable[["Unit", RunOptions], Producer]


@dataclass
class Progress:
    total: int
    results: list[RunResult] = field(default_factory=list)  # in the order they finished

    @property
    def done(self) -> int:
        return len(self.results)


OnResult = Callable[[RunResult, Progress], None]


@dataclass
class SuiteRunner:
    settings: Settings
    cache: RunCache
    problems: list[str] = field(default_factory=list)  # recordings not kept, one line each
    # Where a miss runs instead of here (``eval --cluster``): given the unit and the options
    # it would run with, the producer that fills the cache's folder. None: on this machine.
    remote: Remote | None = None
    _limiter: anyio.CapacityLimiter | None = None

    async def run_plan(
        self, units: list[Unit], on_result: OnResult | None = None
    ) -> list[RunResult]:
        """Run every unit (the limiter bounds how many CLIs run at once); results in plan
        order. Cancelling stops the runs in flight: each leaves its record, then cancels."""
        self._limiter = anyio.CapacityLimiter(self.settings.concurrency)
        progress = Progress(total=len(units))
        results: list[RunResult | None] = [None] * len(units)

        async def one(i: int, unit: Unit) -> None:
            result = await self.run_unit(unit)
            results[i] = result
            progress.results.append(result)
            if on_result is not None:
                on_result(result, progress)

        async with anyio.create_task_group() as tg:
            for i, unit in enumerate(units):
                tg.start_soon(one, i, unit)
        return [r for r in results if r is not None]

    async def run_unit(self, unit: Unit) -> RunResult:
        """One unit run (or found in the cache) and scored. A failure met on the way fails
        this run only, as ``runner_error``; runner's own disk failing (OSError) stops all."""
        try:
            return await self._run_and_score(unit)
        except OSError:
            raise
        except Exception as exc:
            return _broken(unit, exc)

    async def _run_and_score(self, unit: Unit) -> RunResult:
        cached = await self._fetch(unit)
        try:
            view = RunView(
                record=cached.record,
                run_dir=cached.path,
                fixture=unit.spec.fixture,
                instruction=unit.spec.instruction,
                skill=unit.spec.skill.name if unit.spec.skill else None,
                judge=lambda check, prompt: self._judge(unit, check, prompt),
                sandbox=unit.spec.sandbox,
                network=unit.spec.network,
            )
            checks = await score(unit.scenario.checks_for(unit.lane.name), view)
        finally:
            self.cache.release(cached)
        record = cached.record
        replaying = unit.tape is not None and unit.tape.replaying
        return RunResult(
            scenario=unit.scenario.id,
            lane=unit.lane.name,
            trial=unit.trial,
            passed=record.succeeded and all(c.passed for c in checks),
            exit_reason=record.exit_reason,
            cache_hit=cached.hit,
            cache_key=cached.key,
            live=unit.live,
            model=_model(record, unit.spec),
            cost_usd=record.cost_usd,
            billed_usd=_billed(unit, record),
            replay=None if unit.tape is None else "replayed" if replaying else "recorded",
            cassette=None if unit.tape is None else str(unit.tape.path),
            recorded_cost_usd=_recorded_cost(unit.tape),
            num_turns=record.num_turns,
            duration_ms=record.diagnostics.duration_ms or record.transcript.duration_ms,
            usage=record.usage,
            tool_sequence=record.transcript.tool_sequence,
            skills_invoked=record.transcript.skills_invoked,
            skill_errors=record.transcript.skill_errors,
            checks=checks,
            error=record.error or _first_error(record),
            run_dir=None if cached.temporary else str(cached.path),
            cache_problem=cached.problem,
        )

    async def _fetch(self, unit: Unit) -> CachedRun:
        if self._limiter is None:  # run_unit called on its own, outside run_plan
            self._limiter = anyio.CapacityLimiter(self.settings.concurrency)
        options = RunOptions(
            binary=self.settings.binary,
            workspace_parent=self.settings.workspace_parent,
            grace_s=self.settings.grace_s,
        )
        spec, lane, trial, tape = unit.spec, unit.lane, unit.trial, unit.tape

        async def produce(run_dir: Path) -> RunRecord:
            def run(opts: RunOptions) -> Awaitable[RunRecord]:
                return run_one(spec, lane, run_dir=run_dir, trial=trial, options=opts)

            from runner._evaluate.tapes import Upstream, run_taped

            if tape is not None:
                upstream = Upstream(unit.script, unit.seed)
                record, problem = await run_taped(
                    tape, unit.run_id, upstream, options, run, run_dir=run_dir
                )
                if problem is not None:
                    self.problems.append(problem)
                return record
            return await run_against(unit.script, unit.seed, options, run)

        producer: Producer = produce
        # A recording is written where the driver keeps its cassettes: it stays here.
        if self.remote is not None and (tape is None or tape.replaying):
            producer = self.remote(unit, options)
        # Hits are not worth a slot, but a miss's CLI is: the limiter holds the whole fetch
        # (a hit returns in a millisecond). A recording must reach the model: never a hit.
        recording = tape is not None and not tape.replaying
        async with self._limiter:
            return await self.cache.fetch(unit.key, producer, fresh=recording)

    async def _judge(self, unit: Unit, judge: Judge, prompt: str) -> JudgeVerdict:
        """The rubric through the CLI (one turn, no tools), cached like any run."""
        spec = RunSpec(
            scenario=f"{unit.scenario.id}.judge",
            instruction=prompt,
            model=judge.model or unit.spec.model,
            timeout_s=JUDGE_TIMEOUT_S,
            max_turns=1,
            sandbox=self.settings.sandbox,
        )
        # Its own cassette beside its run's, found (and read) by plan.
        judges = _judges(unit.scenario, unit.lane.name)
        tape = unit.judge_tapes[next(i for i, c in enumerate(judges) if c is judge)]
        script = unit.judge_scripts.get(judge.mock) if judge.mock is not None else None
        if tape is not None and tape.replaying:
            script = None
        seed = None if script is None else script.seed
        key = run_key(
            spec,
            JUDGE_LANE,
            check(spec, JUDGE_LANE),
            trial=0,
            cli_version=self.settings.cli_version,
            fixture_digest=None,
            skill_digest=None,
            script=script,
            seed=seed,
            cassette=_replayed(tape),
        )
        judging = Unit(unit.scenario, JUDGE_LANE, 0, spec, key, script, seed, tape=tape)
        cached = await self._fetch(judging)
        try:
            if not cached.record.succeeded:
                return JudgeVerdict(False, f"the judge's run ended: {cached.record.exit_reason}")
            return parse_verdict(cached.record.transcript.final_text)
        finally:
            self.cache.release(cached)


def _broken(unit: Unit, exc: Exception) -> RunResult:
    """The result of a run that runner itself failed on, saying how."""
    return RunResult(
        scenario=unit.scenario.id,
        lane=unit.lane.name,
        trial=unit.trial,
        passed=False,
        exit_reason="runner_error",
        cache_hit=False,
        cache_key=unit.key.digest,
        live=unit.live,
        cost_usd=None,
        num_turns=None,
        duration_ms=None,
        error=f"runner failed: {described(exc)}",
    )


def _billed(unit: Unit, record: RunRecord) -> float | None:
    """Only a live run that reached the API is billed; a replay never leaves the machine."""
    if unit.script is not None or (unit.tape is not None and unit.tape.replaying):
        return 0.0
    return record.cost_usd


def _recorded_cost(tape: Tape | None) -> float | None:
    if tape is None or tape.cassette is None:
        return None
    return tape.cassette.header.cost_usd


def _model(record: RunRecord, spec: RunSpec) -> str | None:
    models = list(record.transcript.models)
    return models[0] if models else spec.model


def _first_error(record: RunRecord) -> str | None:
    if record.transcript.errors:
        return record.transcript.errors[0]
    # An API error's words are the result's text ("API Error: 400 scripted model: the script
    # has 2 turns for this conversation, all used"): without them the run reads "api_error".
    if record.exit_reason == "api_error":
        return record.transcript.final_text
    return None
