"""Comparing two evals: statuses, None-safe deltas, tool and check changes, the commentary."""

from __future__ import annotations

from typing import Any

from runner._evaluate.results import CheckResult, RunResult, SuiteHeader, SuiteResult, Totals
from runner._results.compare import Comparison, RunChange, compare
from runner._results.render_suite import render_comparison, render_eval, run_line


def run(
    scenario: str = "greet",
    lane: str = "skill",
    trial: int = 0,
    *,
    passed: bool = True,
    **kw: Any,
) -> RunResult:
    fields: dict[str, Any] = {
        "exit_reason": "success",
        "cache_hit": False,
        "cache_key": "k",
        "live": False,
        "cost_usd": 0.01,
        "num_turns": 3,
        "duration_ms": 4000,
    }
    return RunResult(scenario=scenario, lane=lane, trial=trial, passed=passed, **(fields | kw))


def suite(
    *runs: RunResult, started_at: str = "2026-11-21T10:00:00Z", lanes: list[str] | None = None
) -> SuiteResult:
    h = SuiteHeader(
        runner_version="0.1.0",
        branch="main",
        sha="abcdef123456",
        started_at=started_at,
        partial=False,
        suite="suites/greet",
        lanes=lanes or sorted({r.lane for r in runs}),
        scenarios=sorted({r.scenario for r in runs}),
        trials=1,
        mode="scripted",
        planned=len(runs),
    )
    return SuiteResult(header=h, runs=list(runs))


def check(name: str, passed: bool, detail: str = "ok") -> CheckResult:
    return CheckResult(name=name, passed=passed, detail=detail)


def by_id(c: Comparison) -> dict[str, RunChange]:
    return {r.run_id: r for r in c.runs}


def test_every_status() -> None:
    before = suite(
        run(lane="a", passed=True),
        run(lane="b", passed=False),
        run(lane="c", passed=True),
        run(lane="gone", passed=True),
    )
    after = suite(
        run(lane="a", passed=False),
        run(lane="b", passed=True),
        run(lane="c", passed=True),
        run(lane="c", trial=1, passed=False),
    )
    c = compare(before, after)
    assert [(r.run_id, r.status) for r in c.runs] == [
        ("greet/a#0", "regressed"),
        ("greet/b#0", "improved"),
        ("greet/c#0", "unchanged"),
        ("greet/c#1", "new"),  # trial is part of the key
        ("greet/gone#0", "removed"),  # removed runs come last
    ]
    assert c.counts == {"improved": 1, "regressed": 1, "unchanged": 1, "new": 1, "removed": 1}
    gone = by_id(c)["greet/gone#0"]
    assert (gone.passed_before, gone.passed_after) == (True, None)
    assert (c.totals.passed_before, c.totals.passed_after) == (3, 2)


def test_deltas_are_none_safe() -> None:
    before = suite(run(lane="a", cost_usd=None, num_turns=None), run(lane="b", cost_usd=0.02))
    after = suite(run(lane="a", cost_usd=0.03, num_turns=5), run(lane="b", cost_usd=0.05))
    c = compare(before, after)
    a, b = by_id(c)["greet/a#0"], by_id(c)["greet/b#0"]
    assert (a.cost_usd.before, a.cost_usd.after, a.cost_usd.delta) == (None, 0.03, None)
    assert (a.num_turns.before, a.num_turns.after, a.num_turns.delta) == (None, 5, None)
    assert b.cost_usd.delta is not None
    assert abs(b.cost_usd.delta - 0.03) < 1e-12
    assert b.duration_ms.delta == 0
    # Totals add the known costs; a side with none known is None, not $0.
    assert c.totals.cost_usd.before == 0.02
    assert c.totals.cost_usd.after is not None
    assert abs(c.totals.cost_usd.after - 0.08) < 1e-12
    unknown = compare(suite(run(cost_usd=None)), suite(run(cost_usd=None)))
    assert unknown.totals.cost_usd.model_dump() == {"before": None, "after": None, "delta": None}
    assert Comparison.model_validate_json(c.model_dump_json()) == c


def test_tool_count_changes() -> None:
    before = suite(run(lane="agent-skill", tool_sequence=["Skill", "Read", "Read", "Bash"]))
    after = suite(run(lane="agent-skill", tool_sequence=["Read", "Bash", "Read", "Read", "Write"]))
    c = compare(before, after)
    tools = [(t.tool, t.before, t.after) for t in c.runs[0].tools]
    assert tools == [("Read", 2, 3), ("Skill", 1, 0), ("Write", 0, 1)]  # Bash: same count
    line = next(line for line in c.commentary if "Skill" in line)
    assert line.startswith("greet/agent-skill#0 ")
    assert "no longer calls Skill" in line
    assert "calls Read 3 times (was 2)" in line
    assert "now calls Write (once)" in line


def test_flipped_checks() -> None:
    before = suite(
        run(
            checks=[check("file exists", True), check("ends with !", True), check("old", False)],
        )
    )
    after = suite(
        run(
            passed=False,
            exit_reason="error_max_turns",
            checks=[
                check("file exists", True),
                check("ends with !", False, "greeting.txt ends with '.'"),
                check("new", False),
            ],
        )
    )
    c = compare(before, after)
    flips = c.runs[0].checks
    assert [(f.name, f.before, f.after, f.detail) for f in flips] == [
        ("ends with !", True, False, "greeting.txt ends with '.'"),
    ]  # unchanged, removed and added checks are not flips
    assert c.runs[0].exit_reason_before == "success"
    assert c.runs[0].exit_reason_after == "error_max_turns"
    assert c.commentary[0] == (
        "greet/skill#0 regressed: passed before, fails now; exit success -> error_max_turns; "
        "check 'ends with !' now fails (greeting.txt ends with '.')."
    )


