"""The scenario as the unit: tests on per-scenario paired differences (the paired t-test,
the sign-flip test, TOST) and the verdict ``ab`` prints from them.

A scenario's difference is its pass rate in lane B minus lane A over its trials. Treating
scenarios, not runs, as the draws answers "does the skill help on tasks like these", which
is what a verdict is read as; pooling runs answers it only for these exact scenarios.
``tests/test_stats_scenarios.py`` checks the tests against scipy and brute force.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Literal

from runner._results.distributions import Bounds, t_cdf, t_ppf

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


def mean_sd(diffs: Sequence[float]) -> tuple[float, float]:
    """The mean of per-scenario differences and their sample standard deviation."""
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
    mean, sd = mean_sd(diffs)
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
        mean, sd = mean_sd(diffs)
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
