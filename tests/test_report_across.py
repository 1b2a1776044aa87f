"""Side by side across a comparison, as the page's JSON holds it: a run of the before result
beside the same scenario, lane and trial of the after result, only for the runs that changed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from runner._agent.workspace import FileChange
from runner._evaluate.results import CheckResult, RunResult, SuiteResult
from runner._report.page import build_report
from runner._report.pairs import RunFiles, changed, file_diffs
from runner._report.views import StoredResult
from runner._results.compare import compare
from tests.replay_support import Evaluated
from tests.report_support import BASELINE_ENTRY, SKILL_ENTRY, earlier, json_element, made_run


@pytest.fixture(scope="module")
def two(evaluated: Evaluated) -> tuple[StoredResult, StoredResult]:
    """The real eval as after, and before it the same with one run improving after and one
    regressing (each another lane's run of the same trial)."""
    after = SuiteResult.model_validate(evaluated.report)
    return StoredResult("before.json", earlier(after)), StoredResult("after.json", after)


def built(
    evaluated: Evaluated, results: list[StoredResult], before: StoredResult, after: StoredResult
) -> str:
    # Where the eval ran, as `report` is run: the suite the results name is found.
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(evaluated.bench.root)
        return build_report(results, [(before, after)])


def index_of(result: StoredResult, run_id: str) -> int:
    return next(i for i, r in enumerate(result.result.runs) if r.run_id == run_id)


def pair_of(across: dict[str, Any], run_id: str) -> dict[str, Any]:
    return next(p for p in across["pairs"] if p["run_id"] == run_id)


SKILL_0 = "fix-entry/agent-skill#0"  # improved: the baseline's run before
BASELINE_1 = "fix-entry/agent-baseline#1"  # regressed: the skill's run before


def test_only_the_runs_that_changed_are_paired_before_as_a(
    evaluated: Evaluated, two: tuple[StoredResult, StoredResult]
) -> None:
    before, after = two
    page = built(evaluated, [before, after], before, after)
    across = json_element(page, "across-0")
    statuses = {r.run_id: r.status for r in compare(before.result, after.result).runs}
    assert statuses[SKILL_0] == "improved"
    assert statuses[BASELINE_1] == "regressed"
    # The two that flipped, in the comparison's order; the two unchanged ones (the same runs
    # in both) have none.
    expected = [r.run_id for r in after.result.runs if r.run_id in (SKILL_0, BASELINE_1)]
    assert [p["run_id"] for p in across["pairs"]] == expected
    assert sorted(s for s in statuses.values() if s == "unchanged") == ["unchanged"] * 2
    # Each side's run is the result's own, its transcript the one the page already holds.
    i, j = index_of(before, SKILL_0), index_of(after, SKILL_0)
    improved = pair_of(across, SKILL_0)
    assert (improved["a"]["detail"], improved["b"]["detail"]) == (f"run-0-{i}", f"run-1-{j}")
    assert (improved["a"]["passed"], improved["b"]["passed"]) == (False, True)
    assert improved["a"]["lane"] == improved["b"]["lane"] == "agent-skill"
    assert "across-0-a-run-" not in page
    pair = json_element(page, improved["pair"])
    assert (pair["a"], pair["b"]) == (i, j)
    # Before wrote the baseline's entry and called no skill; after, the skill's.
    [diff] = pair["files"]
    assert diff["path"] == "CHANGELOG.md"
    assert "-" + BASELINE_ENTRY in diff["lines"]
    assert "+" + SKILL_ENTRY in diff["lines"]
    assert pair["tools"][0] == [None, 0]
    regressed = json_element(page, pair_of(across, BASELINE_1)["pair"])
    assert "-" + SKILL_ENTRY in regressed["files"][0]["lines"]
    assert across["skills_b"] == json_element(page, "extras-1")["skills"]


def test_a_result_not_in_the_page_brings_its_paired_runs_transcripts_only(
    evaluated: Evaluated, two: tuple[StoredResult, StoredResult]
) -> None:
    before, after = two  # as `report latest` shows one result, compared with the previous
    page = built(evaluated, [after], before, after)
    across = json_element(page, "across-0")
    assert [p["run_id"] for p in across["pairs"]] == [
        r.run_id for r in after.result.runs if r.run_id in (SKILL_0, BASELINE_1)
    ]
    improved = pair_of(across, SKILL_0)
    i = index_of(before, SKILL_0)
    assert improved["a"]["detail"] == f"across-0-a-run-{i}"
    assert improved["b"]["detail"] == f"run-0-{index_of(after, SKILL_0)}"
    detail = json_element(page, improved["a"]["detail"])
    assert detail["run_id"] == SKILL_0
    baseline_0 = evaluated.result("agent-baseline", 0)
    assert [c["name"] for c in detail["checks"]] == [c["name"] for c in baseline_0["checks"]]
    # The unchanged runs' transcripts are not carried twice.
    carried = {p["a"]["detail"] for p in across["pairs"]}
    assert page.count('id="across-0-a-run-') == len(carried) == 2
    assert "across-0-b-run-" not in page


def run(**fields: Any) -> RunResult:
    return made_run("s0", "agent-skill", 0, True).model_copy(
        update={"tool_sequence": ["Read"], **fields}
    )


def wrote(tmp_path: Path, name: str, text: str) -> RunFiles:
    (tmp_path / name / "files").mkdir(parents=True)
    (tmp_path / name / "files" / "out.txt").write_text(text)
    added = FileChange(path="out.txt", change="added")
    return RunFiles(tmp_path / name, {"out.txt": added}, None, True)


def test_a_run_changed_by_outcome_exit_check_tool_calls_or_a_file(tmp_path: Path) -> None:
    assert not changed(run(), run(), [])
    check = CheckResult(name="file_exists out.txt", passed=True, detail="there")
    for other in (
        run(passed=False),
        run(exit_reason="max_turns"),
        run(checks=[check]),
        run(tool_sequence=["Read", "Edit"]),
    ):
        assert changed(run(), other, [])
    one, same, edited = (wrote(tmp_path, n, t) for n, t in [("1", "x\n"), ("2", "x\n"), ("3", "y")])
    assert file_diffs(one, same) == ([], None)
    files, _ = file_diffs(one, edited)
    assert [f.path for f in files] == ["out.txt"]
    assert changed(run(), run(), files)
