"""A minimal HTTP/1.1 server on anyio: h11 does the framing, anyio the sockets.

It serves local endpoints only (the scripted model, later the record/replay proxy), so it
binds to loopback and handles keep-alive, streaming responses and nothing fancier.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import anyio
import h11
from anyio.abc import SocketStream, TaskStatus

_MAX_RECV = 65536


@dataclass(frozen=True)
class HttpRequest:
    method: str
    target: str
    headers: dict[str, str]  # lower-cased names
    body: bytes

    @property
    def path(self) -> str:
        return self.target.split("?", 1)[0]


@dataclass
class HttpResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    # bytes for a whole body; an async iterator to stream (sent chunked, flushed per item).
    body: bytes | AsyncIterator[bytes] = b""


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


def json_response(status: int, payload: Any) -> HttpResponse:
    body = json.dumps(payload).encode()
    return HttpResponse(status, [("content-type", "application/json")], body)


def api_error(status: int, kind: str, message: str) -> HttpResponse:
    """An error as the Messages API words one: what both local endpoints answer with."""
    return json_response(status, {"type": "error", "error": {"type": kind, "message": message}})


async def serve(
    handler: Handler,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; reports the bound port through ``task_status``."""
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    async with listener:
        bound = listener.extra(anyio.abc.SocketAttribute.local_port)
        task_status.started(bound)

        async def on_connection(stream: SocketStream) -> None:
            async with stream:
                await _serve_connection(stream, handler)

        await listener.serve(on_connection)


@asynccontextmanager
async def serving(handler: Handler, *, port: int = 0) -> AsyncIterator[str]:
    """``handler`` served on 127.0.0.1 for the body of the ``async with``; yields its URL."""
    async with anyio.create_task_group() as tg:
        bound = await tg.start(partial(serve, handler, port=port))
        try:
            yield f"http://127.0.0.1:{bound}"
        finally:
            tg.cancel_scope.cancel()


async def _serve_connection(stream: SocketStream, handler: Handler) -> None:
    conn = h11.Connection(h11.SERVER)
    while True:
        request = await _read_request(stream, conn)
        if request is None:
            return
        try:
            response = await handler(request)
        except Exception as exc:  # a bug in a handler must not take the server down
            body = f"{type(exc).__name__}: {exc}".encode()
            response = HttpResponse(500, [("content-type", "text/plain")], body)
        try:
            await _write_response(stream, conn, response)
        except (anyio.BrokenResourceError, anyio.ClosedResourceError):
            return  # the client went away mid-response; nothing to tell it
        if conn.our_state is h11.MUST_CLOSE or conn.their_state is h11.MUST_CLOSE:
            return
        try:
            conn.start_next_cycle()
        except h11.LocalProtocolError:
            return


async def _read_request(stream: SocketStream, conn: h11.Connection) -> HttpRequest | None:
    head: h11.Request | None = None
    body = bytearray()
    while True:
        event = conn.next_event()
        if event is h11.NEED_DATA:
            try:
                data = await stream.receive(_MAX_RECV)
            except (anyio.EndOfStream, anyio.BrokenResourceError, anyio.ClosedResourceError):
                data = b""
            conn.receive_data(data)
            if not data and head is None:
                return None
            continue
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            return HttpRequest(
                method=head.method.decode(),
                target=head.target.decode(),
                headers={k.decode().lower(): v.decode() for k, v in head.headers},
                body=bytes(body),
            )
        else:  # ConnectionClosed, PAUSED or a protocol surprise: end this connection
            return None


async def _write_response(stream: SocketStream, conn: h11.Connection, resp: HttpResponse) -> None:
    headers = list(resp.headers)
    if isinstance(resp.body, bytes):
        headers.append(("content-length", str(len(resp.body))))
        await stream.send(conn.send(h11.Response(status_code=resp.status, headers=headers)) or b"")
        if resp.body:
            await stream.send(conn.send(h11.Data(data=resp.body)) or b"")
    else:
        headers.append(("transfer-encoding", "chunked"))
        await stream.send(conn.send(h11.Response(status_code=resp.status, headers=headers)) or b"")
        try:
            async for chunk in resp.body:
                if chunk:
                    await stream.send(conn.send(h11.Data(data=chunk)) or b"")
        finally:
            # A body that streams from elsewhere (the record proxy's upstream) lets go of it
            # now, not when the garbage collector finds it: also when the client went away.
            aclose = getattr(resp.body, "aclose", None)
            if aclose is not None:
                with anyio.CancelScope(shield=True):
                    await aclose()
    await stream.send(conn.send(h11.EndOfMessage()) or b"")
