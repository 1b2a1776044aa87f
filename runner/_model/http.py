"""A minimal HTTP/1.1 server on anyio: h11 does the framing, anyio the sockets.

It serves local endpoints only (the scripted model, the record/replay proxy), so it binds to
loopback and handles keep-alive, streaming responses, HEAD and nothing fancier. Its clients
include the agent under test, so no client can stop it: a malformed, truncated or oversized
request gets a 400 (413, 431) and its connection closes; every other connection goes on.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Any, cast

import anyio
import h11
from anyio.abc import SocketListener, SocketStream, TaskStatus

_MAX_RECV = 65536
MAX_HEAD_BYTES = 64 * 1024  # a request line and headers; the CLI's are a few KiB
MAX_BODY_BYTES = 64 * 2**20  # the Messages API itself refuses requests over 32 MB
# accept() failing (EMFILE when a client holds every descriptor): wait this long, then retry.
_ACCEPT_BACKOFF_S = 0.1


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


def probe_reply(req: HttpRequest) -> HttpResponse | None:
    """The answer to the CLI's reachability probe (``HEAD`` or ``GET /api/hello``, sent when
    nonessential traffic is on), which a local endpoint gives itself: never a turn, never
    something a cassette must hold. None for any other request."""
    if req.method in ("GET", "HEAD") and req.path == "/api/hello":
        return json_response(200, {})
    return None


async def serve(
    handler: Handler,
    *,
    host: str = "127.0.0.1",
    port: int = 0,
    task_status: TaskStatus[int] = anyio.TASK_STATUS_IGNORED,
) -> None:
    """Serve until cancelled; reports the bound port through ``task_status``."""
    listener = await anyio.create_tcp_listener(local_host=host, local_port=port)
    async with listener, anyio.create_task_group() as tg:
        bound = listener.extra(anyio.abc.SocketAttribute.local_port)
        task_status.started(bound)
        for one in listener.listeners:  # a TCP listener's parts are socket listeners
            tg.start_soon(
                accept_forever, cast(SocketListener, one), partial(_connection, handler=handler)
            )


async def accept_forever(
    listener: SocketListener, on_stream: Callable[[SocketStream], Coroutine[Any, Any, None]]
) -> None:
    """Each accepted connection handled in a task of its own, until cancelled. Unlike
    ``Listener.serve``, a failing accept() does not end the server."""
    async with anyio.create_task_group() as tg:
        while True:
            try:
                stream = await listener.accept()
            except OSError:  # out of descriptors, or a connection reset before it was accepted
                await anyio.sleep(_ACCEPT_BACKOFF_S)
                continue
            tg.start_soon(on_stream, stream)


async def _connection(stream: SocketStream, *, handler: Handler) -> None:
    # Whatever one client did ends its own connection, never the server.
    with contextlib.suppress(Exception):
        async with stream:
            await _serve_connection(stream, handler)


@asynccontextmanager
async def serving(handler: Handler, *, port: int = 0) -> AsyncIterator[str]:
    """``handler`` served on 127.0.0.1 for the body of the ``async with``; yields its URL."""
    async with anyio.create_task_group() as tg:
        bound = await tg.start(partial(serve, handler, port=port))
        try:
            yield f"http://127.0.0.1:{bound}"
        finally:
            tg.cancel_scope.cancel()


class _Refused(Exception):
    """A request this server will not read on: answered with ``status``, then closed."""

    def __init__(self, status: int, why: str) -> None:
        super().__init__(why)
        self.status = status


async def _serve_connection(stream: SocketStream, handler: Handler) -> None:
    conn = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
    while True:
        try:
            request = await _read_request(stream, conn)
        except h11.RemoteProtocolError as exc:  # garbage, a huge head, a truncated body
            await _refuse(stream, conn, _Refused(exc.error_status_hint, str(exc)))
            return
        except _Refused as exc:
            await _refuse(stream, conn, exc)
            return
        if request is None:
            return
        try:
            response = await handler(request)
        except Exception as exc:  # a bug in a handler must not take the server down
            body = f"{type(exc).__name__}: {exc}".encode()
            response = HttpResponse(500, [("content-type", "text/plain")], body)
        try:
            await _write_response(stream, conn, response, head=request.method == "HEAD")
        except Exception:
            # The client went away mid-response, or a streamed body failed (an upstream that
            # dropped): closing cuts the chunked body short, which the client sees as an error.
            return
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
            if not data and head is None and conn.their_state is h11.IDLE:
                return None  # closed between requests: the ordinary end of a connection
            conn.receive_data(data)
            continue
        if isinstance(event, h11.Request):
            head = event
        elif isinstance(event, h11.Data):
            body += event.data
            if len(body) > MAX_BODY_BYTES:
                raise _Refused(413, f"request body over {MAX_BODY_BYTES} bytes")
        elif isinstance(event, h11.EndOfMessage) and head is not None:
            # h11 checked the method, target and names are ASCII; a value may hold any byte.
            return HttpRequest(
                method=head.method.decode("ascii"),
                target=head.target.decode("ascii"),
                headers={k.decode("ascii"): v.decode("latin-1") for k, v in head.headers},
                body=bytes(body),
            )
        else:  # ConnectionClosed, PAUSED or a protocol surprise: end this connection
            return None


async def _refuse(stream: SocketStream, conn: h11.Connection, refused: _Refused) -> None:
    """Tell a client why its request was not read, if it can still be told, then close."""
    if conn.our_state not in (h11.IDLE, h11.SEND_RESPONSE):
        return
    body = f"runner: bad request: {refused}\n".encode()
    response = HttpResponse(refused.status, [("content-type", "text/plain")], body)
    with contextlib.suppress(Exception):  # a client that left cannot be told
        await _write_response(stream, conn, response, close=True)


async def _write_response(
    stream: SocketStream,
    conn: h11.Connection,
    resp: HttpResponse,
    *,
    head: bool = False,
    close: bool = False,
) -> None:
    """``resp`` on the wire; for a HEAD request, its status and headers only."""
    headers = list(resp.headers)
    if close:
        headers.append(("connection", "close"))
    if isinstance(resp.body, bytes):
        headers.append(("content-length", str(len(resp.body))))
    else:
        headers.append(("transfer-encoding", "chunked"))
    await stream.send(conn.send(h11.Response(status_code=resp.status, headers=headers)) or b"")
    if head:
        # A reply to HEAD declares its body and sends none (h11 frames it as empty).
        await _close_body(resp.body)
    elif isinstance(resp.body, bytes):
        if resp.body:
            await stream.send(conn.send(h11.Data(data=resp.body)) or b"")
    else:
        try:
            async for chunk in resp.body:
                if chunk:
                    await stream.send(conn.send(h11.Data(data=chunk)) or b"")
        finally:
            await _close_body(resp.body)
    await stream.send(conn.send(h11.EndOfMessage()) or b"")


async def _close_body(body: bytes | AsyncIterator[bytes]) -> None:
    # A body that streams from elsewhere (the record proxy's upstream) lets go of it now, not
    # when the garbage collector finds it: also when the client went away.
    aclose = getattr(body, "aclose", None)
    if aclose is not None:
        with anyio.CancelScope(shield=True):
            await aclose()
