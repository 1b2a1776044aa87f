"""The statistics of runner._results (distributions, scenario_tests, power, rates.clustered_rate,
sequential.spending) against scipy and against brute-force enumeration."""

from __future__ import annotations

import itertools
import math
import random

import pytest
from scipy import special
from scipy import stats as sp

from runner._results.distributions import betainc, t_cdf, t_ppf, z_of
from runner._results.power import advise, scenarios_needed, variance_split
from runner._results.rates import clustered_rate, wilson, wilson_at
from runner._results.scenario_tests import (
    MIN_SCENARIOS,
    min_scenarios,
    paired_t,
    scenario_verdict,
    sign_flip,
    tost,
)
from runner._results.sequential import spending

DF = [1, 2, 3, 4, 5, 9, 29, 100, 1000]
T = [-40.0, -6.0, -2.5, -1.0, -0.1, 0.0, 0.3, 1.7, 2.2, 4.0, 12.0]


@pytest.mark.parametrize("df", DF)
def test_t_cdf_and_quantile_match_scipy(df: int) -> None:
    for t in T:
        assert t_cdf(t, df) == pytest.approx(float(sp.t.cdf(t, df)), abs=1e-9)
    for p in (0.001, 0.025, 0.1, 0.5, 0.8, 0.95, 0.975, 0.999):
        want = float(sp.t.ppf(p, df))
        assert t_ppf(p, df) == pytest.approx(want, abs=1e-9, rel=1e-9)


def test_betainc_matches_scipy() -> None:
    for a, b, x in [(0.5, 0.5, 0.3), (2.0, 5.0, 0.2), (10.0, 0.5, 0.97), (50.0, 40.0, 0.6)]:
        assert betainc(a, b, x) == pytest.approx(float(special.betainc(a, b, x)), abs=1e-12)


DIFFS = [
    [0.2, 0.4, -0.1, 0.3, 0.0, 0.5, 0.1],
    [0.1, -0.2, 0.3, -0.1, 0.0, 0.2],
    [1.0, 0.8, 0.6, 0.9, 0.7],
    [-0.3, -0.5, 0.1, -0.2, -0.4, -0.6, 0.0, -0.1],
]


@pytest.mark.parametrize("diffs", DIFFS)
def test_paired_t_matches_scipy(diffs: list[float]) -> None:
    got = paired_t(diffs)
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
    got = sign_flip(diffs)
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
    assert min_scenarios() == 6
    assert min_scenarios(two_sided=False) == 5
    # Five scenarios all better by a lot: the smallest p is 2^-4, no verdict possible.
    assert sign_flip([0.9] * 5).p_value == pytest.approx(2**-4)
    assert sign_flip([0.9] * 6).p_value == pytest.approx(2**-5)


def test_sign_flip_sampled_above_the_exact_limit() -> None:
    diffs = [0.1 * ((i % 5) - 1) for i in range(20)]
    got = sign_flip(diffs)
    assert got == sign_flip(diffs)  # seeded
    want = float(sp.ttest_1samp(diffs, 0.0).pvalue)
    assert got.p_value == pytest.approx(want, abs=0.02)


def test_tost_matches_two_one_sided_scipy_tests() -> None:
    diffs = [0.0, 0.02, -0.03, 0.01, 0.0, 0.01, -0.02]
    margin = 0.1
    got = tost(diffs, margin, "paired t")
    above = sp.ttest_1samp(diffs, -margin, alternative="greater").pvalue
    below = sp.ttest_1samp(diffs, margin, alternative="less").pvalue
    assert got.p_value == pytest.approx(max(float(above), float(below)), abs=1e-9)
    assert got.equivalent()
    flip = tost(diffs, margin)
    assert flip.p_value == pytest.approx(2**-7)  # every subset mean inside the margin
    assert flip.equivalent()
    # A consistent +20 points is not within +-10.
    assert not tost([0.2, 0.25, 0.15, 0.2, 0.2, 0.3], margin).equivalent()
    assert not tost([0.2, 0.25, 0.15, 0.2, 0.2, 0.3], margin, "paired t").equivalent()


