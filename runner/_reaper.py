"""The process that owns one CLI run's whole process tree, and ends all of it.

runner starts ``python -I -S _reaper.py GRACE_S REPORT -- claude ...`` instead of the CLI. This
process makes itself a child subreaper (Linux ``PR_SET_CHILD_SUBREAPER``): anything the CLI
starts and orphans, such as a background job the Bash tool leaves in a session of its own, is
re-parented here instead of to init, so it stays in this tree and is found and killed. When the
CLI exits, or on SIGTERM/SIGINT/SIGHUP, every descendant gets SIGTERM, then SIGKILL after
GRACE_S. It dies with its parent (``PR_SET_PDEATHSIG``), so a crashed harness leaves nothing.

Standard library only, run by path, so it starts in milliseconds. The CLI inherits stdin,
stdout and stderr directly: no byte passes through here. REPORT receives a JSON object:
``{"exit_code": int|null, "signal": int|null, "stopped": bool, "leftovers": [str], "survivors":
[str], "spawn_error": str|null}``. This process exits with the CLI's code, or 128+N.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import signal
import sys
import time

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
_WATCHED = {signal.SIGCHLD, *_STOP_SIGNALS}
_KILL_ROUNDS_S = 2.0  # SIGKILL is not ignorable; this bounds only processes stuck in the kernel


def _prctl(option: int, value: int) -> bool:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False  # not Linux: the CLI's process group is all that can be reached


def _descendants(root: int) -> list[int]:
    """Live (non-zombie) processes under ``root``, from /proc; parents before children."""
    children: dict[int, list[int]] = {}
    for name in os.listdir("/proc") if os.path.isdir("/proc") else ():
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue  # exited while we looked
        # The command name is in parentheses and may hold anything: split after the last ')'.
        fields = stat[stat.rfind(b")") + 2 :].split()
        if fields and fields[0] != b"Z":
            children.setdefault(int(fields[1]), []).append(int(name))
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").strip().decode(errors="replace")
    except OSError:
        cmd = "?"
    return f"{pid} {cmd[:200]}"


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _signal_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


class _Tree:
    def __init__(self, cli: int) -> None:
        self.cli = cli
        self.status: int | None = None  # the CLI's wait status, once reaped
        self.stopped = False

    def reap(self) -> None:
        # As subreaper this process is the parent of every orphan: collect them all.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.cli:
                self.status = status

    def wait(self, timeout: float | None) -> int | None:
        """Wait for a watched signal; a stop signal returns its number, SIGCHLD reaps."""
        info = (
            signal.sigwaitinfo(_WATCHED)
            if timeout is None
            else signal.sigtimedwait(_WATCHED, max(timeout, 0.0))
        )
        if info is None:
            return None
        if info.si_signo == signal.SIGCHLD:
            self.reap()
            return None
        self.stopped = True
        return info.si_signo

    def end(self, grace_s: float) -> tuple[list[str], list[str]]:
        """SIGTERM everything below this process, SIGKILL what is left after the grace."""
        me = os.getpid()
        first = _descendants(me)
        leftovers = [_describe(p) for p in first if p != self.cli]
        _signal_all(first, signal.SIGTERM)
        _signal_group(self.cli, signal.SIGTERM)  # reaches the CLI's group even without /proc
        deadline = time.monotonic() + grace_s
        while _descendants(me) and (left := deadline - time.monotonic()) > 0:
            self.wait(min(left, 0.05))
        kill_deadline = time.monotonic() + _KILL_ROUNDS_S
        # Loop: a process may fork between the listing and the kill.
        while (alive := _descendants(me)) and time.monotonic() < kill_deadline:
            _signal_all(alive, signal.SIGKILL)
            self.wait(0.01)
        _signal_group(self.cli, signal.SIGKILL)
        self.reap()
        return leftovers, [_describe(p) for p in _descendants(me)]


def _write_report(path: str, report: dict[str, object]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w") as f:
        json.dump(report, f)
    os.replace(tmp, path)


def main(argv: list[str]) -> int:
    grace_s, report_path, sep, *command = argv
    if sep != "--" or not command:
        print("usage: _reaper.py GRACE_S REPORT -- COMMAND...", file=sys.stderr)
        return 2
    parent = os.getppid()
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    _prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    signal.pthread_sigmask(signal.SIG_BLOCK, _WATCHED)
    if os.getppid() != parent:
        return 1  # the harness died before we could watch it

    try:
        # Its own session and group, and none of the signals this process blocks.
        pid = os.posix_spawnp(command[0], command, os.environ, setsigmask=(), setsid=True)
    except OSError as exc:
        _write_report(report_path, {"spawn_error": f"{command[0]}: {exc.strerror}"})
        return 127
    tree = _Tree(pid)
    while tree.status is None:
        if tree.wait(None) is not None:
            # Let the CLI end its own way first; it exits 143 on SIGTERM.
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            break
    leftovers, survivors = tree.end(float(grace_s))
    status = tree.status
    code = os.waitstatus_to_exitcode(status) if status is not None else None
    _write_report(
        report_path,
        {
            "exit_code": code if code is not None and code >= 0 else None,
            "signal": -code if code is not None and code < 0 else None,
            "stopped": tree.stopped,
            "leftovers": leftovers,
            "survivors": survivors,
            "spawn_error": None,
        },
    )
    if code is None:
        return 137
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
