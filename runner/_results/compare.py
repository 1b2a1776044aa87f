"""Two evals side by side: which runs flipped, what they cost, and a few plain-English lines.

Runs are matched by (scenario, lane, trial). ``compare`` returns pydantic models
(``compare --json``); ``render.render_comparison`` is the terminal text.
"""

from __future__ import annotations

import os
from collections import Counter
from dataclasses import dataclass, field
from typing import Generic, Literal, TypeVar, get_args

from pydantic import BaseModel, ConfigDict

from runner._evaluate.results import RunResult, SuiteHeader, SuiteResult
from runner._util.figures import money, plural, secs

Status = Literal["improved", "regressed", "unchanged", "new", "removed"]
N = TypeVar("N", int, float)

# A change is worth a line when it is this large relative to before, and large in absolute
# terms: 1 turn of 2 or $0.0002 of $0.0005 is noise.
NOTABLE_RATIO = 0.20
MIN_COST_USD = 0.001
MIN_TURNS = 2
MIN_DURATION_MS = 2000
_LIST_AT_MOST = 5


class Change(BaseModel, Generic[N]):
    """A figure before and after; ``delta`` is None when either side is unknown."""

    model_config = ConfigDict(frozen=True)

    before: N | None = None
    after: N | None = None
    delta: N | None = None

    @classmethod
    def of(cls, before: N | None, after: N | None) -> Change[N]:
        delta = None if before is None or after is None else after - before
        return cls(before=before, after=after, delta=delta)

    @property
    def ratio(self) -> float | None:
        """delta / before; None when unknown or before is 0."""
        if self.delta is None or not self.before:
            return None
        return self.delta / self.before


class ToolCountChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    tool: str
    before: int
    after: int


class CheckFlip(BaseModel):
    """A check on both sides whose verdict changed; ``detail`` is the after side's reason."""

    model_config = ConfigDict(frozen=True)

    name: str
    before: bool
    after: bool
    detail: str


class RunChange(BaseModel):
    model_config = ConfigDict(frozen=True)

    run_id: str  # scenario/lane#trial
    status: Status
    passed_before: bool | None
    passed_after: bool | None
    exit_reason_before: str | None
    exit_reason_after: str | None
    cost_usd: Change[float]
    num_turns: Change[int]
    duration_ms: Change[int]
    tools: list[ToolCountChange]  # only the tools whose call count changed
    checks: list[CheckFlip]


class ComparisonTotals(BaseModel):
    model_config = ConfigDict(frozen=True)

    runs_before: int
    runs_after: int
    passed_before: int
    passed_after: int
    cost_usd: Change[float]  # sums of the known costs; None when no run's cost is known
    unknown_cost_before: int  # runs left out of those sums
    unknown_cost_after: int
    num_turns: Change[int]
    duration_ms: Change[int]


class Comparison(BaseModel):
    model_config = ConfigDict(frozen=True)

    before: SuiteHeader
    after: SuiteHeader
    # What makes the two results differ in kind ("trials 1 -> 3"): empty when like for like.
    not_like_for_like: list[str] = []  # not default_factory=list: see results.RunResult
    runs: list[RunChange]  # in the after result's order, removed runs last
    counts: dict[Status, int]
    totals: ComparisonTotals
    commentary: list[str]


def differences(before: SuiteHeader, after: SuiteHeader) -> list[str]:
    """What makes two results incomparable, one phrase each: runs are matched by scenario,
    lane and trial, so another suite, lane set or trial count reads as runs new and removed,
    and a scripted model's cost is no measure of a live one's."""
    found = []
    if os.path.normpath(before.suite) != os.path.normpath(after.suite):
        found.append(f"suite {before.suite} -> {after.suite}")
    if set(before.lanes) != set(after.lanes):
        found.append(f"lanes {', '.join(before.lanes)} -> {', '.join(after.lanes)}")
    if before.trials != after.trials:
        found.append(f"trials {before.trials} -> {after.trials}")
    if before.mode != after.mode:
        found.append(f"model {before.mode} -> {after.mode}")
    return found


