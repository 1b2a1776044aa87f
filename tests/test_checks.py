"""Scoring: every check kind against a real CLI run (scripted model) that adds, edits and
deletes files; the rebuilt workspace; the judge's prompt and verdict; errors as failed results."""

from __future__ import annotations

import functools
import os
import shutil
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import pytest
from pydantic import TypeAdapter

from runner._agent.engine import RunRecord
from runner._agent.workspace import FileChange, Workspace, tree_state
from runner._evaluate.judge import Judge, JudgeVerdict, judge_prompt, parse_verdict
from runner._evaluate.results import CheckResult
from runner._evaluate.run_view import RunView
from runner._evaluate.scoring import Check, score
from runner._model.script import text, tool
from runner._transcript.summarize import SummaryBuilder
from tests.engine_support import marker, processes_with, scripted_run

pytestmark = pytest.mark.anyio

INSTRUCTION = "Finalise notes.md, add added.txt and remove the obsolete old.txt."
FINAL = "Done: wrote added.txt, finalised notes.md and removed old.txt."
SCRIPT = {
    "turns": [
        {"content": [tool("Read", file_path="keep.txt")]},
        {"content": [tool("Read", file_path="notes.md")]},
        {"content": [tool("Edit", file_path="notes.md", old_string="draft", new_string="final")]},
        {"content": [tool("Write", file_path="added.txt", content="brand new\n")]},
        {"content": [tool("Bash", command="rm old.txt", description="remove old.txt")]},
        {"content": [text(FINAL)]},
    ]
}
FIXTURE = {
    "notes.md": "# Notes\nstatus: draft\n",
    "old.txt": "stale lines\n",
    "keep.txt": "keep me\n",
    "docs/guide.md": "# Guide\n",
}

_CHECK: TypeAdapter[Check] = TypeAdapter(Check)


def check(**fields: Any) -> Check:
    """A check as a ``[[check]]`` table would give it."""
    return _CHECK.validate_python(fields)


async def one(c: Check, run: RunView) -> CheckResult:
    (result,) = await score([c], run)
    return result


def make_fixture(folder: Path, files: dict[str, str]) -> Path:
    for name, body in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_text(body)
    return folder


# ---- the one real run -----------------------------------------------------------------------


@dataclass(frozen=True)
class Finished:
    record: RunRecord
    run_dir: Path
    fixture: Path

    def view(self, **fields: Any) -> RunView:
        return RunView(self.record, self.run_dir, self.fixture, instruction=INSTRUCTION, **fields)


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Finished:
    """The real CLI, once for the module: reads two files, edits one, writes one, deletes one
    with Bash, and answers."""
    tmp = tmp_path_factory.mktemp("checks-run")
    fixture = make_fixture(tmp / "fixture", FIXTURE)
    run = anyio.run(
        functools.partial(
            scripted_run, SCRIPT, tmp, "agent-baseline", fixture=fixture, instruction=INSTRUCTION
        ),
        backend="trio",  # its own loop: the anyio plugin's asyncio runner is left alone
    )
    rec = run.record
    assert rec.exit_reason == "success", rec.diagnostics.agent_log
    assert rec.transcript.tool_sequence == ["Read", "Read", "Edit", "Write", "Bash"]
    assert [(f.path, f.change) for f in rec.files] == [
        ("added.txt", "added"),
        ("notes.md", "changed"),
        ("old.txt", "deleted"),
    ]
    return Finished(rec, run.run_dir, fixture)


@pytest.fixture
def empty_run(tmp_path: Path) -> RunView:
    """A run that changed nothing in an empty workspace, built without the CLI."""
    return RunView(record(), tmp_path / "run", None)


def record(files: list[FileChange] | None = None) -> RunRecord:
    return RunRecord(
        scenario="s",
        lane="agent-baseline",
        trial=0,
        started_at="2025-01-01T00:00:00.000+00:00",
        files=files or [],
        argv=[],
        exit_reason="success",
        transcript=SummaryBuilder().summary(),
    )


# ---- files ----------------------------------------------------------------------------------


