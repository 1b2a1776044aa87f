"""Input bounds, through the commands: a FIFO, folder or device where a file is expected, a
file too large to read whole, and counts or durations no eval could mean are each one line
and exit 2 before any run. Each command runs in a child process, so a regression that blocks
on a FIFO fails on the child's timeout instead of hanging the suite."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from runner._util.inputs import MAX_RUNS, MAX_TRIALS, SCRIPT_FILE_BYTES
from tests.command_support import runner, say
from tests.suite_commands import Workbench, workbench

MINIMAL = 'instruction = "Do the task."\n'


def refused(proc: subprocess.CompletedProcess[str], *needles: str) -> str:
    """The one line a refused command printed, checked for exit 2 and ``needles``."""
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    (line,) = proc.stderr.strip().splitlines()
    for needle in needles:
        assert needle in line
    return line


def fifo(path: Path) -> Path:
    """A FIFO nobody writes to: opening it to read would wait for ever."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.mkfifo(path)
    return path


NOT_A_FILE = "a FIFO (named pipe), not a regular file; give a file"


# ---- files --------------------------------------------------------------------------------------


def test_a_fifo_scenario_file_is_refused(tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    toml = fifo(suite / "s" / "scenario.toml")
    proc = runner("eval", "--suite", str(suite), "--sandbox", "none", cwd=tmp_path)
    refused(proc, str(toml), NOT_A_FILE)
    assert not (tmp_path / ".runner" / "runs").exists()


def test_a_fifo_as_the_suite_is_refused(tmp_path: Path) -> None:
    suite = fifo(tmp_path / "suite")
    proc = runner("eval", "--suite", str(suite), "--sandbox", "none", cwd=tmp_path)
    refused(proc, f"{suite}: not a folder; give the suite's folder")


def test_a_fifo_script_is_refused_by_mock_model_and_run(tmp_path: Path) -> None:
    script = fifo(tmp_path / "script.json")
    refused(runner("mock-model", "--script", str(script)), str(script), NOT_A_FILE)
    proc = runner("run", "Hi.", "--mock-script", str(script), "--sandbox", "none", cwd=tmp_path)
    refused(proc, str(script), NOT_A_FILE)


def test_a_script_over_the_cap_is_refused_unread(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"turns": [say("hi")]}))
    os.truncate(script, SCRIPT_FILE_BYTES + 1)  # sparse: no disk used
    refused(runner("mock-model", "--script", str(script)), str(script), "over the 64.0 MiB")


def test_a_script_that_repeats_a_turn_without_end_is_refused(tmp_path: Path) -> None:
    script = tmp_path / "script.json"
    script.write_text(json.dumps({"turns": [{**say("again"), "repeat": 10**12}]}))
    refused(runner("mock-model", "--script", str(script)), "turns.0.repeat", "10000")


def test_a_fifo_result_is_refused_and_a_fifo_in_the_store_is_skipped(tmp_path: Path) -> None:
    result = fifo(tmp_path / "result.json")
    for command in ("compare", "report"):
        proc = runner(command, str(result), str(result), cwd=tmp_path)
        refused(proc, str(result), NOT_A_FILE)
    store = tmp_path / ".runner" / "runs"
    fifo(store / "0.1.0-main-abc-20260101T000000Z.json")
    proc = runner("compare", cwd=tmp_path)  # the history skips it: no runs to compare
    refused(proc, "holds 0 complete results")


def test_a_folder_as_a_result_says_so(tmp_path: Path) -> None:
    (tmp_path / "results").mkdir()
    proc = runner("report", "results", cwd=tmp_path)
    refused(proc, "results: a folder, not a result file")


def test_transcript_refuses_a_folder_or_device_and_streams_a_pipe(tmp_path: Path) -> None:
    refused(runner("transcript", str(tmp_path)), "a folder, not a regular file")
    refused(runner("transcript", "/dev/zero"), "a character device, not a regular file")
    # A pipe is a stream, as stdin is: `transcript <(claude ...)` reads it as it comes.
    pipe = fifo(tmp_path / "stream")
    reader = subprocess.Popen(
        [sys.executable, "-m", "runner", "transcript", str(pipe), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    with pipe.open("w") as writer:  # opens once the reader has
        writer.write('{"type":"system","subtype":"init","session_id":"s"}\n')
    out, err = reader.communicate(timeout=120)
    assert reader.returncode == 0, err
    assert json.loads(out)["session_id"] == "s"


def test_replaying_a_fifo_in_python_is_refused(tmp_path: Path) -> None:
    pipe = fifo(tmp_path / "run.ndjson")
    code = (
        "import sys; from pathlib import Path; from runner._evaluate.replay import ReplayEngine\n"
    )
    code += "ReplayEngine.load(Path(sys.argv[1]))"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(pipe)], capture_output=True, text=True, timeout=120
    )
    assert f"ReplayError: {pipe}: cannot read ({NOT_A_FILE})" in proc.stderr
    run_dir = tmp_path / "run"
    fifo(run_dir / "record.json")
    proc = subprocess.run(
        [sys.executable, "-c", code, str(run_dir)], capture_output=True, text=True, timeout=120
    )
    assert f"ReplayError: {run_dir}: not a run folder (record.json: " in proc.stderr
    assert NOT_A_FILE in proc.stderr


