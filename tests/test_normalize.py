"""What a cassette may hold (scrub, fill), what makes two requests the same (projection), and
SSE framing: the pieces under the record/replay proxy."""

from __future__ import annotations

import json
import random
from typing import Any

import pytest

from runner._model.normalize import (
    SECRET,
    USER_HOME,
    WORKSPACE,
    Normalizer,
    RunPaths,
    Scrubber,
    json_diff,
    projection,
)
from runner._model.sse import SseDecoder, SseEvent, aggregate, encode, join_deltas
from runner._util.redact import environment_secrets

PATHS = RunPaths(
    workspace="/tmp/runner-abc123/work",
    home="/tmp/runner-abc123/home",
    root="/tmp/runner-abc123",
    user_home="/home/ada",
)


def test_scrub_turns_a_runs_paths_into_placeholders_and_fill_brings_todays_back() -> None:
    body = {
        "system": "Primary working directory: /tmp/runner-abc123/work\n",
        "messages": [
            {"content": "ls /tmp/runner-abc123/work/src and /home/ada/.npmrc"},
            {"content": "memory: /tmp/runner-abc123/home/.claude/projects/-tmp-runner-abc123-work"},
            {"content": "scratch in /tmp/runner-abc123/tmp/x"},
        ],
    }
    scrubbed = Scrubber(PATHS).scrub(body)
    text = json.dumps(scrubbed)
    assert "runner-abc123" not in text
    assert "/home/ada" not in text
    assert scrubbed["system"] == f"Primary working directory: {WORKSPACE}\n"
    assert f"{USER_HOME}/.npmrc" in scrubbed["messages"][0]["content"]
    assert "{runner:workspace_slug}" in scrubbed["messages"][1]["content"]

    today = RunPaths(
        workspace="/var/tmp/runner-zzz/work",
        home="/var/tmp/runner-zzz/home",
        root="/var/tmp/runner-zzz",
        user_home="/home/grace",
    )
    filled = Scrubber(today).fill(scrubbed)
    assert filled["system"] == "Primary working directory: /var/tmp/runner-zzz/work\n"
    assert (
        filled["messages"][0]["content"] == "ls /var/tmp/runner-zzz/work/src and /home/grace/.npmrc"
    )
    assert "-var-tmp-runner-zzz-work" in filled["messages"][1]["content"]


def test_a_path_is_only_replaced_where_it_ends() -> None:
    scrubber = Scrubber(RunPaths(workspace="/srv/work"))
    assert scrubber.scrub_text("/srv/workshop and /srv/work.d") == "/srv/workshop and /srv/work.d"
    assert scrubber.scrub_text('"/srv/work" /srv/work/a') == f'"{WORKSPACE}" {WORKSPACE}/a'


def test_a_root_home_is_not_every_slash() -> None:
    assert Scrubber(RunPaths(user_home="/")).scrub_text("/usr/bin") == "/usr/bin"


def test_secrets_from_the_environment_and_key_shapes_are_scrubbed() -> None:
    env = {
        "ANTHROPIC_API_KEY": "sk-ant-api03-abcdefghijklmnop",
        "GITHUB_TOKEN": "ghp_0123456789abcdef",
        "DEPLOY_PASSWORD": "hunter2hunter2",
        "PATH": "/usr/bin:/bin",  # not a secret by name
        "SHORT_TOKEN": "abc",  # too short to be worth a false match
    }
    secrets = environment_secrets(env)
    assert set(secrets) == {
        "sk-ant-api03-abcdefghijklmnop",
        "ghp_0123456789abcdef",
        "hunter2hunter2",
    }
    scrubber = Scrubber(RunPaths(), secrets)
    text = "token ghp_0123456789abcdef, pw hunter2hunter2, other key sk-ant-api03-ZZZZZZZZZZZZ"
    assert scrubber.scrub_text(text) == f"token {SECRET}, pw {SECRET}, other key {SECRET}"


def test_the_normalizer_numbers_ids_so_pairs_still_pair() -> None:
    n = Normalizer()
    value = n.value(
        {
            "a": "toolu_01ABC called at 2026-11-21T07:06:27.123Z",
            "b": "answer to toolu_01ABC, then toolu_02XYZ",
            "session": "af09ffd1-f6f6-4b4b-9dc8-3c57ae68ff23",
            "date": "Sat Nov 21 07:06:27 UTC 2026",
            "cache_control": {"type": "ephemeral"},
        }
    )
    assert value == {
        "a": "{toolu:1} called at {iso}",
        "b": "answer to {toolu:1}, then {toolu:2}",
        "session": "{uuid}",
        "date": "{clock}",
    }


