"""Every live run's proxy: runner's credential, never the CLI's. The CLI holds a dummy key;
``forwarding`` serves a ``Recorder`` that adds runner's real credential upstream, so no tool
call, transcript or cassette can hold it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from runner._model.http import HttpRequest, HttpResponse, api_error, serving
from runner._model.recorder import Recorder

DEFAULT_API_URL = "https://api.anthropic.com"
# How runner authenticates upstream: (its variable, the header, the header's shape).
_AUTH_HEADERS = (
    ("ANTHROPIC_API_KEY", "x-api-key", "{}"),
    ("ANTHROPIC_AUTH_TOKEN", "authorization", "Bearer {}"),
)
_NO_CREDENTIAL = (
    "runner holds no credential for the live API: set ANTHROPIC_API_KEY (or "
    "ANTHROPIC_AUTH_TOKEN) where runner runs"
)


def live_upstream(environ: Mapping[str, str] | None = None) -> tuple[str, dict[str, str]]:
    """The live API's URL and the headers that authenticate runner there, from runner's own
    environment (``ANTHROPIC_BASE_URL``, ``ANTHROPIC_API_KEY``, ``ANTHROPIC_AUTH_TOKEN``)."""
    env = os.environ if environ is None else environ
    auth = {header: shape.format(env[var]) for var, header, shape in _AUTH_HEADERS if env.get(var)}
    return env.get("ANTHROPIC_BASE_URL") or DEFAULT_API_URL, auth


@asynccontextmanager
async def forwarding(environ: Mapping[str, str] | None = None) -> AsyncIterator[str]:
    """runner's live proxy on 127.0.0.1 for the body of the ``async with``; yields its URL.
    Without a credential it answers 401 itself, as the API would, and reaches nothing."""
    upstream, auth = live_upstream(environ)
    if not auth:
        async with serving(_unauthorized) as url:
            yield url
        return
    recorder = Recorder(upstream, auth=auth)
    try:
        async with serving(recorder.handle) as url:
            yield url
    finally:
        await recorder.aclose()


async def _unauthorized(req: HttpRequest) -> HttpResponse:
    return api_error(401, "authentication_error", _NO_CREDENTIAL)
