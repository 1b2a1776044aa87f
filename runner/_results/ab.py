"""Lanes compared from one eval's runs: each lane's rates, the paired effect of B over A, and a
verdict a reviewer can trust; an A/A copy of one lane gives the noise floor.

Runs pair by (scenario, trial): the same task, the same trial, in both lanes, so what a
scenario makes easy or hard cancels out. The first lane is A; every other lane is a B against
it. Only trials below the header's ``trials`` count: an A/A copy (``ab --aa LANE``) runs that
lane's trials again as ``trials .. 2 * trials - 1``, paired trial t with t + trials.
"""

from __future__ import annotations

import math
import statistics
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import replace
from operator import attrgetter
from typing import Literal

from pydantic import BaseModel, ConfigDict

from runner._agent.lanes import LANES
from runner._evaluate.results import RunResult, Sequential, SuiteResult, VerdictSettings
from runner._results import stats
from runner._util.figures import change, plural, points

ALPHA = 0.05
POWER = 0.8
CONFIDENCE = 0.95
_DEFAULTS = VerdictSettings()
MARGIN = _DEFAULTS.margin  # --margin 10: within +-10 points of pass rate is "equivalent"
COST_MARGIN = _DEFAULTS.cost_margin  # --cost-margin 10: within +-10% of cost is "same cost"

# What B does to the pass rate, over scenarios like these (not only these).
Verdict = Literal["better", "worse", "equivalent", "inconclusive"]
CostVerdict = Literal["costs more", "costs less", "same cost", "inconclusive"]
Metric = Literal["cost_usd", "num_turns", "duration_ms"]
METRICS: tuple[Metric, ...] = ("cost_usd", "num_turns", "duration_ms")
_VERDICTS: dict[stats.Direction, Verdict] = {
    "higher": "better",
    "lower": "worse",
    "equivalent": "equivalent",
    "inconclusive": "inconclusive",
}
_COST_VERDICTS: dict[stats.Direction, CostVerdict] = {
    "higher": "costs more",
    "lower": "costs less",
    "equivalent": "same cost",
    "inconclusive": "inconclusive",
}


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Interval(_Frozen):
    low: float
    high: float


class Rate(_Frozen):
    """k of n and an interval; rate and interval are None when n is 0. ``of`` gives Wilson's
    interval over runs; ``over_scenarios`` one for the mean over scenarios like these."""

    successes: int
    n: int
    rate: float | None
    ci: Interval | None

    @classmethod
    def of(cls, successes: int, n: int) -> Rate:
        if n == 0:
            return cls(successes=0, n=0, rate=None, ci=None)
        return cls._with(successes, n, stats.wilson(successes, n, CONFIDENCE))

    @classmethod
    def over_scenarios(cls, counts: list[tuple[int, int]]) -> Rate:
        """Passes and trials per scenario: trials of one scenario share its difficulty, so
        the interval is the scenario-clustered one (stats.clustered_rate)."""
        k, n = sum(c for c, _ in counts), sum(t for _, t in counts)
        if n == 0:
            return cls(successes=0, n=0, rate=None, ci=None)
        return cls._with(k, n, stats.clustered_rate(counts, CONFIDENCE))

    @classmethod
    def _with(cls, k: int, n: int, bounds: stats.Bounds) -> Rate:
        return cls(successes=k, n=n, rate=k / n, ci=Interval(low=bounds[0], high=bounds[1]))


class PassK(_Frozen):
    """Over scenarios, the mean chance that at least one of k trials passes (pass@k) and that
    all k pass (pass^k)."""

    k: int
    pass_at_k: float
    pass_hat_k: float


class LaneStats(_Frozen):
    lane: str
    runs: int
    scenarios: int
    pass_rate: Rate  # interval: the mean over scenarios like these (clustered by scenario)
    pass_k: list[PassK]  # k = 1 .. trials, when every scenario ran more than one trial
    skill_invoked: Rate | None  # runs whose Skill call succeeded; None on lanes without one
    skill_errors: int = 0  # runs with a Skill call that failed (an unknown skill, say)
    cost_usd: float | None  # means over the runs where each is known
    num_turns: float | None
    duration_ms: float | None


