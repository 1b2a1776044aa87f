"""The statistics behind an A/B verdict: intervals, an exact paired test, power, a bootstrap.

Pure functions on counts and numbers (``ab`` applies them to runs). Each names its source, so
a reader can check it against the textbook; ``tests/test_stats.py`` does.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

Bounds = tuple[float, float]

# Up to about this many pairs the exact power's zigzag in n can cross the target more than
# once, so pairs_needed walks pair by pair; above, it bisects (each power costs O(sqrt n)).
EXACT_SCAN_LIMIT = 2000


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
    z = z_of(confidence)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # Exact at the ends: 0 of n has no lower bound above 0, n of n none below 1.
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return (low, high)


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


def connor_pairs(p_a_only: float, p_b_only: float, alpha: float, power: float) -> float:
    """Pairs for McNemar's test to detect these discordant rates, by the normal approximation
    (Connor 1987, Biometrics 43:207). Infinite when the rates are equal."""
    delta = p_b_only - p_a_only
    if delta == 0:
        return math.inf
    psi = p_a_only + p_b_only
    z_a, z_b = z_of(1 - alpha), NormalDist().inv_cdf(power)
    return (z_a * math.sqrt(psi) + z_b * math.sqrt(psi - delta * delta)) ** 2 / (delta * delta)


class _ExactPower:
    """Power of the exact McNemar test at level alpha when a pair is discordant towards A with
    probability p_a_only and towards B with p_b_only, for any number of pairs.

    The test conditions on d discordant pairs; it rejects for the tails of Binomial(d, 1/2)
    whose two-sided p-value is below alpha. So the power over n pairs is the sum over d of
    P(d discordant) x P(the split lands in those tails).

    P(reject | d) is tabled for d = 0, 1, 2, ... one step each: the rejection bound k never
    falls and rises by at most 1 per step, and a binomial CDF at k moves from d to d + 1 by
    one term (P(X' <= k) = P(X <= k) - p P(X = k)). The sum over d skips the terms of
    Binomial(n, psi) more than 12 sd from its mean (under 1e-30 of the whole), so one power
    costs O(sqrt n) once tabled, and the search for n stays exact at any size."""

    def __init__(self, p_a_only: float, p_b_only: float, alpha: float) -> None:
        self.psi = p_a_only + p_b_only
        self.q = p_b_only / self.psi if self.psi else 0.5
        self.alpha = alpha
        self._reject: list[float] = []  # by d: P(reject | d discordant pairs)
        # At d = len(_reject): the bound k (-1: no split rejects), and P(X <= k) for X
        # ~ Binomial(d, p) at p = 1/2 (the null), q (B's count) and 1 - q (A's count).
        self._k = -1
        self._null = self._b_low = self._a_low = 0.0

    def _rejection(self, d: int) -> float:
        q = self.q
        while len(self._reject) <= d:
            m = len(self._reject)
            while 2 * (self._null + _binom_pmf(self._k + 1, m, 0.5)) < self.alpha:
                self._k += 1
                self._null += _binom_pmf(self._k, m, 0.5)
                self._b_low += _binom_pmf(self._k, m, q)
                self._a_low += _binom_pmf(self._k, m, 1 - q)
            k = self._k
            if k < 0:
                self._reject.append(0.0)
                continue
            # Rejects when B's count or A's count is at most k (the tails never overlap).
            self._reject.append(min(1.0, max(0.0, self._b_low) + max(0.0, self._a_low)))
            self._null -= 0.5 * _binom_pmf(k, m, 0.5)
            self._b_low -= q * _binom_pmf(k, m, q)
            self._a_low -= (1 - q) * _binom_pmf(k, m, 1 - q)
        return self._reject[d]

    def __call__(self, pairs: int) -> float:
        mean, sd = pairs * self.psi, math.sqrt(pairs * self.psi * (1 - self.psi))
        first = max(0, math.floor(mean - 12 * sd) - 1)
        last = min(pairs, math.ceil(mean + 12 * sd) + 1)
        self._rejection(last)
        return sum(_binom_pmf(d, pairs, self.psi) * self._reject[d] for d in range(first, last + 1))


def mcnemar_power(pairs: int, p_a_only: float, p_b_only: float, alpha: float = 0.05) -> float:
    """Exact power of ``mcnemar_exact`` (p < alpha) over ``pairs`` independent pairs."""
    return _ExactPower(p_a_only, p_b_only, alpha)(pairs)


def pairs_needed(
    p_a_only: float, p_b_only: float, alpha: float = 0.05, power: float = 0.8
) -> int | None:
    """The fewest pairs at which the exact McNemar test detects these discordant rates with
    the given power; None when the rates are equal (no effect to detect).

    Always the exact power's answer (n has the power, n - 1 has not), never Connor's
    figure, which runs low (by 32-42 pairs near 1,000). Up to EXACT_SCAN_LIMIT pairs it walks
    pair by pair from below, so the first n wins where the exact power zigzags; above, it
    brackets and bisects, where the zigzag is far smaller than a pair's step."""
    approx = connor_pairs(p_a_only, p_b_only, alpha, power)
    if math.isinf(approx):
        return None
    exact = _ExactPower(p_a_only, p_b_only, alpha)
    low = max(0, int(approx) // 2)  # Connor's figure is low, never double
    while low and exact(low) >= power:
        low //= 2
    if approx <= EXACT_SCAN_LIMIT:
        n = low + 1
        while exact(n) < power:
            n += 1
        return n
    # Bisection keeps exact(low) < power <= exact(high) until they are one pair apart.
    high = max(low + 1, math.ceil(approx))
    while exact(high) < power:
        low, high = high, 2 * high
    while high - low > 1:
        mid = (low + high) // 2
        if exact(mid) >= power:
            high = mid
        else:
            low = mid
    return high


def bootstrap_mean(
    values: Sequence[float], confidence: float = 0.95, resamples: int = 2000, seed: int = 0
) -> Bounds | None:
    """Percentile bootstrap interval for the mean of ``values`` (Efron and Tibshirani 1993,
    ch. 13). For paired data, pass each pair's difference: resampling pairs keeps each
    pair's two runs together. Seeded, so the same runs print the same interval. None with
    fewer than two values."""
    n = len(values)
    if n < 2:
        return None
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(values, k=n)) / n for _ in range(resamples))
    tail = (1 - confidence) / 2
    low = means[math.floor(tail * resamples)]
    high = means[max(0, math.ceil((1 - tail) * resamples) - 1)]
    return (low, high)


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
