"""Transcripts others wrote, in the shapes found in the wild: several runs appended to one file,
results of old CLIs, messages the CLI makes up, system subtypes runner does not model, Claude
Code's own session logs, and lines nested deeper than any parser's stack. Each is read to the
end, round-trips byte for byte, and says what it is."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import anyio
import pytest

from runner._agent.engine import RunOptions, RunRecord, RunSpec, run_one
from runner._model.http import HttpRequest, HttpResponse, serving
from runner._model.mock_api import ScriptedModel
from runner._model.script import Script, text, tool
from runner._results.render_run import render_summary
from runner._transcript.parse import SKIM_MIN_BYTES
from runner._transcript.stream import ParseError, iter_events
from runner._transcript.summary import TranscriptSummary
from runner._transcript.transcript import Transcript
from runner._transcript.usage import price_for
from tests.command_support import runner
from tests.conftest import FIXTURES


def read(data: bytes) -> TranscriptSummary:
    return Transcript(iter_events(io.BytesIO(data))).summary()


def round_trips(data: bytes, tmp_path: Path) -> bool:
    out = tmp_path / "again.ndjson"
    Transcript(iter_events(io.BytesIO(data))).write_ndjson(out)
    return out.read_bytes() == data


def ndjson(*events: dict[str, Any]) -> bytes:
    return b"".join(json.dumps(e).encode() + b"\n" for e in events)


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.ndjson").read_bytes()


def with_result(data: bytes, change: dict[str, Any], drop: tuple[str, ...] = ()) -> bytes:
    """``data`` with its result line changed: fields set, others dropped."""
    *lines, last = data.splitlines()
    result = json.loads(last)
    assert result["type"] == "result"
    result = {k: v for k, v in result.items() if k not in drop} | change
    return b"\n".join([*lines, json.dumps(result).encode()]) + b"\n"


# ---- several sessions in one file -----------------------------------------------------------


def test_runs_appended_to_one_file_are_summarized_per_session(tmp_path: Path) -> None:
    """`claude -p ... | tee -a log`, twice: the second run was killed. The file is not a
    success, and no figure is summed across the two."""
    done, killed = fixture("tools"), fixture("killed_midway")
    alone, cut = read(done), read(killed)
    assert alone.session_id != cut.session_id
    data = done + killed
    s = read(data)
    first, second = s.sessions
    assert (first.session_id, first.status, first.is_error) == (alone.session_id, "success", False)
    assert (first.num_turns, first.cost_usd) == (alone.num_turns, alone.cost_usd)
    assert first.tool_calls == len(alone.tool_sequence)
    assert (second.session_id, second.status, second.is_error) == (
        cut.session_id,
        "incomplete",
        True,
    )
    assert (second.num_turns, second.cost_usd) == (None, None)
    # The top level is the last session's, whole: its status, turns, cost, tools.
    assert (s.status, s.is_error, s.num_turns, s.cost_usd) == ("incomplete", True, None, None)
    assert s.tool_sequence == cut.tool_sequence
    assert s.estimated_cost_usd == cut.estimated_cost_usd
    assert s.session_id == cut.session_id
    assert s.events == alone.events + cut.events
    [warning] = s.warnings
    assert "2 sessions in one file" in warning
    assert "session 2 never finished" in warning
    assert round_trips(data, tmp_path)

    # The other order: the last run finished, the first did not. Success, said with a warning.
    s = read(killed + done)
    assert (s.status, s.num_turns, s.cost_usd) == ("success", alone.num_turns, alone.cost_usd)
    assert [x.status for x in s.sessions] == ["incomplete", "success"]
    assert "session 1 never finished" in s.warnings[0]


def test_one_session_of_several_segments_stays_one() -> None:
    """Background tasks wake the agent again: an init and a result per segment, one id."""
    data = fixture("background_task")
    assert data.count(b'"subtype":"init"') == 3
    s = read(data)
    assert len(s.sessions) == 1
    assert s.warnings == []
    assert s.sessions[0].num_turns == s.num_turns == 5
    for path in sorted(FIXTURES.glob("*.ndjson")):
        assert len(read(path.read_bytes()).sessions) == 1, path.name


def test_sessions_in_the_command_output(tmp_path: Path) -> None:
    log = tmp_path / "log.ndjson"
    log.write_bytes(fixture("hello") + fixture("tools") + fixture("killed_midway"))
    proc = runner("transcript", str(log), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert [s["status"] for s in out["sessions"]] == ["success", "success", "incomplete"]
    assert out["status"] == "incomplete"
    assert all({"session_id", "num_turns", "cost_usd"} <= s.keys() for s in out["sessions"])
    assert "warning: 3 sessions in one file" in proc.stderr
    assert "session 3 never finished" in proc.stderr
    text_form = runner("transcript", str(log)).stdout
    assert "warning     3 sessions in one file" in text_form
    assert "session 3   " in text_form
    assert text_form.count("\nsession ") == 3


# ---- estimates ------------------------------------------------------------------------------


def test_a_result_without_model_usage_estimates_nothing() -> None:
    """CLI 1.0.x wrote no modelUsage: no model to price, so no estimate, and a warning; the
    CLI's own cost and usage stay."""
    old = with_result(fixture("tools"), {}, drop=("modelUsage",))
    whole = read(fixture("tools"))
    s = read(old)
    assert s.estimated_cost_usd is None
    assert s.models == {}
    assert s.cost_usd == whole.cost_usd
    assert s.usage.input_tokens > 0
    assert s.usage_estimated is False
    assert any("no modelUsage" in w for w in s.warnings)
    assert s.sessions[0].estimated_cost_usd is None

    # A trimmed result: no usage either. Nothing is known, and $0 is not what is known.
    trimmed = with_result(fixture("tools"), {}, drop=("modelUsage", "usage", "total_cost_usd"))
    s = read(trimmed)
    assert (s.cost_usd, s.estimated_cost_usd, s.best_cost_usd) == (None, None, None)

    # A run killed before the model said a word: no estimate, not $0.
    assert read(fixture("auth_retry_killed")).estimated_cost_usd is None
    # A CLI that printed nothing at all (it never started) asked the model nothing: $0.
    assert read(b"").estimated_cost_usd == 0.0
    # The CLI's own zero (an API error before any token): nothing was used, and that is $0.
    assert read(fixture("api_error_400")).estimated_cost_usd == 0.0


