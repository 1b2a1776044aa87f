"""runner.ab: pairing, per-lane figures and verdicts, from hand-made results."""

from __future__ import annotations

import pytest

from runner import stats
from runner.ab import analyze, effect, lane_stats
from runner.render import render_ab
from runner.results import RunResult
from tests.report_support import suite_of


def run(
    scenario: str,
    lane: str,
    trial: int,
    passed: bool,
    *,
    cost: float | None = 0.01,
    turns: int | None = 3,
    skills: list[str] | None = None,
) -> RunResult:
    return RunResult(
        scenario=scenario,
        lane=lane,
        trial=trial,
        passed=passed,
        exit_reason="success",
        cache_hit=False,
        cache_key="k",
        live=False,
        cost_usd=cost,
        num_turns=turns,
        duration_ms=1000,
        skills_invoked=skills or [],
    )


def lane_of(lane: str, outcomes: dict[str, list[bool]], **kw: object) -> list[RunResult]:
    return [
        run(s, lane, t, passed, **kw)  # type: ignore[arg-type]
        for s, seq in outcomes.items()
        for t, passed in enumerate(seq)
    ]


def test_pairs_by_scenario_and_trial_and_counts_the_table() -> None:
    a = lane_of(
        "agent-baseline", {"x": [True, False, False, True], "y": [False, False, True, False]}
    )
    b = lane_of("agent-skill", {"x": [True, True, True, False], "y": [True, True, True, True]})
    e = effect(a, b)
    # x: (T,T) (F,T) (F,T) (T,F); y: (F,T) (F,T) (T,T) (F,T)
    assert (e.both, e.a_only, e.b_only, e.neither) == (2, 1, 5, 0)
    assert e.pairs == 8
    assert e.unpaired == 0
    assert e.diff == pytest.approx(4 / 8)
    assert e.p_value == pytest.approx(stats.mcnemar_exact(1, 5))
    assert [(s.scenario, s.a_passed, s.b_passed, s.pairs) for s in e.scenarios] == [
        ("x", 2, 3, 4),
        ("y", 1, 4, 4),
    ]


def test_a_run_without_its_partner_is_unpaired_not_failed() -> None:
    a = lane_of("agent-baseline", {"x": [True, True, True]})
    b = lane_of("agent-skill", {"x": [True, True]})
    e = effect(a, b)
    assert e.pairs == 2
    assert e.unpaired == 1
    assert e.diff == 0.0


def test_verdict_better_and_worse() -> None:
    a = lane_of("agent-baseline", {"x": [False] * 10, "y": [False] * 10})
    b = lane_of("agent-skill", {"x": [True] * 8 + [False] * 2, "y": [True] * 7 + [False] * 3})
    better = effect(a, b)
    assert better.verdict == "better"
    assert better.p_value < 0.05
    assert better.ci is not None
    assert better.ci.low > 0
    worse = effect(b, a)
    assert worse.verdict == "worse"
    assert worse.ci is not None
    assert worse.ci.high < 0
    assert "p = " in better.reason


