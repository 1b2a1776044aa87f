"""Live progress of a suite's runs on stderr, as ``eval`` and ``ab`` show it.

Piped, or with colour off (``--no-color``, NO_COLOR, TERM=dumb): one plain line per finished
run, as a log reads. On a terminal: one line redrawn in place (done/total, ETA, pass and fail
counts, cost so far), and a line of its own for each failed run, so no failure scrolls away
unseen. The lines are built by pure functions of a ``State``; ``ProgressDisplay`` only
writes them.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import TextIO

from runner._evaluate.results import RunResult, Totals
from runner._results.render_suite import run_parts
from runner._util.figures import money, unbilled

PREFIX = "runner: "  # as cmdline.say writes every message
CLEAR = "\r\x1b[K"  # back to the line's start, and erase it
FALLBACK_WIDTH = 80  # a terminal that does not tell its size
_SGR = {"pass": "\x1b[32m", "fail": "\x1b[31m", "cached": "\x1b[2m"}  # green, red, dim
_RESET = "\x1b[0m"

# A line as (text, style) pieces: coloured or plain, and cut to the terminal's width,
# from the same pieces.
Piece = tuple[str, str | None]


@dataclass(frozen=True)
class State:
    """Where a round of runs stands."""

    done: int
    total: int
    totals: Totals  # every run so far (all rounds of an --until-decided study)
    scripted: bool  # a scripted model answers: nothing is billed
    eta_s: float | None = None  # None: no run has been timed yet


@dataclass(frozen=True)
class Pace:
    """The finished runs the cache did not answer, and their time: kept run by run, so each
    run's ETA costs the same however many ran before it."""

    timed: int = 0
    total_ms: int = 0

    def plus(self, run: RunResult) -> Pace:
        if run.cache_hit or run.duration_ms is None:
            return self
        return Pace(self.timed + 1, self.total_ms + run.duration_ms)

    def eta(self, remaining: int, concurrency: int) -> float | None:
        """What the ``remaining`` runs should take at the mean time so far, ``concurrency``
        at once. None until a run has a time."""
        if remaining <= 0:
            return 0.0
        if not self.timed:
            return None
        mean_s = self.total_ms / self.timed / 1000
        return remaining * mean_s / min(concurrency, remaining)


def eta_text(seconds: float | None) -> str:
    """ETA 45s, ETA 3m05s, ETA 1h02m; ETA - while unknown."""
    if seconds is None:
        return "ETA -"
    s = round(seconds)
    if s < 60:
        return f"ETA {s}s"
    if s < 3600:
        return f"ETA {s // 60}m{s % 60:02d}s"
    return f"ETA {s // 3600}h{s % 3600 // 60:02d}m"


def _so_far(state: State) -> str:
    return unbilled(f"{money(state.totals.cost_usd)} so far", scripted=state.scripted)


def _counter(state: State) -> str:
    return f"[{state.done:>{len(str(state.total))}}/{state.total}]"


def plain_line(result: RunResult, state: State) -> str:
    """A finished run, as a log shows it: one line each, no escape codes."""
    t = state.totals
    return (
        f"{_counter(state)} {''.join(run_parts(result))} · {t.cache_hits} cached · {_so_far(state)}"
    )


def status_pieces(state: State) -> list[Piece]:
    """The live line: how far, how long still, how it goes, what it cost."""
    t = state.totals
    return [
        (f"{_counter(state)} {eta_text(state.eta_s)} · ", None),
        (f"{t.passed} passed", "pass" if t.passed else None),
        (" · ", None),
        (f"{t.failed} failed", "fail" if t.failed else None),
        (" · ", None),
        (f"{t.cache_hits} cached", "cached"),
        (f" · {_so_far(state)}", None),
    ]


def failure_pieces(result: RunResult, state: State) -> list[Piece]:
    """A failed run's own line, kept above the live one."""
    run_id, status, rest = run_parts(result)
    return [(f"{_counter(state)} {run_id}", None), (status, "fail"), (rest, None)]


def paint(pieces: Sequence[Piece], *, width: int | None = None, colour: bool = True) -> str:
    """``pieces`` as one line, coloured or not, cut to ``width`` characters (with an ellipsis):
    a line longer than the terminal would wrap, and a carriage return redraws only its last
    row."""
    out: list[str] = []
    room = width
    for text, style in pieces:
        if room is not None:
            if room <= 0:
                break
            if len(text) > room:
                text = text[: room - 1] + "…"
            room -= len(text)
        out.append(f"{_SGR[style]}{text}{_RESET}" if colour and style else text)
    return "".join(out)


def colour_allowed(stream: TextIO, *, no_color: bool, env: dict[str, str] | None = None) -> bool:
    """Whether ``stream`` may get escape codes: a terminal, with colour not turned off by
    --no-color, NO_COLOR (any value but empty, no-color.org) or TERM=dumb."""
    env = dict(os.environ) if env is None else env
    if no_color or env.get("NO_COLOR") or env.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (OSError, ValueError):  # closed, or no file behind it
        return False


def _width(stream: TextIO) -> int:
    try:
        columns = os.get_terminal_size(stream.fileno()).columns
    except (OSError, ValueError):
        columns = 0
    # One short of the edge: some terminals wrap a line that fills the last column.
    return (columns or FALLBACK_WIDTH) - 1 - len(PREFIX)


class ProgressDisplay:
    """Progress as the suite commands write it to ``stream``: plain lines through ``say``,
    or (``live``) one line redrawn in place."""

    def __init__(self, stream: TextIO, say: Callable[[str], None], *, live: bool) -> None:
        self._stream, self._say, self.live = stream, say, live
        self._shown: State | None = None  # what the live line shows now

    @contextmanager
    def round(self, state: State) -> Iterator[None]:
        """A round of runs: the live line from its start (before a run ends) to its end,
        then gone, so what follows (the summary, an interruption) starts on a clean line."""
        if self.live:
            self._draw(state)
        try:
            yield
        finally:
            self._end()

    def finished(self, result: RunResult, state: State) -> None:
        if not self.live:
            self._say(plain_line(result, state))
            return
        if not result.passed:
            # Not cut to the width: a line that ends in a newline may wrap, and keeps it all.
            self._write(f"{CLEAR}{PREFIX}{paint(failure_pieces(result, state))}\n")
        self._draw(state)

    def note(self, message: str) -> None:
        """A message of its own (a warning) while the runs go on: above the live line."""
        if self._shown is None:
            self._say(message)
            return
        self._write(CLEAR)
        self._say(message)
        self._draw(self._shown)

    def _end(self) -> None:
        if self._shown is not None:
            self._write(CLEAR)
            self._shown = None

    def _draw(self, state: State) -> None:
        self._shown = state
        self._write(f"{CLEAR}{PREFIX}{paint(status_pieces(state), width=_width(self._stream))}")

    def _write(self, text: str) -> None:
        # stderr may be gone (a closed terminal, SIGHUP): the eval's files still say it all.
        with suppress(OSError, ValueError):
            self._stream.write(text)
            self._stream.flush()
