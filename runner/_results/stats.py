"""The statistics behind an A/B verdict: intervals, exact and scenario-level tests, power.

Pure functions on counts and numbers (``ab`` applies them to runs). Each names its source, so
a reader can check it against the textbook; ``tests/test_stats.py`` and
``tests/test_stats_scenarios.py`` do.
"""

from __future__ import annotations

import functools
import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from itertools import pairwise
from statistics import NormalDist
from typing import Literal

Bounds = tuple[float, float]


def z_of(confidence: float) -> float:
    """The two-sided normal quantile: 1.96 for 0.95."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, n: int, confidence: float = 0.95) -> Bounds:
    """Wilson's score interval for a proportion (Wilson 1927; Newcombe 1998, method 3).

    Unlike the textbook Wald interval it stays inside [0, 1] and keeps its coverage near 0
    and 1, where pass rates of good skills live. n == 0 says nothing: (0, 1)."""
    if not 0 <= successes <= n:
        raise ValueError(f"successes {successes} outside 0..{n}")
    if n == 0:
        return (0.0, 1.0)
    return wilson_at(successes / n, n, confidence)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The chance that at least one of k trials passes, estimated without bias from n trials
    with c passes (Chen et al. 2021, "Evaluating Large Language Models Trained on Code")."""
    _check_k(n, c, k)
    if n - c < k:
        return 1.0
    return 1.0 - math.comb(n - c, k) / math.comb(n, k)


def pass_hat_k(n: int, c: int, k: int) -> float:
    """pass^k: the chance that all k trials pass, from n trials with c passes (Yao et al. 2024,
    "tau-bench"). The reliability a user sees when the same task comes back k times."""
    _check_k(n, c, k)
    return math.comb(c, k) / math.comb(n, k)


