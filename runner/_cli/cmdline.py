"""What the commands share: argparse types (a bad value is one line naming the option), paths
made absolute, one-line messages on stderr, exit codes, and how the commands stop on a signal
or an I/O error."""

from __future__ import annotations

import argparse
import errno
import importlib
import math
import os
import signal
import sys
import textwrap
from collections.abc import Awaitable, Callable
from contextlib import suppress
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, NoReturn, TypeVar

from runner._util.atomic import PathError, reason
from runner._util.inputs import MAX_CONCURRENCY, MAX_TIMEOUT_S, MAX_TRIALS, MAX_TURNS

if TYPE_CHECKING:
    import asyncio

# Exit codes, the same for every command (0 and 1 are each command's own: passed, failed).
USAGE = 2  # a usage or configuration error
ENVIRONMENT = 3  # an environment or I/O error: a full disk, a read-only folder
# The exit codes after "0 ..., 1 ...", on a line of their own in every command's help.
EXIT_CODES_REST = """\
2 usage or configuration, 3 environment or I/O (a full disk, a read-only folder: one line names
the path, the operation and the errno), 128 + the signal when one stopped it: 130 Ctrl-C
(SIGINT), 143 SIGTERM, 129 SIGHUP."""
STOPPING = """\
Ctrl-C, SIGTERM and SIGHUP stop the same way: each run in flight ends and writes its record,
nothing it started is left running, and the results so far stay in the partial file."""
EXIT_CODES = f"Exit codes: 0 all passed, 1 a run failed,\n{EXIT_CODES_REST}\n{STOPPING}"


_N = TypeVar("_N", int, float)
_T = TypeVar("_T")


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
percent = _positive_of(float, "number", 100.0, "percent or points")
trial_count = _positive_of(int, "whole number", MAX_TRIALS, "trials per scenario and lane")
concurrency = _positive_of(int, "whole number", MAX_CONCURRENCY, "CLIs at once")
turn_count = _positive_of(int, "whole number", MAX_TURNS, "turns of one run")
seconds = _positive_of(float, "number", MAX_TIMEOUT_S, "seconds (a day) a run may wait")


def port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = -1
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port (0 to 65535; 0: any free one)")
    return value


def absolute(text: str) -> Path:
    """A path option, made absolute once, as the command starts: runs work in other folders
    (the CLI's and the reaper's working directory is the workspace), where a relative path
    names something else."""
    return Path(text).absolute()


class Parser(argparse.ArgumentParser):
    """argparse with a usage error on one line, like every other user mistake (argparse's
    own prints the whole usage first); the usage is one ``--help`` away."""

    def error(self, message: str) -> NoReturn:
        self.exit(USAGE, f"{self.prog}: {message} (see {self.prog} --help)\n")


def say(message: str) -> None:
    # stderr may be gone (a closed terminal, SIGHUP): the eval's files still say it all.
    with suppress(OSError):
        print(f"runner: {message}", file=sys.stderr, flush=True)


def fail(message: str) -> int:
    """A usage or configuration error: one line, and the exit code for it."""
    say(message)
    return USAGE


def dir_option(parser: argparse.ArgumentParser, flag: str, default: Path) -> None:
    """A folder option that says its default; its value is absolute."""
    parser.add_argument(
        flag, type=absolute, default=str(default), metavar="DIR", help=f"default {default}"
    )


# Stopping on a signal. SIGTERM and SIGHUP do whatever Ctrl-C does at that moment: the SIGINT
# handler in place then is asyncio's or trio's while an event loop runs (the runs in flight
# end in order and write their records), Python's KeyboardInterrupt otherwise.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)
_stopped_by: list[int] = []


def stop_like_ctrl_c() -> None:
    """From now on SIGTERM and SIGHUP stop this process the way Ctrl-C does."""
    for signum in STOP_SIGNALS:
        signal.signal(signum, _as_ctrl_c)


