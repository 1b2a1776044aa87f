"""Where the agent runs: the whole CLI inside a bubblewrap sandbox, so the untrusted code it
executes sees its own workspace, a private home and temp folder, the system's programs
read-only, and no network but the model endpoint.

Inside, every run sees the same paths, so transcripts and cassettes are the same on every
machine, and no folder above the workspace holds a CLAUDE.md or a skill runner did not put
there::

    /workspace            the run's workspace (read-write): the CLI's working directory
    /home/agent           HOME and CLAUDE_CONFIG_DIR (read-write)
    /tmp                  the run's temp folder (read-write)
    /usr /etc /bin ...    the host's, read-only; /etc/claude-code and /etc's secrets hidden
    /run/runner/claude    the CLI binary (read-only)
    /run/runner/model.sock   runner's model endpoint, which socat serves on 127.0.0.1:41917

The agent's command runs under ``bash`` as PID 1 of its own PID namespace (``--as-pid-1``: the
kernel drops signals sent to it from inside). It starts the bridge, runs the CLI, tells the
reaper outside on fd 3 how the CLI ended, then waits to be killed: until then the processes
the agent left are still there for the reaper to list. The reaper stays outside the
namespace, where the agent cannot see or signal it; if it dies, ``--die-with-parent`` ends the
sandbox.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

import anyio
from anyio.abc import SocketStream, TaskStatus

from runner._agent.cgroup import pids_cgroup, pids_parent
from runner._agent.workspace import Workspace

SandboxMode = Literal["bwrap", "none"]
Network = Literal["model", "host"]
SANDBOX_ENV = "RUNNER_SANDBOX"  # "none" turns the sandbox off, like --sandbox none

WORKSPACE = "/workspace"
HOME = "/home/agent"
TMP = "/tmp"
_RUNNER = "/run/runner"
CLAUDE = f"{_RUNNER}/claude"
MODEL_SOCKET = f"{_RUNNER}/model.sock"
MODEL_PORT = 41917
SEARCH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_MAX_PROCESSES = 1024
MIN_PROCESSES = 64  # the CLI alone runs about 15 threads
INSTALL_HINT = "apt-get install -y bubblewrap socat"

# The host's programs and their configuration, read-only; nothing else of the host is there.
_SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Inside /etc: settings that would steer every run, and files that hold secrets.
_HIDDEN = (
    "/etc/claude-code",
    "/etc/shadow",
    "/etc/shadow-",
    "/etc/gshadow",
    "/etc/gshadow-",
    "/etc/ssh",
    "/etc/ssl/private",
    "/etc/sudoers",
    "/etc/sudoers.d",
)


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine; the message says how to fix it in one line."""


def default_mode() -> SandboxMode:
    return "none" if os.environ.get(SANDBOX_ENV, "").strip().lower() == "none" else "bwrap"


@dataclass(frozen=True)
class Mount:
    source: Path  # on the host
    target: str  # inside
    writable: bool = False


@dataclass(frozen=True)
class Jail:
    """One bubblewrap sandbox: what it shows, where it starts, and its limits."""

    bwrap: str
    mounts: tuple[Mount, ...]
    cwd: str
    network: Network = "model"
    max_processes: int = DEFAULT_MAX_PROCESSES
    cgroup: Path | None = None  # a pids cgroup to start in (root only; else RLIMIT_NPROC)

    def argv(self, command: Sequence[str], *, as_pid_1: bool = False) -> list[str]:
        args = [
            self.bwrap,
            "--unshare-user",
            "--unshare-pid",
            "--unshare-ipc",
            "--unshare-uts",
            "--unshare-cgroup-try",
            "--hostname",
            "sandbox",
            "--die-with-parent",
            "--new-session",
            "--cap-drop",
            "ALL",
            "--disable-userns",  # no nested namespace in which the agent holds capabilities
        ]
        if self.network != "host":
            args.append("--unshare-net")
        if as_pid_1:
            args.append("--as-pid-1")
        args += _system_mounts()
        args += ["--proc", "/proc", "--dev", "/dev"]
        for m in self.mounts:
            args += ["--bind" if m.writable else "--ro-bind", str(m.source), m.target]
        args += ["--chdir", self.cwd, "--", *command]
        if self.cgroup is None:
            return args
        # Join the cgroup, then become bwrap: everything the sandbox starts is counted.
        join = 'echo $$ > "$0/cgroup.procs" && exec "$@"'
        return ["/bin/sh", "-c", join, str(self.cgroup), *args]

    def agent_command(self, argv: Sequence[str], *, bridge: bool) -> list[str]:
        """The CLI (``argv``; its binary bound at /run/runner/claude) under the entry script
        that reports to the reaper on fd 3 (``reaper.py --sandboxed``)."""
        script = _ENTRY.format(
            max_processes=self.max_processes,
            bridge=_BRIDGE.format(port=MODEL_PORT, socket=MODEL_SOCKET, hex=f"{MODEL_PORT:04X}")
            if bridge
            else "",
        )
        return self.argv(
            ["/bin/bash", "-c", script, "runner-sandbox", CLAUDE, *argv[1:]], as_pid_1=True
        )

    def command(self, argv: Sequence[str]) -> list[str]:
        """A plain command (a check's ``sh -c``) with the same process limit."""
        limit = f'ulimit -u {self.max_processes} 2>/dev/null; exec "$@"'
        return self.argv(["/bin/bash", "-c", limit, "runner-sandbox", *argv])