@pytest.mark.cli
async def test_file_exists(finished: Finished) -> None:
    run = finished.view()
    added = await one(check(type="file_exists", path="added.txt"), run)
    assert added.passed
    assert added.detail == "added.txt added (10 bytes)"
    assert added.name == "file_exists added.txt"
    assert (await one(check(type="file_exists", path="notes.md"), run)).passed
    kept = await one(check(type="file_exists", path="docs/guide.md"), run)
    assert kept.passed
    assert kept.detail == "docs/guide.md is there (file, from the fixture)"
    deleted = await one(check(type="file_exists", path="old.txt"), run)
    assert not deleted.passed
    assert "deleted" in deleted.detail
    missing = await one(check(type="file_exists", path="never.txt"), run)
    assert not missing.passed
    assert missing.detail == "never.txt is missing"


@pytest.mark.cli
async def test_file_matches(finished: Finished) -> None:
    run = finished.view()
    edited = await one(check(type="file_matches", path="notes.md", pattern=r"status: \w+"), run)
    assert (edited.passed, edited.detail) == (True, "line 2: status: final")
    added = await one(check(type="file_matches", path="added.txt", pattern="(?m)^brand new$"), run)
    assert added.passed
    # A file the run did not touch is read from the fixture.
    kept = await one(check(type="file_matches", path="keep.txt", pattern="keep"), run)
    assert (kept.passed, kept.detail) == (True, "line 1: keep")
    stale = await one(check(type="file_matches", path="notes.md", pattern="draft"), run)
    assert not stale.passed
    assert stale.detail == "no match for /draft/ in: # Notes status: final"
    # The fixture still has old.txt; the run deleted it, so there is nothing to match.
    gone = await one(check(type="file_matches", path="old.txt", pattern="stale lines"), run)
    assert (gone.passed, gone.detail) == (False, "old.txt is missing")


# ---- command --------------------------------------------------------------------------------


@pytest.mark.cli
async def test_command_runs_in_the_workspace_as_the_run_left_it(finished: Finished) -> None:
    run = finished.view()
    sees = await one(
        check(
            type="command",
            run="test -f added.txt && grep -qx 'status: final' notes.md && test ! -e old.txt"
            " && test -f keep.txt && test -f docs/guide.md",
        ),
        run,
    )
    assert (sees.passed, sees.detail) == (True, "exit 0: no output")
    shown = await one(check(type="command", run="cat added.txt"), run)
    assert (shown.passed, shown.detail) == (True, "exit 0: brand new")
    deleted = await one(check(type="command", run="test -e old.txt"), run)
    assert (deleted.passed, deleted.detail) == (False, "exit 1: no output")


async def test_a_failing_command_shows_its_exit_code_and_last_line(empty_run: RunView) -> None:
    result = await one(
        check(type="command", run="echo first; echo 'the last line' >&2; exit 3", name="fails"),
        empty_run,
    )
    assert result == CheckResult(name="fails", passed=False, detail="exit 3: the last line")


def sleeper(word: str) -> str:
    # python3 from PATH: the system's in the sandbox, where this interpreter is not.
    return f"python3 -c 'import time; time.sleep(60)' {word}"


async def gone_within(word: str, seconds: float) -> list[str]:
    """Processes with ``word`` still alive after waiting up to ``seconds`` for them to end."""
    for _ in range(round(seconds / 0.05)):
        if not processes_with(word):
            return []
        await anyio.sleep(0.05)
    return processes_with(word)


@pytest.fixture
def word() -> Iterator[str]:
    """A unique marker for processes a test starts; any it leaves are ended by their ids."""
    word = marker()
    yield word
    for line in processes_with(word):
        os.kill(int(line.split()[0]), signal.SIGKILL)


async def test_a_command_past_its_timeout_fails_quickly_and_leaves_nothing(
    empty_run: RunView, word: str
) -> None:
    command = check(type="command", run=f"{sleeper(word)} & {sleeper(word)}", timeout_s=0.5)
    started = time.monotonic()
    result = await one(command, empty_run)
    assert time.monotonic() - started < 30  # not the sleepers' 60 s, on any load
    assert (result.passed, result.detail) == (False, "timed out after 0.5s")
    assert await gone_within(word, 2) == []


