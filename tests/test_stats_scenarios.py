"""Scenario-level tests in runner.stats against scipy and against brute-force enumeration."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from scipy import special
from scipy import stats as sp

from runner import stats

DF = [1, 2, 3, 4, 5, 9, 29, 100, 1000]
T = [-40.0, -6.0, -2.5, -1.0, -0.1, 0.0, 0.3, 1.7, 2.2, 4.0, 12.0]


@pytest.mark.parametrize("df", DF)
def test_t_cdf_and_quantile_match_scipy(df: int) -> None:
    for t in T:
        assert stats.t_cdf(t, df) == pytest.approx(float(sp.t.cdf(t, df)), abs=1e-9)
    for p in (0.001, 0.025, 0.1, 0.5, 0.8, 0.95, 0.975, 0.999):
        want = float(sp.t.ppf(p, df))
        assert stats.t_ppf(p, df) == pytest.approx(want, abs=1e-9, rel=1e-9)


def test_betainc_matches_scipy() -> None:
    for a, b, x in [(0.5, 0.5, 0.3), (2.0, 5.0, 0.2), (10.0, 0.5, 0.97), (50.0, 40.0, 0.6)]:
        assert stats.betainc(a, b, x) == pytest.approx(float(special.betainc(a, b, x)), abs=1e-12)


DIFFS = [
    [0.2, 0.4, -0.1, 0.3, 0.0, 0.5, 0.1],
    [0.1, -0.2, 0.3, -0.1, 0.0, 0.2],
    [1.0, 0.8, 0.6, 0.9, 0.7],
    [-0.3, -0.5, 0.1, -0.2, -0.4, -0.6, 0.0, -0.1],
]


@pytest.mark.parametrize("diffs", DIFFS)
def test_paired_t_matches_scipy(diffs: list[float]) -> None:
    got = stats.paired_t(diffs)
    want = sp.ttest_1samp(diffs, 0.0)
    assert got.p_value == pytest.approx(float(want.pvalue), abs=1e-9)
    low, high = want.confidence_interval(0.95)
    assert got.interval[0] == pytest.approx(float(low), abs=1e-9)
    assert got.interval[1] == pytest.approx(float(high), abs=1e-9)
    # The verdict and the interval come from one method.
    assert (got.p_value < 0.05) == (not got.interval[0] <= 0 <= got.interval[1])


def _brute_one_sided(diffs: list[float], delta: float) -> tuple[float, float]:
    """Every sign vector, counted directly on the shifted sums."""
    shifted = [d - delta for d in diffs]
    observed = sum(shifted)
    vectors = list(itertools.product((1, -1), repeat=len(diffs)))
    sums = [sum(s * x for s, x in zip(v, shifted, strict=True)) for v in vectors]
    greater = sum(1 for s in sums if s >= observed - 1e-9) / len(vectors)
    less = sum(1 for s in sums if s <= observed + 1e-9) / len(vectors)
    return greater, less


@pytest.mark.parametrize("diffs", DIFFS)
def test_sign_flip_matches_enumeration(diffs: list[float]) -> None:
    got = stats.sign_flip(diffs)
    greater, less = _brute_one_sided(diffs, 0.0)
    assert got.p_value == pytest.approx(min(1.0, 2 * min(greater, less)), abs=1e-12)
    # The interval is exactly the shifts neither one-sided test rejects at 2.5%.
    low, high = got.interval
    for delta in [low - 1e-6, low, (low + high) / 2, high, high + 1e-6]:
        if not -1 <= delta <= 1:
            continue  # differences of pass rates: the interval never leaves [-1, 1]
        g, l_ = _brute_one_sided(diffs, delta)
        kept = g >= 0.025 and l_ >= 0.025
        assert kept == (low <= delta <= high), delta
    assert (got.p_value < 0.05) == (not low <= 0 <= high)


def test_sign_flip_needs_six_scenarios() -> None:
    assert stats.min_scenarios() == 6
    assert stats.min_scenarios(two_sided=False) == 5
    # Five scenarios all better by a lot: the smallest p is 2^-4, no verdict possible.
    assert stats.sign_flip([0.9] * 5).p_value == pytest.approx(2**-4)
    assert stats.sign_flip([0.9] * 6).p_value == pytest.approx(2**-5)


def test_sign_flip_sampled_above_the_exact_limit() -> None:
    diffs = [0.1 * ((i % 5) - 1) for i in range(20)]
    got = stats.sign_flip(diffs)
    assert got == stats.sign_flip(diffs)  # seeded
    want = float(sp.ttest_1samp(diffs, 0.0).pvalue)
    assert got.p_value == pytest.approx(want, abs=0.02)


def test_tost_matches_two_one_sided_scipy_tests() -> None:
    diffs = [0.0, 0.02, -0.03, 0.01, 0.0, 0.01, -0.02]
    margin = 0.1
    got = stats.tost(diffs, margin, "paired t")
    above = sp.ttest_1samp(diffs, -margin, alternative="greater").pvalue
    below = sp.ttest_1samp(diffs, margin, alternative="less").pvalue
    assert got.p_value == pytest.approx(max(float(above), float(below)), abs=1e-9)
    assert got.equivalent()
    flip = stats.tost(diffs, margin)
    assert flip.p_value == pytest.approx(2**-7)  # every subset mean inside the margin
    assert flip.equivalent()
    # A consistent +20 points is not within +-10.
    assert not stats.tost([0.2, 0.25, 0.15, 0.2, 0.2, 0.3], margin).equivalent()
    assert not stats.tost([0.2, 0.25, 0.15, 0.2, 0.2, 0.3], margin, "paired t").equivalent()


def test_variance_split_and_advice() -> None:
    # Each scenario's lanes agree in rate but scenarios swing hard: between dominates.
    swings = [(0, 5, 5), (5, 0, 5), (0, 5, 5), (5, 0, 5), (1, 4, 5), (4, 1, 5)]
    split = stats.variance_split(swings)
    assert split.between_dominates
    assert stats.advise(split, 0.2).add == "scenarios"
    assert stats.advise(split, 0.2).trials_needed is None
    # Same rates everywhere, only binomial noise: trials help.
    flat = [(2, 3, 5)] * 6
    split = stats.variance_split(flat)
    assert split.between == 0.0
    assert split.within == pytest.approx((0.24 + 0.24) * 5 / 4)
    advice = stats.advise(split, 0.2)
    assert advice.add == "trials"
    assert advice.trials_needed is not None
    # At the advised trials the formula's power is reached: m >= k^2 (w / n) / effect^2.
    k = stats.t_ppf(0.975, 5) + stats.t_ppf(0.8, 5)
    assert k * k * split.within / advice.trials_needed / 0.04 <= 6


def test_scenarios_needed_matches_noncentral_t_power() -> None:
    # The formula's m, checked against the exact power of the one-sample t-test (scipy's
    # noncentral t): at m the power is close to 80%, and m grows with the variance.
    between, within, trials, effect = 0.04, 0.4, 5.0, 0.1
    m = stats.scenarios_needed(between, within, trials, effect)
    sd = math.sqrt(between + within / trials)
    crit = sp.t.ppf(0.975, m - 1)
    power = 1 - sp.nct.cdf(crit, m - 1, effect / sd * math.sqrt(m))
    assert 0.78 <= power <= 0.83
    assert stats.scenarios_needed(between * 2, within, trials, effect) > m


def test_variance_split_recovers_known_components() -> None:
    # Lane A passes half the time; the skill moves a scenario by +20 or -20 points, so the
    # true between variance is 0.04 and one trial pair's variance 0.25 + 0.21 = 0.46.
    rng = random.Random(3)
    betweens, withins = [], []
    for _ in range(400):
        lanes = []
        for j in range(8):
            p_b = 0.7 if j % 2 else 0.3
            a = sum(rng.random() < 0.5 for _ in range(10))
            b = sum(rng.random() < p_b for _ in range(10))
            lanes.append((a, b, 10))
        split = stats.variance_split(lanes)
        betweens.append(split.between)
        withins.append(split.within)
    assert sum(withins) / len(withins) == pytest.approx(0.46, abs=0.01)
    # Floored at 0 per study, so the mean sits a little above the truth, not below it.
    assert 0.035 <= sum(betweens) / len(betweens) <= 0.05
