"""A suite's runs: each planned run (``planning.plan``) through the cache, then scored.

``SuiteRunner.run_plan`` runs the plan under a capacity limiter and reports each result as it
lands, so the caller can show progress and save partial results; a judge check is one more
cached run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from runner._agent.engine import RunOptions, RunRecord, RunSpec, check, described, run_one
from runner._agent.lanes import LANES
from runner._evaluate.cache import CachedRun, Producer, RunCache
from runner._evaluate.judge import Judge, JudgeVerdict, parse_verdict
from runner._evaluate.planning import Settings, Unit, cassette_digest, lane_judges
from runner._evaluate.results import RunResult
from runner._evaluate.run_keys import run_key
from runner._evaluate.run_view import RunView
from runner._evaluate.scoring import score
from runner._model.script import Script

if TYPE_CHECKING:
    from runner._evaluate.tapes import Tape

# The scripted model's server and the cassettes' proxy (runner._model, h11) are imported
# when a run is made or a cassette named: a cached eval needs neither.

JUDGE_LANE = LANES["baseline"]  # one turn, no tools: the judge only reads
JUDGE_TIMEOUT_S = 300.0


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
        judges = lane_judges(unit.scenario, unit.lane.name)
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
            cassette=cassette_digest(tape),
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
