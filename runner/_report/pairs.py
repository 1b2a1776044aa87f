"""Two runs side by side, computed when the page is built: their tool sequences aligned, their
checks compared, and a unified diff of each file whose final content differs between them.
The two runs may come from one result or from two (a comparison's before and after).

Pairs are made within a scenario (the same task, from the same workspace): every pair while a
scenario has at most ``ALL_PAIRS_RUNS`` runs, else the runs of the same trial, so a page stays
linear in its runs. A file is read from the run's captured ``files/`` or, where the run left it
alone, from the fixture it started from; a file that cannot be read as text is named, not diffed.
"""

from __future__ import annotations

import difflib
import itertools
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, ValidationError

from runner._agent.engine import RunRecord
from runner._agent.workspace import FileChange
from runner._evaluate.results import CheckResult, RunResult
from runner._report.diffs import unified
from runner._util.inputs import RESULT_FILE_BYTES, read_input

ALL_PAIRS_RUNS = 16  # a scenario's runs up to which every pair is offered
DIFF_FILE_BYTES = 1024 * 1024  # a file over this is named, not diffed


class CheckRow(BaseModel):
    """A check by name: whether each run passed it (None: it did not apply to that run's
    lane); the page takes each one's detail from the run's own checks."""

    name: str
    a: bool | None
    b: bool | None
    differs: bool


class FileDiff(BaseModel):
    path: str
    a: str  # how run A left the file: added, changed, deleted, unchanged, absent
    b: str
    lines: list[str] = []  # the unified diff's hunks ("@@", " ", "-", "+" lines)
    cut: int = 0  # lines left out at the end
    note: str | None = None  # why there is no diff: binary, too big, not kept


# A row of two aligned tool sequences: an index into each run's top-level calls, or None for
# a gap where one run called a tool the other did not.
Aligned = tuple[int | None, int | None]


class PairView(BaseModel):
    """Two runs compared; calls and checks by reference, to the runs' own details, which the
    page draws beside them anyway: a page with many pairs stays small."""

    a: int  # the runs' indexes in the result
    b: int
    tools: list[Aligned]
    checks: list[CheckRow]
    files: list[FileDiff]
    files_note: str | None = None  # why files could not be compared at all


def align(a: Sequence[str], b: Sequence[str]) -> list[Aligned]:
    """The two sequences of tool names matched (difflib's longest matching blocks), with a gap
    where one run called a tool the other did not; replaced stretches paired row by row."""
    rows: list[Aligned] = []
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            rows += zip(range(i1, i2), range(j1, j2), strict=True)
        else:
            rows += itertools.zip_longest(range(i1, i2), range(j1, j2))
    return rows


def compare_checks(a: Sequence[CheckResult], b: Sequence[CheckResult]) -> list[CheckRow]:
    """Every check of either run by name, in A's order then B's own; a row differs when the
    outcomes differ or only one run had the check."""
    by_a = {c.name: c.passed for c in a}
    by_b = {c.name: c.passed for c in b}
    rows = []
    for name in dict.fromkeys([*by_a, *by_b]):
        x, y = by_a.get(name), by_b.get(name)
        rows.append(CheckRow(name=name, a=x, b=y, differs=x is None or y is None or x != y))
    return rows


@dataclass(frozen=True)
class Version:
    """A file as a run left it: ``data`` (None: not there), or a ``problem`` that keeps it
    from being compared."""

    state: str
    data: bytes | None = None
    problem: str | None = None


@dataclass(frozen=True)
class RunFiles:
    """The files a run changed, over the workspace it started from (``fixture``; None with
    ``fixture_known``: an empty one)."""

    run_dir: Path | None
    changes: dict[str, FileChange]
    fixture: Path | None
    fixture_known: bool

    @classmethod
    def of(cls, run: RunResult, fixture: Path | None, fixture_known: bool) -> RunFiles | None:
        """None when the run's record cannot be read: what it changed is unknown."""
        if run.run_dir is None:
            return None
        folder = Path(run.run_dir)
        try:
            record = RunRecord.model_validate_json(
                read_input(folder / "record.json", limit=RESULT_FILE_BYTES)
            )
        except (OSError, ValidationError):
            return None
        return cls(folder, {c.path: c for c in record.files}, fixture, fixture_known)

    def version(self, path: str) -> Version:
        change = self.changes.get(path)
        if change is None:
            if not self.fixture_known:
                return Version("unchanged", problem="the workspace it started from is not at hand")
            if self.fixture is None or not (self.fixture / path).exists():
                return Version("absent")
            return _read("unchanged", self.fixture / path)
        if change.change == "deleted":
            return Version("deleted")
        if not change.captured or self.run_dir is None:
            return Version(change.change, problem=change.error or "its bytes were not kept")
        kept = self.run_dir / "files" / path
        if change.symlink:
            return Version(change.change, f"symlink to {os.readlink(kept)}\n".encode())
        return _read(change.change, kept)


