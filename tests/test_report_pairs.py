"""Two runs compared for the side-by-side view (tool calls aligned, checks compared, files
diffed), what a run received, and a transcript's edits, writes and final text, as the page's
JSON holds them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner._agent.workspace import FileChange
from runner._evaluate.results import CheckResult, RunResult
from runner._report.diffs import DIFF_LINES, unified
from runner._report.page import build_report
from runner._report.pairs import (
    ALL_PAIRS_RUNS,
    RunFiles,
    Version,
    align,
    compare_checks,
    default_pair,
    file_diff,
    file_diffs,
    pair_indices,
)
from runner._report.received import Suite, read_key
from runner._report.timeline import Clip, ResultItem, TextItem, ToolCallItem, load_timeline
from runner._report.views import StoredResult
from tests.replay_support import SCENARIO, Evaluated
from tests.report_support import (
    assistant_line,
    json_element,
    made_run,
    result_line,
    run_folder,
    tool_use,
)


def test_a_call_only_one_run_made_sits_against_a_gap() -> None:
    assert align(["Read", "Edit"], ["Skill", "Read", "Edit"]) == [(None, 0), (0, 1), (1, 2)]


def test_replaced_calls_pair_row_by_row_and_the_longer_side_gets_gaps() -> None:
    rows = align(["Read", "Bash", "Edit"], ["Read", "Grep", "Glob", "Edit"])
    assert rows == [(0, 0), (1, 1), (None, 2), (2, 3)]


def test_every_call_of_either_run_has_its_row_in_order() -> None:
    assert align(["Read", "Read"], ["Read"]) == [(0, 0), (1, None)]
    assert align([], []) == []
    assert align([], ["Bash"]) == [(None, 0)]
    a, b = ["Bash", "Read", "Edit", "Bash", "Edit"], ["Read", "Bash", "Edit", "Write"]
    rows = align(a, b)
    assert [x for x, _ in rows if x is not None] == list(range(len(a)))
    assert [y for _, y in rows if y is not None] == list(range(len(b)))


# ---- checks compared ----------------------------------------------------------------------------


def test_checks_are_compared_by_name_in_as_order_then_bs_own() -> None:
    a = [
        CheckResult(name="x", passed=True, detail="ok"),
        CheckResult(name="y", passed=False, detail="no"),
    ]
    b = [
        CheckResult(name="y", passed=True, detail="yes"),
        CheckResult(name="x", passed=True, detail="ok too"),
        CheckResult(name="skill", passed=True, detail="invoked"),
    ]
    rows = compare_checks(a, b)
    assert [(r.name, r.a, r.b, r.differs) for r in rows] == [
        ("x", True, True, False),
        ("y", False, True, True),
        ("skill", None, True, True),  # the check did not apply to A's lane
    ]


# ---- diffs --------------------------------------------------------------------------------------


def test_an_edits_snippet_is_one_hunk_without_line_numbers() -> None:
    lines, cut = unified("x = 1\ny = 2\nz = 3\n", "x = 1\ny = 3\nz = 3\n", context=-1)
    assert lines == [" x = 1", "-y = 2", "+y = 3", " z = 3"]
    assert cut == 0


def test_a_files_diff_has_hunks_and_a_long_one_is_clipped_with_the_count() -> None:
    old = "".join(f"line {i}\n" for i in range(20))
    lines, _ = unified(old, old.replace("line 10\n", "line ten\n"))
    assert lines == [
        "@@ -8,7 +8,7 @@",
        " line 7",
        " line 8",
        " line 9",
        "-line 10",
        "+line ten",
        " line 11",
        " line 12",
        " line 13",
    ]
    many, cut = unified("", "x\n" * (DIFF_LINES + 50))
    assert len(many) == DIFF_LINES
    assert cut == 51  # the @@ line and every added line count


def test_files_left_the_same_are_not_diffed_and_binary_ones_are_named() -> None:
    assert file_diff("a", Version("changed", b"x\n"), Version("unchanged", b"x\n")) is None
    binary = file_diff("img.png", Version("added", b"\x89PNG\0\1"), Version("absent"))
    assert binary is not None
    assert binary.note == "binary: not diffed (6 bytes against 0 bytes)"
    assert binary.lines == []
    added = file_diff("new.txt", Version("absent"), Version("added", b"one\ntwo\n"))
    assert added is not None
    assert added.lines == ["@@ -0,0 +1,2 @@", "+one", "+two"]
    unknown = file_diff(
        "big", Version("changed", problem="its bytes were not kept"), Version("absent")
    )
    assert unknown is not None
    assert unknown.note == "A: its bytes were not kept"


def change(path: str, what: str = "changed", **fields: object) -> FileChange:
    return FileChange.model_validate({"path": path, "change": what, **fields})


def test_a_file_one_run_left_alone_is_read_from_the_workspace_it_started_from(
    tmp_path: Path,
) -> None:
    fixture = tmp_path / "fixture"
    fixture.mkdir()
    (fixture / "notes.md").write_text("old\n")
    (fixture / "gone.txt").write_text("bye\n")
    run = tmp_path / "run"
    (run / "files").mkdir(parents=True)
    (run / "files" / "notes.md").write_text("new\n")
    edited = RunFiles(
        run,
        {"notes.md": change("notes.md"), "gone.txt": change("gone.txt", "deleted")},
        fixture,
        True,
    )
    untouched = RunFiles(tmp_path / "other", {}, fixture, True)
    diffs, note = file_diffs(untouched, edited)
    assert note is None
    assert [(d.path, d.a, d.b, d.lines) for d in diffs] == [
        ("gone.txt", "unchanged", "deleted", ["@@ -1 +0,0 @@", "-bye"]),
        ("notes.md", "unchanged", "changed", ["@@ -1 +1 @@", "-old", "+new"]),
    ]
    # Without the workspace it started from, a file a run left alone cannot be compared.
    blind = RunFiles(tmp_path / "other", {}, None, False)
    diffs, _ = file_diffs(blind, edited)
    assert {d.note for d in diffs} == {"A: the workspace it started from is not at hand"}
    assert file_diffs(None, edited) == (
        [],
        "a run's record (record.json) is not at hand, so neither are its files",
    )


# ---- which pairs ---------------------------------------------------------------------------------


def runs_of(scenario: str, lanes: list[str], trials: int) -> list[RunResult]:
    return [made_run(scenario, lane, t, True) for lane in lanes for t in range(trials)]


def test_pairs_are_within_a_scenario_and_stay_linear_past_the_cap() -> None:
    runs = runs_of("s0", ["agent-baseline", "agent-skill"], 2) + runs_of(
        "s1", ["agent-baseline"], 1
    )
    assert pair_indices(runs) == [(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)]
    many = runs_of("big", ["agent-baseline", "agent-skill"], ALL_PAIRS_RUNS)
    pairs = pair_indices(many)
    assert len(pairs) == ALL_PAIRS_RUNS  # one per trial: the two lanes' runs
    assert all(many[i].trial == many[j].trial for i, j in pairs)


def test_the_default_pair_is_the_ab_effects_first() -> None:
    runs = runs_of("s0", ["agent-skill", "agent-baseline"], 2)
    assert default_pair(runs, ["agent-baseline", "agent-skill"]) == (2, 0)
    assert default_pair(runs, ["agent-skill"]) is None


# ---- what a run received ---------------------------------------------------------------------


def test_a_skill_run_received_its_instruction_nudge_and_skill(evaluated: Evaluated) -> None:
    suite = Suite(str(evaluated.bench.suite))
    scenario = evaluated.scenario()
    skill = suite.received(SCENARIO, "agent-skill", read_key(evaluated.run_dir("agent-skill", 0)))
    assert skill.instruction == Clip(text=scenario.instruction)
    assert skill.nudge is not None
    assert skill.nudge.text.startswith('A skill named "changelog" is installed')
    assert skill.notes == []
    assert skill.skill is not None
    view = suite.skills[skill.skill]
    assert scenario.skill is not None
    assert view.text.text == (scenario.skill / "SKILL.md").read_text()
    # Once per result: the other trial names the same text.
    again = suite.received(SCENARIO, "agent-skill", read_key(evaluated.run_dir("agent-skill", 1)))
    assert again.skill == skill.skill
    assert len(suite.skills) == 1
    base = suite.received(
        SCENARIO, "agent-baseline", read_key(evaluated.run_dir("agent-baseline", 0))
    )
    assert (base.instruction, base.nudge, base.skill) == (skill.instruction, None, None)


def test_a_skill_edited_since_the_run_is_not_shown_as_the_runs(
    evaluated: Evaluated, tmp_path: Path
) -> None:
    suite_copy = tmp_path / "suite"
    shutil.copytree(evaluated.bench.suite, suite_copy)
    shutil.copytree(evaluated.bench.root / "skills", tmp_path / "skills")
    (tmp_path / "skills" / "changelog" / "SKILL.md").write_text(
        "---\nname: changelog\ndescription: edited\n---\nNew rules.\n"
    )
    suite = Suite(str(suite_copy))
    got = suite.received(SCENARIO, "agent-skill", read_key(evaluated.run_dir("agent-skill", 0)))
    assert got.skill is None
    assert got.notes == [
        f"{tmp_path / 'skills' / 'changelog'} has changed since this run: its SKILL.md is not shown"
    ]
    assert got.nudge is not None  # from the run's own key


def test_the_skill_lane_received_skill_md_in_its_argv(tmp_path: Path) -> None:
    folder = tmp_path / "run"
    folder.mkdir()
    argv = ["--print", "--append-system-prompt=# Greeter\nSay hi."]
    (folder / "key.json").write_text(
        json.dumps({"instruction": "Greet.", "argv": argv, "lane": "skill"})
    )
    suite = Suite(str(tmp_path / "no-suite"))
    got = suite.received("s0", "skill", read_key(str(folder)))
    assert got.nudge is None
    assert got.skill is not None
    assert suite.skills[got.skill].text.text == "# Greeter\nSay hi."
    missing = suite.received("s0", "agent-baseline", None)
    assert missing.instruction is None
    assert missing.notes == ["the instruction is not at hand: no key.json in the run folder"]


# ---- a transcript's edits, writes and final text -----------------------------------------------


def test_edit_and_write_calls_come_as_diffs_and_the_file(tmp_path: Path) -> None:
    edit = {
        "file_path": "a.py",
        "old_string": "x = 1\n",
        "new_string": "x = 2\n",
        "replace_all": True,
    }
    odd = {"file_path": "b.py", "old_string": 3}  # not an Edit's shape: stays JSON
    stream = b"".join(
        [
            assistant_line("m", tool_use("1", "Edit", **edit)),
            assistant_line("m", tool_use("2", "Edit", **odd)),
            assistant_line("m", tool_use("3", "Write", file_path="c.md", content="hi\n")),
        ]
    )
    items = load_timeline(run_folder(tmp_path, "edits", stream)).items
    first, second, third = (i for i in items if isinstance(i, ToolCallItem))
    assert (first.path, first.input) == ("a.py", None)
    assert first.edits is not None
    assert [(e.lines, e.replace_all) for e in first.edits] == [(["-x = 1", "+x = 2"], True)]
    assert second.edits is None
    assert second.input is not None
    assert json.loads(second.input.text) == odd
    assert (third.path, third.written, third.input) == ("c.md", Clip(text="hi\n"), None)


def test_the_final_text_is_kept_once(tmp_path: Path) -> None:
    stream = assistant_line("m", {"type": "text", "text": "Working."}) + assistant_line(
        "m", {"type": "text", "text": "Done."}
    )
    items = load_timeline(run_folder(tmp_path, "once", stream + result_line("Done."))).items
    texts = [i for i in items if isinstance(i, TextItem)]
    assert [(t.text.text, t.final) for t in texts] == [("Working.", False), ("Done.", True)]
    end = next(i for i in items if isinstance(i, ResultItem))
    assert end.text is None
    # A result whose text no message said keeps it.
    items = load_timeline(
        run_folder(tmp_path, "other", stream + result_line("Something else."))
    ).items
    end = next(i for i in items if isinstance(i, ResultItem))
    assert end.text == Clip(text="Something else.")
    assert not any(i.final for i in items if isinstance(i, TextItem))


def test_the_page_carries_pairs_and_extras(
    evaluated: Evaluated, monkeypatch: pytest.MonkeyPatch
) -> None:
    from runner._evaluate.results import SuiteResult

    monkeypatch.chdir(evaluated.bench.root)
    page = build_report([StoredResult("r.json", SuiteResult.model_validate(evaluated.report))])
    extras = json_element(page, "extras-0")
    assert extras["pairs"] == [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]
    runs = evaluated.report["runs"]
    a, b = extras["default"]
    assert (runs[a]["lane"], runs[b]["lane"], runs[a]["trial"], runs[b]["trial"]) == (
        "agent-baseline",
        "agent-skill",
        0,
        0,
    )
    pair = json_element(page, f"pair-0-{min(a, b)}-{max(a, b)}")
    assert [f["path"] for f in pair["files"]] == ["CHANGELOG.md"]
    detail = json_element(page, runs[b]["run_dir"] and f"run-0-{b}")
    assert detail["received"]["skill"] in extras["skills"]