def test_variance_split_and_advice() -> None:
    # Each scenario's lanes agree in rate but scenarios swing hard: between dominates.
    swings = [(0, 5, 5), (5, 0, 5), (0, 5, 5), (5, 0, 5), (1, 4, 5), (4, 1, 5)]
    split = variance_split(swings)
    assert split.between_dominates
    assert advise(split, 0.2).add == "scenarios"
    assert advise(split, 0.2).trials_needed is None
    # Same rates everywhere, only binomial noise: trials help.
    flat = [(2, 3, 5)] * 6
    split = variance_split(flat)
    assert split.between == 0.0
    assert split.within == pytest.approx((0.24 + 0.24) * 5 / 4)
    advice = advise(split, 0.2)
    assert advice.add == "trials"
    assert advice.trials_needed is not None
    # At the advised trials the formula's power is reached: m >= k^2 (w / n) / effect^2.
    k = t_ppf(0.975, 5) + t_ppf(0.8, 5)
    assert k * k * split.within / advice.trials_needed / 0.04 <= 6


def test_scenarios_needed_matches_noncentral_t_power() -> None:
    # The formula's m, checked against the exact power of the one-sample t-test (scipy's
    # noncentral t): at m the power is close to 80%, and m grows with the variance.
    between, within, trials, effect = 0.04, 0.4, 5.0, 0.1
    m = scenarios_needed(between, within, trials, effect)
    sd = math.sqrt(between + within / trials)
    crit = sp.t.ppf(0.975, m - 1)
    power = 1 - sp.nct.cdf(crit, m - 1, effect / sd * math.sqrt(m))
    assert 0.78 <= power <= 0.83
    assert scenarios_needed(between * 2, within, trials, effect) > m


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
        split = variance_split(lanes)
        betweens.append(split.between)
        withins.append(split.within)
    assert sum(withins) / len(withins) == pytest.approx(0.46, abs=0.01)
    # Floored at 0 per study, so the mean sits a little above the truth, not below it.
    assert 0.035 <= sum(betweens) / len(betweens) <= 0.05


# --- The verdict, the lane interval and the sequential levels (issue 15) --------------------


def _scipy_verdict(diffs: list[float], margin: float, alpha: float) -> str:
    """The verdict rebuilt from scipy: the two-sided t-test, then TOST at +-margin."""
    test = sp.ttest_1samp(diffs, 0.0)
    if test.pvalue < alpha:
        return "higher" if test.statistic > 0 else "lower"
    above = sp.ttest_1samp(diffs, -margin, alternative="greater").pvalue
    below = sp.ttest_1samp(diffs, margin, alternative="less").pvalue
    return "equivalent" if max(above, below) < alpha else "inconclusive"


VERDICT_CASES = [
    ([0.7, 0.7, 0.8, 0.6, 0.5, 0.6], 0.1, "higher"),
    ([-0.2, -0.3, -0.1, -0.25, -0.2], 0.1, "lower"),
    ([0.0, 0.05, -0.05, 0.0, 0.05, -0.05, 0.0, 0.0], 0.1, "equivalent"),
    ([0.8, 0.9, -0.7, -0.9, 0.1], 0.1, "inconclusive"),
    ([0.05, 0.0, 0.1, -0.05, 0.05], 0.02, "inconclusive"),
    ([0.25, 0.5, 0.0], 0.1, "inconclusive"),  # three scenarios: the least with a verdict
]


@pytest.mark.parametrize(("diffs", "margin", "direction"), VERDICT_CASES)
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_scenario_verdict_matches_scipy(
    diffs: list[float], margin: float, direction: str, alpha: float
) -> None:
    got = scenario_verdict(diffs, margin, alpha)
    assert got.direction == _scipy_verdict(diffs, margin, alpha)
    if alpha == 0.05:
        assert got.direction == direction
    assert got.test is not None
    want = sp.ttest_1samp(diffs, 0.0)
    assert got.test.p_value == pytest.approx(float(want.pvalue), abs=1e-9)
    low, high = want.confidence_interval(1 - alpha)
    assert got.test.interval == pytest.approx((float(low), float(high)), abs=1e-9)
    # The interval at 1 - alpha leaves out 0 exactly when the test rejects at alpha.
    assert (got.direction in ("higher", "lower")) == (not low <= 0 <= high)
    if got.equivalence is not None:
        above = sp.ttest_1samp(diffs, -margin, alternative="greater").pvalue
        below = sp.ttest_1samp(diffs, margin, alternative="less").pvalue
        assert got.equivalence.p_value == pytest.approx(max(above, below), abs=1e-9)


