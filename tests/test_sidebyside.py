"""A run's transcript as a person reads it (edits as diffs, a Write as its file, the final
text once, Markdown drawn safely, every check, what the run received) and two runs side by
side (tool calls aligned, checks compared, files diffed), in a real headless Chromium."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from runner._evaluate.results import CheckResult, SuiteResult
from runner._report.page import build_report
from runner._report.views import StoredResult
from tests.browser_support import (
    Opened,
    diff_lines,
    launch,
    open_page,
    page_for_a_test,
    screenshot,
)
from tests.replay_support import Evaluated
from tests.report_support import (
    BASELINE_ENTRY,
    SKILL_ENTRY,
    assistant_line,
    fixture_run,
    result_line,
    run_folder,
    suite_of,
    tool_result_line,
    tool_use,
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    yield from launch()


@pytest.fixture(scope="module")
def side_file(evaluated: Evaluated, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The real-CLI eval (two lanes, two trials of fix-entry) as a report built where the eval
    ran, so the suite it names (its skill, its workspace) is found as `report` would find it."""
    result = SuiteResult.model_validate(evaluated.report)
    path = tmp_path_factory.mktemp("side") / "side.html"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(evaluated.bench.root)
        path.write_text(build_report([StoredResult("eval.json", result)]), encoding="utf-8")
    return path


@pytest.fixture
def side(browser: Browser, side_file: Path) -> Iterator[Opened]:
    yield from page_for_a_test(browser, side_file)


def run_index(evaluated: Evaluated, lane: str, trial: int) -> int:
    runs = evaluated.report["runs"]
    return next(i for i, r in enumerate(runs) if (r["lane"], r["trial"]) == (lane, trial))


def open_side(page: Page) -> None:
    page.get_by_test_id("tab-side").click()
    expect(page.get_by_test_id("side-tools")).to_be_visible()


def test_side_by_side_defaults_to_the_ab_pair_and_diffs_the_edited_line(
    side: Opened, evaluated: Evaluated
) -> None:
    page = side.page
    open_side(page)
    a, b = run_index(evaluated, "agent-baseline", 0), run_index(evaluated, "agent-skill", 0)
    assert page.get_by_test_id("side-a").input_value() == str(a)
    assert page.get_by_test_id("side-b").input_value() == str(b)
    # Both edited CHANGELOG.md; the line each wrote differs.
    assert page.get_by_test_id("side-file").get_attribute("data-path") == "CHANGELOG.md"
    assert diff_lines(page, "del") == ["-" + BASELINE_ENTRY]
    assert diff_lines(page, "add") == ["+" + SKILL_ENTRY]
    # The tool calls aligned: the skill lane's Skill call against a gap, then the same calls.
    rows = page.get_by_test_id("side-tools").locator("tbody tr")
    cells = [[c.strip() for c in r.split("\t")] for r in rows.all_inner_texts()]
    assert cells == [
        ["1", "—", "Skill changelog"],
        ["2", "Read CHANGELOG.md", "Read CHANGELOG.md"],
        ["3", "Edit CHANGELOG.md", "Edit CHANGELOG.md"],
    ]
    assert [r.get_attribute("data-same") for r in rows.all()] == ["false", "true", "true"]
    # The checks compared, the rows that differ marked.
    checks_a = {c["name"]: c for c in evaluated.result("agent-baseline", 0)["checks"]}
    checks_b = {c["name"]: c for c in evaluated.result("agent-skill", 0)["checks"]}
    table = page.get_by_test_id("side-checks").locator("tbody tr")
    shown = {r.locator("td").first.inner_text().removeprefix("≠ "): r for r in table.all()}
    assert list(shown) == list(dict.fromkeys([*checks_a, *checks_b]))
    for name, tr in shown.items():
        x, y = checks_a.get(name), checks_b.get(name)
        differs = x is None or y is None or x["passed"] != y["passed"]
        assert tr.get_attribute("data-differs") == str(differs).lower(), name
    assert shown["skill_invoked (the scenario skill)"].locator("td").nth(1).inner_text() == (
        "not checked"
    )
    assert any(tr.get_attribute("data-differs") == "true" for tr in shown.values())
    # And the two transcripts, side by side.
    cols = [page.get_by_test_id(f"side-col-{x}") for x in "AB"]
    assert "agent-baseline #0" in cols[0].locator("h3").inner_text()
    assert cols[1].locator(".tool-call[data-tool='Skill']").count() == 1
    boxes = [c.bounding_box() for c in cols]
    assert boxes[0] is not None
    assert boxes[1] is not None
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"]  # beside each other
    screenshot(page, "side-by-side-1280px", full_page=True)
    side.assert_clean()


