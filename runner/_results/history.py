"""Every stored result at a glance (``results``, the ``view`` list page), and the previous result
a new one is compared with, only when the two are like for like."""

from __future__ import annotations

from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import NamedTuple

from pydantic import BaseModel, ConfigDict

from runner._evaluate.results import SuiteHeader, SuiteResult, in_lane_order
from runner._results.compare import differences
from runner._results.store import PARTIAL_SUFFIX, RunStore, StoreError, read_header, started
from runner._util.figures import money, plural
from runner._util.terminal import visible_lines


class LanePass(BaseModel):
    # The listing's models are built when `results` or `view` lists, not by every eval (which
    # imports this module for the previous result).
    model_config = ConfigDict(defer_build=True)

    lane: str
    passed: int
    runs: int

    @property
    def text(self) -> str:
        rate = f"{self.passed / self.runs:.0%}" if self.runs else "-"
        return f"{self.lane} {rate} ({self.passed}/{self.runs})"


class Listed(BaseModel):
    """One stored result, as the list shows it."""

    model_config = ConfigDict(defer_build=True)

    name: str  # the file's name in the store
    started_at: str  # UTC, ISO 8601
    suite: str
    lanes: list[str]
    scenarios: int
    trials: int
    runs: int
    planned: int
    partial: bool
    mode: str  # scripted: nothing was billed, whatever the runs' prices say
    cost: str  # "scripted: nothing billed", or the runs' cost (and what reached a bill)
    pass_rates: list[LanePass]  # per lane, in the eval's order

    @property
    def when(self) -> str:
        """2026-12-05 14:30Z: to the minute, as the list shows it."""
        return self.started_at[:16].replace("T", " ") + "Z"


class Unreadable(BaseModel):
    model_config = ConfigDict(defer_build=True)

    name: str
    why: str


class Listing(BaseModel):
    model_config = ConfigDict(defer_build=True)

    root: str
    results: list[Listed]  # newest last
    unreadable: list[Unreadable]


def cost_line(header: SuiteHeader) -> str:
    """What the result cost, never a scripted model's priced tokens as if billed."""
    t = header.totals
    if header.mode == "scripted":
        return "scripted: nothing billed"
    unknown = f", {t.unknown_cost} unknown" if t.unknown_cost else ""
    billed = "" if abs(t.billed_usd - t.cost_usd) < 5e-5 else f" (billed {money(t.billed_usd)})"
    return f"{money(t.cost_usd)}{unknown}{billed}"


def listed(name: str, result: SuiteResult) -> Listed:
    runs = Counter(r.lane for r in result.runs)
    passed = Counter(r.lane for r in result.runs if r.passed)
    rates = {lane: LanePass(lane=lane, passed=passed[lane], runs=runs[lane]) for lane in runs}
    return _listed(name, result.header, len(result.runs), rates)


def _listed(name: str, h: SuiteHeader, runs: int, rates: dict[str, LanePass]) -> Listed:
    return Listed(
        name=name,
        started_at=started(h).isoformat(timespec="seconds"),
        suite=h.suite,
        lanes=h.lanes,
        scenarios=len(h.scenarios),
        trials=h.trials,
        runs=runs,
        planned=h.planned,
        partial=h.partial or name.endswith(PARTIAL_SUFFIX),
        mode=h.mode,
        cost=cost_line(h),
        pass_rates=[rates[lane] for lane in in_lane_order(h.lanes, rates)],
    )


def _from_header(name: str, h: SuiteHeader) -> Listed | None:
    """A finished result listed from its header's per-lane totals; None for a file written
    before runner kept them (or a partial one), which is read whole."""
    by_lane = h.totals.by_lane
    if by_lane is None or h.partial or name.endswith(PARTIAL_SUFFIX):
        return None
    rates = {lane: LanePass(lane=lane, passed=t.passed, runs=t.runs) for lane, t in by_lane.items()}
    return _listed(name, h, h.totals.runs, rates)


def stored_names(root: Path) -> list[str]:
    """The result files' names in the store (hidden ones are a writer's temporaries)."""
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.glob("*.json") if not p.name.startswith("."))


# A file's identity and version: the store writes by rename, so a new result is a new inode.
Stamp = tuple[int, int, int]
Memo = dict[str, tuple[Stamp, Listed | Unreadable]]


def listing(store: RunStore, memo: Memo | None = None) -> Listing:
    """Every file in the store: a finished one by its header (its per-lane totals), one
    without them read whole; one that cannot be read is listed with why, never raised. With
    ``memo`` (a server's, kept between calls), a file unchanged since it was last read is not
    read again."""
    memo = {} if memo is None else memo
    found: list[Listed] = []
    unreadable: list[Unreadable] = []
    names = stored_names(store.root)
    for name in names:
        path = store.root / name
        try:
            st = path.stat()
            stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        except OSError:
            continue  # gone since the folder was listed
        known = memo.get(name)
        entry = known[1] if known is not None and known[0] == stamp else _entry(store, path)
        memo[name] = (stamp, entry)
        if isinstance(entry, Listed):
            found.append(entry)
        else:
            unreadable.append(entry)
    for gone in memo.keys() - set(names):
        del memo[gone]
    found.sort(key=lambda r: (r.started_at, r.name))  # all UTC, so the text sorts as the time
    return Listing(root=str(store.root), results=found, unreadable=unreadable)


def _entry(store: RunStore, path: Path) -> Listed | Unreadable:
    try:
        with suppress(StoreError):  # then read whole, which says what is wrong
            found = _from_header(path.name, read_header(path))
            if found is not None:
                return found
        return listed(path.name, store.load(path))
    except StoreError as exc:  # a time that is no time, too: listed() reads it
        return Unreadable(name=path.name, why=str(exc).removeprefix(f"{path}: "))


def render_listing(found: Listing) -> str:
    """One line per result, newest last, then the unreadable files; names and suites are the
    user's, made visible (never a raw escape)."""
    lines = []
    for r in found.results:
        rates = ", ".join(p.text for p in r.pass_rates) or "no runs"
        partial = f"  PARTIAL {r.runs}/{r.planned} runs" if r.partial else ""
        lines.append(
            f"{r.name}  {r.when}  {r.suite}  {', '.join(r.lanes)}  "
            f"{plural(r.scenarios, 'scenario')} × {plural(r.trials, 'trial')}  "
            f"pass {rates}  {r.cost}{partial}"
        )
    lines += [f"{u.name}  unreadable: {u.why}" for u in found.unreadable]
    return visible_lines(lines)


class Previous(NamedTuple):
    """The result before one, to compare with; or none, and why not in a line (``note``)."""

    path: Path | None = None
    result: SuiteResult | None = None
    note: str | None = None


def previous(store: RunStore, result: SuiteResult, *, exclude: Path) -> Previous:
    """The previous complete result of the same suite, if it is like for like."""
    before = store.previous(result.header, exclude=exclude)
    if before is None:
        return Previous()
    try:
        loaded = store.load(before.path)
    except StoreError as exc:
        return Previous(note=f"warning: cannot compare with the previous run: {exc}")
    unlike = differences(loaded.header, result.header)
    if unlike:
        return Previous(
            note=f"not compared with the previous run {before.path.name}: not like for like "
            f"({'; '.join(unlike)})"
        )
    return Previous(before.path, loaded)
