"""Test support: a run store holding made-up results of every kind the list shows (scripted,
live, partial, a file that is no result), written as an eval leaves them."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from runner._evaluate.results import SuiteResult, Totals
from runner._results.store import PARTIAL_SUFFIX, file_stem
from tests.report_support import ab_result


def stored(root: Path, result: SuiteResult, *, day: int, **header: object) -> Path:
    """``result`` saved in ``root`` under its store name, started on December ``day``, with
    ``header``'s fields changed (a partial one under its .partial.json name)."""
    update = {"started_at": f"2026-12-{day:02d}T10:00:00+00:00", "sha": f"{day:012d}", **header}
    h = result.header.model_copy(update=update)
    saved = result.model_copy(update={"header": h})
    suffix = PARTIAL_SUFFIX if h.partial else ".json"
    path = root / f"{file_stem(h)}{suffix}"
    root.mkdir(parents=True, exist_ok=True)
    path.write_text(saved.model_dump_json(indent=2))
    return path


@dataclass
class Store:
    root: Path
    scripted: Path  # 3 scenarios × 2 trials, agent-baseline 2/6, agent-skill 6/6
    live: Path  # the same, billed, one day later
    more_trials: Path  # scripted again, 3 trials: not like for like with `scripted`
    partial: Path  # an eval that stopped after 3 of its 12 runs
    corrupt: Path  # no result at all


def a_store(root: Path) -> Store:
    result = ab_result([(1, 2), (1, 2), (0, 2)], 2)
    live_runs = [r.model_copy(update={"live": True, "billed_usd": r.cost_usd}) for r in result.runs]
    live = result.model_copy(update={"runs": live_runs})
    live_header = {"mode": "live", "totals": Totals.of(live_runs)}
    three = ab_result([(1, 3), (1, 3), (0, 3)], 3)
    partial = result.model_copy(update={"runs": result.runs[:3]})
    corrupt = root / "0.1.0-main-broken.json"
    store = Store(
        root=root,
        scripted=stored(root, result, day=1),
        live=stored(root, live, day=2, **live_header),
        more_trials=stored(root, three, day=3),
        partial=stored(root, partial, day=4, partial=True, totals=Totals.of(partial.runs)),
        corrupt=corrupt,
    )
    corrupt.write_text('{"schema_version": 1, "header": {"runner_ver')
    return store
