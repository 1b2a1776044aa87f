"""The dashboard in a real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright): filters, a row opened into its transcript, the A/B and compare views, the theme,
and no console error or network request beyond the page's own file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from runner._evaluate.results import SuiteResult
from runner._report.page import build_report
from runner._report.views import StoredResult
from runner._results.ab import analyze
from runner._results.render_ab import headline
from tests.browser_support import Opened, launch, open_page, page_for_a_test, screenshot
from tests.replay_support import Evaluated
from tests.report_support import (
    SEQUENTIAL_LEVELS,
    VERDICT_CASES,
    fixture_run,
    flipped,
    made_run,
    sequential_study,
    suite_of,
    verdict_result,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture(scope="module")
def report_file(evaluated: Evaluated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Two results (the eval, and before it the same with a run that failed) and their
    comparison."""
    result = SuiteResult.model_validate(evaluated.report)
    before = StoredResult("before.json", flipped(result))
    after = StoredResult("after.json", result)
    path = tmp_path_factory.mktemp("dashboard") / "report.html"
    path.write_text(build_report([before, after], [(before, after)]), encoding="utf-8")
    return path


@pytest.fixture
def dashboard(browser: Browser, report_file: Path) -> Iterator[Opened]:
    yield from page_for_a_test(browser, report_file)


def visible_lanes(page: Page) -> list[str | None]:
    rows = page.locator(".run-row")
    return [
        rows.nth(i).get_attribute("data-lane")
        for i in range(rows.count())
        if rows.nth(i).is_visible()
    ]


def test_a_lane_filter_shows_only_its_lanes_rows(dashboard: Opened) -> None:
    page = dashboard.page
    page.get_by_test_id("tab-runs").click()  # the overview shows first
    assert visible_lanes(page) == ["agent-baseline"] * 2 + ["agent-skill"] * 2
    assert page.locator("#filters .label").inner_text() == "Lane"
    labels = page.locator("#filters button").all_inner_texts()
    assert labels == ["All", "agent-baseline", "agent-skill"]  # as --lanes names them
    page.get_by_test_id("filter-agent-skill").click()
    assert visible_lanes(page) == ["agent-skill", "agent-skill"]
    assert page.get_by_test_id("filter-agent-skill").get_attribute("aria-pressed") == "true"
    page.get_by_test_id("filter-agent-baseline").click()
    assert visible_lanes(page) == ["agent-baseline", "agent-baseline"]
    page.get_by_test_id("filter-all").click()
    assert len(visible_lanes(page)) == 4
    dashboard.assert_clean()


def test_skill_badges_only_on_the_skill_lane(dashboard: Opened) -> None:
    badges = dashboard.page.locator(".run-row[data-lane='agent-skill'] [data-testid=skill-badge]")
    assert badges.all_inner_texts() == ["invoked: changelog"] * 2
    baseline = dashboard.page.locator(".run-row[data-lane='agent-baseline']")
    assert baseline.get_by_test_id("skill-badge").count() == 0
    dashboard.assert_clean()


def test_a_row_opens_into_its_transcript(dashboard: Opened, evaluated: Evaluated) -> None:
    page = dashboard.page
    assert page.locator(".tool-call").count() == 0  # nothing drawn before a row opens
    page.get_by_test_id("tab-runs").click()
    row = page.locator(".run-row[data-lane='agent-skill']").first
    row.click()
    detail = page.locator(".detail").first
    calls = detail.locator(".tool-call > .tool-input > summary")
    tools = evaluated.result("agent-skill", 0)["tool_sequence"]
    assert "Read" in tools
    assert [t.split()[:2] for t in calls.all_inner_texts()] == [["→", tool] for tool in tools]
    read = detail.locator(".tool-call[data-tool='Read']")
    assert not read.locator("pre").first.is_visible()  # the input is collapsed
    read.locator("summary").first.click()
    assert '"file_path": "CHANGELOG.md"' in read.locator("pre").first.inner_text()
    result = read.locator(".tool-result > summary")
    assert result.inner_text().startswith("← result")
    result.click()
    assert "# Changelog" in read.locator(".tool-result pre").inner_text()
    assert "result: success" in detail.get_by_test_id("final-result").inner_text()
    assert detail.locator(".tool-result.is-error").count() == 0
    row.click()
    assert not detail.is_visible()
    dashboard.assert_clean()


