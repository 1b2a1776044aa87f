"""The process that owns one CLI run's whole process tree, and ends all of it.

runner starts ``python -I -S reaper.py GRACE_S REPORT [--sandboxed] -- COMMAND...`` (by way of
``BOOT``, so its bytecode is cached) instead of the CLI. This process makes itself a child
subreaper (Linux ``PR_SET_CHILD_SUBREAPER``): anything the CLI starts and orphans, such as a
background job the Bash tool leaves in a session of its own, is re-parented here instead of to
init, so it stays in this tree and is found and killed. When the CLI exits, or on
SIGTERM/SIGINT/SIGHUP, every descendant gets SIGTERM, then SIGKILL after GRACE_S. It dies with
its parent (``PR_SET_PDEATHSIG``), so a crashed harness leaves nothing.

``--sandboxed``: COMMAND is a bubblewrap sandbox (``runner/_agent/jail.py``) whose PID 1 reports
on fd 3: ``bridge N`` and ``cli N`` (PIDs inside), then ``exit N`` when the CLI has ended, or
``spawn_error TEXT``. The sandbox's own processes (bwrap, its PID 1, the bridge) are not the
agent's leftovers; they are killed last.

Standard library only, and only its C modules (no ``signal``, ``ctypes``, ``json`` or
``contextlib``: their Python layers, enum and re, cost more than the reaper's own work), so it
starts in about a millisecond beyond the interpreter. The CLI inherits stdin,
stdout and stderr directly: no byte passes through here. REPORT receives a JSON object:
``{"exit_code": int|null, "signal": int|null, "stopped": bool, "leftovers": [str], "survivors":
[str], "spawn_error": str|null}``. This process exits with the CLI's code, or 128+N.
"""

from __future__ import annotations

import os
import select
import sys
import time

# The C modules under ``signal`` and ``ctypes``: the same functions and numbers without the
# enums (``signal``) and classes (``ctypes``) built at import. The public module if absent.
# (Nor ``typing``: it imports re.)
try:
    _signal = __import__("_signal")
except ImportError:  # pragma: no cover - CPython has it
    _signal = __import__("signal")

BOOT = (
    "import sys;sys.path.append(sys.argv.pop(1).rpartition('/')[0]);"
    "from reaper import main;sys.exit(main(sys.argv[1:]))"
)
"""``python -I -S -c BOOT /path/to/reaper.py ARGS...``: as running the file by path, but
imported, so its bytecode is read from ``__pycache__`` instead of compiled at every start
(the folder goes last on sys.path: nothing beside it shadows the standard library)."""

_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_STOP_SIGNALS = {_signal.SIGTERM, _signal.SIGINT, _signal.SIGHUP}
_WATCHED = {_signal.SIGCHLD, *_STOP_SIGNALS}
_KILL_ROUNDS_S = 2.0  # SIGKILL is not ignorable; this bounds only processes stuck in the kernel
_STATUS_FD = 3  # where a sandbox's PID 1 writes