def assistant_line(msg_id: str, model: str, words: str, usage: dict[str, int]) -> dict[str, Any]:
    message = {
        "id": msg_id,
        "model": model,
        "content": [{"type": "text", "text": words}],
        "usage": usage,
    }
    return {"type": "assistant", "message": message, "session_id": "s1"}


def test_synthetic_messages_are_left_out_of_the_estimate() -> None:
    """A killed run whose last message the CLI made up (model <synthetic>, zero usage): the
    estimate prices the real message and ignores the made-up one."""
    data = ndjson(
        {"type": "system", "subtype": "init", "session_id": "s1", "model": "claude-opus-5-5"},
        assistant_line(
            "m1", "claude-opus-5-5", "x" * 40, {"input_tokens": 1000, "output_tokens": 1}
        ),
        assistant_line(
            "m2",
            "<synthetic>",
            "Credit balance is too low",
            {"input_tokens": 0, "output_tokens": 0},
        ),
    )
    s = read(data)
    assert s.status == "incomplete"
    assert s.usage_estimated is True
    assert list(s.models) == ["claude-opus-5-5"]
    price = price_for("claude-opus-5-5")
    assert price is not None
    assert s.estimated_cost_usd == pytest.approx(price.cost(s.models["claude-opus-5-5"]))
    assert s.final_text == "Credit balance is too low"  # what the CLI said, kept


