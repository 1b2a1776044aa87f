"""runner's pytest plugin (entry point ``pytest11``): a user's tests load cached runs and API
cassettes by scenario, lane and trial, and assert on them, with no CLI and for $0.

    import pytest
    from runner import assert_skill_invoked, assert_tool_sequence

    @pytest.mark.runner_run("fix-entry", lane="agent-skill")
    def test_fix_entry_uses_the_skill(runner_run):
        assert_skill_invoked(runner_run, "changelog")
        assert_tool_sequence(runner_run, ["Skill", "Edit"], mode="subset")

    def test_trials_agree(runner_runs):
        first = runner_runs.cached("fix-entry", trial=0)
        assert first.fingerprint() == runner_runs.cached("fix-entry", trial=1).fingerprint()

A cached run is found by its key, planned exactly as ``eval`` plans it (the suite, the CLI's
version, live or scripted), so the test sees the run ``eval`` stored. A missing run fails the
test with the command that makes it; only ``--runner-run-missing`` lets a fixture start the CLI.
"""

from __future__ import annotations

import inspect
import os
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

# pytest loads this module in every session where runner is installed: runner's own modules
# (half a second of imports) load when a fixture is first used, not at pytest's start.
if TYPE_CHECKING:
    from runner._evaluate.cache import RunCache
    from runner._evaluate.planning import Settings, Unit
    from runner._evaluate.replay import ReplayEngine

