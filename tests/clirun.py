"""Test support: the real pinned CLI against the scripted endpoint, its stream read live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.claude import STREAM_FLAGS, StreamedRun, isolated_env, run_streaming
from runner.claude_bin import find_claude
from runner.replay.mock_api import RecordedRequest, scripted_model
from runner.replay.script import Script
from runner.stream import StreamItem

AGENT_FLAGS = (
    "--permission-mode",
    "acceptEdits",
    "--allowedTools",
    "Write,Edit,Read,Bash,Skill,Agent",
)

SKILL_MD = """---
name: greeter
description: Writes a friendly greeting file. Use when asked to greet someone.
---
Write the greeting to greeting.txt, one line, ending with an exclamation mark.
"""


@dataclass
class CliRun:
    run: StreamedRun
    requests: list[RecordedRequest]
    workspace: Path

    @property
    def stdout(self) -> bytes:
        return self.run.stdout

    @property
    def items(self) -> list[StreamItem]:
        return self.run.items


async def run_cli(
    script: dict[str, Any],
    tmp: Path,
    *flags: str,
    skill: bool = False,
    prompt: str = "Do the task.",
    stop_when: Callable[[StreamItem], bool] | None = None,
) -> CliRun:
    """Run ``claude --print --output-format stream-json --verbose FLAGS`` on ``script``."""
    home, ws = tmp / "home", tmp / "ws"
    ws.mkdir(parents=True, exist_ok=True)
    if skill:
        (ws / ".claude" / "skills" / "greeter").mkdir(parents=True)
        (ws / ".claude" / "skills" / "greeter" / "SKILL.md").write_text(SKILL_MD)
    argv = [str(find_claude().path), *STREAM_FLAGS, *flags]
    async with scripted_model(Script.model_validate(script)) as model:
        run = await run_streaming(
            argv, env=isolated_env(model.url, home), cwd=ws, prompt=prompt, stop_when=stop_when
        )
    return CliRun(run, list(model.model.requests), ws)
