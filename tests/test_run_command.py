"""`python -m runner run`: one run of the real CLI from the command line."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from runner._agent.claude_bin import find_claude
from runner._agent.engine import RunRecord
from runner._model.script import text, tool
from tests.clirun import GREETER
from tests.command_support import runner, say, write_script
from tests.engine_support import background_command, marker, processes_with
from tests.waiting import wait_for


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
    # The CLI prices a scripted model's tokens; the figure says no one paid them.
    assert re.search(r"^cost        \$\d+\.\d{4} \(scripted: nothing billed\)$", proc.stdout, re.M)
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
            "runner: adhoc: the workspace {tmp}/nowhere is not a folder",
        ),
        (
            ["--lane", "baseline", "--mock-script", "no.json"],
            "runner: {tmp}/no.json: cannot read script",
        ),
        (["--timeout", "-1"], "argument --timeout: '-1' is not a positive number"),
    ],
)
def test_user_mistakes_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    proc = runner("run", "Hi.", *args, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stderr.splitlines()
    assert message.format(tmp=tmp_path) in lines[-1]  # a relative path, made absolute
    if not message.startswith("argument"):  # argparse's own errors come after its usage
        assert len(lines) == 1
    assert not (tmp_path / ".runner").exists()


def test_a_skill_without_front_matter_is_refused_before_the_run(tmp_path: Path) -> None:
    # The CLI would not list it, so the run could never use it.
    skill = tmp_path / "greeter"
    skill.mkdir()
    (skill / "SKILL.md").write_text("Write a greeting.\n")
    proc = runner("run", "Hi.", "--skill", "greeter", cwd=tmp_path)
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        f"runner: --skill: {skill}/SKILL.md: no front matter; begin the file with lines '---', "
        "'name: greeter', 'description: what it does and when to use it', '---'"
    ]
    assert not (tmp_path / ".runner").exists()


@pytest.mark.cli
def test_relative_paths_and_the_default_run_folder(tmp_path: Path) -> None:
    """Every path as the user typed it, relative to where they are; unconfined, the CLI starts
    in the workspace, where a relative --claude-bin named nothing (spawn_error)."""
    (tmp_path / "cli").mkdir()
    (tmp_path / "cli" / "claude").symlink_to(find_claude().path)
    shutil.copytree(GREETER, tmp_path / "skills" / "greeter")
    (tmp_path / "fixture").mkdir()
    (tmp_path / "fixture" / "notes.txt").write_text("hello\n")
    write_script(tmp_path, {"turns": [{"content": [tool("Skill", skill="greeter")]}, say("Done.")]})
    proc = runner(
        "run", "Greet.", "--claude-bin", "cli/claude", "--skill", "skills/greeter",
        "--workspace", "fixture", "--mock-script", "script.json", "--sandbox", "none",
        cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    (run_dir,) = (tmp_path / ".runner" / "single").glob("*-adhoc-agent-skill")
    record = RunRecord.model_validate_json((run_dir / "record.json").read_bytes())
    assert record.exit_reason == "success"
    assert record.transcript.skills_invoked == ["greeter"]
    assert (run_dir / "process.json").is_file()  # the reaper's report, written from elsewhere
    assert str(run_dir / "stream.ndjson") in proc.stderr  # said as the absolute path it is


@pytest.mark.cli
@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_a_signal_ends_the_run_with_its_record(tmp_path: Path, signum: int, code: int) -> None:
    word = marker()
    script = write_script(
        tmp_path, {"turns": [{"content": [tool("Bash", command=background_command(word))]},
                             {"hang": True}]}
    )  # fmt: skip
    (tmp_path / "tmp").mkdir()
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "run", "Start.", "--lane", "agent-baseline",
         "--mock-script", str(script), "--run-dir", "out"],
        cwd=tmp_path, env={**os.environ, "TMPDIR": str(tmp_path / "tmp")},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    # The agent's processes are up: the run is in flight.
    wait_for(lambda: processes_with(word) != [], "the agent started its processes", proc=proc)
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    assert processes_with(word) == []
    assert not list((tmp_path / "tmp").iterdir())  # the workspace is gone
    record = RunRecord.model_validate_json((tmp_path / "out" / "record.json").read_bytes())
    assert record.exit_reason == "cancelled"
    assert record.transcript.tool_sequence == ["Bash"]
