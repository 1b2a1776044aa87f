"""runner's HTTP servers against hostile clients, over raw sockets, on asyncio and trio: the
scripted model and the record proxy in front of it answer a malformed request with an error
and close that connection, answer HEAD, and go on serving everyone else."""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import anyio
import httpx
import pytest
from anyio.abc import SocketStream

from runner._model import http
from runner._model.http import HttpRequest, HttpResponse, serving
from runner._model.live import forwarding
from runner._model.mock_api import scripted_model
from runner._model.recorder import Recorder
from runner._model.script import Script
from tests.command_support import say, sse_events

pytestmark = pytest.mark.anyio

SCRIPT = Script.model_validate({"turns": [{**say("still here"), "repeat": 20}]})
MESSAGES = json.dumps({"model": "claude-x", "stream": True, "messages": []}).encode()
NORMAL = (
    b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
    b"content-length: %d\r\n\r\n%s" % (len(MESSAGES), MESSAGES)
)


@asynccontextmanager
async def endpoint(kind: str) -> AsyncIterator[str]:
    """The scripted model, or runner's live proxy forwarding to it as to the API: its URL."""
    async with scripted_model(SCRIPT) as model:
        if kind == "scripted model":
            yield model.url
            return
        live = {"ANTHROPIC_BASE_URL": model.url, "ANTHROPIC_API_KEY": "sk-test"}
        async with forwarding(live) as url:
            yield url


async def connect(url: str) -> SocketStream:
    host, port = url.removeprefix("http://").split(":")
    return await anyio.connect_tcp(host, int(port))


async def read_all(stream: SocketStream) -> bytes:
    """Everything the server sends until it closes."""
    raw = b""
    with contextlib.suppress(anyio.EndOfStream, anyio.BrokenResourceError):
        while True:
            raw += await stream.receive()
    return raw


async def exchange(url: str, data: bytes, *, eof: bool = True) -> bytes:
    """``data`` on a new connection (then, with ``eof``, no more); all the server answered."""
    async with await connect(url) as stream:
        await stream.send(data)
        if eof:
            await stream.send_eof()
        return await read_all(stream)


def status(reply: bytes) -> int:
    return int(reply.split(b" ", 2)[1])


async def assert_serves(url: str) -> None:
    reply = await exchange(url, NORMAL)
    assert status(reply) == 200, reply
    said = [e["delta"]["text"] for e in sse_events(reply) if e["type"] == "content_block_delta"]
    assert said == ["still here"]


HOSTILE = {
    "truncated body": (
        b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\nabc",
        400,
    ),
    "garbage": (b"\x00\xff\xfe\x16\x03\x01 not http at all\r\n\r\n", 400),
    "no request line": (b"\r\n\r\n\r\n", 400),
    "bad content-length": (
        b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: -5\r\n\r\n",
        400,
    ),
}


@pytest.mark.parametrize("kind", ["scripted model", "proxy"])
@pytest.mark.parametrize("attack", HOSTILE)
async def test_a_malformed_request_is_a_400_and_the_server_goes_on(
    anyio_backend: str, kind: str, attack: str
) -> None:
    data, expected = HOSTILE[attack]
    async with endpoint(kind) as url:
        with anyio.fail_after(30):
            reply = await exchange(url, data)
            assert status(reply) == expected, reply
            assert b"connection: close" in reply.lower()
            assert b"runner: bad request:" in reply
            await assert_serves(url)


