"""``python -m runner report``: stored results as one self-contained HTML dashboard (the runs
table, each run's transcript, the A/B statistics, comparisons), with no network needed."""

from __future__ import annotations

from collections.abc import Sequence

from runner._report.page import build_page
from runner._report.views import StoredResult

__all__ = ["StoredResult", "build_report"]


def build_report(
    results: Sequence[StoredResult], comparisons: Sequence[tuple[StoredResult, StoredResult]] = ()
) -> str:
    """The whole page as one HTML string."""
    return build_page(results, comparisons)
