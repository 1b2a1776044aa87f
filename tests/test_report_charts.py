"""The report's overview in a real headless Chromium: the charts under the headline, shown
first, one mark per number, a heat-map cell that opens its runs, and a phone-wide screen
with nothing cut off; no console error, no request beyond the page's own file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from runner._report.page import build_report
from runner._report.views import StoredResult
from runner._results.ab import analyze
from tests.browser_support import Opened, launch, open_page, page_for_a_test, screenshot
from tests.report_support import ab_result, made_run, suite_of

# 3 scenarios × 2 lanes × 3 trials: per scenario (A passes, B passes).
PASSES = [(1, 3), (0, 2), (3, 3)]
RESULT = ab_result(PASSES, 3, [1.4, 1.5, 1.2])
ONE_LANE, ONE_TRIAL = 0, 1  # the picker's results before the 3 × 2 one, shown at load
CHARTS = ["chart-effect", "chart-lanes", "chart-heatmap", "chart-cost", "chart-pass-k"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    one_lane = suite_of([made_run(f"s{i}", "agent-skill", 0, i != 1) for i in range(3)])
    one_trial = ab_result([(0, 1), (1, 1), (0, 0)], 1)
    results = [
        StoredResult("one-lane.json", one_lane),
        StoredResult("one-trial.json", one_trial),
        StoredResult("ab.json", RESULT),
    ]
    path = tmp_path_factory.mktemp("charts") / "report.html"
    path.write_text(build_report(results), encoding="utf-8")
    return path


@pytest.fixture
def overview(browser: Browser, report_file: Path) -> Iterator[Opened]:
    yield from page_for_a_test(browser, report_file)


def marks(page: Page, testid: str) -> int:
    return page.get_by_test_id(testid).count()


def centre_x(mark: Locator) -> float:
    box = mark.bounding_box()
    assert box is not None
    return box["x"] + box["width"] / 2


def test_each_chart_draws_one_mark_per_number(overview: Opened) -> None:
    page = overview.page
    charts = page.get_by_test_id("charts").locator("> figure")
    assert [c.get_attribute("data-testid") for c in charts.all()] == CHARTS
    assert marks(page, "effect-mark") == 3  # one per scenario
    assert marks(page, "effect-overall") == 1
    assert marks(page, "rate-mark") == 2  # one per lane
    assert marks(page, "heat-cell") == 6  # scenarios × lanes
    assert marks(page, "cost-mark") == 2
    cost_note = page.get_by_test_id("chart-cost").locator("figcaption p").text_content()
    assert cost_note is not None
    assert cost_note.endswith("(scripted: nothing billed).")
    assert marks(page, "passk-curve") == 4  # pass@k and pass^k per lane
    assert marks(page, "passk-mark") == 12  # k = 1..3 on each curve
    # Marks sit at their numbers: s0 and s1 at +67 points, s2 on the zero line, the overall
    # (+44) between; the wider bar is the lane that passed more.
    effect = page.get_by_test_id("effect-mark")
    xs = [centre_x(effect.nth(i)) for i in range(3)]
    zero = page.locator("#view-overview .zero").first.bounding_box()
    assert zero is not None
    assert xs[0] == pytest.approx(xs[1], abs=0.5)
    assert xs[2] == pytest.approx(zero["x"] + zero["width"] / 2, abs=1)
    assert xs[2] < centre_x(page.get_by_test_id("effect-overall")) < xs[0]
    bars = page.get_by_test_id("rate-mark")
    widths = [b.bounding_box()["width"] for b in bars.all()]  # type: ignore[index]
    assert widths[1] == pytest.approx(2 * widths[0], rel=0.02)  # 8/9 against 4/9
    overview.assert_clean()


def test_every_chart_has_a_text_alternative(overview: Opened) -> None:
    page = overview.page
    for testid in CHARTS:
        chart = page.get_by_test_id(testid)
        # The heat map's cells are buttons, which an image would hide from a screen reader.
        picture = chart.locator("svg[role=group]" if testid == "chart-heatmap" else "svg[role=img]")
        assert picture.count() == 1
        assert (picture.get_attribute("aria-label") or "") != ""
        assert picture.locator("> title").text_content() == picture.get_attribute("aria-label")
    # The same numbers as a table: each scenario and the overall, each lane, each cell.
    effect = analyze(RESULT).effects[0]
    assert effect.ci is not None
    rows = page.get_by_test_id("chart-effect-table").locator("tbody tr")
    assert rows.count() == 4
    assert rows.nth(3).text_content() == (
        f"overall--+44 points95% {effect.ci.low * 100:+.0f} to {effect.ci.high * 100:+.0f} points"
    )
    assert rows.nth(0).locator("td").all_text_contents()[:4] == ["s0", "1/3", "3/3", "+67 points"]
    lanes = page.get_by_test_id("chart-lanes-table").locator("tbody td:nth-child(2)")
    assert lanes.all_text_contents() == ["44% (4/9)", "89% (8/9)"]
    cells = page.get_by_test_id("chart-heatmap-table").locator("tbody tr")
    assert cells.nth(1).text_content() == "s10% (0/3)67% (2/3)"
    assert page.get_by_test_id("chart-pass-k-table").locator("tbody tr").count() == 6
    # Heat-map cells are buttons with a name that says what they open.
    cell = page.get_by_role("button", name="s1 in agent-skill: 2 of 3 runs passed (67%)")
    assert cell.count() == 1
    overview.assert_clean()


def test_a_heat_map_cell_opens_exactly_its_runs(overview: Opened) -> None:
    page = overview.page
    page.locator("[data-testid=heat-cell][data-scenario=s1][data-lane=agent-skill]").click()
    assert page.get_by_test_id("tab-runs").get_attribute("aria-selected") == "true"
    shown = page.locator(".run:not([hidden]) > .run-row")
    opened = [(r.get_attribute("data-scenario"), r.get_attribute("data-lane")) for r in shown.all()]
    assert opened == [("s1", "agent-skill")] * 3
    assert [r.get_attribute("aria-expanded") for r in shown.all()] == ["true"] * 3
    expect(page.locator(".run:not([hidden]) .detail")).to_have_count(3)
    assert page.locator("#runs-shown").text_content() == "Showing 3 of 18 runs"
    assert page.get_by_test_id("scenario-filter").input_value() == "s1"
    assert page.get_by_test_id("filter-agent-skill").get_attribute("aria-pressed") == "true"
    screenshot(page, "overview-heatmap-opened-runs")
    # The filter says so, and one click clears it.
    clear = page.get_by_test_id("clear-filters")
    clear.click()
    expect(clear).to_be_hidden()
    assert page.locator(".run:not([hidden])").count() == 18
    assert page.get_by_test_id("scenario-filter").input_value() == ""
    # The scenario filter on its own, as a user picks it.
    page.get_by_test_id("scenario-filter").select_option("s2")
    assert page.locator(".run:not([hidden])").count() == 6
    overview.assert_clean()


def test_enter_on_a_heat_map_cell_opens_its_runs(overview: Opened) -> None:
    page = overview.page
    cell = page.locator("[data-testid=heat-cell][data-scenario=s0][data-lane=agent-baseline]")
    cell.focus()
    page.keyboard.press("Enter")
    shown = page.locator(".run:not([hidden]) > .run-row")
    expect(shown).to_have_count(3)
    assert {r.get_attribute("data-scenario") for r in shown.all()} == {"s0"}
    assert {r.get_attribute("data-lane") for r in shown.all()} == {"agent-baseline"}
    overview.assert_clean()


def test_at_phone_width_an_opened_cell_scrolls_to_its_runs(
    browser: Browser, report_file: Path
) -> None:
    opened = open_page(browser, report_file, viewport={"width": 390, "height": 844})
    page = opened.page
    page.locator("[data-testid=heat-cell][data-scenario=s1][data-lane=agent-skill]").click()
    # The tabs at the top of the screen, the filters and the runs under them.
    tabs = page.locator("#tabs").bounding_box()
    assert tabs is not None
    assert abs(tabs["y"]) <= 1
    first = page.locator(".run:not([hidden]) > .run-row").first
    assert first.evaluate("n => n === document.activeElement")  # the keyboard is there too
    screenshot(page, "overview-heatmap-opened-runs-390px")
    opened.assert_clean()
    page.close()


def test_the_overview_is_the_first_screen(browser: Browser, report_file: Path) -> None:
    opened = open_page(browser, report_file, viewport={"width": 1280, "height": 800})
    page = opened.page
    assert page.get_by_test_id("tab-overview").get_attribute("aria-selected") == "true"
    assert page.get_by_test_id("overview").is_visible()
    assert not page.get_by_test_id("runs-table").is_visible()
    headline = page.get_by_test_id("headline").bounding_box()
    chart = page.get_by_test_id("chart-effect").locator("svg").bounding_box()
    assert headline is not None
    assert chart is not None
    # Unscrolled: the whole headline, then the top of the first chart.
    assert page.evaluate("window.scrollY") == 0
    assert headline["y"] >= 0
    assert headline["y"] + headline["height"] <= chart["y"] < 800 - 40
    screenshot(page, "overview-1280px")
    opened.assert_clean()
    page.close()


def test_a_phone_wide_screen_cuts_nothing_off(browser: Browser, report_file: Path) -> None:
    opened = open_page(browser, report_file, viewport={"width": 390, "height": 844})
    page = opened.page
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    for testid in CHARTS:
        box = page.get_by_test_id(testid).locator("svg").bounding_box()
        assert box is not None
        assert box["x"] >= 0, testid
        assert box["x"] + box["width"] <= 390, testid
    screenshot(page, "overview-390px", full_page=True)
    opened.assert_clean()
    page.close()


def test_the_charts_follow_the_dark_theme(browser: Browser, report_file: Path) -> None:
    opened = open_page(browser, report_file, color_scheme="dark")
    page = opened.page
    colour = "n => getComputedStyle(n).fill"
    body = page.evaluate("getComputedStyle(document.body).color")
    label = page.locator("#view-overview .row-label").first
    assert label.evaluate(colour) == body  # text in the theme's colour, never dark on dark
    cells = page.get_by_test_id("heat-cell").locator("rect")
    fills = {cells.nth(i).evaluate(colour) for i in range(cells.count())}
    assert len(fills) == 4  # 0%, 33%, 67% and 100% each their own shade
    screenshot(page, "overview-dark", full_page=True)
    opened.assert_clean()
    page.close()


def test_one_lane_draws_the_lane_charts_only(overview: Opened) -> None:
    page = overview.page
    page.get_by_test_id("result-picker").select_option(str(ONE_LANE))
    figures = page.get_by_test_id("charts").locator("> figure")
    expect(figures).to_have_count(3)
    assert [f.get_attribute("data-testid") for f in figures.all()] == CHARTS[1:4]
    assert (marks(page, "effect-mark"), marks(page, "rate-mark"), marks(page, "heat-cell")) == (
        0,
        1,
        3,
    )
    # One trial: no pass@k curve either, two lanes or one.
    page.get_by_test_id("result-picker").select_option(str(ONE_TRIAL))
    expect(page.get_by_test_id("effect-mark")).to_have_count(3)
    assert marks(page, "chart-pass-k") == 0
    overview.assert_clean()


def test_charts_drawn_while_hidden_are_drawn_when_shown(overview: Opened) -> None:
    page = overview.page
    page.get_by_test_id("tab-runs").click()
    page.get_by_test_id("result-picker").select_option(str(ONE_TRIAL))
    page.get_by_test_id("tab-overview").click()
    svg = page.get_by_test_id("chart-effect").locator("svg")
    box = svg.bounding_box()
    assert box is not None
    assert box["width"] > 300
    # Drawn at the width it has: a label's 12px in the picture is 12px on screen.
    view_box = (svg.get_attribute("viewBox") or "").split()
    assert float(view_box[2]) == pytest.approx(box["width"], abs=1)
    overview.assert_clean()
