"""A skill counts as invoked only when its Skill call succeeded: the CLI answers a skill it does
not know with an error result ("Unknown skill: x"), and that run never loaded a skill."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pytest

from runner._model.script import text, tool
from runner._transcript.stream import iter_events
from runner._transcript.summary import TranscriptSummary
from runner._transcript.transcript import Transcript
from tests.clirun import GREETER
from tests.engine_support import scripted_run
from tests.suite_commands import report, scripted_scenario, workbench


def read(*events: dict[str, Any]) -> TranscriptSummary:
    data = b"".join(json.dumps(e).encode() + b"\n" for e in events)
    return Transcript(iter_events(io.BytesIO(data))).summary()


def skill_call(call_id: str, skill: str) -> dict[str, Any]:
    use = {"type": "tool_use", "id": call_id, "name": "Skill", "input": {"skill": skill}}
    message = {"id": f"m-{call_id}", "model": "claude-sonnet-4-5", "content": [use]}
    return {"type": "assistant", "message": {"role": "assistant", **message}}


def tool_result(call_id: str, content: str, *, is_error: bool | None) -> dict[str, Any]:
    block: dict[str, Any] = {"type": "tool_result", "tool_use_id": call_id, "content": content}
    if is_error is not None:
        block["is_error"] = is_error
    return {"type": "user", "message": {"role": "user", "content": [block]}}


def test_a_skill_call_that_errs_is_not_an_invocation() -> None:
    summary = read(
        skill_call("t1", "greter"),
        tool_result("t1", "<tool_use_error>Unknown skill: greter</tool_use_error>", is_error=True),
        skill_call("t2", "greeter"),
        tool_result("t2", "Launching skill: greeter", is_error=None),  # older CLIs omit it
        skill_call("t3", "greeter"),
        tool_result("t3", "Launching skill: greeter", is_error=False),
        skill_call("t4", "pending"),  # no result yet (a run cut short): not known to be loaded
    )
    assert summary.skills_invoked == ["greeter"]
    assert summary.skill_errors == ["greter"]
    assert summary.tool_sequence == ["Skill"] * 4  # every call is still a call


def test_only_failed_calls_leave_nothing_invoked() -> None:
    summary = read(
        skill_call("t1", "x"),
        tool_result("t1", "Unknown skill: x", is_error=True),
        skill_call("t2", "x"),
        tool_result("t2", "Unknown skill: x", is_error=True),
    )
    assert summary.skills_invoked == []
    assert summary.skill_errors == ["x"]


@pytest.mark.anyio
@pytest.mark.cli
async def test_the_real_cli_answering_unknown_skill_is_not_an_invocation(tmp_path: Path) -> None:
    # The baseline lane installs no skill, so the CLI itself refuses the call.
    script = {
        "turns": [
            {"content": [tool("Skill", skill="greeter")]},
            {"content": [text("No such skill; done without it.")]},
        ]
    }
    run = await scripted_run(script, tmp_path, "agent-baseline", skill=GREETER)
    transcript = run.record.transcript
    assert run.record.exit_reason == "success", run.record.diagnostics.agent_log
    assert transcript.tool_sequence == ["Skill"]
    assert transcript.skills_invoked == []
    assert transcript.skill_errors == ["greeter"]


@pytest.mark.cli
def test_ab_does_not_count_an_unknown_skill_as_loaded(tmp_path: Path) -> None:
    # The skill lane's agent asks for a misspelt skill, then does the task without it.
    turns = [
        {"content": [tool("Skill", skill="greter")]},
        {"content": [tool("Write", file_path="greeting.txt", content="Hello, Ada!\n")]},
        {"content": [text("Wrote greeting.txt.")]},
    ]
    toml = (
        'instruction = "Greet Ada in greeting.txt."\nskill = "greeter"\n'
        '[[check]]\ntype = "file_matches"\npath = "greeting.txt"\npattern = "Hello, Ada!"'
    )
    bench = workbench(tmp_path, scripted_scenario(tmp_path / "make" / "greet", turns, toml))
    proc = bench.command("ab", "--lanes", "agent-baseline,agent-skill", "--trials", "1", "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = report(proc)
    skill_lane = next(s for s in data["ab"]["lanes"] if s["lane"] == "agent-skill")
    assert skill_lane["pass_rate"]["successes"] == 1  # the run went on and passed
    assert skill_lane["skill_invoked"]["successes"] == 0
    assert skill_lane["skill_invoked"]["n"] == 1
    assert skill_lane["skill_errors"] == 1  # the refused call, counted apart
    assert all(r["skills_invoked"] == [] for r in data["runs"])
