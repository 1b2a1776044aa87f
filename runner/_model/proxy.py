"""The API-level proxy: the CLI's ``ANTHROPIC_BASE_URL`` during every run that reaches a model.

``Recorder`` forwards each request upstream, streams the reply back to the CLI as it arrives
and, when recording, writes a scrubbed copy to the run's cassette. Every live run goes through
it (``forwarding``): the CLI holds a dummy key, and the proxy adds runner's real credential
upstream, so no tool call, transcript or cassette can hold it.

``Player`` answers from a cassette and never opens a connection: each request must match its
recording's projection (``normalize``), else the CLI gets a 400 and the run a ``Divergence``
naming the request and the diff.

Both learn the run's paths (``bind``) after the workspace exists and before the CLI starts:
the recorder turns them into placeholders, the player fills today's back in.
"""

from __future__ import annotations

import json
import os
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel

from runner._model.cassette import (
    Cassette,
    CassetteRequest,
    CassetteResponse,
    CassetteWriter,
    Exchange,
)
from runner._model.http import HttpRequest, HttpResponse, api_error, probe_reply, serving
from runner._model.normalize import (
    SAFE_HEADERS,
    RunPaths,
    Scrubber,
    compact_tools,
    digest,
    flatten,
    json_diff,
    projection,
)
from runner._model.sse import SseDecoder, SseEvent, encode, join_deltas
from runner._util.figures import plural

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


def _stored_request(req: HttpRequest, scrubber: Scrubber) -> CassetteRequest:
    body = _json_body(req.body)
    if isinstance(body, dict):
        body = {k: v for k, v in body.items() if k != "metadata"}  # device and session ids
        if "tools" in body:
            body["tools"] = compact_tools(body["tools"])
    headers = {k: v for k, v in req.headers.items() if k in SAFE_HEADERS}
    return CassetteRequest(
        method=req.method, path=req.target, headers=headers, body=scrubber.scrub(body)
    )


# ---- record ---------------------------------------------------------------------------------


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
        stored = _stored_request(req, self._scrubber) if writer is not None else None
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
                events=None if events is None else _events(join_deltas(events), scrub),
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


# ---- live: runner's credential, never the CLI's -----------------------------------------------

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


# ---- replay ---------------------------------------------------------------------------------


class Divergence(BaseModel):
    """A replay that left its cassette: the run, the request, and how it differed."""

    run: str
    kind: Literal["mismatch", "past_end", "unconsumed"]
    index: int  # the live request's 0-based index; for unconsumed, the first unserved exchange
    method: str
    path: str
    recorded: int | None = None  # the cassette exchange it was compared with
    diff: list[str] = []

    def headline(self) -> str:
        what = f"request {self.index} ({self.method} {self.path})"
        if self.kind == "mismatch":
            return f"{self.run}: replay diverged: {what} differs from exchange {self.recorded}"
        if self.kind == "past_end":
            return f"{self.run}: replay diverged: {what} comes after the cassette's last reply"
        return f"{self.run}: replay diverged: the run ended with exchange {self.index} unused"

    def message(self) -> str:
        return "\n".join([self.headline(), *(f"  {line}" for line in self.diff)])


def _route(method: str, path: str, body: Any) -> tuple[str, str, str | None]:
    """Requests are served in order per method, path and conversation: the main thread and
    each subagent keep their own order, however their requests interleave."""
    first = None
    if isinstance(body, dict) and isinstance(body.get("messages"), list) and body["messages"]:
        first = digest(projection({"messages": body["messages"][:1]}))
    return method, path, first


