"""The distribution functions runner's tests need, without scipy: the normal quantile, the
binomial distribution function, the incomplete beta and Student's t.

Each names its source; ``tests/test_stats.py`` and ``tests/test_stats_scenarios.py`` check them
against the textbook and scipy.
"""

from __future__ import annotations

import functools
import math
from statistics import NormalDist

Bounds = tuple[float, float]  # an interval, (low, high): what every interval function returns


def z_of(confidence: float) -> float:
    """The two-sided normal quantile: 1.96 for 0.95."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


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


def binom_cdf(k: int, n: int, p: float) -> float:
    """P(X <= k) for X binomial with n trials of probability p."""
    return min(1.0, sum(_binom_pmf(i, n, p) for i in range(k + 1)))


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
