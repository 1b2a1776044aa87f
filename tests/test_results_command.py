"""``python -m runner results`` and ``compare`` on stored results, as a user runs them: every
result a line (scripted never read as billed, partial marked, a broken file said so), and two
results that are not like for like refused, or compared with --force and marked."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner._report.stored import report_parts
from runner._results.compare import compare, differences
from runner._results.history import previous
from runner._results.store import RunStore
from tests.command_support import runner
from tests.report_support import ab_result, flipped, json_element
from tests.store_support import a_store, stored
from tests.suite_commands import report, workbench


def test_an_empty_store_says_how_to_make_a_result(tmp_path: Path) -> None:
    proc = runner("results", "--runs-dir", str(tmp_path / "runs"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        f"no results in {tmp_path / 'runs'}: run `python -m runner eval` (or `ab`) to store one"
    ]


def test_every_stored_result_is_a_line_newest_last(tmp_path: Path) -> None:
    store = a_store(tmp_path / "runs")
    proc = runner("results", "--runs-dir", str(store.root))
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stdout.splitlines()
    names = [line.split()[0] for line in lines]
    assert names == [
        store.scripted.name,
        store.live.name,
        store.more_trials.name,
        store.partial.name,
        store.corrupt.name,
    ]
    scripted, live, three, partial, corrupt = lines
    assert "2026-12-01 10:00Z" in scripted
    assert "3 scenarios × 2 trials" in scripted
    assert "pass agent-baseline 33% (2/6), agent-skill 100% (6/6)" in scripted
    # A scripted model's runs are priced, never billed: no dollar figure as if they were.
    assert scripted.endswith("scripted: nothing billed")
    assert "$" not in scripted
    assert live.endswith("  $0.1320")  # what the runs cost, all of it billed
    assert "3 scenarios × 3 trials" in three
    assert partial.endswith("PARTIAL 3/12 runs")
    assert "pass agent-baseline 50% (1/2), agent-skill 100% (1/1)" in partial  # its runs only
    assert corrupt.startswith(f"{store.corrupt.name}  unreadable: Invalid JSON")


def test_results_as_json(tmp_path: Path) -> None:
    store = a_store(tmp_path / "runs")
    proc = runner("results", "--json", "--runs-dir", str(store.root))
    doc = json.loads(proc.stdout)
    assert [r["mode"] for r in doc["results"]] == ["scripted", "live", "scripted", "scripted"]
    assert [r["partial"] for r in doc["results"]] == [False, False, False, True]
    assert doc["results"][0]["pass_rates"][1] == {"lane": "agent-skill", "passed": 6, "runs": 6}
    [broken] = doc["unreadable"]
    assert broken["name"] == store.corrupt.name


def test_compare_refuses_results_that_are_not_like_for_like(tmp_path: Path) -> None:
    store = a_store(tmp_path / "runs")
    proc = runner(
        "compare", store.scripted.name, store.more_trials.name, "--runs-dir", str(store.root)
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert "not like for like (trials 2 -> 3)" in line
    assert "--force" in line

    live = runner("compare", store.scripted.name, store.live.name, "--runs-dir", str(store.root))
    assert live.returncode == 2
    assert "(model scripted -> live)" in live.stderr


def test_compare_with_force_marks_the_comparison(tmp_path: Path) -> None:
    store = a_store(tmp_path / "runs")
    args = ("compare", store.scripted.name, store.more_trials.name, "--runs-dir", str(store.root))
    text = runner(*args, "--force")
    assert text.returncode == 0, text.stderr
    assert "Not like for like: trials 2 -> 3." in text.stdout
    # The totals' change is no headline: no percentage, and the overall line says why.
    overall = next(line for line in text.stdout.splitlines() if "Overall" in line)
    assert "Overall (not like for like)" in overall
    assert "%" not in overall
    doc = json.loads(runner(*args, "--force", "--json").stdout)
    assert doc["not_like_for_like"] == ["trials 2 -> 3"]


def test_a_like_for_like_comparison_has_no_mark() -> None:
    before = ab_result([(1, 2), (0, 2)], 2)
    comparison = compare(before, flipped(before))
    assert comparison.not_like_for_like == []
    assert not any("like for like" in line for line in comparison.commentary)


def test_differences_name_suite_lanes_trials_and_model(tmp_path: Path) -> None:
    a = a_store(tmp_path / "runs")
    h = RunStore(a.root).load(a.scripted).header
    other = h.model_copy(
        update={"suite": "other", "lanes": ["agent-skill"], "trials": 5, "mode": "live"}
    )
    assert differences(h, other) == [
        "suite fixtures/scenarios -> other",
        "lanes agent-baseline, agent-skill -> agent-skill",
        "trials 2 -> 5",
        "model scripted -> live",
    ]
    # The same lanes in another order, the same folder spelt another way: like for like.
    same = h.model_copy(update={"suite": "./fixtures/scenarios/", "lanes": h.lanes[::-1]})
    assert differences(h, same) == []


def test_a_prefix_several_results_share_is_an_error_naming_some(tmp_path: Path) -> None:
    store = a_store(tmp_path / "runs")
    proc = runner("compare", "0.1.0-main", "latest", "--runs-dir", str(store.root))
    assert proc.returncode == 2
    [line] = proc.stderr.splitlines()
    assert "0.1.0-main: 5 results match (" in line
    assert store.scripted.name in line
    assert "and 2 more); give more of the name" in line


def test_the_previous_result_is_compared_only_like_for_like(tmp_path: Path) -> None:
    store = a_store(tmp_path / "runs")
    runs = RunStore(store.root)
    three = runs.load(store.more_trials)
    # The one before it of its suite is `live`: another trial count and model.
    found = previous(runs, three, exclude=store.more_trials)
    assert found.result is None
    assert found.note == (
        f"not compared with the previous run {store.live.name}: not like for like "
        "(trials 2 -> 3; model live -> scripted)"
    )
    # report of it alone: no comparison on the page, and the note for the terminal.
    page = report_parts(runs, [store.more_trials])
    assert json_element("".join(page.parts), "report-data")["comparisons"] == []
    assert page.note == found.note
    # A like-for-like one is compared.
    later = stored(store.root, three, day=5)
    assert previous(runs, runs.load(later), exclude=later).path == store.more_trials


@pytest.mark.cli
def test_eval_does_not_compare_with_a_previous_result_not_like_for_like(tmp_path: Path) -> None:
    bench = workbench(tmp_path)
    first = bench.eval("--scenarios", "fix-entry", "--trials", "2")
    assert first.returncode == 0, first.stderr
    again = bench.eval("--scenarios", "fix-entry", "--trials", "1", "--json")
    assert again.returncode == 0, again.stderr
    doc = report(again)
    assert doc["comparison"] is None
    assert doc["baseline"] is None
    before = bench.stored()[0].name
    notes = [line for line in again.stderr.splitlines() if "not compared" in line]
    assert notes == [
        f"runner: not compared with the previous run {before}: not like for like (trials 2 -> 1)"
    ]
    text = bench.eval("--scenarios", "fix-entry", "--trials", "1")  # like the one before
    assert "Nothing changed" in text.stdout
    assert "not compared" not in text.stderr


def test_a_finished_result_is_listed_from_its_header(tmp_path: Path) -> None:
    """Its per-lane totals are in the header, so its runs are never read: a file whose runs
    are damaged after the header lists the same. A file written before the header kept them
    is read whole, and lists the same figures."""
    store = a_store(tmp_path / "runs")
    before = json.loads(runner("results", "--json", "--runs-dir", str(store.root)).stdout)
    text = store.scripted.read_text()
    runs_at = text.index('"runs": [')
    store.scripted.write_text(text[:runs_at] + '"runs": [{"not": "a run"')  # header intact
    old = json.loads(store.live.read_text())
    del old["header"]["totals"]["by_lane"]  # as written before runner kept it
    store.live.write_text(json.dumps(old, indent=2))
    after = json.loads(runner("results", "--json", "--runs-dir", str(store.root)).stdout)
    assert after == before
    assert before["results"][1]["pass_rates"] == [
        {"lane": "agent-baseline", "passed": 2, "runs": 6},
        {"lane": "agent-skill", "passed": 6, "runs": 6},
    ]
    # Read whole, the damaged file is no result: the header alone was what listed it.
    whole = runner("compare", str(store.scripted), str(store.more_trials))
    assert whole.returncode != 0
    assert "Invalid JSON" in whole.stderr
