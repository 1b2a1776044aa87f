"""``python -m runner init``: the scaffold a new user starts from, run as they run it."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from runner._agent.claude_bin import find_claude
from runner._evaluate.scenarios import load_suite
from tests.suite_commands import report, run_runner

SKILL = "status-notes"
SCENARIO = f"{SKILL}-example"


def init(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return run_runner("init", *args, cwd=tmp)


def suite_command(tmp: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``eval`` or ``ab`` on the scaffold's suite, offline, with the cache and store in tmp."""
    return run_runner(
        *args,
        "--suite",
        str(tmp / "project" / "fixtures" / "scenarios"),
        "--cache-dir",
        str(tmp / "cache"),
        "--runs-dir",
        str(tmp / "runs"),
        "--claude-bin",
        str(find_claude().path),
        "--json",
        cwd=tmp,
    )


@pytest.mark.cli
def test_init_then_eval_passes_offline_and_ab_runs_both_lanes(tmp_path: Path) -> None:
    made = init(tmp_path, SKILL, "--dir", "project")
    assert made.returncode == 0, made.stderr
    assert "--suite project/fixtures/scenarios" in made.stdout  # the next command, as printed

    first = suite_command(tmp_path, "eval", "--variant", "agent-skill")
    assert first.returncode == 0, first.stderr
    (run,) = report(first)["runs"]
    assert (run["scenario"], run["lane"], run["passed"]) == (SCENARIO, "agent-skill", True)
    assert run["skills_invoked"] == [SKILL]
    assert not run["live"]

    ab = suite_command(tmp_path, "ab", "--lanes", "agent-baseline,agent-skill", "--trials", "1")
    assert ab.returncode == 0, ab.stderr
    runs = {r["lane"]: r for r in report(ab)["runs"]}
    assert runs["agent-skill"]["cache_hit"]  # the eval's run, not run again
    baseline = runs["agent-baseline"]
    assert not baseline["passed"]  # the scripted baseline misses what the skill is for ...
    failed = {c["name"] for c in baseline["checks"] if not c["passed"]}
    assert "starts with a Status heading" in failed
    assert "every item of TODO.txt is listed" not in failed  # ... but does the task


def test_the_scaffold_is_a_valid_skill_and_scenario(tmp_path: Path) -> None:
    assert init(tmp_path, SKILL, "--scenario", "first").returncode == 0
    skill_md = (tmp_path / "skills" / SKILL / "SKILL.md").read_text()
    front = skill_md.split("---\n")[1]
    assert f"name: {SKILL}\n" in front
    assert "description: " in front
    (scenario,) = load_suite(tmp_path / "fixtures" / "scenarios")
    assert scenario.id == "first"
    assert scenario.skill == tmp_path / "skills" / SKILL
    agents = ("agent-baseline", "agent-skill", "agent-skill-nonudge")
    assert all(scenario.mock_script(lane) for lane in agents)  # every agent lane runs offline
    assert not list(tmp_path.rglob(".*"))  # no build folder left beside the new ones


@pytest.mark.parametrize("existing", ["skill", "scenario"])
def test_an_existing_folder_is_never_overwritten(tmp_path: Path, existing: str) -> None:
    taken = (
        tmp_path / "skills" / SKILL
        if existing == "skill"
        else tmp_path / "fixtures" / "scenarios" / SCENARIO
    )
    taken.mkdir(parents=True)
    (taken / "mine.txt").write_text("keep me")
    proc = init(tmp_path, SKILL)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert str(taken) in line
    assert "already exists" in line
    assert "never overwrites" in line
    assert [p.name for p in taken.iterdir()] == ["mine.txt"]
    assert not (tmp_path / "skills" / SKILL / "SKILL.md").exists()  # nothing written at all
    assert not (tmp_path / "fixtures" / "scenarios" / SCENARIO / "scenario.toml").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["Status"], "'Status' is not a skill name"),
        (["status_notes"], "lowercase letters, digits and single hyphens"),
        (["--", "-status"], "is not a skill name"),
        (["status--notes"], "is not a skill name"),
        (["s" * 65], "at most 64 characters"),
        ([SKILL, "--scenario", "../out"], "'../out' is not a scenario id"),
    ],
)
def test_a_bad_name_is_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    proc = init(tmp_path, *args)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert message in line
    assert not list(tmp_path.iterdir())


def test_help_teaches_with_an_example(tmp_path: Path) -> None:
    proc = init(tmp_path, "--help")
    assert proc.returncode == 0
    assert "python -m runner init release-notes" in proc.stdout
    assert "refuses" in proc.stdout


@pytest.mark.parametrize("blocked", ["project", "project/fixtures"])
def test_a_folder_that_cannot_be_made_is_one_line_and_exit_3_and_leaves_nothing(
    tmp_path: Path, blocked: str
) -> None:
    (tmp_path / blocked).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / blocked).write_text("a file, not a folder")
    proc = init(tmp_path, SKILL, "--dir", "project")
    assert proc.returncode == 3
    (line,) = proc.stderr.splitlines()
    assert str(tmp_path / blocked) in line
    # The skill's folder is made first: when the scenario's fails, it goes too.
    assert not (tmp_path / "project" / "skills" / SKILL).exists()
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.name != Path(blocked).name]
    assert not list(tmp_path.rglob(".*"))  # no half-built folder either
