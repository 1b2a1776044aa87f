"""The headline: the A/B answer in one line per effect, first in the terminal and at the top of
the report, worded from the verdict's own figures."""

from __future__ import annotations

import pytest

from runner._report.views import StoredResult, page_data
from runner._results.ab import analyze
from runner._results.render_ab import headline
from tests.report_support import ab_result, made_run, sequential_study, suite_of, verdict_result

# What VERDICT_CASES read as, word for word: the verdict, the effect and its interval over
# scenarios, what would decide an inconclusive one, the cost verdict and the turns.
EXPECTED = {
    "better": "agent-skill vs agent-baseline: BETTER, +65 points (95% CI +27 to +100) on "
    "5 scenarios × 4 trials; cost +$0.0059/run (+49%, costs more); turns +0.0",
    "worse": "agent-skill vs agent-baseline: WORSE, -65 points (95% CI -100 to -27) on "
    "5 scenarios × 4 trials; cost -$0.0042/run (-35%, costs less); turns +0.0",
    "equivalent": "agent-skill vs agent-baseline: EQUIVALENT within ±10 points, +0 points "
    "(95% CI -9 to +10) on 8 scenarios × 40 trials; cost +$0.0000/run (+0%, same cost); "
    "turns +0.0",
    "inconclusive": "agent-skill vs agent-baseline: INCONCLUSIVE, +5 points (95% CI -59 to +69) "
    "on 5 scenarios × 4 trials; about 208 scenarios would detect ±10 points; "
    "cost +$0.0002/run (-2%, inconclusive); turns +0.0",
}


@pytest.mark.parametrize("verdict", EXPECTED)
def test_each_verdict_reads_as_the_short_form_of_its_reason(verdict: str) -> None:
    report = analyze(verdict_result(verdict))
    (effect,) = report.effects
    (line,) = headline(report, mode="live")
    assert line == EXPECTED[verdict]
    # The same figures as the verdict's full line: the effect and its interval.
    assert effect.ci is not None
    assert effect.diff is not None
    shown = f"({effect.ci.low * 100:+.0f} to {effect.ci.high * 100:+.0f})"
    assert f"{effect.diff * 100:+.0f} points" in effect.reason
    assert shown.strip("()") in effect.reason
    assert shown.replace("(", "(95% CI ") in line


@pytest.mark.parametrize("verdict", EXPECTED)
def test_a_scripted_result_says_nothing_was_billed(verdict: str) -> None:
    report = analyze(verdict_result(verdict))
    assert headline(report, mode="scripted") == [f"{EXPECTED[verdict]}; scripted: nothing billed"]


def test_one_line_per_later_lane_against_the_first() -> None:
    runs = [
        made_run(f"s{i}", lane, 0, passed=lane != "agent-baseline")
        for lane in ("agent-baseline", "agent-skill", "agent-skill-nonudge")
        for i in range(4)
    ]
    lines = headline(analyze(suite_of(runs)), mode="live")
    assert [line.split(":")[0] for line in lines] == [
        "agent-skill vs agent-baseline",
        "agent-skill-nonudge vs agent-baseline",
    ]


def test_too_few_scenarios_says_what_a_verdict_needs() -> None:
    (line,) = headline(analyze(ab_result([(0, 2), (1, 2)], 2)), mode="live")
    assert line.startswith(
        "agent-skill vs agent-baseline: INCONCLUSIVE, +75 points on 2 scenarios × 2 trials; "
        "a verdict needs at least 3 scenarios; cost "
    )


def test_no_pair_gives_the_reason() -> None:
    runs = [made_run("s0", "agent-baseline", 0, True), made_run("s1", "agent-skill", 0, True)]
    assert headline(analyze(suite_of(runs)), mode="live") == [
        "agent-skill vs agent-baseline: INCONCLUSIVE: no scenario and trial ran in both lanes"
    ]


def test_a_sequential_verdict_gives_its_interval_at_the_last_looks_level() -> None:
    study = sequential_study().result
    (line,) = headline(analyze(study), mode="scripted")
    alpha = study.header.verdicts.alpha
    assert f"BETTER, +90 points ({100 * (1 - alpha):.2f}% CI " in line


def test_the_report_carries_the_terminals_headline() -> None:
    two = verdict_result("better")
    one = suite_of([r for r in two.runs if r.lane == "agent-baseline"], trials=4)
    views = page_data([StoredResult("two", two), StoredResult("one", one)], []).results
    assert views[0].headline == headline(analyze(two), mode="scripted")
    assert views[0].headline[0].startswith("agent-skill vs agent-baseline: BETTER, +65 points")
    assert views[1].headline == []  # one lane: no A/B to answer