def test_projection_ignores_how_a_request_is_sent_but_not_what_it_says() -> None:
    base = {
        "model": "claude-opus-5-5",
        "metadata": {"user_id": "device 1"},
        "messages": [{"role": "user", "content": [{"type": "text", "text": "Add a line"}]}],
        "tools": [{"name": "Read", "description": "Reads a file", "input_schema": {}}],
    }
    same = {
        **base,
        "metadata": {"user_id": "device 2"},
        "messages": [
            {
                "role": "user",
                "content": [{"type": "text", "text": "Add a line", "cache_control": {"x": 1}}],
            }
        ],
    }
    assert projection(base) == projection(same)
    other_tool = {**base, "tools": [{"name": "Read", "description": "Reads", "input_schema": {}}]}
    assert projection(base) != projection(other_tool)
    said = {**base, "messages": [{"role": "user", "content": [{"type": "text", "text": "Nope"}]}]}
    diff = json_diff(projection(base), projection(said))
    assert "-messages[0].content[0].text: Add a line" in diff
    assert "+messages[0].content[0].text: Nope" in diff
    assert json_diff(projection(base), projection(same)) == []


def test_a_diff_points_at_the_line_of_a_long_text_and_is_capped() -> None:
    recorded = {"system": "\n".join(f"line {i}" for i in range(200))}
    live = {"system": recorded["system"].replace("line 150", "line 150 changed")}
    diff = json_diff(recorded, live)
    assert "-system: line 150" in diff
    assert "+system: line 150 changed" in diff
    many = json_diff({"x": list(range(100))}, {"x": list(range(100, 200))}, limit=10)
    assert len(many) == 11
    assert many[-1].startswith("... ")


def _events() -> list[SseEvent]:
    text = "The quick brown fox jumps over /tmp/runner-abc123/work/CHANGELOG.md. " * 3
    tool_input = json.dumps({"file_path": "/tmp/runner-abc123/work/CHANGELOG.md", "content": "x"})
    events: list[dict[str, Any]] = [
        {"type": "message_start", "message": {"id": "msg_1", "model": "m", "usage": {}}},
        {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        *(
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": c}}
            for c in (text[i : i + 7] for i in range(0, len(text), 7))
        ),
        {"type": "content_block_stop", "index": 0},
        {
            "type": "content_block_start",
            "index": 1,
            "content_block": {"type": "tool_use", "id": "toolu_1", "name": "Write", "input": {}},
        },
        *(
            {
                "type": "content_block_delta",
                "index": 1,
                "delta": {"type": "input_json_delta", "partial_json": c},
            }
            for c in (tool_input[i : i + 5] for i in range(0, len(tool_input), 5))
        ),
        {"type": "content_block_stop", "index": 1},
        {
            "type": "message_delta",
            "delta": {"stop_reason": "tool_use"},
            "usage": {"output_tokens": 9},
        },
        {"type": "message_stop"},
    ]
    return [SseEvent(event=e["type"], data=e) for e in events]


@pytest.mark.parametrize("seed", range(5))
def test_the_decoder_gives_the_same_events_however_the_bytes_are_cut(seed: int) -> None:
    events = _events()
    raw = b"".join(encode(e) for e in events).replace(b"\n", b"\r\n" if seed % 2 else b"\n")
    raw = b": keep-alive comment\n\n" + raw
    rng = random.Random(seed)
    cuts = sorted(rng.sample(range(1, len(raw)), 40))
    decoder, out = SseDecoder(), []
    for a, b in zip([0, *cuts], [*cuts, len(raw)], strict=True):
        out += decoder.feed(raw[a:b])
    out += decoder.close()
    assert out == events


def test_joined_deltas_add_up_to_the_same_message_and_make_paths_whole() -> None:
    events = _events()
    joined = join_deltas(events)
    assert len(joined) == 9  # message start, 2 x (block start, one delta, stop), delta, stop
    assert aggregate([e.data for e in joined]) == aggregate([e.data for e in events])
    scrubbed = Scrubber(PATHS).scrub([e.data for e in joined])
    assert "runner-abc123" not in json.dumps(scrubbed)
    message = aggregate(scrubbed)
    assert message["content"][1]["input"]["file_path"] == f"{WORKSPACE}/CHANGELOG.md"


def test_the_machine_a_request_was_recorded_on_does_not_matter() -> None:
    here = {"system": "- Platform: linux\n - OS Version: Linux 6.18.44-fc-v657\n - Shell: bash"}
    there = {"system": "- Platform: linux\n - OS Version: Linux 6.1.0-31-amd64\n - Shell: bash"}
    assert projection(here) == projection(there)


def test_the_clis_prompt_checksum_is_not_a_second_difference() -> None:
    a = {"system": "x-anthropic-billing-header: cc_version=2.1.329.416; cc_entrypoint=sdk-cli;"}
    b = {"system": "x-anthropic-billing-header: cc_version=2.1.329.383; cc_entrypoint=sdk-cli;"}
    assert projection(a) == projection(b)
