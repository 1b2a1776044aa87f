"""Test support for the A/B statistics: the verdict's t-test and TOST computed independently
with scipy, at the standard error ab takes (never below the trials' binomial noise)."""

from __future__ import annotations

from collections.abc import Sequence

from scipy import stats as sp


def diffs_of(passes: Sequence[tuple[int, int]], trials: int) -> list[float]:
    return [(y - x) / trials for x, y in passes]


def plain_tost(values: Sequence[float], margin: float) -> float:
    """Two one-sided t-tests (Schuirmann 1987) by scipy, as the cost verdict takes them."""
    above = sp.ttest_1samp(values, -margin, alternative="greater").pvalue
    below = sp.ttest_1samp(values, margin, alternative="less").pvalue
    return max(float(above), float(below))


def floored_se(passes: Sequence[tuple[int, int]], trials: int) -> float:
    """The t-test's standard error as ab takes it: the observed one, but never below the
    trials' binomial noise, each rate estimated as (passes + 1) / (trials + 2)."""
    diffs = diffs_of(passes, trials)
    observed = float(sp.sem(diffs))
    noise = 0.0
    for x, y in passes:
        pa, pb = (x + 1) / (trials + 2), (y + 1) / (trials + 2)
        noise += (pa * (1 - pa) + pb * (1 - pb)) / trials
    return max(observed, float(noise**0.5) / len(passes))


def scipy_t(
    passes: Sequence[tuple[int, int]], trials: int, confidence: float = 0.95
) -> tuple[float, tuple[float, float]]:
    """The paired t-test at the floored standard error, by scipy's t distribution: p and
    the interval cut to -1..1."""
    diffs = diffs_of(passes, trials)
    m, mean, se = len(diffs), sum(diffs) / len(diffs), floored_se(passes, trials)
    p = 2 * float(sp.t.sf(abs(mean) / se, m - 1))
    q = float(sp.t.ppf(0.5 + confidence / 2, m - 1))
    return p, (max(-1.0, mean - q * se), min(1.0, mean + q * se))


def scipy_tost(passes: Sequence[tuple[int, int]], trials: int, margin: float) -> float:
    """Two one-sided t-tests (Schuirmann 1987) by scipy at the floored error: the larger p."""
    diffs = diffs_of(passes, trials)
    m, mean, se = len(diffs), sum(diffs) / len(diffs), floored_se(passes, trials)
    above = float(sp.t.sf((mean + margin) / se, m - 1))
    below = float(sp.t.cdf((mean - margin) / se, m - 1))
    return max(above, below)
