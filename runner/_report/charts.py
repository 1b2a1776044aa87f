"""The numbers the report's overview charts draw, from a result and its A/B report: the effect
of each lane over the first, scenario by scenario and overall; each lane's pass rate, cost and
pass@k; a scenario × lane grid of pass rates. The page only places them (assets/charts.js)."""

from __future__ import annotations

from collections import Counter

from pydantic import BaseModel

from runner._evaluate.results import SuiteResult
from runner._results.ab_report import CONFIDENCE, AbReport, Effect, Interval, PassK, Rate, Verdict
from runner._results.ab_verdicts import interval_level
from runner._results.rates import newcombe_diff
from runner._util.figures import NOT_BILLED


class ScenarioPoint(BaseModel):
    """One scenario's difference, B's pass rate minus A's over its paired trials."""

    scenario: str
    pairs: int
    a_passed: int
    b_passed: int
    diff: float
    ci: Interval  # at the charts' confidence: the two lanes' trials as independent draws


class EffectChart(BaseModel):
    a: str
    b: str
    margin: float  # the ±band "equivalent" is tested against
    diff: float | None  # over scenarios: the verdict's own figure (Effect.diff)
    ci: Interval | None  # the verdict's interval, at ``level``; None below 3 scenarios
    level: str  # "95%", or "99.93%" at a sequential study's early look
    verdict: Verdict
    scenarios: list[ScenarioPoint]


class LanePoint(BaseModel):
    lane: str
    runs: int
    pass_rate: Rate  # interval over scenarios like these (ab.LaneStats.pass_rate)
    cost_usd: float | None  # mean per run, where known
    pass_k: list[PassK]  # k = 1 .. trials; empty with one trial


class HeatCell(BaseModel):
    """The runs of one scenario in one lane: what the runs view shows when the cell opens."""

    scenario: str
    lane: str
    passed: int
    runs: int


class Charts(BaseModel):
    confidence: str  # of the per-scenario and per-lane intervals
    trials: int
    unbilled: str | None  # what the cost chart says of a scripted result's costs
    lanes: list[LanePoint]
    effects: list[EffectChart]  # each lane after the first, over the first
    scenarios: list[str]  # the heat map's rows, in the order they ran
    cells: list[HeatCell]  # only where a scenario ran in the lane


def scenario_point(scenario: str, pairs: int, a_passed: int, b_passed: int) -> ScenarioPoint:
    low, high = newcombe_diff(a_passed, pairs, b_passed, pairs, CONFIDENCE)
    return ScenarioPoint(
        scenario=scenario,
        pairs=pairs,
        a_passed=a_passed,
        b_passed=b_passed,
        diff=(b_passed - a_passed) / pairs if pairs else 0.0,
        ci=Interval(low=low, high=high),
    )


def effect_chart(e: Effect) -> EffectChart:
    return EffectChart(
        a=e.a,
        b=e.b,
        margin=e.margin,
        diff=e.diff,
        ci=e.ci,
        level=interval_level(e.alpha),
        verdict=e.verdict,
        scenarios=[
            scenario_point(s.scenario, s.pairs, s.a_passed, s.b_passed) for s in e.scenarios
        ],
    )


def heat_cells(result: SuiteResult) -> list[HeatCell]:
    """Every run counts, an A/A copy's too: a cell opens exactly the runs it counts."""
    runs = Counter((r.scenario, r.lane) for r in result.runs)
    passed = Counter((r.scenario, r.lane) for r in result.runs if r.passed)
    return [
        HeatCell(scenario=scenario, lane=lane, passed=passed[key], runs=runs[key])
        for scenario in dict.fromkeys(r.scenario for r in result.runs)
        for lane in result.lanes_run()
        if runs[key := (scenario, lane)]
    ]


def charts(result: SuiteResult, report: AbReport) -> Charts:
    """``report`` is ``ab.analyze(result)``: with one lane it has the lane and no effect."""
    return Charts(
        confidence=f"{report.confidence:.0%}",
        trials=report.trials,
        unbilled=NOT_BILLED if result.header.mode == "scripted" else None,
        lanes=[
            LanePoint(
                lane=lane.lane,
                runs=lane.runs,
                pass_rate=lane.pass_rate,
                cost_usd=lane.cost_usd,
                pass_k=lane.pass_k,
            )
            for lane in report.lanes
        ],
        effects=[effect_chart(e) for e in report.effects],
        scenarios=list(dict.fromkeys(r.scenario for r in result.runs)),
        cells=heat_cells(result),
    )
