"""``python -m runner ...``: the only module that knows every other one."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from runner import __version__
from runner.claude_bin import ClaudeNotFoundError, claude_version, find_claude, pinned_version
from runner.render import render_summary
from runner.stream import iter_events
from runner.transcript import SummaryBuilder


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


def _transcript(args: argparse.Namespace) -> int:
    builder = SummaryBuilder()
    try:
        # stdin is read as it streams; a file is read in chunks: memory stays one line deep.
        with (
            open(args.file, "rb")
            if args.file != "-"
            else open(sys.stdin.fileno(), "rb", closefd=False)
        ) as f:
            for item in iter_events(f, max_line_bytes=args.max_line_bytes):
                builder.add(item)
    except OSError as exc:
        print(f"runner: {args.file}: cannot read ({exc.strerror})", file=sys.stderr)
        return 2
    summary = builder.summary()
    if args.json:
        print(summary.model_dump_json(indent=2))
    else:
        print(render_summary(summary, source=args.file))
    return 0


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive whole number of bytes")
    return value


DESCRIPTION = """\
runner: does this skill make Claude Code better at these tasks, and at what cost?
It runs the real Claude Code CLI and reads its stream-json output into typed events."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m runner", description=DESCRIPTION)
    parser.add_argument("--version", action="version", version=f"runner {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    doctor = sub.add_parser("doctor", help="show which Claude Code CLI runner will use")
    doctor.add_argument(
        "--claude-bin",
        help="path to the claude binary (else $RUNNER_CLAUDE_BIN, "
        "the pinned one from scripts/setup, then claude on PATH)",
    )
    doctor.set_defaults(func=_doctor)

    tr = sub.add_parser(
        "transcript",
        help="summarize a stream-json transcript (a file, or - for stdin as it streams)",
        description="Read the NDJSON that `claude --print --output-format stream-json --verbose` "
        "writes and summarize it: how the run ended, turns, cost and tokens, the tools it called "
        "and the skills it invoked. Bad lines are counted and skipped, never fatal.",
        epilog="examples:\n  python -m runner transcript fixtures/transcripts/tools.ndjson\n"
        "  claude -p --output-format stream-json --verbose < prompt.txt | "
        "python -m runner transcript - --json",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    tr.add_argument("file", metavar="FILE", help="a stream-json file, or - for standard input")
    tr.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    tr.add_argument(
        "--max-line-bytes",
        type=_positive,
        default=None,
        metavar="N",
        help="skip (and count as a parse error) any line longer than N bytes; default: no cap",
    )
    tr.set_defaults(func=_transcript)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return 130  # Ctrl-C: the user knows; no traceback
    except BrokenPipeError:
        # The reader of our output went away (| head): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
