"""Issue 17: each run's timeline made once, kept beside its cache entry, and read back by later
reports instead of the stream parsed again; whatever does not match the kept file (another
version, a stream replaced, damage) makes it again. The page is the same either way."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from runner._agent.engine import RunRecord
from runner._evaluate.cache import RunCache
from runner._evaluate.cache_entries import is_entry, timeline_file, write_manifest
from runner._evaluate.results import RunResult
from runner._report import timeline_file as kept_module
from runner._report.page import build_report
from runner._report.timeline import Timeline, load_timeline
from runner._report.timeline_file import (
    TIMELINE_VERSION,
    TimelineJson,
    read_kept,
    run_timeline,
    stream_id,
)
from runner._report.views import StoredResult
from runner._transcript.summarize import SummaryBuilder
from tests.report_support import TRANSCRIPTS, json_element, made_run, suite_of


def stored_entry(root: Path, capture: str, trial: int = 0, *, stream: bytes | None = None) -> Path:
    """A whole cache entry holding a captured transcript, as a fetch leaves one."""
    key = hashlib.sha256(f"{capture}-{trial}".encode()).hexdigest()[:32]
    entry = RunCache(root).entry(key)
    entry.mkdir(parents=True)
    data = (TRANSCRIPTS / f"{capture}.ndjson").read_bytes() if stream is None else stream
    (entry / "stream.ndjson").write_bytes(data)
    record = RunRecord(
        scenario=capture,
        lane="agent-baseline",
        trial=trial,
        started_at="2026-01-01T00:00:00.000+00:00",
        files=[],
        argv=[],
        exit_reason="success",
        transcript=SummaryBuilder().summary(),
    )
    (entry / "record.json").write_text(record.model_dump_json())
    write_manifest(entry, key)
    return entry


def run_in(folder: Path, trial: int = 0) -> RunResult:
    made = made_run(folder.name[:8], "agent-baseline", trial, True)
    return made.model_copy(update={"run_dir": str(folder)})


class Parses:
    """Counts the streams parsed, through the function the report parses them with."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0
        monkeypatch.setattr(kept_module, "load_timeline", self)

    def __call__(self, run_dir: str | Path | None) -> Timeline:
        self.count += 1
        return load_timeline(run_dir)


def test_a_timeline_is_made_once_and_the_page_is_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = tmp_path / "cache"
    entries = [stored_entry(root, name, i) for i, name in enumerate(("session", "subagent"))]
    result = StoredResult("r.json", suite_of([run_in(e, i) for i, e in enumerate(entries)]))
    parses = Parses(monkeypatch)
    first = build_report([result])
    assert parses.count == 2
    for entry in entries:
        kept = timeline_file(entry)
        assert kept.parent == entry.parent  # beside the entry, not in it
        assert read_kept(kept, stream_id(entry)) is not None  # type: ignore[arg-type]
    second = build_report([result])
    assert parses.count == 2  # read back: no stream parsed again
    assert second == first
    # The timeline is the stream's, as parsed: items, tool names for the pairs.
    fresh = load_timeline(entries[0])
    assert json_element(second, "run-0-0")["timeline"] == json.loads(
        fresh.model_dump_json(exclude_none=True)
    )
    # The entry is still whole for the cache: a hit, checked byte for byte, no problem.
    cache = RunCache(root)
    assert cache.get(entries[0].name, digests=True) is not None
    assert cache.problems == []


def _garbage(path: Path) -> None:
    path.write_bytes(b"\x00not a timeline")


def _torn(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-20])


def _edited(path: Path) -> None:
    # Same length, other bytes: only the digest tells.
    data = path.read_bytes()
    path.write_bytes(data[:-10] + b"X" * 9 + data[-1:])


def _older(path: Path) -> None:
    head, _, body = path.read_bytes().partition(b"\n")
    header = json.loads(head) | {"version": TIMELINE_VERSION - 1}
    path.write_bytes(json.dumps(header).encode() + b"\n" + body)


def _missing(path: Path) -> None:
    path.unlink()


def _replaced_stream(path: Path) -> None:
    entry = path.with_name(path.name.removesuffix(".timeline.json"))
    stream = entry / "stream.ndjson"
    data = stream.read_bytes()
    stream.unlink()
    stream.write_bytes(data)  # the same bytes, another file: not the one it was made of
    later = stream.stat().st_mtime_ns + 10**9  # even where a reused inode and a coarse clock
    os.utime(stream, ns=(later, later))  # would make the two look alike


@pytest.mark.parametrize(
    "damage",
    [_garbage, _torn, _edited, _older, _missing, _replaced_stream],
    ids=lambda f: f.__name__,
)
def test_a_kept_timeline_that_does_not_match_is_made_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, damage: Callable[[Path], None]
) -> None:
    entry = stored_entry(tmp_path / "cache", "tools")
    made = run_timeline(entry)
    damage(timeline_file(entry))
    parses = Parses(monkeypatch)
    again = run_timeline(entry)
    assert parses.count == 1  # parsed, not trusted
    assert again == made
    assert read_kept(timeline_file(entry), stream_id(entry)) == made  # type: ignore[arg-type]


def test_a_kept_timeline_that_cannot_be_written_or_read_is_parsed_each_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    entry = stored_entry(tmp_path / "cache", "tools")
    timeline_file(entry).mkdir()  # in its place: neither read nor written
    parses = Parses(monkeypatch)
    assert run_timeline(entry) == run_timeline(entry)
    assert parses.count == 2


def test_only_a_stored_entrys_stream_timeline_is_kept(tmp_path: Path) -> None:
    # A folder a results file names, not the cache's: nothing is written beside it.
    loose = tmp_path / "runs" / "x" / "loose"
    loose.mkdir(parents=True)
    shutil.copyfile(TRANSCRIPTS / "tools.ndjson", loose / "stream.ndjson")
    assert not is_entry(loose)
    assert run_timeline(loose).tools
    assert sorted(p.name for p in loose.parent.iterdir()) == ["loose"]
    # An entry whose stream has nothing to draw: its agent log or a note, cheap and not kept.
    empty = stored_entry(tmp_path / "cache", "none", stream=b"")
    assert json.loads(run_timeline(empty).json)["source"] == "none"
    assert not timeline_file(empty).exists()
    assert run_timeline(None) == TimelineJson.of(load_timeline(None))


def test_the_timeline_models_are_versioned() -> None:
    """A change to what a kept timeline holds must bump TIMELINE_VERSION, or an older file
    would be read as a newer one: this digest of the models' schema is a reminder."""
    schema = json.dumps(Timeline.model_json_schema(), sort_keys=True).encode()
    digest = hashlib.sha256(schema).hexdigest()[:16]
    assert (TIMELINE_VERSION, digest) == (1, "d5609118345ba706"), (
        "the Timeline models changed: bump TIMELINE_VERSION and put the new digest here"
    )


def test_prune_removes_a_timeline_with_its_entry_and_an_orphan(tmp_path: Path) -> None:
    root = tmp_path / "cache"
    good, corrupt, gone = (stored_entry(root, "tools", trial) for trial in range(3))
    for entry in (good, corrupt, gone):
        run_timeline(entry)
    (corrupt / "record.json").write_text("{")
    shutil.rmtree(gone)  # as a prune by a runner that knew no timelines leaves it
    report = RunCache(root).prune()
    assert report.removed == {"corrupt": 1, "stale timeline": 1}
    assert timeline_file(good).exists()
    assert not timeline_file(corrupt).exists()
    assert not timeline_file(gone).exists()
    assert RunCache(root).prune().removed == {}
