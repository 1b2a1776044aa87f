"""Test support: runner's commands run as a user runs them, scripts on disk, SSE read back."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from runner._model.script import text


def runner(
    *args: str, stdin: bytes | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """``python -m runner ARGS`` in a child process, its output as text."""
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
        input=stdin.decode() if stdin is not None else None,
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=120,
    )


def say(words: str) -> dict[str, Any]:
    """A script turn that answers with text."""
    return {"content": [text(words)]}


def write_script(tmp_path: Path, script: dict[str, Any]) -> Path:
    path = tmp_path / "script.json"
    path.write_text(json.dumps(script))
    return path


def sse_events(body: bytes) -> list[dict[str, Any]]:
    """The JSON payloads of an SSE body's ``data:`` lines."""
    return [json.loads(line[6:]) for line in body.split(b"\n") if line.startswith(b"data: ")]
