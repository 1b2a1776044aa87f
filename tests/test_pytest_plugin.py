"""The pytest plugin as a user meets it: their own test file, run by pytest in a subprocess
(the plugin loads from its entry point), against the cache the session's eval filled."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from runner._evaluate.cache import DEFAULT_ROOT as CACHE_ROOT
from runner._util.defaults import DEFAULT_SUITE
from tests.replay_support import Evaluated
from tests.suite_commands import REPO

pytest_plugins = ["pytester"]
pytestmark = pytest.mark.cli

USER_TESTS = """
import pytest
from runner._evaluate.asserts import assert_cost_under, assert_skill_invoked, assert_tool_sequence

@pytest.mark.runner_run("fix-entry")
def test_the_skill_lane(runner_run):
    assert_skill_invoked(runner_run, "changelog")
    assert_tool_sequence(runner_run, ["Skill", "Edit"], mode="subset")
    assert_cost_under(runner_run, 0.10)

@pytest.mark.runner_run("fix-entry", lane="agent-baseline", trial=1)
def test_the_baseline_uses_the_skill(runner_run):
    assert_skill_invoked(runner_run, "changelog")

def test_two_trials_did_the_same(runner_runs):
    first = runner_runs.cached("fix-entry", trial=0)
    assert first.record.exit_reason == "success"
    assert first.fingerprint() == runner_runs.cached("fix-entry", trial=1).fingerprint()

@pytest.mark.runner_run("fix-entry", trial=5)
def test_a_run_never_made(runner_run):
    pass

def test_without_the_marker(runner_run):
    pass
"""


@pytest.fixture
def user(
    pytester: pytest.Pytester, evaluated: Evaluated, monkeypatch: pytest.MonkeyPatch
) -> pytest.Pytester:
    """A user's project: the suite and the cache beside its pytest.ini, the CLI eval used and
    the bwrap that counts its starts, no API key (runs are the scripted ones eval made)."""
    (pytester.path / "suite").symlink_to(evaluated.bench.suite)
    monkeypatch.setenv("RUNNER_CLAUDE_BIN", str(evaluated.bench.claude))
    monkeypatch.setenv("PATH", evaluated.bench.path())
    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    return pytester


def test_a_users_tests_assert_on_cached_runs_with_no_cli(
    user: pytest.Pytester, evaluated: Evaluated
) -> None:
    (user.path / "cache").symlink_to(evaluated.cache)
    user.makeini("[pytest]\nrunner_suite = suite\nrunner_cache = cache\n")
    user.makepyfile(test_user=USER_TESTS)
    starts = evaluated.bench.cli_runs()
    result = user.runpytest_subprocess("--strict-markers", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1, errors=2)
    out = result.stdout.str()
    assert (
        "AssertionError: run fix-entry/agent-baseline#1: expected the skill 'changelog' to be "
        "invoked; skills invoked: none." in out
    )
    assert (
        "runner: no cached run for fix-entry/agent-skill#5 (scripted, key "
        in out  # then the key's start, where it looked, and the command that makes it
    )
    assert (
        "in cache; make it with `python -m runner eval --suite suite --scenarios fix-entry "
        "--lanes agent-skill --trials 6 --cache-dir cache`, or run pytest with "
        "--runner-run-missing to run it now (starts the CLI)" in out
    )
    assert "the runner_run fixture needs @pytest.mark.runner_run(scenario" in out
    assert evaluated.bench.cli_runs() == starts  # no CLI started, not even for the missing run


def test_run_missing_runs_it_once_then_it_is_cached(
    user: pytest.Pytester, evaluated: Evaluated
) -> None:
    shutil.copytree(evaluated.cache, user.path / "own-cache")  # this test adds to its cache
    user.makepyfile(
        test_third="""
import pytest
from runner._evaluate.asserts import assert_tool_sequence

@pytest.mark.runner_run("fix-entry", trial=2)
def test_third_trial(runner_run):
    assert_tool_sequence(runner_run, ["Skill", "Read", "Edit"])
    assert runner_run.record.trial == 2
"""
    )
    where = ("--runner-suite", "suite", "--runner-cache", "own-cache", "-p", "no:cacheprovider")
    starts = evaluated.bench.cli_runs()
    user.runpytest_subprocess(*where, "--runner-run-missing").assert_outcomes(passed=1)
    assert evaluated.bench.cli_runs() == starts + 1
    user.runpytest_subprocess(*where).assert_outcomes(passed=1)  # now from the cache
    assert evaluated.bench.cli_runs() == starts + 1


def test_cassettes_by_marker_and_a_missing_one(user: pytest.Pytester) -> None:
    recorded = REPO / "fixtures" / "cassettes" / "fix-entry" / "agent-skill-0.ndjson"
    target = user.path / "fixtures" / "cassettes" / "fix-entry" / recorded.name
    target.parent.mkdir(parents=True)
    shutil.copy(recorded, target)  # where the plugin looks by default
    user.makepyfile(
        test_cassette="""
import pytest
from runner._evaluate.asserts import assert_max_turns, assert_tool_sequence

@pytest.mark.runner_run("fix-entry", source="cassette")
def test_recorded(runner_run):
    assert_tool_sequence(runner_run, ["Skill", "Read", "Edit"])
    assert_max_turns(runner_run, 5)

@pytest.mark.runner_run("fix-entry", trial=3, source="cassette")
def test_not_recorded(runner_run):
    pass

@pytest.mark.runner_run("fix-entry", source="tape")
def test_unknown_source(runner_run):
    pass
"""
    )
    result = user.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1, errors=2)
    out = result.stdout.str()
    assert (
        "runner: no cassette for fix-entry/agent-skill#3: "
        "fixtures/cassettes/fix-entry/agent-skill-3.ndjson is missing; record it with "
        "`python -m runner eval --record fixtures/cassettes --suite fixtures/scenarios "
        "--scenarios fix-entry --lanes agent-skill --trials 4" in out
    )
    assert "runner: runner_run source 'tape': use 'cached' or 'cassette'" in out


def test_a_bad_marker_or_an_unknown_scenario_is_one_clear_line(user: pytest.Pytester) -> None:
    user.makepyfile(
        test_bad="""
import pytest

@pytest.mark.runner_run("fix-entry", lanes="agent-skill")
def test_misspelt(runner_run):
    pass

def test_no_such_scenario(runner_runs):
    runner_runs.cached("no-such-scenario")
"""
    )
    result = user.runpytest_subprocess("--runner-suite", "suite", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, errors=1)
    out = result.stdout.str()
    assert "runner: @pytest.mark.runner_run: got an unexpected keyword argument 'lanes'" in out
    assert "runner: --scenarios: no scenario no-such-scenario in " in out
    assert "(there: feature-entry, fix-entry, new-changelog)" in out


def test_the_defaults_are_evals_and_loading_the_plugin_loads_nothing_heavy() -> None:
    code = (
        "import sys, runner.pytest_plugin as p; "
        "print(sorted(m for m in sys.modules if m.startswith('runner'))); "
        "print({k: str(v[0]) for k, v in p._FOLDERS.items()})"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    loaded, defaults = out.stdout.splitlines()
    # pytest loads it in every session: nothing of runner's stages (runner's names load lazily).
    assert loaded == "['runner', 'runner.pytest_plugin']"
    assert defaults == str(
        {"suite": str(DEFAULT_SUITE), "cache": str(CACHE_ROOT), "cassettes": "fixtures/cassettes"}
    )
