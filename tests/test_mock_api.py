"""The scripted Messages endpoint speaks SSE like the real API (both backends)."""

from __future__ import annotations

import json
import math
import random
from collections import Counter
from pathlib import Path
from typing import Any

import anyio
import pytest

from runner._model.mock_api import SESSION_HEADER, scripted_model
from runner._model.script import Script, ScriptFileError, Turn, load_script, resolve
from tests.command_support import say, sse_events

pytestmark = pytest.mark.anyio


async def post(
    url: str, path: str, body: dict[str, Any], headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    host, port = url.removeprefix("http://").split(":")
    data = json.dumps(body).encode()
    extra = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    async with await anyio.connect_tcp(host, int(port)) as s:
        await s.send(
            f"POST {path} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n{extra}"
            f"content-length: {len(data)}\r\nconnection: close\r\n\r\n".encode()
            + data
        )
        raw = b""
        try:
            while True:
                raw += await s.receive()
        except (anyio.EndOfStream, anyio.BrokenResourceError):
            pass
    head, _, rest = raw.partition(b"\r\n\r\n")
    status = int(head.split()[1])
    if b"chunked" in head.lower():  # de-chunk
        body_out, rest2 = b"", rest
        while rest2:
            size_s, _, rest2 = rest2.partition(b"\r\n")
            size = int(size_s, 16)
            if size == 0:
                break
            body_out += rest2[:size]
            rest2 = rest2[size + 2 :]
        rest = body_out
    return status, rest


async def test_streamed_turns_in_order(anyio_backend: str) -> None:
    script = Script.model_validate(
        {
            "turns": [
                {
                    "content": [
                        {"type": "thinking", "thinking": "hm"},
                        {"type": "text", "text": "a" * 150},
                        {
                            "type": "tool_use",
                            "name": "Write",
                            "input": {"file_path": "x", "content": "y"},
                        },
                    ]
                },
                {
                    "content": [{"type": "text", "text": "done"}],
                    "usage": {"input_tokens": 7, "output_tokens": 3},
                },
            ]
        }
    )
    async with scripted_model(script) as m:
        status, body = await post(
            m.url, "/v1/messages?beta=true", {"model": "claude-x", "stream": True}
        )
        assert status == 200
        events = sse_events(body)
        kinds = [e["type"] for e in events]
        assert kinds[0] == "message_start"
        assert kinds[-2:] == ["message_delta", "message_stop"]
        deltas = [e["delta"] for e in events if e["type"] == "content_block_delta"]
        assert "".join(d.get("text", "") for d in deltas) == "a" * 150
        assert json.loads("".join(d.get("partial_json", "") for d in deltas)) == {
            "file_path": "x",
            "content": "y",
        }
        assert events[-2]["delta"]["stop_reason"] == "tool_use"
        assert events[0]["message"]["model"] == "claude-x"
        _, body2 = await post(m.url, "/v1/messages", {"model": "claude-x", "stream": False})
        message = json.loads(body2)
        assert message["content"] == [{"type": "text", "text": "done"}]
        assert message["usage"]["output_tokens"] == 3
        assert message["stop_reason"] == "end_turn"
        assert m.model.turns_served == 2


async def test_errors_exhaustion_and_other_routes(anyio_backend: str) -> None:
    script = Script.model_validate(
        {"turns": [{"error": {"status": 529, "type": "overloaded_error"}, "repeat": 2}]}
    )
    async with scripted_model(script) as m:
        for _ in range(2):
            status, body = await post(m.url, "/v1/messages", {"stream": True})
            assert status == 529
            assert json.loads(body)["error"]["type"] == "overloaded_error"
        status, body = await post(m.url, "/v1/messages", {"stream": True})
        assert status == 400
        assert "all used" in json.loads(body)["error"]["message"]
        status, body = await post(m.url, "/v1/messages/count_tokens", {"messages": []})
        assert status == 200
        assert "input_tokens" in json.loads(body)
        status, _ = await post(m.url, "/v1/other", {})
        assert status == 404
        assert [r.path for r in m.model.requests][-2:] == ["/v1/messages/count_tokens", "/v1/other"]


def test_script_errors_name_file_and_field(tmp_path: Any) -> None:
    bad = tmp_path / "s.json"
    bad.write_text('{"turns": [{"content": [{"type": "txt", "text": "x"}]}]}')
    with pytest.raises(ScriptFileError, match=r"s\.json: turns\.0\.content\.0"):
        load_script(bad)
    with pytest.raises(ScriptFileError, match="cannot read"):
        load_script(tmp_path / "missing.json")


async def test_conversations_are_routed_by_their_first_message(anyio_backend: str) -> None:
    """A subagent's requests get its own turns, whatever order they arrive in."""
    script = Script.model_validate(
        {
            "turns": [
                {"content": [{"type": "text", "text": "parent 1"}]},
                {"content": [{"type": "text", "text": "parent 2"}]},
            ],
            "conversations": {"[sub]": [{"content": [{"type": "text", "text": "sub 1"}]}]},
        }
    )

    def body(first: str) -> dict[str, Any]:
        return {"stream": False, "messages": [{"role": "user", "content": first}]}

    async with scripted_model(script) as m:
        texts = []
        for first in ("do it", "[sub] help the parent", "do it"):
            _, raw = await post(m.url, "/v1/messages", body(first))
            texts.append(json.loads(raw)["content"][0]["text"])
        assert texts == ["parent 1", "sub 1", "parent 2"]
        assert m.model.turns_left == 0
        status, raw = await post(m.url, "/v1/messages", body("[sub] again"))
        assert status == 400


async def test_a_handler_bug_is_a_500_not_a_dead_server(anyio_backend: str) -> None:
    from functools import partial

    from runner._model.http import HttpRequest, HttpResponse, serve

    async def broken(req: HttpRequest) -> HttpResponse:
        if req.path == "/boom":
            raise RuntimeError("bug in handler")
        return HttpResponse(200, [], b"fine")

    async with anyio.create_task_group() as tg:
        port = await tg.start(partial(serve, broken))
        url = f"http://127.0.0.1:{port}"
        status, body = await post(url, "/boom", {})
        assert status == 500
        assert body == b"RuntimeError: bug in handler"
        assert await post(url, "/ok", {}) == (200, b"fine")
        tg.cancel_scope.cancel()


def texts(turns: list[Turn]) -> list[str]:
    return [b.text for t in turns for b in t.content if b.type == "text"]


def draw(steps: list[Any], seed: int) -> list[str]:
    return texts(resolve(Script.model_validate({"turns": steps}).turns, random.Random(seed)))


def test_choices_follow_their_weights() -> None:
    steps = [{"choose": [{"weight": 3, "turns": [say("A")]}, {"turns": [say("B")]}]}]
    n, p = 400, 3 / 4
    counts = Counter(draw(steps, seed)[0] for seed in range(n))
    # Five standard deviations of a binomial count: a miss means a bug, not bad luck.
    slack = 5 * math.sqrt(n * p * (1 - p))
    assert abs(counts["A"] - n * p) <= slack, counts
    assert counts["A"] + counts["B"] == n


def test_the_same_seed_always_draws_the_same() -> None:
    inner = {"choose": [{"turns": [say("x")]}, {"turns": [say("y")]}]}
    steps = [say("start"), inner, {"choose": [{"turns": [say("p")]}, {"turns": [say("q")]}]}]
    for seed in range(50):
        assert draw(steps, seed) == draw(steps, seed)
    assert len({tuple(draw(steps, seed)) for seed in range(50)}) == 4


def test_nested_choices_and_repeat_inside_a_branch() -> None:
    steps = [
        {
            "choose": [
                {
                    "turns": [
                        {"choose": [{"turns": [say("x")]}, {"turns": [say("y")]}]},
                        {**say("again"), "repeat": 2},
                    ]
                },
                {"turns": []},  # an empty branch: nothing happens here this time
            ]
        },
        say("end"),
    ]
    seen = {tuple(draw(steps, seed)) for seed in range(100)}
    assert seen == {("x", "again", "again", "end"), ("y", "again", "again", "end"), ("end",)}


@pytest.mark.parametrize(
    ("script", "where"),
    [
        (
            {"turns": [say("a"), say("b"), {"choose": [{"weight": 0, "turns": []}]}]},
            "turns.2.choose.0.weight: Input should be greater than 0",
        ),
        ({"turns": [{"chose": []}]}, "turns.0.chose: Extra inputs are not permitted"),
        (
            {"turns": [{"choose": [{"wieght": 1, "turns": []}]}]},
            "turns.0.choose.0.wieght: Extra inputs are not permitted",
        ),
        (
            {"turns": [], "conversations": {"[sub]": [{"choose": [{"turns": [{"rpeat": 2}]}]}]}},
            "conversations.[sub].0.choose.0.turns.0.rpeat: Extra inputs are not permitted",
        ),
        ({"turns": [{"choose": []}]}, "turns.0.choose: List should have at least 1 item"),
    ],
)
def test_a_bad_choice_names_its_place(tmp_path: Path, script: dict[str, Any], where: str) -> None:
    path = tmp_path / "s.json"
    path.write_text(json.dumps(script))
    with pytest.raises(ScriptFileError) as caught:
        load_script(path)
    assert str(caught.value).startswith(f"{path}: {where}")


CHOOSY = {
    "seed": 41,
    "turns": [
        say("hello"),
        {"choose": [{"turns": [say(f"branch {i}")]} for i in range(8)]},
    ],
}


def first_text(raw: bytes) -> str:
    return str(json.loads(raw)["content"][0]["text"])


async def test_each_session_plays_the_script_from_its_start(anyio_backend: str) -> None:
    script = Script.model_validate(CHOOSY)
    expected = {n: texts(resolve(script.turns, random.Random(41 + n))) for n in (0, 1)}
    assert expected[0] != expected[1]  # else the test could not tell the sessions apart
    got: dict[str, list[str]] = {"one": [], "two": []}
    async with scripted_model(script) as m:
        assert m.model.turns_left == 2  # no session yet: one fresh draw
        for sid in ("one", "two", "one", "two"):  # interleaved, as parallel runs would be
            _, raw = await post(m.url, "/v1/messages", {}, {SESSION_HEADER: sid})
            got[sid].append(first_text(raw))
        assert got == {"one": expected[0], "two": expected[1]}
        status, _ = await post(m.url, "/v1/messages", {}, {SESSION_HEADER: "one"})
        assert status == 400  # a session's own turns run out, whatever the others do
        assert [(s.id, s.seed, s.turns, s.served) for s in m.model.sessions] == [
            ("one", 41, 2, 2),
            ("two", 42, 2, 2),
        ]
        assert (m.model.turns_served, m.model.turns_left) == (4, 0)


async def test_no_header_is_one_default_session_and_seed_overrides(anyio_backend: str) -> None:
    script = Script.model_validate(CHOOSY)
    expected = texts(resolve(script.turns, random.Random(7)))
    async with scripted_model(script, seed=7) as m:
        got = [first_text((await post(m.url, "/v1/messages", {}))[1]) for _ in range(2)]
        assert got == expected
        assert (await post(m.url, "/v1/messages", {}))[0] == 400
        assert [(s.id, s.seed) for s in m.model.sessions] == [(None, 7)]
