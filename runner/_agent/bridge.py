"""The model endpoint, brought into a sandbox that has no network: a Unix socket, bound into
the jail, that forwards every connection to runner's endpoint on the host (inside, socat serves
it on 127.0.0.1; see ``jail``).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

import anyio
from anyio.abc import SocketStream, TaskStatus


@asynccontextmanager
async def bridged(endpoint: str) -> AsyncIterator[Path]:
    """A Unix socket that forwards every connection to ``endpoint`` (``http://127.0.0.1:N``),
    for the body of the ``async with``; it is bound into the sandbox, which has no network."""
    url = urlsplit(endpoint)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    folder = Path(tempfile.mkdtemp(prefix="runner-", dir=_short_tmp()))
    socket_path = folder / "model.sock"
    try:
        async with anyio.create_task_group() as tg:
            await tg.start(_serve_bridge, socket_path, host, port)
            try:
                yield socket_path
            finally:
                tg.cancel_scope.cancel()
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _short_tmp() -> str:
    # A Unix socket's path must fit in 108 bytes.
    tmp = tempfile.gettempdir()
    return tmp if len(tmp) <= 60 else "/tmp"


async def _serve_bridge(
    socket_path: Path, host: str, port: int, *, task_status: TaskStatus[None]
) -> None:
    # Here, not at the top: the HTTP server (h11) is for a run, and a cached eval has none.
    from runner._model.http import accept_forever

    listener = await anyio.create_unix_listener(socket_path)
    async with listener:
        task_status.started()

        async def forward(client: SocketStream) -> None:
            # One connection's trouble (the endpoint gone, a reset) ends that connection only.
            async with client:
                try:
                    upstream = await anyio.connect_tcp(host, port)
                except OSError:
                    return
                async with upstream, anyio.create_task_group() as tg:
                    tg.start_soon(_pump, client, upstream)
                    await _pump(upstream, client)

        await accept_forever(listener, forward)


async def _pump(source: SocketStream, sink: SocketStream) -> None:
    with contextlib.suppress(anyio.BrokenResourceError, anyio.ClosedResourceError, OSError):
        async for chunk in source:
            await sink.send(chunk)
        await sink.send_eof()
