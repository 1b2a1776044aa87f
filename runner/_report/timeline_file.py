"""A run's timeline made once: the first report that needs it parses the run's stream and keeps
the result beside the run's cache entry (``cache_entries.timeline_file``); later reports read it
back instead of parsing the stream again, and splice its JSON into the page as it is.

The file is a header line (the format's version, which stream it was made of, the digest of
the rest, the run's top-level tool names for the side-by-side view), then the timeline's JSON
as the page embeds it. It is trusted only when all of that matches: another version, a stream
replaced since, a body that is not the one digested, or a file that cannot be read, and the
stream is parsed again and the file rewritten. Only a stored entry's timeline is kept (a
results file can name any folder as a run's, and only the cache's folders are the cache's).
"""

from __future__ import annotations

import os
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

import xxhash
from pydantic import BaseModel, ValidationError

from runner._evaluate.cache_entries import is_entry, timeline_file
from runner._report.timeline import Timeline, ToolCallItem, load_timeline
from runner._util.atomic import write_atomically
from runner._util.inputs import RESULT_FILE_BYTES, read_input

# Bump when the timeline made of a stream changes: its models (tests/test_timeline_file.py
# holds their schema's digest), the clipping, or how build_items places events.
TIMELINE_VERSION = 1


class StreamId(BaseModel):
    """The stream a timeline was made of: a file written again, or another, differs here."""

    inode: int
    size: int
    mtime_ns: int


class KeptHeader(BaseModel):
    version: int
    stream: StreamId
    digest: str  # xxh3_128 of the timeline's JSON that follows the header line
    tools: list[str]


@dataclass(frozen=True)
class TimelineJson:
    """A run's timeline as the page embeds it, and its top-level tool names."""

    json: str
    tools: list[str]

    @classmethod
    def of(cls, timeline: Timeline) -> TimelineJson:
        tools = [i.name for i in timeline.items if isinstance(i, ToolCallItem)]
        return cls(timeline.model_dump_json(exclude_none=True), tools)


def stream_id(folder: Path) -> StreamId | None:
    try:
        st = os.stat(folder / "stream.ndjson")
    except OSError:
        return None
    return StreamId(inode=st.st_ino, size=st.st_size, mtime_ns=st.st_mtime_ns)


def read_kept(path: Path, stream: StreamId) -> TimelineJson | None:
    """The timeline kept in ``path`` if it was made of ``stream`` by this format, whole."""
    try:
        data = read_input(path, limit=RESULT_FILE_BYTES)
        head, _, body = data.partition(b"\n")
        header = KeptHeader.model_validate_json(head)
        if (header.version, header.stream) != (TIMELINE_VERSION, stream):
            return None
        if xxhash.xxh3_128_hexdigest(body) != header.digest:
            return None
        return TimelineJson(body.decode("utf-8"), header.tools)
    except (OSError, ValidationError, UnicodeDecodeError):
        return None


def keep(path: Path, stream: StreamId, made: TimelineJson) -> None:
    """``made`` into ``path``, whole or not at all; a cache that cannot be written keeps none."""
    body = made.json.encode("utf-8")
    header = KeptHeader(
        version=TIMELINE_VERSION,
        stream=stream,
        digest=xxhash.xxh3_128_hexdigest(body),
        tools=made.tools,
    )
    with suppress(OSError):
        write_atomically(path, header.model_dump_json() + "\n" + made.json)


def run_timeline(run_dir: str | Path | None) -> TimelineJson:
    """The run's timeline: kept beside its entry, or made of its folder now (and kept)."""
    folder = None if run_dir is None else Path(run_dir)
    stream = stream_id(folder) if folder is not None and is_entry(folder) else None
    if folder is not None and stream is not None:
        kept = read_kept(timeline_file(folder), stream)
        if kept is not None:
            return kept
    timeline = load_timeline(run_dir)
    made = TimelineJson.of(timeline)
    # Only a stream's: an agent log or a note is cheap to make again, and names the folder.
    if folder is not None and stream is not None and timeline.source == "stream":
        keep(timeline_file(folder), stream, made)
    return made