def compare(before: SuiteResult, after: SuiteResult) -> Comparison:
    old = {_key(r): r for r in before.runs}
    new = {_key(r): r for r in after.runs}
    runs = [_run_change(old.get(k), r) for k, r in new.items()]
    runs += [_run_change(r, None) for k, r in old.items() if k not in new]
    b, a = _Sums.of(before.runs), _Sums.of(after.runs)
    totals = ComparisonTotals(
        runs_before=len(before.runs),
        runs_after=len(after.runs),
        passed_before=b.passed,
        passed_after=a.passed,
        cost_usd=Change[float].of(_sum(b.costs), _sum(a.costs)),
        unknown_cost_before=len(before.runs) - len(b.costs),
        unknown_cost_after=len(after.runs) - len(a.costs),
        num_turns=Change[int].of(_sum(b.turns), _sum(a.turns)),
        duration_ms=Change[int].of(_sum(b.durations), _sum(a.durations)),
    )
    counts: dict[Status, int] = dict.fromkeys(get_args(Status), 0)
    for change in runs:
        counts[change.status] += 1
    unlike = differences(before.header, after.header)
    return Comparison(
        before=before.header,
        after=after.header,
        not_like_for_like=unlike,
        runs=runs,
        counts=counts,
        totals=totals,
        commentary=_commentary(runs, totals, counts, unlike),
    )


@dataclass
class _Sums:
    """One result's runs in one pass: the passes, and the known figures in run order (the
    order they are summed in)."""

    passed: int = 0
    costs: list[float] = field(default_factory=list)
    turns: list[int] = field(default_factory=list)
    durations: list[int] = field(default_factory=list)

    @classmethod
    def of(cls, runs: list[RunResult]) -> _Sums:
        sums = cls()
        for r in runs:
            sums.passed += r.passed
            if r.cost_usd is not None:
                sums.costs.append(r.cost_usd)
            if r.num_turns is not None:
                sums.turns.append(r.num_turns)
            if r.duration_ms is not None:
                sums.durations.append(r.duration_ms)
        return sums


def _key(r: RunResult) -> tuple[str, str, int]:
    return (r.scenario, r.lane, r.trial)


def _sum(known: list[N]) -> N | None:
    return sum(known) if known else None


def _run_change(b: RunResult | None, a: RunResult | None) -> RunChange:
    either = a or b
    assert either is not None  # one side always exists
    status: Status
    if b is None:
        status = "new"
    elif a is None:
        status = "removed"
    elif b.passed != a.passed:
        status = "improved" if a.passed else "regressed"
    else:
        status = "unchanged"
    return RunChange(
        run_id=either.run_id,
        status=status,
        passed_before=b.passed if b else None,
        passed_after=a.passed if a else None,
        exit_reason_before=b.exit_reason if b else None,
        exit_reason_after=a.exit_reason if a else None,
        cost_usd=Change[float].of(b.cost_usd if b else None, a.cost_usd if a else None),
        num_turns=Change[int].of(b.num_turns if b else None, a.num_turns if a else None),
        duration_ms=Change[int].of(b.duration_ms if b else None, a.duration_ms if a else None),
        tools=_tool_changes(b, a) if b and a else [],
        checks=_flips(b, a) if b and a else [],
    )


def _tool_changes(b: RunResult, a: RunResult) -> list[ToolCountChange]:
    old, new = Counter(b.tool_sequence), Counter(a.tool_sequence)
    return [
        ToolCountChange(tool=t, before=old[t], after=new[t])
        for t in sorted(old.keys() | new.keys())
        if old[t] != new[t]
    ]


def _flips(b: RunResult, a: RunResult) -> list[CheckFlip]:
    old = {c.name: c for c in b.checks}
    return [
        CheckFlip(name=c.name, before=old[c.name].passed, after=c.passed, detail=c.detail)
        for c in a.checks
        if c.name in old and old[c.name].passed != c.passed
    ]


# --- commentary ---------------------------------------------------------------------------


def _commentary(
    runs: list[RunChange], totals: ComparisonTotals, counts: dict[Status, int], unlike: list[str]
) -> list[str]:
    # The runs by status in one pass, each kept in order.
    by_status: dict[Status, list[RunChange]] = {status: [] for status in get_args(Status)}
    for r in runs:
        by_status[r.status].append(r)
    lines = [_unlike_line(unlike)] if unlike else []
    lines += [_verdict_line(r) for r in by_status["regressed"]]
    lines += [_verdict_line(r) for r in by_status["improved"]]
    lines += [_verdict_line(r) for r in by_status["unchanged"] if _reasons(r)]
    lines += [line for r in runs if (line := _figures_line(r))]
    lines += [line for r in runs if (line := _tools_line(r))]
    for gone, label in ((by_status["new"], "New"), (by_status["removed"], "Removed")):
        if gone:
            lines.append(f"{label} runs: {_id_list(gone)}.")
    if not lines and not _figures(totals.cost_usd, totals.num_turns, totals.duration_ms):
        passed = totals.passed_after
        return [
            f"Nothing changed: the same {plural(totals.runs_after, 'run')}, {passed} passed in "
            "both, same tools and checks, no notable cost, turn or duration change."
        ]
    lines.append(_overall(totals, counts, like=not unlike))
    return lines


