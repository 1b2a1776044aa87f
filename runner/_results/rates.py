"""Pass rates of runs: intervals for a rate (Wilson's, and the scenario-clustered one), pass@k
and pass^k, and the tests of two lanes' rates on counts (McNemar's exact test, Newcombe's
intervals for a difference).

Pure functions on counts, each naming its source, so a reader can check it against the
textbook; ``tests/test_stats.py`` does.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from runner._results.distributions import Bounds, binom_cdf, t_ppf, z_of


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
    return min(1.0, 2.0 * binom_cdf(min(a_only, b_only), d, 0.5))


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
