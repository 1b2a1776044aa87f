"""Peak memory of `python -m runner transcript` on a large transcript, against its size.

Builds a transcript of --mb megabytes by repeating the real CLI captures in fixtures/transcripts/
(fresh message and tool ids each round, so nothing dedupes away), then runs the command in a
child process and reads the child's peak RSS. The baseline is the file's size: what a reader
that holds the file, or every event of it, needs at the least. Flat memory means the peak
tracks the largest line, not the file.

    .venv/bin/python scripts/bench_memory.py            # 1024 MB
    .venv/bin/python scripts/bench_memory.py --mb 256
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CAPTURES = ROOT / "fixtures" / "transcripts"


def build(path: Path, megabytes: int) -> tuple[int, int]:
    """Write the transcript; returns (bytes written, longest line)."""
    captures = [p.read_bytes() for p in sorted(CAPTURES.glob("*.ndjson"))]
    longest = max(len(line) for c in captures for line in c.splitlines())
    target, written, rnd = megabytes * 1_000_000, 0, 0
    with path.open("wb") as f:
        while written < target:
            rnd += 1
            tag = f"_r{rnd}_".encode()
            for data in captures:
                # Fresh ids per round: message and tool ids are what the summary tracks.
                data = data.replace(b'"msg_scripted_', b'"msg' + tag).replace(
                    b'"toolu_scripted_', b'"toolu' + tag
                )
                f.write(data if data.endswith(b"\n") else data + b"\n")
                written += len(data)
    return path.stat().st_size, longest


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=1024, help="transcript size (default 1024)")
    parser.add_argument("--file", type=Path, default=ROOT / "bench-data" / "large.ndjson")
    args = parser.parse_args()
    args.file.parent.mkdir(parents=True, exist_ok=True)
    size, longest = build(args.file, args.mb)
    start = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "transcript", str(args.file), "--json"],
        capture_output=True,
        check=True,
    )
    secs = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024  # KiB on Linux
    events = json.loads(proc.stdout)["events"]
    print(f"transcript: {size / 1e6:.0f} MB, {events} events, longest line {longest / 1e6:.1f} MB")
    print(f"runner transcript: {secs:.1f} s, peak RSS {peak / 1e6:.0f} MB")
    print(
        f"peak RSS / file size: {peak / size:.3f} "
        f"(baseline: holding the file needs >= 1.0); peak RSS / longest line: {peak / longest:.0f}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
