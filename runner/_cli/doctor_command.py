"""``python -m runner doctor``: which Claude Code CLI runner will use, and whether the sandbox
is ready."""

from __future__ import annotations

import argparse

from runner._util.version import __version__


def add_doctor_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    doctor = sub.add_parser("doctor", help="show which Claude Code CLI runner will use")
    doctor.add_argument(
        "--claude-bin",
        help="path to the claude binary (else $RUNNER_CLAUDE_BIN, "
        "the pinned one from scripts/setup, then claude on PATH)",
    )
    doctor.set_defaults(func=_doctor)


def _doctor(args: argparse.Namespace) -> int:
    from runner._agent import jail, sandbox
    from runner._agent.claude_bin import (
        ClaudeNotFoundError,
        claude_version,
        find_claude,
        pinned_version,
    )
    from runner._cli.cmdline import UNCONFINED, fail

    pinned = pinned_version()
    try:
        binary = find_claude(args.claude_bin)
        version = claude_version(binary)
    except ClaudeNotFoundError as exc:
        return fail(str(exc))
    print(f"runner {__version__}")
    print(f"claude {version} ({binary.source}: {binary.path})")
    if pinned and version != pinned:
        print(f"warning: runner is pinned to Claude Code {pinned}; found {version}")
    found = sandbox.state()
    if sandbox.default_mode() == "none":
        print(f"sandbox: off ({sandbox.SANDBOX_ENV}=none): {UNCONFINED.split(': ', 2)[2]}")
        return 0
    if not found.ready:
        print(f"sandbox: unavailable: {found.problem}")
        return 1
    print(f"sandbox: bwrap {_version_of(found.bwrap)} ({found.bwrap}), socat ({found.socat})")
    limit = jail.DEFAULT_MAX_PROCESSES
    print(f"sandbox processes: at most {limit} per run (by default), by {found.process_limit}")
    return 0


def _version_of(program: str | None) -> str:
    import subprocess

    try:
        said = subprocess.run([program or "false", "--version"], capture_output=True, text=True)
    except OSError:
        return "?"
    return said.stdout.split()[-1] if said.stdout.split() else "?"