def _check_k(n: int, c: int, k: int) -> None:
    if not (0 <= c <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= c <= n and 1 <= k <= n (n={n}, c={c}, k={k})")


@dataclass(frozen=True)
class PairedTable:
    """Paired outcomes of lanes A and B: each pair is one scenario and trial run in both."""

    both: int  # A passed and B passed
    a_only: int  # A passed, B failed
    b_only: int  # B passed, A failed
    neither: int

    @property
    def n(self) -> int:
        return self.both + self.a_only + self.b_only + self.neither

    @property
    def discordant(self) -> int:
        return self.a_only + self.b_only

    @property
    def rate_a(self) -> float:
        return (self.both + self.a_only) / self.n

    @property
    def rate_b(self) -> float:
        return (self.both + self.b_only) / self.n

    @property
    def diff(self) -> float:
        """B's pass rate minus A's, over the pairs."""
        return (self.b_only - self.a_only) / self.n


def mcnemar_exact(a_only: int, b_only: int) -> float:
    """Two-sided p-value of McNemar's exact (conditional) test: under "no difference" each
    discordant pair goes either way with probability 1/2 (Fagerland, Lydersen and Laake 2013)."""
    d = a_only + b_only
    if d == 0:
        return 1.0
    return min(1.0, 2.0 * _binom_cdf(min(a_only, b_only), d, 0.5))


def newcombe_paired(t: PairedTable, confidence: float = 0.95) -> Bounds:
    """Interval for B's pass rate minus A's over paired runs: Newcombe's square-and-add
    hybrid score interval (Newcombe 1998, method 10), as given by Fagerland, Lydersen and
    Laake, "Statistical Analysis of Contingency Tables" (2017), section 8.5.

    Built from each lane's Wilson interval and the correlation of the pairs, so it keeps
    Wilson's behaviour near 0 and 1 and narrows when the lanes agree pair by pair."""
    n = t.n
    if n == 0:
        return (-1.0, 1.0)
    p_a, p_b = t.rate_a, t.rate_b
    l_a, u_a = wilson(t.both + t.a_only, n, confidence)
    l_b, u_b = wilson(t.both + t.b_only, n, confidence)
    a_pass, a_fail = t.both + t.a_only, t.b_only + t.neither
    b_pass, b_fail = t.both + t.b_only, t.a_only + t.neither
    phi = 0.0
    if a_pass and a_fail and b_pass and b_fail:
        # The correlation of the pairs, continuity-corrected towards 0 when positive.
        cross = float(t.both * t.neither - t.a_only * t.b_only)
        if cross > n / 2:
            cross -= n / 2
        elif cross >= 0:
            cross = 0.0
        phi = cross / math.sqrt(a_pass * a_fail * b_pass * b_fail)
    d = p_b - p_a
    low = d - math.sqrt((p_b - l_b) ** 2 + (u_a - p_a) ** 2 - 2 * phi * (p_b - l_b) * (u_a - p_a))
    high = d + math.sqrt((u_b - p_b) ** 2 + (p_a - l_a) ** 2 - 2 * phi * (u_b - p_b) * (p_a - l_a))
    return (max(-1.0, low), min(1.0, high))


def newcombe_diff(a: int, n_a: int, b: int, n_b: int, confidence: float = 0.95) -> Bounds:
    """Interval for B's pass rate (b of n_b) minus A's (a of n_a) as independent proportions:
    Newcombe's square-and-add of the two Wilson intervals (Newcombe 1998, Statistics in
    Medicine 17:873, method 10). Trials of one scenario pair by index only, which carries no
    correlation, so the paired form would add noise, not information."""
    if n_a == 0 or n_b == 0:
        return (-1.0, 1.0)  # a lane with no trials says nothing
    l_a, u_a = wilson(a, n_a, confidence)
    l_b, u_b = wilson(b, n_b, confidence)
    p_a, p_b = a / n_a, b / n_b
    d = p_b - p_a
    low = d - math.sqrt((p_b - l_b) ** 2 + (u_a - p_a) ** 2)
    high = d + math.sqrt((u_b - p_b) ** 2 + (p_a - l_a) ** 2)
    return (max(-1.0, low), min(1.0, high))


def _binom_pmf(k: int, n: int, p: float) -> float:
    if k < 0 or k > n:
        return 0.0
    if p <= 0.0:
        return 1.0 if k == 0 else 0.0
    if p >= 1.0:
        return 1.0 if k == n else 0.0
    log = (
        math.lgamma(n + 1)
        - math.lgamma(k + 1)
        - math.lgamma(n - k + 1)
        + k * math.log(p)
        + (n - k) * math.log1p(-p)
    )
    return math.exp(log)


def _binom_cdf(k: int, n: int, p: float) -> float:
    return min(1.0, sum(_binom_pmf(i, n, p) for i in range(k + 1)))


# --- The scenario as the unit: tests on per-scenario paired differences ---------------------
#
# A scenario's difference is its pass rate in lane B minus lane A over its trials. Treating
# scenarios, not runs, as the draws answers "does the skill help on tasks like these", which
# is what a verdict is read as; pooling runs answers it only for these exact scenarios.

# Differences are multiples of 1/trials; rounding subset means keeps an exact tie (a subset
# mean of 0) from landing a hair either side of 0 and splitting verdict from interval.
_DIGITS = 12
# All 2^m sign flips up to this many scenarios (65,536); a seeded sample of flips above.
SIGN_FLIP_EXACT_LIMIT = 16
SIGN_FLIP_SAMPLES = 20000
# The paired t-test needs a spread to test against: 3 scenarios give it 2 degrees of freedom,
# the fewest at which the simulation (scripts/sim_verdicts.py) holds its 5% false positives.
MIN_SCENARIOS = 3


@dataclass(frozen=True)
class ScenarioTest:
    """A test of "the mean scenario difference is 0" and the interval its inversion gives,
    so the two never contradict: p < alpha exactly when 0 lies outside the interval."""

    method: str
    scenarios: int
    mean: float
    p_value: float
    interval: Bounds


def _betacf(a: float, b: float, x: float) -> float:
    """The continued fraction of the incomplete beta function by the modified Lentz method
    (Press et al., "Numerical Recipes", 3rd ed. 2007, section 6.4, betacf)."""
    tiny, eps = 1e-300, 1e-16
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 10000):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < eps:
            break
    return h


