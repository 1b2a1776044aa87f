"""What the commands share: argparse types (a bad value is one line naming the option), and
one-line messages on stderr."""

from __future__ import annotations

import argparse
import math
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from runner.inputs import MAX_CONCURRENCY, MAX_TIMEOUT_S, MAX_TRIALS, MAX_TURNS

_N = TypeVar("_N", int, float)


def _positive_of(
    cast: Callable[[str], _N], noun: str, most: _N | None = None, what: str = ""
) -> Callable[[str], _N]:
    """``cast`` of the text, refused unless above zero and finite (nan and inf too), and
    above ``most``, the largest ``what`` that makes sense (README, "Limits")."""

    def parse(text: str) -> _N:
        try:
            value = cast(text)
        except ValueError:
            value = cast("0")
        if not value > 0 or (isinstance(value, float) and not math.isfinite(value)):
            raise argparse.ArgumentTypeError(f"{text!r} is not a positive {noun}")
        if most is not None and value > most:
            raise argparse.ArgumentTypeError(f"{text!r} is more than {most:,g}, the most {what}")
        return value

    return parse


positive = _positive_of(int, "whole number")
positive_number = _positive_of(float, "number")
trial_count = _positive_of(int, "whole number", MAX_TRIALS, "trials per scenario and lane")
concurrency = _positive_of(int, "whole number", MAX_CONCURRENCY, "CLIs at once")
turn_count = _positive_of(int, "whole number", MAX_TURNS, "turns of one run")
seconds = _positive_of(float, "number", MAX_TIMEOUT_S, "seconds (a day) a run may wait")


def say(message: str) -> None:
    print(f"runner: {message}", file=sys.stderr, flush=True)


def fail(message: str) -> int:
    """A usage or configuration error: one line, and the exit code for it."""
    say(message)
    return 2


def dir_option(parser: argparse.ArgumentParser, flag: str, default: Path) -> None:
    """A folder option that says its default."""
    parser.add_argument(flag, default=str(default), metavar="DIR", help=f"default {default}")


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Epilogs as written (examples, tables); a long one-line description wrapped to the
    terminal, which the raw formatter would leave as one line."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            textwrap.fill(line, width, initial_indent=indent, subsequent_indent=indent)
            if len(line) > 100
            else indent + line
            for line in text.splitlines()
        )


UNCONFINED = (
    "warning: --sandbox none: the agent runs unconfined, with your rights: it can read and "
    "change your files, reach the network, and signal runner's own processes"
)


def sandbox_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--sandbox",
        choices=("bwrap", "none"),
        default=None,
        help="bwrap (the default): every run in a bubblewrap sandbox that sees its workspace and "
        "the model, nothing else; none: on this machine, unconfined (RUNNER_SANDBOX=none too)",
    )
