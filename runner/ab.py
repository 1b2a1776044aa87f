"""Lanes compared from one eval's runs: each lane's rates, the paired effect of B over A, and a
verdict a reviewer can trust; an A/A copy of one lane gives the noise floor.

Runs pair by (scenario, trial): the same task, the same trial, in both lanes, so what a
scenario makes easy or hard cancels out. The first lane is A; every other lane is a B against
it. Only trials below the header's ``trials`` count: an A/A copy (``ab --aa LANE``) runs that
lane's trials again as ``trials .. 2 * trials - 1``, paired trial t with t + trials.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict

from runner import stats
from runner.lanes import LANES
from runner.results import RunResult, SuiteResult

ALPHA = 0.05
POWER = 0.8
CONFIDENCE = 0.95

Verdict = Literal["better", "worse", "no detectable difference", "underpowered"]
Metric = Literal["cost_usd", "num_turns", "duration_ms"]
METRICS: tuple[Metric, ...] = ("cost_usd", "num_turns", "duration_ms")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True)


class Interval(_Frozen):
    low: float
    high: float


class Rate(_Frozen):
    """k of n, with its Wilson 95% interval; rate and interval are None when n is 0."""

    successes: int
    n: int
    rate: float | None
    ci: Interval | None

    @classmethod
    def of(cls, successes: int, n: int) -> Rate:
        if n == 0:
            return cls(successes=0, n=0, rate=None, ci=None)
        low, high = stats.wilson(successes, n, CONFIDENCE)
        return cls(successes=successes, n=n, rate=successes / n, ci=Interval(low=low, high=high))


class PassK(_Frozen):
    """Over scenarios, the mean chance that at least one of k trials passes (pass@k) and that
    all k pass (pass^k)."""

    k: int
    pass_at_k: float
    pass_hat_k: float


class LaneStats(_Frozen):
    lane: str
    runs: int
    pass_rate: Rate
    pass_k: list[PassK]  # k = 1 .. trials, when every scenario ran more than one trial
    skill_invoked: Rate | None  # runs that loaded a skill; None on lanes without one
    cost_usd: float | None  # means over the runs where each is known
    num_turns: float | None
    duration_ms: float | None


class MetricEffect(_Frozen):
    """A figure of B against A over the pairs where both runs have it."""

    metric: Metric
    pairs: int
    a_mean: float | None
    b_mean: float | None
    diff: float | None  # mean of (B - A), pair by pair
    ci: Interval | None  # paired percentile bootstrap, 95%


class ScenarioEffect(_Frozen):
    scenario: str
    pairs: int
    a_passed: int
    b_passed: int


class Effect(_Frozen):
    """B over A, paired by (scenario, trial)."""

    a: str
    b: str
    pairs: int
    unpaired: int  # runs of either lane whose partner did not run
    both: int
    a_only: int  # A passed, B failed
    b_only: int  # B passed, A failed
    neither: int
    diff: float | None  # B's pass rate minus A's over the pairs
    ci: Interval | None  # Newcombe's paired interval, 95%
    p_value: float  # McNemar's exact test on the discordant pairs
    verdict: Verdict
    pairs_needed: int | None  # for 80% power at the observed effect
    trials_needed: int | None  # the same, per scenario
    reason: str  # the verdict in one line, with its numbers
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
    alpha: float = ALPHA
    power: float = POWER
    confidence: float = CONFIDENCE
    trials: int
    scenarios: int
    lanes: list[LaneStats]
    effects: list[Effect]  # every lane after the first, against the first
    noise: NoiseFloor | None = None


def analyze(result: SuiteResult) -> AbReport:
    """The A/B report of a stored eval: its lanes in the order they were asked for."""
    h = result.header
    runs = [r for r in result.runs if r.trial < h.trials]
    by_lane: dict[str, list[RunResult]] = defaultdict(list)
    for r in runs:
        by_lane[r.lane].append(r)
    lanes = [lane for lane in result.lanes_run() if lane in by_lane]
    first = lanes[0] if lanes else None
    return AbReport(
        trials=h.trials,
        scenarios=len({r.scenario for r in runs}),
        lanes=[lane_stats(lane, by_lane[lane]) for lane in lanes],
        effects=[effect(by_lane[first], by_lane[b]) for b in lanes[1:] if first is not None],
        noise=noise_floor(result.runs, h.aa, h.trials) if h.aa else None,
    )


def lane_stats(lane: str, runs: list[RunResult]) -> LaneStats:
    known = LANES.get(lane)
    by_scenario: dict[str, list[bool]] = defaultdict(list)
    for r in runs:
        by_scenario[r.scenario].append(r.passed)
    return LaneStats(
        lane=lane,
        runs=len(runs),
        pass_rate=Rate.of(sum(r.passed for r in runs), len(runs)),
        pass_k=_pass_k(list(by_scenario.values())),
        skill_invoked=(
            Rate.of(sum(bool(r.skills_invoked) for r in runs), len(runs))
            if known is not None and known.uses_skill
            else None
        ),
        cost_usd=_mean(r.cost_usd for r in runs),
        num_turns=_mean(r.num_turns for r in runs),
        duration_ms=_mean(r.duration_ms for r in runs),
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


def effect(a_runs: list[RunResult], b_runs: list[RunResult]) -> Effect:
    """B over A. Pairs are (scenario, trial) present in both; a run without its partner
    (a scenario added to one lane, a run interrupted) counts as unpaired, not as a failure."""
    a = {(r.scenario, r.trial): r for r in a_runs}
    b = {(r.scenario, r.trial): r for r in b_runs}
    keys = sorted(a.keys() & b.keys())
    pairs = [(a[k], b[k]) for k in keys]
    table = stats.PairedTable(
        both=sum(x.passed and y.passed for x, y in pairs),
        a_only=sum(x.passed and not y.passed for x, y in pairs),
        b_only=sum(y.passed and not x.passed for x, y in pairs),
        neither=sum(not x.passed and not y.passed for x, y in pairs),
    )
    a_lane = a_runs[0].lane if a_runs else "A"
    b_lane = b_runs[0].lane if b_runs else "B"
    p_value = stats.mcnemar_exact(table.a_only, table.b_only)
    scenarios = sorted({s for s, _ in keys})
    verdict, needed, trials_needed, reason = _verdict(table, p_value, len(scenarios))
    ci = None
    if table.n:
        low, high = stats.newcombe_paired(table, CONFIDENCE)
        ci = Interval(low=low, high=high)
    return Effect(
        a=a_lane,
        b=b_lane,
        pairs=table.n,
        unpaired=len(a.keys() ^ b.keys()),
        both=table.both,
        a_only=table.a_only,
        b_only=table.b_only,
        neither=table.neither,
        diff=table.diff if table.n else None,
        ci=ci,
        p_value=p_value,
        verdict=verdict,
        pairs_needed=needed,
        trials_needed=trials_needed,
        reason=reason,
        metrics=[_metric_effect(m, pairs) for m in METRICS],
        scenarios=[
            ScenarioEffect(
                scenario=s,
                pairs=sum(x.scenario == s for x, _ in pairs),
                a_passed=sum(x.passed for x, _ in pairs if x.scenario == s),
                b_passed=sum(y.passed for x, y in pairs if x.scenario == s),
            )
            for s in scenarios
        ],
    )


def _fewest_decisive_pairs(alpha: float) -> int:
    """The fewest discordant pairs, all one way, that McNemar's exact test calls significant
    (6 at 5%): below it no result of the design could be, whatever the lanes do."""
    d = 1
    while stats.mcnemar_exact(0, d) >= alpha:
        d += 1
    return d


def _verdict(
    t: stats.PairedTable, p_value: float, scenarios: int
) -> tuple[Verdict, int | None, int | None, str]:
    """The verdict, the pairs and trials per scenario needed, and the line that says why."""
    if t.n == 0:
        return "underpowered", None, None, "no scenario and trial ran in both lanes"
    if p_value < ALPHA:
        verdict: Verdict = "better" if t.diff > 0 else "worse"
        return verdict, None, None, f"{_pp(t.diff)} pass rate, p = {p_value:.3g} < {ALPHA}"
    fewest = _fewest_decisive_pairs(ALPHA)
    needed = stats.pairs_needed(t.a_only / t.n, t.b_only / t.n, ALPHA, POWER)
    if needed is None:
        if t.n < fewest:
            return (
                "underpowered",
                None,
                None,
                f"{t.n} pairs: no exact test at {ALPHA} can decide with fewer than {fewest}",
            )
        return (
            "no detectable difference",
            None,
            None,
            f"{t.discordant} of {t.n} pairs went differently, as many each way",
        )
    trials = math.ceil(needed / max(1, scenarios))
    if needed > t.n:
        return (
            "underpowered",
            needed,
            trials,
            f"{_pp(t.diff)} pass rate, p = {p_value:.3g}: {t.n} pairs cannot tell; about "
            f"{needed} pairs ({trials} trials per scenario) would, at {POWER:.0%} power",
        )
    return (
        "no detectable difference",
        needed,
        trials,
        f"{_pp(t.diff)} pass rate, p = {p_value:.3g}: {t.n} pairs had the power to show it "
        "and did not",
    )


def _pp(diff: float) -> str:
    """A difference in pass rate, in percentage points."""
    return f"{diff * 100:+.0f} points"


def _metric_effect(metric: Metric, pairs: list[tuple[RunResult, RunResult]]) -> MetricEffect:
    known: list[tuple[float | None, float | None]] = [
        (getattr(x, metric), getattr(y, metric)) for x, y in pairs
    ]
    both = [(x, y) for x, y in known if x is not None and y is not None]
    diffs = [y - x for x, y in both]
    bounds = stats.bootstrap_mean(diffs, CONFIDENCE)
    return MetricEffect(
        metric=metric,
        pairs=len(both),
        a_mean=_mean(x for x, _ in both),
        b_mean=_mean(y for _, y in both),
        diff=_mean(diffs),
        ci=None if bounds is None else Interval(low=bounds[0], high=bounds[1]),
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