class MetricEffect(_Frozen):
    """A figure of B against A over the pairs where both runs have it: the mean difference
    over scenarios, and B over A as a ratio with the t interval over scenarios on the log
    scale (a skill's extra cost grows with the task's, so differences are skewed and ratios
    are not: the simulation's coverage is about 95% for the ratio, under 93% for dollars)."""

    metric: Metric
    pairs: int
    scenarios: int
    a_mean: float | None
    b_mean: float | None
    diff: float | None  # mean over scenarios of each one's mean difference
    ratio: float | None  # geometric mean over scenarios of B's mean over A's
    ci: Interval | None  # of the ratio; None below 2 scenarios with positive figures


class ScenarioEffect(_Frozen):
    scenario: str
    pairs: int
    a_passed: int
    b_passed: int

    @property
    def diff(self) -> float:
        return (self.b_passed - self.a_passed) / self.pairs


class Pooled(_Frozen):
    """Every (scenario, trial) pair as if independent: McNemar's exact test and Newcombe's
    interval. True of these scenarios only; the verdict is about scenarios like these."""

    diff: float
    ci: Interval
    p_value: float


class Advice(_Frozen):
    """What would decide at 80% power for an effect of ``effect`` (the margin)."""

    add: Literal["scenarios", "trials"]
    effect: float
    scenarios_needed: int  # at the current trials per scenario
    trials_needed: int | None  # at the current scenarios; None when no number would do
    between: float  # variance of the true per-scenario effect
    within: float  # one trial pair's binomial variance


class CostEffect(_Frozen):
    """B's cost per run against A's, scenario by scenario as a ratio of means, tested on the
    log scale: "same cost" is within +-margin (relative)."""

    verdict: CostVerdict
    scenarios: int  # scenarios where both lanes have a known, positive cost
    ratio: float | None  # B over A: 1.38 is 38% more
    ci: Interval | None
    p_value: float | None
    margin: float
    reason: str


class Effect(_Frozen):
    """B over A. The verdict is about scenarios like these: each scenario's difference in
    pass rate (over its paired trials) is one draw, tested by the paired t-test, with TOST
    for equivalence within the margin. The pair counts and ``pooled`` are about these runs."""

    a: str
    b: str
    pairs: int
    unpaired: int  # runs of either lane whose partner did not run
    both: int
    a_only: int  # A passed, B failed
    b_only: int  # B passed, A failed
    neither: int
    method: str = "paired t over scenarios"
    alpha: float = ALPHA  # the level this verdict was reached at (smaller at a sequential look)
    margin: float = MARGIN
    scenarios_paired: int
    diff: float | None  # mean over scenarios of B's pass rate minus A's
    ci: Interval | None  # the paired t interval at 1 - alpha
    p_value: float | None  # the paired t-test; None below stats.MIN_SCENARIOS
    equivalence_p: float | None  # TOST at +-margin, when the t-test did not reject
    verdict: Verdict
    reason: str  # the verdict in one line, with its numbers
    advice: Advice | None  # when inconclusive
    pooled: Pooled | None
    cost: CostEffect
    metrics: list[MetricEffect]
    scenarios: list[ScenarioEffect]

    @property
    def discordant_rate(self) -> float | None:
        return (self.a_only + self.b_only) / self.pairs if self.pairs else None


class NoiseFloor(_Frozen):
    """One lane against itself (trial t against trial t + trials): how often a run's outcome
    flips with nothing changed. An A/B effect no larger than this is noise."""

    lane: str
    pairs: int
    flips: int
    flip_rate: Rate
    p_value: float  # McNemar's exact test; small here means the lane is not stable


class AbReport(_Frozen):
    alpha: float = ALPHA  # the verdicts' level (a sequential study's last look: less)
    power: float = POWER
    confidence: float = CONFIDENCE  # of the lane, metric, pooled and noise intervals
    trials: int
    scenarios: int
    lanes: list[LaneStats]
    effects: list[Effect]  # every lane after the first, against the first
    noise: NoiseFloor | None = None
    sequential: Sequential | None = None


