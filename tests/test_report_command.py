"""``python -m runner report``: stored results (from a real offline eval) to one HTML file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner._evaluate.results import SuiteResult
from runner._results.ab import analyze
from runner._results.eval_report import EvalReport
from tests.replay_support import Evaluated
from tests.report_support import SEQUENTIAL_LEVELS, flipped, json_element, sequential_study
from tests.suite_commands import run_runner

pytestmark = pytest.mark.cli


def _store(evaluated: Evaluated, tmp: Path) -> Path:
    """A copy of the session eval's run store, for this test to add to."""
    runs = tmp / "runs"
    shutil.copytree(evaluated.bench.root / "runs", runs)
    return runs


def _report(tmp: Path, runs: Path, *refs: str) -> tuple[int, str, str, str]:
    out = tmp / "report.html"
    proc = run_runner("report", *refs, "--runs-dir", str(runs), "-o", str(out), cwd=tmp)
    page = out.read_text() if out.exists() else ""
    return proc.returncode, proc.stdout, proc.stderr, page


def test_report_of_the_latest_eval(evaluated: Evaluated, tmp_path: Path) -> None:
    runs = _store(evaluated, tmp_path)
    code, out, err, page = _report(tmp_path, runs)
    assert code == 0, err
    assert f"wrote {tmp_path / 'report.html'} (4 runs" in out
    data = json_element(page, "report-data")
    [result] = data["results"]
    assert [(r["lane"], r["trial"]) for r in result["rows"]] == [
        ("agent-baseline", 0),
        ("agent-baseline", 1),
        ("agent-skill", 0),
        ("agent-skill", 1),
    ]
    assert [lane["label"] for lane in result["lanes"]] == ["agent-baseline", "agent-skill"]
    assert result["ab"]["effects"][0]["b"] == "agent-skill"
    # Each run's transcript came from its cached run folder: the real CLI's tool calls.
    first = json_element(page, result["rows"][2]["detail"])
    assert "Skill" in page
    assert first["timeline"]["items"], first
    assert data["comparisons"] == []  # one eval in the store: nothing before it


def test_report_compares_two_results(evaluated: Evaluated, tmp_path: Path) -> None:
    runs = _store(evaluated, tmp_path)
    [stored] = sorted(runs.glob("*.json"))
    later = flipped(SuiteResult.model_validate_json(stored.read_text()))
    later = later.model_copy(
        update={"header": later.header.model_copy(update={"started_at": "2099-01-01T00:00:00"})}
    )
    (runs / "later.json").write_text(later.model_dump_json())
    # One result: compared with the run before it.
    code, _, err, page = _report(tmp_path, runs, "later")
    assert code == 0, err
    [cmp] = json_element(page, "report-data")["comparisons"]
    assert (cmp["before"], cmp["after"]) == (stored.name, "later.json")
    assert [r["status"] for r in cmp["comparison"]["runs"]].count("regressed") == 1
    # Two: both shown, the second compared with the first.
    code, _, err, page = _report(tmp_path, runs, stored.name, "later")
    assert code == 0, err
    data = json_element(page, "report-data")
    assert [r["name"] for r in data["results"]] == [stored.name, "later.json"]
    assert len(data["comparisons"]) == 1


def test_report_of_a_sequential_study_shows_the_verdicts_ab_printed(tmp_path: Path) -> None:
    # What `ab --until-decided --out ab.json` writes: the result, whose header keeps the level
    # of the look that decided it and the study's looks, and the A/B as printed.
    study = sequential_study()
    out = EvalReport(**dict(study.result), ab=analyze(study.result))
    (tmp_path / "ab.json").write_text(out.model_dump_json())
    code, _, err, page = _report(tmp_path, tmp_path / "runs", "ab.json")
    assert code == 0, err
    ab = json_element(page, "report-data")["results"][0]["ab"]
    assert ab["sequential"]["runs"] == 40
    assert ab["effects"][0]["alpha"] == SEQUENTIAL_LEVELS[1]
    printed = json.loads(out.model_dump_json())["ab"]["effects"][0]
    assert [ab["effects"][0][k] for k in ("verdict", "reason", "ci")] == [
        printed[k] for k in ("verdict", "reason", "ci")
    ]
    # An older runner's file (no verdict settings): the defaults, 5% and +-10 points.
    older = json.loads(out.model_dump_json())
    del older["header"]["verdicts"], older["ab"]
    (tmp_path / "older.json").write_text(json.dumps(older))
    code, _, err, page = _report(tmp_path, tmp_path / "runs", "older.json")
    assert code == 0, err
    ab = json_element(page, "report-data")["results"][0]["ab"]
    assert "sequential" not in ab
    assert (ab["effects"][0]["alpha"], ab["effects"][0]["verdict"]) == (0.05, "better")


def test_report_errors_are_one_line(tmp_path: Path) -> None:
    code, _, err, page = _report(tmp_path, tmp_path / "empty")
    assert code == 2
    assert "holds 0 complete results (run `python -m runner eval` first)" in err
    assert len(err.strip().splitlines()) == 1
    assert page == ""
    code, _, err, _ = _report(tmp_path, tmp_path / "empty", "nope")
    assert code == 2
    assert "nope: no such file" in err
    assert "Traceback" not in err
