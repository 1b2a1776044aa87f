"""A failure inside one run stays in that run: a hostile agent (a truncated request to the
model's endpoint, its workspace deleted, a file name that is not UTF-8, a path over 4 KiB),
runner failing inside a run, a check that raises. Each run's record says what happened, and a
whole eval goes on and keeps every other run. The real CLI against a scripted model, in the
sandbox and unconfined (where the issue's reproductions were made), on asyncio and trio."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from runner._agent.engine import RunRecord
from runner._agent.lanes import get_lane
from runner._evaluate.cache import RunCache
from runner._evaluate.checks import FileMatches
from runner._evaluate.judge import Judge, JudgeVerdict
from runner._evaluate.planning import plan
from runner._evaluate.run_view import RunView
from runner._evaluate.scenarios import load_suite
from runner._evaluate.scoring import Check, score
from runner._evaluate.suite import SuiteRunner
from runner._model.script import text, tool
from tests.engine_support import EngineRun, scripted_run
from tests.test_checks import record as empty_record

pytestmark = pytest.mark.anyio

SANDBOXES = ["bwrap", "none"]

# Sends the request (no Host header, a body cut short) and a well-formed one cut short,
# each on its own connection; prints the status line of each reply.
TRUNCATED = r"""
import os, socket, urllib.parse
url = urllib.parse.urlsplit(os.environ["ANTHROPIC_BASE_URL"])
for request in (
    b"POST /v1/messages HTTP/1.1\r\nContent-Length: 100\r\n\r\nabc",
    b"POST /v1/messages HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nabc",
):
    with socket.create_connection((url.hostname, url.port)) as s:
        s.sendall(request)
        s.shutdown(socket.SHUT_WR)
        print("reply:", s.recv(100).split(b"\r\n")[0].decode())
"""

# A file whose name is not UTF-8, one path over 4 KiB (25 folders of 200 characters), and an
# ordinary file beside them.
ODD_FILES = r"""
import os
open("ok.txt", "w").write("fine\n")
open(b"caf\xe9", "w").write("x")
for _ in range(25):
    os.mkdir("d" * 200)
    os.chdir("d" * 200)
