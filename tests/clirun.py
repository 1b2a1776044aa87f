"""Test support: the real pinned CLI against the scripted endpoint, its stream read live."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner._agent.claude import STREAM_FLAGS, cli_env
from runner._agent.claude_bin import find_claude
from runner._agent.process import ProcessRun, RunFiles
from runner._model.mock_api import RecordedRequest, scripted_model
from runner._model.script import Script
from runner._transcript.stream import StreamItem

AGENT_FLAGS = (
    "--permission-mode",
    "acceptEdits",
    "--allowedTools",
    "Write,Edit,Read,Bash,Skill,Agent",
)

# The example skill the tests install: skills/greeter.
GREETER = Path(__file__).resolve().parent.parent / "skills" / "greeter"
SKILL_MD = (GREETER / "SKILL.md").read_text()


@dataclass
class CliRun:
    process: ProcessRun
    items: list[StreamItem]
    requests: list[RecordedRequest]
    workspace: Path

    @property
    def stdout(self) -> bytes:
        return self.process.files.stdout.read_bytes()

    @property
    def stderr(self) -> str:
        return self.process.stderr_text

    @property
    def returncode(self) -> int | None:
        sig = self.process.signal
        return -sig if sig is not None else self.process.exit_code


async def run_cli(
    script: dict[str, Any],
    tmp: Path,
    *flags: str,
    skill: bool = False,
    prompt: str = "Do the task.",
    stop_when: Callable[[StreamItem], bool] | None = None,
) -> CliRun:
    """Run ``claude --print --output-format stream-json --verbose FLAGS`` on ``script``."""
    home, ws, out = tmp / "home", tmp / "ws", tmp / "run"
    for folder in (ws, out, home / "tmp"):
        folder.mkdir(parents=True, exist_ok=True)
    if skill:
        (ws / ".claude" / "skills" / "greeter").mkdir(parents=True)
        (ws / ".claude" / "skills" / "greeter" / "SKILL.md").write_text(SKILL_MD)
    items: list[StreamItem] = []

    def watch(item: StreamItem) -> str | None:
        items.append(item)
        return "stop_when" if stop_when is not None and stop_when(item) else None

    argv = [str(find_claude().path), *STREAM_FLAGS, *flags]
    async with scripted_model(Script.model_validate(script)) as model:
        env = cli_env(model.url, home=home, tmp=home / "tmp")
        process = ProcessRun(argv, env, ws, prompt.encode(), RunFiles.in_dir(out), watch=watch)
        await process.run()
    return CliRun(process, items, list(model.model.requests), ws)
