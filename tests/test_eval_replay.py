"""``eval --record`` / ``--replay``: a suite recorded once through the proxy replays with the
real CLI and no model, with the same scores at $0; divergence is reported precisely; no
secret reaches a cassette."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runner._agent.lanes import get_lane
from runner._evaluate.cache import RunCache
from runner._evaluate.planning import plan
from runner._evaluate.scenarios import load_suite
from runner._evaluate.suite import SuiteRunner
from runner._evaluate.tapes import Cassettes
from runner._model.cassette import read_cassette
from tests.suite_commands import (
    EXAMPLE_SUITE,
    Workbench,
    live_upstream,
    offline_env,
    report,
    settings,
    workbench,
)

pytestmark = pytest.mark.cli

REAL_KEY = "sk-ant-api03-" + "Zq9" * 12
OTHER_SECRET = "tok-" + "7f3a" * 6
# What every run's scripted model says once the recording is made: replay must not ask it.
POISON = {"turns": [{"error": {"status": 400, "message": "the upstream was asked"}}]}


@pytest.fixture
def bench(tmp_path: Path) -> Workbench:
    return workbench(tmp_path)


def scores(doc: dict[str, Any]) -> dict[str, Any]:
    return {
        f"{r['scenario']}/{r['lane']}#{r['trial']}": (r["passed"], r["checks"], r["tool_sequence"])
        for r in doc["runs"]
    }


def poison_models(bench: Workbench) -> None:
    for mock in bench.suite.glob("*/mock/*.json"):
        mock.write_text(json.dumps(POISON))


def test_a_suite_recorded_once_replays_offline_with_the_same_scores_at_no_cost(
    bench: Workbench,
) -> None:
    tapes = bench.root / "cassettes"
    recorded = bench.eval("--record", str(tapes), "--json")
    assert recorded.returncode == 0, recorded.stderr
    first = report(recorded)
    assert {r["replay"] for r in first["runs"]} == {"recorded"}
    assert sorted(p.relative_to(tapes).as_posix() for p in tapes.rglob("*.ndjson")) == [
        "feature-entry/agent-skill-0.ndjson",
        "fix-entry/agent-skill-0.ndjson",
        "new-changelog/agent-skill-0.judge-0.ndjson",
        "new-changelog/agent-skill-0.ndjson",
    ]
    assert not list(tapes.rglob("*.partial"))
    header = read_cassette(tapes / "fix-entry" / "agent-skill-0.ndjson").header
    fix = next(r for r in first["runs"] if r["scenario"] == "fix-entry")
    assert header.cost_usd == fix["cost_usd"]
    assert header.exchanges == fix["num_turns"] - 1  # the Skill load is a turn, not a request

    poison_models(bench)
    started = bench.cli_runs()
    replayed = bench.eval("--replay", str(tapes), "--no-cache", "--json")
    assert replayed.returncode == 0, replayed.stderr
    again = report(replayed)
    assert scores(again) == scores(first)
    assert bench.cli_runs() - started == 4  # three agents and the judge, all the real CLI
    for before, after in zip(first["runs"], again["runs"], strict=True):
        assert after["replay"] == "replayed"
        assert not after["live"]
        assert after["billed_usd"] == 0.0
        assert after["recorded_cost_usd"] == before["cost_usd"]
    totals = again["header"]["totals"]
    assert totals["replayed"] == 3
    assert totals["recorded_cost_usd"] == pytest.approx(first["header"]["totals"]["cost_usd"])
    assert again["header"]["cassettes"] == str(tapes)

    cached = bench.eval("--replay", str(tapes))  # into the cache this time
    assert cached.returncode == 0, cached.stderr
    started = bench.cli_runs()
    text = bench.eval("--replay", str(tapes))  # a replay is cached too: no CLI at all
    assert text.returncode == 0, text.stderr
    assert bench.cli_runs() == started
    assert "3 from cache" in text.stdout
    assert "replay: 3 runs replayed for $0.0000; recording them cost $0.1" in text.stdout
    assert "replayed (recorded $0.05" in text.stdout


def test_a_live_recording_keeps_no_secret_and_replays_with_the_upstream_stopped(
    bench: Workbench,
) -> None:
    tapes = bench.root / "cassettes"
    with live_upstream(bench) as (url, log):
        env = offline_env(
            ANTHROPIC_API_KEY=REAL_KEY, ANTHROPIC_BASE_URL=url, SERVICE_TOKEN=OTHER_SECRET
        )
        recorded = bench.eval("--scenarios", "fix-entry", "--record", str(tapes), "--json", env=env)
    assert recorded.returncode == 0, recorded.stderr
    first = report(recorded)
    assert first["header"]["mode"] == "live"
    upstream_requests = [ln for ln in log.read_text().splitlines() if ln.startswith("POST")]
    assert len(upstream_requests) == 4

    raw = (tapes / "fix-entry" / "agent-skill-0.ndjson").read_bytes()
    assert REAL_KEY.encode() not in raw
    assert OTHER_SECRET.encode() not in raw
    assert b"sk-scripted" not in raw  # the CLI's own dummy key is not kept either
    assert b"x-api-key" not in raw
    assert b'"authorization":' not in raw.lower()  # as a header (the prompt says the word)
    assert re.search(rb"runner-[a-z0-9_]{8}", raw) is None  # no workspace or run path
    assert b"{runner:workspace}" in raw
    assert read_cassette(tapes / "fix-entry" / "agent-skill-0.ndjson").header.upstream == (
        "127.0.0.1"
    )

    # The upstream is gone: any request to it would fail the run.
    replayed = bench.eval(
        "--scenarios", "fix-entry", "--replay", str(tapes), "--no-cache", "--json", env=env
    )
    assert replayed.returncode == 0, replayed.stderr
    again = report(replayed)
    assert scores(again) == scores(first)
    assert again["runs"][0]["billed_usd"] == 0.0
    assert (first["runs"][0]["live"], again["runs"][0]["live"]) == (True, False)
    assert first["runs"][0]["billed_usd"] == first["runs"][0]["cost_usd"] > 0
    assert len(log.read_text().splitlines()) == len(upstream_requests)


@pytest.fixture
def recorded(bench: Workbench) -> Path:
    """fix-entry recorded, its scripted models poisoned: a replay must not reach them."""
    tapes = bench.root / "cassettes"
    proc = bench.eval("--scenarios", "fix-entry", "--record", str(tapes))
    assert proc.returncode == 0, proc.stderr
    poison_models(bench)
    return tapes / "fix-entry" / "agent-skill-0.ndjson"


def replay(bench: Workbench, tapes: Path) -> tuple[subprocess.CompletedProcess[str], str]:
    proc = bench.eval("--scenarios", "fix-entry", "--replay", str(tapes), "--no-cache", "--json")
    run = report(proc)["runs"][0]
    assert proc.returncode == 1
    assert run["exit_reason"] == "replay_diverged"
    assert not run["passed"]
    return proc, str(run["error"])


def test_an_edited_instruction_diverges_at_the_first_request_with_a_diff(
    bench: Workbench, recorded: Path
) -> None:
    toml = bench.scenario_file("fix-entry")
    toml.write_text(toml.read_text().replace("I fixed a bug", "I fixed two bugs", 1))
    proc, error = replay(bench, recorded.parent.parent)
    headline, *diff = error.splitlines()
    assert headline == (
        "fix-entry/agent-skill#0: replay diverged: request 0 (POST /v1/messages?beta=true) "
        "differs from exchange 0"
    )
    assert any(
        line.strip().startswith("-messages[0].content[1].text: I fixed a bug") for line in diff
    )
    assert any(
        line.strip().startswith("+messages[0].content[1].text: I fixed two bugs") for line in diff
    )
    assert "replay diverged: request 0" in proc.stdout


def _rewrite(cassette: Path, change: Any) -> None:
    header, *exchanges = cassette.read_text().splitlines()
    cassette.write_text("\n".join([header, *change(exchanges)]) + "\n")


def test_a_cassette_cut_short_fails_at_the_request_past_its_end(
    bench: Workbench, recorded: Path
) -> None:
    _rewrite(recorded, lambda exchanges: exchanges[:-1])
    kept = len(read_cassette(recorded).exchanges)
    _, error = replay(bench, recorded.parent.parent)
    assert error.startswith(
        f"fix-entry/agent-skill#0: replay diverged: request {kept} (POST /v1/messages?beta=true) "
        "comes after the cassette's last reply"
    )
    assert f"the cassette holds {kept} exchanges" in error


def test_a_recorded_reply_nobody_asked_for_fails_the_run(bench: Workbench, recorded: Path) -> None:
    def one_more(exchanges: list[str]) -> list[str]:
        extra = json.loads(exchanges[-1])
        extra["index"] = len(exchanges)
        return [*exchanges, json.dumps(extra)]

    _rewrite(recorded, one_more)
    total = len(read_cassette(recorded).exchanges)
    _, error = replay(bench, recorded.parent.parent)
    assert error.startswith(
        f"fix-entry/agent-skill#0: replay diverged: the run ended with exchange {total - 1} unused"
    )
    assert f"1 of {total} recorded exchanges were never requested" in error


def test_a_missing_cassette_is_an_error_before_anything_runs_unless_asked_to_record(
    bench: Workbench, recorded: Path
) -> None:
    tapes = recorded.parent.parent
    started = bench.cli_runs()
    proc = bench.eval("--replay", str(tapes))
    assert proc.returncode == 2
    missing = tapes / "feature-entry" / "agent-skill-0.ndjson"
    assert proc.stderr.strip() == (
        f"runner: {missing}: no cassette for feature-entry/agent-skill#0; record it with "
        f"--record {tapes}, or add --replay-mode new to record what is missing"
    )
    assert bench.cli_runs() == started

    # new: only what is missing is recorded (against the scenario's model: unpoison it).
    for name in ("skill.json", "baseline.json"):
        (bench.suite / "feature-entry" / "mock" / name).write_text(
            (EXAMPLE_SUITE / "feature-entry" / "mock" / name).read_text()
        )
    proc = bench.eval("--replay", str(tapes), "--replay-mode", "new", "--scenarios",
                      "fix-entry,feature-entry", "--json")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    modes = {r["scenario"]: r["replay"] for r in report(proc)["runs"]}
    assert modes == {"fix-entry": "replayed", "feature-entry": "recorded"}
    assert missing.is_file()


def test_bad_cassettes_and_options_are_one_line_errors(bench: Workbench, recorded: Path) -> None:
    tapes = recorded.parent.parent
    proc = bench.eval("--replay-mode", "new")
    assert proc.returncode == 2
    assert proc.stderr.strip() == (
        "runner: --replay-mode: goes with --replay DIR (--record DIR records every run)"
    )
    recorded.write_text('{"kind": "exchange"}\n')
    proc = bench.eval("--scenarios", "fix-entry", "--replay", str(tapes))
    assert proc.returncode == 2
    line = proc.stderr.strip()
    assert "\n" not in line
    assert line.startswith(f"runner: {recorded}:1: not a runner cassette header")
    assert line.endswith(f"record it again with --record {tapes}")
    proc = bench.eval("--record", str(tapes), "--replay", str(tapes))
    assert proc.returncode == 2
    assert "not allowed with argument" in proc.stderr


@pytest.mark.anyio
async def test_record_then_replay_in_process(tmp_path: Path, bench: Workbench) -> None:
    # The same path as eval's, on asyncio and on trio.
    scenarios = load_suite(bench.suite, ["fix-entry"])
    lanes = [get_lane("agent-skill")]
    tapes = tmp_path / "tapes"
    record = settings(cassettes=Cassettes(tapes, "all"), workspace_parent=tmp_path / "ws")
    first = await SuiteRunner(record, RunCache(tmp_path / "c")).run_plan(
        plan(scenarios, lanes, 1, record)
    )
    poison_models(bench)
    scenarios = load_suite(bench.suite, ["fix-entry"])
    play = settings(cassettes=Cassettes(tapes, "none"), workspace_parent=tmp_path / "ws")
    units = plan(scenarios, lanes, 1, play)
    assert units[0].key.mode == "replay"
    assert (
        units[0].key.cassette == read_cassette(tapes / "fix-entry" / "agent-skill-0.ndjson").digest
    )
    again = await SuiteRunner(play, RunCache(tmp_path / "c")).run_plan(units)
    assert [(r.passed, r.checks) for r in again] == [(r.passed, r.checks) for r in first]
    assert [r.replay for r in first + again] == ["recorded", "replayed"]
    assert not list((tmp_path / "ws").iterdir())


def test_the_committed_example_cassettes_replay_here(bench: Workbench) -> None:
    # Recorded on another day, in other folders, maybe on another kernel: still the same runs.
    tapes = EXAMPLE_SUITE.parent / "cassettes"
    proc = bench.eval(
        "--replay", str(tapes), "--variant", "agent-baseline,agent-skill", "--no-cache", "--json"
    )
    assert proc.returncode == 1, proc.stderr  # the baseline lane fails its checks, as recorded
    runs = report(proc)["runs"]
    assert {r["exit_reason"] for r in runs} == {"success"}, [r["error"] for r in runs]
    assert {r["lane"]: r["passed"] for r in runs if r["scenario"] == "fix-entry"} == {
        "agent-baseline": False,
        "agent-skill": True,
    }
    assert all(r["replay"] == "replayed" and r["billed_usd"] == 0 for r in runs)


def test_a_recording_that_fails_is_kept_aside_not_as_a_cassette(bench: Workbench) -> None:
    poison_models(bench)  # the model answers 400: the run ends with an API error
    tapes = bench.root / "cassettes"
    proc = bench.eval("--scenarios", "fix-entry", "--record", str(tapes))
    assert proc.returncode == 1
    partial = tapes / "fix-entry" / "agent-skill-0.ndjson.partial"
    assert f"warning: {partial}: not kept as a cassette (the run ended: api_error)" in proc.stderr
    assert not partial.with_suffix("").exists()
    said = [json.loads(line) for line in partial.read_text().splitlines()]
    assert said  # what was said, to look at
    assert {ex["response"]["status"] for ex in said} == {400}