async def test_a_command_leaves_no_background_process(empty_run: RunView, word: str) -> None:
    result = await one(
        check(type="command", run=f"{sleeper(word)} > /dev/null 2>&1 & echo started"), empty_run
    )
    assert (result.passed, result.detail) == (True, "exit 0: started")
    assert await gone_within(word, 1) == []


async def test_a_command_reads_no_input_from_runner(empty_run: RunView) -> None:
    read_end, write_end = os.pipe()
    os.write(write_end, b"typed-into-runner\n")
    os.close(write_end)
    saved = os.dup(0)
    os.dup2(read_end, 0)
    os.close(read_end)
    try:
        result = await one(check(type="command", run='read line; echo "got:$line"'), empty_run)
    finally:
        os.dup2(saved, 0)
        os.close(saved)
    assert result.detail == "exit 0: got:"


# ---- the rebuilt workspace ------------------------------------------------------------------


@pytest.mark.cli
async def test_the_workspace_rebuilds_the_same_and_scoring_changes_nothing(
    finished: Finished,
) -> None:
    run = finished.view()
    fixture_before = tree_state(finished.fixture)
    captured_before = tree_state(finished.run_dir / "files")
    with run.finished_workspace() as first_root:
        first = tree_state(first_root)
        assert (first_root / "notes.md").read_text() == "# Notes\nstatus: final\n"
    assert not first_root.exists()  # a temporary copy, gone afterwards
    with run.finished_workspace() as second_root:
        assert tree_state(second_root) == first
    assert sorted(first) == ["added.txt", "docs/guide.md", "keep.txt", "notes.md"]

    # Every kind, with a command that wrecks its copy: neither the fixture nor the stored
    # capture changes, and the next command sees the run's workspace again.
    wreck = check(type="command", run="echo x >> added.txt; echo x >> keep.txt; rm -r docs")
    results = await score(
        [
            wreck,
            check(type="command", run="test \"$(cat added.txt)\" = 'brand new' && test -d docs"),
            check(type="file_exists", path="added.txt"),
            check(type="file_matches", path="keep.txt", pattern="^keep me\n$"),
            check(type="tool_called", tool="Edit"),
            check(type="judge", rubric="anything"),
        ],
        run,
    )
    assert [r.passed for r in results] == [True, True, True, True, True, False]
    assert tree_state(finished.fixture) == fixture_before
    assert tree_state(finished.run_dir / "files") == captured_before
    with run.finished_workspace() as third_root:
        assert tree_state(third_root) == first


async def test_a_folder_replaced_by_a_file_is_rebuilt_as_the_file(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path / "fixture", {"sub/f.txt": "in a folder\n", "a.txt": "a\n"})
    # The engine's own capture of a run that did `rm -r sub && echo ... > sub`.
    ws = Workspace.create(fixture, parent=tmp_path / "ws")
    ws.snapshot()
    shutil.rmtree(ws.path / "sub")
    (ws.path / "sub").write_text("now a file\n")
    changes = ws.changes()
    ws.capture(changes, tmp_path / "run" / "files")
    ws.remove()
    assert [(c.path, c.change) for c in changes] == [("sub", "added"), ("sub/f.txt", "deleted")]
    run = RunView(record(changes), tmp_path / "run", fixture)
    assert (await one(check(type="file_matches", path="sub", pattern="now a file"), run)).passed
    result = await one(check(type="command", run="cat sub"), run)
    assert (result.passed, result.detail) == (True, "exit 0: now a file")


# ---- the transcript's figures ---------------------------------------------------------------


@pytest.mark.cli
async def test_tool_called_and_not_called_count_calls(finished: Finished) -> None:
    run = finished.view()
    results = await score(
        [
            check(type="tool_called", tool="Read"),
            check(type="tool_called", tool="Write"),
            check(type="tool_called", tool="Agent"),
            check(type="tool_not_called", tool="Bash"),
            check(type="tool_not_called", tool="Agent"),
        ],
        run,
    )
    assert [(r.name, r.passed, r.detail) for r in results] == [
        ("tool_called Read", True, "Read called 2 times"),
        ("tool_called Write", True, "Write called once"),
        ("tool_called Agent", False, "Agent never called; tools: Read, Read, Edit, Write, Bash"),
        ("tool_not_called Bash", False, "Bash called once"),
        ("tool_not_called Agent", True, "Agent never called"),
    ]


