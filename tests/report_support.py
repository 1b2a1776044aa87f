"""Test support for the dashboard: runs made from the captured transcripts, a result of them,
and a page's JSON elements read back."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from runner.results import RunResult, SuiteHeader, SuiteResult, Totals
from runner.stream import iter_events
from runner.transcript import summarize

TRANSCRIPTS = Path(__file__).resolve().parent.parent / "fixtures" / "transcripts"


def run_folder(tmp: Path, name: str, stream: bytes | None = None) -> Path:
    """A run folder holding ``stream`` (default: the captured transcript ``name``)."""
    folder = tmp / "runs" / name
    folder.mkdir(parents=True, exist_ok=True)
    if stream is None:
        shutil.copyfile(TRANSCRIPTS / f"{name}.ndjson", folder / "stream.ndjson")
    else:
        (folder / "stream.ndjson").write_bytes(stream)
    return folder


def fixture_run(
    tmp: Path, name: str, *, lane: str = "agent-baseline", trial: int = 0, passed: bool = True
) -> RunResult:
    """A run of scenario ``name`` whose folder holds that captured transcript; its figures are
    the transcript's."""
    folder = run_folder(tmp, name)
    with (folder / "stream.ndjson").open("rb") as f:
        s = summarize(iter_events(f))
    return RunResult(
        scenario=name,
        lane=lane,
        trial=trial,
        passed=passed,
        exit_reason="success" if s.status == "success" else s.status,
        cache_hit=False,
        cache_key=f"key-{name}-{lane}-{trial}",
        live=False,
        cost_usd=s.best_cost_usd,
        num_turns=s.num_turns,
        duration_ms=s.duration_ms,
        usage=s.usage,
        tool_sequence=s.tool_sequence,
        skills_invoked=s.skills_invoked,
        run_dir=str(folder),
    )


def suite_of(runs: list[RunResult], *, trials: int = 1, aa: str | None = None) -> SuiteResult:
    lanes = list(dict.fromkeys(r.lane for r in runs))
    header = SuiteHeader(
        runner_version="0.1.0",
        branch="main",
        sha="0123456789abcdef",
        started_at="2026-11-21T00:00:00+00:00",
        partial=False,
        suite="fixtures/scenarios",
        lanes=lanes,
        scenarios=list(dict.fromkeys(r.scenario for r in runs)),
        trials=trials,
        aa=aa,
        mode="scripted",
        planned=len(runs),
        totals=Totals.of(runs),
    )
    return SuiteResult(header=header, runs=runs)


def json_element(page: str, element_id: str) -> Any:
    """The data a page's ``<script type="application/json" id=...>`` element holds."""
    found = re.search(
        rf'<script type="application/json" id="{re.escape(element_id)}">(.*?)</script>',
        page,
        re.DOTALL,
    )
    assert found is not None, f"no JSON element {element_id} in the page"
    return json.loads(found.group(1))


def flipped(result: SuiteResult) -> SuiteResult:
    """``result`` with its first passing run now failing a check."""
    runs: list[RunResult] = list(result.runs)
    i = next(i for i, r in enumerate(runs) if r.passed)
    runs[i] = runs[i].model_copy(update={"passed": False})
    return result.model_copy(update={"runs": runs})
