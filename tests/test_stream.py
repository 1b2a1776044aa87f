"""The NDJSON reader: framing edge cases, over sync files and anyio streams (both backends)."""

from __future__ import annotations

import io
import json
import random
from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import anyio
import pytest

from runner._transcript.blocks import TextBlock, ToolUseBlock
from runner._transcript.events import AssistantEvent, ResultEvent
from runner._transcript.stream import (
    LineFramer,
    ParseError,
    StreamItem,
    aiter_events,
    aiter_file_events,
)
from runner._transcript.stream import iter_events as sync_iter
from tests.conftest import FIXTURES


def capture() -> bytes:
    """A real CLI capture with non-ASCII text, tools and a result."""
    return (FIXTURES / "tools.ndjson").read_bytes()


def keyed(items: Iterable[StreamItem]) -> list[object]:
    return [i.model_dump() if isinstance(i, ParseError) else i.raw_json() for i in items]


def read_all(data: bytes, **kw: int) -> list[StreamItem]:
    return list(sync_iter(io.BytesIO(data), **kw))


async def chunked(data: bytes, cuts: list[int]) -> AsyncIterator[bytes]:
    prev = 0
    for cut in [*cuts, len(data)]:
        if cut > prev:
            yield data[prev:cut]
            await anyio.lowlevel.checkpoint()
        prev = cut


async def aread(data: bytes, cuts: list[int], **kw: int) -> list[StreamItem]:
    return [i async for i in aiter_events(chunked(data, cuts), **kw)]


@pytest.mark.anyio
@pytest.mark.parametrize("ending", [b"\n", b"\r\n"])
async def test_any_chunking_gives_the_same_events(anyio_backend: str, ending: bytes) -> None:
    data = capture().replace(b"\n", ending)
    whole = keyed(read_all(data))
    assert len(whole) == data.count(b"\n")
    assert keyed(read_all(capture())) == whole  # CRLF or LF: the same events, the same bytes
    rng = random.Random(7)
    # A CR at the end of one chunk, its LF alone in the next: the last line ends so.
    cut_after_cr = [len(data) - 1] if ending == b"\r\n" else []
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(data)), rng.randint(1, 60)))
        assert keyed(await aread(data, cuts)) == whole
    assert keyed(await aread(data, cut_after_cr)) == whole


@pytest.mark.anyio
async def test_cut_inside_every_utf8_character(anyio_backend: str) -> None:
    line = (
        json.dumps(
            {
                "type": "assistant",
                "message": {
                    "id": "m",
                    "model": "x",
                    "content": [{"type": "text", "text": "ünïcode ✓ 𝄞 done"}],
                },
            },
            ensure_ascii=False,
        ).encode()
        + b"\n"
    )
    for cut in range(1, len(line)):
        [event] = await aread(line, [cut])
        assert isinstance(event, AssistantEvent)
        block = event.message.content[0]
        assert isinstance(block, TextBlock)
        assert block.text == "ünïcode ✓ 𝄞 done"


@pytest.mark.anyio
async def test_one_byte_chunks_over_a_memory_stream(anyio_backend: str) -> None:
    """A real anyio ByteReceiveStream, fed a byte at a time by a concurrent task."""
    data = capture()[:4000]
    data = data[: data.rfind(b"\n") + 1]
    send, receive = anyio.create_memory_object_stream[bytes](0)

    async def producer() -> None:
        async with send:
            for i in range(len(data)):
                await send.send(data[i : i + 1])

    async with anyio.create_task_group() as tg:
        tg.start_soon(producer)
        got = [i async for i in aiter_events(receive)]
    assert keyed(got) == keyed(read_all(data))


def test_crlf_and_blank_lines() -> None:
    lines = capture().splitlines()
    crlf = b"\r\n".join([b"", lines[0], b"   ", b"", *lines[1:]]) + b"\r\n\r\n"
    items = read_all(crlf)
    assert not any(isinstance(i, ParseError) for i in items)
    assert [i.raw_json() for i in items if not isinstance(i, ParseError)] == lines


def test_non_json_lines_become_errors_with_line_numbers_and_reading_goes_on() -> None:
    lines = capture().splitlines()
    data = (
        b"\n".join([b"[SandboxDebug] sandbox ready", lines[0], b"{not json", b"[1, 2]", *lines[1:]])
        + b"\n"
    )
    items = read_all(data)
    errors = [i for i in items if isinstance(i, ParseError)]
    assert [e.line for e in errors] == [1, 3, 4]
    assert errors[0].preview == "[SandboxDebug] sandbox ready"
    assert errors[0].raw == b"[SandboxDebug] sandbox ready"
    assert "not a JSON object" in errors[2].error
    assert isinstance(items[-1], ResultEvent)  # the stream after the errors was read
    assert len(items) - len(errors) == len(lines)