@pytest.mark.parametrize("kind", ["scripted model", "proxy"])
async def test_a_huge_head_a_huge_body_and_clients_that_leave(
    anyio_backend: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(http, "MAX_BODY_BYTES", 1000)
    async with endpoint(kind) as url:
        with anyio.fail_after(30):
            # One byte over the cap and no end of head: read whole, then refused.
            head = b"GET / HTTP/1.1\r\nx-big: "
            huge = head + b"a" * (http.MAX_HEAD_BYTES + 1 - len(head))
            assert status(await exchange(url, huge, eof=False)) == 431
            body = b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: 5000\r\n\r\n"
            assert status(await exchange(url, body + b"{" * 1001, eof=False)) == 413
            # Gone mid-head, and gone mid-body: nobody to answer.
            assert await exchange(url, b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncont") == b""
            async with await connect(url) as leaving:
                await leaving.send(b"POST /v1/messages HTTP/1.1\r\ncontent-length: 9\r\n\r\n{")
            # A client that sends half a request and waits holds its own connection only.
            async with await connect(url) as stalled:
                await stalled.send(b"POST /v1/messages HTTP/1.1\r\ncontent-length: 9\r\n\r\n{")
                await assert_serves(url)
            await assert_serves(url)


@pytest.mark.parametrize("kind", ["scripted model", "proxy"])
async def test_a_header_value_that_is_not_utf8_is_served(anyio_backend: str, kind: str) -> None:
    odd = NORMAL.replace(b"host: x\r\n", b"host: x\r\nx-odd: caf\xe9\r\n")
    async with endpoint(kind) as url:
        with anyio.fail_after(30):
            reply = await exchange(url, odd)
            assert status(reply) == 200, reply
            await assert_serves(url)


@pytest.mark.parametrize("kind", ["scripted model", "proxy"])
async def test_head_and_the_clis_probe_keep_the_connection(anyio_backend: str, kind: str) -> None:
    # The CLI's first request, unless nonessential traffic is off: `HEAD /api/hello`.
    async with endpoint(kind) as url:
        with anyio.fail_after(30):
            reply = await exchange(
                url,
                b"HEAD /api/hello HTTP/1.1\r\nhost: x\r\n\r\n"
                b"HEAD /v1/nothing HTTP/1.1\r\nhost: x\r\n\r\n"
                b"GET /api/hello HTTP/1.1\r\nhost: x\r\n\r\n",
            )
    replies = reply.split(b"HTTP/1.1 ")[1:]
    assert [status(b"HTTP/1.1 " + r) for r in replies] == [200, 404, 200]
    hello, missing, got = replies
    assert hello.endswith(b"content-length: 2\r\n\r\n")  # declared, not sent
    assert missing.endswith(b"\r\n\r\n")  # no body, so the next reply follows at once
    assert got.endswith(b"\r\n\r\n{}")


async def test_an_upstream_that_drops_mid_reply_is_a_problem_not_a_dead_proxy(
    anyio_backend: str,
) -> None:
    async def dropping(req: HttpRequest) -> HttpResponse:
        async def body() -> AsyncIterator[bytes]:
            yield b"event: message_start\ndata: {}\n\n"
            raise ConnectionResetError("the upstream went away")

        if req.path == "/fine":
            return HttpResponse(200, [], b"fine")
        return HttpResponse(200, [("content-type", "text/event-stream")], body())

    async with serving(dropping) as upstream:
        recorder = Recorder(upstream)
        try:
            async with serving(recorder.handle) as url, httpx.AsyncClient() as client:
                with anyio.fail_after(30):
                    with pytest.raises(httpx.RemoteProtocolError):
                        await client.post(f"{url}/v1/messages", content=b"{}")
                    fine = await client.get(f"{url}/fine")
        finally:
            await recorder.aclose()
    assert (fine.status_code, fine.content) == (200, b"fine")
    (problem,) = recorder.problems
    assert problem.startswith(f"request 0: upstream {upstream} failed: ")


@pytest.mark.parametrize("kind", ["scripted model", "proxy"])
async def test_a_body_nested_past_pythons_reach_is_a_400(anyio_backend: str, kind: str) -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    head = b"POST /v1/messages HTTP/1.1\r\nhost: x\r\ncontent-length: %d\r\n\r\n" % len(deep)
    async with endpoint(kind) as url:
        with anyio.fail_after(30):
            reply = await exchange(url, head + deep)
            assert status(reply) == 400, reply[:200]
            assert b"body is not a JSON object" in reply
            await assert_serves(url)