def test_a_fifo_cassette_is_refused_before_any_run(tmp_path: Path) -> None:
    bench = workbench(tmp_path)
    tapes = tmp_path / "tapes"
    cassette = fifo(tapes / "fix-entry" / "agent-skill-0.ndjson")
    proc = bench.eval("--scenarios", "fix-entry", "--replay", str(tapes))
    refused(proc, str(cassette), NOT_A_FILE)
    assert bench.cli_runs() == 0


# ---- counts and durations -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["eval", "--trials", "99999999999999999999"], "is more than 1,000, the most trials"),
        (["ab", "--trials", "1001"], "is more than 1,000, the most trials"),
        (["eval", "--concurrency", "100000"], "is more than 64, the most CLIs at once"),
        (["eval", "--concurrency", "inf"], "is not a positive whole number"),
        (["run", "Hi.", "--timeout", "1e12"], "is more than 86,400, the most seconds"),
        (["run", "Hi.", "--idle-timeout", "inf"], "is not a positive number"),
        (["run", "Hi.", "--max-turns", "99999999999"], "is more than 10,000, the most turns"),
        (["run", "Hi.", "--max-budget-usd", "nan"], "is not a positive number"),
    ],
)
def test_absurd_counts_and_durations_are_refused_at_once(
    tmp_path: Path, args: list[str], needle: str
) -> None:
    proc = runner(*args, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert needle in proc.stderr
    assert "Traceback" not in proc.stderr


def test_an_eval_that_would_plan_too_many_runs_is_refused_before_planning(tmp_path: Path) -> None:
    # Scenarios x trials past the bound: refused from the counts, no run is planned.
    suite = tmp_path / "suite"
    scenarios = MAX_RUNS // MAX_TRIALS + 1
    for n in range(scenarios):
        (suite / f"s{n:03}").mkdir(parents=True)
        (suite / f"s{n:03}" / "scenario.toml").write_text(MINIMAL)
    proc = runner(
        "eval",
        "--suite",
        str(suite),
        "--trials",
        str(MAX_TRIALS),
        "--sandbox",
        "none",
        cwd=tmp_path,
    )
    planned = scenarios * MAX_TRIALS
    refused(proc, f"{scenarios} scenarios x 1 lane x 1000 trials is {planned:,} runs", "fewer")
    assert not (tmp_path / ".runner" / "runs").exists()


# ---- the fixture, at plan time ------------------------------------------------------------------


def test_run_refuses_a_workspace_with_a_symlink_out_before_starting(tmp_path: Path) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    (workspace / "hosts").symlink_to("/etc/hosts")
    proc = runner(
        "run", "Hi.", "--lane", "agent-baseline", "--workspace", str(workspace),
        "--sandbox", "none", cwd=tmp_path,
    )  # fmt: skip
    refused(proc, f"--workspace: {workspace / 'hosts'} -> /etc/hosts: a symlink out of")
    assert not (tmp_path / ".runner").exists()


@pytest.mark.cli
def test_a_fixture_symlink_to_a_host_file_is_refused_before_any_run(tmp_path: Path) -> None:
    bench: Workbench = workbench(tmp_path)
    fixture = bench.suite / "fix-entry" / "workspace"
    (fixture / "passwd").symlink_to("/etc/passwd")
    toml = bench.scenario_file("fix-entry")
    # A check that, following the link, would pass by reading the host's file.
    toml.write_text(
        toml.read_text() + '\n[[check]]\ntype = "file_matches"\npath = "passwd"\n'
        "pattern = 'root:'\n"
    )
    proc = bench.eval("--variant", "agent-baseline")
    line = refused(proc, str(toml), f"workspace: {fixture / 'passwd'} -> /etc/passwd")
    assert f"a symlink out of {fixture}" in line
    assert bench.cli_runs() == 0
    assert bench.stored() == []