@dataclass
class Player:
    """Answers from ``cassette``; ``divergences`` says where the run left it."""

    cassette: Cassette
    run: str  # "scenario/lane#trial", for messages
    secrets: tuple[str, ...] = ()
    requests: int = 0
    divergences: list[Divergence] = field(default_factory=list)
    _scrubber: Scrubber = field(init=False)
    _queues: dict[tuple[str, str, str | None], deque[Exchange]] = field(init=False)
    _served: set[int] = field(init=False, default_factory=set)

    def __post_init__(self) -> None:
        self._scrubber = Scrubber(RunPaths(), self.secrets)
        self._queues = {}
        for ex in self.cassette.exchanges:
            route = _route(ex.request.method, ex.request.path, ex.request.body)
            self._queues.setdefault(route, deque()).append(ex)

    def bind(self, paths: RunPaths) -> None:
        self._scrubber = Scrubber(paths, self.secrets)

    async def handle(self, req: HttpRequest) -> HttpResponse:
        if (probe := probe_reply(req)) is not None:
            return probe  # the CLI's own probe: not part of the conversation recorded
        index = self.requests
        self.requests += 1
        live = _stored_request(req, self._scrubber)
        route = _route(req.method, req.target, live.body)
        queue = self._queues.get(route)
        recorded = queue[0] if queue else self._next_unserved(req.method, req.target)
        where = {"run": self.run, "index": index, "method": req.method, "path": req.target}
        if recorded is None:
            held = self._count(req.method, req.target)
            note = (
                f"the cassette holds {plural(held, 'exchange')} for {req.method} {req.target}, "
                "all served"
            )
            diff = [note, *_last_message("+", live.body)]
            return self._diverge(Divergence(kind="past_end", diff=diff, **where))
        diff = json_diff(projection(recorded.request.body), projection(live.body))
        if not queue or diff:
            diff = diff or ["a request from a conversation the cassette does not hold here"]
            return self._diverge(
                Divergence(kind="mismatch", recorded=recorded.index, diff=diff, **where)
            )
        queue.popleft()
        self._served.add(recorded.index)
        return self._reply(recorded.response)

    def finish(self) -> Divergence | None:
        """After the run: the first recorded exchange nobody asked for, if any."""
        if self.divergences:
            return self.divergences[0]
        unused = [ex for ex in self.cassette.exchanges if ex.index not in self._served]
        if not unused:
            return None
        first = unused[0]
        divergence = Divergence(
            run=self.run,
            kind="unconsumed",
            index=first.index,
            method=first.request.method,
            path=first.request.path,
            recorded=first.index,
            diff=[
                f"{len(unused)} of {len(self.cassette.exchanges)} recorded exchanges were never "
                f"requested (the run made {plural(self.requests, 'request')})",
                *_last_message("-", first.request.body),
            ],
        )
        self.divergences.append(divergence)
        return divergence

    def _next_unserved(self, method: str, path: str) -> Exchange | None:
        return next(
            (
                ex
                for ex in self.cassette.exchanges
                if ex.index not in self._served
                and (ex.request.method, ex.request.path) == (method, path)
            ),
            None,
        )

    def _count(self, method: str, path: str) -> int:
        return sum(
            (ex.request.method, ex.request.path) == (method, path) for ex in self.cassette.exchanges
        )

    def _diverge(self, divergence: Divergence) -> HttpResponse:
        self.divergences.append(divergence)
        # A 400 ends the CLI at once; a 5xx would send it into minutes of retries.
        return api_error(400, "invalid_request_error", divergence.headline())

    def _reply(self, recorded: CassetteResponse) -> HttpResponse:
        headers = list(recorded.headers.items())
        if recorded.events is not None:
            events = _events(recorded.events, self._scrubber.fill)
            return HttpResponse(recorded.status, headers, _stream(events))
        body = self._scrubber.fill(recorded.body)
        raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
        return HttpResponse(recorded.status, headers, raw)


def _last_message(sign: str, body: Any, lines: int = 6) -> list[str]:
    """What a request ended with, for a divergence with no recording to diff against."""
    messages = body.get("messages") if isinstance(body, dict) else None
    if not isinstance(messages, list) or not messages:
        return []
    last = projection({"messages": messages})["messages"][-1]
    shown = list(flatten(last, f"messages[{len(messages) - 1}]"))
    more = [f"{sign}... {plural(len(shown) - lines, 'more line')}"] if len(shown) > lines else []
    return [f"{sign}{line}" for line in shown[:lines]] + more


def _events(events: list[SseEvent], change: Callable[[Any], Any]) -> list[SseEvent]:
    return [SseEvent(event=e.event, data=change(e.data)) for e in events]


async def _stream(events: list[SseEvent]) -> AsyncIterator[bytes]:
    for event in events:
        yield encode(event)
