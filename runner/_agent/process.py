"""One child process run under anyio: its stdout teed to disk and parsed as it arrives, its
stderr drained, its whole process tree ended on a timeout, an idle timeout, a stop request or
cancellation, always within bounded time.

The child is started under ``reaper.py``, a subreaper that owns every process the child
starts, including the ones that leave its session. Stopping means SIGTERM to the reaper; it
passes SIGTERM to the whole tree and SIGKILLs what is left after the grace period.

Secrets (``redact``) are replaced in stdout and stderr before they reach the disk or the
parser, so nothing downstream can hold one.
"""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import anyio
from anyio.abc import ByteReceiveStream, ByteSendStream, Process

from runner._agent import reaper as _reaper
from runner._transcript.stream import LineFramer, ParseError, StreamItem, parse_frames
from runner._util.atomic import write_atomically
from runner._util.redact import Redactor, StreamRedactor

# What the reaper may take beyond the grace: its SIGKILL rounds (2 s) and start-up.
_REAPER_MARGIN_S = 3.0
# After the reaper itself is killed, how long stdout may stay open (a stray holder of the pipe).
_EOF_WAIT_S = 2.0
STDERR_TAIL_BYTES = 32 * 1024
STDERR_FILE_CAP = 8 * 1024 * 1024

# Given each stream item as it is parsed; returns a reason to stop the run, or None.
Watch = Callable[[StreamItem], str | None]


@dataclass(frozen=True)
class Limits:
    timeout_s: float | None = None  # the whole run
    idle_timeout_s: float | None = None  # no event on stdout for this long
    grace_s: float = 5.0  # between SIGTERM and SIGKILL


@dataclass(frozen=True)
class RunFiles:
    """Where a run's output goes as it arrives."""

    stdout: Path
    stderr: Path
    reaper_report: Path

    @classmethod
    def in_dir(cls, folder: Path) -> RunFiles:
        return cls(folder / "stream.ndjson", folder / "stderr.log", folder / "process.json")


