"""Side by side across two results, in a real headless Chromium: a changed row of the Compare
view opens before's run as A and after's as B, their files diffed, both transcripts drawn."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from runner._evaluate.results import SuiteResult
from runner._report.page import build_report
from runner._report.views import StoredResult
from tests.browser_support import Opened, diff_lines, launch, page_for_a_test, screenshot
from tests.replay_support import Evaluated
from tests.report_support import BASELINE_ENTRY, SKILL_ENTRY, earlier

IMPROVED = "fix-entry/agent-skill#0"  # before: the baseline's run, which failed
REGRESSED = "fix-entry/agent-baseline#1"  # before: the skill's run, which passed


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


def report(evaluated: Evaluated, folder: Path, *, before_in_page: bool) -> Path:
    """The eval as after, the same with two runs flipped as before, and their comparison; as
    `report previous latest` writes it (both results in the page) or `report latest` (after
    only, compared with the previous)."""
    result = SuiteResult.model_validate(evaluated.report)
    before = StoredResult("before.json", earlier(result))
    after = StoredResult("after.json", result)
    path = folder / "across.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(evaluated.bench.root)  # where the eval ran: its suite is found
        results = [before, after] if before_in_page else [after]
        path.write_text(build_report(results, [(before, after)]), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def across_file(evaluated: Evaluated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return report(evaluated, tmp_path_factory.mktemp("across"), before_in_page=True)


@pytest.fixture
def across(browser: Browser, across_file: Path) -> Iterator[Opened]:
    yield from page_for_a_test(browser, across_file)


def open_pair(page: Page, run_id: str) -> None:
    page.get_by_test_id("tab-compare").click()
    row = page.get_by_test_id("compare-runs").locator("tbody tr", has_text=run_id)
    row.get_by_test_id("compare-side").click()
    expect(page.get_by_test_id("side-tools")).to_be_visible()


def picked(page: Page, testid: str) -> str:
    return page.get_by_test_id(testid).locator("option:checked").inner_text()


def test_an_improved_row_opens_before_beside_after(across: Opened) -> None:
    page = across.page
    page.get_by_test_id("tab-compare").click()
    rows = page.get_by_test_id("compare-runs").locator("tbody tr")
    # A button on the rows that changed only; the unchanged ones are the same runs.
    with_button = [
        r.locator("td").first.inner_text()
        for r in rows.all()
        if r.get_by_test_id("compare-side").count()
    ]
    assert sorted(with_button) == sorted([IMPROVED, REGRESSED])
    open_pair(page, IMPROVED)
    assert not page.get_by_test_id("compare-runs").is_visible()
    assert picked(page, "side-a").startswith("before.json · fix-entry · agent-skill #0 · FAIL")
    assert picked(page, "side-b") == "after.json · fix-entry · agent-skill #0 · PASS"
    # Before wrote the baseline's entry, after the skill's; after called the skill first.
    assert page.get_by_test_id("side-file").get_attribute("data-path") == "CHANGELOG.md"
    assert diff_lines(page, "del") == ["-" + BASELINE_ENTRY]
    assert diff_lines(page, "add") == ["+" + SKILL_ENTRY]
    first = page.get_by_test_id("side-tools").locator("tbody tr").first.locator("td")
    assert [first.nth(1).inner_text(), first.nth(2).inner_text()] == ["—", "Skill changelog"]
    cols = [page.get_by_test_id(f"side-col-{x}") for x in "AB"]
    expect(cols[0].locator("h3")).to_contain_text("A: before.json · fix-entry · agent-skill #0")
    expect(cols[1].locator("h3")).to_contain_text("B: after.json · fix-entry · agent-skill #0")
    assert cols[0].locator(".tool-call[data-tool='Skill']").count() == 0
    assert cols[1].locator(".tool-call[data-tool='Skill']").count() == 1
    expect(page.get_by_test_id("side-across-note")).to_contain_text("2 of the 4 runs in both")
    screenshot(page, "side-by-side-across-results", full_page=True)
    across.assert_clean()


def test_a_regressed_row_and_back_to_the_runs_within_a_result(across: Opened) -> None:
    page = across.page
    open_pair(page, REGRESSED)
    assert picked(page, "side-a").startswith("before.json · fix-entry · agent-baseline #1 · PASS")
    assert picked(page, "side-b").startswith("after.json · fix-entry · agent-baseline #1 · FAIL")
    assert diff_lines(page, "del") == ["-" + SKILL_ENTRY]
    assert diff_lines(page, "add") == ["+" + BASELINE_ENTRY]
    # The A picker offers the comparison's other changed run.
    options = page.get_by_test_id("side-a").locator("option").all_inner_texts()
    assert len(options) == 2
    assert all(o.startswith("before.json · ") for o in options)
    other = next(o for o in options if "agent-skill #0" in o)
    page.get_by_test_id("side-a").select_option(label=other)
    expect(page.get_by_test_id("side-b").locator("option:checked")).to_have_text(
        "after.json · fix-entry · agent-skill #0 · PASS"
    )
    # And back to the pairs within the result shown (after.json, the last): as before.
    page.get_by_test_id("side-within").click()
    expect(page.get_by_test_id("side-within")).to_have_count(0)
    assert not picked(page, "side-a").startswith("before.json")
    expect(page.get_by_test_id("side-col-A").locator("h3")).to_contain_text(
        "A: fix-entry · agent-baseline #0"
    )
    across.assert_clean()


@pytest.fixture
def lone(
    browser: Browser, evaluated: Evaluated, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Opened]:
    folder = tmp_path_factory.mktemp("lone")
    yield from page_for_a_test(browser, report(evaluated, folder, before_in_page=False))


def test_before_not_in_the_page_still_shows_its_transcript(lone: Opened) -> None:
    page = lone.page
    open_pair(page, IMPROVED)
    col = page.get_by_test_id("side-col-A")
    expect(col.locator("h3")).to_contain_text("A: before.json · fix-entry · agent-skill #0")
    assert col.locator(".tool-call[data-tool='Edit']").count() == 1
    assert diff_lines(page, "add") == ["+" + SKILL_ENTRY]
    lone.assert_clean()