@pytest.mark.cli
async def test_skill_invoked_fails_when_no_skill_ran(finished: Finished) -> None:
    any_skill = await one(check(type="skill_invoked"), finished.view())
    assert (any_skill.passed, any_skill.detail) == (False, "skills invoked: (none)")
    scenario_skill = await one(check(type="skill_invoked"), finished.view(skill="changelog"))
    assert not scenario_skill.passed
    assert scenario_skill.detail == "changelog not invoked; skills invoked: (none)"
    named = await one(check(type="skill_invoked", skill="greeter"), finished.view(skill="x"))
    assert (named.passed, named.detail) == (False, "greeter not invoked; skills invoked: (none)")


@pytest.mark.cli
async def test_final_text_matches(finished: Finished) -> None:
    assert finished.record.transcript.final_text == FINAL
    run = finished.view()
    found = await one(check(type="final_text_matches", pattern=r"removed \S+"), run)
    assert (found.passed, found.detail) == (True, "line 1: removed old.txt.")
    missed = await one(check(type="final_text_matches", pattern="(?i)changelog"), run)
    assert not missed.passed
    assert missed.detail.startswith("no match for /(?i)changelog/ in: Done: wrote added.txt")


@pytest.mark.cli
async def test_max_turns_boundaries(finished: Finished) -> None:
    turns = finished.record.num_turns
    assert turns is not None
    assert turns >= 6  # one per scripted model turn
    at = await one(check(type="max_turns", max=turns), finished.view())
    assert (at.passed, at.detail) == (True, f"{turns} turns <= {turns}")
    over = await one(check(type="max_turns", max=turns - 1), finished.view())
    assert (over.passed, over.detail) == (False, f"{turns} turns > {turns - 1}")


@pytest.mark.cli
async def test_max_cost_boundaries_and_unknown_cost(finished: Finished) -> None:
    cost = finished.record.cost_usd
    assert cost is not None
    assert cost > 0
    at = await one(check(type="max_cost_usd", max=cost), finished.view())
    assert at.passed
    assert at.detail.endswith(f"<= ${cost:g}")
    under = await one(check(type="max_cost_usd", max=cost / 2), finished.view())
    assert not under.passed
    assert " > $" in under.detail
    unpriced = finished.record.transcript.model_copy(
        update={"cost_usd": None, "estimated_cost_usd": None}
    )
    unknown = finished.record.model_copy(update={"transcript": unpriced})
    assert unknown.cost_usd is None
    view = RunView(unknown, finished.run_dir, finished.fixture)
    result = await one(check(type="max_cost_usd", max=100), view)
    assert not result.passed
    assert "cost unknown" in result.detail


# ---- the judge ------------------------------------------------------------------------------


@pytest.mark.cli
async def test_the_judge_sees_the_task_rubric_answer_and_changed_files(
    finished: Finished,
) -> None:
    asked: list[tuple[Judge, str]] = []

    async def judge(c: Judge, prompt: str) -> JudgeVerdict:
        asked.append((c, prompt))
        return parse_verdict("Every change is there.\nVERDICT: PASS")

    rubric = "notes.md is final, added.txt exists, old.txt is gone."
    judged = check(type="judge", rubric=rubric, name="judged")
    result = await one(judged, finished.view(judge=judge))
    assert result == CheckResult(name="judged", passed=True, detail="Every change is there.")
    ((given, prompt),) = asked
    assert given == judged
    assert f"<task>\n{INSTRUCTION}\n</task>" in prompt
    assert f"<rubric>\n{rubric}\n</rubric>" in prompt
    assert f"<final_message>\n{FINAL}\n</final_message>" in prompt
    assert '<file path="added.txt">\nbrand new\n' in prompt
    assert '<file path="notes.md">\n# Notes\nstatus: final\n' in prompt
    assert '<file path="old.txt" deleted="true"/>' in prompt
    assert "stale lines" not in prompt  # a deleted file's old content is not shown
    assert prompt.rstrip().endswith("VERDICT: PASS or VERDICT: FAIL.")


