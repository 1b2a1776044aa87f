"""``python -m runner ...``: the only module that knows every other one."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from runner._cli.cmdline import (
    HelpFormatter,
    Parser,
    interrupted,
    io_error,
    io_failure,
    stop_like_ctrl_c,
)
from runner._cli.doctor_command import add_doctor_command
from runner._cli.init_command import add_init_command
from runner._cli.mock_model_command import add_mock_model_command
from runner._cli.results_commands import add_result_commands
from runner._cli.run_command import add_run_command
from runner._cli.suite_args import add_suite_commands
from runner._cli.transcript_command import add_transcript_command
from runner._cli.view_command import add_view_commands
from runner._util.version import __version__

# Each command's module imports what the command uses when it runs: `--help` and `transcript`
# stay quick (pydantic's model building and httpx are most of a full import; issue 17).

DESCRIPTION = """\
runner: does this skill make Claude Code better at these tasks, and at what cost?
It runs the real Claude Code CLI and reads its stream-json output into typed events."""


START_HERE = """\
start here (offline and for $0 without ANTHROPIC_API_KEY):
  python -m runner init my-skill                          # a skill, and a scenario to edit
  python -m runner eval --lanes agent-skill               # its scenarios, scored and cached
  python -m runner ab --lanes agent-baseline,agent-skill  # does it help, at what cost?
  python -m runner report                                 # all of it in one HTML file
  python -m runner view --open                            # or browse every stored result
Each command's --help has examples; the README has the rest."""


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(
        prog="python -m runner",
        description=DESCRIPTION,
        epilog=START_HERE,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"runner {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    add_doctor_command(sub)
    add_transcript_command(sub)
    add_mock_model_command(sub)
    add_run_command(sub)
    add_suite_commands(sub)
    add_result_commands(sub)
    add_view_commands(sub)
    add_init_command(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    # runner uses no pydantic plugin, and looking for them scans every installed package's
    # metadata at the first model built (16 ms of every command's start); set to "" to look.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    args = build_parser().parse_args(argv)
    stop_like_ctrl_c()
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return interrupted()  # Ctrl-C, SIGTERM, SIGHUP: the user knows; no traceback
    except BrokenPipeError:
        # The reader of our output went away (| head): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (OSError, BaseExceptionGroup) as exc:
        # A full disk, a read-only folder: the environment's problem, one line, never a
        # traceback. Anything else in a group is a bug, and its traceback is wanted.
        problem = io_error(exc)
        if problem is not None:
            return io_failure(problem)
        if isinstance(exc, BaseExceptionGroup) and exc.subgroup(KeyboardInterrupt):
            return interrupted()  # on trio, Ctrl-C comes out of the task groups in one
        raise