def betainc(a: float, b: float, x: float) -> float:
    """The regularized incomplete beta function I_x(a, b) (Numerical Recipes, 3rd ed.,
    section 6.4): the continued fraction where it converges fast, else its symmetry."""
    if not 0.0 <= x <= 1.0:
        raise ValueError(f"x {x} outside 0..1")
    if x in (0.0, 1.0):
        return x
    log_front = (
        math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log1p(-x)
    )
    if x < (a + 1.0) / (a + b + 2.0):
        return math.exp(log_front) * _betacf(a, b, x) / a
    return 1.0 - math.exp(log_front) * _betacf(b, a, 1.0 - x) / b


def t_cdf(t: float, df: float) -> float:
    """Student's t distribution function through the incomplete beta (Abramowitz and Stegun
    1964, 26.7.1 with 26.5.27): P(T <= t) = 1 - I_x(df/2, 1/2) / 2, x = df / (df + t^2)."""
    if math.isinf(t):
        return 1.0 if t > 0 else 0.0
    tail = 0.5 * betainc(df / 2.0, 0.5, df / (df + t * t))
    return 1.0 - tail if t > 0 else tail


@functools.lru_cache(maxsize=1024)  # the same few quantiles are asked for again and again
def t_ppf(p: float, df: float) -> float:
    """The quantile of Student's t: t_cdf inverted by bisection, then Newton on the density
    (the density from Abramowitz and Stegun 26.7.1), to about 1e-12."""
    if not 0.0 < p < 1.0:
        raise ValueError(f"p {p} outside (0, 1)")
    if p == 0.5:
        return 0.0
    if p < 0.5:
        return -t_ppf(1.0 - p, df)
    low, high = 0.0, 1.0
    while t_cdf(high, df) < p:
        low, high = high, high * 2.0
    for _ in range(200):
        mid = (low + high) / 2.0
        if t_cdf(mid, df) < p:
            low = mid
        else:
            high = mid
        if high - low < 1e-6 * max(1.0, high):
            break
    x = (low + high) / 2.0
    log_norm = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
    for _ in range(20):
        density = math.exp(log_norm - (df + 1) / 2 * math.log1p(x * x / df))
        step = (t_cdf(x, df) - p) / density
        x -= step
        if abs(step) < 1e-14 * max(1.0, abs(x)):
            break
    return x


def _mean_sd(diffs: Sequence[float]) -> tuple[float, float]:
    m = len(diffs)
    if m < 2:
        raise ValueError(f"need at least 2 scenarios, got {m}")
    mean = sum(diffs) / m
    var = sum((d - mean) ** 2 for d in diffs) / (m - 1)
    return mean, math.sqrt(var)


def paired_t(diffs: Sequence[float], confidence: float = 0.95, min_se: float = 0.0) -> ScenarioTest:
    """The paired t-test on per-scenario differences and its t interval (Student 1908; any
    text, e.g. Rice, "Mathematical Statistics and Data Analysis", 3rd ed., section 11.3).
    ``min_se`` floors the standard error (see binomial_se)."""
    mean, sd = _mean_sd(diffs)
    m = len(diffs)
    se = max(min_se, sd / math.sqrt(m))
    if se == 0.0:
        # Every scenario moved by the same amount: no spread to test against.
        return ScenarioTest("paired t", m, mean, 1.0 if mean == 0 else 0.0, (mean, mean))
    p = min(1.0, 2.0 * t_cdf(-abs(mean / se), m - 1))
    q = t_ppf(0.5 + confidence / 2.0, m - 1)
    return ScenarioTest("paired t", m, mean, p, (mean - q * se, mean + q * se))


