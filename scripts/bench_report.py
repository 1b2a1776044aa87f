"""The dashboard with 1,000 runs: what `report` costs to write it, and how long from
navigation until its first view is drawn.

Writing it: `python -m runner report` run three times in child processes, each one's wall
time, CPU time and peak RSS (the child's own, from wait4): "in memory" is the page built as
one string and written whole, every timeline parsed
from its stream, as `report` did before; "first report" streams the page to disk and keeps
each run's timeline beside its cache entry; "later report" streams it and reads the kept
timelines back. "load only" reads the result and imports the report's modules, no page: the
fixed part of any of them. Peak RSS is also given over the page's size.

Drawing it: the first view as built (each transcript parsed and drawn only when its row
opens) against a baseline that draws every transcript at load, measured side by side in
headless Chromium.

Each synthetic run's folder holds one of the captured transcripts in fixtures/transcripts/
(linked, not copied: two of them are 7 MB), in turn, so the page carries the real mix: small
runs, subagents, retries, and Writes of whole files that the timeline clips. Its figures come
from that transcript's summary. The baseline is the same page with ``<html data-eager="1">``,
which makes the page's own script open every row before it says it is ready.

The time is ``performance.mark("report-painted")``'s startTime: from navigation start until
the frame that shows the first view (the overview's charts, the results table built behind
them; in the baseline, with every transcript drawn under its row) has been styled, laid out
and painted. The median over rounds; the two variants alternate
within each round.

    .venv/bin/python scripts/bench_report.py                  # 1000 runs, 3 rounds
    .venv/bin/python scripts/bench_report.py --runs 200 --rounds 5
    .venv/bin/python scripts/bench_report.py --runs 5000 --no-browser
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from playwright.sync_api import Browser, sync_playwright

from runner._evaluate.cache_entries import write_manifest
from runner._evaluate.results import CheckResult, RunResult, SuiteHeader, SuiteResult, Totals
from runner._report.page import build_report
from runner._report.views import StoredResult
from runner._transcript.stream import iter_events
from runner._transcript.summarize import summarize
from runner._transcript.summary import TranscriptSummary

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = ROOT / "fixtures" / "transcripts"
CHROMIUM = "/usr/bin/chromium"
LANES = ("agent-baseline", "agent-skill")
TRIALS = 10
EAGER = '<html lang="en" data-eager="1">'


def summary_of(path: Path) -> TranscriptSummary:
    with path.open("rb") as f:
        return summarize(iter_events(f))


def synthetic_result(
    folder: Path, runs: int, *, entries: bool = False, only: list[str] | None = None
) -> SuiteResult:
    """``runs`` runs over scenarios x LANES x TRIALS, each folder holding a captured stream
    (of the captures named ``only``, or of all); ``entries``: each folder a cache entry (a
    manifest, under runs/), whose timeline is kept."""
    found = sorted(TRANSCRIPTS.glob("*.ndjson"))
    captures = [p for p in found if only is None or p.stem in only]
    if not captures:
        raise SystemExit(f"no capture in {TRANSCRIPTS} is named {', '.join(only or [])}")
    summaries = {p: summary_of(p) for p in captures}
    chance = random.Random(7)
    results = []
    for i in range(runs):
        scenario, rest = divmod(i, len(LANES) * TRIALS)
        lane, trial = LANES[rest // TRIALS], rest % TRIALS
        capture = captures[i % len(captures)]
        key = f"{i:032x}"
        run_dir = folder / "runs" / key[:2] / key if entries else folder / f"run-{i:04d}"
        run_dir.mkdir(parents=True)
        (run_dir / "stream.ndjson").symlink_to(capture)
        if entries:
            write_manifest(run_dir, key)
        s = summaries[capture]
        passed = chance.random() < (0.7 if lane == "agent-skill" else 0.5)
        results.append(
            RunResult(
                scenario=f"scenario-{scenario:03d}",
                lane=lane,
                trial=trial,
                passed=passed,
                exit_reason="success",
                cache_hit=True,
                cache_key=key,
                live=False,
                cost_usd=s.best_cost_usd,
                num_turns=s.num_turns,
                duration_ms=s.duration_ms,
                usage=s.usage,
                tool_sequence=s.tool_sequence,
                skills_invoked=s.skills_invoked,
                checks=[
                    CheckResult(name="tool_called Edit", passed=True, detail="called 1 time"),
                    CheckResult(
                        name=f"file_matches {capture.stem}.txt",
                        passed=passed,
                        detail="matches" if passed else "no line matches /^done$/",
                    ),
                ],
                run_dir=str(run_dir),
            )
        )
    header = SuiteHeader(
        runner_version="0.1.0",
        branch="bench",
        sha="0" * 40,
        started_at="2026-11-21T00:00:00+00:00",
        partial=False,
        suite="synthetic",
        lanes=list(LANES),
        scenarios=sorted({r.scenario for r in results}),
        trials=TRIALS,
        mode="scripted",
        planned=runs,
        totals=Totals.of(results),
    )
    return SuiteResult(header=header, runs=results)


def time_page(browser: Browser, page_file: Path, details: int) -> float:
    """Seconds from navigation start to the page's "report-painted" mark; checks that exactly
    ``details`` transcripts were drawn by then."""
    page = browser.new_page()
    page.set_default_timeout(600_000)
    page.goto(page_file.as_uri())
    # Polled at an interval: Playwright's default (every frame) would compete with the page.
    page.wait_for_function("document.body.dataset.painted === '1'", polling=100)
    painted = page.evaluate("performance.getEntriesByName('report-painted')[0].startTime")
    drawn = page.locator(".detail").count()
    page.close()
    if drawn != details:
        raise SystemExit(f"{page_file.name}: {drawn} transcripts drawn at load, not {details}")
    return float(painted) / 1000


class Cost(NamedTuple):
    wall_s: float
    cpu_s: float
    peak_rss: int  # bytes


# As report was: every timeline parsed from its stream (none kept or read), the page one string.
IN_MEMORY = """
import sys
from pathlib import Path
import runner._report.timeline_file
from runner._util.atomic import write_atomically
from runner._report.stored import report_parts
from runner._results.store import RunStore
runner._report.timeline_file.is_entry = lambda folder: False
page = "".join(report_parts(RunStore(Path(sys.argv[2])), [Path(sys.argv[1])]).parts)
write_atomically(Path(sys.argv[3]), page)
print(f"{len(page.encode()) / 1e6:.1f} MB")
"""
LOAD_ONLY = """
import sys
from pathlib import Path
import runner._report.stored
from runner._results.store import RunStore
RunStore(Path(sys.argv[2])).load(Path(sys.argv[1]))
"""


# Linux carries a process's peak RSS over exec, so a child forked from this (big) process
# would report at least this one's: a small launcher forks the child and waits for it.
LAUNCHER = """
import json, os, sys, time
started = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execv(sys.argv[1], sys.argv[1:])
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - started
code = os.waitstatus_to_exitcode(status)
print(json.dumps([code, wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss * 1024]))
"""


def child_cost(argv: list[str]) -> Cost:
    """One child's wall time, CPU time (user + sys) and peak RSS (ru_maxrss: KiB on Linux)."""
    done = subprocess.run(
        [sys.executable, "-c", LAUNCHER, *argv], capture_output=True, text=True, check=False
    )
    code, wall, cpu, peak = json.loads(done.stdout.splitlines()[-1])
    if code != 0:
        raise SystemExit(f"{argv[1:4]} failed: {done.stderr}")
    return Cost(wall, cpu, peak)


