"""The pids cgroup each sandbox starts in (root only): none is left behind, whether its eval
ended or was killed, and what a killed runner left in one is ended by the next."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner._agent import cgroup
from tests.suite_commands import Workbench, workbench

PARENT = cgroup.pids_parent() if os.geteuid() == 0 else None
pytestmark = pytest.mark.skipif(PARENT is None, reason="needs root and a writable pids cgroup")


def groups_of(pid: int) -> list[str]:
    assert PARENT is not None
    return [e.name for e in os.scandir(PARENT) if e.name.startswith(f"runner-{pid}-")]


def gone_pid() -> int:
    """The PID of a process that has ended (and been waited for)."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


@pytest.fixture
def sweep_again() -> Iterator[None]:
    cgroup._sweep_dead.cache_clear()
    yield
    cgroup._sweep_dead.cache_clear()


@pytest.mark.cli
def test_an_eval_leaves_no_cgroup_behind(tmp_path: Path) -> None:
    bench: Workbench = workbench(tmp_path)
    proc = bench.start("--no-cache")
    _, err = proc.communicate(timeout=600)
    assert proc.returncode == 0, err
    # Every run and command check made one; a group still busy when its sandbox ended (the
    # PID namespace tearing down) was removed later, by the time runner exited.
    assert groups_of(proc.pid) == []


def test_the_groups_of_a_runner_that_is_gone_are_emptied_and_removed(
    sweep_again: None,
) -> None:
    assert PARENT is not None
    tag = uuid.uuid4().hex[:12]
    dead = PARENT / f"runner-{gone_pid()}-{tag}"
    unnamed = PARENT / f"runner-{tag}"  # the old naming, without a PID: empty
    digits = PARENT / f"runner-{uuid.uuid4().int % 10**12:012d}"  # old, all digits: no PID
    huge = PARENT / f"runner-{10**30}-{tag}"  # no process has such a PID
    mine = PARENT / f"runner-{os.getpid()}-{tag}"  # a live runner's: kept
    made = [dead, unnamed, digits, huge, mine]
    left = subprocess.Popen(["sleep", "600"])  # what a killed runner's sandbox left running
    try:
        for group in made:
            group.mkdir()
        (dead / "cgroup.procs").write_text(str(left.pid))
        with cgroup.pids_cgroup(8) as new:
            assert new is not None
            assert new.name.startswith(f"runner-{os.getpid()}-")
        assert left.wait(timeout=60) == -9
        with cgroup.pids_cgroup(8):  # its group goes once its last process is reaped
            pass
        assert [g.name for g in made if g.exists()] == [mine.name]
    finally:
        left.kill()
        left.wait()
        for group in made:
            with contextlib.suppress(OSError):
                group.rmdir()