def test_any_two_runs_of_a_scenario_in_either_order(side: Opened, evaluated: Evaluated) -> None:
    page = side.page
    open_side(page)
    skill0, skill1 = (run_index(evaluated, "agent-skill", t) for t in (0, 1))
    base0 = run_index(evaluated, "agent-baseline", 0)
    # The same lane's two trials: the same calls, the same file.
    page.get_by_test_id("side-a").select_option(str(skill0))
    page.get_by_test_id("side-b").select_option(str(skill1))
    expect(page.get_by_test_id("side-files")).to_have_text("Both runs left every file the same.")
    rows = page.get_by_test_id("side-tools").locator("tbody tr")
    assert {r.get_attribute("data-same") for r in rows.all()} == {"true"}
    # The A/B pair the other way round: the diff reads from the skill's file to the baseline's.
    page.get_by_test_id("side-a").select_option(str(skill1))
    page.get_by_test_id("side-b").select_option(str(base0))
    expect(page.get_by_test_id("side-col-A").locator("h3")).to_contain_text("agent-skill #1")
    assert diff_lines(page, "del") == ["-" + SKILL_ENTRY]
    assert diff_lines(page, "add") == ["+" + BASELINE_ENTRY]
    first = rows.first.locator("td")
    assert [first.nth(1).inner_text(), first.nth(2).inner_text()] == ["Skill changelog", "—"]
    side.assert_clean()


def test_a_run_opens_side_by_side_with_its_other_lane(side: Opened, evaluated: Evaluated) -> None:
    page = side.page
    page.get_by_test_id("tab-runs").click()  # the overview shows first
    page.locator(".run-row[data-lane='agent-skill']").nth(1).click()
    button = page.locator(".detail").get_by_test_id("compare-lane")
    assert button.inner_text() == "Compare with agent-baseline ⇆"
    button.click()
    expect(page.get_by_test_id("side-tools")).to_be_visible()
    # The lanes in their order: the baseline as A, the same trial.
    assert page.get_by_test_id("side-a").input_value() == str(
        run_index(evaluated, "agent-baseline", 1)
    )
    assert page.get_by_test_id("side-b").input_value() == str(
        run_index(evaluated, "agent-skill", 1)
    )
    assert not page.get_by_test_id("runs-table").is_visible()
    side.assert_clean()


def test_a_transcript_on_a_phone(browser: Browser, side_file: Path) -> None:
    opened = open_page(browser, side_file, viewport={"width": 390, "height": 844})
    page = opened.page
    page.get_by_test_id("tab-runs").click()
    page.locator(".run-row[data-lane='agent-skill']").first.click()
    expect(page.locator(".detail").get_by_test_id("edit")).to_be_visible()
    # The transcript wraps within the screen (the runs table's own columns are its own matter).
    box = page.locator(".run-detail").bounding_box()
    assert box is not None
    assert box["x"] + box["width"] <= 390
    screenshot(page, "transcript-390px", full_page=True)
    opened.assert_clean()
    opened.page.close()