def _prctl(option: int, value: int) -> bool:
    try:
        import _ctypes

        class _CFunction(_ctypes.CFuncPtr):
            _flags_ = _ctypes.FUNCFLAG_CDECL  # returns a C int, as ctypes' default

        # None: the program's own symbols, libc's among them (typeshed wants a path).
        libc = _ctypes.dlopen(None)  # type: ignore[arg-type]
        prctl = _CFunction(_ctypes.dlsym(libc, "prctl"))
        return int(prctl(option, value, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False  # not Linux: the CLI's process group is all that can be reached


def _proc_table() -> dict[int, list[int]]:
    """Live (non-zombie) processes by parent, from /proc."""
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
    return children


def _descendants(root: int, table: dict[int, list[int]] | None = None) -> list[int]:
    """Live processes under ``root``; parents before children."""
    children = _proc_table() if table is None else table
    found, queue = [], [root]
    while queue:
        for child in children.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _inner_pid(pid: int) -> int | None:
    """``pid``'s number in the innermost PID namespace it belongs to."""
    try:
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if line.startswith(b"NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def _describe(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            cmd = f.read().replace(b"\0", b" ").strip().decode(errors="replace")
    except OSError:
        cmd = "?"
    return f"{pid} {cmd[:200]}"


def _signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        try:  # noqa: SIM105 - contextlib is not imported here
            os.kill(pid, sig)
        except (ProcessLookupError, PermissionError):
            pass


def _signal_group(pgid: int, sig: int) -> None:
    try:  # noqa: SIM105 - contextlib is not imported here
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


class _Wakeups:
    """The watched signals and, for a sandbox, its status pipe, as one ``select``."""

    def __init__(self) -> None:
        self._signals, w = os.pipe()
        os.set_blocking(self._signals, False)
        os.set_blocking(w, False)
        _signal.set_wakeup_fd(w, warn_on_full_buffer=False)
        for sig in _WATCHED:
            _signal.signal(sig, lambda *_: None)  # the byte on the wakeup fd is what counts
        self.status: int | None = None  # the status pipe's read end, while it is open
        self._partial = b""

    def wait(self, timeout: float | None) -> tuple[set[int], list[str]]:
        """Signals that arrived and whole status lines read, within ``timeout``."""
        watched = [self._signals] + ([self.status] if self.status is not None else [])
        ready, _, _ = select.select(watched, [], [], None if timeout is None else max(timeout, 0))
        sigs: set[int] = set()
        if self._signals in ready:
            try:  # noqa: SIM105 - contextlib is not imported here
                sigs = set(os.read(self._signals, 512))
            except BlockingIOError:
                pass
        lines: list[str] = []
        if self.status is not None and self.status in ready:
            data = os.read(self.status, 4096)
            if not data:
                os.close(self.status)
                self.status = None
            text = self._partial + data
            *whole, self._partial = text.split(b"\n")
            lines = [line.decode(errors="replace") for line in whole]
        return sigs, lines


class _Tree:
    def __init__(self, child: int, wakeups: _Wakeups, *, sandboxed: bool) -> None:
        self.child = child  # the CLI, or the sandbox's bwrap
        self.wakeups = wakeups
        self.sandboxed = sandboxed
        self.status: int | None = None  # the child's wait status, once reaped
        self.cli_code: int | None = None  # a sandboxed CLI's status, as its PID 1 said
        self.cli_inner: int | None = None
        self.bridge_inner: int | None = None  # the sandbox's socat, whose forks are its own
        self.spawn_error: str | None = None
        self.stopped = False

    @property
    def cli_ended(self) -> bool:
        if self.sandboxed:
            ended = self.cli_code is not None or self.spawn_error is not None
            return ended or self.status is not None
        return self.status is not None

    def reap(self) -> None:
        # As subreaper this process is the parent of every orphan: collect them all.
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            if pid == self.child:
                self.status = status

    def wait(self, timeout: float | None) -> int | None:
        """Wait for a signal or a status line; a stop signal returns its number."""
        sigs, lines = self.wakeups.wait(timeout)
        for line in lines:
            self._told(line)
        if _signal.SIGCHLD in sigs:
            self.reap()
        stop = next((s for s in sigs if s in _STOP_SIGNALS), None)
        if stop is not None:
            self.stopped = True
        return stop

    def _told(self, line: str) -> None:
        word, _, rest = line.partition(" ")
        if word == "spawn_error":
            self.spawn_error = rest
        elif word in ("bridge", "cli", "exit") and rest.strip().isdigit():
            n = int(rest)
            if word == "bridge":
                self.bridge_inner = n
            elif word == "cli":
                self.cli_inner = n
            elif self.cli_code is None:
                self.cli_code = n

    def _split(self) -> tuple[list[int], list[int]]:
        """Every live descendant: (the run's processes, the sandbox's own)."""
        me = os.getpid()
        table = _proc_table()
        everything = _descendants(me, table)
        if not self.sandboxed:
            return everything, []
        own = {self.child}  # bwrap
        for pid in everything:
            inner = _inner_pid(pid)
            if inner == 1:  # the entry script, then its `sleep infinity`
                own.add(pid)
            elif inner is not None and inner == self.bridge_inner:
                own.add(pid)
                own.update(_descendants(pid, table))  # one fork per connection
        return [p for p in everything if p not in own], [p for p in everything if p in own]

    def end(self, grace_s: float) -> tuple[list[str], list[str]]:
        """SIGTERM the run's processes, SIGKILL what is left after the grace, the sandbox last."""
        run, _ = self._split()
        leftovers = [_describe(p) for p in run if not self._is_cli(p)]
        _signal_all(run, _signal.SIGTERM)
        if not self.sandboxed:
            _signal_group(self.child, _signal.SIGTERM)  # reaches the CLI's group without /proc
        # Each listing reads every process's /proc/N/stat, the most of the reaper's time: a
        # fresh one after each signal and each wait, never two in a row.
        run, own = self._split()
        deadline = time.monotonic() + grace_s
        while run and (left := deadline - time.monotonic()) > 0:
            self.wait(min(left, 0.05))
            run, own = self._split()
        kill_deadline = time.monotonic() + _KILL_ROUNDS_S
        # Loop: a process may fork between the listing and the kill.
        while (run or own) and time.monotonic() < kill_deadline:
            _signal_all(run + own, _signal.SIGKILL)
            self.wait(0.01)
            run, own = self._split()
        if not self.sandboxed:
            _signal_group(self.child, _signal.SIGKILL)
        self.reap()
        return leftovers, [_describe(p) for p in run + own]

    def _is_cli(self, pid: int) -> bool:
        if not self.sandboxed:
            return pid == self.child
        return self.cli_inner is not None and _inner_pid(pid) == self.cli_inner

    def exit_code(self) -> int | None:
        """The CLI's code, negative for a signal; None when unknown."""
        if self.sandboxed:
            if self.cli_code is not None:
                # A shell says 128+N for a CLI that a signal ended.
                return -(self.cli_code - 128) if self.cli_code > 128 else self.cli_code
            if self.status is None:
                return None
        return os.waitstatus_to_exitcode(self.status) if self.status is not None else None


def _json(value: object) -> str:
    """The report's JSON (None, bools, ints, strings and lists of them), written here: the
    json module's import (re, enum) costs more than all the rest of the reaper's start."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return '"' + "".join(_escaped(c) for c in value) + '"'
    if isinstance(value, list):
        return "[" + ", ".join(_json(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_json(str(k))}: {_json(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"not in a report: {type(value).__name__}")


def _escaped(c: str) -> str:
    # As json.dumps: quote and backslash, control characters, and a lone surrogate (a name
    # that is not UTF-8); the rest as it is (UTF-8, which is JSON too).
    if c in '"\\':
        return "\\" + c
    if c < " " or "\ud800" <= c <= "\udfff":
        return f"\\u{ord(c):04x}"
    return c


def _write_report(path: str, report: dict[str, object]) -> None:
    tmp = f"{path}.tmp"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(_json(report))
    os.replace(tmp, path)


def _spawn(command: list[str], status_w: int | None) -> int:
    """The command in its own session, with the status pipe as its fd 3 when sandboxed."""
    actions: list[tuple[int, ...]] = []
    if status_w is not None:
        os.set_inheritable(status_w, True)
        actions.append((os.POSIX_SPAWN_DUP2, status_w, _STATUS_FD))
        if status_w != _STATUS_FD:
            actions.append((os.POSIX_SPAWN_CLOSE, status_w))
    return os.posix_spawnp(
        command[0], command, os.environ, file_actions=actions, setsigmask=(), setsid=True
    )


def main(argv: list[str]) -> int:
    grace_s, report_path, *rest = argv
    sandboxed = rest[:1] == ["--sandboxed"]
    sep, *command = rest[1:] if sandboxed else rest
    if sep != "--" or not command:
        print("usage: reaper.py GRACE_S REPORT [--sandboxed] -- COMMAND...", file=sys.stderr)
        return 2
    parent = os.getppid()
    wakeups = _Wakeups()
    _prctl(_PR_SET_CHILD_SUBREAPER, 1)
    _prctl(_PR_SET_PDEATHSIG, _signal.SIGTERM)
    if os.getppid() != parent:
        return 1  # the harness died before we could watch it

    status_w = None
    if sandboxed:
        wakeups.status, status_w = os.pipe()
    try:
        pid = _spawn(command, status_w)
    except OSError as exc:
        _write_report(report_path, {"spawn_error": f"{command[0]}: {exc.strerror}"})
        return 127
    finally:
        if status_w is not None:
            os.close(status_w)
    tree = _Tree(pid, wakeups, sandboxed=sandboxed)
    while not tree.cli_ended:
        if tree.wait(None) is not None:
            if not sandboxed:
                # Let the CLI end its own way first; it exits 143 on SIGTERM.
                try:  # noqa: SIM105 - contextlib is not imported here
                    os.kill(pid, _signal.SIGTERM)
                except ProcessLookupError:
                    pass
            break
    leftovers, survivors = tree.end(float(grace_s))
    code = tree.exit_code()
    spawn_error = tree.spawn_error
    if sandboxed and tree.cli_inner is None and spawn_error is None and not tree.stopped:
        spawn_error = f"the sandbox ended before the CLI started (bwrap exit code {code})"
    _write_report(
        report_path,
        {
            "exit_code": code if code is not None and code >= 0 else None,
            "signal": -code if code is not None and code < 0 else None,
            "stopped": tree.stopped,
            "leftovers": leftovers,
            "survivors": survivors,
            "spawn_error": spawn_error,
        },
    )
    if code is None:
        return 137
    return code if code >= 0 else 128 - code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