def test_scenario_verdict_below_the_least_scenarios_and_without_spread() -> None:
    for few in ([], [0.9], [0.9] * (MIN_SCENARIOS - 1)):
        got = scenario_verdict(few, 0.1)
        assert (got.direction, got.test, got.equivalence) == ("inconclusive", None, None)
    # Every scenario moved alike: scipy has no spread to divide by; runner decides.
    assert scenario_verdict([0.5] * 4, 0.1).direction == "higher"
    assert scenario_verdict([-0.5] * 4, 0.1).direction == "lower"
    same = scenario_verdict([0.0] * 4, 0.1)
    assert same.direction == "equivalent"
    assert same.test is not None
    assert same.test.p_value == 1.0
    assert scenario_verdict([0.2] * 4, 0.3).direction == "higher"  # real, inside


def test_scenario_verdict_false_positives_hold_at_alpha() -> None:
    # No effect on average, scenarios differing widely: the t-test's size is alpha whatever
    # the spread, because the spread is what it tests against.
    rng = random.Random(11)
    rounds, wrong = 4000, 0
    for _ in range(rounds):
        diffs = [rng.gauss(0.0, rng.choice([0.05, 0.3])) for _ in range(5)]
        wrong += scenario_verdict(diffs, 0.1).direction in ("higher", "lower")
    assert wrong / rounds <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / rounds)


def _obrien_fleming(t: float, alpha: float) -> float:
    """Lan and DeMets' (1983) O'Brien-Fleming-type spending function, by scipy."""
    return float(2 - 2 * sp.norm.cdf(sp.norm.ppf(1 - alpha / 2) / math.sqrt(t)))


@pytest.mark.parametrize(
    "fractions", [[1.0], [0.5, 1.0], [0.25, 0.5, 0.75, 1.0], [0.2, 0.7, 1.0], [1 / 3, 2 / 3, 1.0]]
)
@pytest.mark.parametrize("alpha", [0.05, 0.01])
def test_spending_is_lan_demets_obrien_fleming(fractions: list[float], alpha: float) -> None:
    got = spending(fractions, alpha)
    assert len(got) == len(fractions)
    assert sum(got) == pytest.approx(alpha, abs=1e-15)
    spent = 0.0
    for share, t in zip(got, fractions, strict=True):
        spent += share
        assert spent == pytest.approx(_obrien_fleming(t, alpha), abs=1e-12)
        assert share > 0
    # Early looks get little: at half the study, under an eighth of the whole.
    if fractions[0] <= 0.5:
        assert got[0] < alpha / 8


def test_spending_at_half_the_study() -> None:
    # 2 - 2 Phi(1.959964 / sqrt(0.5)) = 2 - 2 Phi(2.771808): the first of two looks.
    first, last = spending([0.5, 1.0])
    assert first == pytest.approx(0.0055746, abs=1e-7)
    assert last == pytest.approx(0.05 - first)


@pytest.mark.parametrize("fractions", [[], [0.5], [0.5, 0.5, 1.0], [0.7, 0.3, 1.0], [0.0, 1.0]])
def test_spending_refuses_looks_that_do_not_increase_to_one(fractions: list[float]) -> None:
    with pytest.raises(ValueError, match="must increase to 1"):
        spending(fractions)


CLUSTERS = [
    [(5, 5), (0, 5), (5, 5), (0, 5), (3, 5)],
    [(9, 10), (1, 10), (6, 10)],
    [(2, 4), (4, 4), (0, 4), (1, 4), (3, 4), (4, 4)],
    [(19, 20), (17, 20), (2, 20), (20, 20)],
]


