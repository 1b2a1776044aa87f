"""The progress line of eval and ab, from its state: what it says, how it is coloured and cut
to the terminal, and when a terminal gets escape codes at all. No terminal needed."""

from __future__ import annotations

import io
import re
from functools import reduce

import pytest

from runner._cli.progress import (
    CLEAR,
    Pace,
    Piece,
    ProgressDisplay,
    State,
    colour_allowed,
    eta_text,
    failure_pieces,
    paint,
    plain_line,
    status_pieces,
)
from runner._evaluate.results import RunResult, Totals
from tests.report_support import made_run


def eta_seconds(finished: list[RunResult], remaining: int, concurrency: int) -> float | None:
    return reduce(Pace.plus, finished, Pace()).eta(remaining, concurrency)


ESCAPE = re.compile("\x1b\\[[0-9;]*[A-Za-z]")


def run(*, passed: bool = True, cached: bool = False, ms: int | None = 2000) -> RunResult:
    made = made_run("fix-entry", "agent-skill", 0, passed)
    return made.model_copy(update={"cache_hit": cached, "duration_ms": ms})


def state(runs: list[RunResult], total: int = 10, *, scripted: bool = True) -> State:
    return State(
        len(runs), total, Totals.of(runs), scripted, eta_seconds(runs, total - len(runs), 2)
    )


def test_the_live_line_says_how_far_how_long_how_it_goes_and_what_it_cost() -> None:
    runs = [run(), run(passed=False), run(cached=True)]
    line = paint(status_pieces(state(runs)), colour=False)
    cost = sum(r.cost_usd or 0.0 for r in runs)
    assert line == (
        f"[ 3/10] ETA 7s · 2 passed · 1 failed · 1 cached · ${cost:.4f} so far "
        "(scripted: nothing billed)"
    )
    live = paint(status_pieces(state(runs, scripted=False)), colour=False)
    assert live.endswith(f"${cost:.4f} so far")  # live runs are billed: nothing to add


def test_colour_marks_passes_green_failures_red_and_cache_hits_dim() -> None:
    coloured = paint(status_pieces(state([run(), run(passed=False), run(cached=True)])))
    assert "\x1b[32m2 passed\x1b[0m" in coloured
    assert "\x1b[31m1 failed\x1b[0m" in coloured
    assert "\x1b[2m1 cached\x1b[0m" in coloured
    calm = paint(status_pieces(state([run()])))
    assert "0 failed" in calm
    assert "\x1b[31m" not in calm  # nothing red while nothing failed
    failed = run(passed=False)
    line = paint(failure_pieces(failed, state([failed])))
    assert line.startswith(f"[ 1/10] {failed.run_id} \x1b[31mFAIL (")
    assert ESCAPE.sub("", line) == paint(failure_pieces(failed, state([failed])), colour=False)


@pytest.mark.parametrize("width", [5, 20, 41, 60])
def test_a_line_is_cut_to_the_terminal_so_a_carriage_return_redraws_all_of_it(width: int) -> None:
    pieces = status_pieces(state([run(), run(passed=False)]))
    cut = paint(pieces, width=width)
    plain = ESCAPE.sub("", cut)
    assert len(plain) == width
    assert plain.endswith("…")
    assert plain[:-1] == paint(pieces, colour=False)[: width - 1]
    assert cut.count("\x1b[0m") == len(ESCAPE.findall(cut)) / 2  # every colour closed


def test_the_eta_is_the_mean_time_of_runs_not_from_cache_shared_by_the_concurrency() -> None:
    assert eta_seconds([], 4, 2) is None
    assert eta_seconds([run(cached=True), run(ms=None)], 4, 2) is None  # nothing timed yet
    assert eta_seconds([run(ms=1000), run(ms=3000), run(cached=True)], 4, 2) == 4.0
    assert eta_seconds([run(ms=2000)], 1, 4) == 2.0  # one run left runs alone
    assert eta_seconds([run()], 0, 2) == 0.0
    assert [eta_text(s) for s in (None, 0.4, 59, 60, 185, 3725)] == [
        "ETA -",
        "ETA 0s",
        "ETA 59s",
        "ETA 1m00s",
        "ETA 3m05s",
        "ETA 1h02m",
    ]


def test_a_plain_line_is_a_log_line_for_each_run() -> None:
    failed = run(passed=False)
    line = plain_line(failed, state([run(), failed], total=3))
    assert line.startswith(f"[2/3] {failed.run_id} FAIL (")
    assert line.endswith("so far (scripted: nothing billed)")
    assert not ESCAPE.search(line)


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize(
    ("tty", "no_color", "env", "allowed"),
    [
        (True, False, {"TERM": "xterm-256color"}, True),
        (True, False, {}, True),
        (False, False, {"TERM": "xterm"}, False),  # a pipe or a file
        (True, True, {"TERM": "xterm"}, False),  # --no-color
        (True, False, {"TERM": "xterm", "NO_COLOR": "1"}, False),
        (True, False, {"TERM": "xterm", "NO_COLOR": "0"}, False),  # any value (no-color.org)
        (True, False, {"TERM": "xterm", "NO_COLOR": ""}, True),  # but an empty one
        (True, False, {"TERM": "dumb"}, False),
    ],
)
def test_escape_codes_only_for_a_terminal_that_allows_colour(
    tty: bool, no_color: bool, env: dict[str, str], allowed: bool
) -> None:
    stream = Tty() if tty else io.StringIO()
    assert colour_allowed(stream, no_color=no_color, env=env) is allowed


def test_on_a_terminal_a_failure_keeps_its_line_and_a_warning_goes_above_the_live_one() -> None:
    stream = Tty()  # no size to tell: 80 columns

    def say(message: str) -> None:
        stream.write(f"runner: {message}\n")

    def line(pieces: list[Piece]) -> str:
        return "runner: " + paint(pieces, width=80 - 1 - len("runner: "))

    display = ProgressDisplay(stream, say, live=True)
    ok, failed = run(), run(passed=False)
    at = [state([], total=2), state([ok], total=2), state([ok, failed], total=2)]
    with display.round(at[0]):
        display.finished(ok, at[1])
        display.note("warning: a cache entry was damaged")
        display.finished(failed, at[2])
    live = [line(status_pieces(s)) for s in at]
    kept = "runner: " + paint(failure_pieces(failed, at[2]))  # whole: it may wrap
    assert kept.startswith(f"runner: [2/2] {failed.run_id} \x1b[31mFAIL (1 check)\x1b[0m ")
    # Every draw erases the line first; only the warning and the failure end theirs, and the
    # round's end leaves a clean line for the summary.
    assert stream.getvalue() == (
        f"{CLEAR}{live[0]}{CLEAR}{live[1]}"
        f"{CLEAR}runner: warning: a cache entry was damaged\n{CLEAR}{live[1]}"
        f"{CLEAR}{kept}\n{CLEAR}{live[2]}{CLEAR}"
    )


def test_piped_every_run_is_a_line_and_nothing_is_redrawn() -> None:
    said: list[str] = []
    stream = io.StringIO()
    display = ProgressDisplay(stream, said.append, live=False)
    ok, failed = run(), run(passed=False)
    with display.round(state([], total=2)):
        display.finished(ok, state([ok], total=2))
        display.note("warning: w")
        display.finished(failed, state([ok, failed], total=2))
    assert said[0].startswith(f"[1/2] {ok.run_id} PASS ")
    assert said[1] == "warning: w"
    assert said[2].startswith(f"[2/2] {failed.run_id} FAIL (")
    assert stream.getvalue() == ""