@pytest.mark.cli
async def test_a_failing_verdict_and_no_judge_fail(finished: Finished) -> None:
    async def judge(c: Judge, prompt: str) -> JudgeVerdict:
        return parse_verdict("old.txt should have stayed.\nVERDICT: FAIL")

    rubric = check(type="judge", rubric="old.txt is kept")
    failed = await one(rubric, finished.view(judge=judge))
    assert (failed.passed, failed.detail) == (False, "old.txt should have stayed.")
    nobody = await one(rubric, finished.view())
    assert (nobody.passed, nobody.detail) == (False, "no judge available")


def test_parse_verdict() -> None:
    assert parse_verdict("All four changes, nothing more.\nVERDICT: PASS") == JudgeVerdict(
        True, "All four changes, nothing more."
    )
    assert parse_verdict("Missing #28.\n\nVERDICT: FAIL\n") == JudgeVerdict(False, "Missing #28.")
    # The last verdict wins, with the line before it as the reason.
    changed_mind = "Looks short.\nVERDICT: FAIL\nOn a second read it is all there.\nVERDICT: PASS"
    assert parse_verdict(changed_mind) == JudgeVerdict(True, "On a second read it is all there.")
    assert parse_verdict("Fine.\nverdict: pass") == JudgeVerdict(True, "Fine.")
    assert parse_verdict("Verdict:fail") == JudgeVerdict(False, "(no reason given)")


def test_no_verdict_fails_with_the_text_clipped() -> None:
    rambling = "I think this is mostly right " * 10
    verdict = parse_verdict(rambling)
    assert not verdict.passed
    assert verdict.detail.startswith("the judge gave no verdict: I think this is mostly right")
    assert verdict.detail.endswith("…")
    assert len(verdict.detail) < len("the judge gave no verdict: ") + 61
    assert parse_verdict(None) == JudgeVerdict(False, "the judge gave no verdict: (no text)")
    assert not parse_verdict("VERDICT: PASSABLE").passed


# ---- errors, lanes, names -------------------------------------------------------------------


async def test_score_turns_errors_into_failed_results(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path / "fixture", {"sub/f.txt": "x\n"})

    async def broken_judge(c: Judge, prompt: str) -> JudgeVerdict:
        raise OSError("the judge's cache is unreadable")

    run = RunView(record(), tmp_path / "run", fixture, judge=broken_judge)
    results = await score(
        [
            check(type="file_matches", path="sub", pattern="x"),  # a folder: nothing to match
            check(type="file_exists", path="n" * 300),  # stat fails: name too long
            check(type="judge", rubric="r", name="judge"),
            check(type="max_turns", max=1),
        ],
        run,
    )
    assert [(r.name, r.passed) for r in results] == [
        ("file_matches sub /x/", False),
        ("file_exists " + "n" * 300, False),
        ("judge", False),
        ("max_turns 1", False),
    ]
    assert results[0].detail == "sub is missing"
    assert results[1].detail.startswith("error: [Errno 36] File name too long")
    assert results[2].detail == "error: the judge's cache is unreadable"
    assert results[3].detail == "turns unknown: the run has no result"


async def test_file_exists_treats_folders_alike(tmp_path: Path) -> None:
    fixture = make_fixture(tmp_path / "fixture", {"docs/guide.md": "# Guide\n"})
    run = RunView(
        record([FileChange(path="notes/new.md", change="added", size=0)]), tmp_path, fixture
    )
    from_fixture = await one(check(type="file_exists", path="docs"), run)
    from_run = await one(check(type="file_exists", path="notes"), run)
    assert from_fixture.passed == from_run.passed, (from_fixture.detail, from_run.detail)


