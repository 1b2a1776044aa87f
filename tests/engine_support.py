"""Test support for the engine: runs through run_one against a scripted model, a fake CLI,
and a look at /proc for processes a run left behind."""

from __future__ import annotations

import os
import stat
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner._agent.claude_bin import ClaudeBinary
from runner._agent.engine import RunOptions, RunRecord, RunSpec, run_one
from runner._agent.lanes import Lane
from runner._model.mock_api import RecordedRequest, scripted_model
from runner._model.script import Script

HERE = Path(__file__).resolve().parent


@dataclass
class EngineRun:
    record: RunRecord
    requests: list[RecordedRequest]
    run_dir: Path


async def scripted_run(
    script: dict[str, Any],
    tmp: Path,
    lane: Lane | str = "agent-baseline",
    *,
    options: dict[str, Any] | None = None,
    **spec: Any,
) -> EngineRun:
    """``run_one`` with the real CLI against ``script``, served on 127.0.0.1."""
    fields: dict[str, Any] = {"scenario": "test", "instruction": "Do the task.", **spec}
    run_dir = tmp / "run"
    async with scripted_model(Script.model_validate(script)) as model:
        given: dict[str, Any] = {"endpoint": model.url, "workspace_parent": tmp, **(options or {})}
        opts = RunOptions(**given)
        record = await run_one(RunSpec(**fields), lane, run_dir=run_dir, options=opts)
    return EngineRun(record, list(model.model.requests), run_dir)


async def live_run(
    script: dict[str, Any], tmp: Path, monkeypatch: Any, key: str, **spec: Any
) -> EngineRun:
    """``run_one`` live, as with a real key: runner's proxy holds ``key`` and forwards to
    ``script``'s scripted model, which stands in for the API (``ANTHROPIC_BASE_URL``)."""
    fields: dict[str, Any] = {"scenario": "test", "instruction": "Do the task.", **spec}
    run_dir = tmp / "run"
    async with scripted_model(Script.model_validate(script)) as model:
        monkeypatch.setenv("ANTHROPIC_BASE_URL", model.url)
        monkeypatch.setenv("ANTHROPIC_API_KEY", key)
        opts = RunOptions(workspace_parent=tmp)
        record = await run_one(RunSpec(**fields), "agent-baseline", run_dir=run_dir, options=opts)
    return EngineRun(record, list(model.model.requests), run_dir)


def fake_claude(tmp: Path) -> ClaudeBinary:
    """tests/fake_claude.py as an executable, run by this interpreter."""
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "fake-claude"
    # Found on PATH: this interpreter's outside a sandbox, the system's inside one.
    path.write_text("#!/usr/bin/env python3\n" + (HERE / "fake_claude.py").read_text())
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return ClaudeBinary(path, "test")


def marker() -> str:
    """A unique word to put on a command line, to find its processes later."""
    return f"runner-test-{uuid.uuid4().hex[:12]}"


def processes_with(word: str) -> list[str]:
    """Live processes whose command line holds ``word``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = (entry / "stat").read_bytes().rsplit(b")", 1)[1].split()[0]
        except OSError:
            continue
        if word in cmdline and state != b"Z":
            found.append(f"{entry.name} {cmdline}")
    return found


def background_command(word: str) -> str:
    """A Bash tool command that leaves two long processes behind, both outside the CLI's
    process group: one double-forked, one in a session of its own."""

    # Each says it has started (a file), and the command waits for both: a run that ends
    # right after it must find two processes, however loaded the machine.
    def long(n: int) -> str:
        ready = f"/tmp/{word}.{n}"
        code = 'import sys,time; open(sys.argv[1],"w"); time.sleep(300)'
        return f"python3 -c '{code}' {ready} {word}"

    ready = f"/tmp/{word}.1 /tmp/{word}.2"
    wait = f"until ls {ready} >/dev/null 2>&1; do sleep 0.05; done; rm -f {ready}"
    return f"({long(1)} &) ; setsid {long(2)} > /dev/null 2>&1 & {wait}; echo started"
