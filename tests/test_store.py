"""The run history: names, partial saves, baselines, a bad file never breaking the listing."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runner._evaluate.results import RunResult, SuiteHeader, SuiteResult, Totals
from runner._results.history import listing
from runner._results.store import RunStore, StoreError, read_header
from runner._util.git import git_identity


def at(hour: int, minute: int = 0) -> str:
    return f"2026-11-21T{hour:02d}:{minute:02d}:00Z"


def header(**kw: Any) -> SuiteHeader:
    fields: dict[str, Any] = {
        "runner_version": "0.1.0",
        "branch": "main",
        "sha": "abcdef123456",
        "started_at": at(10),
        "partial": False,
        "suite": "suites/greet",
        "lanes": ["skill"],
        "scenarios": ["greet"],
        "trials": 1,
        "mode": "scripted",
        "planned": 1,
    }
    return SuiteHeader(**(fields | kw))


def run(trial: int = 0, passed: bool = True) -> RunResult:
    return RunResult(
        scenario="greet",
        lane="skill",
        trial=trial,
        passed=passed,
        exit_reason="success",
        cache_hit=False,
        cache_key=f"k{trial}",
        live=False,
        cost_usd=0.01,
        num_turns=2,
        duration_ms=1500,
    )


def save(store: RunStore, **kw: Any) -> Path:
    h = header(**kw)
    return store.begin(h).finish(SuiteResult(header=h, runs=[run()]))


def test_name_is_version_branch_sha_and_compact_utc_time(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    rec = store.begin(header(branch="feature/x y", started_at="2026-11-21T11:15:00+01:00"))
    assert rec.final_path.name == "0.1.0-feature_x_y-abcdef123456-20261121T101500Z.json"
    assert rec.partial_path.name == "0.1.0-feature_x_y-abcdef123456-20261121T101500Z.partial.json"


def test_two_evals_in_one_second_get_their_own_files(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    h = header()
    one, two = store.begin(h), store.begin(h)
    assert two.final_path.name.endswith("Z-2.json")
    one.append(h, run(0))
    two.append(h, run(1))
    two.append(h, run(2))
    assert [r.trial for r in store.load(one.partial_path).runs] == [0]
    assert [r.trial for r in store.load(two.partial_path).runs] == [1, 2]
    # A finished name stays taken: the next eval skips it and -2, still in progress.
    one.finish(SuiteResult(header=h, runs=[run(0)]))
    assert store.begin(h).final_path.name.endswith("Z-3.json")


def test_partial_saves_then_finish(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    h = header()
    rec = store.begin(h)
    # begin already leaves a trace: an eval that dies before its first run is still seen.
    assert store.load(rec.partial_path).runs == []
    rec.append(h, run(0))
    partial = store.load(rec.partial_path)
    assert partial.header.partial is True  # forced: a .partial.json file never says complete
    assert not rec.final_path.exists()

    done = SuiteResult(header=h, runs=[run(0), run(1)])
    final = rec.finish(done)
    assert final == rec.final_path
    assert not rec.partial_path.exists()
    assert store.load(final) == done
    assert [p.name for p in tmp_path.iterdir()] == [final.name]  # no temp files left
    with pytest.raises(RuntimeError):
        rec.append(h, run(2))


def test_a_crashed_eval_is_never_a_baseline(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    older = save(store, started_at=at(9))
    crashed = store.begin(header(started_at=at(10)))
    crashed.append(header(started_at=at(10)), run())

    history = store.history()
    assert [(r.path, r.partial) for r in history] == [(older, False), (crashed.partial_path, True)]
    baseline = store.previous(header(started_at=at(11)))
    assert baseline is not None
    assert baseline.path == older
    # Without the complete run, the crashed one is the only earlier run: still no baseline.
    assert store.previous(header(started_at=at(11)), exclude=older) is None


def test_baseline_prefers_the_same_branch(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    main = save(store, branch="main", started_at=at(9))
    feature = save(store, branch="feature", started_at=at(10))
    same = store.previous(header(branch="main", started_at=at(11)))
    other = store.previous(header(branch="fix", started_at=at(11)))
    assert same is not None
    assert same.path == main
    assert other is not None
    assert other.path == feature  # no run on "fix": the latest on any branch


def test_baseline_is_same_suite_and_strictly_earlier(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    mine = save(store, suite="suites/greet", started_at=at(8))
    save(store, suite="suites/other", started_at=at(9))
    save(store, suite="suites/greet", started_at=at(12))  # after: not a baseline
    current = save(store, suite="suites/greet/", started_at=at(10))
    found = store.previous(header(suite="suites/greet/", started_at=at(10)), exclude=current)
    assert found is not None
    assert found.path == mine
    assert store.previous(header(suite="suites/new", started_at=at(23))) is None


def test_a_bad_history_file_is_reported_and_skipped(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    good = save(store, started_at=at(9))
    (tmp_path / "broken.json").write_text("{not json")
    (tmp_path / "foreign.json").write_text('{"name": "something else"}')
    (tmp_path / "empty.json").write_text("")
    (tmp_path / "future.json").write_text('{"schema_version": 9, "header": {}}')
    when = SuiteResult(header=header(started_at="yesterday"), runs=[]).model_dump_json()
    (tmp_path / "when.json").write_text(when)

    assert [r.path for r in store.history()] == [good]
    assert len(store.problems) == 5
    for name in ("broken.json", "foreign.json", "empty.json", "future.json", "when.json"):
        line = next(p for p in store.problems if name in p)
        assert line.startswith(str(tmp_path / name))
        assert "\n" not in line
    assert "schema_version 9 is not supported" in next(p for p in store.problems if "future" in p)
    found = store.previous(header(started_at=at(10)))
    assert found is not None
    assert found.path == good


def test_header_is_read_without_reading_the_runs(tmp_path: Path) -> None:
    h = header()
    text = SuiteResult(header=h, runs=[run(i) for i in range(2000)]).model_dump_json()
    assert text.index('"header"') < text.index('"runs"')
    # Cut the file mid-run and add garbage: only a reader that stops at the header copes.
    path = tmp_path / "cut.json"
    path.write_text(text[: len(text) // 2] + "\x00garbage{{{")
    assert read_header(path) == h
    assert [r.path for r in RunStore(tmp_path).history()] == [path]
    with pytest.raises(StoreError, match="Invalid JSON"):
        RunStore(tmp_path).load(path)


def test_load_errors_name_the_file_in_one_line(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    cases = {
        "missing.json": (None, "cannot read"),
        "bad.json": ("[1, 2", "Invalid JSON"),
        "other.json": ('{"runs": []}', "not a runner result: header"),
        "v2.json": ('{"schema_version": 2}', "schema_version 2 is not supported"),
    }
    for name, (content, expected) in cases.items():
        if content is not None:
            (tmp_path / name).write_text(content)
        with pytest.raises(StoreError) as info:
            store.load(tmp_path / name)
        message = str(info.value)
        assert message.startswith(str(tmp_path / name))
        assert expected in message
        assert "\n" not in message


def test_resolve(tmp_path: Path) -> None:
    store = RunStore(tmp_path / "runs")
    with pytest.raises(StoreError, match="0 complete"):
        store.resolve("latest")
    first = save(store, sha="111111111111", started_at=at(9))
    with pytest.raises(StoreError, match="1 complete"):
        store.resolve("previous")
    second = save(store, sha="222222222222", started_at=at(10))
    store.begin(header(sha="333333333333", started_at=at(11)))  # in progress: not "latest"

    assert store.resolve("latest") == second
    assert store.resolve("previous") == first
    assert store.resolve(str(first)) == first  # a path
    assert store.resolve(first.name) == first
    assert store.resolve(first.stem) == first
    assert store.resolve("0.1.0-main-2") == second  # a unique prefix
    assert store.resolve("0.1.0-main-3").name.endswith(".partial.json")
    with pytest.raises(StoreError, match="3 results match"):
        store.resolve("0.1.0-main")
    with pytest.raises(StoreError, match="no such file"):
        store.resolve("nothing-like-this")


def _git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=t", "-c", "user.email=t@e", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    )
    return done.stdout.strip()


@pytest.fixture
def no_outer_repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """tmp_path, with git never looking above it for a repository."""
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    for name in ("GIT_DIR", "GIT_WORK_TREE"):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_git_identity_in_a_repository(no_outer_repo: Path) -> None:
    repo = no_outer_repo / "repo"
    repo.mkdir()
    _git(repo, "init", "-q", "-b", "feature/x")
    assert git_identity(repo) == ("feature/x", "nosha")  # no commit yet
    _git(repo, "commit", "-q", "--allow-empty", "-m", "one")
    sha = _git(repo, "rev-parse", "HEAD")
    assert git_identity(repo) == ("feature/x", sha[:12])
    assert len(sha[:12]) == 12
    _git(repo, "checkout", "-q", "--detach")
    assert git_identity(repo) == ("detached", sha[:12])


def test_git_identity_without_a_repository_or_git(
    no_outer_repo: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    outside = no_outer_repo / "plain"
    outside.mkdir()
    assert git_identity(outside) == ("nogit", "nosha")
    monkeypatch.setenv("PATH", str(no_outer_repo / "empty-bin"))
    assert git_identity(outside) == ("nogit", "nosha")


def test_stored_json_puts_the_header_first(tmp_path: Path) -> None:
    path = save(RunStore(tmp_path))
    assert list(json.loads(path.read_text())) == ["schema_version", "header", "runs"]


def test_saved_files_get_the_usual_permissions_not_mkstemps(tmp_path: Path) -> None:
    from runner._util.atomic import write_atomically

    mask = os.umask(0o022)
    os.umask(mask)
    write_atomically(tmp_path / "shared.json", "{}")
    assert (tmp_path / "shared.json").stat().st_mode & 0o777 == 0o666 & ~mask


def test_results_saved_in_one_second_keep_their_order(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    # Names claimed in one second: base, -2, ... up to -10, which sorts before -2 by name.
    same = [save(store, started_at="2026-11-21T10:00:00Z") for _ in range(10)]
    assert [r.path for r in store.history()] == same
    assert same[-1].name.endswith("Z-10.json")
    # An eval's own time has milliseconds: the latest before it is its baseline.
    first = save(store, started_at="2026-11-21T11:00:00.100+00:00")
    second = save(store, started_at="2026-11-21T11:00:00.600+00:00")
    assert second.name == first.name.replace(".json", "-2.json")
    baseline = store.previous(header(started_at="2026-11-21T11:00:00.900+00:00"))
    assert baseline is not None
    assert baseline.path == second


def test_appended_partial_reads_back_as_the_runs_saved(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    h = header(planned=4)
    rec = store.begin(h)
    saved = [run(0), run(1, passed=False)]
    for r in saved:
        rec.append(h, r)
    # A sequential A/B's next round changes the header: the last one written is the one read.
    later = h.model_copy(update={"trials": 2})
    saved += [run(2), run(3)]
    rec.append(later, saved[2])
    rec.append(later, saved[3])
    partial = store.load(rec.partial_path)
    assert partial.runs == saved
    assert partial.header == later.model_copy(update={"partial": True, "totals": Totals.of(saved)})
    assert (partial.header.totals.runs, partial.header.totals.failed) == (4, 1)
    assert store.problems == []
    # The history needs a partial's time and suite: its first line, the runs not read.
    assert read_header(rec.partial_path) == h.model_copy(update={"partial": True})
    with rec.partial_path.open("ab") as f:
        f.write(b'{"run": "damaged"}\n{"run": "and more"}\n')
    with pytest.raises(StoreError, match="line 7"):
        store.load(rec.partial_path)
    assert read_header(rec.partial_path) == h.model_copy(update={"partial": True})


def test_a_torn_last_line_is_skipped_and_counted(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    h = header()
    rec = store.begin(h)
    rec.append(h, run(0))
    rec.append(h, run(1))
    whole = rec.partial_path.read_bytes()
    last = whole.rindex(b'{"run"')
    rec.partial_path.write_bytes(whole[: last + 40])  # the crash came mid-write
    assert [r.trial for r in store.load(rec.partial_path).runs] == [0]
    assert store.problems == [f"{rec.partial_path}: skipped 1 torn last line (a crash mid-write)"]
    (listed,) = store.history()
    assert listed.partial  # the history reads its first line, the listing its runs
    (shown,) = listing(store).results
    assert (shown.partial, shown.runs) == (True, 1)
    # Damage before the last line is no crash's: the file is named as bad, not half read.
    rec.partial_path.write_bytes(whole[: last + 40] + b"\n" + whole[last:])
    with pytest.raises(StoreError, match=r"partial\.json: line 3: "):
        store.load(rec.partial_path)
    (bad,) = listing(store).unreadable
    assert bad.why.startswith("line 3: ")


def test_an_old_partial_written_whole_still_loads(tmp_path: Path) -> None:
    store = RunStore(tmp_path)
    h = header(partial=True)
    old = SuiteResult(header=h.model_copy(update={"totals": Totals.of([run(0)])}), runs=[run(0)])
    path = tmp_path / "0.1.0-main-abcdef123456-20261121T100000Z.partial.json"
    path.write_text(old.model_dump_json(indent=2))
    assert store.load(path) == old
    (listed,) = store.history()
    assert (listed.path, listed.partial, listed.header) == (path, True, old.header)
