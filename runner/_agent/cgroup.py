"""A pids cgroup per sandbox, for root (whom RLIMIT_NPROC does not bind), and its removal.

A group cannot be removed while a process is in it, and a sandbox's last processes may still
be leaving (its PID namespace tearing down) when the run ends. Such a group is removed later:
before the next group is made, and when runner exits. Each group's name holds its maker's
PID, so the groups of a runner that was killed are removed by the next one."""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path

PREFIX = "runner-"
_left: set[Path] = set()  # groups not yet empty when their sandbox ended, or its runner
_lock = threading.Lock()  # runs end on several threads (checks) and event loops


@cache
def pids_parent() -> Path | None:
    """Where root can make a pids cgroup per run: cgroup v2 if its pids controller is on,
    else v1's pids hierarchy at this process's own place in it."""
    mounts = Path("/proc/self/mountinfo")
    try:
        lines = mounts.read_text().splitlines()
        own = Path("/proc/self/cgroup").read_text().splitlines()
    except OSError:
        return None
    for line in lines:
        fields = line.split(" - ", 1)
        if len(fields) != 2:
            continue
        point = fields[0].split()[4]
        kind, _, options = [*fields[1].split(), "", ""][:3]
        if kind == "cgroup2":
            root = Path(point)
            try:
                enabled = (root / "cgroup.subtree_control").read_text().split()
            except OSError:
                continue
            if "pids" in enabled and os.access(root, os.W_OK):
                return root
        elif kind == "cgroup" and "pids" in options.split(","):
            place = next((c.split(":", 2)[2] for c in own if ":pids:" in c), "/")
            parent = Path(point) / place.lstrip("/")
            if os.access(parent, os.W_OK):
                return parent
    return None


@contextmanager
def pids_cgroup(limit: int) -> Iterator[Path | None]:
    """A cgroup holding at most ``limit`` processes for one sandbox, when runner is root and
    can make one (root is exempt from RLIMIT_NPROC); None otherwise. Removed afterwards."""
    parent = pids_parent() if os.geteuid() == 0 else None
    if parent is None:
        yield None
        return
    _sweep(parent)
    group = parent / f"{PREFIX}{os.getpid()}-{uuid.uuid4().hex[:12]}"
    try:
        group.mkdir()
        (group / "pids.max").write_text(str(limit))
    except OSError:
        with contextlib.suppress(OSError):
            group.rmdir()
        yield None
        return
    try:
        yield group
    finally:
        if not remove(group):
            _keep(group)


def remove(group: Path, *, kill: bool = True) -> bool:
    """Whether ``group`` is gone. With ``kill``, what is still in it is killed first: the
    processes of a sandbox that has ended, on their way out or left behind."""
    try:
        procs = (group / "cgroup.procs").read_text().split()
    except FileNotFoundError:
        return True
    except OSError:
        procs = []
    for pid in procs if kill else ():
        with contextlib.suppress(ProcessLookupError, ValueError):
            os.kill(int(pid), signal.SIGKILL)
    try:
        group.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def _keep(group: Path) -> None:
    with _lock:
        _left.add(group)


def _remove_kept() -> bool:
    """The kept groups removed where they can be now; whether any is still there."""
    with _lock:
        kept = {group for group in _left if not remove(group)}
        _left.clear()
        _left.update(kept)
        return bool(_left)


def _sweep(parent: Path) -> None:
    """The groups left earlier, and once per process those of runners now gone."""
    _remove_kept()
    _sweep_dead(parent)


@cache
def _sweep_dead(parent: Path) -> None:
    try:
        names = [entry.name for entry in os.scandir(parent) if entry.name.startswith(PREFIX)]
    except OSError:
        return
    for name in names:
        owner = made_by(name, PREFIX)
        if owner is None:
            # Made before names held a PID: removed only if empty, its maker unknown.
            remove(parent / name, kill=False)
        elif not alive(owner) and not remove(parent / name):
            _keep(parent / name)  # killed, not yet reaped: removed with this one's


def made_by(name: str, prefix: str) -> int | None:
    """The PID in a name made as PREFIX-PID-REST; None for another shape (the old naming,
    runner-HEX, may be all digits: no PID)."""
    owner, dash, _ = name.removeprefix(prefix).partition("-")
    return int(owner) if dash and owner.isdigit() else None


def alive(pid: int) -> bool:
    """Whether process ``pid`` runs (another user's counts: not ours to judge)."""
    try:
        os.kill(pid, 0)
    except (ProcessLookupError, OverflowError):  # over the largest PID: none
        return False
    except PermissionError:
        return True
    return True


@atexit.register
def _remove_left() -> None:
    # The last sandbox's processes leave within moments; bounded, so exit never hangs.
    deadline = time.monotonic() + 5.0
    while _remove_kept() and time.monotonic() < deadline:
        time.sleep(0.02)
