"""A reduced run of scripts/sim_verdicts.py (fixed seed): ab's verdicts keep their false
positives at 5% and its lane intervals their coverage, where the simulation is hardest on them.

Each bound allows for simulation noise: a rate fails only when 5% (or 93% coverage) lies
outside the 99.9% Wilson interval of the observed one."""

from __future__ import annotations

from collections import Counter

import pytest

from tests.script_support import load_script

ROUNDS = 600
SEED = 15
CONFIDENCE = 0.999


sim = load_script("sim_verdicts")


def _run(cell: object) -> Counter[str]:
    return sim.simulate((cell, ROUNDS, SEED))  # type: ignore[no-any-return]


def _at_most_5_percent(count: int) -> bool:
    return not sim.exceeds(count, ROUNDS, 0.05, CONFIDENCE)


def test_pass_rate_verdict_holds_where_pooling_fails() -> None:
    # The worst row: 5 scenarios x 50 trials, the skill's effect varying by scenario
    # with sd 1 logit and averaging 0. "Better" or "worse" is false here.
    null = _run(sim.PassCell(5, 50, 1.0, 0.0))
    assert _at_most_5_percent(null["higher"] + null["lower"])
    # The old pooled McNemar says better/worse a third of the time on the same studies, so
    # the bound above can fail.
    assert null["mcnemar higher"] + null["mcnemar lower"] > 0.25 * ROUNDS


def test_equivalent_is_rarely_said_on_the_margin() -> None:
    # B is exactly 10 points better on average over scenarios: "equivalent within +-10" is
    # false. The most trials per scenario is where TOST says it most.
    shift = sim.shift_for(0.10, 0.5)
    assert sim.true_difference(0.5, shift) == pytest.approx(0.10, abs=1e-9)
    edge = _run(sim.PassCell(5, 50, 0.5, shift))
    assert _at_most_5_percent(edge["equivalent"])
    # And TOST is not vacuous: with no effect it says "equivalent" at times.
    assert _run(sim.PassCell(5, 50, 0.5, 0.0))["equivalent"] > 0


@pytest.mark.parametrize("ratio", [1.0, 1.1, 1 / 1.1])
def test_cost_verdict_false_verdicts(ratio: float) -> None:
    # The typical cost ratio is 1 (then "costs more/less" is false) or exactly on the +-10%
    # margin (then "same cost" is false); 20 scenarios give TOST its best chance.
    t = _run(sim.CostCell(20, 5, 0.1, ratio))
    false = t["higher"] + t["lower"] if ratio == 1.0 else t["equivalent"]
    assert _at_most_5_percent(false)
    assert not sim.falls_short(t["covered"], ROUNDS, 0.93, CONFIDENCE)


def test_sequential_looks_add_no_false_verdicts_and_stop_early_on_a_strong_effect() -> None:
    # ab --until-decided, 10 scenarios, rounds of 5 trials up to 20: four looks.
    null = _run(sim.SequentialCell(10, 5, 20, 1.0, 0.0))
    assert _at_most_5_percent(null["higher"] + null["lower"])
    strong = _run(sim.SequentialCell(10, 5, 20, 0.5, 3.0))
    assert strong["higher"] > 0.9 * ROUNDS
    assert strong["trials"] / ROUNDS < 15  # fewer runs than the fixed design's 20 trials


@pytest.mark.parametrize(("scenarios", "trials"), [(5, 6), (5, 20)])
def test_lane_intervals_cover_the_mean_pass_rate(scenarios: int, trials: int) -> None:
    for shift in (0.0, 1.0):
        t = _run(sim.PassCell(scenarios, trials, 1.0, shift))
        for lane in ("a", "b"):
            assert not sim.falls_short(t[f"lane {lane} covered"], ROUNDS, 0.93, CONFIDENCE)
        assert not sim.falls_short(t["covered"], ROUNDS, 0.93, CONFIDENCE)
        # Wilson's interval over runs, the old one, treats trials of a scenario as
        # independent and misses.
        assert sim.falls_short(t["lane a wilson covered"], ROUNDS, 0.93, CONFIDENCE)
