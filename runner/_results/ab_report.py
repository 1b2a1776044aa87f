"""The A/B report's models (pydantic): each lane's rates and figures, B over A with its verdict
and the numbers behind it, the A/A noise floor; and the levels and margins they default to.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict

from runner._evaluate.results import Sequential, VerdictSettings
from runner._results.distributions import Bounds
from runner._results.rates import clustered_rate, wilson

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
        return cls._with(successes, n, wilson(successes, n, CONFIDENCE))

    @classmethod
    def over_scenarios(cls, counts: list[tuple[int, int]]) -> Rate:
        """Passes and trials per scenario: trials of one scenario share its difficulty, so
        the interval is the scenario-clustered one (rates.clustered_rate)."""
        k, n = sum(c for c, _ in counts), sum(t for _, t in counts)
        if n == 0:
            return cls(successes=0, n=0, rate=None, ci=None)
        return cls._with(k, n, clustered_rate(counts, CONFIDENCE))

    @classmethod
    def _with(cls, k: int, n: int, bounds: Bounds) -> Rate:
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
    p_value: float | None  # the paired t-test; None below scenario_tests.MIN_SCENARIOS
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
