"""NDJSON framing and parsing over byte streams and files, in constant memory per line.

The framer is sans-IO: it takes chunks cut anywhere (inside a UTF-8 character too, since it
splits on the byte 0x0A, which never occurs inside one) and gives back whole lines. The drivers
below feed it from an anyio byte stream, an async file or a sync file. A line that is not a JSON
object becomes a ``ParseError`` with its line number, and reading goes on.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import BinaryIO

import anyio
from pydantic import BaseModel, ConfigDict

from runner.events import EventParseError, WireEvent, parse_event

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
        self._number = 0

    def feed(self, chunk: bytes) -> list[tuple[int, bytes] | ParseError]:
        """The lines that ``chunk`` completes, numbered; over-long ones as ParseError."""
        pieces = chunk.split(b"\n")
        tail = pieces.pop()  # the unterminated rest (b"" when the chunk ends a line)
        out: list[tuple[int, bytes] | ParseError] = []
        for piece in pieces:
            size = self._pending_size + len(piece)
            if self._pending:
                self._pending.append(piece)
                piece = b"".join(self._pending)
                self._pending.clear()
            out.append(self._finish(piece, size))
        if tail:
            self._hold(tail)
        return out

    def close(self) -> list[tuple[int, bytes] | ParseError]:
        """The last line when the stream did not end with a newline."""
        if not self._pending and not self._dropping:
            return []
        piece = b"".join(self._pending)
        self._pending.clear()
        return [self._finish(piece, self._pending_size)]

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

    def _finish(self, line: bytes, size: int) -> tuple[int, bytes] | ParseError:
        self._number += 1
        dropped, self._dropping, self._pending_size = self._dropping, False, 0
        if dropped or (self._max is not None and size > self._max):
            return ParseError(
                line=self._number,
                error=f"line of {size} bytes is over the {self._max}-byte cap; skipped",
                size=size,
                preview=_preview(self._head if dropped else line),
            )
        if line.endswith(b"\r"):
            line = line[:-1]
        return (self._number, line)


def _preview(data: bytes) -> str:
    return data[:_PREVIEW].decode("utf-8", "replace")


def parse_line(number: int, line: bytes) -> StreamItem | None:
    """One framed line to an event, a ParseError, or None for a blank line."""
    try:
        return parse_event(line)
    except EventParseError as exc:
        if not line.strip():
            return None
        return ParseError(
            line=number, error=str(exc), size=len(line), preview=_preview(line), raw=line
        )


def _items(frames: list[tuple[int, bytes] | ParseError], *, at_eof: bool) -> Iterator[StreamItem]:
    for frame in frames:
        if isinstance(frame, ParseError):
            yield frame
            continue
        item = parse_line(*frame)
        if isinstance(item, ParseError) and at_eof:
            # A bad last line with no newline is most often a writer killed mid-line.
            item = item.model_copy(update={"error": f"truncated last line ({item.error})"})
        if item is not None:
            yield item


def iter_events(file: BinaryIO, *, max_line_bytes: int | None = None) -> Iterator[StreamItem]:
    """Events from a binary file object, read as it grows (``read1``: a pipe yields what it has)."""
    framer = LineFramer(max_line_bytes)
    read = getattr(file, "read1", file.read)
    while chunk := read(CHUNK_SIZE):
        yield from _items(framer.feed(chunk), at_eof=False)
    yield from _items(framer.close(), at_eof=True)


async def aiter_events(
    chunks: AsyncIterable[bytes], *, max_line_bytes: int | None = None
) -> AsyncIterator[StreamItem]:
    """Events from any async source of byte chunks: an anyio ByteReceiveStream, a process's
    stdout, or an anyio async file."""
    framer = LineFramer(max_line_bytes)
    async for chunk in chunks:
        for item in _items(framer.feed(chunk), at_eof=False):
            yield item
    for item in _items(framer.close(), at_eof=True):
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
