"""The dashboard with 1,000 runs: how long from navigation until its first view is drawn,
as built (each transcript parsed and drawn only when its row opens) against a baseline that
draws every transcript at load, measured side by side in headless Chromium; and the page's size.

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
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Browser, sync_playwright

from runner.report import StoredResult, build_report
from runner.results import CheckResult, RunResult, SuiteHeader, SuiteResult, Totals
from runner.stream import iter_events
from runner.transcript import TranscriptSummary, summarize

ROOT = Path(__file__).resolve().parent.parent
TRANSCRIPTS = ROOT / "fixtures" / "transcripts"
CHROMIUM = "/usr/bin/chromium"
LANES = ("agent-baseline", "agent-skill")
TRIALS = 10
EAGER = '<html lang="en" data-eager="1">'


def summary_of(path: Path) -> TranscriptSummary:
    with path.open("rb") as f:
        return summarize(iter_events(f))


def synthetic_result(folder: Path, runs: int) -> SuiteResult:
    """``runs`` runs over scenarios x LANES x TRIALS, each folder holding a captured stream."""
    captures = sorted(TRANSCRIPTS.glob("*.ndjson"))
    summaries = {p: summary_of(p) for p in captures}
    chance = random.Random(7)
    results = []
    for i in range(runs):
        scenario, rest = divmod(i, len(LANES) * TRIALS)
        lane, trial = LANES[rest // TRIALS], rest % TRIALS
        capture = captures[i % len(captures)]
        run_dir = folder / f"run-{i:04d}"
        run_dir.mkdir()
        (run_dir / "stream.ndjson").symlink_to(capture)
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
                cache_key=f"{i:032x}",
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


def median_of(rounds: list[dict[str, float]], name: str) -> float:
    return statistics.median(r[name] for r in rounds)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-report-") as tmp:
        folder = Path(tmp)
        result = synthetic_result(folder, args.runs)
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
