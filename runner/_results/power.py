"""Planning: what the variance of the mean scenario difference is made of (between scenarios,
within a scenario's trials), and how many scenarios or trials would reach the power to detect
an effect. ``ab`` gives this advice when its verdict is inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist

from runner._results.distributions import t_ppf
from runner._results.scenario_tests import MIN_SCENARIOS, mean_sd


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
    _, sd = mean_sd(diffs)
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
