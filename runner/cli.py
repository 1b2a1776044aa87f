"""``python -m runner ...``: the only module that knows every other one."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from runner import __version__
from runner.claude_bin import ClaudeNotFoundError, claude_version, find_claude, pinned_version


def _doctor(args: argparse.Namespace) -> int:
    pinned = pinned_version()
    try:
        binary = find_claude(args.claude_bin)
        version = claude_version(binary)
    except ClaudeNotFoundError as exc:
        print(f"runner: {exc}", file=sys.stderr)
        return 2
    print(f"runner {__version__}")
    print(f"claude {version} ({binary.source}: {binary.path})")
    if pinned and version != pinned:
        print(f"warning: runner is pinned to Claude Code {pinned}; found {version}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runner", description=__doc__)
    parser.add_argument("--version", action="version", version=f"runner {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    doctor = sub.add_parser("doctor", help="show which Claude Code CLI runner will use")
    doctor.add_argument("--claude-bin", help="path to the claude binary (else $RUNNER_CLAUDE_BIN, "
                        "the pinned one from scripts/setup, then claude on PATH)")
    doctor.set_defaults(func=_doctor)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))