def measure_build(folder: Path, runs: int, only: list[str] | None) -> float:
    """The table of what writing the page costs; returns the page's size in MB."""
    cache, store = folder / "cache", folder / "store"
    cache.mkdir()
    store.mkdir()
    result = synthetic_result(cache, runs, entries=True, only=only)
    (folder / "entries.json").write_text(result.model_dump_json(), encoding="utf-8")
    py = sys.executable

    def report(out: str) -> list[str]:
        return [
            py,
            "-m",
            "runner",
            "report",
            str(folder / "entries.json"),
            "-o",
            str(folder / out),
            "--runs-dir",
            str(store),
        ]

    args = [str(folder / "entries.json"), str(store), str(folder / "in-memory.html")]
    costs = {
        "load only": child_cost([py, "-c", LOAD_ONLY, *args]),
        "in memory (before)": child_cost([py, "-c", IN_MEMORY, *args]),
        "first report": child_cost(report("first.html")),
        "later report": child_cost(report("later.html")),
    }
    pages = [folder / n for n in ("in-memory.html", "first.html", "later.html")]
    if len({p.read_bytes() for p in pages}) != 1:
        raise SystemExit("the three ways of writing the page wrote different pages")
    size = pages[0].stat().st_size
    kept = len(list((cache / "runs").glob("*/*.timeline.json")))
    print(f"{runs} runs, page {size / 1e6:.1f} MB, {kept} timelines kept by the first report")
    print(f"{'':20} {'wall':>8} {'CPU':>8} {'peak RSS':>10} {'RSS / page':>11}")
    for name, c in costs.items():
        print(
            f"{name:20} {c.wall_s:7.2f}s {c.cpu_s:7.2f}s {c.peak_rss / 1e6:8.0f} MB "
            f"{c.peak_rss / size:10.2f}"
        )
    before, after = costs["in memory (before)"], costs["later report"]
    print(
        f"later report against in memory: {before.cpu_s / after.cpu_s:.1f}x less CPU, "
        f"{before.peak_rss / after.peak_rss:.1f}x less peak RSS; "
        f"beyond load only: {(before.peak_rss - costs['load only'].peak_rss) / 1e6:.0f} MB "
        f"against {(after.peak_rss - costs['load only'].peak_rss) / 1e6:.0f} MB",
        flush=True,
    )
    return size / 1e6