def test_a_failed_run_lists_its_failed_checks(dashboard: Opened, evaluated: Evaluated) -> None:
    checks = evaluated.result("agent-baseline", 0)["checks"]
    failed = [c for c in checks if not c["passed"]]
    assert failed
    page = dashboard.page
    page.get_by_test_id("tab-runs").click()
    page.locator(".run-row[data-lane='agent-baseline']").first.click()
    listed = page.locator(".detail .check-failed").all_inner_texts()
    assert listed == [f"✗ {c['name']}: {c['detail']}" for c in failed]
    passed = f"{len(checks) - len(failed)} of {len(checks)} checks passed"
    assert passed in page.locator(".detail .checks").inner_text()
    dashboard.assert_clean()


def test_the_ab_view_shows_the_verdict(dashboard: Opened, evaluated: Evaluated) -> None:
    page = dashboard.page
    page.get_by_test_id("tab-ab").click()
    assert not page.get_by_test_id("runs-table").is_visible()
    # One scenario: no verdict about tasks like these, and the line says why.
    effect = analyze(SuiteResult.model_validate(evaluated.report)).effects[0]
    verdict = page.get_by_test_id("verdict")
    assert verdict.text_content() == "inconclusive"
    assert "verdict-inconclusive" in (verdict.get_attribute("class") or "")
    reason = page.get_by_test_id("verdict-reason").text_content()
    assert reason == effect.reason
    assert "a verdict about tasks like these needs at least 3" in reason
    assert page.get_by_test_id("cost-verdict").text_content() == "inconclusive"
    assert page.get_by_test_id("cost-verdict-reason").text_content() == effect.cost.reason
    lanes = page.get_by_test_id("ab-lanes").locator("tbody tr").all_inner_texts()
    assert [row.split()[0] for row in lanes] == ["agent-baseline", "agent-skill"]
    assert page.get_by_test_id("pass-k").is_visible()
    assert page.get_by_test_id("sequential").count() == 0
    dashboard.assert_clean()


def test_the_compare_view_and_the_result_picker(dashboard: Opened) -> None:
    page = dashboard.page
    page.get_by_test_id("tab-compare").click()
    commentary = page.get_by_test_id("commentary").inner_text()
    assert "fix-entry/agent-skill#0 regressed" not in commentary  # before failed, after passes
    assert "fix-entry/agent-skill#0 improved" in commentary
    statuses = page.get_by_test_id("compare-runs").locator("tbody tr td:nth-child(2)")
    assert statuses.all_inner_texts() == ["unchanged", "unchanged", "improved", "unchanged"]
    # The improved run (the same run, its outcome flipped) opens side by side; no other does.
    buttons = page.get_by_test_id("compare-runs").get_by_test_id("compare-side")
    assert [b.get_attribute("data-run") for b in buttons.all()] == ["fix-entry/agent-skill#0"]
    screenshot(page, "compare", full_page=True)
    # The picker shows the last result first; the first one had a failing skill run.
    page.get_by_test_id("tab-runs").click()
    page.get_by_test_id("result-picker").select_option("0")
    skill_status = page.locator(".run-row[data-lane='agent-skill'] [role=cell]:nth-child(5)")
    # Waits for the redraw; text content, since a row off screen is not rendered
    # (content-visibility), and its inner text can read empty.
    expect(skill_status.first).to_have_text(re.compile(r"^FAIL"))
    dashboard.assert_clean()


def test_theme_follows_the_system_and_toggles(browser: Browser, report_file: Path) -> None:
    opened = open_page(browser, report_file, color_scheme="dark")
    page = opened.page
    html = page.locator("html")
    assert html.get_attribute("data-theme") == "dark"
    dark_bg = page.evaluate("getComputedStyle(document.body).backgroundColor")
    page.get_by_test_id("theme-toggle").click()
    assert html.get_attribute("data-theme") == "light"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != dark_bg
    opened.assert_clean()
    page.close()


def test_a_screenshot(dashboard: Opened) -> None:
    dashboard.page.get_by_test_id("tab-runs").click()
    dashboard.page.locator(".run-row").nth(2).click()
    screenshot(dashboard.page, "runs-with-a-transcript", full_page=True)
    dashboard.assert_clean()