# Lines on fd 3: "bridge N" and "cli N" (PIDs inside), then "exit N" (the CLI's status, 128+N
# when a signal ended it). RLIMIT_NPROC counts per user namespace, so it bounds this sandbox
# alone; the kernel does not apply it to root, which gets a cgroup instead.
_ENTRY = """\
ulimit -u {max_processes} 2>/dev/null
{bridge}"$@" 0<&0 3>&- &
echo "cli $!" >&3
wait $!
echo "exit $?" >&3
exec 3>&- sleep infinity
"""
# Listening is seen in /proc/net/tcp (LISTEN is state 0A); the CLI starts only after it.
_BRIDGE = """\
socat TCP-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork UNIX-CONNECT:{socket} 3>&- &
echo "bridge $!" >&3
until grep -q ":{hex} 00000000:0000 0A" /proc/net/tcp; do
  if ! kill -0 $! 2>/dev/null; then
    echo "spawn_error the sandbox's model bridge (socat) did not start" >&3
    exec 3>&- sleep infinity
  fi
  sleep 0.01
done
"""


def _system_mounts() -> list[str]:
    args: list[str] = []
    for path in _SYSTEM:
        if os.path.islink(path):  # merged /usr: /bin -> usr/bin
            args += ["--symlink", os.readlink(path), path]
        elif os.path.isdir(path):
            args += ["--ro-bind", path, path]
    for path in _HIDDEN:
        if os.path.isdir(path) and not os.path.islink(path):
            args += ["--tmpfs", path, "--remount-ro", path]
        elif os.path.lexists(path):
            args += ["--ro-bind", "/dev/null", path]
    return args


# ---- is it there ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SandboxState:
    """What ``doctor`` shows, and what eval checks before any run."""

    bwrap: str | None
    socat: str | None
    problem: str | None  # why runs cannot be sandboxed here; None: they can
    process_limit: str  # how the sandbox bounds its processes

    @property
    def ready(self) -> bool:
        return self.problem is None


def state() -> SandboxState:
    """bwrap and socat on PATH, and (once per bwrap) one tiny sandbox started."""
    return _state(shutil.which("bwrap"), shutil.which("socat"))