def median_of(rounds: list[dict[str, float]], name: str) -> float:
    return statistics.median(r[name] for r in rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-browser", action="store_true", help="only what writing costs")
    parser.add_argument(
        "--captures",
        help="the captures' names to use, comma-separated (default: all in turn); "
        "session (172 KB, a 32 KB timeline) is the issue's transcript",
    )
    args = parser.parse_args()
    only = args.captures.split(",") if args.captures else None
    with tempfile.TemporaryDirectory(prefix="bench-report-build-") as tmp:
        measure_build(Path(tmp), args.runs, only)
    if args.no_browser:
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = Path(tmp)
        result = synthetic_result(folder, args.runs, only=only)
        started = time.perf_counter()
        html = build_report([StoredResult("synthetic.json", result)])
        built = time.perf_counter() - started
        if html.count('<html lang="en">') != 1:
            raise SystemExit("the page's <html> tag changed: cannot make the eager baseline")
        lazy, eager = folder / "lazy.html", folder / "eager.html"
        lazy.write_text(html, encoding="utf-8")
        eager.write_text(html.replace('<html lang="en">', EAGER, 1), encoding="utf-8")
        size_mb = lazy.stat().st_size / 1e6
        variants: dict[str, Callable[[Browser], float]] = {
            "lazy": lambda b: time_page(b, lazy, 0),
            "eager": lambda b: time_page(b, eager, args.runs),
        }
        rounds: list[dict[str, float]] = []
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM)
            for n in range(args.rounds):
                order = list(variants) if n % 2 == 0 else list(reversed(variants))
                rounds.append({name: variants[name](browser) for name in order})
                print(
                    f"round {n + 1}: lazy {rounds[-1]['lazy']:.2f} s, "
                    f"eager {rounds[-1]['eager']:.2f} s",
                    flush=True,
                )
            browser.close()
    fast, slow = median_of(rounds, "lazy"), median_of(rounds, "eager")
    print(
        f"{args.runs} runs, median of {args.rounds} rounds: "
        f"lazy {fast:.2f} s vs eager {slow:.2f} s: {slow / fast:.1f}x faster"
    )
    print(f"page {size_mb:.1f} MB, built in {built:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