def test_a_subagent_is_drawn_inside_its_call(browser: Browser, tmp_path: Path) -> None:
    path = tmp_path / "subagent.html"
    result = suite_of([fixture_run(tmp_path, "subagent")])
    path.write_text(build_report([StoredResult("subagent.json", result)]), encoding="utf-8")
    opened = open_page(browser, path)
    page = opened.page
    page.get_by_test_id("tab-runs").click()
    page.locator(".run-row").click()
    agent = page.locator(".tool-call[data-tool='Agent']")
    inner = agent.get_by_test_id("subagent").locator(".tool-call[data-tool='Bash']")
    assert inner.is_visible()
    assert page.locator(".timeline > .tool-call[data-tool='Bash']").count() == 0
    page.get_by_test_id("tab-ab").click()
    assert "one lane" in page.locator("#view-ab").inner_text()
    page.get_by_test_id("tab-compare").click()
    assert "python -m runner report BEFORE AFTER" in page.locator("#view-compare").inner_text()
    opened.assert_clean()
    page.close()


# ---- the A/B view's verdicts, from results made to reach each one ---------------------------

VERDICTS = list(VERDICT_CASES)  # better, worse, equivalent, inconclusive
COST_VERDICTS = {
    "better": "costs more",
    "worse": "costs less",
    "equivalent": "same cost",
    "inconclusive": "inconclusive",
}
HOSTILE_SKILL = "<img src=x onerror=alert(1)>greter"
SEQUENTIAL, SKILLS = len(VERDICTS), len(VERDICTS) + 1  # the results after the verdicts'


def failed_skill_calls() -> SuiteResult:
    """A skill lane whose runs invoked the skill, called a skill that is not there (its name
    hostile text), and called none; and a baseline run that called a missing skill."""
    runs = [
        made_run("s0", "agent-baseline", 0, False, skill_errors=("greeter",)),
        made_run("s1", "agent-baseline", 0, False),
        made_run("s2", "agent-baseline", 0, False),
        made_run("s0", "agent-skill", 0, True, skills_invoked=("greeter",)),
        made_run("s1", "agent-skill", 0, False, skill_errors=(HOSTILE_SKILL,)),
        made_run("s2", "agent-skill", 0, False),
    ]
    return suite_of(runs)


@pytest.fixture(scope="module")
def verdicts_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One result per verdict, then a sequential study's and one with failed Skill calls."""
    results = [StoredResult(f"{v}.json", verdict_result(v)) for v in VERDICTS]
    results += [sequential_study(), StoredResult("skills.json", failed_skill_calls())]
    path = tmp_path_factory.mktemp("verdicts") / "verdicts.html"
    path.write_text(build_report(results), encoding="utf-8")
    return path


@pytest.fixture
def verdicts(browser: Browser, verdicts_file: Path) -> Iterator[Opened]:
    yield from page_for_a_test(browser, verdicts_file)


def show(page: Page, result: int, tab: str) -> None:
    page.get_by_test_id("result-picker").select_option(str(result))
    page.get_by_test_id(f"tab-{tab}").click()


@pytest.mark.parametrize("verdict", VERDICTS)
def test_each_verdict_shows_its_badge_its_reason_and_the_cost_verdict(
    verdicts: Opened, verdict: str
) -> None:
    page = verdicts.page
    show(page, VERDICTS.index(verdict), "ab")
    effect = analyze(verdict_result(verdict)).effects[0]
    badge = page.get_by_test_id("verdict")
    expect(badge).to_have_text(verdict)
    assert f"verdict-{verdict}" in (badge.get_attribute("class") or "")
    # The model's line, word for word, beside its badge.
    assert page.get_by_test_id("verdict-reason").text_content() == effect.reason
    cost = COST_VERDICTS[verdict]
    assert page.get_by_test_id("cost-verdict").text_content() == cost
    assert page.get_by_test_id("cost-verdict-reason").text_content() == effect.cost.reason
    assert "per run" in effect.cost.reason
    screenshot(page, f"ab-{verdict}", full_page=True)
    verdicts.assert_clean()


