"""run_one end to end: the real pinned CLI in every lane, against the scripted endpoint, and
every fault ending in the right exit_reason with its stream and record on disk."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import anyio
import pytest

from runner._agent import jail
from runner._agent.claude import LOCAL_KEY
from runner._agent.claude_bin import ClaudeBinary
from runner._agent.engine import RunOptions, RunRecord, RunSpec, run_one
from runner._agent.lanes import DEFAULT_NUDGE, render_nudge
from runner._model.mock_api import RecordedRequest
from runner._model.script import text, tool
from runner._transcript.stream import aiter_file_events
from tests.clirun import GREETER, SKILL_MD
from tests.engine_support import (
    background_command,
    fake_claude,
    marker,
    processes_with,
    scripted_run,
)

pytestmark = [pytest.mark.anyio, pytest.mark.cli]

GREET = {
    "turns": [
        {"content": [tool("Skill", skill="greeter")]},
        {"content": [tool("Write", file_path="greeting.txt", content="Hello, world!\n")]},
        {"content": [text("Greeted.")]},
    ]
}
ANSWER = {"turns": [{"content": [text("Hello!")]}]}
NUDGE = render_nudge(DEFAULT_NUDGE, "greeter")


def system_text(request: RecordedRequest) -> str:
    return "\n".join(block["text"] for block in request.body["system"])


def model_requests(requests: list[RecordedRequest]) -> list[RecordedRequest]:
    return [r for r in requests if r.path == "/v1/messages"]


def on_disk(run_dir: Path) -> RunRecord:
    return RunRecord.model_validate_json((run_dir / "record.json").read_bytes())


# ---- lanes ----------------------------------------------------------------------------------


async def test_agent_skill_invokes_the_skill_and_writes_the_file(tmp_path: Path) -> None:
    skill = GREETER
    fixture = tmp_path / "fixture"
    fixture.mkdir()
    (fixture / "README.md").write_text("# project\n")
    run = await scripted_run(GREET, tmp_path, "agent-skill", skill=skill, fixture=fixture)
    rec = run.record
    assert rec.exit_reason == "success", rec.diagnostics.agent_log
    assert rec.transcript.skills_invoked == ["greeter"]
    assert rec.transcript.tool_sequence == ["Skill", "Write"]
    assert [(f.path, f.change) for f in rec.files] == [("greeting.txt", "added")]
    assert (run.run_dir / "files" / "greeting.txt").read_text() == "Hello, world!\n"
    first = model_requests(run.requests)[0]
    assert NUDGE in system_text(first)
    assert "greeter" in json.dumps(first.body["messages"])  # the CLI lists the skill
    assert rec.diagnostics.last_tool_call == "Write(greeting.txt)"
    assert rec.cost_usd is not None
    assert rec.cost_usd > 0
    assert on_disk(run.run_dir) == rec


async def test_agent_baseline_is_a_clean_control(tmp_path: Path) -> None:
    skill = GREETER
    run = await scripted_run(ANSWER, tmp_path, "agent-baseline", skill=skill)
    assert run.record.exit_reason == "success"
    for request in model_requests(run.requests):
        body = json.dumps(request.body)
        assert "greeter" not in body  # neither installed, listed, nor nudged
        assert "Skill tool" not in system_text(request)


async def test_agent_skill_nonudge_installs_without_nudging(tmp_path: Path) -> None:
    skill = GREETER
    run = await scripted_run(ANSWER, tmp_path, "agent-skill-nonudge", skill=skill)
    first = model_requests(run.requests)[0]
    assert "greeter" in json.dumps(first.body["messages"])
    assert NUDGE not in system_text(first)


async def test_a_configured_nudge_replaces_the_default(tmp_path: Path) -> None:
    skill = GREETER
    nudge = "Use {skill} {now}, please."
    run = await scripted_run(ANSWER, tmp_path, "agent-skill", skill=skill, nudge=nudge)
    assert "Use greeter {now}, please." in system_text(model_requests(run.requests)[0])


async def test_single_shot_lanes_have_no_tools(tmp_path: Path) -> None:
    skill = GREETER
    with_skill = await scripted_run(ANSWER, tmp_path / "skill", "skill", skill=skill)
    without = await scripted_run(ANSWER, tmp_path / "baseline", "baseline", skill=skill)
    for run in (with_skill, without):
        assert run.record.exit_reason == "success"
        (request,) = model_requests(run.requests)
        assert request.body["tools"] == []
        assert "--max-turns=1" in run.record.argv
    skill_body = SKILL_MD.split("---\n")[-1].strip()
    assert skill_body in system_text(model_requests(with_skill.requests)[0])
    assert "greeter" not in json.dumps(model_requests(without.requests)[0].body)


# ---- endings --------------------------------------------------------------------------------


async def test_api_error_400(tmp_path: Path) -> None:
    script = {"turns": [{"error": {"status": 400, "type": "invalid_request_error"}}]}
    rec = (await scripted_run(script, tmp_path)).record
    assert rec.exit_reason == "api_error"
    assert rec.api_error_status == 400


async def test_max_turns(tmp_path: Path) -> None:
    script = {"turns": [{"content": [tool("Bash", command="true", description="x")]}] * 3}
    rec = (await scripted_run(script, tmp_path, max_turns=1)).record
    assert rec.exit_reason == "error_max_turns"
    assert rec.exit_code == 1


async def test_max_budget(tmp_path: Path) -> None:
    turn = {
        "content": [tool("Bash", command="true", description="x")],
        "usage": {"input_tokens": 200_000},
    }
    rec = (await scripted_run({"turns": [turn] * 3}, tmp_path, max_budget_usd=0.5)).record
    assert rec.exit_reason == "error_max_budget_usd"


async def test_auth_failure_fails_fast(tmp_path: Path) -> None:
    script = {"turns": [{"error": {"status": 401, "type": "authentication_error"}, "repeat": 20}]}
    started = time.monotonic()
    run = await scripted_run(script, tmp_path)
    # Ten retries with growing delays take minutes; the first one is enough to know.
    assert time.monotonic() - started < 60  # not minutes, on any load
    assert run.record.exit_reason == "auth_error"
    assert run.record.diagnostics.api_retries == 1
    assert len(model_requests(run.requests)) <= 2


async def test_a_live_run_without_a_credential_is_an_auth_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    # Live: the CLI talks to runner's proxy, which holds no credential, so it answers 401
    # itself and never reaches this upstream.
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    run = await scripted_run(ANSWER, tmp_path, options={"endpoint": None})
    assert run.record.exit_reason == "auth_error"
    assert run.requests == []


# ---- timeouts and the process tree ----------------------------------------------------------


def leaves_processes(word: str) -> dict[str, Any]:
    return {
        "turns": [
            {"content": [tool("Bash", command=background_command(word), description="start")]},
            {"hang": True},
        ]
    }


@pytest.mark.parametrize("limit", ["timeout", "idle_timeout"])
async def test_timeouts_leave_no_process_behind(tmp_path: Path, limit: str) -> None:
    word = marker()
    limits: dict[str, Any] = {"timeout_s": 4.0} if limit == "timeout" else {"idle_timeout_s": 3.0}
    started = time.monotonic()
    run = await scripted_run(leaves_processes(word), tmp_path, **limits)
    rec = run.record
    assert rec.exit_reason == limit
    assert time.monotonic() - started < 60  # the limit, the grace, the margin; never the hang
    assert processes_with(word) == []
    # Both background processes escaped the CLI's process group, and were found anyway (a
    # python3 shim, such as pyenv's, may add processes of its own).
    assert sum(word in p for p in rec.diagnostics.leftover_processes) >= 2
    assert rec.diagnostics.timeout_at_turn == 1
    assert rec.diagnostics.last_tool_call is not None
    assert rec.diagnostics.last_tool_call.startswith("Bash((python3")
    assert on_disk(run.run_dir).exit_reason == limit


async def test_a_finished_run_leaves_no_process_behind(tmp_path: Path) -> None:
    word = marker()
    script = {
        "turns": [
            {"content": [tool("Bash", command=background_command(word), description="start")]},
            {"content": [text("Started it.")]},
        ]
    }
    rec = (await scripted_run(script, tmp_path)).record
    assert rec.exit_reason == "success"
    assert processes_with(word) == []
    assert sum(word in p for p in rec.diagnostics.leftover_processes) >= 2


async def test_cancelling_the_caller_ends_the_tree_and_writes_the_record(tmp_path: Path) -> None:
    word = marker()
    started = time.monotonic()
    with anyio.move_on_after(4) as scope:
        await scripted_run(leaves_processes(word), tmp_path)
    assert scope.cancelled_caught
    assert time.monotonic() - started < 60  # the cancel, the grace, the margin; never the hang
    assert processes_with(word) == []
    rec = on_disk(tmp_path / "run")
    assert rec.exit_reason == "cancelled"
    assert rec.transcript.tool_sequence == ["Bash"]


async def test_cli_killed_mid_stream_leaves_its_stream_and_a_record(tmp_path: Path) -> None:
    # The agent's own Bash call kills the CLI: a crash halfway through a turn.
    script = {
        "turns": [
            {"content": [text("Working."), tool("Bash", command="kill -9 $PPID", description="x")]},
            {"content": [text("never reached")]},
        ]
    }
    run = await scripted_run(script, tmp_path)
    rec = run.record
    assert rec.exit_reason == "signal_9"
    assert rec.signal == 9
    assert rec.transcript.status == "incomplete"
    assert rec.transcript.tool_sequence == ["Bash"]
    kinds = [
        getattr(item, "type", None)
        async for item in aiter_file_events(run.run_dir / "stream.ndjson")
    ]
    assert kinds[0] == "system"
    assert "assistant" in kinds
    assert "result" not in kinds
    assert on_disk(run.run_dir) == rec


# ---- a misbehaving CLI ----------------------------------------------------------------------


async def fake_run(tmp_path: Path, prompt: str, **spec: Any) -> RunRecord:
    options = RunOptions(binary=fake_claude(tmp_path), workspace_parent=tmp_path)
    fields: dict[str, Any] = {"scenario": "fake", "instruction": prompt, **spec}
    return await run_one(
        RunSpec(**fields), "agent-baseline", run_dir=tmp_path / "run", options=options
    )


async def test_missing_binary_is_a_spawn_error(tmp_path: Path) -> None:
    options = RunOptions(binary=ClaudeBinary(tmp_path / "no-such-claude", "test"))
    spec = RunSpec(scenario="x", instruction="hi")
    rec = await run_one(spec, "agent-baseline", run_dir=tmp_path / "run", options=options)
    assert rec.exit_reason == "spawn_error"
    assert rec.error is not None
    assert "no-such-claude" in rec.error
    assert "\n" not in rec.error


async def test_cli_not_found_anywhere_is_a_spawn_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("RUNNER_CLAUDE_BIN", str(tmp_path / "nowhere"))
    rec = await run_one(RunSpec(scenario="x", instruction="hi"), "baseline", run_dir=tmp_path)
    assert rec.exit_reason == "spawn_error"
    assert rec.error == f"$RUNNER_CLAUDE_BIN: {tmp_path / 'nowhere'} is not an executable file"
    assert on_disk(tmp_path) == rec


async def test_garbage_on_stdout_is_counted_and_reading_goes_on(tmp_path: Path) -> None:
    rec = await fake_run(tmp_path, "garbage")
    assert rec.exit_reason == "success"
    assert rec.transcript.parse_errors == 3
    assert rec.transcript.final_text == "fine anyway"


async def test_garbage_only_ends_on_the_exit_code(tmp_path: Path) -> None:
    rec = await fake_run(tmp_path, "garbage-only")
    assert rec.exit_reason == "exit_code_3"
    assert rec.transcript.parse_errors == 1


async def test_a_stderr_flood_cannot_deadlock_the_run(tmp_path: Path) -> None:
    rec = await fake_run(tmp_path, "stderr-flood", timeout_s=60)
    assert rec.exit_reason == "success"
    assert rec.diagnostics.stderr_bytes > 20 * 2**20
    assert rec.diagnostics.agent_log.endswith("the last words\n")
    assert len(rec.diagnostics.agent_log) <= 32 * 1024
    assert (tmp_path / "run" / "stderr.log").stat().st_size == 8 * 2**20


async def test_the_cli_sees_an_allowlisted_environment_and_the_prompt_on_stdin(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_MODEL", "from-the-caller")
    monkeypatch.setenv("MY_SECRET", "s3cret")
    monkeypatch.setenv("MY_PROXY", "http://proxy")
    monkeypatch.setenv("CLAUDE_CONFIG_DIR", "/root/.claude")
    rec = await fake_run(
        tmp_path,
        "echo",
        env_passthrough=("MY_PROXY",),
        model="claude-x --dangerous",
        allowed_tools=("Bash(git *)", "Write"),
    )
    called = json.loads(rec.transcript.final_text or "")
    env = called["env"]
    # ANTHROPIC_MODEL would steer the run without being in its cache key: never passed on.
    assert "ANTHROPIC_MODEL" not in env
    assert env["ANTHROPIC_API_KEY"] == LOCAL_KEY
    assert env["MY_PROXY"] == "http://proxy"
    assert "MY_SECRET" not in env
    # The sandbox's own paths, the same on every machine.
    assert env["HOME"] == jail.HOME
    assert env["CLAUDE_CONFIG_DIR"] == f"{jail.HOME}/.claude"
    assert env["TMPDIR"] == jail.TMP
    assert env["PATH"] == jail.SEARCH_PATH
    assert called["stdin"] == "echo"
    # A value with spaces or dashes is one token: it cannot become a flag of its own.
    assert "--model=claude-x --dangerous" in called["argv"]
    assert "--allowedTools=Bash(git *),Write" in called["argv"]
    assert called["argv"] == rec.argv


async def test_concurrent_runs_keep_their_own_process_trees(tmp_path: Path) -> None:
    # Each run's orphans go to its own reaper: one run timing out ends only its own processes.
    slow_word, quick_word = marker(), marker()
    quick_script = {
        "turns": [
            {"content": [tool("Bash", command=background_command(quick_word), description="x")]},
            {"content": [text("Done.")]},
        ]
    }
    records: dict[str, RunRecord] = {}

    async def slow() -> None:
        run = await scripted_run(leaves_processes(slow_word), tmp_path / "slow", timeout_s=6.0)
        records["slow"] = run.record

    async def quick() -> None:
        records["quick"] = (await scripted_run(quick_script, tmp_path / "quick")).record

    async with anyio.create_task_group() as tg:
        tg.start_soon(slow)
        tg.start_soon(quick)
    assert records["slow"].exit_reason == "timeout"
    assert records["quick"].exit_reason == "success"
    slow_left = " ".join(records["slow"].diagnostics.leftover_processes)
    quick_left = " ".join(records["quick"].diagnostics.leftover_processes)
    assert slow_word in slow_left
    assert quick_word not in slow_left
    assert quick_word in quick_left
    assert slow_word not in quick_left
    assert processes_with(slow_word) == processes_with(quick_word) == []


async def test_workspaces_are_removed_unless_kept(tmp_path: Path) -> None:
    gone = await fake_run(tmp_path / "a", "hello")
    assert gone.workspace is None
    assert not list((tmp_path / "a").glob("runner-*"))
    options = RunOptions(
        binary=fake_claude(tmp_path), workspace_parent=tmp_path / "b", keep_workspace=True
    )
    spec = RunSpec(scenario="fake", instruction="hello")
    kept = await run_one(spec, "agent-baseline", run_dir=tmp_path / "b" / "run", options=options)
    assert kept.workspace is not None
    assert (Path(kept.workspace) / "work").is_dir()
    assert (Path(kept.workspace) / "home").is_dir()