def test_truncated_last_line() -> None:
    data = capture()
    cut = data[: len(data) - 40]  # the result line loses its end, and its newline
    items = read_all(cut)
    last = items[-1]
    assert isinstance(last, ParseError)
    assert last.error.startswith("truncated last line")
    assert last.line == data.count(b"\n")


def test_last_line_without_newline_is_still_an_event() -> None:
    items = read_all(capture().rstrip(b"\n"))
    assert isinstance(items[-1], ResultEvent)


def huge_line(mb: int) -> bytes:
    content = "x = 'ünï\"code'\\n" * (mb * 1024 * 1024 // 16)
    event = {
        "type": "assistant",
        "message": {
            "id": "m1",
            "model": "claude-opus-5-5",
            "content": [
                {
                    "type": "tool_use",
                    "id": "t1",
                    "name": "Write",
                    "input": {"file_path": "big.py", "content": content},
                }
            ],
        },
    }
    return json.dumps(event, ensure_ascii=False).encode()


def test_lines_of_tens_of_megabytes_have_no_cap_by_default() -> None:
    line = huge_line(24)
    assert len(line) > 24_000_000
    data = capture() + line + b"\n" + capture()
    items = list(sync_iter(io.BytesIO(data)))
    big = [i for i in items if isinstance(i, AssistantEvent) and i.message.id == "m1"]
    assert len(big) == 1
    block = big[0].message.content[0]
    assert isinstance(block, ToolUseBlock)
    assert len(block.input["content"]) > 24_000_000
    assert not any(isinstance(i, ParseError) for i in items)


@pytest.mark.anyio
async def test_cap_records_an_error_and_goes_on(anyio_backend: str) -> None:
    line = huge_line(3)
    data = capture() + line + b"\n" + capture()
    n_before = capture().count(b"\n")
    cuts = list(range(1000, len(data), 65536))  # the long line arrives in many chunks
    items = await aread(data, cuts, max_line_bytes=1_000_000)
    errors = [i for i in items if isinstance(i, ParseError)]
    assert len(errors) == 1
    assert errors[0].line == n_before + 1
    assert errors[0].size == len(line)
    assert "cap" in errors[0].error
    assert errors[0].raw is None  # not kept: that is the point of the cap
    assert len(items) == 2 * n_before + 1
    # The same cap on a line that arrives in one chunk.
    assert keyed(read_all(data, max_line_bytes=1_000_000)) == keyed(items)


def test_framer_holds_one_line_at_most() -> None:
    framer = LineFramer(max_line_bytes=100)
    assert framer.feed(b"a" * 80) == (1, [])
    assert framer.feed(b"b" * 80) == (1, [])  # over the cap: dropped as it comes, not buffered
    assert framer._pending == []
    first, [err] = framer.feed(b"c\nok")
    assert first == 1
    assert isinstance(err, ParseError)
    assert err.size == 161
    assert err.preview == "a" * 80
    assert framer.close() == (2, [b"ok"])


@pytest.mark.anyio
async def test_async_file_reader(anyio_backend: str, tmp_path: Path) -> None:
    path = tmp_path / "t.ndjson"
    path.write_bytes(capture())
    got = [i async for i in aiter_file_events(path)]
    assert keyed(got) == keyed(read_all(capture()))


@pytest.mark.anyio
async def test_nesting_deeper_than_the_stack_is_a_parse_error(anyio_backend: str) -> None:
    """msgspec (long lines) recurses on Python's stack, pydantic stops at 200 levels: either
    way a line nested 1,000 deep is one counted error, and the stream after it is read."""
    deep = "[" * 1000 + "]" * 1000
    long = f'{{"type":"user","pad":"{"x" * 70_000}","tool_use_result":{deep}}}'.encode()
    short = f'{{"type":"result","x":{deep}}}'.encode()
    data = long + b"\n" + short + b"\n" + capture()
    items = await aread(data, list(range(4096, len(data), 4096)))
    errors = [i for i in items if isinstance(i, ParseError)]
    assert [(e.line, e.raw) for e in errors] == [(1, long), (2, short)]
    assert isinstance(items[-1], ResultEvent)