def test_the_verdicts_each_have_their_own_colour(verdicts: Opened) -> None:
    page = verdicts.page
    colours = {}
    for i, verdict in enumerate(VERDICTS):
        show(page, i, "ab")
        badge = page.get_by_test_id("verdict")
        expect(badge).to_have_text(verdict)
        colours[verdict] = badge.evaluate(
            "b => [getComputedStyle(b).backgroundColor, getComputedStyle(b).color].join()"
        )
    assert len(set(colours.values())) == 4, colours
    verdicts.assert_clean()


def test_the_pooled_test_is_labelled_as_about_these_runs_only(verdicts: Opened) -> None:
    page = verdicts.page
    show(page, VERDICTS.index("better"), "ab")
    effect = analyze(verdict_result("better")).effects[0]
    assert effect.pooled is not None
    pooled = page.get_by_test_id("pooled")
    heading = pooled.locator("h4").inner_text()
    assert "These runs only" in heading
    assert "true of these scenarios only" in heading
    text = pooled.inner_text()
    assert f"+65 points over {effect.pairs} pairs" in text
    assert effect.pooled.p_value < 0.001
    assert "McNemar exact p < 0.001: " in text  # not "p = < 0.001"
    two_by_two = pooled.get_by_test_id("two-by-two").locator("tbody tr").all_inner_texts()
    assert [r.split("\t")[1:] for r in two_by_two] == [
        [str(effect.both), str(effect.a_only)],
        [str(effect.b_only), str(effect.neither)],
    ]
    # The verdict's own figures: the paired t over scenarios, not the pooled test.
    figures = page.get_by_test_id("effect-figures").inner_text()
    assert "p-value (paired t)" in figures
    assert effect.ci is not None
    assert f"{effect.ci.low * 100:+.0f} to {effect.ci.high * 100:+.0f} points" in figures
    verdicts.assert_clean()


def test_an_inconclusive_verdict_comes_with_what_would_decide_it(verdicts: Opened) -> None:
    page = verdicts.page
    show(page, VERDICTS.index("inconclusive"), "ab")
    advice = analyze(verdict_result("inconclusive")).effects[0].advice
    assert advice is not None
    assert advice.add == "scenarios"  # the effect flips sign: more trials would not settle it
    text = page.get_by_test_id("advice").inner_text()
    assert (
        f"To detect ±10 points at 80% power: add scenarios, about {advice.scenarios_needed} "
        "scenarios at 4 trials each." in text
    )
    verdicts.assert_clean()


def test_a_sequential_study_shows_its_looks_and_what_stopping_saved(verdicts: Opened) -> None:
    page = verdicts.page
    show(page, SEQUENTIAL, "ab")
    study = page.get_by_test_id("sequential")
    assert study.get_by_test_id("sequential-stopped").inner_text() == (
        "Stopped: decided: agent-skill better"
    )
    runs = study.get_by_test_id("sequential-runs").inner_text()
    assert runs.startswith("40 of at most 80 runs (50% saved)")
    looks = study.get_by_test_id("looks").locator("tbody tr")
    assert looks.count() == 2
    assert [v.text_content() for v in study.get_by_test_id("look-verdict").all()] == [
        "inconclusive",
        "better",
    ]
    assert looks.nth(1).locator("td").nth(1).inner_text() == "4"
    # The verdict was reached at the second look's level, and its interval is at that level.
    headers = page.get_by_test_id("effect-figures").locator("th").all_inner_texts()
    level = SEQUENTIAL_LEVELS[1]
    assert f"{100 * (1 - level):.2f}% interval" in headers
    assert page.get_by_test_id("verdict").text_content() == "better"
    screenshot(page, "ab-sequential", full_page=True)
    verdicts.assert_clean()


