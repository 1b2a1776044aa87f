"""Issue 17: `report` writes its page part by part as it is made (a temp file, then a rename),
so memory holds one run's detail at a time, never the page; the page is the one `view` sends."""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner._evaluate.cache_entries import timeline_file
from runner._evaluate.results import SuiteResult
from runner._report.page import build_report, page_parts
from runner._report.views import StoredResult
from runner._util.atomic import PathError, write_parts_atomically
from tests.report_support import json_element, suite_of
from tests.suite_commands import run_runner
from tests.test_timeline_file import run_in, stored_entry

BUFFER = io.DEFAULT_BUFFER_SIZE  # what the file object may hold before it writes


def a_result(tmp: Path, runs: int) -> StoredResult:
    """``runs`` runs of the real 172 KB session transcript, each a stored cache entry."""
    entries = [stored_entry(tmp / "cache", "session", i) for i in range(runs)]
    return StoredResult("r.json", suite_of([run_in(e, i) for i, e in enumerate(entries)]))


def test_each_part_is_on_disk_before_the_next_is_made(tmp_path: Path) -> None:
    result = a_result(tmp_path, 24)
    out = tmp_path / "out" / "page.html"
    made: list[int] = []

    def watched() -> Iterator[str]:
        for part in page_parts([result], []):
            if made:
                # What the writer was given is in its temp file, but for its buffer: it
                # keeps no part after writing it.
                (temp,) = out.parent.glob(".page.html.*.tmp")
                assert sum(made) - BUFFER <= temp.stat().st_size <= sum(made)
            made.append(len(part.encode()))
            yield part

    size = write_parts_atomically(out, watched())
    page = out.read_text(encoding="utf-8")
    assert size == out.stat().st_size == sum(made)
    assert page == build_report([result])  # the same page as made whole
    # A part is one element: no part holds more than a small share of the page.
    assert len(made) > 24
    assert max(made) < size / 8
    assert list(out.parent.iterdir()) == [out]  # no temp file left


def test_a_part_that_fails_leaves_the_old_page_and_no_temp(tmp_path: Path) -> None:
    out = tmp_path / "page.html"
    out.write_text("old page")

    def failing() -> Iterator[str]:
        yield "<!doctype html>"
        raise RuntimeError("a run folder went away")

    with pytest.raises(RuntimeError, match="went away"):  # the maker's own error, not a write's
        write_parts_atomically(out, failing())
    assert out.read_text() == "old page"
    assert list(tmp_path.iterdir()) == [out]


def test_a_page_that_cannot_be_written_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    out = tmp_path / "file" / "page.html"
    with pytest.raises(PathError) as caught:
        write_parts_atomically(out, iter(["x"]))
    assert str(caught.value).startswith(f"cannot write {out}: ")


@pytest.mark.cli
def test_report_keeps_timelines_and_writes_the_same_page_again(tmp_path: Path) -> None:
    result = a_result(tmp_path, 3)
    saved = tmp_path / "result.json"
    saved.write_text(result.result.model_dump_json(), encoding="utf-8")
    pages = []
    for name in ("first.html", "second.html"):
        out = tmp_path / name
        proc = run_runner(
            "report", str(saved), "--runs-dir", str(tmp_path / "runs"), "-o", str(out),
            cwd=tmp_path,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert f"wrote {out} (3 runs, {out.stat().st_size / 1e6:.1f} MB)" in proc.stdout
        pages.append(out.read_text(encoding="utf-8"))
    assert pages[0] == pages[1]
    stored = SuiteResult.model_validate_json(saved.read_text())
    for i, run in enumerate(stored.runs):
        assert run.run_dir is not None
        assert timeline_file(Path(run.run_dir)).is_file()
        assert json_element(pages[1], f"run-0-{i}")["timeline"]["source"] == "stream"
