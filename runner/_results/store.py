"""The run history: one ``SuiteResult`` JSON file per eval under ``.runner/runs/``.

Names are ``{runner_version}-{branch}-{sha}-{timestamp}.json``; an eval still going (or one
that crashed) is ``{stem}.partial.json``, appended run by run (runner._results.partial), and is
never a baseline. Listing the history reads only each file's header, which is serialized before the
runs (a partial one is read whole, to count its runs).
"""

from __future__ import annotations

import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

import ijson
from pydantic import BaseModel, ConfigDict, ValidationError

from runner._evaluate.results import RESULTS_SCHEMA, RunResult, SuiteHeader, SuiteResult, Totals
from runner._results.partial import (
    MARK,
    Decoded,
    decode,
    first_line,
    header_line,
    is_appended,
    run_line,
)
from runner._util.atomic import PathError, create_exclusively, write_atomically
from runner._util.defaults import RUNS_ROOT
from runner._util.figures import plural
from runner._util.inputs import RESULT_FILE_BYTES, open_input, read_input

DEFAULT_ROOT = RUNS_ROOT
PARTIAL_SUFFIX = ".partial.json"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class StoreError(ValueError):
    """One line naming the file and what is wrong with it."""


class StoredRun(BaseModel):
    """A history file and its header (its runs are not read)."""

    model_config = ConfigDict(frozen=True)

    path: Path
    header: SuiteHeader

    @property
    def partial(self) -> bool:
        return self.header.partial or self.path.name.endswith(PARTIAL_SUFFIX)


def started(header: SuiteHeader) -> datetime:
    """``started_at`` as an aware UTC datetime (a naive one is taken as UTC)."""
    try:
        when = datetime.fromisoformat(header.started_at)
    except ValueError:
        raise StoreError(f"started_at {header.started_at!r} is not an ISO 8601 time") from None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def file_stem(header: SuiteHeader) -> str:
    """The name a run is saved under, before any ``-2`` that keeps it unique."""
    stamp = started(header).strftime("%Y%m%dT%H%M%SZ")
    parts = (header.runner_version, header.branch[:80], header.sha)
    return "-".join(_UNSAFE.sub("_", p) or "_" for p in parts) + f"-{stamp}"


def read_header(path: Path) -> SuiteHeader:
    """The header alone: ijson stops at its end, so the runs are never read or parsed. Of an
    appended partial, its first line: the header the eval started with, its totals not
    counted (``RunStore.load`` reads the runs); the history needs only its time and suite."""
    try:
        with open_input(path) as f:
            appended = is_appended(f.read(len(MARK)))
            f.seek(0)
            if appended:
                header = decode(f.readline(RESULT_FILE_BYTES)).result.header
            else:
                header = _scan_header(f)
        started(header)  # history sorts by it: a bad time is a bad file
    except OSError as exc:
        raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ijson.JSONError as exc:
        # yajl's message draws a caret under the text on further lines; keep the first.
        first = (str(exc).splitlines() or ["?"])[0].strip()
        raise StoreError(f"{path}: invalid JSON before the header's end: {first}") from None
    except ValidationError as exc:
        raise StoreError(f"{path}: bad header: {_first_error(exc)}") from None
    except ValueError as exc:  # a StoreError, or an appended partial's damaged line
        raise StoreError(f"{path}: {exc}") from None
    return header


def _scan_header(f: BinaryIO) -> SuiteHeader:
    for key, value in ijson.kvitems(f, "", use_float=True):
        if key == "schema_version" and value != RESULTS_SCHEMA:
            raise StoreError(_unsupported(value))
        if key == "header":
            return SuiteHeader.model_validate(value)
    raise StoreError("no header (not a runner result)")


def _unsupported(version: Any) -> str:
    return f"schema_version {version!r} is not supported (this runner reads {RESULTS_SCHEMA})"


def _first_error(exc: ValidationError) -> str:
    errors = exc.errors()
    first = errors[0]
    where = ".".join(str(p) for p in first["loc"]) or "(top level)"
    more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
    return f"{where}: {first['msg']}{more}"


def _decoded(path: Path, data: bytes) -> Decoded:
    try:
        return decode(data)
    except ValueError as exc:
        raise StoreError(f"{path}: {exc}") from None


def _as_partial(header: SuiteHeader) -> SuiteHeader:
    # A .partial.json file must say partial, whatever the caller passed: it is never a baseline.
    # Its totals are counted when it is read, from the runs it holds.
    return header.model_copy(update={"partial": True, "totals": Totals()})


class Recording:
    """One eval's two names in the store: the partial file while it runs, the final one after."""

    def __init__(self, partial_path: Path, final_path: Path, header: SuiteHeader) -> None:
        self.partial_path = partial_path
        self.final_path = final_path
        self._header = _as_partial(header)  # the last one written
        self._finished = False

    def append(self, header: SuiteHeader, run: RunResult) -> None:
        """One finished run onto the partial file (after ``header`` if it changed)."""
        if self._finished:
            raise RuntimeError(f"{self.final_path} is already finished")
        lines = b""
        if _as_partial(header) != self._header:
            self._header = _as_partial(header)
            lines = header_line(self._header)
        try:
            # One write per run, flushed as the file closes: a crash tears at most this line.
            with self.partial_path.open("ab") as f:
                f.write(lines + run_line(run))
        except OSError as exc:
            raise PathError("write", self.partial_path, exc) from exc

    def finish(self, result: SuiteResult) -> Path:
        # The final file exists before the partial goes, so the name is never free to take.
        write_atomically(self.final_path, result.model_dump_json(indent=2))
        try:
            self.partial_path.unlink(missing_ok=True)
        except OSError as exc:
            raise PathError("remove", self.partial_path, exc) from exc
        self._finished = True
        return self.final_path