def test_a_failed_skill_call_is_its_own_badge(verdicts: Opened) -> None:
    page = verdicts.page
    show(page, SKILLS, "runs")
    badges = page.locator(".run-row[data-lane='agent-skill'] [data-testid=skill-badge]")
    assert [b.text_content() for b in badges.all()] == [
        "invoked: greeter",
        f"skill call failed: {HOSTILE_SKILL}",  # shown as text, never as markup
        "not invoked",
    ]
    assert [b.get_attribute("class") for b in badges.all()] == [
        "badge good",
        "badge bad",
        "badge bad",
    ]
    assert page.locator("img").count() == 0
    # No badge on a lane without a skill, as in the terminal's table.
    baseline = page.locator(".run-row[data-lane='agent-baseline']")
    assert baseline.get_by_test_id("skill-badge").count() == 0
    # Opened, the run says which call failed.
    page.locator(".run-row[data-lane='agent-skill']").nth(1).click()
    failed = page.locator(".detail").get_by_test_id("skill-failed")
    assert failed.text_content() == (
        f"skill call failed {HOSTILE_SKILL}: the Skill call's result was an error "
        "(the call is below)"
    )
    # The lanes table counts the runs with a failed Skill call, where there are any.
    page.get_by_test_id("tab-ab").click()
    lanes = page.get_by_test_id("ab-lanes")
    counts = lanes.locator("tbody tr").all_inner_texts()
    assert [r.split("\t")[6] for r in counts] == ["1 run", "1 run"]
    assert lanes.get_by_test_id("skill-errors").count() == 2
    assert [r.split("\t")[5] for r in counts] == ["-", "33% (1/3)"]
    verdicts.assert_clean()


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_the_headline_is_on_the_first_screen_above_the_tabs(
    browser: Browser, verdicts_file: Path, tmp_path: Path, width: int, height: int
) -> None:
    opened = open_page(browser, verdicts_file, viewport={"width": width, "height": height})
    page = opened.page
    for i, verdict in enumerate(VERDICTS):
        page.get_by_test_id("result-picker").select_option(str(i))
        lines = page.get_by_test_id("headline-line")
        # The terminal's headline, word for word: one line, the one effect.
        want = headline(analyze(verdict_result(verdict)), mode="scripted")
        assert lines.all_text_contents() == want
        assert want[0].startswith(f"agent-skill vs agent-baseline: {verdict.upper()}")
        box = page.get_by_test_id("headline").bounding_box()
        tabs = page.locator("#tabs").bounding_box()
        assert box is not None
        assert tabs is not None
        # Whole on the first screen, unscrolled, no part cut off at the right, above the tabs.
        assert box["y"] >= 0
        assert box["y"] + box["height"] <= tabs["y"] <= height
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= width
        assert page.evaluate("window.scrollY") == 0
        overflow = "n => n.scrollWidth - n.clientWidth"
        assert page.get_by_test_id("headline").evaluate(overflow) == 0
    screenshot(page, f"headline-{width}px")
    opened.assert_clean()
    page.close()


def test_a_result_with_one_lane_has_no_headline(browser: Browser, tmp_path: Path) -> None:
    path = tmp_path / "one-lane.html"
    result = suite_of([made_run(f"s{i}", "agent-skill", 0, True) for i in range(3)])
    path.write_text(build_report([StoredResult("one.json", result)]), encoding="utf-8")
    opened = open_page(browser, path)
    expect(opened.page.get_by_test_id("headline")).to_be_hidden()
    opened.assert_clean()
    opened.page.close()


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_no_run_cell_is_cut_off_at_the_right(
    browser: Browser, report_file: Path, width: int, height: int
) -> None:
    opened = open_page(browser, report_file, viewport={"width": width, "height": height})
    page = opened.page
    page.get_by_test_id("tab-runs").click()
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    cells = page.locator(".run-row > div")
    assert cells.count() == 4 * 10
    for i in range(cells.count()):
        box = cells.nth(i).bounding_box()
        assert box is not None
        assert box["x"] + box["width"] <= width
    # Stacked, each value says which column it is; wide, the header row does.
    stacked = width < 1024
    assert page.locator(".run-head").is_visible() is not stacked
    status = page.locator(".run-row").first.locator("div[data-label='status']")
    label = "n => getComputedStyle(n, '::before').content"
    assert (status.evaluate(label) == '"status "') is stacked
    # An opened run's caret turns where it stands: on the row's first line, left of it.
    first = page.locator(".run-row").first
    first.click()
    caret, scenario = (
        first.locator(sel).bounding_box() for sel in (".caret", "[data-label='scenario']")
    )
    assert caret is not None
    assert scenario is not None
    assert caret["x"] < scenario["x"]
    assert caret["y"] + caret["height"] <= scenario["y"] + scenario["height"] + 1
    screenshot(page, f"runs-{width}px")
    opened.assert_clean()
    page.close()
