"""Scale: how runner's own cost grows with a suite's size, from 100 to 1,000 scenarios.

A fake CLI prints a real captured transcript (fixtures/transcripts/session.ndjson, 172 KB)
the moment it starts, so what is measured is runner's own work: lanes agent-baseline and
agent-skill, one trial, concurrency 2, no sandbox (``--sandbox none``: bwrap's start-up is
a cost per run, measured by bench_run.py). Each generated scenario has its own instruction
and workspace, and checks that pass or fail by scenario and lane, so the A/B has
differences to test. For each size, in a fresh folder:
  cold eval    ``eval``: every run a cache miss, the fake CLI started for each
  warm eval    the same ``eval`` again, every run a cache hit; also the bytes it wrote
  ab           ``ab --lanes agent-baseline,agent-skill``: warm, then the A/B
  compare      ``compare previous latest``: the warm eval's result against the ab's
  report       ``report`` of the latest result (compared with the one before): its time,
               its peak memory (the largest RSS of the process) and the page's size
  analyze      in this process: ab.analyze + render_ab, and compare + render_comparison,
               of the stored results (loaded first, not timed); the best of 10 rounds
CPU time is user + sys of the command's process and every process it waited for
(os.wait4's rusage); the report's wall time is shown but not judged (on a shared machine it
is mostly the other processes'); bytes written are the command's own write() calls (/proc/self/io's
wchar as it exits: files and pipes, its children aside). The warm commands run --rounds
times, and the best round counts: on a shared machine the others' load only adds CPU time
(cache and memory contention), so the least is the figure closest to runner's own.

The growth exponent of each row is log(at large / at small) / log(large / small): 1 is
linear, 2 quadratic; target at most 1.1. Every command also pays a fixed cost (the
interpreter, runner's imports, reading the suite's folder): it inflates the small size and
so deflates the raw exponent. So each command is also measured at 1 scenario, and the
exponent is given both raw and of the cost beyond that fixed cost (each size's figure less
the 1-scenario figure); the verdict is on the latter. At 20 scenarios (--quick) a command's
cost beyond the fixed one is about as large as the fixed cost's noise, so --quick's net
exponents are a smoke test; the verdict is read at 100 and 1,000.

    .venv/bin/python scripts/bench_scale.py                    # 100 and 1,000 scenarios
    .venv/bin/python scripts/bench_scale.py --quick            # 20 and 200: about 2 minutes
    .venv/bin/python scripts/bench_scale.py --sizes 100,300,1000 --rounds 3
"""

from __future__ import annotations

import argparse
import gc
import math
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from runner._results.ab import analyze
from runner._results.compare import compare
from runner._results.render_ab import render_ab
from runner._results.render_suite import render_comparison
from runner._results.store import RunStore
from tests.scale_support import (
    CAPTURES,
    LANES,
    Counted,
    latest_totals,
    make_suite,
    run_counted,
    suite_args,
)
from tests.suite_commands import offline_env

CAPTURE = CAPTURES / "session.ndjson"
TARGET = 1.1