_COLLISION = re.compile(r"-(\d+)(?:\.partial)?\.json$")


def _claimed(name: str) -> int:
    """The order ``begin`` claimed names started in one second: base, then -2, -3, ..."""
    found = _COLLISION.search(name)
    return int(found[1]) if found else 1


class RunStore:
    def __init__(self, root: Path = DEFAULT_ROOT) -> None:
        self.root = root
        # Files the last history() scan skipped, and torn lines load() skipped: one line each.
        self.problems: list[str] = []

    def begin(self, header: SuiteHeader) -> Recording:
        """Claim a unique name and write an empty partial result under it."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise PathError("create the folder", self.root, exc) from exc
        base = file_stem(header)
        n = 1
        while True:
            stem = base if n == 1 else f"{base}-{n}"
            partial = self.root / f"{stem}{PARTIAL_SUFFIX}"
            rec = Recording(partial, self.root / f"{stem}.json", header)
            if not rec.final_path.exists() and create_exclusively(
                rec.partial_path, first_line(_as_partial(header)).decode()
            ):
                return rec
            n += 1

    def history(self) -> list[StoredRun]:
        """Every readable file, oldest first; unreadable ones go to ``problems``."""
        self.problems = []
        found: list[tuple[datetime, str, StoredRun]] = []
        if not self.root.is_dir():
            return []
        for path in self.root.glob("*.json"):
            if path.name.startswith("."):
                continue
            try:
                header = read_header(path)
                found.append((started(header), path.name, StoredRun(path=path, header=header)))
            except StoreError as exc:
                self.problems.append(str(exc))
        found.sort(key=lambda t: (t[0], _claimed(t[1]), t[1]))
        return [run for _, _, run in found]

    def previous(self, header: SuiteHeader, *, exclude: Path | None = None) -> StoredRun | None:
        """The baseline for ``header``: the latest complete run of its suite that started
        before it, on its branch if there is one, else on any branch."""
        before = started(header)
        suite = os.path.normpath(header.suite)
        skip = exclude.resolve() if exclude is not None else None
        candidates = [
            run
            for run in self.history()
            if not run.partial
            and os.path.normpath(run.header.suite) == suite
            and started(run.header) < before
            and run.path.resolve() != skip
        ]
        same_branch = [run for run in candidates if run.header.branch == header.branch]
        pool = same_branch or candidates
        return pool[-1] if pool else None

    def load(self, path: Path) -> SuiteResult:
        try:
            data = read_input(path, limit=RESULT_FILE_BYTES)
        except OSError as exc:
            raise StoreError(f"{path}: cannot read: {exc.strerror or exc}") from None
        if is_appended(data):
            result, torn = _decoded(path, data)
            if torn:
                self.problems.append(f"{path}: skipped {torn} torn last line (a crash mid-write)")
            return result
        try:
            return SuiteResult.model_validate_json(data)
        except ValidationError as exc:
            first = exc.errors()[0]
            if first["type"] == "json_invalid":
                raise StoreError(f"{path}: {first['msg']}") from None
            if first["loc"] == ("schema_version",):
                raise StoreError(f"{path}: {_unsupported(first.get('input'))}") from None
            raise StoreError(f"{path}: not a runner result: {_first_error(exc)}") from None

    def resolve(self, ref: str) -> Path:
        """A file path, a name or unique name prefix in the store, ``latest`` or ``previous``."""
        if ref in ("latest", "previous"):
            complete = [run for run in self.history() if not run.partial]
            need = 1 if ref == "latest" else 2
            if len(complete) < need:
                raise StoreError(
                    f"{ref}: the store {self.root} holds {plural(len(complete), 'complete result')}"
                )
            return complete[-need].path
        as_path = Path(ref)
        if as_path.exists() and not as_path.is_dir():
            return as_path  # load says what is wrong with it if it is no regular file
        names = (
            sorted(p.name for p in self.root.glob("*.json") if not p.name.startswith("."))
            if self.root.is_dir()
            else []
        )
        for exact in (ref, f"{ref}.json"):
            if exact in names:
                return self.root / exact
        matches = [name for name in names if name.startswith(ref)]
        if len(matches) == 1:
            return self.root / matches[0]
        if not matches:
            what = "a folder, not a result file" if as_path.is_dir() else "no such file"
            raise StoreError(f"{ref}: {what}, and no result in {self.root} starts so")
        shown = ", ".join(matches[:3]) + (
            f" and {len(matches) - 3} more" if len(matches) > 3 else ""
        )
        raise StoreError(f"{ref}: {len(matches)} results match ({shown}); give more of the name")
