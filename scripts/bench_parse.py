"""Throughput of reading a large stream-json transcript into typed events, against the SDK.

Both sides read the same file, side by side in one run, alternating, best of N rounds, timed in
CPU seconds of this process (other work on the machine changes wall time, not these):
  runner:  runner._transcript.stream.iter_events (framing, typed pydantic events, raw line kept:
  lossless) SDK:     Anthropic's claude-agent-sdk parse path: json.loads per line, then its
  parse_message
           (typed dataclasses; given Python's own line iteration for free)
The corpus repeats the real CLI captures in fixtures/transcripts/ until it is large enough. Two
corpora by default: every capture (most bytes in lines of MBs, where the CLI echoes files), and
the small-line one, without big_write and big_edit: typical transcripts, the one the 2.5x
target is for (issue 17).

    .venv/bin/python scripts/bench_parse.py                  # both corpora, 128 MB, 5 rounds
    .venv/bin/python scripts/bench_parse.py --exclude big_write,big_edit --check
Needs the SDK: EXTRAS=test,bench scripts/setup
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from runner._transcript.stream import ParseError, iter_events

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "fixtures" / "transcripts"
TARGET = 2.5
SMALL_LINES = "big_write,big_edit"  # left out: the small-line corpus the target is for


def build_corpus(
    path: Path, megabytes: int, source: Path, exclude: set[str]
) -> tuple[Counter[str], int]:
    """Concatenate the captures, round after round, until the file reaches ``megabytes``."""
    files = [p for p in sorted(source.glob("*.ndjson")) if p.stem not in exclude]
    captures = [p.read_bytes() for p in files]
    if not captures:
        sys.exit(f"no captures in {source}: run scripts/capture_transcripts.py")
    captures = [c if c.endswith(b"\n") else c + b"\n" for c in captures]
    kinds: Counter[str] = Counter()
    for data in captures:
        for line in data.splitlines():
            try:
                kinds[json.loads(line).get("type", "?")] += len(line) + 1
            except ValueError:
                kinds["(not json)"] += len(line) + 1
    target = megabytes * 1_000_000
    written, rounds = 0, 0
    with path.open("wb") as f:
        while written < target:
            for data in captures:
                f.write(data)
                written += len(data)
            rounds += 1
    return Counter({k: v * rounds for k, v in kinds.items()}), len(files)


def read_runner(path: Path) -> int:
    n = 0
    with path.open("rb") as f:
        for item in iter_events(f):
            if not isinstance(item, ParseError):
                n += 1
    return n


def read_sdk(path: Path) -> int:
    from claude_agent_sdk._internal.message_parser import parse_message

    n = 0
    with path.open("rb") as f:
        for line in f:
            if not line.strip():
                continue
            try:
                data = json.loads(line)
            except ValueError:
                continue
            parse_message(data)  # returns None for types it does not know: it drops them
            n += 1
    return n


def timed(fn: Callable[[Path], int], path: Path) -> tuple[float, int]:
    gc.collect()
    start = time.process_time()
    n = fn(path)
    return time.process_time() - start, n


def compare(args: argparse.Namespace, exclude: set[str]) -> float | None:
    """One corpus, both readers: the SDK's CPU time over runner's (None: the counts differ)."""
    kinds, n_captures = build_corpus(args.corpus, args.mb, args.captures, exclude)
    size = args.corpus.stat().st_size
    left_out = f", without {', '.join(sorted(exclude))}" if exclude else ""
    print(f"corpus: {args.corpus} {size / 1e6:.0f} MB from {n_captures} captures{left_out}")
    for kind, nbytes in kinds.most_common():
        print(f"  {kind:14s} {nbytes / size:6.1%} of bytes")
    best = {"runner": float("inf"), "sdk": float("inf")}
    counts: dict[str, int] = {}
    for r in range(args.rounds):
        for name, fn in (("runner", read_runner), ("sdk", read_sdk)):
            secs, n = timed(fn, args.corpus)
            best[name] = min(best[name], secs)
            counts[name] = n
            print(f"  round {r + 1} {name:6s} {size / secs / 1e6:7.1f} MB/s  ({n} events)")
    if counts["runner"] != counts["sdk"]:
        print(f"event counts differ: runner {counts['runner']}, sdk {counts['sdk']}")
        return None
    ratio = best["sdk"] / best["runner"]
    print(
        f"runner {size / best['runner'] / 1e6:.1f} MB/s, SDK {size / best['sdk'] / 1e6:.1f} MB/s "
        f"(CPU): ratio {ratio:.2f}x\n"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=128, help="corpus size in MB (default 128)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; best counts")
    parser.add_argument("--corpus", type=Path, default=ROOT / "bench-data" / "corpus.ndjson")
    parser.add_argument("--captures", type=Path, default=CAPTURES, help="folder of captures")
    parser.add_argument(
        "--exclude",
        default=None,
        metavar="NAMES",
        help="captures to leave out, comma-separated: that one corpus only "
        f"(default: every capture, then without {SMALL_LINES})",
    )
    parser.add_argument(
        "--check", action="store_true", help=f"exit 1 when the small-line ratio is below {TARGET}x"
    )
    args = parser.parse_args()
    try:
        import claude_agent_sdk  # noqa: F401
    except ImportError:
        print("claude-agent-sdk is not installed: EXTRAS=test,bench scripts/setup", file=sys.stderr)
        return 2
    args.corpus.parent.mkdir(parents=True, exist_ok=True)
    runs = [args.exclude] if args.exclude is not None else ["", SMALL_LINES]
    ratios = {names: compare(args, {n for n in names.split(",") if n}) for names in runs}
    met = True
    for names, ratio in ratios.items():
        if ratio is None:
            return 1
        corpus = f"without {names}" if names else "every capture"
        verdict = ""
        if set(names.split(",")) >= set(SMALL_LINES.split(",")):  # the target's corpus
            met = met and ratio >= TARGET
            verdict = f"  target {TARGET}x: {'met' if ratio >= TARGET else 'NOT met'}"
        print(f"{corpus:32s} runner / SDK {ratio:.2f}x{verdict}")
    return 1 if args.check and not met else 0


if __name__ == "__main__":
    raise SystemExit(main())
