"""runner.claude.run_streaming: stopping the real CLI, by timeout and by cancellation."""

from __future__ import annotations

import os
from pathlib import Path

import anyio
import pytest

from runner.claude import STREAM_FLAGS, isolated_env, run_streaming
from runner.claude_bin import find_claude
from runner.events import SystemInit
from runner.replay.mock_api import scripted_model
from runner.replay.script import Script

pytestmark = [pytest.mark.anyio, pytest.mark.cli]

HANGS = Script.model_validate({"turns": [{"hang": True}]})


def processes_in(workspace: Path) -> list[int]:
    """Live processes whose working directory is ``workspace``."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if os.readlink(entry / "cwd") == str(workspace):
                    found.append(int(entry.name))
            except OSError:
                continue
    return found


async def test_timeout_stops_the_cli(anyio_backend: str, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    async with scripted_model(HANGS) as model:
        run = await run_streaming(
            [str(find_claude().path), *STREAM_FLAGS],
            env=isolated_env(model.url, tmp_path / "home"),
            cwd=ws,
            prompt="hello",
            timeout_s=3,
        )
    assert run.timed_out
    assert run.returncode is not None
    assert any(isinstance(i, SystemInit) for i in run.items)  # what it said before is kept
    assert processes_in(ws) == []


async def test_cancelling_the_caller_leaves_no_process(anyio_backend: str, tmp_path: Path) -> None:
    ws = tmp_path / "ws"
    ws.mkdir()
    async with scripted_model(HANGS) as model:
        with anyio.move_on_after(3) as scope:
            await run_streaming(
                [str(find_claude().path), *STREAM_FLAGS],
                env=isolated_env(model.url, tmp_path / "home"),
                cwd=ws,
                prompt="hello",
            )
    assert scope.cancelled_caught
    with anyio.fail_after(10):
        # SIGKILL is sent; the kernel reaps it a moment later, and nothing signals that.
        while processes_in(ws):  # noqa: ASYNC110
            await anyio.sleep(0.05)