# ---- system subtypes runner does not model ---------------------------------------------------


def test_unmodelled_system_subtypes_are_counted_and_named(tmp_path: Path) -> None:
    *head, result = fixture("hello").splitlines(keepends=True)
    notice = {"type": "system", "subtype": "notification", "text": "Update available"}
    drifted = {"type": "system", "subtype": "api_retry", "attempt": "first"}
    data = b"".join(head) + ndjson(notice, notice, drifted) + result
    s = read(data)
    assert s.unknown_events == 2
    assert s.unknown_kinds == {"system/notification": 2}
    assert s.shape_problems[0].startswith("system/api_retry:")  # changed, not unknown
    assert "system/notification (2)" in render_summary(s, source="t")
    assert round_trips(data, tmp_path)

    many = ndjson(*({"type": "system", "subtype": f"new_{n}"} for n in range(30)))
    s = read(many)
    assert s.unknown_events == 30
    assert len(s.unknown_kinds) == 20  # the first few named; all counted


# ---- Claude Code session logs ---------------------------------------------------------------

SID = "5d3b9c41-7d0e-4c1e-9a55-0c6f1f2b7e10"


def log_line(kind: str, uuid: str, parent: str | None, message: dict[str, Any]) -> dict[str, Any]:
    return {
        "parentUuid": parent,
        "isSidechain": False,
        "userType": "external",
        "cwd": "/home/u/project",
        "sessionId": SID,
        "version": "1.0.35",
        "gitBranch": "main",
        "type": kind,
        "message": message,
        "uuid": uuid,
        "timestamp": "2025-06-30T10:00:00.000Z",
    }


def session_log() -> bytes:
    usage = {"input_tokens": 1200, "output_tokens": 30, "cache_read_input_tokens": 0}
    write = {"file_path": "/home/u/project/hi.txt", "content": "hi\n"}
    return ndjson(
        {"type": "summary", "summary": "Greeting in a file", "leafUuid": "u4"},
        log_line("user", "u1", None, {"role": "user", "content": "Say hi in hi.txt"}),
        log_line(
            "assistant",
            "u2",
            "u1",
            {
                "id": "msg_01",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-20250514",
                "content": [
                    {"type": "tool_use", "id": "toolu_01", "name": "Write", "input": write}
                ],
                "stop_reason": "tool_use",
                "usage": usage,
            },
        ),
        log_line(
            "user",
            "u3",
            "u2",
            {
                "role": "user",
                "content": [
                    {"tool_use_id": "toolu_01", "type": "tool_result", "content": "File created"}
                ],
            },
        ),
        log_line(
            "assistant",
            "u4",
            "u3",
            {
                "id": "msg_02",
                "type": "message",
                "role": "assistant",
                "model": "claude-sonnet-4-20250514",
                "content": [{"type": "text", "text": "Done: hi.txt says hi."}],
                "stop_reason": "end_turn",
                "usage": usage,
            },
        ),
    )


def test_a_session_log_is_recognised_and_read_as_far_as_it_goes(tmp_path: Path) -> None:
    data = session_log()
    s = read(data)
    assert s.format == "session-log"
    assert "session log" in s.warnings[0]
    assert s.status == "unknown"  # it has no result: neither a success nor a killed run
    assert (s.session_id, s.cli_version) == (SID, "1.0.35")
    assert s.tool_sequence == ["Write"]
    assert s.final_text == "Done: hi.txt says hi."
    assert s.usage_estimated is True
    assert s.usage.input_tokens == 2400
    price = price_for("claude-sonnet-4-20250514")
    assert price is not None
    assert s.estimated_cost_usd == pytest.approx(price.cost(s.usage))
    assert s.unknown_kinds == {"summary": 1}
    assert s.parse_errors == 0
    assert round_trips(data, tmp_path)
    for path in sorted(FIXTURES.glob("*.ndjson")):  # stream-json is never taken for one
        assert read(path.read_bytes()).format == "stream-json", path.name

    log = tmp_path / "5d3b9c41.jsonl"
    log.write_bytes(data)
    proc = runner("transcript", str(log))
    assert proc.returncode == 0
    assert "warning     a Claude Code session log" in proc.stdout
    assert "status      unknown" in proc.stdout


