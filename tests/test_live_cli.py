"""The real pinned CLI against the scripted endpoint; its stream read live, then summarized."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner._model.script import text, tool
from runner._transcript.events import (
    AssistantEvent,
    StreamEvent,
    SystemApiRetry,
    SystemThinkingTokens,
    UserEvent,
)
from runner._transcript.summarize import summarize
from runner._transcript.transcript import Transcript
from tests.clirun import AGENT_FLAGS, run_cli

pytestmark = [pytest.mark.anyio, pytest.mark.cli]


def transcript_json(stdout: bytes) -> dict[str, Any]:
    """What a user gets from `python -m runner transcript - --json` on this output."""
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "transcript", "-", "--json"],
        input=stdout,
        capture_output=True,
        check=True,
    )
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


async def test_tools_thinking_and_final_text(tmp_path: Path) -> None:
    script = {
        "turns": [
            {
                "content": [
                    {"type": "thinking", "thinking": "A file first, then check it."},
                    text("Writing the file."),
                    tool("Write", file_path="notes.txt", content="ünïcode ✓ line\n"),
                ]
            },
            {"content": [tool("Bash", command="cat notes.txt", description="check")]},
            {"content": [text("Wrote notes.txt and checked it.")]},
        ]
    }
    run = await run_cli(script, tmp_path, *AGENT_FLAGS)
    assert run.returncode == 0, run.stderr
    assert (run.workspace / "notes.txt").read_text() == "ünïcode ✓ line\n"
    assert any(isinstance(i, SystemThinkingTokens) for i in run.items)
    # The live async read and the CLI command over the same bytes agree.
    live = summarize(run.items)
    out = transcript_json(run.stdout)
    assert out == json.loads(live.model_dump_json())
    assert out["status"] == "success"
    assert out["is_error"] is False
    assert out["num_turns"] == 3
    assert out["tool_sequence"] == ["Write", "Bash"]
    assert out["final_text"] == "Wrote notes.txt and checked it."
    assert out["parse_errors"] == 0
    assert out["events"] == len(run.stdout.splitlines())
    assert out["cost_usd"] > 0
    assert out["usage"]["input_tokens"] == 300  # 3 requests x the script's 100 input tokens
    assert out["usage_estimated"] is False
    # The Bash result came back to the agent.
    results = [e for e in Transcript(run.items).events() if e.kind == "tool_result"]
    assert [r.text for r in results][1] == "ünïcode ✓ line"


async def test_skill_invocation_is_reported(tmp_path: Path) -> None:
    script = {
        "turns": [
            {"content": [tool("Skill", skill="greeter")]},
            {"content": [tool("Write", file_path="greeting.txt", content="Hello, world!\n")]},
            {"content": [text("Greeted.")]},
        ]
    }
    run = await run_cli(script, tmp_path, *AGENT_FLAGS, skill=True, prompt="Greet the world.")
    out = transcript_json(run.stdout)
    assert out["status"] == "success"
    assert out["skills_invoked"] == ["greeter"]
    assert out["tool_sequence"] == ["Skill", "Write"]
    # The CLI really loaded the skill: its body came back as a synthetic user message.
    assert b"Write the greeting to greeting.txt" in run.stdout
    assert (run.workspace / "greeting.txt").exists()


async def test_subagent_calls_are_in_the_tool_sequence(tmp_path: Path) -> None:
    script = {
        "turns": [
            {
                "content": [
                    tool(
                        "Agent",
                        description="count files",
                        prompt="Count the files here with ls.",
                        subagent_type="general-purpose",
                        run_in_background=False,  # a background agent would race the parent
                    )
                ]
            },
            {"content": [tool("Bash", command="ls | wc -l", description="count")]},
            {"content": [text("There are 0 files.")]},
            {"content": [text("The subagent says there are 0 files.")]},
        ]
    }
    run = await run_cli(script, tmp_path, *AGENT_FLAGS)
    out = transcript_json(run.stdout)
    assert out["status"] == "success", out
    assert out["tool_sequence"] == ["Agent", "Bash"]
    nested = [i for i in run.items if isinstance(i, AssistantEvent) and i.parent_tool_use_id]
    assert nested, "the subagent's turns carry parent_tool_use_id"
    # The final text is the top-level answer, not the subagent's.
    assert out["final_text"] == "The subagent says there are 0 files."


async def test_max_turns(tmp_path: Path) -> None:
    script = {"turns": [{"content": [tool("Bash", command="true", description="x")]}] * 3}
    run = await run_cli(script, tmp_path, *AGENT_FLAGS, "--max-turns", "1")
    assert run.returncode == 1
    out = transcript_json(run.stdout)
    assert out["status"] == "error_max_turns"
    assert out["is_error"] is True


async def test_api_error_400_is_an_error_despite_subtype_success(tmp_path: Path) -> None:
    script = {"turns": [{"error": {"status": 400, "type": "invalid_request_error"}}]}
    run = await run_cli(script, tmp_path)
    out = transcript_json(run.stdout)
    result = json.loads(run.stdout.splitlines()[-1])
    assert result["subtype"] == "success"  # what the CLI says...
    assert out["status"] == "api_error"  # ...and what it means
    assert out["is_error"] is True
    assert out["api_error_status"] == 400


async def test_api_retry_then_success(tmp_path: Path) -> None:
    script = {
        "turns": [
            {"error": {"status": 529, "type": "overloaded_error"}},
            {"content": [text("Recovered.")]},
        ]
    }
    run = await run_cli(script, tmp_path)
    out = transcript_json(run.stdout)
    assert out["status"] == "success"
    assert out["api_retries"] == sum(isinstance(i, SystemApiRetry) for i in run.items) >= 1
    assert out["final_text"] == "Recovered."


async def test_auth_failure_killed_midway_is_incomplete(tmp_path: Path) -> None:
    script = {"turns": [{"error": {"status": 401, "type": "authentication_error"}, "repeat": 20}]}
    run = await run_cli(script, tmp_path, stop_when=lambda i: isinstance(i, SystemApiRetry))
    assert run.process.stop_reason == "stop_when"
    out = transcript_json(run.stdout)
    assert out["status"] == "incomplete"
    assert out["is_error"] is True
    assert out["api_retries"] >= 1
    assert out["api_error_status"] == 401
    assert out["cost_usd"] is None


async def test_killed_mid_run_estimates_usage(tmp_path: Path) -> None:
    script = {
        "turns": [
            {
                "content": [text("Step one."), tool("Bash", command="echo one", description="1")],
                "usage": {"input_tokens": 1000},
            },
            {"hang": True},
        ]
    }
    # Killed once the tool result is back: the next turn hangs, so no result event comes.
    run = await run_cli(
        script, tmp_path, *AGENT_FLAGS, stop_when=lambda i: isinstance(i, UserEvent)
    )
    out = transcript_json(run.stdout)
    assert out["status"] == "incomplete"
    assert out["cost_usd"] is None
    assert out["usage_estimated"] is True
    assert out["usage"]["input_tokens"] == 1000  # one message, counted once over its 2 lines
    assert out["estimated_cost_usd"] > 0
    assert out["tool_sequence"] == ["Bash"]
    assert out["final_text"] == "Step one."


async def test_partial_messages_do_not_double_count_tools(tmp_path: Path) -> None:
    script = {
        "turns": [
            {"content": [text("Listing."), tool("Bash", command="ls", description="ls")]},
            {"content": [text("Done.")]},
        ]
    }
    run = await run_cli(script, tmp_path, *AGENT_FLAGS, "--include-partial-messages")
    assert sum(isinstance(i, StreamEvent) for i in run.items) > 5
    out = transcript_json(run.stdout)
    assert out["tool_sequence"] == ["Bash"]
    assert out["status"] == "success"