def test_commentary_order_and_verdict() -> None:
    lanes = ["better", "fresh", "gone", "pricier", "worse"]  # the same eval, runs lost and found
    before = suite(
        run(lane="better", passed=False, cost_usd=0.004),
        run(lane="worse", passed=True, cost_usd=0.004),
        run(lane="pricier", cost_usd=0.004, num_turns=3, tool_sequence=["Skill"]),
        run(lane="gone"),
        lanes=lanes,
    )
    after = suite(
        run(lane="better", passed=True, cost_usd=0.004),
        run(lane="worse", passed=False, cost_usd=0.004),
        run(lane="pricier", cost_usd=0.008, num_turns=7, tool_sequence=[]),
        run(lane="fresh", passed=False),
        lanes=lanes,
    )
    lines = compare(before, after).commentary
    assert lines[0].startswith("greet/worse#0 regressed")  # regressions lead, whatever the order
    assert lines[1].startswith("greet/better#0 improved")
    assert lines[2] == "greet/pricier#0: cost +100% ($0.0040 -> $0.0080), turns 3 -> 7."
    assert lines[3] == "greet/pricier#0 no longer calls Skill."
    assert lines[4] == "New runs: greet/fresh#0 (failed)."
    assert lines[5] == "Removed runs: greet/gone#0 (passed)."
    assert lines[6] == (
        "Overall: 1 regression, 1 improvement; passed 3/4 -> 2/4; "
        "cost +18% ($0.0220 -> $0.0260); turns 12 -> 16."
    )
    assert len(lines) == 7


def test_small_changes_are_not_worth_a_line() -> None:
    before = suite(
        run(lane="a", cost_usd=0.010, num_turns=10, duration_ms=10000),
        run(lane="b", cost_usd=0.0001, num_turns=1, duration_ms=1000),
    )
    after = suite(
        run(lane="a", cost_usd=0.011, num_turns=11, duration_ms=10500),  # +10%, +1 turn, +0.5 s
        run(lane="b", cost_usd=0.0004, num_turns=2, duration_ms=2500),  # large %, tiny amounts
    )
    lines = compare(before, after).commentary
    assert len(lines) == 1
    assert lines[0].startswith("Nothing changed: the same 2 runs, 2 passed in both")


def test_many_small_changes_that_add_up_reach_the_verdict() -> None:
    before = suite(*(run(lane=f"l{i}", num_turns=2) for i in range(4)))
    after = suite(*(run(lane=f"l{i}", num_turns=3) for i in range(4)))  # +1 turn each
    assert compare(before, after).commentary == [
        "Overall: no pass/fail changes; passed 4/4 -> 4/4; cost +0% ($0.0400 -> $0.0400); "
        "turns 8 -> 12."
    ]


def test_a_still_failing_run_with_a_new_reason_is_reported() -> None:
    before = suite(run(passed=False, exit_reason="timeout", checks=[check("x", False, "no")]))
    after = suite(run(passed=False, exit_reason="success", checks=[check("x", False, "no")]))
    c = compare(before, after)
    assert c.runs[0].status == "unchanged"
    assert c.commentary[0] == "greet/skill#0 still fails; exit timeout -> success."
    assert c.commentary[-1].startswith("Overall: no pass/fail changes; passed 0/1 -> 0/1")


def test_render_names_both_files_then_commentary_then_table() -> None:
    before = suite(run(lane="a"), run(lane="b", passed=True))
    after = suite(
        run(lane="a", cost_usd=0.015, num_turns=6, duration_ms=6000),
        run(lane="b", passed=False, cost_usd=None),
        started_at="2026-11-22T10:00:00Z",
    )
    c = compare(before, after)
    text = render_comparison(c, before_name="old.json", after_name="new.json")
    lines = text.splitlines()
    assert "old.json" in lines[0]
    assert "main@abcdef1" in lines[0]
    assert "new.json" in lines[1]
    assert "2026-11-22T10:00:00Z" in lines[1]
    assert text.index(c.commentary[0]) < text.index(c.commentary[-1]) < text.index("status")
    assert c.commentary[0].startswith("greet/b#0 regressed")
    a_row = next(line for line in lines if line.startswith("greet/a#0"))
    assert a_row.split() == ["greet/a#0", "unchanged", "+$0.0050", "+3", "+2.0s"]
    b_row = next(line for line in lines if line.startswith("greet/b#0"))
    assert b_row.split() == ["greet/b#0", "regressed", "-", "+0", "+0.0s"]
    assert c.commentary[-1].endswith("cost unknown for 0 run(s) before, 1 after.")


def test_one_of_a_thing_reads_in_the_singular() -> None:
    one = run(num_turns=1, checks=[check("greeting", False, "missing")], passed=False)
    before, after = suite(one), suite(one, started_at="2026-11-22T10:00:00Z")
    totals = Totals(runs=1, failed=1, replayed=1)
    table = render_eval(
        after.model_copy(update={"header": after.header.model_copy(update={"totals": totals})}),
        skill_lanes={"skill"},
    ).splitlines()
    assert table[-2].startswith("1 run: 0 passed, 1 failed"), table
    assert table[-1].startswith("replay: 1 run replayed"), table
    assert " 1 turn " in run_line(one)
    text = render_comparison(compare(before, after), before_name="a", after_name="b")
    assert "the same 1 run, 0 passed in both" in text, text