# ---- nesting deeper than a parser's stack ----------------------------------------------------

DEEP = 1000


def nested(depth: int = DEEP) -> str:
    return "[" * depth + "]" * depth


def deep_lines() -> list[bytes]:
    """A short line nested 1,000 deep, and a long one (over the size where fields are
    skimmed), of a known type."""
    pad = "x" * SKIM_MIN_BYTES
    return [
        f'{{"type":"system","subtype":"status","x":{nested()}}}'.encode(),
        f'{{"type":"assistant","pad":"{pad}","x":{nested()}}}'.encode(),
    ]


def test_lines_nested_1000_deep_are_counted_parse_errors(tmp_path: Path) -> None:
    lines = fixture("tools").splitlines()
    data = b"\n".join([lines[0], *deep_lines(), *lines[1:]]) + b"\n"
    items = list(iter_events(io.BytesIO(data)))
    errors = [i for i in items if isinstance(i, ParseError)]
    assert [e.line for e in errors] == [2, 3]
    assert all("nested too deep" in e.error for e in errors)
    s = read(data)
    assert (s.parse_errors, s.status) == (2, "success")
    assert round_trips(data, tmp_path)

    path = tmp_path / "deep.ndjson"
    path.write_bytes(data)
    proc = runner("transcript", str(path), "--json")
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert json.loads(proc.stdout)["parse_error_lines"] == [2, 3]


PLACEHOLDER = "nest-here"


@pytest.mark.anyio
@pytest.mark.cli
async def test_the_cli_printing_a_line_nested_1000_deep_ends_the_run_normally(
    anyio_backend: str, tmp_path: Path
) -> None:
    """The model calls a tool with an input nested 1,000 deep (and long: the skimmed path);
    the real CLI prints it, and the run goes on to its result, the line counted as unread."""
    script = Script.model_validate(
        {
            "turns": [
                {"content": [tool("Nest", deep=PLACEHOLDER, pad="y" * SKIM_MIN_BYTES)]},
                {"content": [text("Done.")]},
            ]
        }
    )
    model = ScriptedModel(script)
    # The scripted model's JSON codec has Python's stack: it sees a placeholder, and the nesting
    # is swapped in and out as bytes. Going out, inside the input's JSON text as it streams.
    deep, quoted = nested().encode(), f'\\"{PLACEHOLDER}\\"'.encode()

    async def handle(request: HttpRequest) -> HttpResponse:
        sent_back = request.body.replace(deep, f'"{PLACEHOLDER}"'.encode())  # the CLI's next turn
        reply = await model.handle(replace(request, body=sent_back))
        body = reply.body
        if not isinstance(body, bytes):
            body = b"".join([chunk async for chunk in body])
        return HttpResponse(reply.status, reply.headers, body.replace(quoted, deep))

    async with serving(handle) as url:
        with anyio.fail_after(240):  # a hang guard only
            run = await scripted_run_at(url, tmp_path)
    assert run.exit_reason == "success", run.error
    assert run.transcript.parse_errors == 1
    assert run.transcript.tool_sequence == []  # the call was on the line that could not be read
    assert run.transcript.final_text == "Done."
    stream = (tmp_path / "run" / "stream.ndjson").read_bytes()
    assert nested().encode() in stream  # kept as the CLI wrote it


async def scripted_run_at(url: str, tmp_path: Path) -> RunRecord:
    spec = RunSpec(scenario="test", instruction="Do the task.")
    options = RunOptions(endpoint=url, workspace_parent=tmp_path)
    return await run_one(spec, "agent-baseline", run_dir=tmp_path / "run", options=options)
