"""Typed and lossless: every captured line parses, and is written back exactly."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pydantic import ValidationError

from runner._transcript.blocks import UnknownBlock
from runner._transcript.events import (
    AssistantEvent,
    ResultEvent,
    SystemInit,
    SystemOther,
    UnknownEvent,
    UserEvent,
)
from runner._transcript.parse import _KNOWN, SKIM_MIN_BYTES, EventParseError, parse_event
from runner._transcript.transcript import Transcript
from tests.conftest import FIXTURES

CAPTURES = sorted(FIXTURES.glob("*.ndjson"))


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_every_captured_line_round_trips(path: Path, tmp_path: Path) -> None:
    lines = [ln for ln in path.read_bytes().splitlines() if ln.strip()]
    for line in lines:
        try:
            event = parse_event(line)
        except EventParseError:
            continue  # a deliberately broken capture line; the reader reports it
        assert event.raw_json() is line
        assert event.full() == json.loads(line)
    transcript = Transcript.from_file(path)
    out = tmp_path / "copy.ndjson"
    transcript.write_ndjson(out)
    assert out.read_bytes().splitlines() == lines


@pytest.mark.parametrize("path", CAPTURES, ids=lambda p: p.stem)
def test_parse_event_gives_what_the_type_adapter_gives(path: Path) -> None:
    """parse_event calls the union's validator directly: the same events, fields and fields set."""
    for line in path.read_bytes().splitlines():
        if not line.strip() or len(line) >= SKIM_MIN_BYTES:
            continue  # long lines: test_skimming_large_lines_gives_the_same_events
        try:
            expected = _KNOWN.validate_json(line)
        except ValidationError:
            continue  # not an event: the fallback's tests below
        event = parse_event(line)
        assert type(event) is type(expected)
        assert event == expected
        assert event.model_fields_set == expected.model_fields_set


def test_known_events_are_typed_not_unknown() -> None:
    for path in CAPTURES:
        for item in Transcript.from_file(path).items:
            assert not isinstance(item, UnknownEvent), (path.name, item)
            if isinstance(item, SystemOther):
                assert item.problem is None, (path.name, item.subtype, item.problem)


def test_unknown_event_type_keeps_every_field() -> None:
    line = b'{"type":"rate_limit_event","rate_limit_info":{"status":"allowed"},"uuid":"u"}'
    event = parse_event(line)
    assert isinstance(event, UnknownEvent)
    assert event.type == "rate_limit_event"
    assert event.problem is None
    assert event.model_extra == {"rate_limit_info": {"status": "allowed"}, "uuid": "u"}
    assert event.raw_json() == line


def test_unknown_system_subtype_keeps_every_field() -> None:
    event = parse_event(b'{"type":"system","subtype":"from_the_future","details":{"n":1}}')
    assert isinstance(event, SystemOther)
    assert event.subtype == "from_the_future"
    assert event.problem is None
    assert event.model_extra == {"details": {"n": 1}}


def test_unknown_block_type_keeps_the_rest_of_the_event_typed() -> None:
    line = json.dumps(
        {
            "type": "assistant",
            "message": {
                "id": "m",
                "model": "claude-opus-5-5",
                "content": [
                    {
                        "type": "server_tool_use",
                        "id": "s1",
                        "name": "web_search",
                        "input": {"q": "x"},
                    },
                    {"type": "text", "text": "found"},
                ],
            },
            "new_top_level_field": [1, 2],
        }
    ).encode()
    event = parse_event(line)
    assert isinstance(event, AssistantEvent)
    unknown, _text = event.message.content
    assert isinstance(unknown, UnknownBlock)
    assert unknown.model_extra == {"id": "s1", "name": "web_search", "input": {"q": "x"}}
    assert event.full()["new_top_level_field"] == [1, 2]


def test_known_type_in_an_unexpected_shape_is_kept_and_says_why() -> None:
    event = parse_event(b'{"type":"result","subtype":"success","num_turns":"many"}')
    assert isinstance(event, UnknownEvent)
    assert event.type == "result"
    assert event.problem is not None
    assert event.problem.startswith("num_turns:")
    assert event.model_extra == {"subtype": "success", "num_turns": "many"}


@pytest.mark.parametrize("line", [b"[SandboxDebug] hello", b"[1]", b"null", b'{"type":'])
def test_non_objects_raise_with_the_bytes(line: bytes) -> None:
    with pytest.raises(EventParseError) as info:
        parse_event(line)
    assert info.value.raw == line


