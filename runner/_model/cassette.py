"""API-level cassettes: one run's exchanges with the Messages API, one NDJSON line each.

``DIR/<scenario>/<lane>-<trial>.ndjson``: a header line (what was recorded, when, and what it
cost), then one line per exchange, in the order the requests arrived. Requests are kept
scrubbed (``normalize.Scrubber``) with their tool definitions compacted to digests; streamed
replies as their SSE events with each block's deltas joined. No header that could carry a key
is ever kept.

While a run records, its exchanges are appended to ``<name>.ndjson.partial`` as each reply
ends, so a crash keeps what was said; ``finish`` writes the whole cassette atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal
from urllib.parse import urlsplit

import xxhash
from pydantic import BaseModel, ConfigDict, ValidationError

from runner._model.sse import SseEvent, aggregate
from runner._util.atomic import write_atomically
from runner._util.inputs import CASSETTE_FILE_BYTES, read_input

CASSETTE_VERSION = 1


class CassetteError(ValueError):
    """A cassette that cannot be read; the message names the file, the line and the problem."""


class CassetteHeader(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["cassette"] = "cassette"
    version: Literal[1] = 1  # CASSETTE_VERSION
    scenario: str
    lane: str
    trial: int
    recorded_at: str  # UTC, ISO 8601
    runner_version: str
    cli_version: str | None = None
    upstream: str  # "scripted", or the live API's host: never a key or a full URL with one
    exit_reason: str | None = None
    cost_usd: float | None = None  # what the recorded run cost, as the CLI reported it
    num_turns: int | None = None
    exchanges: int = 0


class CassetteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    method: str
    path: str  # with the query, as sent (/v1/messages?beta=true)
    headers: dict[str, str] = {}  # normalize.SAFE_HEADERS only
    body: Any = None  # the JSON body, scrubbed; tools compacted


class CassetteResponse(BaseModel):
    model_config = ConfigDict(extra="forbid")

    status: int
    headers: dict[str, str] = {}
    events: list[SseEvent] | None = None  # a streamed reply
    body: Any = None  # any other reply: its JSON, or its text

    def message(self) -> dict[str, Any] | None:
        """The assistant message this reply carried; None for an error or a non-message."""
        if self.status != 200:
            return None
        if self.events is not None:
            return aggregate([e.data for e in self.events if isinstance(e.data, dict)])
        if isinstance(self.body, dict) and self.body.get("type") == "message":
            return self.body
        return None


class Exchange(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["exchange"] = "exchange"
    index: int  # 0-based, in arrival order over the whole run
    request: CassetteRequest
    response: CassetteResponse
    duration_ms: float | None = None  # from the request's arrival to the reply's end


def cassette_path(root: Path, scenario: str, lane: str, trial: int, suffix: str = "") -> Path:
    """Where a run's cassette lives: ``<root>/<scenario>/<lane>-<trial><suffix>.ndjson``."""
    return root / scenario / f"{lane}-{trial}{suffix}.ndjson"


@dataclass
class Cassette:
    path: Path
    header: CassetteHeader
    exchanges: list[Exchange]

    @property
    def digest(self) -> str:
        """What a replay of it depends on: its exchanges, not when they were recorded."""
        h = xxhash.xxh3_128()
        for ex in self.exchanges:
            h.update(ex.model_dump_json(exclude={"duration_ms"}).encode())
            h.update(b"\n")
        return h.hexdigest()


def read_cassette(path: Path) -> Cassette:
    try:
        lines = read_input(path, limit=CASSETTE_FILE_BYTES).splitlines()
    except OSError as exc:
        raise CassetteError(f"{path}: cannot read the cassette ({exc.strerror})") from exc
    if not lines:
        raise CassetteError(f"{path}: empty; record it again with eval --record")
    try:
        header = CassetteHeader.model_validate_json(lines[0])
    except ValidationError as exc:
        raise CassetteError(f"{path}:1: not a runner cassette header ({_first(exc)})") from None
    exchanges = []
    for n, line in enumerate(lines[1:], start=2):
        if not line.strip():
            continue
        try:
            exchanges.append(Exchange.model_validate_json(line))
        except ValidationError as exc:
            raise CassetteError(f"{path}:{n}: not an exchange ({_first(exc)})") from None
    return Cassette(path, header, exchanges)


def _first(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "line"
    return f"{where}: {err['msg']}"


@dataclass
class CassetteWriter:
    """Appends exchanges as they end (to ``.partial``); ``finish`` writes the cassette whole."""

    path: Path
    exchanges: list[Exchange] = field(default_factory=list)
    _partial: IO[bytes] | None = None

    @property
    def partial_path(self) -> Path:
        return self.path.with_name(self.path.name + ".partial")

    def add(self, exchange: Exchange) -> None:
        if self._partial is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._partial = self.partial_path.open("wb", buffering=0)
        self.exchanges.append(exchange)
        self._partial.write(exchange.model_dump_json().encode() + b"\n")

    def finish(self, header: CassetteHeader) -> Path:
        """The whole cassette in place of any older one; the partial file goes."""
        self.close()
        header = header.model_copy(update={"exchanges": len(self.exchanges)})
        lines = [header.model_dump_json(), *(e.model_dump_json() for e in self.exchanges)]
        self.path.parent.mkdir(parents=True, exist_ok=True)
        write_atomically(self.path, "\n".join(lines) + "\n")
        self.partial_path.unlink(missing_ok=True)
        return self.path

    def close(self) -> None:
        """Stop appending; the partial file stays, for a run that did not end well."""
        if self._partial is not None:
            self._partial.close()
            self._partial = None


def recorded_upstream(url: str | None) -> str:
    """How a cassette names where it was recorded from: a host, never credentials or a path."""
    if url is None:
        return "scripted"
    return urlsplit(url).hostname or "unknown"