DEFAULT_LANE = "agent-skill"
# name -> (default, help): each is --runner-<name> DIR on the command line, runner_<name> in ini.
# The defaults are eval's (defaults.DEFAULT_SUITE, cache.DEFAULT_ROOT); a test keeps them so.
_FOLDERS = {
    "suite": (Path("fixtures") / "scenarios", "the suite of scenarios"),
    "cache": (Path(".runner") / "cache", "the run cache eval fills"),
    "cassettes": (Path("fixtures") / "cassettes", "the API cassettes (eval --record DIR)"),
}
MARKER = (
    "runner_run(scenario, lane='agent-skill', trial=0, source='cached'): the run the "
    "runner_run fixture loads, from the run cache or (source='cassette') an API cassette"
)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("runner", "runner: cached runs and cassettes in tests")
    for name, (default, what) in _FOLDERS.items():
        group.addoption(
            f"--runner-{name}",
            dest=f"runner_{name}",
            metavar="DIR",
            help=f"{what}; default: ini runner_{name}, else {default}",
        )
        parser.addini(f"runner_{name}", f"{what} (relative to the ini file)", default=str(default))
    group.addoption(
        "--runner-run-missing",
        action="store_true",
        help="run a missing cached run now with the real CLI (else the test fails)",
    )
    group.addoption(
        "--runner-offline",
        action="store_true",
        help="find the runs eval --offline made, even with ANTHROPIC_API_KEY set",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", MARKER)


def _folder(config: pytest.Config, name: str) -> Path:
    """The command line's value (from where pytest was started), else the ini's (from the ini
    file's folder), else the default (from the root folder)."""
    given = config.getoption(f"runner_{name}")
    if given is not None:
        return config.invocation_params.dir / str(given)
    base = config.inipath.parent if config.inipath is not None else config.rootpath
    return base / str(config.getini(f"runner_{name}"))


def _shown(path: Path) -> str:
    """``path`` as a user would type it from here."""
    relative = os.path.relpath(path)
    return relative if not relative.startswith("..") else str(path)


@dataclass
class RunnerRuns:
    """What the ``runner_runs`` fixture gives: runs by scenario, lane and trial."""

    suite: Path
    cache_root: Path
    cassettes: Path
    run_missing: bool = False
    offline: bool = False
    _settings: Settings | None = field(default=None, repr=False)

    @classmethod
    def from_config(cls, config: pytest.Config) -> RunnerRuns:
        return cls(
            suite=_folder(config, "suite"),
            cache_root=_folder(config, "cache"),
            cassettes=_folder(config, "cassettes"),
            run_missing=bool(config.getoption("runner_run_missing")),
            offline=bool(config.getoption("runner_offline")),
        )

    def settings(self) -> Settings:
        """As eval builds them: the CLI (its version, without starting it when known), and
        scripted unless an API key is set."""
        if self._settings is None:
            from runner._agent.claude_bin import ClaudeNotFoundError
            from runner._evaluate.planning import local_settings

            memo = self.cache_root / "cli-versions.json"
            try:
                self._settings = local_settings(None, version_memo=memo, offline=self.offline)
            except ClaudeNotFoundError as exc:
                pytest.fail(f"runner: {exc}", pytrace=False)
        return self._settings

    def cached(self, scenario: str, lane: str = DEFAULT_LANE, trial: int = 0) -> ReplayEngine:
        """The cached run of ``scenario`` in ``lane``, trial ``trial``, as eval stored it."""
        from runner._evaluate.cache import RunCache
        from runner._evaluate.replay import ReplayEngine

        unit = self._unit(scenario, lane, trial)
        cache = RunCache(self.cache_root)
        found = cache.get(unit.key.digest)
        if found is not None:
            return ReplayEngine.from_run_dir(found.path)
        if not self.run_missing:
            pytest.fail(self._missing(unit), pytrace=False)
        return self._run(unit, cache)

    def cassette(self, scenario: str, lane: str = DEFAULT_LANE, trial: int = 0) -> ReplayEngine:
        """The run recorded as an API cassette (``eval --record DIR``), replayed."""
        from runner._evaluate.replay import ReplayEngine
        from runner._model.cassette import cassette_path

        path = cassette_path(self.cassettes, scenario, lane, trial)
        if not path.is_file():
            command = self._command(scenario, lane, trial, record=True)
            pytest.fail(
                f"runner: no cassette for {scenario}/{lane}#{trial}: {_shown(path)} is missing; "
                f"record it with `{command}`",
                pytrace=False,
            )
        return ReplayEngine.from_cassette(path)

    def _unit(self, scenario: str, lane: str, trial: int) -> Unit:
        from runner._agent.lanes import UnknownLaneError, get_lane
        from runner._evaluate.planning import PlanError, plan
        from runner._evaluate.scenarios import ScenarioError, load_suite

        if trial < 0:
            pytest.fail(f"runner: trial {trial}: give 0 or more", pytrace=False)
        try:
            scenarios = load_suite(self.suite, [scenario])
            units = plan(scenarios, [get_lane(lane)], trial + 1, self.settings())
        except (ScenarioError, UnknownLaneError, PlanError) as exc:
            pytest.fail(f"runner: {exc}", pytrace=False)
        return units[trial]

    def _missing(self, unit: Unit) -> str:
        mode = "scripted" if self.settings().scripted else "live"
        command = self._command(unit.scenario.id, unit.lane.name, unit.trial)
        return (
            f"runner: no cached run for {unit.run_id} ({mode}, key {unit.key.digest[:12]}) in "
            f"{_shown(self.cache_root)}; make it with `{command}`, or run pytest with "
            "--runner-run-missing to run it now (starts the CLI)"
        )

    def _command(self, scenario: str, lane: str, trial: int, *, record: bool = False) -> str:
        """The eval that makes this run (into the cache, or ``record``: as a cassette)."""
        words = ["--record", _shown(self.cassettes)] if record else []
        words += ["--suite", _shown(self.suite), "--scenarios", scenario, "--lanes", lane]
        words += ["--trials", str(trial + 1)]
        if not record:
            words += ["--cache-dir", _shown(self.cache_root)]
        if self.offline:
            words.append("--offline")
        return f"python -m runner eval {shlex.join(words)}"

    def _run(self, unit: Unit, cache: RunCache) -> ReplayEngine:
        import anyio

        from runner._evaluate.replay import ReplayEngine
        from runner._evaluate.suite import SuiteRunner

        result = anyio.run(SuiteRunner(self.settings(), cache).run_unit, unit)
        if result.run_dir is None:  # only with a cache that does not write, not this one
            pytest.fail(f"runner: {unit.run_id} ran but was not kept", pytrace=False)
        return ReplayEngine.from_run_dir(Path(result.run_dir))


@pytest.fixture(scope="session")
def runner_runs(request: pytest.FixtureRequest) -> RunnerRuns:
    """Cached runs (``.cached(scenario, lane, trial)``) and cassettes (``.cassette(...)``)."""
    return RunnerRuns.from_config(request.config)


@pytest.fixture
def runner_run(request: pytest.FixtureRequest, runner_runs: RunnerRuns) -> ReplayEngine:
    """The run the test's ``@pytest.mark.runner_run(...)`` names, as a ReplayEngine."""
    marker = request.node.get_closest_marker("runner_run")
    if marker is None:
        pytest.fail(
            "runner: the runner_run fixture needs @pytest.mark.runner_run(scenario, "
            "lane='agent-skill', trial=0, source='cached')",
            pytrace=False,
        )
    try:
        given = inspect.signature(_marked).bind(runner_runs, *marker.args, **marker.kwargs)
    except TypeError as exc:
        pytest.fail(f"runner: @pytest.mark.runner_run: {exc}", pytrace=False)
    return _marked(*given.args, **given.kwargs)


def _marked(
    runs: RunnerRuns,
    scenario: str,
    lane: str = DEFAULT_LANE,
    trial: int = 0,
    source: str = "cached",
) -> ReplayEngine:
    if source == "cached":
        return runs.cached(scenario, lane, trial)
    if source == "cassette":
        return runs.cassette(scenario, lane, trial)
    pytest.fail(f"runner: runner_run source {source!r}: use 'cached' or 'cassette'", pytrace=False)
