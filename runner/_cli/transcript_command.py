"""``python -m runner transcript``: summarize a stream-json transcript, a file or stdin as it
streams, in memory one line deep."""

from __future__ import annotations

import argparse
import sys

from runner._cli.cmdline import HelpFormatter, positive


def add_transcript_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tr = sub.add_parser(
        "transcript",
        help="summarize a stream-json transcript (a file, or - for stdin as it streams)",
        description="Read the NDJSON that `claude --print --output-format stream-json --verbose` "
        "writes and summarize it: how the run ended, turns, cost and tokens, the tools it called "
        "and the skills it invoked. Bad lines are counted and skipped, never fatal.",
        epilog="examples:\n  python -m runner transcript fixtures/transcripts/tools.ndjson\n"
        "  echo 'Say hello.' | claude -p --output-format stream-json --verbose | "
        "python -m runner transcript - --json",
        formatter_class=HelpFormatter,
    )
    tr.add_argument("file", metavar="FILE", help="a stream-json file, or - for standard input")
    tr.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    tr.add_argument(
        "--max-line-bytes",
        type=positive,
        default=None,
        metavar="N",
        help="skip (and count as a parse error) any line longer than N bytes; default: no cap",
    )
    tr.set_defaults(func=_transcript)


def _transcript(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runner._cli.cmdline import fail, say
    from runner._results.render_run import render_summary
    from runner._transcript.stream import iter_events
    from runner._transcript.summarize import SummaryBuilder
    from runner._util.inputs import open_input
    from runner._util.terminal import json_visible, visible

    builder = SummaryBuilder()
    try:
        # stdin is read as it streams; a file is read in chunks: memory stays one line deep.
        # A pipe is a stream too (`transcript <(claude ...)`); a folder or device is refused.
        with (
            open_input(Path(args.file), pipes=True)
            if args.file != "-"
            else open(sys.stdin.fileno(), "rb", closefd=False)
        ) as f:
            for item in iter_events(f, max_line_bytes=args.max_line_bytes):
                builder.add(item)
    except OSError as exc:
        return fail(f"{args.file}: cannot read ({exc.strerror})")
    summary = builder.summary()
    if args.json:
        print(json_visible(summary.model_dump_json(indent=2)))
        for warning in summary.warnings:  # the text form shows them; JSON is often piped away
            say(f"warning: {visible(warning)}")
    else:
        print(render_summary(summary, source=args.file))
    return 0