def test_applies_to_lane_globs_and_label() -> None:
    skill_only = check(type="tool_called", tool="Skill", lanes=["agent-skill*", "skill"])
    applies = {
        lane: skill_only.applies_to(lane)
        for lane in ("baseline", "skill", "agent-baseline", "agent-skill", "agent-skill-nonudge")
    }
    assert applies == {
        "baseline": False,
        "skill": True,
        "agent-baseline": False,
        "agent-skill": True,
        "agent-skill-nonudge": True,
    }
    everywhere = check(type="max_turns", max=3)
    assert everywhere.applies_to("baseline")
    assert everywhere.applies_to("agent-skill-nonudge")
    assert skill_only.label == "tool_called Skill"
    named = check(type="file_exists", path="a.txt", name="the report is written")
    assert named.label == "the report is written"


# ---- symlinks: checks stay inside the workspace -----------------------------------------------

LINKS = (
    "ln -s /etc/passwd leak; ln -s /etc etc; ln -s ../../../../../../etc/hosts up; "
    "ln -s notes.txt alias; mkdir d && ln -s ../notes.txt d/up && ln -s ../d d/again; "
    "ln -s /workspace/notes.txt absolute; ln -s /workspace/../etc/passwd sly"
)


@pytest.mark.cli
async def test_an_agent_made_symlink_out_fails_checks_and_the_host_file_is_never_read(
    tmp_path: Path,
) -> None:
    # In the sandbox, the agent's /etc/passwd is the jail's; the check runs on the host's copy
    # of the workspace, where the same link names the host's file.
    fixture = make_fixture(tmp_path / "fixture", {"notes.txt": "notes\n"})
    (fixture / "fixture-alias").symlink_to("notes.txt")
    script = {
        "turns": [
            {"content": [tool("Bash", command=LINKS, description="make links")]},
            {"content": [text("Done.")]},
        ]
    }
    run = await scripted_run(script, tmp_path, fixture=fixture)
    assert run.record.exit_reason == "success", run.record.diagnostics.agent_log
    assert (run.run_dir / "files" / "leak").is_symlink()  # captured as the link it is
    view = RunView(run.record, run.run_dir, fixture)
    outside = {
        "leak": "leak -> /etc/passwd",
        "etc/passwd": "etc -> /etc",
        "up": "up -> ../../../../../../etc/hosts",
        "sly": "sly -> /workspace/../etc/passwd",
    }
    for path, link in outside.items():
        matches = await one(check(type="file_matches", path=path, pattern="root|localhost"), view)
        exists = await one(check(type="file_exists", path=path), view)
        for result in (matches, exists):
            assert not result.passed, result
            assert f"{path}: the symlink {link} leaves the workspace" in result.detail
    # Links that stay inside work as before, from the run and from the fixture.
    # In the sandbox the agent's workspace is /workspace: a link into it is a link inside.
    for path in ("alias", "d/up", "d/again/up", "fixture-alias", "absolute"):
        inside = await one(check(type="file_matches", path=path, pattern="^notes$"), view)
        assert inside.passed, inside
        assert (await one(check(type="file_exists", path=path), view)).passed
    assert "root:" not in judge_prompt("rubric", view)


def test_a_record_that_disagrees_with_the_disk_is_still_kept_inside(tmp_path: Path) -> None:
    # The record says plain file; the disk holds a link out (a hand-edited cache entry): the
    # disk is checked too before anything is read.
    (tmp_path / "run" / "files").mkdir(parents=True)
    (tmp_path / "run" / "files" / "f").symlink_to("/etc/passwd")
    change = FileChange(path="f", change="added", size=10, digest="x", mode=0o644)
    view = RunView(record([change]), tmp_path / "run", None)
    result = anyio.run(one, check(type="file_matches", path="f", pattern="root"), view)
    assert not result.passed
    assert "leaves the workspace" in result.detail


def test_the_judge_is_told_where_a_link_points_never_what_it_points_to(tmp_path: Path) -> None:
    (tmp_path / "run" / "files").mkdir(parents=True)
    (tmp_path / "run" / "files" / "leak").symlink_to("/etc/passwd")
    change = FileChange(path="leak", change="added", size=0, digest="x", mode=0o777, symlink=True)
    prompt = judge_prompt("rubric", RunView(record([change]), tmp_path / "run", None))
    assert '<file path="leak" symlink="/etc/passwd"/>' in prompt
    assert "root:" not in prompt