def _subset_means(diffs: Sequence[float], seed: int) -> tuple[list[float], int]:
    """The means of the scenario subsets a sign flip negates, sorted, and the number of sign
    vectors they stand for (the empty subset, the observed data, is the 1 added to counts).

    Flipping subset S changes the sum by -2 sum_S(d - delta), so the flipped sum is at least
    the observed one exactly when mean_S(d) <= delta (Hartigan 1969, JASA 64:1303)."""
    m = len(diffs)
    if m <= SIGN_FLIP_EXACT_LIMIT:
        subsets = [(0.0, 0)]
        for d in diffs:
            subsets += [(s + d, k + 1) for s, k in subsets]
        means = [round(s / k, _DIGITS) for s, k in subsets[1:]]
        total = 2**m
    else:
        rng = random.Random(seed)
        means = []
        for _ in range(SIGN_FLIP_SAMPLES):
            picked = [d for d in diffs if rng.random() < 0.5]
            if picked:
                means.append(round(sum(picked) / len(picked), _DIGITS))
        total = SIGN_FLIP_SAMPLES + 1
    means.sort()
    return means, total


def _one_sided(means: list[float], total: int, delta: float) -> tuple[float, float]:
    """The sign-flip p-values against "mean <= delta" and against "mean >= delta"."""
    from bisect import bisect_left, bisect_right

    delta = round(delta, _DIGITS)
    at_most = bisect_right(means, delta)  # subsets with mean <= delta
    at_least = len(means) - bisect_left(means, delta)
    return (1 + at_most) / total, (1 + at_least) / total


def sign_flip(diffs: Sequence[float], confidence: float = 0.95, seed: int = 0) -> ScenarioTest:
    """The sign-flip permutation test on per-scenario differences (Fisher 1935, "The Design
    of Experiments", section 21): under "no difference" each scenario's difference is as
    likely negative as positive. Exact over all 2^m flips up to SIGN_FLIP_EXACT_LIMIT
    scenarios, a seeded sample above. Two-sided p = twice the smaller one-sided p; the
    interval is the set of shifts neither one-sided test rejects at (1 - confidence) / 2,
    which is Hartigan's (1969) subset-mean interval."""
    m = len(diffs)
    if m < 1:
        raise ValueError("need at least 1 scenario")
    means, total = _subset_means(diffs, seed)
    mean = sum(diffs) / m
    p_greater, p_less = _one_sided(means, total, 0.0)
    p = min(1.0, 2.0 * min(p_greater, p_less))
    # p_greater(delta) = (1 + #{mean_S <= delta}) / total stays >= tail from the k-th mean up.
    tail = (1.0 - confidence) / 2.0
    k = math.ceil(tail * total - 1 - 1e-9)
    low = means[k - 1] if k >= 1 else -1.0
    high = means[len(means) - k] if k >= 1 else 1.0
    return ScenarioTest("sign flip", m, mean, p, (low, high))


def min_scenarios(alpha: float = 0.05, two_sided: bool = True) -> int:
    """The fewest scenarios at which the sign-flip test can reject at all: its smallest p is
    2^(1-m) two-sided (2^-m one-sided), so 6 at 0.05 two-sided and 5 one-sided (and so for
    TOST, two one-sided tests)."""
    m = 1
    while (2.0 ** (1 - m) if two_sided else 2.0**-m) >= alpha:
        m += 1
    return m


@dataclass(frozen=True)
class Equivalence:
    """Two one-sided tests (Schuirmann 1987, J Pharmacokinet Biopharm 15:657): the mean
    difference is above -margin and below +margin. p is the larger of the two one-sided
    p-values; equivalent when p < alpha, the same as the 1 - 2 alpha interval lying inside
    (-margin, margin)."""

    method: str
    margin: float
    p_value: float

    def equivalent(self, alpha: float = 0.05) -> bool:
        return self.p_value < alpha