def test_constructed_events_serialize_with_wire_names() -> None:
    event = ResultEvent.model_validate({"type": "result", "subtype": "success", "modelUsage": {}})
    assert json.loads(event.raw_json()) == {
        "type": "result",
        "subtype": "success",
        "modelUsage": {},
    }


def test_init_and_synthetic_skill_message_fields() -> None:
    items = Transcript.from_file(FIXTURES / "skill.ndjson").items
    init = next(i for i in items if isinstance(i, SystemInit))
    assert init.claude_code_version == "2.1.329"
    assert "Skill" in init.tools
    assert "greeter" in init.skills
    synthetic = [i for i in items if isinstance(i, UserEvent) and i.is_synthetic]
    assert synthetic, "the skill's body arrives as an isSynthetic user message"


BIG = [p for p in CAPTURES if p.stat().st_size > 1_000_000]


@pytest.mark.parametrize("path", BIG, ids=lambda p: p.stem)
def test_skimming_large_lines_gives_the_same_events(path: Path) -> None:
    """Lines over SKIM_MIN_BYTES skip undeclared fields undecoded: same event as a full parse."""
    large = [ln for ln in path.read_bytes().splitlines() if len(ln) >= SKIM_MIN_BYTES]
    assert large
    for line in large:
        skimmed = parse_event(line)
        full = _KNOWN.validate_json(line)
        assert type(skimmed) is type(full)
        assert skimmed == full
        assert skimmed.raw_json() is line
        assert skimmed.full() == json.loads(line)


def big_user_line(tool_use_result: str) -> bytes:
    head = '{"type":"user","message":{"role":"user","content":[{"type":"tool_result",'
    head += '"tool_use_id":"t1","content":"ok"}]},"tool_use_result":'
    return (head + tool_use_result + "}").encode()


def test_malformed_json_inside_a_skipped_field_is_still_an_error() -> None:
    padding = "x" * SKIM_MIN_BYTES
    good = big_user_line(f'{{"originalFile":"{padding}"}}')
    assert isinstance(parse_event(good), UserEvent)
    for bad in (
        big_user_line(f'{{"originalFile":"{padding}"'),  # unclosed object
        big_user_line(f'{{"originalFile":{padding}}}'),  # not a value
        good[:-1],  # truncated
    ):
        with pytest.raises(EventParseError):
            parse_event(bad)


def test_large_line_of_unknown_type_keeps_every_field() -> None:
    line = json.dumps({"type": "future_event", "blob": "y" * SKIM_MIN_BYTES, "n": 1}).encode()
    event = parse_event(line)
    assert isinstance(event, UnknownEvent)
    assert event.model_extra is not None
    assert event.model_extra["n"] == 1
    assert len(event.model_extra["blob"]) == SKIM_MIN_BYTES


def test_drift_is_reported_not_silently_dropped() -> None:
    """A known block or event in a new shape is kept, counted, and named in the summary."""
    lines = [
        json.dumps(
            {
                "type": "assistant",
                "message": {
                    "id": "m1",
                    "model": "claude-opus-5-5",
                    "content": [{"type": "tool_use", "name": "Write", "input": {}}],
                },
            }
        ),  # no id
        json.dumps(
            {
                "type": "assistant",
                "message": {
                    "id": "m2",
                    "model": "claude-opus-5-5",
                    "content": [{"type": "server_tool_use", "id": "s", "name": "x", "input": {}}],
                },
            }
        ),
        json.dumps({"type": "system", "subtype": "api_retry", "attempt": "first"}),
        json.dumps({"type": "result", "subtype": "success", "num_turns": "many"}),
    ]
    transcript = Transcript(parse_event(line.encode()) for line in lines)
    s = transcript.summary()
    assert s.unknown_blocks == 2
    assert s.unknown_events == 1  # the result; the system event stays a SystemOther
    assert s.shape_problems == [
        "tool_use block in an unexpected shape",
        "system/api_retry: api_retry.attempt: Input should be a valid integer, "
        "unable to parse string as an integer",
        "result/success: num_turns: Input should be a valid integer, "
        "unable to parse string as an integer",
    ]
    notices = [e.what for e in transcript.events() if e.kind == "notice"]
    assert notices[:2] == [
        "tool_use block in an unexpected shape",
        "unknown content block type 'server_tool_use'",
    ]
