"""NDJSON framing and parsing over byte streams and files, in constant memory per line.

The framer is sans-IO: it takes chunks cut anywhere (inside a UTF-8 character too, since it
splits on the byte 0x0A, which never occurs inside one) and gives back whole lines. The drivers
below feed it from an anyio byte stream, an async file or a sync file. A line that is not a JSON
object becomes a ``ParseError`` with its line number, and reading goes on.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import BinaryIO, cast

import anyio
from pydantic import BaseModel, ConfigDict

from runner._transcript.events import WireEvent
from runner._transcript.parse import EventParseError, parse_event

CHUNK_SIZE = 1 << 20
_PREVIEW = 120


class ParseError(BaseModel):
    """A line of the stream that is not a JSON event; reading continues after it."""

    model_config = ConfigDict(frozen=True)

    type: str = "parse_error"
    line: int  # 1-based
    error: str
    size: int  # bytes in the line
    preview: str  # the line's start, for a human
    raw: bytes | None = None  # the whole line, unless it was over the cap


StreamItem = WireEvent | ParseError


class LineFramer:
    """Splits a byte stream into lines (LF or CRLF). ``max_line_bytes`` caps what one line may
    hold in memory: a longer line is dropped and reported as an error, not buffered."""

    __slots__ = ("_dropping", "_head", "_max", "_number", "_pending", "_pending_size")

    def __init__(self, max_line_bytes: int | None = None) -> None:
        self._max = max_line_bytes
        self._pending: list[bytes] = []  # pieces of the current line; joined once, at its end
        self._pending_size = 0
        self._dropping = False
        self._head = b""  # the start of a dropped line, for its error's preview
        self._number = 0  # lines completed so far

    def feed(self, chunk: bytes) -> tuple[int, list[bytes | ParseError]]:
        """The lines ``chunk`` completes, and the number of the first (1-based).

        Over-long lines come as ParseError. The common case, whole lines and no cap, costs one
        ``split`` in C and no Python work per line.
        """
        first = self._number + 1
        if b"\n" not in chunk:  # the middle of a long line: hold it as it is, no copy
            self._hold(chunk)
            return first, []
        pieces = chunk.split(b"\n")
        tail = pieces.pop()  # the unterminated rest (b"" when the chunk ends a line)
        lines = cast(list[bytes | ParseError], pieces)  # no copy: errors replace lines in place
        if pieces and (self._pending or self._dropping):
            lines[0] = self._complete(pieces[0], first)
        if self._max is not None:
            lines = [self._capped(x, n) for n, x in enumerate(lines, first)]
        if b"\r" in chunk:
            lines = [x[:-1] if isinstance(x, bytes) and x.endswith(b"\r") else x for x in lines]
        self._number += len(lines)
        if tail:
            self._hold(tail)
        return first, lines

    def close(self) -> tuple[int, list[bytes | ParseError]]:
        """The last line when the stream did not end with a newline."""
        first = self._number + 1
        if not self._pending and not self._dropping:
            return first, []
        self._number += 1
        return first, [self._complete(b"", first)]

    def _hold(self, tail: bytes) -> None:
        self._pending_size += len(tail)
        if self._dropping:
            return
        if self._max is not None and self._pending_size > self._max:
            self._dropping = True
            self._head = b"".join(self._pending)[:_PREVIEW] if self._pending else tail[:_PREVIEW]
            self._pending.clear()
            return
        self._pending.append(tail)

    def _complete(self, piece: bytes, number: int) -> bytes | ParseError:
        """The held start of a line, joined with its last piece (or its error if dropped)."""
        size = self._pending_size + len(piece)
        dropped, self._dropping, self._pending_size = self._dropping, False, 0
        if dropped:
            return self._too_long(number, size, self._head)
        self._pending.append(piece)
        line = b"".join(self._pending)
        self._pending.clear()
        # The CR of a CRLF may have come in the chunk before.
        return line[:-1] if line.endswith(b"\r") else line

    def _capped(self, line: bytes | ParseError, number: int) -> bytes | ParseError:
        assert self._max is not None
        if isinstance(line, bytes) and len(line) > self._max:
            return self._too_long(number, len(line), line)
        return line

    def _too_long(self, number: int, size: int, head: bytes) -> ParseError:
        return ParseError(
            line=number,
            error=f"line of {size} bytes is over the {self._max}-byte cap; skipped",
            size=size,
            preview=_preview(head),
        )


def _preview(data: bytes) -> str:
    return data[:_PREVIEW].decode("utf-8", "replace")


def _bad_line(number: int, line: bytes, exc: EventParseError, at_eof: bool) -> ParseError | None:
    if not line.strip():
        return None  # a blank line: nothing was said
    error = str(exc)
    if at_eof:
        # A bad last line with no newline is most often a writer killed mid-line.
        error = f"truncated last line ({error})"
    return ParseError(line=number, error=error, size=len(line), preview=_preview(line), raw=line)


def parse_frames(
    first: int, frames: list[bytes | ParseError], *, at_eof: bool = False
) -> Iterator[StreamItem]:
    """Framed lines to events; a line that is not a JSON object becomes a ParseError."""
    for number, frame in enumerate(frames, first):
        if not isinstance(frame, bytes):
            yield frame
            continue
        try:
            event = parse_event(frame)
        except EventParseError as exc:
            bad = _bad_line(number, frame, exc, at_eof)
            if bad is not None:
                yield bad
            continue
        yield event


def iter_events(file: BinaryIO, *, max_line_bytes: int | None = None) -> Iterator[StreamItem]:
    """Events from a binary file object, read as it grows (``read1``: a pipe yields what it has)."""
    framer = LineFramer(max_line_bytes)
    read = getattr(file, "read1", file.read)
    while chunk := read(CHUNK_SIZE):
        yield from parse_frames(*framer.feed(chunk))
    yield from parse_frames(*framer.close(), at_eof=True)


async def aiter_events(
    chunks: AsyncIterable[bytes], *, max_line_bytes: int | None = None
) -> AsyncIterator[StreamItem]:
    """Events from any async source of byte chunks: an anyio ByteReceiveStream, a process's
    stdout, or an anyio async file."""
    framer = LineFramer(max_line_bytes)
    async for chunk in chunks:
        for item in parse_frames(*framer.feed(chunk)):
            yield item
    for item in parse_frames(*framer.close(), at_eof=True):
        yield item


async def aiter_file_events(
    path: str | os.PathLike[str], *, max_line_bytes: int | None = None
) -> AsyncIterator[StreamItem]:
    """Events from a file, read without blocking the event loop."""
    async with await anyio.open_file(path, "rb") as f:

        async def chunks() -> AsyncIterator[bytes]:
            while chunk := await f.read(CHUNK_SIZE):
                yield chunk

        async for item in aiter_events(chunks(), max_line_bytes=max_line_bytes):
            yield item