def test_on_a_phone_the_columns_stack(browser: Browser, side_file: Path) -> None:
    opened = open_page(browser, side_file, viewport={"width": 390, "height": 844})
    page = opened.page
    open_side(page)
    a = page.get_by_test_id("side-col-A").bounding_box()
    b = page.get_by_test_id("side-col-B").bounding_box()
    assert a is not None
    assert b is not None
    assert a["y"] + a["height"] <= b["y"]  # B below A
    assert a["x"] + a["width"] <= 390
    assert b["x"] + b["width"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth") == 390  # nothing cut off
    screenshot(page, "side-by-side-390px", full_page=True)
    opened.assert_clean()
    opened.page.close()


def test_a_transcript_names_every_check_and_what_the_run_received(
    side: Opened, evaluated: Evaluated
) -> None:
    page = side.page
    page.get_by_test_id("tab-runs").click()
    page.locator(".run-row[data-lane='agent-skill']").first.click()
    detail = page.locator(".detail").first
    checks = evaluated.result("agent-skill", 0)["checks"]
    assert all(c["passed"] for c in checks)  # so none is only counted
    listed = detail.locator(".check-passed").all_inner_texts()
    assert listed == [f"✓ {c['name']}: {c['detail']}" for c in checks]
    instruction = evaluated.scenario().instruction
    expect(detail.get_by_test_id("instruction")).to_contain_text(
        "it now returns None. The bug was reported as issue #142."
    )
    assert "parse_date" in instruction
    assert detail.get_by_test_id("instruction").locator("code").first.inner_text() == "parse_date"
    nudge = detail.get_by_test_id("nudge").locator("pre").inner_text()
    assert nudge.startswith('A skill named "changelog" is installed in this workspace')
    skill = detail.get_by_test_id("skill-text")
    assert "changelog" in skill.locator("summary").inner_text()
    skill.locator("summary").click()
    expect(skill.locator("h4").first).to_have_text("Changelog entries (Keep a Changelog)")
    assert skill.locator("pre.md-front").inner_text().startswith("---\nname: changelog\n")
    # The Edit call as its diff, the file named.
    edit = detail.get_by_test_id("edit")
    assert edit.locator(".path").inner_text() == "CHANGELOG.md"
    assert "+" + SKILL_ENTRY + "\n" in edit.locator(".dl.add").all_text_contents()
    # A baseline run received no nudge and no skill.
    page.locator(".run-row[data-lane='agent-baseline']").first.click()
    base = page.locator(".detail").nth(0)
    expect(base.get_by_test_id("instruction")).to_be_visible()
    assert base.get_by_test_id("nudge").count() == 0
    assert base.get_by_test_id("skill-text").count() == 0
    screenshot(page, "transcript-received", full_page=True)
    side.assert_clean()


# ---- a transcript made to show every kind of call, and hostile Markdown ---------------------

HOSTILE = '<img src=x onerror="window.__pwned=1">'
FINAL = "## Done\n\nSee `notes.md` and [the docs](javascript:window.__pwned=2).\n\n- one\n- two"


def crafted_stream() -> bytes:
    text = f"# Plan\n\nI will **edit** `app.py`; {HOSTILE} stays text.\n\n```python\nprint(1)\n```"
    return b"".join(
        [
            assistant_line("m1", {"type": "text", "text": text}),
            assistant_line(
                "m2",
                tool_use(
                    "e1",
                    "Edit",
                    file_path="app.py",
                    old_string="x = 1\ny = 2\n",
                    new_string="x = 1\ny = 3\n",
                ),
            ),
            tool_result_line("e1", "The file app.py has been updated."),
            assistant_line(
                "m3",
                tool_use(
                    "e2",
                    "MultiEdit",
                    file_path="lib.py",
                    edits=[
                        {"old_string": "a", "new_string": "b"},
                        {"old_string": "c", "new_string": "d", "replace_all": True},
                    ],
                ),
            ),
            tool_result_line("e2", "Applied 2 edits."),
            assistant_line(
                "m4", tool_use("w1", "Write", file_path="notes.md", content="# Notes\nhello\n")
            ),
            tool_result_line("w1", "File created."),
            assistant_line("m5", {"type": "text", "text": FINAL}),
            result_line(FINAL),
        ]
    )


@pytest.fixture
def crafted(browser: Browser, tmp_path: Path) -> Iterator[Opened]:
    run = fixture_run(tmp_path, "hello").model_copy(
        update={
            "run_dir": str(run_folder(tmp_path, "crafted", crafted_stream())),
            "checks": [
                CheckResult(name="file_exists notes.md", passed=True, detail="notes.md is there"),
                CheckResult(name=f"hostile {HOSTILE}", passed=False, detail="no"),
            ],
        }
    )
    path = tmp_path / "crafted.html"
    path.write_text(build_report([StoredResult("crafted.json", suite_of([run]))]), encoding="utf-8")
    opened = open_page(browser, path)
    opened.page.get_by_test_id("tab-runs").click()
    opened.page.locator(".run-row").click()
    yield opened
    opened.page.close()


def test_edits_show_as_diffs_and_a_write_as_its_file(crafted: Opened) -> None:
    page = crafted.page
    edit = page.locator(".tool-call[data-tool='Edit']").get_by_test_id("edit")
    assert edit.locator(".path").inner_text() == "app.py"
    assert edit.locator(".dl.del").all_text_contents() == ["-y = 2\n"]
    assert edit.locator(".dl.add").all_text_contents() == ["+y = 3\n"]
    assert edit.locator(".dl.ctx").all_text_contents() == [" x = 1\n"]
    multi = page.locator(".tool-call[data-tool='MultiEdit']").get_by_test_id("edit")
    assert multi.get_by_test_id("diff").count() == 2
    assert "edit 2, every occurrence" in multi.inner_text()
    write = page.locator(".tool-call[data-tool='Write']").get_by_test_id("write")
    assert write.locator(".path").inner_text() == "notes.md"
    assert write.locator("pre").inner_text() == "# Notes\nhello\n"
    screenshot(page, "transcript-edits", full_page=True)
    crafted.assert_clean()


def test_the_final_text_appears_once(crafted: Opened) -> None:
    page = crafted.page
    detail = page.locator(".detail")
    final = detail.get_by_test_id("final-text")
    expect(final).to_be_visible()
    assert detail.inner_text().count("See notes.md and the docs") == 1
    assert "result: success" in detail.get_by_test_id("final-result").inner_text()
    crafted.assert_clean()


def test_markdown_is_drawn_and_nothing_in_it_runs(crafted: Opened) -> None:
    page = crafted.page
    detail = page.locator(".detail")
    timeline = detail.locator(".timeline")
    assert timeline.locator("h4").all_inner_texts() == ["Plan"]
    assert timeline.locator("h5").all_inner_texts() == ["Done"]
    assert timeline.locator("pre.md-code code").inner_text() == "print(1)"
    assert timeline.locator(".md strong").first.inner_text() == "edit"
    assert timeline.locator(".md li").all_inner_texts() == ["one", "two"]
    # Hostile text is text: no image, no link, nothing ran.
    assert HOSTILE in timeline.locator(".md p").first.inner_text()
    assert page.locator("img").count() == 0
    assert page.locator("a").count() == 0
    assert timeline.locator(".md-url").inner_text() == " (javascript:window.__pwned=2)"
    for link in timeline.locator(".md-link").all():
        link.click()
    assert page.evaluate("window.__pwned") is None
    # Every check named, the passed one too.
    assert detail.locator(".check-passed").all_inner_texts() == [
        "✓ file_exists notes.md: notes.md is there"
    ]
    assert detail.locator(".check-failed").all_inner_texts() == [f"✗ hostile {HOSTILE}: no"]
    # One run: nothing to put beside it, and the view says so.
    page.get_by_test_id("tab-side").click()
    expect(page.locator("#view-side")).to_have_text(
        "No two runs of the same scenario in this result to put side by side."
    )
    crafted.assert_clean()