@pytest.mark.parametrize("counts", CLUSTERS)
def test_clustered_rate_is_wider_than_wilson_when_scenarios_differ(
    counts: list[tuple[int, int]],
) -> None:
    k, n = sum(c for c, _ in counts), sum(t for _, t in counts)
    low, high = clustered_rate(counts)
    plain = wilson(k, n)
    assert 0.0 <= low < k / n < high <= 1.0
    assert high - low > plain[1] - plain[0]
    assert low <= plain[0]
    assert high >= plain[1]


def test_clustered_rate_at_one_scenario_and_at_the_ends() -> None:
    for k, n in [(0, 5), (3, 7), (10, 10), (1, 1)]:
        assert clustered_rate([(k, n)]) == pytest.approx(wilson(k, n))
    assert clustered_rate([]) == (0.0, 1.0)
    # Every run passed (or failed): no spread shows, the interval touches its end.
    assert clustered_rate([(4, 4)] * 5)[1] == 1.0
    assert clustered_rate([(0, 4)] * 5)[0] == 0.0
    assert 0.0 < clustered_rate([(4, 4)] * 5)[0] < 1.0
    # The same rate in every scenario: no design effect, only the few-scenarios shrink.
    even = clustered_rate([(2, 4)] * 5)
    z, t = z_of(0.95), t_ppf(0.975, 4)
    assert even == pytest.approx(wilson_at(0.5, 20 * (z / t) ** 2))


def test_clustered_rate_covers_the_mean_over_scenarios() -> None:
    # Scenario rates drawn around 0.6 (logit sd 1.5): the interval holds the population's
    # mean rate about 95% of the time at 5 scenarios x 6 trials, where plain Wilson does not.
    rng = random.Random(5)
    truth = sum(1 / (1 + math.exp(-(0.4 + 1.5 * rng.gauss(0, 1)))) for _ in range(200000)) / 200000
    rounds, clustered, plain = 1500, 0, 0
    for _ in range(rounds):
        counts = []
        for _ in range(5):
            p = 1 / (1 + math.exp(-(0.4 + 1.5 * rng.gauss(0, 1))))
            counts.append((sum(rng.random() < p for _ in range(6)), 6))
        low, high = clustered_rate(counts)
        clustered += low <= truth <= high
        k = sum(c for c, _ in counts)
        w = wilson(k, 30)
        plain += w[0] <= truth <= w[1]
    assert clustered / rounds >= 0.92
    assert plain / rounds < 0.85


def test_scenarios_needed_starts_from_the_normal_answer_and_stays_exact() -> None:
    # Counting up from the least scenarios, one t quantile per step: the reference.
    def scan(variance: float, effect: float, alpha: float = 0.05, power: float = 0.8) -> int:
        m = MIN_SCENARIOS  # the function's floor: the paired t-test's least
        while True:
            k = sp.t.ppf(1 - alpha / 2, m - 1) + sp.t.ppf(power, m - 1)
            if m >= k * k * variance / effect**2:
                return m
            m += 1

    for between, within, trials, effect in [
        (0.0, 0.4, 5, 0.2),
        (0.04, 0.4, 5.0, 0.1),
        (0.3, 0.5, 2, 0.1),
        (0.2, 0.0, 1, 0.05),
    ]:
        want = scan(between + within / trials, effect)
        assert scenarios_needed(between, within, trials, effect) == want
    # A tiny effect against a wide spread answers at once, not after 100,000 steps.
    assert scenarios_needed(0.3, 0.5, 10, 0.005) > 90000


@pytest.mark.parametrize("m", [3, 4, 5])
def test_advise_trials_from_the_least_scenarios_a_verdict_needs(m: int) -> None:
    flat = variance_split([(2, 3, 5), (2, 2, 5), (2, 1, 5), (2, 3, 5), (2, 2, 5)][:m])
    advice = advise(flat, 0.3)
    assert advice.add == "trials"
    assert advice.trials_needed is not None
    k = t_ppf(0.975, m - 1) + t_ppf(0.8, m - 1)
    assert k * k * (flat.between + flat.within / advice.trials_needed) / 0.09 <= m