def test_verdict_underpowered_says_how_many_trials() -> None:
    # 2 scenarios x 4 trials: B passes 2 pairs more. Not significant (p = 0.5); the
    # observed discordance would need many more pairs.
    a = lane_of("agent-baseline", {"x": [True, False, True, True], "y": [True, False, True, False]})
    b = lane_of("agent-skill", {"x": [True, True, True, True], "y": [True, True, True, False]})
    e = effect(a, b)
    assert (e.a_only, e.b_only) == (0, 2)
    assert e.verdict == "underpowered"
    assert e.pairs_needed == stats.pairs_needed(0.0, 2 / 8)
    assert e.trials_needed is not None
    assert e.pairs_needed is not None
    assert e.trials_needed == -(-e.pairs_needed // 2)  # per scenario, rounded up
    assert e.trials_needed > 4
    assert f"{e.trials_needed} trials per scenario" in e.reason


def test_verdict_no_detectable_difference() -> None:
    # 20 pairs that all agree: no effect, and enough pairs that an exact test could decide.
    a = lane_of("agent-baseline", {"x": [True] * 10, "y": [False] * 10})
    b = lane_of("agent-skill", {"x": [True] * 10, "y": [False] * 10})
    e = effect(a, b)
    assert e.verdict == "no detectable difference"
    assert e.pairs_needed is None
    assert e.trials_needed is None
    # Balanced discordance: no effect either.
    a = lane_of("agent-baseline", {"x": [True, False] * 5})
    b = lane_of("agent-skill", {"x": [False, True] * 5})
    assert effect(a, b).verdict == "no detectable difference"


def test_too_few_pairs_is_underpowered_whatever_happened() -> None:
    a = lane_of("agent-baseline", {"x": [True, True, False]})
    b = lane_of("agent-skill", {"x": [True, True, False]})
    e = effect(a, b)
    assert e.verdict == "underpowered"
    assert "fewer than 6" in e.reason


def test_lane_stats_pass_k_and_skill_rate() -> None:
    runs = lane_of("agent-skill", {"x": [True, False, True], "y": [False, False, True]})
    runs[0] = runs[0].model_copy(update={"skills_invoked": ["greeter"]})
    s = lane_stats("agent-skill", runs)
    assert s.pass_rate.successes == 3
    assert s.pass_rate.n == 6
    assert s.pass_rate.ci is not None
    assert (s.pass_rate.ci.low, s.pass_rate.ci.high) == pytest.approx(stats.wilson(3, 6))
    ks = {p.k: p for p in s.pass_k}
    assert sorted(ks) == [1, 2, 3]
    assert ks[1].pass_at_k == pytest.approx(0.5)
    assert ks[2].pass_at_k == pytest.approx(
        (stats.pass_at_k(3, 2, 2) + stats.pass_at_k(3, 1, 2)) / 2
    )
    assert ks[3].pass_hat_k == 0.0
    assert s.skill_invoked is not None
    assert s.skill_invoked.successes == 1
    # A lane without the skill has no invocation rate, and one trial has no pass@k.
    plain = lane_stats("agent-baseline", lane_of("agent-baseline", {"x": [True]}))
    assert plain.skill_invoked is None
    assert plain.pass_k == []


def test_metric_effects_are_paired_differences() -> None:
    a = [run("x", "agent-baseline", t, True, cost=0.01, turns=3) for t in range(6)]
    b = [run("x", "agent-skill", t, True, cost=0.03, turns=5 + t % 2) for t in range(6)]
    b[0] = b[0].model_copy(update={"cost_usd": None})  # an unknown cost drops its pair
    e = effect(a, b)
    cost = next(m for m in e.metrics if m.metric == "cost_usd")
    assert cost.pairs == 5
    assert cost.diff == pytest.approx(0.02)
    assert cost.ci is not None
    assert cost.ci.low == pytest.approx(0.02)
    turns = next(m for m in e.metrics if m.metric == "num_turns")
    assert turns.diff == pytest.approx(2.5)
    assert turns.ci is not None
    assert turns.ci.low < 2.5 < turns.ci.high


def test_analyze_uses_header_order_and_the_aa_copy() -> None:
    base = lane_of("agent-baseline", {"x": [False, False, True]})
    skill = lane_of("agent-skill", {"x": [True, True, True, True, False, True]})
    result = suite_of(base + skill, trials=3, aa="agent-skill")
    report = analyze(result)
    assert [s.lane for s in report.lanes] == ["agent-baseline", "agent-skill"]
    # The A/A copy (trials 3..5) is not part of the A/B: 3 pairs, none unpaired.
    e = report.effects[0]
    assert (e.a, e.b, e.pairs, e.unpaired) == ("agent-baseline", "agent-skill", 3, 0)
    assert report.lanes[1].runs == 3
    noise = report.noise
    assert noise is not None
    # trial t against t + 3: (T,T) (T,F) (T,T): one flip in three.
    assert (noise.lane, noise.pairs, noise.flips) == ("agent-skill", 3, 1)
    assert noise.flip_rate.rate == pytest.approx(1 / 3)
    text = render_ab(report)
    assert "agent-skill over agent-baseline: UNDERPOWERED" in text
    assert "noise floor: agent-skill against itself, 3 pairs" in text
