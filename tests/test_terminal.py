"""What the agent says never reaches the terminal raw: escape sequences in model text, tool
names and inputs, file names and check output are spelled out in every command's output."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from runner._agent.engine import RunRecord
from runner._evaluate.asserts import assert_tool_sequence
from runner._evaluate.results import RunResult
from runner._model.script import text, tool
from runner._results.render_run import render_summary
from runner._results.render_suite import run_line
from runner._transcript.stream import iter_events
from runner._transcript.summarize import summarize
from runner._util.terminal import json_visible, visible
from tests.command_support import runner, write_script
from tests.suite_commands import run_runner

# Clear the screen, retitle the window, move up a line and erase it, C1's CSI, a bidi override.
HOSTILE = "\x1b[2J\x1b]0;pwned\x07\x1b[1A\x1b[2K\x9b31m\u202e"
SPELLED = "\\x1b[2J\\x1b]0;pwned\\x07\\x1b[1A\\x1b[2K\\x9b31m\\u202e"
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def assert_safe(output: str) -> None:
    """Nothing but newlines from the C0 and C1 sets, and no bidi controls."""
    found = RAW.search(output)
    assert found is None, f"raw {found.group()!r} in: {output[max(0, found.start() - 80) :]!r}"


def test_visible_spells_out_every_control_and_leaves_text_alone() -> None:
    assert visible(HOSTILE) == SPELLED
    assert visible("a\nb\r\tc\x00\x7f") == "a\\nb\\r\\tc\\x00\\x7f"
    assert visible("\u2028\u2066\u200f") == "\\u2028\\u2066\\u200f"
    plain = "ünïcode → ✓ 𝄞 … \\x1b as typed"
    assert visible(plain) == plain
    every = "".join(map(chr, range(0x3000)))
    assert_safe(visible(every))
    assert "\n" not in visible(every)
    doc = json.dumps({"text": HOSTILE + "\x85"}, ensure_ascii=False)
    assert_safe(json_visible(doc))
    assert json.loads(json_visible(doc)) == json.loads(doc)


def hostile_transcript() -> bytes:
    def line(event: dict[str, Any]) -> bytes:
        return json.dumps(event).encode() + b"\n"

    def assistant(msg_id: str, *blocks: dict[str, Any]) -> dict[str, Any]:
        message = {"id": msg_id, "model": "claude-opus-5-5", "content": list(blocks)}
        return {"type": "assistant", "message": message}

    return b"".join(
        [
            line({"type": "system", "subtype": "init", "session_id": "s\x1b[2J"}),
            line(assistant("m1", tool("Skill", skill=f"skill{HOSTILE}") | {"id": "t1"})),
            line(assistant("m2", tool(f"Bash{HOSTILE}", command="ls") | {"id": "t2"})),
            line({"type": f"future{HOSTILE}"}),
            line({"type": "system", "subtype": f"new{HOSTILE}"}),
            line(assistant("m3", text(f"done\nstatus      success{HOSTILE}"))),
            line(
                {
                    "type": "result",
                    "subtype": "error_during_execution",
                    "is_error": True,
                    "errors": [f"stopped{HOSTILE}"],
                }
            ),
        ]
    )


def test_the_transcript_summary_shows_escapes_spelled_out(tmp_path: Path) -> None:
    s = summarize(iter_events(io.BytesIO(hostile_transcript())))
    out = render_summary(s, source=f"t{HOSTILE}.ndjson")
    assert_safe(out)
    assert SPELLED in out
    # The model's newline cannot forge a line of the summary.
    assert [ln.split()[0] for ln in out.splitlines()].count("status") == 1
    assert f"Skill → Bash{SPELLED}" in out
    assert f"final text  done status success{SPELLED}" in out

    path = tmp_path / "hostile.ndjson"
    path.write_bytes(hostile_transcript())
    for args in ([], ["--json"]):
        proc = runner("transcript", str(path), *args)
        assert proc.returncode == 0, proc.stderr
        assert_safe(proc.stdout)
        assert_safe(proc.stderr)
    assert json.loads(proc.stdout)["tool_sequence"] == ["Skill", f"Bash{HOSTILE}"]


def test_the_eval_progress_line_is_safe() -> None:
    result = RunResult(
        scenario=f"odd{HOSTILE}",
        lane="agent-baseline",
        trial=0,
        passed=False,
        exit_reason="success",
        cache_hit=False,
        cache_key="k",
        live=False,
        cost_usd=0.01,
        num_turns=2,
        duration_ms=1000,
    )
    line = run_line(result)
    assert_safe(line)
    assert SPELLED in line


@pytest.mark.cli
def test_a_run_of_the_real_cli_prints_nothing_raw(tmp_path: Path) -> None:
    """The agent writes escapes in its text, a file name, a tool name and a command: `run`
    shows them spelled out, and so does an assertion on the run."""
    script = write_script(
        tmp_path,
        {
            "turns": [
                {"content": [tool("Write", file_path=f"evil{HOSTILE}.txt", content="x\n")]},
                {"content": [tool(f"Odd{HOSTILE}", x=1)]},
                {"content": [tool("Bash", command=f"echo '{HOSTILE}'")]},
                {"content": [text(f"Done.\nended       success{HOSTILE}")]},
            ]
        },
    )
    args = ["Write the file.", "--lane", "agent-baseline", "--mock-script", str(script)]
    proc = runner("run", *args, "--run-dir", "out", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_safe(proc.stdout)
    assert_safe(proc.stderr)
    assert f"file        + evil{SPELLED}.txt" in proc.stdout
    assert f"last call   Bash(echo '{SPELLED}')" in proc.stdout
    assert proc.stdout.count("\nended ") == 1
    # pytest prints an assertion's message as it is.
    record = RunRecord.model_validate_json((tmp_path / "out" / "record.json").read_bytes())
    with pytest.raises(AssertionError) as failed:
        assert_tool_sequence(record, ["Write"])
    assert_safe(str(failed.value))
    assert f"Odd{SPELLED}" in str(failed.value)
    # --json too: JSON escapes C0 itself, but would leave C1 and bidi controls raw.
    as_json = runner("run", *args, "--run-dir", "out2", "--json", cwd=tmp_path)
    assert as_json.returncode == 0, as_json.stderr
    assert_safe(as_json.stdout)
    assert f"Odd{HOSTILE}" in json.loads(as_json.stdout)["transcript"]["tool_sequence"]


@pytest.mark.cli
def test_an_eval_prints_check_output_and_tools_spelled_out(tmp_path: Path) -> None:
    """A failed command check shows the agent's file; tool_called lists the agent's calls."""
    scenario = tmp_path / "suite" / "hostile"
    (scenario / "workspace").mkdir(parents=True)
    (scenario / "workspace" / "README.md").write_text("A task.\n")
    (scenario / "mock").mkdir()
    turns = [
        {"content": [tool("Write", file_path="evil.txt", content=f"{HOSTILE}PASS\n")]},
        {"content": [text(f"Done{HOSTILE}")]},
    ]
    (scenario / "mock" / "agent.json").write_text(json.dumps({"turns": turns}))
    (scenario / "scenario.toml").write_text(
        'instruction = "Write evil.txt."\nworkspace = "workspace"\n'
        '[mock]\n"*" = "mock/agent.json"\n'
        '[[check]]\nname = "shows the file"\ntype = "command"\nrun = "cat evil.txt; exit 1"\n'
        '[[check]]\ntype = "final_text_matches"\npattern = "never"\n'
    )
    proc = run_runner(
        "eval",
        "--suite",
        str(tmp_path / "suite"),
        "--variant",
        "agent-baseline",
        "--cache-dir",
        str(tmp_path / "cache"),
        "--runs-dir",
        str(tmp_path / "runs"),
        cwd=tmp_path,
    )
    assert proc.returncode == 1, proc.stderr  # a run failed, as it should
    assert_safe(proc.stdout)
    assert_safe(proc.stderr)
    assert f"✗ shows the file: exit 1: {SPELLED}PASS" in proc.stdout
    as_json = run_runner(*proc.args[3:], "--json", cwd=tmp_path)  # served from the cache
    assert as_json.returncode == 1, as_json.stderr
    assert_safe(as_json.stdout)
    assert f"{HOSTILE}PASS" in json.loads(as_json.stdout)["runs"][0]["checks"][0]["detail"]
