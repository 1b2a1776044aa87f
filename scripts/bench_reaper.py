"""The reaper's cost per run: the CPU time (user + sys, of it and what it waited for) of the
subreaper every run starts, ending at once (``true`` as the CLI), so only its own start, its
/proc listings and its report count.

Arms, alternating round by round in one run:
  bare:     ``python -I -S -c pass``: the interpreter as the reaper starts it, the yardstick
  reaper:   ``python -I -S -c BOOT .../reaper.py GRACE REPORT -- true``, as runner starts it
            (imported, so its bytecode is read from runner/__pycache__)
  by path:  ``python -I -S .../reaper.py GRACE REPORT -- true``: the file run by path,
            compiled at every start (as runner started it before)
  before:   with ``--before FILE``, another reaper run by path (main's, say)
Bytecode: the reaper runs with -I, which ignores PYTHONDONTWRITEBYTECODE; its .pyc is written
by the first, unmeasured start, as pip install would have written it.

    .venv/bin/python scripts/bench_reaper.py --rounds 30
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench_startup import cpu_of  # noqa: E402 - beside this script

from runner._agent import reaper as _reaper  # noqa: E402 - from this checkout, whatever is installed


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="alternating rounds (default 30)")
    parser.add_argument(
        "--before", metavar="FILE", help="another reaper.py run by path too (e.g. main's)"
    )
    args = parser.parse_args()
    py = [sys.executable, "-I", "-S"]
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="runner-bench-reaper-") as tmp:
        tail = ["5", str(Path(tmp) / "report.json"), "--", "true"]
        arms = {
            "bare": [*py, "-c", "pass"],
            "reaper": [*py, "-c", _reaper.BOOT, _reaper.__file__, *tail],
            "by path": [*py, _reaper.__file__, *tail],
        }
        if args.before:
            arms["before"] = [*py, args.before, *tail]
        cpu_of(arms["reaper"], env)  # writes its .pyc
        times: dict[str, list[float]] = {name: [] for name in arms}
        for _ in range(args.rounds):
            for name, argv in arms.items():
                times[name].append(cpu_of(argv, env))
    bare = statistics.median(times["bare"])
    print(f"CPU time (user + sys), median of {args.rounds} rounds")
    for name in arms:
        med = statistics.median(times[name])
        extra = (med - bare) * 1000
        print(f"  {name:<8} {med * 1000:6.1f} ms  {med / bare:4.1f}x  (+{extra:.1f} ms)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