def sequential_looks(round_trials: int, max_trials: int) -> list[int]:
    """The trials per scenario at each look of ``ab --until-decided``: rounds of
    round_trials, the last cut at max_trials."""
    return [*range(round_trials, max_trials, round_trials), max_trials]


def look_levels(looks: Sequence[int], alpha: float = ALPHA) -> list[float]:
    """The level each look tests at: alpha for a single look; else each look's share of
    alpha by its fraction of the last look's trials (stats.spending)."""
    if len(looks) == 1:
        return [alpha]
    return stats.spending([t / looks[-1] for t in looks], alpha)


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
            pass_at_k=sum(stats.pass_at_k(len(o), sum(o), k) for o in outcomes) / len(outcomes),
            pass_hat_k=sum(stats.pass_hat_k(len(o), sum(o), k) for o in outcomes) / len(outcomes),
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
    table = stats.PairedTable(
        both=table_counts[True, True],
        a_only=table_counts[True, False],
        b_only=table_counts[False, True],
        neither=table_counts[False, False],
    )
    diffs = [s.diff for s in scenarios]
    counts = [(s.a_passed, s.b_passed, s.pairs) for s in scenarios]
    decided = stats.pass_rate_verdict(counts, margin, alpha)
    test = decided.test
    verdict = _VERDICTS[decided.direction]
    # What would decide, only where nothing is decided.
    advice = _advice(scenarios, margin, alpha) if decided.direction == "inconclusive" else None
    pooled = None
    if table.n:
        low, high = stats.newcombe_paired(table, CONFIDENCE)
        p_value = stats.mcnemar_exact(table.a_only, table.b_only)
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
        reason=_reason(decided, diffs, margin, alpha, advice),
        advice=advice,
        pooled=pooled,
        cost=_cost(logs["cost_usd"], cost_margin, alpha),
        metrics=[_metric_effect(m, values[m], logs[m]) for m in METRICS],
        scenarios=scenarios,
    )


def _paired_values(metric: Metric, by_scenario: dict[str, list[Pair]]) -> list[PairedValues]:
    figure = attrgetter(metric)
    return [[(figure(x), figure(y)) for x, y in ps] for ps in by_scenario.values()]


def _advice(scenarios: list[ScenarioEffect], margin: float, alpha: float) -> Advice | None:
    """Scenarios or trials, from the variance split; with one trial per scenario the split
    cannot be made and all of the observed variance counts as between scenarios."""
    if len(scenarios) < 2:
        return None
    if min(s.pairs for s in scenarios) >= 2:
        split = stats.variance_split([(s.a_passed, s.b_passed, s.pairs) for s in scenarios])
    else:
        spread = statistics.variance(s.diff for s in scenarios)
        split = stats.VarianceSplit(len(scenarios), 1.0, spread, 0.0)
    if split.within == 0:
        # Every run of each scenario agreed: plan with the noise a few trials cannot rule out.
        spreads = [stats.smoothed_spread(s.a_passed, s.b_passed, s.pairs) for s in scenarios]
        split = replace(split, within=sum(spreads) / len(spreads))
    got = stats.advise(split, margin, alpha, POWER)
    return Advice(
        add="scenarios" if got.add == "scenarios" else "trials",
        effect=margin,
        scenarios_needed=got.scenarios_needed,
        trials_needed=got.trials_needed,
        between=split.between,
        within=split.within,
    )


