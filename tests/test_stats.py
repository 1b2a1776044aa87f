"""runner.stats against textbook values, and against simulation where a book gives none."""

from __future__ import annotations

import math
import random

import pytest

from runner import stats
from runner.stats import PairedTable

# Newcombe (1998), "Two-sided confidence intervals for the single proportion", Stat Med
# 17:857, Table II, method 3 (Wilson score): x/n -> (lower, upper).
NEWCOMBE_WILSON = [
    (81, 263, 0.2553, 0.3662),
    (15, 148, 0.0624, 0.1605),
    (0, 20, 0.0, 0.1611),
    (1, 29, 0.0061, 0.1718),
]


@pytest.mark.parametrize(("x", "n", "low", "high"), NEWCOMBE_WILSON)
def test_wilson_matches_newcombe_table(x: int, n: int, low: float, high: float) -> None:
    got = stats.wilson(x, n)
    assert got[0] == pytest.approx(low, abs=5e-5)
    assert got[1] == pytest.approx(high, abs=5e-5)


def test_wilson_ends_and_nothing() -> None:
    assert stats.wilson(0, 5)[0] == 0.0
    assert stats.wilson(5, 5)[1] == 1.0
    assert stats.wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="outside"):
        stats.wilson(6, 5)


# Fagerland, Lydersen and Laake, "Statistical Analysis of Contingency Tables" (2017), ch. 8,
# and their R package contingencytables: complete response before and after consolidation
# therapy (Cavo et al. 2012), rows = before (A), columns = after (B).
CAVO = PairedTable(both=59, a_only=6, b_only=16, neither=80)


def test_mcnemar_exact_matches_fagerland() -> None:
    # "The McNemar exact conditional test: P = 0.052479"
    assert stats.mcnemar_exact(CAVO.a_only, CAVO.b_only) == pytest.approx(0.052479, abs=5e-7)
    # Airway hyper-responsiveness (Bentur et al. 2009), Fagerland et al. (2013) BMC Med Res
    # Methodol 13:91: exact conditional p = 0.070.
    assert stats.mcnemar_exact(1, 7) == pytest.approx(0.0703, abs=5e-5)
    assert stats.mcnemar_exact(7, 1) == stats.mcnemar_exact(1, 7)
    assert stats.mcnemar_exact(0, 0) == 1.0
    assert stats.mcnemar_exact(3, 3) == 1.0


def test_newcombe_paired_interval_matches_fagerland() -> None:
    # The book gives A - B = -0.0621 (95% CI -0.1186 to -0.0046); runner reports B - A.
    assert CAVO.diff == pytest.approx(0.0621, abs=5e-5)
    low, high = stats.newcombe_paired(CAVO)
    assert low == pytest.approx(0.0046, abs=5e-5)
    assert high == pytest.approx(0.1186, abs=5e-5)


def test_newcombe_paired_covers_the_true_difference() -> None:
    """Over many simulated experiments with known cell probabilities, the 95% interval holds
    the true difference about 95% of the time (Newcombe's method is near nominal)."""
    rng = random.Random(7)
    cells = [0.5, 0.1, 0.25, 0.15]  # both, a_only, b_only, neither
    truth = cells[2] - cells[1]
    covered, rounds = 0, 3000
    for _ in range(rounds):
        counts = [0, 0, 0, 0]
        for i in rng.choices(range(4), weights=cells, k=40):
            counts[i] += 1
        low, high = stats.newcombe_paired(PairedTable(*counts))
        covered += low <= truth <= high
    assert 0.93 <= covered / rounds <= 0.98


def test_newcombe_paired_stays_in_range_at_the_extremes() -> None:
    low, high = stats.newcombe_paired(PairedTable(both=0, a_only=0, b_only=6, neither=0))
    assert -1.0 <= low < 1.0
    assert high == 1.0
    low, high = stats.newcombe_paired(PairedTable(both=10, a_only=0, b_only=0, neither=0))
    assert low < 0.0 < high  # ten agreements do not prove the lanes equal


def test_pass_at_k_and_pass_hat_k() -> None:
    # Chen et al. (2021): pass@k = 1 - C(n-c, k) / C(n, k); pass@1 is c/n.
    assert stats.pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert stats.pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)
    assert stats.pass_at_k(10, 8, 3) == 1.0  # fewer than k failures: some sample passes
    assert stats.pass_at_k(5, 0, 5) == 0.0
    # Yao et al. (2024): pass^k = C(c, k) / C(n, k).
    assert stats.pass_hat_k(10, 3, 2) == pytest.approx(3 / 45)
    assert stats.pass_hat_k(10, 3, 4) == 0.0
    assert stats.pass_hat_k(4, 4, 4) == 1.0
    with pytest.raises(ValueError, match="k <= n"):
        stats.pass_at_k(3, 1, 4)


def test_connor_sample_size_by_hand() -> None:
    # (z_.975 sqrt(psi) + z_.8 sqrt(psi - delta^2))^2 / delta^2 with psi = delta = 0.1.
    by_hand = (1.959964 * math.sqrt(0.1) + 0.841621 * math.sqrt(0.1 - 0.01)) ** 2 / 0.01
    assert stats.connor_pairs(0.0, 0.1, 0.05, 0.8) == pytest.approx(by_hand, rel=1e-5)
    assert math.isinf(stats.connor_pairs(0.2, 0.2, 0.05, 0.8))


