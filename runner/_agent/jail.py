"""The bubblewrap jail as data: what a sandbox shows, where it starts, its limits, and the
bwrap command line that makes it.

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

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Network = Literal["model", "host"]

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