def _reason(
    decided: stats.ScenarioVerdict,
    diffs: list[float],
    margin: float,
    alpha: float,
    advice: Advice | None,
) -> str:
    """The verdict in one line a skill author can act on."""
    m = len(diffs)
    if m == 0:
        return "no scenario and trial ran in both lanes"
    test = decided.test
    if test is None:
        need = f"at least {stats.MIN_SCENARIOS}"
        if advice is not None:
            need += f"; about {advice.scenarios_needed} would detect {_pp(margin, sign=False)}"
        return f"{plural(m, 'scenario')}: a verdict about tasks like these needs {need}"
    level = interval_level(alpha)
    low, high = test.interval
    shown = (
        f"{_pp(test.mean)} pass rate on every one of {plural(m, 'scenario')}"
        if low == high
        else f"{_pp(test.mean)} pass rate ({level} CI {points(low)} to {points(high)}) "
        f"across {plural(m, 'scenario')}"
    )
    within = f"±{_pp(margin, sign=False)}"
    if decided.direction in ("higher", "lower"):
        tail = f", but by less than {within}" if -margin < low and high < margin else ""
        return f"{shown}{_p(test.p_value)}{tail}"
    if decided.direction == "equivalent":
        assert decided.equivalence is not None
        return f"{shown}: within {within} (TOST p = {decided.equivalence.p_value:.2g})"
    why = f"{shown}: neither a difference nor a match within {within} is shown"
    if advice is None:
        return why
    size = _pp(margin, sign=False)
    if advice.add == "trials" and advice.trials_needed is not None:
        trials = plural(advice.trials_needed, "trial")
        return f"{why}; about {trials} per scenario would detect {size}"
    # advise adds scenarios when the between term dominates, or is alone too big for trials.
    because = (
        "the spread between scenarios alone is too large"
        if advice.trials_needed is None
        else "most of the spread is between scenarios"
    )
    scenarios = f"about {plural(advice.scenarios_needed, 'scenario')} would detect {size}"
    return f"{why}; {scenarios}, not more trials: {because}"


def interval_level(alpha: float) -> str:
    """The confidence of an interval at level alpha: "95%", or "99.93%" at an early look."""
    return f"{1 - alpha:.0%}" if round(alpha, 2) == alpha else f"{100 * (1 - alpha):.2f}%"


def _p(p_value: float) -> str:
    return ", p < 0.001" if p_value < 0.001 else f", p = {p_value:.2g}"


def _pp(diff: float, *, sign: bool = True) -> str:
    """A difference in pass rate, in percentage points."""
    return f"{points(diff)} points" if sign else f"{diff * 100:.0f} points"


def _cost(logs: list[float], margin: float, alpha: float) -> CostEffect:
    """Cost per run, scenario by scenario: log(mean B / mean A) over the pairs where both
    costs are known and positive (``logs``), tested like the pass rate on the log scale."""
    decided = cost_verdict(logs, margin, alpha)
    test = decided.test
    verdict = _COST_VERDICTS[decided.direction]
    if test is None:
        return CostEffect(
            verdict=verdict,
            scenarios=len(logs),
            ratio=math.exp(sum(logs) / len(logs)) if logs else None,
            ci=None,
            p_value=None,
            margin=margin,
            reason=f"{plural(len(logs), 'scenario')} with a known cost in both lanes: a verdict "
            f"needs at least {stats.MIN_SCENARIOS}",
        )
    ratio, low, high = (math.exp(v) for v in (test.mean, *test.interval))
    shown = (
        f"{change(ratio)} per run ({interval_level(alpha)} CI {change(low)} to {change(high)}) "
        f"across {plural(len(logs), 'scenario')}"
    )
    # +-margin on the log scale: from 1 / (1 + margin) to 1 + margin, -9% to +10% at 10%.
    within = f"{change(1 / (1 + margin))} to {change(1 + margin)}"
    tails = {
        "costs more": _p(test.p_value),
        "costs less": _p(test.p_value),
        "same cost": f": within {within}",
        "inconclusive": f": neither a difference nor a match within {within} is shown",
    }
    return CostEffect(
        verdict=verdict,
        scenarios=len(logs),
        ratio=ratio,
        ci=Interval(low=low, high=high),
        p_value=test.p_value,
        margin=margin,
        reason=shown + tails[verdict],
    )


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


def cost_verdict(logs: Sequence[float], margin: float, alpha: float) -> stats.ScenarioVerdict:
    """The scenario verdict on log cost ratios: within +-margin (relative) is within
    +-log(1 + margin) on the log scale, so "same cost" runs from 1 / (1 + margin) to 1 + margin."""
    return stats.scenario_verdict(logs, math.log1p(margin), alpha)


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
        low, high = stats.paired_t(logs, CONFIDENCE).interval
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
        p_value=stats.mcnemar_exact(a_only, b_only),
    )


def _mean(values: Iterable[float | int | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None
