"""A report page of results in the store, as ``report`` writes it and ``view`` serves it."""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise
from pathlib import Path
from typing import NamedTuple

from runner._report.page import page_parts
from runner._report.views import StoredResult
from runner._results.history import previous
from runner._results.store import RunStore


class ReportParts(NamedTuple):
    parts: Iterator[str]  # the page, each part made as it is asked for
    runs: int  # in the results shown
    note: str | None  # why the previous result is not compared, for the terminal


def report_parts(store: RunStore, paths: list[Path], *, home: str | None = None) -> ReportParts:
    """The page ``report`` writes for these stored results: each compared with the one before
    it, or one alone with the previous like-for-like result. The results are read now (a bad
    file is a ``StoreError`` here); the page is made part by part as it is written."""
    results = [StoredResult(name=path.name, result=store.load(path)) for path in paths]
    comparisons = list(pairwise(results))
    note = None
    if len(results) == 1:
        before_path, before, note = previous(store, results[0].result, exclude=paths[0])
        if before_path is not None and before is not None:
            comparisons = [(StoredResult(before_path.name, before), results[0])]
    runs = sum(len(r.result.runs) for r in results)
    return ReportParts(page_parts(results, comparisons, home=home), runs, note)
