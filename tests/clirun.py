"""Test support: run the real pinned CLI against the scripted endpoint, reading its stream live."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio.abc import Process

from runner.claude_bin import find_claude
from runner.replay.mock_api import RecordedRequest, scripted_model
from runner.replay.script import Script
from runner.stream import StreamItem, aiter_events

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
    stdout: bytes
    returncode: int | None
    items: list[StreamItem]
    requests: list[RecordedRequest]
    workspace: Path
    stderr: bytes = b""
    killed: bool = False
    extra: dict[str, Any] = field(default_factory=dict)


def cli_env(base_url: str, home: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-test-not-a-real-key",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
    }


async def run_cli(
    script: dict[str, Any],
    tmp: Path,
    *flags: str,
    skill: bool = False,
    prompt: str = "Do the task.",
    kill_when: Callable[[StreamItem], bool] | None = None,
    timeout_s: float = 120,
) -> CliRun:
    """Run ``claude --print --output-format stream-json --verbose`` on ``script``.

    ``kill_when`` sends SIGTERM to the CLI at the first event it accepts, to capture a run
    that ends without a result event.
    """
    home, ws = tmp / "home", tmp / "ws"
    home.mkdir(parents=True, exist_ok=True)
    ws.mkdir(parents=True, exist_ok=True)
    if skill:
        (ws / ".claude" / "skills" / "greeter").mkdir(parents=True)
        (ws / ".claude" / "skills" / "greeter" / "SKILL.md").write_text(SKILL_MD)
    argv = [str(find_claude().path), "--print", "--output-format", "stream-json", "--verbose"]
    async with scripted_model(Script.model_validate(script)) as model:
        with anyio.fail_after(timeout_s):
            proc = await anyio.open_process(
                [*argv, *flags], env=cli_env(model.url, home), cwd=ws, start_new_session=True
            )
            run = await _drive(proc, prompt, kill_when)
        run.requests = list(model.model.requests)
    run.workspace = ws
    return run


async def _drive(
    proc: Process, prompt: str, kill_when: Callable[[StreamItem], bool] | None
) -> CliRun:
    assert proc.stdin
    assert proc.stdout
    assert proc.stderr
    raw = bytearray()
    items: list[StreamItem] = []
    stderr = bytearray()
    killed = False

    async def tee() -> Any:
        # Keep the exact bytes and hand them on to the parser as they arrive.
        assert proc.stdout
        async for chunk in proc.stdout:
            raw.extend(chunk)
            yield chunk

    async def drain_stderr() -> None:
        assert proc.stderr
        async for chunk in proc.stderr:
            stderr.extend(chunk)

    async with proc, anyio.create_task_group() as tg:
        tg.start_soon(drain_stderr)
        await proc.stdin.send(prompt.encode())
        await proc.stdin.aclose()
        async for item in aiter_events(tee()):
            items.append(item)
            if kill_when is not None and not killed and kill_when(item):
                killed = True
                os.killpg(proc.pid, signal.SIGTERM)
        await proc.wait()
    return CliRun(bytes(raw), proc.returncode, items, [], Path(), bytes(stderr), killed)