def tost(
    diffs: Sequence[float],
    margin: float,
    method: str = "sign flip",
    seed: int = 0,
    min_se: float = 0.0,
) -> Equivalence:
    """TOST at +-margin on per-scenario differences, by the sign-flip or the paired t test
    (whose standard error ``min_se`` floors)."""
    if margin <= 0:
        raise ValueError(f"margin {margin} must be positive")
    if method == "sign flip":
        means, total = _subset_means(diffs, seed)
        above = _one_sided(means, total, -margin)[0]  # against "mean <= -margin"
        below = _one_sided(means, total, margin)[1]  # against "mean >= +margin"
    elif method == "paired t":
        mean, sd = _mean_sd(diffs)
        se = max(min_se, sd / math.sqrt(len(diffs)))
        if se == 0.0:
            inside = -margin < mean < margin
            return Equivalence(method, margin, 0.0 if inside else 1.0)
        df = len(diffs) - 1
        above = 1.0 - t_cdf((mean + margin) / se, df)
        below = t_cdf((mean - margin) / se, df)
    else:
        raise ValueError(f"unknown method {method!r}: 'sign flip' or 'paired t'")
    return Equivalence(method, margin, max(above, below))


@dataclass(frozen=True)
class VarianceSplit:
    """What the mean scenario difference's variance is made of, over m scenarios of n
    trials: (between + within / n) / m. ``between`` is the variance of the true per-scenario
    effect; ``within`` is one trial pair's binomial variance, p_a(1 - p_a) + p_b(1 - p_b),
    averaged over scenarios. More trials shrink only within / n; only scenarios shrink both."""

    scenarios: int
    trials: float
    between: float
    within: float

    @property
    def between_dominates(self) -> bool:
        return self.between >= self.within / self.trials


def variance_split(lanes: Sequence[tuple[int, int, int]]) -> VarianceSplit:
    """Split the observed variance of per-scenario differences, one (passes in A, passes in
    B, trials) per scenario, by the method of moments (one-way random effects; Searle,
    Casella and McCulloch, "Variance Components", 1992, section 3.5): each scenario's
    binomial noise is estimated without bias by p(1 - p) / (n - 1) per lane, and what the
    observed variance holds beyond its mean is the between-scenario variance (floored at 0)."""
    if len(lanes) < 2:
        raise ValueError(f"need at least 2 scenarios, got {len(lanes)}")
    diffs, noise, per_trial = [], [], []
    for a, b, n in lanes:
        if n < 2 or not (0 <= a <= n and 0 <= b <= n):
            raise ValueError(f"need 0 <= passes <= trials and trials >= 2 (got {a}, {b}, {n})")
        pa, pb = a / n, b / n
        diffs.append(pb - pa)
        spread = pa * (1 - pa) + pb * (1 - pb)
        noise.append(spread / (n - 1))  # unbiased for the lane variances' sum / n
        per_trial.append(spread * n / (n - 1))
    _, sd = _mean_sd(diffs)
    m = len(lanes)
    between = max(0.0, sd * sd - sum(noise) / m)
    trials = sum(n for _, _, n in lanes) / m
    return VarianceSplit(m, trials, between, sum(per_trial) / m)


@dataclass(frozen=True)
class Advice:
    """What to add for 80% power at the stated effect: ``add`` is "scenarios" or "trials";
    scenarios_needed at the current trials, trials_needed at the current scenarios (None
    when no number of trials reaches the power, because the between term alone is too big)."""

    add: str
    scenarios_needed: int
    trials_needed: int | None