def _as_ctrl_c(signum: int, frame: FrameType | None) -> None:
    _stopped_by.append(signum)
    handler = signal.getsignal(signal.SIGINT)
    if not callable(handler):  # SIGINT ignored (a background job): stop all the same
        handler = signal.default_int_handler
    handler(signal.SIGINT, frame)


def interrupted() -> int:
    """The exit code of a command stopped by a signal: 128 + the first one (Ctrl-C: 130)."""
    return 128 + (_stopped_by[0] if _stopped_by else signal.SIGINT)


def command(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A command's handler, ``module.name``, imported only when the command runs: building
    the parser (``--help``, every other command) does not pay for its imports."""

    def run(args: argparse.Namespace) -> int:
        return int(getattr(importlib.import_module(module), name)(args))

    return run


def run_async(func: Callable[..., Awaitable[_T]], *args: Any) -> _T:
    """``anyio.run(func, *args)`` as the commands run it: on asyncio, with one harmless report
    left out. When a stop cancels a read on a Unix socket (the sandbox's bridge to the model)
    as data arrives, anyio's asyncio backend wakes the cancelled read and asyncio logs an
    InvalidStateError with a traceback; the read is gone, nothing is lost."""
    import asyncio

    import anyio

    async def main() -> _T:
        asyncio.get_running_loop().set_exception_handler(_unless_cancelled_wakeup)
        return await func(*args)

    return anyio.run(main)


def _unless_cancelled_wakeup(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    import asyncio

    message = str(context.get("message", ""))
    woken = message.startswith("Exception in callback Future.set_result(")
    if woken and isinstance(context.get("exception"), asyncio.InvalidStateError):
        return
    loop.default_exception_handler(context)


def io_error(exc: BaseException) -> OSError | None:
    """The OSError behind ``exc``, looked for through exception groups (a task's error comes
    out of a task group in one); one naming a file first. None when there is none."""
    found = list(_os_errors(exc))
    named = [e for e in found if e.filename is not None]
    return next(iter(named or found), None)


def _os_errors(exc: BaseException) -> list[OSError]:
    if isinstance(exc, OSError):
        return [exc]
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in _os_errors(inner)]
    return []


def io_failure(exc: OSError, *, kept: Path | None = None) -> int:
    """An environment or I/O error: one line naming the path, the operation and the errno
    (``kept``: where the results so far are), and the exit code for it."""
    line = describe_os_error(exc)
    if kept is not None and kept.exists() and str(kept) not in line:
        line += f"; the runs done so far are in {kept}"
    say(line)
    return ENVIRONMENT


def describe_os_error(exc: OSError) -> str:
    if isinstance(exc, PathError):
        return str(exc)
    if exc.filename is None:
        return f"I/O error: {reason(exc)}"
    if exc.errno in _WRITING:  # a full or read-only disk: the file written, a copy's destination
        return str(PathError("write", Path(os.fsdecode(exc.filename2 or exc.filename)), exc))
    if exc.filename2 is not None:
        moving = f"copy or move {os.fsdecode(exc.filename)} to"
        return str(PathError(moving, Path(os.fsdecode(exc.filename2)), exc))
    return str(PathError("use", Path(os.fsdecode(exc.filename)), exc))


_WRITING = {errno.ENOSPC, errno.EROFS, errno.EDQUOT, errno.EFBIG}


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Epilogs as written (examples, tables); a long one-line description wrapped to the
    terminal, which the raw formatter would leave as one line. Wrapped at spaces only: a
    break at a hyphen would cut `stream-json` or `--lanes` where a reader copies it."""

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(
            "\n".join(_wrap(line, width, indent))
            # An indented line is an example or a table row: kept whole, to be copied.
            if len(line) > 100 and not line[:1].isspace()
            else indent + line
            for line in text.splitlines()
        )

    def _split_lines(self, text: str, width: int) -> list[str]:
        return _wrap(" ".join(text.split()), width)


def _wrap(text: str, width: int, indent: str = "") -> list[str]:
    return textwrap.wrap(
        text,
        width,
        initial_indent=indent,
        subsequent_indent=indent,
        break_on_hyphens=False,
        break_long_words=False,
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
