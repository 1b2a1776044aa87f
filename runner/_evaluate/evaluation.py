"""A suite evaluated in one call from Python, and the header and result ``eval`` builds the same
way: ``evaluate`` plans every run, runs the plan through the cache and returns the
``SuiteResult`` that ``eval`` would save (without its terminal, rounds or store)."""

from __future__ import annotations

import os
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from runner._agent.lanes import Lane, get_lane
from runner._agent.sandbox import require as require_sandbox
from runner._evaluate.cache import RunCache
from runner._evaluate.planning import Settings, local_settings, plan
from runner._evaluate.results import RunResult, SuiteHeader, SuiteResult, Totals, VerdictSettings
from runner._evaluate.scenarios import Scenario, load_suite
from runner._evaluate.suite import OnResult, SuiteRunner
from runner._util.git import git_identity
from runner._util.version import __version__


def suite_header(
    suite: Path,
    scenarios: Sequence[Scenario],
    lanes: Sequence[Lane],
    trials: int,
    settings: Settings,
    *,
    planned: int,
    aa: Lane | None = None,
    verdicts: VerdictSettings | None = None,
) -> SuiteHeader:
    """The header of an eval of ``scenarios`` x ``lanes`` x ``trials`` starting now, partial
    until ``suite_result`` finishes it, at the working directory's git branch and commit."""
    cassettes = settings.cassettes
    branch, sha = git_identity(Path.cwd())
    return SuiteHeader(
        runner_version=__version__,
        branch=branch,
        sha=sha,
        # Milliseconds: two evals in one second (cached ones take half of one) stay in order.
        started_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        partial=True,
        # One spelling per folder (./s, s/, /abs/s), so the previous run of a suite is found.
        suite=os.path.relpath(suite.resolve()),
        lanes=[lane.name for lane in lanes],
        scenarios=[s.id for s in scenarios],
        trials=trials,
        aa=aa.name if aa else None,
        mode="scripted" if settings.scripted else "live",
        cassettes=str(cassettes.root) if cassettes else None,
        replay_mode=cassettes.mode if cassettes else None,
        planned=planned,
        verdicts=verdicts or VerdictSettings(),
    )


def suite_result(header: SuiteHeader, runs: list[RunResult], *, partial: bool) -> SuiteResult:
    """``runs`` under ``header``, with their totals; finished now unless ``partial``."""
    finished = None if partial else datetime.now(UTC).isoformat(timespec="seconds")
    update = {"partial": partial, "finished_at": finished, "totals": Totals.of(runs)}
    return SuiteResult(header=header.model_copy(update=update), runs=runs)


async def evaluate(
    suite: Path,
    lanes: Sequence[str] = ("agent-skill",),
    *,
    trials: int = 1,
    scenarios: Sequence[str] | None = None,
    offline: bool = False,
    settings: Settings | None = None,
    cache: RunCache | None = None,
    on_result: OnResult | None = None,
) -> SuiteResult:
    """Every scenario of ``suite`` (or those ids) in each of ``lanes``, ``trials`` times, through
    ``cache`` (default ``.runner/cache``, as eval's) and scored, as ``eval`` runs them.

    ``settings`` default to eval's on this machine: the CLI found, scripted when ``offline``
    or without an API key, the sandbox from $RUNNER_SANDBOX, else bwrap. ``on_result`` is told
    each result as it lands. Raises what ``eval`` reports in a line: ScenarioError,
    UnknownLaneError, PlanError, ClaudeNotFoundError, SandboxUnavailable. Runs on asyncio and
    trio; the result is not saved (``analyze`` reads it as it is)."""
    found = load_suite(suite, list(scenarios) if scenarios is not None else None)
    chosen = [get_lane(name) for name in dict.fromkeys(lanes)]
    cache = cache if cache is not None else RunCache()
    if settings is None:
        memo = cache.root / "cli-versions.json" if cache.write else None
        settings = local_settings(None, version_memo=memo, offline=offline)
    if settings.sandbox == "bwrap":
        require_sandbox()  # as eval does: before any run, with the command that installs it
    units = plan(found, chosen, trials, settings)
    header = suite_header(suite, found, chosen, trials, settings, planned=len(units))
    runs = await SuiteRunner(settings, cache).run_plan(units, on_result)
    return suite_result(header, runs, partial=False)