def _read(state: str, path: Path) -> Version:
    try:
        return Version(state, read_input(path, limit=DIFF_FILE_BYTES))
    except OSError as exc:
        return Version(state, problem=exc.strerror or str(exc))


def _text(data: bytes | None) -> str | None:
    if data is None:
        return ""
    if b"\0" in data:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def file_diff(path: str, a: Version, b: Version) -> FileDiff | None:
    """How ``path`` differs between the runs; None when they left it the same."""
    if a.problem is None and b.problem is None and a.data == b.data:
        return None
    diff = FileDiff(path=path, a=a.state, b=b.state)
    if a.problem or b.problem:
        diff.note = "; ".join(f"{w}: {p}" for w, p in (("A", a.problem), ("B", b.problem)) if p)
        return diff
    old, new = _text(a.data), _text(b.data)
    if old is None or new is None:
        sizes = " against ".join(f"{len(v.data or b''):,} bytes" for v in (a, b))
        diff.note = f"binary: not diffed ({sizes})"
        return diff
    diff.lines, diff.cut = unified(old, new)
    return diff


def file_diffs(a: RunFiles | None, b: RunFiles | None) -> tuple[list[FileDiff], str | None]:
    """Each file either run changed whose final content differs, in path order; or why the
    files cannot be compared."""
    if a is None or b is None:
        return [], "a run's record (record.json) is not at hand, so neither are its files"
    paths = sorted({*a.changes, *b.changes})
    diffs = (file_diff(p, a.version(p), b.version(p)) for p in paths)
    return [d for d in diffs if d is not None], None


@dataclass(frozen=True)
class RunSide:
    """What a pair needs of a run: the run, its top-level tool calls as the page's timeline
    has them, and the files it changed (None: its record is not at hand)."""

    run: RunResult
    tools: list[str]
    files: RunFiles | None


def pair_view(
    a: RunSide,
    b: RunSide,
    index_a: int,
    index_b: int,
    files: tuple[list[FileDiff], str | None] | None = None,
) -> PairView:
    """Two runs compared; ``index_a`` and ``index_b`` are where each sits in its own result.
    ``files``: their ``file_diffs``, when the caller has made them already."""
    diffs, note = file_diffs(a.files, b.files) if files is None else files
    return PairView(
        a=index_a,
        b=index_b,
        tools=align(a.tools, b.tools),
        checks=compare_checks(a.run.checks, b.run.checks),
        files=diffs,
        files_note=note,
    )


def changed(a: RunResult, b: RunResult, files: Sequence[FileDiff]) -> bool:
    """Whether two runs differ in anything the side-by-side view shows: the outcome, the exit,
    a check, the tool calls (the result's own sequence: no transcript read) or a file."""
    return (
        a.passed != b.passed
        or a.exit_reason != b.exit_reason
        or a.tool_sequence != b.tool_sequence
        or any(c.differs for c in compare_checks(a.checks, b.checks))
        or bool(files)
    )


def pair_indices(runs: Sequence[RunResult]) -> list[tuple[int, int]]:
    """The pairs offered side by side: within a scenario, every pair, or past
    ``ALL_PAIRS_RUNS`` runs the pairs of the same trial."""
    by_scenario: dict[str, list[int]] = {}
    for i, r in enumerate(runs):
        by_scenario.setdefault(r.scenario, []).append(i)
    pairs = []
    for group in by_scenario.values():
        every = len(group) <= ALL_PAIRS_RUNS
        pairs += [
            (i, j)
            for i, j in itertools.combinations(group, 2)
            if every or runs[i].trial == runs[j].trial
        ]
    return sorted(pairs)


def default_pair(runs: Sequence[RunResult], lanes: Sequence[str]) -> tuple[int, int] | None:
    """The A/B effect's first pair: the first run of the first lane with a run of the second
    lane on the same scenario and trial."""
    if len(lanes) < 2:
        return None
    others = {(r.scenario, r.trial): j for j, r in enumerate(runs) if r.lane == lanes[1]}
    return next(
        (
            (i, others[(r.scenario, r.trial)])
            for i, r in enumerate(runs)
            if r.lane == lanes[0] and (r.scenario, r.trial) in others
        ),
        None,
    )
