"""``python -m runner ...``: the only module that knows every other one."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from functools import partial
from pathlib import Path

import anyio

from runner import __version__
from runner.claude_bin import ClaudeNotFoundError, claude_version, find_claude, pinned_version
from runner.render import render_summary
from runner.replay.http import serve
from runner.replay.mock_api import Exchange, ScriptedModel
from runner.replay.script import ScriptFileError, load_script
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


def _mock_model(args: argparse.Namespace) -> int:
    try:
        script = load_script(Path(args.script))
    except ScriptFileError as exc:
        print(f"runner: {exc}", file=sys.stderr)
        return 2
    model = ScriptedModel(script, seed=args.seed, on_exchange=_log_exchange)
    return anyio.run(_serve_model, model, args.script, args.port, backend="asyncio")


async def _serve_model(model: ScriptedModel, source: str, port: int) -> int:
    """Serve until cancelled (Ctrl-C); 2 when the port cannot be bound."""
    async with anyio.create_task_group() as tg:
        try:
            bound = await tg.start(partial(serve, model.handle, port=port))
        except OSError as exc:
            print(f"runner: cannot listen on 127.0.0.1:{port} ({exc.strerror})", file=sys.stderr)
            return 2
        url = f"http://127.0.0.1:{bound}"
        print(
            f"mock-model: serving {source} ({_turns(model.turns_left)}, seed {model.base_seed}) "
            f"on {url}; use ANTHROPIC_BASE_URL={url} ANTHROPIC_API_KEY=any",
            flush=True,
        )
    return 0


def _turns(n: int) -> str:
    return f"{n} turn" if n == 1 else f"{n} turns"


def _log_exchange(x: Exchange) -> None:
    session = x.session[:8] if x.session else "-"
    outcome = "hangs" if x.status is None else str(x.status)
    print(f"{x.method} {x.path} session {session}{_turn_text(x)} -> {outcome}", file=sys.stderr)


def _turn_text(x: Exchange) -> str:
    if x.turn is None or x.turns is None:
        return ""  # the request took no turn
    where = f" {x.conversation}" if x.conversation is not None else ""
    if x.turn >= x.turns:
        return f"{where} turn {x.turn + 1}/{x.turns} (script used up)"
    return f"{where} turn {x.turn + 1}/{x.turns}"


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535; 0: any free one)")
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

    mm = sub.add_parser(
        "mock-model",
        help="serve a scripted model on 127.0.0.1 for the real CLI to run against",
        description="Serve the Anthropic Messages API (SSE streaming) on 127.0.0.1, answering "
        "each request with the script's next turn. Claude Code pointed at it runs its tools for "
        "real; only the model is scripted. Each CLI session gets the script from its start, with "
        "its own draw of the script's choices, so one server serves many runs. Logs each request "
        'on stderr; runs until Ctrl-C. The script format: README, "The scripted model".',
        epilog="example:\n  python -m runner mock-model --script script.json --port 8123\n"
        "  ANTHROPIC_BASE_URL=http://127.0.0.1:8123 ANTHROPIC_API_KEY=any "
        "claude -p --output-format stream-json --verbose < prompt.txt",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    mm.add_argument("--script", required=True, metavar="FILE", help="the script, a JSON file")
    mm.add_argument(
        "--port",
        type=_port,
        default=0,
        metavar="N",
        help="port to listen on; default 0: a free one",
    )
    mm.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="the first session's seed for the script's choices (session n draws with N + n); "
        "default: the script's seed",
    )
    mm.set_defaults(func=_mock_model)
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
