"""Lanes compared from one eval's runs: each lane's rates, the paired effect of B over A with
each scenario's differences, and a verdict a reviewer can trust (its words: ``ab_verdicts``;
the report's models: ``ab_report``); an A/A copy of one lane gives the noise floor.

Runs pair by (scenario, trial): the same task, the same trial, in both lanes, so what a
scenario makes easy or hard cancels out. The first lane is A; every other lane is a B against
it. Only trials below the header's ``trials`` count: an A/A copy (``ab --aa LANE``) runs that
lane's trials again as ``trials .. 2 * trials - 1``, paired trial t with t + trials.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable, Sequence
from operator import attrgetter

from runner._agent.lanes import LANES
from runner._evaluate.results import RunResult, SuiteResult, VerdictSettings
from runner._results.ab_report import (
    ALPHA,
    CONFIDENCE,
    COST_MARGIN,
    MARGIN,
    METRICS,
    AbReport,
    Effect,
    Interval,
    LaneStats,
    Metric,
    MetricEffect,
    NoiseFloor,
    PassK,
    Pooled,
    Rate,
    ScenarioEffect,
)
from runner._results.ab_verdicts import VERDICTS, advice_for, cost_effect, reason_for
from runner._results.rates import PairedTable, mcnemar_exact, newcombe_paired, pass_at_k, pass_hat_k
from runner._results.scenario_tests import paired_t, pass_rate_verdict


def analyze(result: SuiteResult, settings: VerdictSettings | None = None) -> AbReport:
    """The A/B report of a stored eval: its lanes in the order they were asked for, with the
    verdict settings it ran with (or ``settings``: a sequential look passes its level)."""
    h = result.header
    asked = settings or h.verdicts
    alpha = asked.alpha
    # One pass groups the runs by lane; every figure after it is read from the groups.
    by_lane: dict[str, list[RunResult]] = defaultdict(list)
    again: list[RunResult] = []  # the A/A copy's trials, trials .. 2 * trials - 1
    scenarios = set()
    for r in result.runs:
        if r.trial < h.trials:
            by_lane[r.lane].append(r)
            scenarios.add(r.scenario)
        elif r.lane == h.aa:
            again.append(r)
    lanes = [lane for lane in result.lanes_run() if lane in by_lane]
    first = lanes[0] if lanes else None
    return AbReport(
        alpha=alpha,
        trials=h.trials,
        scenarios=len(scenarios),
        lanes=[lane_stats(lane, by_lane[lane]) for lane in lanes],
        effects=[
            effect(
                by_lane[first],
                by_lane[b],
                margin=asked.margin,
                cost_margin=asked.cost_margin,
                alpha=alpha,
            )
            for b in lanes[1:]
            if first is not None
        ],
        noise=noise_floor([*by_lane.get(h.aa, []), *again], h.aa, h.trials) if h.aa else None,
        sequential=asked.sequential,
    )


def lane_stats(lane: str, runs: list[RunResult]) -> LaneStats:
    known = LANES.get(lane)
    by_scenario: dict[str, list[bool]] = defaultdict(list)
    invoked = errors = 0
    costs: list[float | None] = []
    turns: list[int | None] = []
    durations: list[int | None] = []
    for r in runs:  # one pass; the means add in run order, as before
        by_scenario[r.scenario].append(r.passed)
        invoked += bool(r.skills_invoked)
        errors += bool(r.skill_errors)
        costs.append(r.cost_usd)
        turns.append(r.num_turns)
        durations.append(r.duration_ms)
    outcomes = list(by_scenario.values())
    return LaneStats(
        lane=lane,
        runs=len(runs),
        scenarios=len(outcomes),
        pass_rate=Rate.over_scenarios([(sum(o), len(o)) for o in outcomes]),
        pass_k=_pass_k(outcomes),
        skill_invoked=(
            Rate.of(invoked, len(runs)) if known is not None and known.uses_skill else None
        ),
        skill_errors=errors,
        cost_usd=_mean(costs),
        num_turns=_mean(turns),
        duration_ms=_mean(durations),
    )


def _pass_k(outcomes: list[list[bool]]) -> list[PassK]:
    """pass@k and pass^k for k up to the fewest trials any scenario ran; none for one trial."""
    fewest = min((len(o) for o in outcomes), default=0)
    if fewest < 2:
        return []
    return [
        PassK(
            k=k,
            pass_at_k=sum(pass_at_k(len(o), sum(o), k) for o in outcomes) / len(outcomes),
            pass_hat_k=sum(pass_hat_k(len(o), sum(o), k) for o in outcomes) / len(outcomes),
        )
        for k in range(1, fewest + 1)
    ]


Pair = tuple[RunResult, RunResult]


def effect(
    a_runs: list[RunResult],
    b_runs: list[RunResult],
    *,
    margin: float = MARGIN,
    cost_margin: float = COST_MARGIN,
    alpha: float = ALPHA,
) -> Effect:
    """B over A. Pairs are (scenario, trial) present in both; a run without its partner
    (a scenario added to one lane, a run interrupted) counts as unpaired, not as a failure."""
    a = {(r.scenario, r.trial): r for r in a_runs}
    b = {(r.scenario, r.trial): r for r in b_runs}
    keys = a.keys() & b.keys()
    by_scenario: dict[str, list[Pair]] = defaultdict(list)
    for key in sorted(keys):
        by_scenario[key[0]].append((a[key], b[key]))
    # (A passed, B passed) -> pairs, over every scenario, and each scenario's passes.
    table_counts: dict[tuple[bool, bool], int] = defaultdict(int)
    scenarios = []
    for s, ps in by_scenario.items():
        a_passed = b_passed = 0
        for x, y in ps:
            table_counts[x.passed, y.passed] += 1
            a_passed += x.passed
            b_passed += y.passed
        scenarios.append(
            ScenarioEffect(scenario=s, pairs=len(ps), a_passed=a_passed, b_passed=b_passed)
        )
    table = PairedTable(
        both=table_counts[True, True],
        a_only=table_counts[True, False],
        b_only=table_counts[False, True],
        neither=table_counts[False, False],
    )
    diffs = [s.diff for s in scenarios]
    counts = [(s.a_passed, s.b_passed, s.pairs) for s in scenarios]
    decided = pass_rate_verdict(counts, margin, alpha)
    test = decided.test
    verdict = VERDICTS[decided.direction]
    # What would decide, only where nothing is decided.
    advice = advice_for(scenarios, margin, alpha) if decided.direction == "inconclusive" else None
    pooled = None
    if table.n:
        low, high = newcombe_paired(table, CONFIDENCE)
        p_value = mcnemar_exact(table.a_only, table.b_only)
        pooled = Pooled(diff=table.diff, ci=Interval(low=low, high=high), p_value=p_value)
    # Per metric, per scenario, the pairs' figures in A and B; the logs of their ratios.
    values = {m: _paired_values(m, by_scenario) for m in METRICS}
    logs = {m: log_ratios(values[m]) for m in METRICS}
    return Effect(
        a=a_runs[0].lane if a_runs else "A",
        b=b_runs[0].lane if b_runs else "B",
        pairs=table.n,
        unpaired=len(a.keys() ^ b.keys()),
        both=table.both,
        a_only=table.a_only,
        b_only=table.b_only,
        neither=table.neither,
        alpha=alpha,
        margin=margin,
        scenarios_paired=len(scenarios),
        diff=sum(diffs) / len(diffs) if diffs else None,
        ci=None if test is None else Interval(low=test.interval[0], high=test.interval[1]),
        p_value=None if test is None else test.p_value,
        equivalence_p=None if decided.equivalence is None else decided.equivalence.p_value,
        verdict=verdict,
        reason=reason_for(decided, diffs, margin, alpha, advice),
        advice=advice,
        pooled=pooled,
        cost=cost_effect(logs["cost_usd"], cost_margin, alpha),
        metrics=[_metric_effect(m, values[m], logs[m]) for m in METRICS],
        scenarios=scenarios,
    )


def _paired_values(metric: Metric, by_scenario: dict[str, list[Pair]]) -> list[PairedValues]:
    figure = attrgetter(metric)
    return [[(figure(x), figure(y)) for x, y in ps] for ps in by_scenario.values()]


# One scenario's figure in lanes A and B, pair by pair; None where a run did not report it.
PairedValues = Sequence[tuple[float | None, float | None]]


def log_ratios(scenarios: Iterable[PairedValues]) -> list[float]:
    """Per scenario, log(mean in B / mean in A) over the pairs where both figures are known
    and positive; a scenario without such a pair is left out."""
    logs = []
    for pairs in scenarios:
        costs = [(x, y) for x, y in pairs if x is not None and y is not None and x > 0 and y > 0]
        if costs:
            a_cost = sum(x for x, _ in costs) / len(costs)
            b_cost = sum(y for _, y in costs) / len(costs)
            logs.append(math.log(b_cost / a_cost))
    return logs


def mean_differences(scenarios: Iterable[PairedValues]) -> list[float]:
    """Per scenario, B minus A averaged over the pairs where both are known; a scenario
    without such a pair is left out."""
    diffs = []
    for pairs in scenarios:
        known = [y - x for x, y in pairs if x is not None and y is not None]
        if known:
            diffs.append(sum(known) / len(known))
    return diffs


def _metric_effect(metric: Metric, values: list[PairedValues], logs: list[float]) -> MetricEffect:
    """``values``: per scenario, the pairs' figures; ``logs``: their log_ratios."""
    known = [(x, y) for pairs in values for x, y in pairs if x is not None and y is not None]
    ci = None
    if len(logs) >= 2:
        low, high = paired_t(logs, CONFIDENCE).interval
        ci = Interval(low=math.exp(low), high=math.exp(high))
    return MetricEffect(
        metric=metric,
        pairs=len(known),
        scenarios=len(logs),
        a_mean=_mean(x for x, _ in known),
        b_mean=_mean(y for _, y in known),
        diff=_mean(mean_differences(values)),
        ratio=math.exp(sum(logs) / len(logs)) if logs else None,
        ci=ci,
    )


def noise_floor(runs: list[RunResult], lane: str, trials: int) -> NoiseFloor:
    """``lane``'s trial t against its trial t + trials, scenario by scenario."""
    first = {(r.scenario, r.trial): r for r in runs if r.lane == lane and r.trial < trials}
    again = {
        (r.scenario, r.trial - trials): r
        for r in runs
        if r.lane == lane and trials <= r.trial < 2 * trials
    }
    pairs = [(first[k], again[k]) for k in sorted(first.keys() & again.keys())]
    a_only = sum(x.passed and not y.passed for x, y in pairs)
    b_only = sum(y.passed and not x.passed for x, y in pairs)
    return NoiseFloor(
        lane=lane,
        pairs=len(pairs),
        flips=a_only + b_only,
        flip_rate=Rate.of(a_only + b_only, len(pairs)),
        p_value=mcnemar_exact(a_only, b_only),
    )


def _mean(values: Iterable[float | int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None
