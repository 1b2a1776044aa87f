"""Memory stays flat in a transcript's length: bounded by its largest line, not its size."""

from __future__ import annotations

import json
import tracemalloc
from pathlib import Path

from runner._transcript.stream import iter_events
from runner._transcript.summarize import SummaryBuilder
from tests.conftest import FIXTURES


def long_transcript(path: Path, target_bytes: int) -> int:
    """Repeat a real capture's events with fresh message and tool ids; returns the longest line."""
    lines = [json.loads(ln) for ln in (FIXTURES / "tools.ndjson").read_bytes().splitlines()]
    body = [ln for ln in lines if ln["type"] not in ("system", "result")]
    written, longest, rep = 0, 0, 0
    with path.open("w") as f:
        f.write(json.dumps(lines[0]) + "\n")
        while written < target_bytes:
            rep += 1
            for event in body:
                text = (
                    json.dumps(event)
                    .replace("msg_scripted_", f"msg_{rep}_")
                    .replace("toolu_scripted_", f"toolu_{rep}_")
                )
                f.write(text + "\n")
                written += len(text) + 1
                longest = max(longest, len(text))
    return longest


def test_peak_memory_does_not_grow_with_file_size(tmp_path: Path) -> None:
    peaks = []
    for size in (8_000_000, 40_000_000):
        path = tmp_path / f"t{size}.ndjson"
        long_transcript(path, size)
        tracemalloc.start()
        builder = SummaryBuilder()
        with path.open("rb") as f:
            for item in iter_events(f):
                builder.add(item)
        summary = builder.summary()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        # Nothing is lost either: every tool call of every repetition is in the sequence.
        assert len(summary.tool_sequence) == len(builder.session.tool_ids) > 1000
        peaks.append(peak)
    small, large = peaks
    # The tool sequence grows with tool calls (it is the output); the rest must not grow.
    tool_bytes = 200 * len(builder.session.tool_ids)
    assert large < small + tool_bytes + 2_000_000, (small, large)
    assert large < 6_000_000 + tool_bytes  # one read chunk (1 MiB) and a few lines, not 40 MB
