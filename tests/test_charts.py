"""The numbers the report's overview charts draw (runner/_report/charts.py): the effect plot's
per-scenario intervals and the verdict's own figures, the lanes' rates, costs and pass@k, and
the heat map's cells, from results whose outcomes are known."""

from __future__ import annotations

import pytest

from runner._evaluate.results import SuiteResult
from runner._report.charts import charts
from runner._results.ab import analyze
from runner._results.rates import newcombe_diff
from tests.report_support import ab_result, made_run, suite_of

# Per scenario (A passes, B passes) of 3 trials; B's runs cost 1.4, 1.5 and 1.2 times A's.
PASSES = [(1, 3), (0, 2), (3, 3)]


def three_by_two() -> SuiteResult:
    return ab_result(PASSES, 3, [1.4, 1.5, 1.2])


def test_each_scenario_has_its_difference_and_interval() -> None:
    got = charts(three_by_two(), analyze(three_by_two()))
    (effect,) = got.effects
    assert (effect.a, effect.b) == ("agent-baseline", "agent-skill")
    assert [s.scenario for s in effect.scenarios] == ["s0", "s1", "s2"]
    assert [(s.a_passed, s.b_passed, s.pairs) for s in effect.scenarios] == [
        (a, b, 3) for a, b in PASSES
    ]
    assert [s.diff for s in effect.scenarios] == pytest.approx([2 / 3, 2 / 3, 0.0])
    for s, (a, b) in zip(effect.scenarios, PASSES, strict=True):
        assert (s.ci.low, s.ci.high) == newcombe_diff(a, 3, b, 3)
        assert s.ci.low < s.diff < s.ci.high
    # 3 of 3 in both lanes: no difference seen, but three trials cannot rule one out.
    assert effect.scenarios[2].ci.low == pytest.approx(-effect.scenarios[2].ci.high)
    assert effect.scenarios[2].ci.high > 0.5


def test_the_overall_mark_is_the_verdicts_own_figure() -> None:
    result = three_by_two()
    report = analyze(result)
    (effect,) = charts(result, report).effects
    (verdict,) = report.effects
    assert effect.diff == verdict.diff == pytest.approx(4 / 9)
    assert effect.ci == verdict.ci
    assert (effect.verdict, effect.margin, effect.level) == (verdict.verdict, 0.1, "95%")


def test_lanes_carry_their_rate_cost_and_pass_k() -> None:
    result = three_by_two()
    report = analyze(result)
    got = charts(result, report)
    assert got.confidence == "95%"
    assert got.unbilled == "scripted: nothing billed"  # said beside the cost chart
    live = result.model_copy(update={"header": result.header.model_copy(update={"mode": "live"})})
    assert charts(live, report).unbilled is None
    assert got.trials == 3
    assert [lane.lane for lane in got.lanes] == ["agent-baseline", "agent-skill"]
    for lane, stats_ in zip(got.lanes, report.lanes, strict=True):
        assert lane.pass_rate == stats_.pass_rate
        assert lane.cost_usd == stats_.cost_usd
        assert lane.pass_k == stats_.pass_k
    assert [lane.pass_rate.successes for lane in got.lanes] == [4, 8]
    assert [len(lane.pass_k) for lane in got.lanes] == [3, 3]
    # B cost more: 1.4, 1.5 and 1.2 times A's 0.010, 0.011 and 0.012 a run.
    assert got.lanes[1].cost_usd == pytest.approx((0.014 + 0.0165 + 0.0144) / 3)


def test_the_heat_map_counts_the_runs_a_cell_opens() -> None:
    """Every run of a scenario in a lane, an A/A copy's too; no cell where it did not run."""
    runs = [
        made_run("s0", "agent-baseline", 0, True),
        made_run("s0", "agent-baseline", 1, False),  # the A/A copy of trial 0
        made_run("s1", "agent-baseline", 0, False),
        made_run("s0", "agent-skill", 0, True),
    ]
    result = suite_of(runs, aa="agent-baseline")
    got = charts(result, analyze(result))
    assert got.scenarios == ["s0", "s1"]
    assert [(c.scenario, c.lane, c.passed, c.runs) for c in got.cells] == [
        ("s0", "agent-baseline", 1, 2),
        ("s0", "agent-skill", 1, 1),
        ("s1", "agent-baseline", 0, 1),
    ]


def test_one_lane_has_lane_charts_and_no_effect() -> None:
    result = suite_of([made_run(f"s{i}", "agent-skill", 0, i != 1) for i in range(3)])
    got = charts(result, analyze(result))
    assert got.effects == []
    assert [(lane.lane, lane.pass_rate.successes, lane.pass_k) for lane in got.lanes] == [
        ("agent-skill", 2, [])
    ]
    assert len(got.cells) == 3