def _simulated_power(pairs: int, p_a: float, p_b: float, rounds: int, seed: int) -> float:
    rng = random.Random(seed)
    hits = 0
    for _ in range(rounds):
        a = b = 0
        for u in (rng.random() for _ in range(pairs)):
            if u < p_a:
                a += 1
            elif u < p_a + p_b:
                b += 1
        hits += stats.mcnemar_exact(a, b) < 0.05
    return hits / rounds


@pytest.mark.parametrize(("pairs", "p_a", "p_b"), [(40, 0.05, 0.25), (78, 0.0, 0.1)])
def test_exact_power_agrees_with_simulation(pairs: int, p_a: float, p_b: float) -> None:
    exact = stats.mcnemar_power(pairs, p_a, p_b)
    assert exact == pytest.approx(_simulated_power(pairs, p_a, p_b, 4000, seed=1), abs=0.025)


def test_pairs_needed_is_the_first_with_enough_power() -> None:
    n = stats.pairs_needed(0.1, 0.3)
    assert n is not None
    assert stats.mcnemar_power(n, 0.1, 0.3) >= 0.8
    assert stats.mcnemar_power(n - 1, 0.1, 0.3) < 0.8
    # The exact test is conservative: it needs at least Connor's approximate count.
    assert n >= stats.connor_pairs(0.1, 0.3, 0.05, 0.8)
    assert stats.pairs_needed(0.2, 0.2) is None


def test_bootstrap_interval_is_seeded_and_covers() -> None:
    values = [0.1, 0.4, 0.35, 0.8, 0.2, 0.5]
    assert stats.bootstrap_mean(values) == stats.bootstrap_mean(values)
    low, high = stats.bootstrap_mean(values) or (0.0, 0.0)
    assert low < sum(values) / len(values) < high
    assert stats.bootstrap_mean([1.0]) is None
    assert stats.bootstrap_mean([2.0, 2.0, 2.0]) == (2.0, 2.0)
    rng = random.Random(3)
    covered, rounds = 0, 300
    for i in range(rounds):
        sample = [rng.gauss(1.0, 2.0) for _ in range(40)]
        bounds = stats.bootstrap_mean(sample, resamples=400, seed=i)
        assert bounds is not None
        covered += bounds[0] <= 1.0 <= bounds[1]
    # The percentile bootstrap runs a little under nominal at n = 40.
    assert 0.90 <= covered / rounds <= 0.99


# --- pairs_needed against a brute-force exact power (issue 15, item 6) -----------------------
# The exact power summed the long way, independent of stats._ExactPower's running tables: each
# d's rejecting splits found with integer binomial coefficients (no rounding at the alpha
# boundary), each term's probability from log-gamma.


def _log_pmf(k: int, n: int, p: float) -> float:
    log_comb = math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)
    return log_comb + k * math.log(p) + (n - k) * math.log1p(-p)


def _brute_power(pairs: int, p_a: float, p_b: float) -> float:
    psi, q = p_a + p_b, p_b / (p_a + p_b)
    total = 0.0
    for d in range(pairs + 1):
        weight = _log_pmf(d, pairs, psi)
        if weight < -100:  # under e^-100 of the whole: nothing a power of 0.8 could feel
            continue
        # The largest j whose two-sided p-value 2 P(X <= j) is below 0.05: 40 sum < 2^d.
        j, coef, tail = -1, 1, 0
        while 40 * (tail + coef) < 2**d:
            j, tail = j + 1, tail + coef
            coef = coef * (d - j) // (j + 1)
        rejecting = [*range(j + 1), *range(d - j, d + 1)] if j >= 0 else []
        total += sum(math.exp(weight + _log_pmf(b, d, q)) for b in rejecting)
    return total


@pytest.mark.parametrize(
    ("p_a", "p_b", "expected"),
    [
        (0.1, 0.3, 84),
        (0.02, 0.12, 114),
        # Connor says 977 and the search used to stop at 1,000 and return 978.
        (0.35, 0.429, 1002),
        # Connor says 1,175: the exact answer lies 44 pairs above.
        (0.1, 0.14, 1219),
    ],
)
def test_pairs_needed_matches_brute_force_exact_power(
    p_a: float, p_b: float, expected: int
) -> None:
    n = stats.pairs_needed(p_a, p_b)
    assert n == expected
    assert _brute_power(n, p_a, p_b) >= 0.8 > _brute_power(n - 1, p_a, p_b)
    assert stats.mcnemar_power(n, p_a, p_b) == pytest.approx(_brute_power(n, p_a, p_b), abs=1e-10)
    # The exact test is conservative: Connor's normal approximation never asks for more.
    assert n >= stats.connor_pairs(p_a, p_b, 0.05, 0.8)


def test_pairs_needed_stays_exact_far_past_a_thousand() -> None:
    # Bisection on the exact power: n has 80% power, n - 1 has not, at 12,000 pairs.
    n = stats.pairs_needed(0.30, 0.32)
    assert n is not None
    assert n > 5 * stats.EXACT_SCAN_LIMIT
    assert stats.mcnemar_power(n, 0.30, 0.32) >= 0.8 > stats.mcnemar_power(n - 1, 0.30, 0.32)
    assert n > stats.connor_pairs(0.30, 0.32, 0.05, 0.8)
