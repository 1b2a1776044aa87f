"""Assertions on a run for users' own tests: each raises ``AssertionError`` with one paragraph
that says which run, what was expected and what it did.

Each takes a ``ReplayEngine`` (its replay, overrides and filters applied) or a ``RunRecord``::

    from runner import assert_cost_under, assert_tool_sequence

    def test_fix_entry(runner_run):          # the pytest plugin's fixture
        assert_tool_sequence(runner_run, ["Skill", "Edit"], mode="subset")
        assert_cost_under(runner_run, 0.10)
"""

from __future__ import annotations

from collections import Counter
from itertools import groupby
from typing import Literal

from runner._agent.claude import describe_call
from runner._agent.engine import RunRecord
from runner._evaluate.replay import ReplayEngine
from runner._model.normalize import Normalizer, digest
from runner._transcript.summary import TranscriptSummary
from runner._transcript.usage import price_for
from runner._util.figures import plural
from runner._util.terminal import visible

Run = ReplayEngine | RunRecord
SequenceMode = Literal["strict", "subset", "unordered"]

__all__ = [
    "assert_cost_under",
    "assert_max_turns",
    "assert_no_loops",
    "assert_skill_invoked",
    "assert_tool_sequence",
]


def _summary(run: Run) -> TranscriptSummary:
    return run.run().summary if isinstance(run, ReplayEngine) else run.transcript


def _label(run: Run) -> str:
    if isinstance(run, ReplayEngine):
        return run.label
    return f"{run.scenario}/{run.lane}#{run.trial}"


def _fail(run: Run, message: str) -> AssertionError:
    # Tool names and calls, skills and text come from the agent: pytest prints this raw.
    return AssertionError(visible(f"run {_label(run)}: {message}"))


def _names(tools: list[str]) -> str:
    return "[" + ", ".join(tools) + "]" if tools else "[] (no tool calls)"


def assert_tool_sequence(run: Run, expected: list[str], *, mode: SequenceMode = "strict") -> None:
    """``strict``: exactly these calls; ``subset``: these in this order, others between
    allowed; ``unordered``: these calls, as many times each, in any order."""
    actual = _summary(run).tool_sequence
    if mode == "strict":
        ok, why = actual == expected, _first_difference(expected, actual)
    elif mode == "subset":
        ok, why = _subsequence(expected, actual)
    elif mode == "unordered":
        ok, why = Counter(actual) == Counter(expected), _count_difference(expected, actual)
    else:
        raise ValueError(f"mode {mode!r}: use strict, subset or unordered")
    if not ok:
        raise _fail(
            run,
            f"tool sequence ({mode}) expected {_names(expected)}, got {_names(actual)}; {why}.",
        )


def _first_difference(expected: list[str], actual: list[str]) -> str:
    for i, (want, got) in enumerate(zip(expected, actual, strict=False)):
        if want != got:
            return f"call {i + 1} is {got}, not {want}"
    if len(actual) > len(expected):
        return f"{plural(len(actual) - len(expected), 'more call')} after the expected ones"
    return f"it stopped after {len(actual)} of {plural(len(expected), 'call')}"


def _subsequence(expected: list[str], actual: list[str]) -> tuple[bool, str]:
    found = 0
    for name in actual:
        if found < len(expected) and name == expected[found]:
            found += 1
    if found == len(expected):
        return True, ""
    matched = f"matched {_names(expected[:found])}" if found else "matched nothing"
    return False, f"{matched}, then no {expected[found]} after it"


def _count_difference(expected: list[str], actual: list[str]) -> str:
    want, got = Counter(expected), Counter(actual)
    parts = [
        f"{n}: {plural(got[n], 'call')}, not {want[n]}"
        for n in sorted(want | got)
        if want[n] != got[n]
    ]
    return "; ".join(parts)


def assert_skill_invoked(run: Run, name: str | None = None) -> None:
    """The agent loaded ``name`` with the Skill tool (any skill, when None)."""
    invoked = _summary(run).skills_invoked
    if name is None and invoked:
        return
    if name is not None and name in invoked:
        return
    wanted = "a skill" if name is None else f"the skill {name!r}"
    said = ", ".join(invoked) if invoked else "none"
    raise _fail(run, f"expected {wanted} to be invoked; skills invoked: {said}.")


def run_cost(run: Run) -> float:
    """The CLI's cost; without one, the usage re-priced per model from runner's table. A model
    with no known price raises AssertionError naming it: it must never count as $0."""
    summary = _summary(run)
    if summary.cost_usd is not None:
        return summary.cost_usd
    if not summary.models:
        raise _fail(run, "its cost is unknown: the CLI gave none and no usage was recorded.")
    total = 0.0
    for model, usage in summary.models.items():
        price = price_for(model)
        if price is None:
            raise _fail(
                run,
                f"its cost is unknown: the CLI gave none, and runner has no price for the model "
                f"{model!r} to re-price its usage with"
                " (add it to runner._transcript.usage.PRICES).",
            )
        total += price.cost(usage)
    return total


def assert_cost_under(run: Run, budget_usd: float) -> None:
    """The run cost at most ``budget_usd`` (see ``run_cost``)."""
    cost = run_cost(run)
    if cost > budget_usd:
        how = "as the CLI reported it" if _summary(run).cost_usd is not None else "re-priced"
        raise _fail(run, f"expected a cost of at most ${budget_usd:.4f}, got ${cost:.4f} ({how}).")


def assert_no_loops(run: Run, *, max_repeats: int = 3) -> None:
    """No tool call (name and input, ids and times normalized) made more than ``max_repeats``
    times in a row. A RunRecord keeps only tool names, so then calls compare by name."""
    if isinstance(run, ReplayEngine):
        normalizer = Normalizer()
        calls = [
            (c.name, digest(normalizer.value(c.input)), describe_call(c.name, c.input))
            for c in run.tool_calls()
        ]
    else:
        calls = [(name, "", name) for name in run.transcript.tool_sequence]
    # The longest run of one call: calls that differ only in ids or times count as the same.
    streak = max((list(g) for _, g in groupby(calls, key=lambda c: c[:2])), key=len, default=[])
    if len(streak) > max_repeats:
        note = "" if isinstance(run, ReplayEngine) else " (by name only: a RunRecord has no inputs)"
        raise _fail(
            run,
            f"the same tool call {streak[0][2]} was made {plural(len(streak), 'time')} in a row, "
            f"more than max_repeats={max_repeats}{note}.",
        )


def assert_max_turns(run: Run, n: int) -> None:
    """The run took at most ``n`` turns (the CLI's count)."""
    turns = _summary(run).num_turns
    if turns is None:
        raise _fail(
            run, f"expected at most {plural(n, 'turn')}; the number is unknown (no result event)."
        )
    if turns > n:
        raise _fail(run, f"expected at most {plural(n, 'turn')}, got {turns}.")
