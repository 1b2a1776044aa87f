"""`python -m runner run`: one run of the real CLI from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.engine import RunRecord
from runner.replay.script import text, tool
from tests.clirun import GREETER
from tests.command_support import runner, write_script


@pytest.mark.cli
def test_a_scripted_run_end_to_end(tmp_path: Path) -> None:
    skill = GREETER
    script = write_script(
        tmp_path,
        {
            "turns": [
                {"content": [tool("Skill", skill="greeter")]},
                {"content": [tool("Write", file_path="greeting.txt", content="Hello!\n")]},
                {"content": [text("Greeted.")]},
            ]
        },
    )
    args = ["Greet.", "--skill", str(skill), "--mock-script", str(script)]
    proc = runner("run", *args, "--run-dir", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert "ended       success" in proc.stdout
    assert "file        + greeting.txt" in proc.stdout
    assert "skills      greeter" in proc.stdout
    assert "against the scripted model" in proc.stderr
    record = RunRecord.model_validate_json((tmp_path / "out" / "record.json").read_bytes())
    assert record.lane == "agent-skill"
    as_json = runner("run", *args, "--json", "--run-dir", "out2", cwd=tmp_path)
    assert RunRecord.model_validate_json(as_json.stdout).transcript.skills_invoked == ["greeter"]


@pytest.mark.cli
def test_a_failed_run_exits_1_and_says_why(tmp_path: Path) -> None:
    script = write_script(
        tmp_path, {"turns": [{"error": {"status": 400, "type": "invalid_request_error"}}]}
    )
    proc = runner(
        "run", "Hi.", "--lane", "agent-baseline", "--mock-script", str(script), cwd=tmp_path
    )
    assert proc.returncode == 1
    assert "ended       api_error (API error 400)" in proc.stdout
    assert list((tmp_path / ".runner" / "single").glob("*-adhoc-agent-baseline/record.json"))


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--claude-bin", "/no/claude"],
            "runner: --claude-bin: /no/claude is not an executable file",
        ),
        (["--lane", "agent"], "runner: unknown lane 'agent'; the lanes are: baseline, skill, "),
        (["--lane", "skill"], "runner: adhoc: lane skill needs a skill (a folder with SKILL.md)"),
        (
            ["--lane", "baseline", "--workspace", "nowhere"],
            "runner: adhoc: the workspace nowhere is not a folder",
        ),
        (["--lane", "baseline", "--mock-script", "no.json"], "runner: no.json: cannot read script"),
        (["--timeout", "-1"], "argument --timeout: '-1' is not a positive number"),
    ],
)
def test_user_mistakes_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    proc = runner("run", "Hi.", *args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert message in lines[-1]
    if not message.startswith("argument"):  # argparse's own errors come after its usage
        assert len(lines) == 1
    assert not (tmp_path / ".runner").exists()
