"""Running the Claude Code CLI: its stream flags, an isolated environment, a streamed run.

The issue after this one grows this into the full engine (lanes, diagnostics, idle timeouts,
the process tree); what is here is what tests and the capture script share today.
"""

from __future__ import annotations

import os
import signal
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

import anyio
from anyio.abc import Process

from runner.stream import StreamItem, aiter_events

STREAM_FLAGS = ("--print", "--output-format", "stream-json", "--verbose")
_GRACE_S = 5.0  # after SIGTERM, before SIGKILL


def isolated_env(
    base_url: str, home: Path, *, api_key: str = "sk-scripted", extra: Mapping[str, str] = {}
) -> dict[str, str]:
    """The CLI's whole environment: its own HOME, config and temp dirs, so the user's skills,
    settings and CLAUDE.md never leak in, and nothing but the model endpoint is reachable."""
    tmp = home / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": str(home / ".claude"),
        # Task output files go to /tmp/claude-<uid> unless this is set.
        "TMPDIR": str(tmp),
        "CLAUDE_CODE_TMPDIR": str(tmp),
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        **extra,
    }


@dataclass
class StreamedRun:
    stdout: bytes
    stderr: bytes
    returncode: int | None
    items: list[StreamItem] = field(default_factory=list)
    stopped: str | None = None  # why runner sent SIGTERM, if it did
    timed_out: bool = False


async def run_streaming(
    argv: Sequence[str],
    *,
    env: Mapping[str, str],
    cwd: Path,
    prompt: str,
    stop_when: Callable[[StreamItem], bool] | None = None,
    stop_after_s: float | None = None,
    timeout_s: float = 120.0,
) -> StreamedRun:
    """Run the CLI with ``prompt`` on stdin, parsing its stdout as it arrives.

    ``stop_when`` (an event) or ``stop_after_s`` ends the run with SIGTERM, to capture runs
    that end without a result. The CLI leads its own process group; stopping it signals the
    group, then kills it after a grace period.
    """
    raw, err = bytearray(), bytearray()
    run = StreamedRun(b"", b"", None)

    async def tee(proc: Process) -> AsyncIterator[bytes]:
        assert proc.stdout is not None
        async for chunk in proc.stdout:
            raw.extend(chunk)  # the exact bytes, before parsing
            yield chunk

    async def drain_stderr(proc: Process) -> None:
        assert proc.stderr is not None
        async for chunk in proc.stderr:
            err.extend(chunk)

    async def stop_later(proc: Process, delay: float) -> None:
        await anyio.sleep(delay)
        run.stopped = run.stopped or f"SIGTERM after {delay} s"
        await _stop(proc)

    proc = await anyio.open_process(list(argv), env=dict(env), cwd=cwd, start_new_session=True)
    try:
        async with proc:
            assert proc.stdin is not None
            await proc.stdin.send(prompt.encode())
            await proc.stdin.aclose()
            async with anyio.create_task_group() as tg:
                tg.start_soon(drain_stderr, proc)
                if stop_after_s is not None:
                    tg.start_soon(stop_later, proc, stop_after_s)
                with anyio.move_on_after(timeout_s) as scope:
                    async for item in aiter_events(tee(proc)):
                        run.items.append(item)
                        if stop_when is not None and run.stopped is None and stop_when(item):
                            run.stopped = f"SIGTERM at event {len(run.items)}"
                            tg.start_soon(_stop, proc)
                    await proc.wait()
                if scope.cancelled_caught:
                    run.timed_out = True
                    await _stop(proc)
                tg.cancel_scope.cancel()  # a pending stop_later has nothing left to do
    finally:
        # Whatever ended the run (even our own cancellation), nothing of its group outlives it.
        _signal_group(proc.pid, signal.SIGKILL)
    run.stdout, run.stderr, run.returncode = bytes(raw), bytes(err), proc.returncode
    return run


async def _stop(proc: Process) -> None:
    # SIGTERM lets the CLI exit on its own (code 143); SIGKILL if it has not within the grace.
    _signal_group(proc.pid, signal.SIGTERM)
    with anyio.move_on_after(_GRACE_S):
        await proc.wait()
        return
    _signal_group(proc.pid, signal.SIGKILL)
    await proc.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    with suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
