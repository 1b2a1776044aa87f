"""Sequential looks of ``ab --until-decided``: the trials per scenario at each look and the
level each look tests at, by alpha spending, so that stopping at the first decisive look keeps
the chance of any false verdict at most alpha.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from itertools import pairwise
from statistics import NormalDist

from runner._results.ab_report import ALPHA


def sequential_looks(round_trials: int, max_trials: int) -> list[int]:
    """The trials per scenario at each look of ``ab --until-decided``: rounds of
    round_trials, the last cut at max_trials."""
    return [*range(round_trials, max_trials, round_trials), max_trials]


def look_levels(looks: Sequence[int], alpha: float = ALPHA) -> list[float]:
    """The level each look tests at: alpha for a single look; else each look's share of
    alpha by its fraction of the last look's trials (spending)."""
    if len(looks) == 1:
        return [alpha]
    return spending([t / looks[-1] for t in looks], alpha)


def spending(fractions: Sequence[float], alpha: float = 0.05) -> list[float]:
    """The level each look may test at, for a study that stops at its first decisive look,
    given each look's share of the largest study (increasing, the last 1): the increments of
    the O'Brien-Fleming-type spending function alpha(t) = 2 - 2 Phi(z(1 - alpha/2) / sqrt(t))
    (Lan and DeMets 1983, Biometrika 70:659). They sum to alpha, so by the union bound the
    chance of any false verdict over all looks is at most alpha, however the looks correlate;
    early looks get little of it."""
    steps = [0.0, *fractions]
    if not fractions or fractions[-1] != 1.0 or any(a >= b for a, b in pairwise(steps)):
        raise ValueError(f"fractions {list(fractions)} must increase to 1")
    z = NormalDist().inv_cdf(1 - alpha / 2)
    spent = [0.0, *(2.0 - 2.0 * NormalDist().cdf(z / math.sqrt(f)) for f in fractions[:-1]), alpha]
    return [spent[k] - spent[k - 1] for k in range(1, len(spent))]