def scenarios_needed(
    between: float,
    within: float,
    trials: float,
    effect: float,
    alpha: float = 0.05,
    power: float = 0.8,
) -> int:
    """Scenarios for a paired t-test on scenario differences to detect ``effect`` with the
    given power: the least m with
        m >= (t(1 - alpha/2, m - 1) + t(power, m - 1))^2 (between + within / trials) / effect^2
    (the normal-theory sample size with t quantiles, solved by iteration; Guenther 1981,
    Am Stat 35:243), and never below MIN_SCENARIOS."""
    if effect == 0:
        raise ValueError("effect must not be 0")
    variance = between + within / trials
    # Above the median, t quantiles exceed the normal ones, so no m below the normal-theory
    # answer qualifies: starting there takes a few steps, not one per scenario from 2.
    z = NormalDist().inv_cdf(1 - alpha / 2) + NormalDist().inv_cdf(power)
    normal = math.ceil(z * z * variance / (effect * effect)) if power >= 0.5 else 0
    m = max(MIN_SCENARIOS, normal)
    while True:
        k = t_ppf(1 - alpha / 2, m - 1) + t_ppf(power, m - 1)
        if m >= k * k * variance / (effect * effect):
            return m
        m += 1


def advise(split: VarianceSplit, effect: float, alpha: float = 0.05, power: float = 0.8) -> Advice:
    """Scenarios or trials? Trials only when the within term dominates and enough of them
    at the current scenarios reach the power (solving the formula in scenarios_needed for
    trials at fixed m); else scenarios, with how many at the current trials."""
    m = split.scenarios
    need_m = scenarios_needed(split.between, split.within, split.trials, effect, alpha, power)
    trials: int | None = None
    if m >= MIN_SCENARIOS:  # the paired t-test's least; below it no trials would decide
        k = t_ppf(1 - alpha / 2, m - 1) + t_ppf(power, m - 1)
        room = m * effect * effect / (k * k) - split.between  # what within / n may use
        if room > 0:
            trials = max(1, math.ceil(split.within / room))
    add = "scenarios" if split.between_dominates or trials is None else "trials"
    return Advice(add, need_m, trials)


# --- Verdicts at the scenario level --------------------------------------------------------


Direction = Literal["higher", "lower", "equivalent", "inconclusive"]


@dataclass(frozen=True)
class ScenarioVerdict:
    """B against A over per-scenario differences at level alpha: "higher" or "lower" when the
    paired t-test rejects "no difference"; else "equivalent" when TOST puts the mean within
    +-margin; else "inconclusive". ``test`` is None below MIN_SCENARIOS."""

    direction: Direction
    test: ScenarioTest | None
    equivalence: Equivalence | None


def scenario_verdict(
    diffs: Sequence[float], margin: float, alpha: float = 0.05, min_se: float = 0.0
) -> ScenarioVerdict:
    """The verdict ``ab`` prints, from the paired t-test and its interval at 1 - alpha (so
    the two agree) and TOST at +-margin (its 1 - 2 alpha interval inside the margin)."""
    if len(diffs) < MIN_SCENARIOS:
        return ScenarioVerdict("inconclusive", None, None)
    test = paired_t(diffs, 1.0 - alpha, min_se)
    if test.p_value < alpha:
        return ScenarioVerdict("higher" if test.mean > 0 else "lower", test, None)
    same = tost(diffs, margin, "paired t", min_se=min_se)
    return ScenarioVerdict("equivalent" if same.equivalent(alpha) else "inconclusive", test, same)


def smoothed_spread(a: int, b: int, n: int) -> float:
    """One trial pair's binomial variance in a scenario where A passed a and B passed b of n,
    each rate estimated as (passes + 1) / (trials + 2), the pseudo-counts of Agresti and
    Caffo (2000, Am Stat 54:280): never 0, as a 0% or 100% seen in a few trials is not."""
    if n < 1 or not (0 <= a <= n and 0 <= b <= n):
        raise ValueError(f"need 0 <= passes <= trials and trials >= 1 (got {a}, {b}, {n})")
    pa, pb = (a + 1) / (n + 2), (b + 1) / (n + 2)
    return pa * (1 - pa) + pb * (1 - pb)


def binomial_se(counts: Sequence[tuple[int, int, int]]) -> float:
    """The least standard error the mean scenario difference can have, from (passes in A,
    passes in B, trials) per scenario: its binomial noise alone (the spread between scenarios
    only adds), by smoothed_spread. So scenarios that all passed, or all moved by the same
    amount, do not read as a certainty the trials cannot give."""
    if not counts:
        raise ValueError("need at least 1 scenario")
    return math.sqrt(sum(smoothed_spread(a, b, n) / n for a, b, n in counts)) / len(counts)


