"""The record proxy: the CLI's ``ANTHROPIC_BASE_URL`` whenever a run reaches a real model.

``Recorder`` forwards each request upstream, streams the reply back to the CLI as it arrives
and, when recording, writes a scrubbed copy to the run's cassette (``stored_request``: a
request as a cassette keeps it, which is also what a replay compares). It learns the run's
paths (``bind``) after the workspace exists and before the CLI starts, and turns them into
placeholders.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from runner._model.cassette import CassetteRequest, CassetteResponse, CassetteWriter, Exchange
from runner._model.http import HttpRequest, HttpResponse, api_error, probe_reply
from runner._model.normalize import SAFE_HEADERS, RunPaths, Scrubber, compact_tools
from runner._model.sse import SseDecoder, SseEvent, join_deltas, map_data

# httpx (with what it pulls in) is imported by the first request forwarded upstream: an eval
# against scripted models or cassettes never loads it (start-up, issue 17).
if TYPE_CHECKING:
    import httpx

# Hop-by-hop and framing headers: each side of the proxy sets its own.
_HOP = frozenset(
    {
        "host",
        "connection",
        "keep-alive",
        "content-length",
        "transfer-encoding",
        "accept-encoding",
        "content-encoding",
        "te",
        "trailer",
        "upgrade",
        "proxy-authorization",
    }
)
_AUTH = frozenset({"x-api-key", "authorization"})
# Reply headers worth passing back to the CLI (it reads retry-after on 429 and 529).
_REPLY_HEADERS = ("content-type", "retry-after", "request-id")
_UPSTREAM_TIMEOUT = {"connect": 30.0, "read": 600.0, "write": 60.0, "pool": 30.0}


def _json_body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except (ValueError, RecursionError):  # not JSON, or nested past what Python reads
        return raw.decode("utf-8", "replace")


def stored_request(req: HttpRequest, scrubber: Scrubber) -> CassetteRequest:
    """``req`` as a cassette keeps it: scrubbed, without its metadata, its tools compacted."""
    body = _json_body(req.body)
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "metadata"}  # device and session ids
        if "tools" in body:
            body["tools"] = compact_tools(body["tools"])
    headers = {k: v for k, v in req.headers.items() if k in SAFE_HEADERS}
    return CassetteRequest(
        method=req.method, path=req.target, headers=headers, body=scrubber.scrub(body)
    )


@dataclass
class Recorder:
    """Forwards to ``upstream`` and, given a ``writer``, keeps a copy. ``auth``: the headers
    that authenticate upstream (a live key, held here so the CLI never sees it); empty: the
    CLI's own go."""

    upstream: str
    writer: CassetteWriter | None = None
    auth: Mapping[str, str] = field(default_factory=dict)
    secrets: tuple[str, ...] = ()
    requests: int = 0
    problems: list[str] = field(default_factory=list)  # upstream failures, one line each
    _scrubber: Scrubber = field(init=False)
    _client: httpx.AsyncClient | None = None

    def __post_init__(self) -> None:
        self._scrubber = Scrubber(RunPaths(), self.secrets)

    def bind(self, paths: RunPaths) -> None:
        self._scrubber = Scrubber(paths, self.secrets)

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()

    async def handle(self, req: HttpRequest) -> HttpResponse:
        import httpx

        if (probe := probe_reply(req)) is not None:
            return probe  # answered here, so a replay (which does the same) finds none unused
        index, started = self.requests, time.monotonic()
        self.requests += 1
        writer = self.writer
        stored = stored_request(req, self._scrubber) if writer is not None else None
        if self._client is None:
            self._client = httpx.AsyncClient(timeout=httpx.Timeout(**_UPSTREAM_TIMEOUT))
        headers = {k: v for k, v in req.headers.items() if k not in _HOP}
        if self.auth:
            headers = {k: v for k, v in headers.items() if k not in _AUTH} | dict(self.auth)
        headers["accept-encoding"] = "identity"  # the copy must be readable SSE, not gzip
        # As bytes: a value may hold any octet (read as latin-1), which httpx would refuse.
        octets = {k.encode("ascii"): v.encode("latin-1") for k, v in headers.items()}
        upstream = self._client.build_request(
            req.method, self.upstream.rstrip("/") + req.target, headers=octets, content=req.body
        )
        try:
            reply = await self._client.send(upstream, stream=True)
        except httpx.HTTPError as exc:
            self.problems.append(f"request {index}: upstream {self.upstream} failed: {exc!r}")
            why = f"runner record proxy: the upstream failed: {exc}"
            return api_error(502, "invalid_request_error", why)
        out_headers = [(k, reply.headers[k]) for k in _REPLY_HEADERS if k in reply.headers]

        if writer is None:
            return HttpResponse(reply.status_code, out_headers, self._relay(reply, index))

        def keep(events: list[SseEvent] | None, body: Any) -> None:
            assert writer is not None
            assert stored is not None
            scrub = self._scrubber.scrub
            response = CassetteResponse(
                status=reply.status_code,
                headers={k: v for k, v in out_headers if k == "content-type"},
                events=None if events is None else map_data(join_deltas(events), scrub),
                body=scrub(body),
            )
            ms = round((time.monotonic() - started) * 1000, 1)
            exchange = Exchange(index=index, request=stored, response=response, duration_ms=ms)
            writer.add(exchange)

        if reply.headers.get("content-type", "").startswith("text/event-stream"):
            return HttpResponse(reply.status_code, out_headers, self._relay(reply, index, keep))
        try:
            raw = await reply.aread()
        finally:
            await reply.aclose()
        keep(None, _json_body(raw))
        return HttpResponse(reply.status_code, out_headers, raw)

    async def _relay(
        self,
        reply: httpx.Response,
        index: int,
        keep: Callable[[list[SseEvent], None], None] | None = None,
    ) -> AsyncIterator[bytes]:
        """The reply's bytes, passed on as they arrive; given ``keep``, its events are kept
        when it ends. An upstream that drops mid-reply cuts the CLI's reply short too (the
        server closes), and is a problem on record."""
        import httpx

        decoder, events = SseDecoder(), []
        try:
            async for chunk in reply.aiter_raw():
                if keep is not None:
                    events += decoder.feed(chunk)
                yield chunk
        except httpx.HTTPError as exc:
            self.problems.append(f"request {index}: upstream {self.upstream} failed: {exc!r}")
            raise
        finally:
            await reply.aclose()
            if keep is not None:
                keep([*events, *decoder.close()], None)
