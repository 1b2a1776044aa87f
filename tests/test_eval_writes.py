"""A warm eval's writes grow with its runs, not with their square: the partial file is appended
run by run (rewriting it whole after every run wrote quadratic bytes). Counted, not timed.

A fake CLI (tests/scale_support.py) prints a real capture at once, so a few hundred runs fill
the cache in seconds; the warm evals then run 100, 200 and 300 of them, and each hundred more
must cost the same bytes as the hundred before it."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.scale_support import latest_totals, make_suite, run_counted, scenario_id, suite_args
from tests.suite_commands import offline_env

pytestmark = pytest.mark.cli

SCENARIOS = 150  # x 2 lanes: 300 runs


def warm_bytes(folder: Path, scenarios: int) -> int:
    """The bytes a fully cached eval of the first ``scenarios`` scenarios wrote, stored on
    its own: with no previous result, it prints no comparison (whose size would depend on
    which eval ran before)."""
    ids = ",".join(scenario_id(i) for i in range(scenarios))
    store = f"runs-{scenarios}"
    argv = suite_args(folder, "eval", "--scenarios", ids, store=store)
    got = run_counted(folder, argv, offline_env())
    assert got.code in (0, 1), got.stderr[-2000:]  # 1: some checks fail by design
    totals = latest_totals(folder, store)
    assert totals["runs"] == totals["cache_hits"] == 2 * scenarios  # warm: no run started
    return got.written


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts writes with /proc")
def test_a_warm_evals_writes_grow_linearly_with_its_runs(tmp_path: Path) -> None:
    make_suite(tmp_path, SCENARIOS, capture="hello.ndjson")
    cold = run_counted(tmp_path, suite_args(tmp_path, "eval", "--concurrency", "4"), offline_env())
    assert cold.code in (0, 1), cold.stderr[-2000:]
    assert latest_totals(tmp_path)["runs"] == 2 * SCENARIOS
    small, middle, large = (warm_bytes(tmp_path, n) for n in (50, 100, 150))
    first, second = middle - small, large - middle
    # Linear: the second hundred runs write what the first did (file names and durations
    # differ by a few bytes). Rewriting the partial file after every run made it 1.65x.
    assert 0.9 * first <= second <= 1.1 * first, (small, middle, large)
