"""The record/replay proxy over HTTP, on asyncio and trio: the recorder passes a scripted
model's replies through and keeps a scrubbed copy; the player serves it back and reports each
kind of divergence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from runner._model.cassette import CassetteHeader, CassetteWriter, read_cassette
from runner._model.http import serving
from runner._model.mock_api import scripted_model
from runner._model.normalize import RunPaths
from runner._model.player import Player
from runner._model.recorder import Recorder
from runner._model.script import Script, text, tool
from runner._model.sse import SseDecoder, aggregate

pytestmark = pytest.mark.anyio

REAL_KEY = "sk-ant-api03-REALKEYrealkeyREALKEY"
CLI_KEY = "sk-scripted-dummy"
RECORDED = RunPaths("/tmp/runner-rec/work", "/tmp/runner-rec/home", "/tmp/runner-rec", "/root")
TODAY = RunPaths("/tmp/runner-now/work", "/tmp/runner-now/home", "/tmp/runner-now", "/root")

SCRIPT = Script.model_validate(
    {
        "turns": [
            {"content": [tool("Write", file_path="/tmp/runner-rec/work/a.txt", content="hi")]},
            {"content": [text("Done: wrote /tmp/runner-rec/work/a.txt")]},
            {"content": [text("Sub-agent answer")]},
        ]
    }
)


def body(paths: RunPaths, *turns: str, first: str = "Write a.txt") -> dict[str, Any]:
    """A request as the CLI sends it: the conversation so far, paths of this run in it."""
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": [{"type": "text", "text": f"{first} in {paths.workspace}"}]}
    ]
    for t in turns:
        messages.append({"role": "assistant", "content": [{"type": "text", "text": t}]})
        messages.append({"role": "user", "content": [{"type": "text", "text": "go on"}]})
    return {
        "model": "claude-opus-5-5",
        "stream": True,
        "system": [{"type": "text", "text": f"Primary working directory: {paths.workspace}"}],
        "messages": messages,
        "metadata": {"user_id": json.dumps({"session_id": "af09ffd1-f6f6-4b4b-9dc8-3c57ae68ff23"})},
        "tools": [{"name": "Write", "description": "Writes a file", "input_schema": {}}],
    }


async def post(client: httpx.AsyncClient, url: str, payload: Any) -> httpx.Response:
    return await client.post(
        f"{url}/v1/messages?beta=true",
        json=payload,
        headers={"x-api-key": CLI_KEY, "anthropic-version": "2023-06-01"},
    )


def message_of(response: httpx.Response) -> dict[str, Any]:
    decoder = SseDecoder()
    events = decoder.feed(response.content) + decoder.close()
    return aggregate([e.data for e in events])


async def record(tmp_path: Path, requests: list[dict[str, Any]]) -> tuple[Path, list[Any]]:
    """Each request through a recorder in front of the scripted model; the cassette, and the
    requests as the upstream saw them."""
    writer = CassetteWriter(tmp_path / "s" / "agent-skill-0.ndjson")
    async with scripted_model(SCRIPT) as model:
        recorder = Recorder(model.url, writer, auth={"x-api-key": REAL_KEY}, secrets=(REAL_KEY,))
        recorder.bind(RECORDED)
        async with serving(recorder.handle) as url, httpx.AsyncClient() as client:
            for payload in requests:
                reply = await post(client, url, payload)
                assert reply.status_code == 200
        await recorder.aclose()
        seen = list(model.model.requests)
    header = CassetteHeader(
        scenario="s", lane="agent-skill", trial=0, recorded_at="now", runner_version="t",
        upstream="scripted",
    )  # fmt: skip
    return writer.finish(header), seen


async def test_the_recorder_streams_through_and_keeps_a_scrubbed_copy(tmp_path: Path) -> None:
    writer = CassetteWriter(tmp_path / "c.ndjson")
    async with scripted_model(SCRIPT) as model:
        recorder = Recorder(model.url, writer, auth={"x-api-key": REAL_KEY}, secrets=(REAL_KEY,))
        recorder.bind(RECORDED)
        async with serving(recorder.handle) as url, httpx.AsyncClient() as client:
            through = await post(client, url, body(RECORDED))
        await recorder.aclose()
        upstream_saw = model.model.requests[0]
    # The CLI got the scripted model's reply, streamed.
    assert through.headers["content-type"].startswith("text/event-stream")
    message = message_of(through)
    assert message["content"][0]["input"]["file_path"] == "/tmp/runner-rec/work/a.txt"
    # Upstream got runner's key, never the CLI's dummy; the body as the CLI sent it.
    assert upstream_saw.headers["x-api-key"] == REAL_KEY
    assert upstream_saw.body["metadata"]
    # The copy: scrubbed, compacted, and the same message.
    raw = writer.partial_path.read_bytes()
    for secret in (REAL_KEY, CLI_KEY, "runner-rec", "af09ffd1"):
        assert secret.encode() not in raw
    exchange = writer.exchanges[0]
    assert set(exchange.request.headers) <= {"anthropic-version", "anthropic-beta", "content-type"}
    assert "metadata" not in exchange.request.body
    assert exchange.request.body["tools"][0].keys() == {"name", "definition"}
    assert (
        exchange.request.body["system"][0]["text"]
        == "Primary working directory: {runner:workspace}"
    )
    kept = exchange.response.message()
    assert kept is not None
    assert kept["content"][0]["input"]["file_path"] == "{runner:workspace}/a.txt"
    deltas = [e for e in exchange.response.events or [] if e.event == "content_block_delta"]
    assert len(deltas) == 1  # a block's deltas joined into one


async def test_a_non_streaming_reply_and_an_upstream_that_is_down(tmp_path: Path) -> None:
    writer = CassetteWriter(tmp_path / "c.ndjson")
    async with scripted_model(SCRIPT) as model:
        recorder = Recorder(model.url, writer)
        async with serving(recorder.handle) as url, httpx.AsyncClient() as client:
            reply = await post(client, url, {**body(RECORDED), "stream": False})
        await recorder.aclose()
    assert reply.json()["content"][0]["name"] == "Write"
    assert writer.exchanges[0].response.events is None
    assert writer.exchanges[0].response.body["content"][0]["name"] == "Write"

    down = Recorder("http://127.0.0.1:9", CassetteWriter(tmp_path / "d.ndjson"))
    async with serving(down.handle) as url, httpx.AsyncClient() as client:
        reply = await post(client, url, body(RECORDED))
    await down.aclose()
    assert reply.status_code == 502
    assert "upstream" in down.problems[0]
    assert not (tmp_path / "d.ndjson.partial").exists()  # nothing was said, nothing kept


async def test_the_player_serves_the_recording_with_todays_paths(tmp_path: Path) -> None:
    path, _ = await record(tmp_path, [body(RECORDED), body(RECORDED, "Wrote it")])
    player = Player(read_cassette(path), "s/agent-skill#0")
    player.bind(TODAY)
    async with serving(player.handle) as url, httpx.AsyncClient() as client:
        first = await post(client, url, body(TODAY))
        second = await post(client, url, body(TODAY, "Wrote it"))
    assert message_of(first)["content"][0]["input"]["file_path"] == "/tmp/runner-now/work/a.txt"
    assert message_of(second)["content"][0]["text"] == "Done: wrote /tmp/runner-now/work/a.txt"
    assert player.finish() is None
    assert player.requests == 2


async def test_a_request_that_differs_is_refused_with_its_index_and_a_diff(
    tmp_path: Path,
) -> None:
    path, _ = await record(tmp_path, [body(RECORDED), body(RECORDED, "Wrote it")])
    player = Player(read_cassette(path), "s/agent-skill#0")
    player.bind(TODAY)
    async with serving(player.handle) as url, httpx.AsyncClient() as client:
        assert (await post(client, url, body(TODAY))).status_code == 200
        refused = await post(client, url, body(TODAY, "Wrote something else"))
    assert refused.status_code == 400
    assert "request 1" in refused.json()["error"]["message"]
    (divergence,) = player.divergences
    assert (divergence.kind, divergence.index, divergence.recorded) == ("mismatch", 1, 1)
    assert "-messages[1].content[0].text: Wrote it" in divergence.diff
    assert "+messages[1].content[0].text: Wrote something else" in divergence.diff
    assert "s/agent-skill#0" in divergence.message()
    assert player.finish() is divergence  # the first divergence is the run's


async def test_a_request_past_the_end_and_a_reply_left_unused(tmp_path: Path) -> None:
    path, _ = await record(tmp_path, [body(RECORDED), body(RECORDED, "Wrote it")])
    past = Player(read_cassette(path), "s/agent-skill#0")
    past.bind(TODAY)
    unused = Player(read_cassette(path), "s/agent-skill#0")
    unused.bind(TODAY)
    async with httpx.AsyncClient() as client:
        async with serving(past.handle) as url:
            await post(client, url, body(TODAY))
            await post(client, url, body(TODAY, "Wrote it"))
            extra = await post(client, url, body(TODAY, "Wrote it", "And again"))
        async with serving(unused.handle) as url:
            await post(client, url, body(TODAY))
    assert extra.status_code == 400
    assert past.divergences[0].kind == "past_end"
    assert past.divergences[0].index == 2
    assert "2 exchanges for POST /v1/messages?beta=true, all served" in past.divergences[0].diff[0]
    assert "+messages[4].content[0].text: go on" in past.divergences[0].diff  # what it asked
    left = unused.finish()
    assert left is not None
    assert (left.kind, left.index) == ("unconsumed", 1)
    assert "1 of 2 recorded exchanges were never requested" in left.diff[0]
    assert "-messages[2].content[0].text: go on" in left.diff  # what nobody asked


async def test_each_conversation_keeps_its_own_order(tmp_path: Path) -> None:
    # The main thread and a subagent interleave differently on replay; each is in order.
    main1, main2 = body(RECORDED), body(RECORDED, "Wrote it")
    sub = body(RECORDED, first="Look around")
    # Recorded in the order main1, sub, main2: the scripted model's turns 1, 2, 3.
    path, _ = await record(tmp_path, [main1, sub, main2])
    player = Player(read_cassette(path), "s/agent-skill#0")
    player.bind(RECORDED)
    async with serving(player.handle) as url, httpx.AsyncClient() as client:
        replies = [await post(client, url, b) for b in (main1, main2, sub)]
    assert [r.status_code for r in replies] == [200, 200, 200]
    said = [message_of(r)["content"][0].get("text") for r in replies[1:]]
    assert said == ["Sub-agent answer", "Done: wrote /tmp/runner-rec/work/a.txt"]
    assert player.finish() is None


async def test_the_clis_probe_is_answered_never_recorded_nor_a_divergence(tmp_path: Path) -> None:
    # `HEAD /api/hello` comes first when nonessential traffic is on; nobody asks the model.
    writer = CassetteWriter(tmp_path / "c.ndjson")
    async with scripted_model(SCRIPT) as model:
        recorder = Recorder(model.url, writer)
        recorder.bind(RECORDED)
        async with serving(recorder.handle) as url, httpx.AsyncClient() as client:
            assert (await client.head(f"{url}/api/hello")).status_code == 200
            assert (await post(client, url, body(RECORDED))).status_code == 200
        await recorder.aclose()
        assert [r.path for r in model.model.requests] == ["/v1/messages"]
    header = CassetteHeader(
        scenario="s", lane="agent-skill", trial=0, recorded_at="now", runner_version="t",
        upstream="scripted",
    )  # fmt: skip
    cassette = read_cassette(writer.finish(header))
    assert [e.request.method for e in cassette.exchanges] == ["POST"]
    player = Player(cassette, "s/agent-skill#0")
    player.bind(RECORDED)
    async with serving(player.handle) as url, httpx.AsyncClient() as client:
        assert (await client.head(f"{url}/api/hello")).status_code == 200
        assert (await client.get(f"{url}/api/hello")).status_code == 200
        assert (await post(client, url, body(RECORDED))).status_code == 200
    assert player.finish() is None
    assert player.requests == 1
