"""The suite runner on asyncio and trio: plan, run through the cache, score, report progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner._agent.lanes import get_lane
from runner._evaluate.cache import RunCache
from runner._evaluate.planning import PlanError, plan
from runner._evaluate.results import RunResult
from runner._evaluate.scenarios import load_suite
from runner._evaluate.suite import Progress, SuiteRunner
from tests.suite_commands import EXAMPLE_SUITE, settings

pytestmark = [pytest.mark.anyio, pytest.mark.cli]


async def test_run_plan_scores_in_plan_order_and_caches(tmp_path: Path) -> None:
    scenarios = load_suite(EXAMPLE_SUITE, ["fix-entry", "new-changelog"])
    lanes = [get_lane("agent-baseline"), get_lane("agent-skill")]
    units = plan(scenarios, lanes, 1, settings(workspace_parent=tmp_path / "ws"))
    seen: list[tuple[str, int]] = []

    def on_result(result: RunResult, progress: Progress) -> None:
        seen.append((result.run_id, progress.done))

    runner = SuiteRunner(settings(workspace_parent=tmp_path / "ws"), RunCache(tmp_path / "c"))
    results = await runner.run_plan(units, on_result)
    assert [r.run_id for r in results] == [u.run_id for u in units]
    assert sorted(done for _, done in seen) == [1, 2, 3, 4]
    assert {r.run_id: r.passed for r in results} == {
        "fix-entry/agent-baseline#0": False,
        "fix-entry/agent-skill#0": True,
        "new-changelog/agent-baseline#0": False,
        "new-changelog/agent-skill#0": True,
    }
    judged = [c for c in results[3].checks if c.name.startswith("every change in NOTES")]
    assert judged
    assert judged[0].passed
    assert not any(r.cache_hit for r in results)

    again = await SuiteRunner(settings(), RunCache(tmp_path / "c")).run_plan(units)
    assert all(r.cache_hit for r in again)
    assert [r.checks for r in again] == [r.checks for r in results]
    assert not list((tmp_path / "ws").iterdir())  # every workspace removed


async def test_plan_refuses_a_skill_lane_without_a_skill(tmp_path: Path) -> None:
    folder = tmp_path / "suite" / "plain"
    folder.mkdir(parents=True)
    (folder / "scenario.toml").write_text('instruction = "Do it."\nmock = "m.json"\n')
    (folder / "m.json").write_text('{"turns": []}')
    scenarios = load_suite(tmp_path / "suite")
    with pytest.raises(PlanError, match="needs a skill"):
        plan(scenarios, [get_lane("agent-skill")], 1, settings())


async def test_one_unit_runs_on_its_own_without_run_plan(tmp_path: Path) -> None:
    # The pytest plugin runs a single missing run this way.
    scenarios = load_suite(EXAMPLE_SUITE, ["fix-entry"])
    [unit] = plan(scenarios, [get_lane("agent-skill")], 1, settings())
    runner = SuiteRunner(settings(workspace_parent=tmp_path / "ws"), RunCache(tmp_path / "c"))
    result = await runner.run_unit(unit)
    assert result.passed
    assert not result.cache_hit
    assert (await runner.run_unit(unit)).cache_hit