def run(folder: Path, args: list[str]) -> Counted:
    """``python -m runner ARGS`` in ``folder``, measured; exits if it fails (an eval's failed
    runs exit 1: they are the A/B's data, not a failure)."""
    # Python's bytecode cached, as for a user whose install has its .pyc files
    # (PYTHONDONTWRITEBYTECODE=1 would compile runner at every start).
    env = offline_env(PYTHONPYCACHEPREFIX=str(folder.parent / "pycache"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    got = run_counted(folder, args, env)
    if got.code not in (0, 1) or (got.code == 1 and args[0] not in ("eval", "ab")):
        tail = got.stderr.strip().splitlines()[-1:] or ["(no stderr)"]
        raise SystemExit(f"runner {' '.join(args)}: exit {got.code}: {tail[0]}")
    return got


def all_cached(folder: Path, runs: int) -> None:
    """The latest stored result's runs were all cache hits: a warm figure is warm."""
    totals = latest_totals(folder)
    if totals["runs"] != runs or totals["cache_hits"] != runs:
        raise SystemExit(f"{folder}: {totals['cache_hits']} of {totals['runs']} runs cached")


def in_process(folder: Path, rounds: int) -> dict[str, float]:
    """CPU of ab.analyze + render_ab on the latest result, and of compare +
    render_comparison of the previous against it, loaded first (not timed): the best of
    at least 10 rounds."""
    store = RunStore(folder / "runs")
    before, after = (store.load(store.resolve(name)) for name in ("previous", "latest"))

    def cpu(work: Callable[[], object]) -> float:
        # The best of a few rounds, each after a full collection: tens of milliseconds, in
        # which one full collection of the heap (the two results loaded) or a neighbour's
        # burst on the machine would otherwise decide the figure.
        times = []
        for _ in range(max(10, rounds)):
            gc.collect()
            start = time.process_time()
            work()
            times.append(time.process_time() - start)
        return min(times)

    return {
        "ab.analyze + render_ab": cpu(lambda: render_ab(analyze(after))),
        "compare + render_comparison": cpu(
            lambda: render_comparison(compare(before, after), before_name="b", after_name="a")
        ),
    }


@dataclass
class Size:
    scenarios: int
    figures: dict[str, float] = field(default_factory=dict)


def measure(scenarios: int, concurrency: int, rounds: int, tmp: Path, name: str = "") -> Size:
    folder = tmp / (name or f"n{scenarios}")
    folder.mkdir()
    make_suite(folder, scenarios, CAPTURE.name)
    runs = 2 * scenarios
    more = ("--concurrency", str(concurrency))
    size = Size(scenarios)
    f = size.figures
    started = time.perf_counter()
    cold = run(folder, suite_args(folder, "eval", *more))
    f["cold eval: CPU s"] = cold.cpu_s

    def rounds_of(args: list[str], check: bool = True) -> list[Counted]:
        got = []
        for _ in range(rounds):
            got.append(run(folder, args))
            if check:
                all_cached(folder, runs)
        return got

    warm = rounds_of(suite_args(folder, "eval", *more))
    f["warm eval: CPU s"] = min(m.cpu_s for m in warm)
    f["warm eval: MB written"] = min(m.written for m in warm) / 1e6
    ab = rounds_of(suite_args(folder, "ab", *more))
    f["ab (warm): CPU s"] = min(m.cpu_s for m in ab)
    cmp = rounds_of(["compare", "--runs-dir", "runs", "previous", "latest"], check=False)
    f["compare: CPU s"] = min(m.cpu_s for m in cmp)
    page = folder / "report.html"
    report = rounds_of(["report", "--runs-dir", "runs", "-o", str(page)], check=False)
    f["report: wall s"] = min(m.wall_s for m in report)
    f["report: CPU s"] = min(m.cpu_s for m in report)
    f["report: peak RSS MB"] = max(m.max_rss_mb for m in report)
    f["report: page MB"] = page.stat().st_size / 1e6
    for name, secs in in_process(folder, rounds).items():
        f[f"{name}: CPU s (in process)"] = secs
    took = time.perf_counter() - started
    print(f"{scenarios:>6} scenarios ({runs} runs): measured in {took:.0f} s", flush=True)
    shutil.rmtree(folder / "cache", ignore_errors=True)  # its runs' folders: the bulk of it
    return size


def exponent(small: float, large: float, ratio: float) -> float | None:
    if small <= 0 or large <= 0:
        return None
    return math.log(large / small) / math.log(ratio)


def table(floor: Size, sizes: list[Size]) -> bool:
    """The figures, each row's growth exponent from the first size to the last, raw and
    beyond the fixed cost, and whether the target is met; True when every row meets it."""
    small, large = sizes[0], sizes[-1]
    ratio = large.scenarios / small.scenarios
    heads = [f"{s.scenarios:,}" for s in sizes]
    print(
        f"\n{'measure':<48}{'1 (fixed)':>10}"
        + "".join(f"{h:>10}" for h in heads)
        + f"{'exp raw':>9}{'exp net':>9}  target <= {TARGET}"
    )
    met = True
    for name, base in floor.figures.items():
        cells = "".join(f"{s.figures[name]:>10.3f}" for s in sizes)
        raw = exponent(small.figures[name], large.figures[name], ratio)
        net = exponent(small.figures[name] - base, large.figures[name] - base, ratio)
        # No net figure when a row does not grow past its fixed cost's noise: then the raw one.
        judged = net if net is not None else raw
        ok = judged is not None and judged <= TARGET
        shown = [f"{e:>9.2f}" if e is not None else f"{'-':>9}" for e in (raw, net)]
        if "wall" in name:
            # On a shared machine, wall time is mostly the other processes: shown, not judged.
            verdict = "(wall: not judged)"
        else:
            verdict = "met" if ok else "NOT met"
            met = met and ok
        print(f"{name:<48}{base:>10.3f}{cells}{''.join(shown)}  {verdict}")
    return met


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        epilog=__doc__.split("\n\n", 1)[1],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--sizes", default="100,1000", help="scenarios (default 100,1000)")
    parser.add_argument("--quick", action="store_true", help="sizes 20,200")
    parser.add_argument("--rounds", type=int, default=3, help="of each warm command (default 3)")
    parser.add_argument("--concurrency", type=int, default=2, help="default 2")
    args = parser.parse_args()
    sizes = [20, 200] if args.quick else sorted({int(s) for s in args.sizes.split(",")})
    if len(sizes) < 2 or sizes[0] < 2:
        parser.error("--sizes: two sizes or more, each at least 2 scenarios")
    tmp = Path(tempfile.mkdtemp(prefix="runner-bench-scale-"))
    print(
        f"fake CLI printing {CAPTURE.name} ({CAPTURE.stat().st_size / 1e3:.0f} KB); lanes {LANES}; "
        f"concurrency {args.concurrency}; the best of {args.rounds} rounds of each warm "
        "command; bytecode cached (a first pass at 1 scenario fills it)",
        flush=True,
    )
    try:
        measure(1, args.concurrency, 1, tmp, "warm-up")  # fills the bytecode cache
        floor = measure(1, args.concurrency, args.rounds, tmp)
        measured = [measure(n, args.concurrency, args.rounds, tmp) for n in sizes]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    met = table(floor, measured)
    print(
        "\nexp raw: log(large / small) / log(its size ratio); exp net: the same of each figure "
        "less the 1-scenario one (the fixed cost: interpreter, imports, start-up); the target "
        "is judged on exp net (on exp raw where a row does not grow past the fixed cost)."
    )
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
