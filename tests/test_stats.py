"""The rates' intervals and tests (runner._results.rates) against textbook values, and against
simulation where a book gives none."""

from __future__ import annotations

import random

import pytest

from runner._results.rates import (
    PairedTable,
    mcnemar_exact,
    newcombe_diff,
    newcombe_paired,
    pass_at_k,
    pass_hat_k,
    wilson,
)

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
    got = wilson(x, n)
    assert got[0] == pytest.approx(low, abs=5e-5)
    assert got[1] == pytest.approx(high, abs=5e-5)


def test_wilson_ends_and_nothing() -> None:
    assert wilson(0, 5)[0] == 0.0
    assert wilson(5, 5)[1] == 1.0
    assert wilson(0, 0) == (0.0, 1.0)
    with pytest.raises(ValueError, match="outside"):
        wilson(6, 5)


# Fagerland, Lydersen and Laake, "Statistical Analysis of Contingency Tables" (2017), ch. 8,
# and their R package contingencytables: complete response before and after consolidation
# therapy (Cavo et al. 2012), rows = before (A), columns = after (B).
CAVO = PairedTable(both=59, a_only=6, b_only=16, neither=80)


def test_mcnemar_exact_matches_fagerland() -> None:
    # "The McNemar exact conditional test: P = 0.052479"
    assert mcnemar_exact(CAVO.a_only, CAVO.b_only) == pytest.approx(0.052479, abs=5e-7)
    # Airway hyper-responsiveness (Bentur et al. 2009), Fagerland et al. (2013) BMC Med Res
    # Methodol 13:91: exact conditional p = 0.070.
    assert mcnemar_exact(1, 7) == pytest.approx(0.0703, abs=5e-5)
    assert mcnemar_exact(7, 1) == mcnemar_exact(1, 7)
    assert mcnemar_exact(0, 0) == 1.0
    assert mcnemar_exact(3, 3) == 1.0


def test_newcombe_paired_interval_matches_fagerland() -> None:
    # The book gives A - B = -0.0621 (95% CI -0.1186 to -0.0046); runner reports B - A.
    assert CAVO.diff == pytest.approx(0.0621, abs=5e-5)
    low, high = newcombe_paired(CAVO)
    assert low == pytest.approx(0.0046, abs=5e-5)
    assert high == pytest.approx(0.1186, abs=5e-5)


def test_newcombe_diff_matches_newcombe_table() -> None:
    # Newcombe (1998), "Interval estimation for the difference between independent
    # proportions", Stat Med 17:873, Table II, method 10: 56/70 - 48/80 and 9/10 - 3/10.
    assert newcombe_diff(48, 80, 56, 70) == pytest.approx((0.0524, 0.3339), abs=5e-5)
    assert newcombe_diff(3, 10, 9, 10) == pytest.approx((0.1705, 0.8090), abs=5e-5)
    # B - A: swapping the lanes mirrors the interval; no trials say nothing.
    assert newcombe_diff(56, 70, 48, 80) == pytest.approx((-0.3339, -0.0524), abs=5e-5)
    assert newcombe_diff(0, 0, 2, 3) == (-1.0, 1.0)
    assert newcombe_diff(0, 1, 1, 1)[1] == 1.0  # kept inside the -1..1 a difference takes


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
        low, high = newcombe_paired(PairedTable(*counts))
        covered += low <= truth <= high
    assert 0.93 <= covered / rounds <= 0.98


def test_newcombe_paired_stays_in_range_at_the_extremes() -> None:
    low, high = newcombe_paired(PairedTable(both=0, a_only=0, b_only=6, neither=0))
    assert -1.0 <= low < 1.0
    assert high == 1.0
    low, high = newcombe_paired(PairedTable(both=10, a_only=0, b_only=0, neither=0))
    assert low < 0.0 < high  # ten agreements do not prove the lanes equal


def test_pass_at_k_and_pass_hat_k() -> None:
    # Chen et al. (2021): pass@k = 1 - C(n-c, k) / C(n, k); pass@1 is c/n.
    assert pass_at_k(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k(10, 3, 5) == pytest.approx(1 - 21 / 252)
    assert pass_at_k(10, 8, 3) == 1.0  # fewer than k failures: some sample passes
    assert pass_at_k(5, 0, 5) == 0.0
    # Yao et al. (2024): pass^k = C(c, k) / C(n, k).
    assert pass_hat_k(10, 3, 2) == pytest.approx(3 / 45)
    assert pass_hat_k(10, 3, 4) == 0.0
    assert pass_hat_k(4, 4, 4) == 1.0
    with pytest.raises(ValueError, match="k <= n"):
        pass_at_k(3, 1, 4)
