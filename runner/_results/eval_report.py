"""``eval --json`` and ``eval --out``: the stored result, where it went, how it compares with
the previous one and the A/B. Its own module: building it builds every A/B and comparison
model, which an eval printed as a table does not need."""

from __future__ import annotations

from runner._evaluate.results import SuiteResult
from runner._results.ab_report import AbReport
from runner._results.compare import Comparison


class EvalReport(SuiteResult):
    """``eval --json``: the stored result, where it went, and how it compares."""

    saved_to: str | None = None
    baseline: str | None = None  # the previous run it was compared with
    comparison: Comparison | None = None
    ab: AbReport | None = None  # two lanes or more, or an A/A copy
    cache_problems: list[str] = []  # corrupt cache entries, recordings not kept
