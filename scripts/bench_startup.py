"""Start-up cost: the CPU time (user + sys, of the child and what it waited for: a command
check's sandbox counts) of runner's quick commands.

Arms, alternating round by round in one run:
  bare:        ``python -c pass``: the interpreter alone, the yardstick
  floor:       one pydantic model built (plugins off, as runner's CLI has them) and one anyio
               event loop run (asyncio): what any command that validates with pydantic and
               runs async pays before runner's own code; no target, it says how much of the
               eval's figure is runner's to cut
  help:        ``python -m runner --help``
  transcript:  ``python -m runner transcript --help``
  eval:        ``python -m runner eval --offline`` of the example suite, every run a cache
               hit (one eval first fills a cache in a temporary folder; the timed ones must
               exit 0, and one more with --json after them must find every run a cache hit)
CPU time, not wall time, so a loaded machine changes the figures little. It prints each arm's
median, its ratio to bare, and whether it meets the target (< 0.2 s CPU; bare has none).
Python's bytecode cache is on, as for a user who installed runner with pip (which compiles
every module at install): PYTHONDONTWRITEBYTECODE is unset for the arms and the .pyc files go
to a temporary PYTHONPYCACHEPREFIX, written by the first (unmeasured) eval. With
``--no-bytecode-cache`` there is no .pyc at all, runner's nor its dependencies' (that empty
prefix, and PYTHONDONTWRITEBYTECODE=1): every module is compiled at each start, the worst
case. An editable install run only with PYTHONDONTWRITEBYTECODE=1 sits between the two: its
dependencies have the .pyc pip wrote, runner's modules none unless a run without the variable
wrote them. The output's first line says which was measured.

    .venv/bin/python scripts/bench_startup.py               # 10 rounds
    .venv/bin/python scripts/bench_startup.py --rounds 20
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 0.2


def cpu_of(argv: list[str], env: dict[str, str]) -> float:
    """The child's user + sys CPU seconds; exits if it fails."""
    proc = subprocess.Popen(
        argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        tail = err.decode(errors="replace").strip().splitlines()[-1:] or ["(no stderr)"]
        raise SystemExit(f"{' '.join(argv[1:])}: exit {proc.returncode}: {tail[0]}")
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (default 10)")
    parser.add_argument(
        "--no-bytecode-cache", action="store_true", help="compile every module at every start"
    )
    args = parser.parse_args()
    py = sys.executable
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    tmp = Path(tempfile.mkdtemp(prefix="runner-bench-startup-"))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    env["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")  # the checkout's folders stay clean
    if args.no_bytecode_cache:
        env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        eval_argv = [
            *(py, "-m", "runner", "eval", "--offline", "--lanes", "agent-skill"),
            *("--cache-dir", str(tmp / "cache"), "--runs-dir", str(tmp / "runs")),
        ]
        cpu_of(eval_argv, env)  # fills the cache
        floor = (
            "import os; os.environ['PYDANTIC_DISABLE_PLUGINS'] = '__all__'\n"
            "from pydantic import BaseModel\nclass M(BaseModel): x: int = 0\n"
            "import anyio; anyio.run(anyio.sleep, 0)"
        )
        arms = {
            "bare": [py, "-c", "pass"],
            "floor": [py, "-c", floor],
            "help": [py, "-m", "runner", "--help"],
            "transcript": [py, "-m", "runner", "transcript", "--help"],
            "eval": eval_argv,
        }
        times: dict[str, list[float]] = {name: [] for name in arms}
        for _ in range(args.rounds):
            for name, argv in arms.items():
                times[name].append(cpu_of(argv, env))
        # The timed evals ran on this same cache: one more, with --json, says each run was a hit.
        report = subprocess.run(
            [*eval_argv, "--json"], cwd=ROOT, env=env, capture_output=True, text=True, check=True
        )
        runs = json.loads(report.stdout)["runs"]
        if not runs or not all(r["cache_hit"] for r in runs):
            raise SystemExit("eval: a run was not a cache hit, so the timed evals started a CLI")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    bare = statistics.median(times["bare"])
    if args.no_bytecode_cache:
        print(
            "bytecode: none (PYTHONDONTWRITEBYTECODE=1, no .pyc, the dependencies' neither): "
            "every module compiled at each start"
        )
    else:
        print("bytecode: cached, as after pip install (.pyc written by a first, unmeasured eval)")
    print(f"CPU time (user + sys), median of {args.rounds} rounds; target < {TARGET_S} s")
    met = True
    for name, argv in arms.items():
        med = statistics.median(times[name])
        shown = "python " + " ".join(argv[1:] if name != "eval" else [*argv[1:7], "..."])
        if name == "floor":
            shown = "python -c 'class M(pydantic.BaseModel): ...; anyio.run(...)'"
        if name in ("bare", "floor"):
            print(f"  {name:<11} {med:6.3f} s  {med / bare:5.1f}x          {shown}")
            continue
        ok = med < TARGET_S
        met = met and ok
        verdict = "met" if ok else "NOT met"
        print(f"  {name:<11} {med:6.3f} s  {med / bare:5.1f}x  {verdict:<7} {shown}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
