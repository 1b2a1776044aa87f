"""Ctrl-C, SIGTERM, SIGHUP and a crash of the harness itself: the run's process tree ends, its
stream stays."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runner._agent.engine import RunRecord
from tests.engine_support import marker, processes_with
from tests.waiting import wait_for

pytestmark = pytest.mark.cli

ROOT = Path(__file__).resolve().parent.parent

# A harness process: one run whose agent starts two background processes, then waits forever.
DRIVER = """
import sys
from pathlib import Path
import anyio
from runner._cli.cmdline import interrupted, stop_like_ctrl_c
from runner._model.script import tool
from tests.engine_support import background_command, scripted_run

word, tmp, backend = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
script = {"turns": [
    {"content": [tool("Bash", command=background_command(word), description="start")]},
    {"hang": True},
]}
stop_like_ctrl_c()  # as runner's commands do
code = 0
try:
    anyio.run(scripted_run, script, tmp, backend=backend)
except* KeyboardInterrupt:  # on trio it comes out of the task groups in an ExceptionGroup
    code = interrupted()
sys.exit(code)
"""


def start_driver(tmp_path: Path, word: str, backend: str) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-c", DRIVER, word, str(tmp_path), backend],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    stream = tmp_path / "run" / "stream.ndjson"
    # Wait until the agent's background processes are running, as the tool result says.
    wait_for(
        lambda: stream.exists() and b'"tool_result"' in stream.read_bytes(),
        "the run got to its tool result",
        within_s=60,
        proc=proc,
    )
    assert processes_with(word)
    return proc


def wait_until_gone(word: str, within_s: float) -> None:
    wait_for(lambda: processes_with(word) == [], f"no process with {word}", within_s=within_s)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@pytest.mark.parametrize(
    ("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143), (signal.SIGHUP, 129)]
)
def test_a_stop_signal_ends_the_run_and_writes_the_record(
    tmp_path: Path, backend: str, signum: int, code: int
) -> None:
    """Ctrl-C, and SIGTERM and SIGHUP the same way, on either event loop."""
    word = marker()
    proc = start_driver(tmp_path, word, backend)
    proc.send_signal(signum)
    try:
        # A hang guard only: a loaded machine may take far longer than the grace.
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()  # a driver the signal did not stop: its reaper then ends the run's tree
    assert proc.returncode == code, err.decode()
    wait_until_gone(word, within_s=60)  # the tree's last processes may still be exiting
    record = RunRecord.model_validate_json((tmp_path / "run" / "record.json").read_bytes())
    assert record.exit_reason == "cancelled"
    assert record.transcript.tool_sequence == ["Bash"]


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_killed_harness_leaves_its_stream_and_no_process(tmp_path: Path, backend: str) -> None:
    word = marker()
    proc = start_driver(tmp_path, word, backend)
    proc.kill()  # no cleanup code of the harness runs
    proc.wait()
    # The reaper notices its parent died (PR_SET_PDEATHSIG) and ends the tree itself.
    wait_until_gone(word, within_s=60)  # the grace and the reaper's margin, on any load
    stream = (tmp_path / "run" / "stream.ndjson").read_bytes()
    assert b'"type":"system"' in stream
    assert b'"tool_result"' in stream  # everything the CLI printed before the crash
