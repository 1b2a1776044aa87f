"""Whether and how a run is sandboxed: the sandbox's mode, whether it can run on this machine
(``state``, ``require``), and the launch of one run (``launching``: its command, the paths it
sees, the model endpoint bridged in) or of one check's command (``confined``) in a ``Jail``.
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

from runner._agent.bridge import bridged
from runner._agent.cgroup import pids_cgroup, pids_parent
from runner._agent.jail import (
    CLAUDE,
    DEFAULT_MAX_PROCESSES,
    HOME,
    MODEL_PORT,
    MODEL_SOCKET,
    SEARCH_PATH,
    TMP,
    WORKSPACE,
    Jail,
    Mount,
    Network,
)
from runner._agent.workspace import Workspace

SandboxMode = Literal["bwrap", "none"]
SANDBOX_ENV = "RUNNER_SANDBOX"  # "none" turns the sandbox off, like --sandbox none
INSTALL_HINT = "apt-get install -y bubblewrap socat"


class SandboxUnavailable(RuntimeError):
    """The sandbox cannot run on this machine; the message says how to fix it in one line."""


def default_mode() -> SandboxMode:
    return "none" if os.environ.get(SANDBOX_ENV, "").strip().lower() == "none" else "bwrap"


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
