"""Replay: answers the CLI from a cassette and never opens a connection.

Each request must match its recording's projection (``normalize``), else the CLI gets a 400
and the run a ``Divergence`` naming the request and the diff. The player learns the run's
paths (``bind``) before the CLI starts, and fills today's back into the recorded replies.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel

from runner._model.cassette import Cassette, CassetteResponse, Exchange
from runner._model.http import HttpRequest, HttpResponse, api_error, probe_reply
from runner._model.normalize import RunPaths, Scrubber, digest, flatten, json_diff, projection
from runner._model.recorder import stored_request
from runner._model.sse import SseEvent, encode, map_data
from runner._util.figures import plural


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
        live = stored_request(req, self._scrubber)
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
            events = map_data(recorded.events, self._scrubber.fill)
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


async def _stream(events: list[SseEvent]) -> AsyncIterator[bytes]:
    for event in events:
        yield encode(event)