open("deep.txt", "w").write("deep\n")
print("made", len(os.getcwd()))
"""


def bash(command: str) -> dict[str, Any]:
    """A script: one Bash call, then a last word."""
    call = {"content": [tool("Bash", command=command, description="probe")]}
    return {"turns": [call, {"content": [text("Done.")]}]}


def fixture(tmp: Path, **files: str) -> Path:
    root = tmp / "fixture"
    root.mkdir()
    for name, body in files.items():
        (root / name).write_text(body)
    return root


def record_in(run_dir: Path) -> RunRecord:
    """The record as written to disk: it must read back whatever the agent did."""
    return RunRecord.model_validate_json((run_dir / "record.json").read_bytes())


def stored(run: EngineRun) -> RunRecord:
    return record_in(run.run_dir)


async def hostile_run(
    tmp: Path, sandbox: str, command: str, files: dict[str, str]
) -> tuple[EngineRun, RunRecord]:
    """``command`` in one Bash call over a fixture of ``files``; the run ends as any run."""
    work = fixture(tmp, **files)
    run = await scripted_run(bash(command), tmp, fixture=work, sandbox=sandbox)
    record = stored(run)
    assert record.exit_reason == "success", record.diagnostics.agent_log
    return run, record


def tool_output(run: EngineRun) -> str:
    lines = (run.run_dir / "stream.ndjson").read_text().splitlines()
    return "\n".join(line for line in lines if '"tool_result"' in line)


@pytest.mark.cli
@pytest.mark.parametrize("sandbox", SANDBOXES)
class TestAHostileAgent:
    """Each attack ends as an ordinary run whose record says what the agent did."""

    async def test_a_truncated_request_is_refused(self, tmp_path: Path, sandbox: str) -> None:
        work = {"send.py": TRUNCATED}
        run, record = await hostile_run(tmp_path, sandbox, "python3 send.py", work)
        assert record.transcript.final_text == "Done."  # the model served the turn after it
        assert tool_output(run).count("reply: HTTP/1.1 400 ") == 2

    async def test_its_workspace_deleted(self, tmp_path: Path, sandbox: str) -> None:
        work = {"a.txt": "a\n", "b.txt": "b\n"}
        _, record = await hostile_run(tmp_path, sandbox, 'rm -rf "$PWD"; echo gone', work)
        assert [(f.path, f.change) for f in record.files] == [
            ("a.txt", "deleted"),
            ("b.txt", "deleted"),
        ]

    async def test_odd_names_and_long_paths(self, tmp_path: Path, sandbox: str) -> None:
        work = {"odd.py": ODD_FILES}
        run, record = await hostile_run(tmp_path, sandbox, "python3 odd.py", work)
        files = {f.path: f for f in record.files}
        assert files["ok.txt"].captured
        assert (run.run_dir / "files" / "ok.txt").read_text() == "fine\n"
        odd = files["caf\\xe9"]  # the byte written as an escape: any JSON reader can hold it
        assert (odd.change, odd.captured) == ("added", False)
        assert odd.error is not None
        assert "not UTF-8" in odd.error
        named = FileMatches(type="file_matches", path="caf\\xe9", pattern="x")
        (result,) = await score([named], RunView(record, run.run_dir, tmp_path / "fixture"))
        assert result.detail == f"caf\\xe9: {odd.error}"
        # Listed where reading stopped: the first folder whose path on the host is too long.
        (deep,) = [f for f in record.files if f.path.startswith("d" * 200)]
        assert "/".join(["d" * 200] * 25).startswith(deep.path)
        assert (deep.captured, deep.error) == (False, "not read: File name too long")
        assert json.loads((run.run_dir / "record.json").read_text())["files"]


@pytest.mark.cli
async def test_runner_failing_inside_a_run_ends_that_run_with_a_record(tmp_path: Path) -> None:
    def broken(paths: object) -> None:
        raise RuntimeError("a bug in a proxy, reading " + os.fsdecode(b"caf\xe9"))

    run = await scripted_run(bash("echo hi"), tmp_path, options={"on_paths": broken})
    record = stored(run)
    assert record.exit_reason == "runner_error"
    assert record.error == (
        "runner failed during the run: RuntimeError: a bug in a proxy, reading caf\\udce9"
    )
    assert run.record == record


async def test_a_check_that_raises_fails_alone_with_its_reason(tmp_path: Path) -> None:
    async def buggy(check: Judge, prompt: str) -> JudgeVerdict:
        raise KeyError("verdict")

    checks: list[Check] = [
        Judge(type="judge", rubric="r", name="judge"),
        Judge(type="judge", rubric="r", name="again"),
    ]
    results = await score(checks, RunView(empty_record(), tmp_path, None, judge=buggy))
    assert [(r.name, r.passed, r.detail) for r in results] == [
        ("judge", False, "error: KeyError: 'verdict'"),
        ("again", False, "error: KeyError: 'verdict'"),
    ]


@pytest.mark.cli
async def test_a_run_runner_fails_on_is_reported_and_the_others_are_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.suite_commands import EXAMPLE_SUITE, settings

    async def score_but_one(checks: list[Check], view: RunView) -> Any:
        if view.record.scenario == "fix-entry":
            raise RuntimeError("scoring blew up")  # a bug past the checks' own guard
        return await score(checks, view)

    monkeypatch.setattr("runner._evaluate.suite.score", score_but_one)
    scenarios = load_suite(EXAMPLE_SUITE, ["fix-entry", "feature-entry"])
    given = settings(workspace_parent=tmp_path / "ws")
    units = plan(scenarios, [get_lane("agent-skill")], 1, given)
    results = await SuiteRunner(given, RunCache(tmp_path / "c")).run_plan(units)
    outcome = {r.scenario: (r.passed, r.exit_reason, r.error) for r in results}
    assert outcome == {
        "fix-entry": (False, "runner_error", "runner failed: RuntimeError: scoring blew up"),
        "feature-entry": (True, "success", None),
    }


# ---- a whole eval ---------------------------------------------------------------------------


def hostile_suite(bench: Any) -> None:
    """Two hostile scenarios beside the example suite's three: one sends a truncated request
    and makes odd files (its check passes), one deletes its workspace (its check fails)."""
    for name, command, files, check in (
        ("zz-odd", "python3 send.py; python3 odd.py", {"send.py": TRUNCATED, "odd.py": ODD_FILES},
         "ok.txt"),
        ("zz-gone", 'rm -rf "$PWD"', {"a.txt": "a\n"}, "a.txt"),
    ):  # fmt: skip
        folder = bench.suite / name
        (folder / "workspace").mkdir(parents=True)
        for file, body in files.items():
            (folder / "workspace" / file).write_text(body)
        (folder / "attack.json").write_text(json.dumps(bash(command)))
        (folder / "scenario.toml").write_text(
            'instruction = "Do the task."\nworkspace = "workspace"\nskill = "changelog"\n'
            f'mock = "attack.json"\n[[check]]\ntype = "file_exists"\npath = "{check}"\n'
        )


@pytest.mark.cli
@pytest.mark.parametrize("sandbox", SANDBOXES)
def test_a_hostile_eval_keeps_every_run_and_says_what_happened(
    tmp_path: Path, sandbox: str
) -> None:
    from tests.suite_commands import report, workbench

    bench = workbench(tmp_path)
    hostile_suite(bench)
    proc = bench.eval("--sandbox", sandbox, "--json")
    assert proc.returncode == 1, proc.stderr[-3000:]  # one run failed: the one that deleted
    assert "Traceback" not in proc.stderr
    data = report(proc)
    outcome = {r["scenario"]: (r["passed"], r["exit_reason"]) for r in data["runs"]}
    assert outcome == {
        "feature-entry": (True, "success"),
        "fix-entry": (True, "success"),
        "new-changelog": (True, "success"),
        "zz-odd": (True, "success"),
        "zz-gone": (False, "success"),
    }
    assert not data["header"]["partial"]
    (saved,) = bench.stored()
    assert len(json.loads(saved.read_text())["runs"]) == 5
    records = {r["scenario"]: record_in(Path(r["run_dir"])) for r in data["runs"]}
    odd = {f.path: f.error for f in records["zz-odd"].files if f.error}
    assert "caf\\xe9" in odd
    assert "not read: File name too long" in odd.values()
    gone = records["zz-gone"].files  # the fixture's file and the skill installed beside it
    assert {(f.path, f.change) for f in gone} == {
        ("a.txt", "deleted"),
        (".claude/skills/changelog/SKILL.md", "deleted"),
    }
    # Again: every run from the cache, the same outcome.
    again = bench.eval("--sandbox", sandbox, "--json")
    rerun = report(again)
    assert all(r["cache_hit"] for r in rerun["runs"])
    assert {r["scenario"]: (r["passed"], r["exit_reason"]) for r in rerun["runs"]} == outcome