@cache
def _state(bwrap: str | None, socat: str | None) -> SandboxState:
    limit = _limit_description()
    if bwrap is None or socat is None:
        missing = " and ".join(n for n, p in (("bubblewrap", bwrap), ("socat", socat)) if not p)
        problem = f"the sandbox needs {missing}: {INSTALL_HINT} (or run with --sandbox none)"
        return SandboxState(bwrap, socat, problem, limit)
    jail = Jail(bwrap, (), "/")
    try:
        proc = subprocess.run(
            jail.argv(["/bin/true"]), capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return SandboxState(bwrap, socat, f"bwrap cannot start: {exc}", limit)
    if proc.returncode != 0:
        said = " ".join(proc.stderr.split())[:200] or f"exit code {proc.returncode}"
        problem = (
            f"bwrap cannot make a sandbox here ({said}); user namespaces may be disabled "
            "(sysctl kernel.unprivileged_userns_clone=1), or run with --sandbox none"
        )
        return SandboxState(bwrap, socat, problem, limit)
    return SandboxState(bwrap, socat, None, limit)


def require() -> str:
    """bwrap's path; SandboxUnavailable, with the fix, when runs cannot be sandboxed."""
    found = state()
    if found.problem is not None or found.bwrap is None:
        raise SandboxUnavailable(found.problem or "bwrap not found")
    return found.bwrap


# ---- the process limit ------------------------------------------------------------------------


def _limit_description() -> str:
    if os.geteuid() != 0:
        return "RLIMIT_NPROC in the sandbox's user namespace"
    where = pids_parent()
    if where is None:
        return "none: runner runs as root and no pids cgroup is writable"
    return f"a pids cgroup per run under {where}"


# ---- the model endpoint, brought in ----------------------------------------------------------


@asynccontextmanager
async def bridged(endpoint: str) -> AsyncIterator[Path]:
    """A Unix socket that forwards every connection to ``endpoint`` (``http://127.0.0.1:N``),
    for the body of the ``async with``; it is bound into the sandbox, which has no network."""
    url = urlsplit(endpoint)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    folder = Path(tempfile.mkdtemp(prefix="runner-", dir=_short_tmp()))
    socket_path = folder / "model.sock"
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(_serve_bridge, socket_path, host, port)
            try:
                yield socket_path
            finally:
                tg.cancel_scope.cancel()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _short_tmp() -> str:
    # A Unix socket's path must fit in 108 bytes.
    tmp = tempfile.gettempdir()
    return tmp if len(tmp) <= 60 else "/tmp"


async def _serve_bridge(
    socket_path: Path, host: str, port: int, *, task_status: TaskStatus[None]
) -> None:
    # Here, not at the top: the HTTP server (h11) is for a run, and a cached eval has none.
    from runner._model.http import accept_forever

    listener = await anyio.create_unix_listener(socket_path)
    async with listener:
        task_status.started()

        async def forward(client: SocketStream) -> None:
            # One connection's trouble (the endpoint gone, a reset) ends that connection only.
            async with client:
                try:
                    upstream = await anyio.connect_tcp(host, port)
                except OSError:
                    return
                async with upstream, anyio.create_task_group() as tg:
                    tg.start_soon(_pump, client, upstream)
                    await _pump(upstream, client)

        await accept_forever(listener, forward)


async def _pump(source: SocketStream, sink: SocketStream) -> None:
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        async for chunk in source:
            await sink.send(chunk)
        await sink.send_eof()


# ---- one run's launch -----------------------------------------------------------------------


@dataclass(frozen=True)
class Launch:
    """How one CLI run starts, and the paths and model URL it sees."""

    workspace: str
    home: str
    tmp: str
    base_url: str
    search_path: str | None = None  # PATH inside; None: the caller's
    jail: Jail | None = None  # None: on the host (--sandbox none)
    bridge: bool = False

    @property
    def sandboxed(self) -> bool:
        return self.jail is not None

    def command(self, argv: Sequence[str]) -> list[str]:
        if self.jail is None:
            return list(argv)
        return self.jail.agent_command(argv, bridge=self.bridge)


@asynccontextmanager
async def launching(
    mode: SandboxMode,
    *,
    network: Network,
    max_processes: int,
    workspace: Workspace,
    binary: Path,
    endpoint: str,
) -> AsyncIterator[Launch]:
    """The launch of one run, for the body of the ``async with``: on the host, or in a jail
    with the endpoint bridged in and, for root, a pids cgroup. SandboxUnavailable first when
    the sandbox cannot run here."""
    if mode == "none":
        yield Launch(str(workspace.path), str(workspace.home), str(workspace.tmp), endpoint)
        return
    bwrap = require()
    mounts = [
        Mount(workspace.path, WORKSPACE, writable=True),
        Mount(workspace.home, HOME, writable=True),
        Mount(workspace.tmp, TMP, writable=True),
        Mount(binary, CLAUDE),
    ]
    bridge = network == "model"
    async with contextlib.AsyncExitStack() as stack:
        url = endpoint
        if bridge:
            socket_path = await stack.enter_async_context(bridged(endpoint))
            mounts.append(Mount(socket_path, MODEL_SOCKET, writable=True))
            url = f"http://127.0.0.1:{MODEL_PORT}"
        cgroup = stack.enter_context(pids_cgroup(max_processes))
        jail = Jail(bwrap, tuple(mounts), WORKSPACE, network, max_processes, cgroup)
        yield Launch(WORKSPACE, HOME, TMP, url, SEARCH_PATH, jail, bridge)


@contextmanager
def confined(
    argv: Sequence[str],
    *,
    workspace: Path,
    mode: SandboxMode,
    network: Network = "model",
    max_processes: int = DEFAULT_MAX_PROCESSES,
) -> Iterator[tuple[list[str], dict[str, str] | None]]:
    """How to run ``argv`` over ``workspace`` (a check's command, after the run): the command
    and its environment. In a jail like the run's, with a fresh home and temp folder, a clean
    environment, and no network unless ``network="host"``; as given with ``mode="none"``
    (environment None: the caller's)."""
    if mode == "none":
        yield list(argv), None
        return
    bwrap = require()
    with (
        tempfile.TemporaryDirectory(prefix="runner-check-") as scratch,
        pids_cgroup(max_processes) as cgroup,
    ):
        home, tmp = Path(scratch) / "home", Path(scratch) / "tmp"
        home.mkdir()
        tmp.mkdir()
        mounts = (
            Mount(workspace, WORKSPACE, writable=True),
            Mount(home, HOME, writable=True),
            Mount(tmp, TMP, writable=True),
        )
        jail = Jail(bwrap, mounts, WORKSPACE, network, max_processes, cgroup)
        env = {"PATH": SEARCH_PATH, "HOME": HOME, "TMPDIR": TMP, "LANG": "C.UTF-8"}
        yield jail.command(argv), env