def pass_rate_verdict(
    counts: Sequence[tuple[int, int, int]], margin: float, alpha: float = 0.05
) -> ScenarioVerdict:
    """``ab``'s pass-rate verdict from (passes in A, passes in B, trials) per scenario: the
    scenario verdict on the differences, its standard error floored by binomial_se, its
    interval cut to the -1..1 a difference of rates can take."""
    diffs = [(b - a) / n for a, b, n in counts]
    decided = scenario_verdict(diffs, margin, alpha, binomial_se(counts) if counts else 0.0)
    if decided.test is None:
        return decided
    low, high = decided.test.interval
    test = replace(decided.test, interval=(max(-1.0, low), min(1.0, high)))
    return replace(decided, test=test)


def clustered_rate(counts: Sequence[tuple[int, int]], confidence: float = 0.95) -> Bounds:
    """An interval for the mean pass rate over scenarios like these, from (passes, trials)
    per scenario: Wilson's interval at an effective sample size that counts trials of one
    scenario as partly the same draw (the design effect: the observed variance of scenario
    rates over what independent runs would give, at least 1), shrunk by (z / t)^2 for the
    few scenarios the variance comes from (Korn and Graubard 1998, Survey Methodology 24:193;
    compared under clustering by Dean and Pagano 2015, J Surv Stat Methodol 3:484)."""
    counts = [(k, n) for k, n in counts if n > 0]
    m = len(counts)
    if m == 0:
        return (0.0, 1.0)
    total = sum(n for _, n in counts)
    rates = [k / n for k, n in counts]
    p = sum(rates) / m
    if m < 2:
        return wilson_at(p, total, confidence)
    deff = 1.0  # at 0% or 100% no spread shows: as if none, the limit from inside
    if 0.0 < p < 1.0:
        spread = sum((r - p) ** 2 for r in rates) / (m - 1)
        deff = min(total / m, max(1.0, spread * total / (m * p * (1 - p))))
    n_eff = total / deff * (z_of(confidence) / t_ppf(0.5 + confidence / 2, m - 1)) ** 2
    return wilson_at(p, n_eff, confidence)


def wilson_at(p: float, n: float, confidence: float = 0.95) -> Bounds:
    """Wilson's interval for an observed rate p over n (possibly fractional) draws."""
    if not 0.0 <= p <= 1.0 or n <= 0:
        raise ValueError(f"need 0 <= p <= 1 and n > 0 (p={p}, n={n})")
    z = z_of(confidence)
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    low = 0.0 if p == 0.0 else max(0.0, centre - half)
    high = 1.0 if p == 1.0 else min(1.0, centre + half)
    return (low, high)


def spending(fractions: Sequence[float], alpha: float = 0.05) -> list[float]:
    """The level each look may test at, for a study that stops at its first decisive look,
    given each look's share of the largest study (increasing, the last 1): the increments of
    the O'Brien-Fleming-type spending function alpha(t) = 2 - 2 Phi(z(1 - alpha/2) / sqrt(t))
    (Lan and DeMets 1983, Biometrika 70:659). They sum to alpha, so by the union bound the
    chance of any false verdict over all looks is at most alpha, however the looks correlate;
    early looks get little of it."""
    steps = [0.0, *fractions]
    if not fractions or fractions[-1] != 1.0 or any(a >= b for a, b in pairwise(steps)):
        raise ValueError(f"fractions {list(fractions)} must increase to 1")
    z = NormalDist().inv_cdf(1 - alpha / 2)
    spent = [0.0, *(2.0 - 2.0 * NormalDist().cdf(z / math.sqrt(f)) for f in fractions[:-1]), alpha]
    return [spent[k] - spent[k - 1] for k in range(1, len(spent))]
