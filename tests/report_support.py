"""Test support for the dashboard: runs made from the captured transcripts, or made up with the
outcomes an A/B verdict needs, a result of them, and a page's JSON elements read back."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from typing import Any

from runner._evaluate.results import (
    CheckResult,
    Look,
    RunResult,
    Sequential,
    SuiteHeader,
    SuiteResult,
    Totals,
    VerdictSettings,
)
from runner._report.views import StoredResult
from runner._results.sequential import spending
from runner._transcript.stream import iter_events
from runner._transcript.summarize import summarize

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


def stream_line(event: dict[str, Any]) -> bytes:
    """One line of a made-up stream-json transcript."""
    return json.dumps(event).encode() + b"\n"


def assistant_line(msg_id: str, *content: dict[str, Any]) -> bytes:
    message = {"id": msg_id, "model": "claude-sonnet-4-5", "content": list(content)}
    return stream_line({"type": "assistant", "message": message, "parent_tool_use_id": None})


def tool_use(call_id: str, name: str, **tool_input: Any) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": name, "input": tool_input}


def tool_result_line(call_id: str, text: str) -> bytes:
    block = {"type": "tool_result", "tool_use_id": call_id, "content": text}
    return stream_line(
        {"type": "user", "message": {"content": [block]}, "parent_tool_use_id": None}
    )


def result_line(text: str) -> bytes:
    """The run's end: success, with ``text`` as its final text."""
    event = {"type": "result", "subtype": "success", "is_error": False, "result": text}
    return stream_line({**event, "num_turns": 5, "total_cost_usd": 0.01})


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


def made_run(
    scenario: str,
    lane: str,
    trial: int,
    passed: bool,
    *,
    cost_usd: float | None = 0.01,
    num_turns: int | None = 3,
    skills_invoked: tuple[str, ...] = (),
    skill_errors: tuple[str, ...] = (),
) -> RunResult:
    """A run with no folder: its outcome and figures as given."""
    return RunResult(
        scenario=scenario,
        lane=lane,
        trial=trial,
        passed=passed,
        exit_reason="success",
        cache_hit=False,
        cache_key=f"key-{scenario}-{lane}-{trial}",
        live=False,
        cost_usd=cost_usd,
        num_turns=num_turns,
        duration_ms=2000,
        skills_invoked=list(skills_invoked),
        skill_errors=list(skill_errors),
        checks=[]
        if passed
        else [CheckResult(name="file_exists out.txt", passed=False, detail="no")],
    )


def ab_result(
    passes: list[tuple[int, int]], trials: int, cost_ratios: list[float] | None = None
) -> SuiteResult:
    """agent-baseline (A) against agent-skill (B): scenario i's A passes its first
    ``passes[i][0]`` trials of ``trials``, B its first ``passes[i][1]``; B's runs cost
    ``cost_ratios[i]`` times A's (the same when None). Every B run invoked the skill."""
    runs = []
    for i, (a, b) in enumerate(passes):
        cost = 0.01 * (1 + i / 10)
        ratio = 1.0 if cost_ratios is None else cost_ratios[i]
        for t in range(trials):
            runs.append(made_run(f"s{i}", "agent-baseline", t, t < a, cost_usd=cost))
        for t in range(trials):
            runs.append(
                made_run(
                    f"s{i}",
                    "agent-skill",
                    t,
                    t < b,
                    cost_usd=cost * ratio,
                    skills_invoked=("greeter",),
                )
            )
    return suite_of(runs, trials=trials)


# Per scenario (A passes, B passes), trials per scenario, and B's cost over A's by scenario:
# outcomes whose A/B verdict (a paired t over per-scenario differences, TOST within +-10 points)
# is the key, and whose cost verdicts are costs more, costs less, same cost and inconclusive.
VERDICT_CASES: dict[str, tuple[list[tuple[int, int]], int, list[float] | None]] = {
    "better": ([(1, 3), (1, 4), (0, 3), (1, 4), (2, 4)], 4, [1.4, 1.5, 1.6, 1.5, 1.45]),
    "worse": ([(3, 1), (4, 1), (3, 0), (4, 1), (4, 2)], 4, [0.6, 0.7, 0.65, 0.7, 0.6]),
    # Within +-10 points takes many trials: the binomial noise alone floors the error.
    "equivalent": (
        [(20, 20), (21, 20), (20, 21), (19, 19), (22, 22), (20, 20), (21, 21), (19, 20)],
        40,
        None,
    ),
    # The skill helps on some scenarios and hurts on others.
    "inconclusive": ([(1, 3), (3, 1), (2, 4), (4, 2), (2, 3)], 4, [0.7, 1.3, 1.0, 0.8, 1.25]),
}


def verdict_result(verdict: str) -> SuiteResult:
    return ab_result(*VERDICT_CASES[verdict])


# The levels of `ab --until-decided --trials 2 --max-trials 8`: four looks' shares of 5%.
SEQUENTIAL_LEVELS = spending([0.25, 0.5, 0.75, 1.0])


def sequential_study() -> StoredResult:
    """What `ab --until-decided --trials 2 --max-trials 8` leaves: the better result,
    undecided at its first look (2 trials), decided at its second (4 of up to 8)."""
    # Strong enough to be better at the second look's level (under 1%).
    result = ab_result([(0, 4), (0, 4), (1, 4), (0, 4), (0, 3)], 4, None)
    first, second = SEQUENTIAL_LEVELS[:2]
    study = Sequential(
        round_trials=2,
        max_trials=8,
        looks=[
            Look(trials=2, alpha=first, verdicts=["inconclusive"]),
            Look(trials=4, alpha=second, verdicts=["better"]),
        ],
        stopped="decided: agent-skill better",
        runs=len(result.runs),
        max_runs=2 * len(result.runs),
    )
    verdicts = VerdictSettings(alpha=second, sequential=study)
    header = result.header.model_copy(update={"verdicts": verdicts})
    return StoredResult("sequential.json", result.model_copy(update={"header": header}))


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


# The CHANGELOG.md lines the real eval's runs write (tests/replay_support's fix-entry): the
# baseline's, and the skill's, as its SKILL.md asks.
BASELINE_ENTRY = "- Fixed a crash in parse_date when given an empty string"
SKILL_ENTRY = "- Return `None` from `parse_date` for an empty string instead of crashing (#142)"


def earlier(result: SuiteResult) -> SuiteResult:
    """``result`` (the real eval of two lanes, two trials) as an earlier eval might have left
    it: its agent-skill #0 the agent-baseline #0 run (which failed, so it improves after) and
    its agent-baseline #1 the agent-skill #1 run (which passed, so it regresses after)."""
    runs: dict[tuple[str, int], RunResult] = {(r.lane, r.trial): r for r in result.runs}
    taken = {("agent-skill", 0): ("agent-baseline", 0), ("agent-baseline", 1): ("agent-skill", 1)}
    before = [
        runs[taken[key]].model_copy(update={"lane": key[0], "trial": key[1]})
        if (key := (r.lane, r.trial)) in taken
        else r
        for r in result.runs
    ]
    return result.model_copy(update={"runs": before})
