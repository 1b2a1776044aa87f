"""B over A in words: the pass-rate and cost verdicts as the A/B report holds them, each with
the line that says why, and when nothing is decided, whether more scenarios or more trials
would decide.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import replace

from runner._results.ab_report import (
    POWER,
    Advice,
    CostEffect,
    CostVerdict,
    Interval,
    ScenarioEffect,
    Verdict,
)
from runner._results.power import VarianceSplit, advise, variance_split
from runner._results.scenario_tests import (
    MIN_SCENARIOS,
    Direction,
    ScenarioVerdict,
    scenario_verdict,
    smoothed_spread,
)
from runner._util.figures import change, plural, points

VERDICTS: dict[Direction, Verdict] = {
    "higher": "better",
    "lower": "worse",
    "equivalent": "equivalent",
    "inconclusive": "inconclusive",
}
_COST_VERDICTS: dict[Direction, CostVerdict] = {
    "higher": "costs more",
    "lower": "costs less",
    "equivalent": "same cost",
    "inconclusive": "inconclusive",
}


def advice_for(scenarios: list[ScenarioEffect], margin: float, alpha: float) -> Advice | None:
    """Scenarios or trials, from the variance split; with one trial per scenario the split
    cannot be made and all of the observed variance counts as between scenarios."""
    if len(scenarios) < 2:
        return None
    if min(s.pairs for s in scenarios) >= 2:
        split = variance_split([(s.a_passed, s.b_passed, s.pairs) for s in scenarios])
    else:
        spread = statistics.variance(s.diff for s in scenarios)
        split = VarianceSplit(len(scenarios), 1.0, spread, 0.0)
    if split.within == 0:
        # Every run of each scenario agreed: plan with the noise a few trials cannot rule out.
        spreads = [smoothed_spread(s.a_passed, s.b_passed, s.pairs) for s in scenarios]
        split = replace(split, within=sum(spreads) / len(spreads))
    got = advise(split, margin, alpha, POWER)
    return Advice(
        add="scenarios" if got.add == "scenarios" else "trials",
        effect=margin,
        scenarios_needed=got.scenarios_needed,
        trials_needed=got.trials_needed,
        between=split.between,
        within=split.within,
    )


def reason_for(
    decided: ScenarioVerdict,
    diffs: list[float],
    margin: float,
    alpha: float,
    advice: Advice | None,
) -> str:
    """The verdict in one line a skill author can act on."""
    m = len(diffs)
    if m == 0:
        return "no scenario and trial ran in both lanes"
    test = decided.test
    if test is None:
        need = f"at least {MIN_SCENARIOS}"
        if advice is not None:
            need += f"; about {advice.scenarios_needed} would detect {_pp(margin, sign=False)}"
        return f"{plural(m, 'scenario')}: a verdict about tasks like these needs {need}"
    level = interval_level(alpha)
    low, high = test.interval
    shown = (
        f"{_pp(test.mean)} pass rate on every one of {plural(m, 'scenario')}"
        if low == high
        else f"{_pp(test.mean)} pass rate ({level} CI {points(low)} to {points(high)}) "
        f"across {plural(m, 'scenario')}"
    )
    within = f"±{_pp(margin, sign=False)}"
    if decided.direction in ("higher", "lower"):
        tail = f", but by less than {within}" if -margin < low and high < margin else ""
        return f"{shown}{_p(test.p_value)}{tail}"
    if decided.direction == "equivalent":
        assert decided.equivalence is not None
        return f"{shown}: within {within} (TOST p = {decided.equivalence.p_value:.2g})"
    why = f"{shown}: neither a difference nor a match within {within} is shown"
    if advice is None:
        return why
    size = _pp(margin, sign=False)
    if advice.add == "trials" and advice.trials_needed is not None:
        trials = plural(advice.trials_needed, "trial")
        return f"{why}; about {trials} per scenario would detect {size}"
    # advise adds scenarios when the between term dominates, or is alone too big for trials.
    because = (
        "the spread between scenarios alone is too large"
        if advice.trials_needed is None
        else "most of the spread is between scenarios"
    )
    scenarios = f"about {plural(advice.scenarios_needed, 'scenario')} would detect {size}"
    return f"{why}; {scenarios}, not more trials: {because}"


def interval_level(alpha: float) -> str:
    """The confidence of an interval at level alpha: "95%", or "99.93%" at an early look."""
    return f"{1 - alpha:.0%}" if round(alpha, 2) == alpha else f"{100 * (1 - alpha):.2f}%"


def _p(p_value: float) -> str:
    return ", p < 0.001" if p_value < 0.001 else f", p = {p_value:.2g}"


def _pp(diff: float, *, sign: bool = True) -> str:
    """A difference in pass rate, in percentage points."""
    return f"{points(diff)} points" if sign else f"{diff * 100:.0f} points"


def cost_effect(logs: list[float], margin: float, alpha: float) -> CostEffect:
    """Cost per run, scenario by scenario: log(mean B / mean A) over the pairs where both
    costs are known and positive (``logs``), tested like the pass rate on the log scale."""
    decided = cost_verdict(logs, margin, alpha)
    test = decided.test
    verdict = _COST_VERDICTS[decided.direction]
    if test is None:
        return CostEffect(
            verdict=verdict,
            scenarios=len(logs),
            ratio=math.exp(sum(logs) / len(logs)) if logs else None,
            ci=None,
            p_value=None,
            margin=margin,
            reason=f"{plural(len(logs), 'scenario')} with a known cost in both lanes: a verdict "
            f"needs at least {MIN_SCENARIOS}",
        )
    ratio, low, high = (math.exp(v) for v in (test.mean, *test.interval))
    shown = (
        f"{change(ratio)} per run ({interval_level(alpha)} CI {change(low)} to {change(high)}) "
        f"across {plural(len(logs), 'scenario')}"
    )
    # +-margin on the log scale: from 1 / (1 + margin) to 1 + margin, -9% to +10% at 10%.
    within = f"{change(1 / (1 + margin))} to {change(1 + margin)}"
    tails = {
        "costs more": _p(test.p_value),
        "costs less": _p(test.p_value),
        "same cost": f": within {within}",
        "inconclusive": f": neither a difference nor a match within {within} is shown",
    }
    return CostEffect(
        verdict=verdict,
        scenarios=len(logs),
        ratio=ratio,
        ci=Interval(low=low, high=high),
        p_value=test.p_value,
        margin=margin,
        reason=shown + tails[verdict],
    )


def cost_verdict(logs: Sequence[float], margin: float, alpha: float) -> ScenarioVerdict:
    """The scenario verdict on log cost ratios: within +-margin (relative) is within
    +-log(1 + margin) on the log scale, so "same cost" runs from 1 / (1 + margin) to 1 + margin."""
    return scenario_verdict(logs, math.log1p(margin), alpha)
