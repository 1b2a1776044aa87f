"""A suite of generated scenarios run by a fake CLI that prints a real capture at once, so what
is measured is runner's own work (tests/test_eval_writes.py, scripts/bench_scale.py); and
``python -m runner`` counting the bytes it writes."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
CAPTURES = REPO / "fixtures" / "transcripts"
LANES = "agent-baseline,agent-skill"

# The fake CLI: its version for the run key, then the capture, at once. It reads its prompt
# first, as the CLI does, so runner's write to its stdin never meets a closed pipe.
FAKE_CLI = """#!/bin/sh
case "$1" in --version) echo "2.1.329 (Claude Code)"; exit 0;; esac
cat > /dev/null
exec cat {capture}
"""

# ``python -c COUNTED OUT ARGS`` is ``python -m runner ARGS`` that, as it exits, writes to OUT
# the bytes it wrote (the kernel's count of every write() it made: files and pipes alike, its
# children aside).
COUNTED = """
import atexit, runpy, sys
out = sys.argv.pop(1)
def written():
    with open("/proc/self/io") as f:
        fields = dict(line.split(": ") for line in f.read().splitlines())
    with open(out, "w") as f:
        f.write(fields["wchar"])
atexit.register(written)
sys.argv[0] = "runner"
runpy.run_module("runner", run_name="__main__", alter_sys=True)
"""

# By scenario number mod 4: a check that fails in no lane, the baseline, the skill, or both,
# so the A/B has differences to test.
FAILING_IN: tuple[list[str], ...] = ([], ["agent-baseline"], ["agent-skill*"], ["*"])


def scenario_id(i: int) -> str:
    return f"s{i:05d}"


def make_suite(folder: Path, scenarios: int, capture: str = "session.ndjson") -> None:
    """``scenarios`` scenarios under folder/suite (each its own instruction and workspace),
    the skill they name under folder/skills, and the fake CLI at folder/bin/claude."""
    shutil.copytree(REPO / "skills" / "changelog", folder / "skills" / "changelog")
    for i in range(scenarios):
        where = folder / "suite" / scenario_id(i)
        (where / "workspace").mkdir(parents=True)
        (where / "workspace" / "README.md").write_text(f"# Project {i}\n")
        (where / "mock").mkdir()
        turn = {"content": [{"type": "text", "text": "done"}]}
        (where / "mock" / "agent.json").write_text(json.dumps({"turns": [turn]}))
        lanes = FAILING_IN[i % len(FAILING_IN)]
        failing = (
            f'\n[[check]]\ntype = "tool_called"\ntool = "Glob"\nlanes = {json.dumps(lanes)}\n'
            if lanes
            else ""
        )
        (where / "scenario.toml").write_text(
            f'instruction = "Task {i}: tidy the README."\nworkspace = "workspace"\n'
            f'skill = "changelog"\n[mock]\n"*" = "mock/agent.json"\n'
            f'[[check]]\ntype = "tool_called"\ntool = "Read"\n{failing}'
        )
    fake = folder / "bin" / "claude"
    fake.parent.mkdir()
    fake.write_text(FAKE_CLI.format(capture=CAPTURES / capture))
    fake.chmod(0o755)


def suite_args(folder: Path, command: str, *more: str, store: str = "runs") -> list[str]:
    """``COMMAND`` (eval or ab) of folder's suite in both lanes, one trial, unconfined, on
    folder's cache and the store folder/STORE."""
    return [
        *(command, "--suite", str(folder / "suite"), "--lanes", LANES, "--trials", "1"),
        *("--sandbox", "none", "--claude-bin", str(folder / "bin" / "claude")),
        *("--cache-dir", str(folder / "cache"), "--runs-dir", str(folder / store)),
        *more,
    ]


@dataclass(frozen=True)
class Counted:
    """One command: how it exited, its CPU (user + sys, with every process it waited for),
    wall time, peak RSS (its largest process) and the bytes it wrote itself."""

    code: int
    cpu_s: float
    wall_s: float
    max_rss_mb: float
    written: int
    stderr: str


def run_counted(folder: Path, args: list[str], env: dict[str, str]) -> Counted:
    """``python -m runner ARGS`` in ``folder``, its output thrown away, measured."""
    out = folder / "written"
    out.unlink(missing_ok=True)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-c", COUNTED, str(out), *args],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return Counted(
        code=proc.returncode,
        cpu_s=usage.ru_utime + usage.ru_stime,
        wall_s=time.perf_counter() - start,
        max_rss_mb=usage.ru_maxrss / 1024,
        written=int(out.read_text()) if out.exists() else -1,
        stderr=err.decode(errors="replace"),
    )


def latest_totals(folder: Path, store: str = "runs") -> dict[str, Any]:
    """The totals of the result stored last in folder/STORE."""
    latest = max((folder / store).glob("*.json"), key=lambda p: p.stat().st_mtime_ns)
    totals: dict[str, Any] = json.loads(latest.read_bytes())["header"]["totals"]
    return totals