@dataclass
class ProcessRun:
    """A child process run to its end; fields fill in as it goes, so a caller that is
    cancelled mid-run can still read what happened."""

    argv: Sequence[str]
    env: Mapping[str, str]
    cwd: Path
    stdin: bytes
    files: RunFiles
    limits: Limits = field(default_factory=Limits)
    watch: Watch | None = None
    sandboxed: bool = False  # the command is a runner._agent.jail.Jail that reports on fd 3
    redact: Redactor = field(default_factory=Redactor)

    started: float | None = None  # time.monotonic()
    ended: float | None = None
    last_event: float | None = None
    stop_reason: str | None = None  # "timeout", "idle_timeout", "cancelled", or the watch's
    spawn_error: str | None = None
    exit_code: int | None = None
    signal: int | None = None
    leftovers: list[str] = field(default_factory=list)  # other processes ended with the run
    tree_lost: str | None = None  # why the reaper could not end the tree (it was killed)
    survivors: list[str] = field(default_factory=list)  # processes that would not die
    stderr_tail: bytearray = field(default_factory=bytearray)
    stderr_bytes: int = 0

    _proc: Process | None = None
    _framer: LineFramer = field(default_factory=LineFramer)
    _out: BinaryIO | None = None
    _err: BinaryIO | None = None
    _out_redact: StreamRedactor | None = None
    _err_redact: StreamRedactor | None = None
    # Made in run(): anyio needs a running event loop to make them.
    _io_scope: anyio.CancelScope | None = None
    _stopping: anyio.Event | None = None
    _mark: str | None = None  # TREE_MARK's value in this tree, when not sandboxed

    async def run(self) -> None:
        self._stopping, self._io_scope = anyio.Event(), anyio.CancelScope()
        self.started = self.last_event = time.monotonic()
        # -I -S: no site-packages, no PYTHON* variables; the reaper needs only the stdlib. -B
        # as for runner itself (PYTHONDONTWRITEBYTECODE, which -I would ignore).
        python = [sys.executable, "-I", "-S", *(["-B"] if sys.flags.dont_write_bytecode else [])]
        reaper = [*python, "-c", _reaper.BOOT, _reaper.__file__, str(self.limits.grace_s)]
        # Absolute: the reaper's working directory is the run's, not ours.
        report = str(self.files.reaper_report.absolute())
        mode = ["--sandboxed"] if self.sandboxed else []
        command = [*reaper, report, *mode, "--", *self.argv]
        self._out_redact, self._err_redact = self.redact.stream(), self.redact.stream()
        self.files.reaper_report.unlink(missing_ok=True)
        env = dict(self.env)
        if not self.sandboxed:
            # Unconfined, the agent can kill the reaper; its orphans still carry this.
            self._mark = env[TREE_MARK] = uuid.uuid4().hex
        with self._sinks():
            try:
                # Its own session: a Ctrl-C in the user's terminal reaches runner, which then
                # ends the run in order, instead of reaching the CLI mid-write.
                self._proc = await anyio.open_process(
                    command,
                    cwd=self.cwd,
                    env=env,
                    start_new_session=True,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                )
            except OSError as exc:
                self.spawn_error = f"{sys.executable}: {exc.strerror}"
                self.ended = time.monotonic()
                return
            try:
                await self._supervise(self._proc)
            finally:
                # Also when cancelled (or on Ctrl-C): a process still running is then stopped
                # as "cancelled". Shielded, so the stop itself cannot be cancelled halfway.
                with anyio.CancelScope(shield=True):
                    await self._finish(self._proc)

    @contextmanager
    def _sinks(self) -> Iterator[None]:
        # Unbuffered: each chunk is in the page cache as soon as it is read.
        with (
            open(self.files.stdout, "wb", buffering=0) as self._out,
            open(self.files.stderr, "wb", buffering=0) as self._err,
        ):
            yield

    async def _supervise(self, proc: Process) -> None:
        assert proc.stdin is not None
        assert proc.stdout is not None
        assert proc.stderr is not None
        assert self._io_scope is not None
        async with anyio.create_task_group() as tg:
            tg.start_soon(self._send_stdin, proc.stdin)
            tg.start_soon(self._drain_stderr, proc.stderr)
            async with anyio.create_task_group() as timers:
                timers.start_soon(self._watchdog)
                with self._io_scope:
                    await self._read_stdout(proc.stdout)
                await proc.wait()
                timers.cancel_scope.cancel()

    def stop(self, reason: str) -> None:
        """End the run: the first reason given is the one reported."""
        self.stop_reason = self.stop_reason or reason
        if self._proc is None or self._stopping is None or self._stopping.is_set():
            return
        self._stopping.set()
        with suppress(ProcessLookupError):
            self._proc.send_signal(signal.SIGTERM)

    def _next_deadline(self) -> tuple[float, str]:
        limits, deadlines = self.limits, [(math.inf, "")]
        if limits.timeout_s is not None and self.started is not None:
            deadlines.append((self.started + limits.timeout_s, "timeout"))
        if limits.idle_timeout_s is not None and self.last_event is not None:
            deadlines.append((self.last_event + limits.idle_timeout_s, "idle_timeout"))
        return min(deadlines)

    async def _watchdog(self) -> None:
        assert self._stopping is not None
        # Wakes at the nearest deadline (the idle one moves with every event) or on a stop.
        while not self._stopping.is_set():
            when, reason = self._next_deadline()
            if (left := when - time.monotonic()) <= 0:
                self.stop(reason)
                break
            with anyio.move_on_after(left):
                await self._stopping.wait()
        # The reaper ends the tree within its grace; if it has not, kill the reaper itself.
        await anyio.sleep(self.limits.grace_s + _REAPER_MARGIN_S)
        self._kill_reaper()
        await anyio.sleep(_EOF_WAIT_S)
        assert self._io_scope is not None
        self._io_scope.cancel()

    async def _read_stdout(self, stdout: ByteReceiveStream) -> None:
        async for chunk in stdout:
            self._tee(chunk)

    def _tee(self, chunk: bytes) -> None:
        assert self._out is not None
        assert self._out_redact is not None
        # To disk before parsing: a crash of either side loses nothing the CLI printed. A
        # page-cache write of one chunk is microseconds; a thread hop would cost more.
        chunk = self._out_redact.feed(chunk)
        self._out.write(chunk)
        self._take(*self._framer.feed(chunk))

    def _take(self, first: int, frames: list[bytes | ParseError], at_eof: bool = False) -> None:
        for item in parse_frames(first, frames, at_eof=at_eof):
            self.last_event = time.monotonic()
            if self.watch is not None and (reason := self.watch(item)) is not None:
                self.stop(reason)

    async def _send_stdin(self, stdin: ByteSendStream) -> None:
        # Concurrently with reading: a large prompt must not wait on a full stdout pipe.
        with suppress(anyio.BrokenResourceError, anyio.ClosedResourceError):
            await stdin.send(self.stdin)
            await stdin.aclose()

    async def _drain_stderr(self, stderr: ByteReceiveStream) -> None:
        # Always drained, so a chatty CLI never blocks on a full pipe; memory and disk bounded.
        assert self._err is not None
        assert self._err_redact is not None
        async for chunk in stderr:
            self._keep_stderr(self._err_redact.feed(chunk))

    def _keep_stderr(self, chunk: bytes) -> None:
        assert self._err is not None
        if self.stderr_bytes < STDERR_FILE_CAP:
            self._err.write(chunk[: STDERR_FILE_CAP - self.stderr_bytes])
        self.stderr_bytes += len(chunk)
        self.stderr_tail.extend(chunk)
        if len(self.stderr_tail) > 2 * STDERR_TAIL_BYTES:
            del self.stderr_tail[:-STDERR_TAIL_BYTES]

    def _kill_reaper(self) -> None:
        if self._proc is not None and self._proc.returncode is None:
            with suppress(ProcessLookupError):
                self._proc.kill()

    async def _finish(self, proc: Process) -> None:
        """Shielded: the process is ended, its last bytes read, its report taken."""
        if proc.returncode is None:
            self.stop("cancelled")
            with anyio.move_on_after(self.limits.grace_s + _REAPER_MARGIN_S):
                await proc.wait()
            self._kill_reaper()
            await proc.wait()
        # What the CLI printed before it died is still in the pipe; the ends are closed now.
        assert proc.stdout is not None
        with anyio.move_on_after(_EOF_WAIT_S), suppress(anyio.BrokenResourceError):
            await self._read_stdout(proc.stdout)
        self._flush_held()
        self._take(*self._framer.close(), at_eof=True)
        await proc.aclose()
        self.ended = time.monotonic()
        self._read_report(proc.returncode)

    def _flush_held(self) -> None:
        """The few bytes a redactor held back, in case they began a secret: the streams are
        over, so they did not."""
        assert self._out is not None
        if self._out_redact is not None and (tail := self._out_redact.close()):
            self._out.write(tail)
            self._take(*self._framer.feed(tail))
        if self._err_redact is not None and (tail := self._err_redact.close()):
            self._keep_stderr(tail)

    def _read_report(self, returncode: int | None) -> None:
        try:
            raw, replaced = self.redact.binary(self.files.reaper_report.read_bytes())
            if replaced:  # a leftover's command line held a secret
                write_atomically(self.files.reaper_report, raw.decode("utf-8", "replace"))
            report = json.loads(raw)
        except (OSError, ValueError):
            # The reaper was killed before it could say: its own status is all there is.
            report = {}
            if returncode is not None and returncode < 0:
                report["signal"] = -returncode
            else:
                report["exit_code"] = returncode
            how = f"signal {-returncode}" if returncode and returncode < 0 else "no report"
            self.tree_lost = f"the run's reaper was killed ({how}); " + (
                "its sandbox ended with it"
                if self.sandboxed
                else "the run's processes were found by their environment and ended"
            )
        self.exit_code = report.get("exit_code")
        self.signal = report.get("signal")
        self.spawn_error = report.get("spawn_error")
        self.leftovers = list(report.get("leftovers", []))
        self.survivors = list(report.get("survivors", []))
        if self.tree_lost is not None and self._mark is not None:
            self.leftovers += [self.redact.text(p) for p in _sweep(self._mark)]

    @property
    def stderr_text(self) -> str:
        return self.stderr_tail[-STDERR_TAIL_BYTES:].decode("utf-8", "replace")

    @property
    def duration_ms(self) -> int | None:
        if self.started is None or self.ended is None:
            return None
        return round((self.ended - self.started) * 1000)


TREE_MARK = "RUNNER_PROCESS_TREE"


def _sweep(mark: str) -> list[str]:
    """SIGKILL every process whose environment holds ``TREE_MARK=mark``: an unconfined run's
    orphans after its reaper was killed. Best effort: a process that cleared its environment
    is not found."""
    needle = f"{TREE_MARK}={mark}".encode()
    ended: list[str] = []
    for _ in range(3):  # a process may fork between the listing and the kill
        found = [pid for pid in _pids() if needle in _environ(pid).split(b"\0")]
        if not found:
            break
        ended += [_reaper._describe(pid) for pid in found]
        _reaper._signal_all(found, signal.SIGKILL)
    return list(dict.fromkeys(ended))


def _pids() -> list[int]:
    return [int(n) for n in os.listdir("/proc") if n.isdigit()] if os.path.isdir("/proc") else []


def _environ(pid: int) -> bytes:
    try:
        with open(f"/proc/{pid}/environ", "rb") as f:
            return f.read()
    except OSError:
        return b""