def _unlike_line(unlike: list[str]) -> str:
    return (
        f"Not like for like: {'; '.join(unlike)}. Runs new, removed and the totals' change "
        "come from that difference, not from a change in the skill or the agent."
    )


def _reasons(r: RunChange) -> list[str]:
    reasons = []
    if r.exit_reason_before != r.exit_reason_after:
        reasons.append(f"exit {r.exit_reason_before} -> {r.exit_reason_after}")
    for flip in r.checks:
        verb = "now passes" if flip.after else "now fails"
        reasons.append(f"check '{flip.name}' {verb} ({flip.detail})")
    return reasons


def _verdict_line(r: RunChange) -> str:
    head = {
        "regressed": f"{r.run_id} regressed: passed before, fails now",
        "improved": f"{r.run_id} improved: failed before, passes now",
    }.get(r.status, f"{r.run_id} still {'passes' if r.passed_after else 'fails'}")
    reasons = _reasons(r)
    return head + ("; " + "; ".join(reasons) if reasons else "") + "."


def _notable(c: Change[N], minimum: float) -> bool:
    if c.delta is None or abs(c.delta) < minimum:
        return False
    ratio = c.ratio
    return ratio is None or abs(ratio) >= NOTABLE_RATIO  # None here: before was 0


def _figures(
    cost: Change[float],
    turns: Change[int],
    duration: Change[int],
    *,
    any_cost: bool = False,
    like: bool = True,
) -> list[str]:
    """The notable ones of the three, as text (the cost whenever known, with ``any_cost``);
    without ``like``, the cost as figures only, no headline percentage."""
    parts = []
    if _notable(cost, MIN_COST_USD) or (any_cost and cost.delta is not None):
        parts.append(_cost_text(cost, relative=like))
    if _notable(turns, MIN_TURNS):
        parts.append(f"turns {turns.before} -> {turns.after}")
    if _notable(duration, MIN_DURATION_MS):
        parts.append(f"duration {secs(duration.before)} -> {secs(duration.after)}")
    return parts


def _figures_line(r: RunChange) -> str | None:
    parts = _figures(r.cost_usd, r.num_turns, r.duration_ms)
    return f"{r.run_id}: {', '.join(parts)}." if parts else None


def _tools_line(r: RunChange) -> str | None:
    parts = []
    for t in r.tools:
        if t.after == 0:
            parts.append(f"no longer calls {t.tool}")
        elif t.before == 0:
            parts.append(f"now calls {t.tool} ({_times(t.after)})")
        else:
            parts.append(f"calls {t.tool} {_times(t.after)} (was {t.before})")
    return f"{r.run_id} {'; '.join(parts)}." if parts else None


def _overall(totals: ComparisonTotals, counts: dict[Status, int], *, like: bool) -> str:
    parts = [
        _plural(counts["regressed"], "regression"),
        _plural(counts["improved"], "improvement"),
    ]
    flips = ", ".join(p for p in parts if p) or "no pass/fail changes"
    tail = [
        f"passed {totals.passed_before}/{totals.runs_before} -> "
        f"{totals.passed_after}/{totals.runs_after}"
    ]
    tail += _figures(
        totals.cost_usd, totals.num_turns, totals.duration_ms, any_cost=True, like=like
    )
    unknown = (totals.unknown_cost_before, totals.unknown_cost_after)
    if any(unknown):
        # The sums leave these runs out, so the cost change above is not like for like.
        tail.append(f"cost unknown for {unknown[0]} run(s) before, {unknown[1]} after")
    head = "Overall" if like else "Overall (not like for like)"
    return f"{head}: {flips}; {'; '.join(tail)}."


def _id_list(runs: list[RunChange]) -> str:
    # A new run has only an after side, a removed one only a before side.
    shown = [
        f"{r.run_id} ({'passed' if r.passed_after or r.passed_before else 'failed'})"
        for r in runs[:_LIST_AT_MOST]
    ]
    more = len(runs) - _LIST_AT_MOST
    return ", ".join(shown) + (f" and {more} more" if more > 0 else "")


def _plural(n: int, word: str) -> str:
    return "" if n == 0 else plural(n, word)


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _cost_text(c: Change[float], *, relative: bool = True) -> str:
    span = f"{money(c.before)} -> {money(c.after)}"
    ratio = c.ratio
    return f"cost {span}" if ratio is None or not relative else f"cost {ratio:+.0%} ({span})"
