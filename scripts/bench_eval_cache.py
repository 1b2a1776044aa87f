"""A second identical eval: served whole from the run cache, no CLI started, in well under a
second beyond the interpreter's start-up.

One run of ``python -m runner eval --json`` over the example suite fills a fresh cache
(offline: ANTHROPIC_* removed from its environment, so every run plays against its scenario's
scripted model). Then three arms, alternating round by round in one run:
  eval:    the same ``python -m runner eval`` again, every run a cache hit
  import:  ``python -c "import runner._cli.main"``: the interpreter plus runner's imports
  bare:    ``python -c pass``: the interpreter alone
It prints each arm's median wall time, and the median over paired rounds of eval - bare,
eval - import and eval / import. Target: eval - bare < 1 s.

No CLI may start in the timed rounds. Every run starts in the bubblewrap sandbox, and a
``bwrap`` placed first on PATH logs each sandbox started for the CLI, then execs the real
one: the filling run must log CLI runs, the timed rounds nothing. (The sandbox's one probe per
eval and the command checks start bwrap too; they are not CLI runs, and are not counted.) The
pinned CLI's version is read from its package.json: no ``--version`` call either. Every timed
round's JSON must say cache_hit and passed for every run. Exit 1 if any check or the target
fails.

    .venv/bin/python scripts/bench_eval_cache.py                 # 10 rounds
    .venv/bin/python scripts/bench_eval_cache.py --rounds 20 --variant agent-baseline,agent-skill
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from runner._agent.claude_bin import find_claude
from runner._agent.jail import CLAUDE
from runner._agent.sandbox import INSTALL_HINT

ROOT = Path(__file__).resolve().parent.parent
TARGET_S = 1.0


def make_counter(folder: Path, log: Path) -> Path:
    """A folder holding a ``bwrap`` that appends a line to ``log`` for each sandbox started
    for the CLI, then becomes the real bwrap."""
    real = shutil.which("bwrap")
    if real is None:
        raise SystemExit(f"bubblewrap is not installed: {INSTALL_HINT}")
    folder.mkdir()
    counter = folder / "bwrap"
    counter.write_text(
        "#!/bin/sh\n"
        f'case " $* " in *" {CLAUDE} "*) echo run >> {shlex.quote(str(log))};; esac\n'
        f'exec {shlex.quote(real)} "$@"\n'
    )
    counter.chmod(0o755)
    return folder


def cli_runs(log: Path) -> int:
    try:
        return len(log.read_text().splitlines())
    except FileNotFoundError:
        return 0


def timed(argv: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, proc


def last_line(text: str) -> str:
    """The last line of a child's stderr: a traceback's exception, or runner's own message."""
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip()[:300] if lines else "(no stderr)"


def has_runs(stdout: str) -> bool:
    try:
        return bool(json.loads(stdout)["runs"])
    except (ValueError, KeyError, TypeError):
        return False


def check_report(proc: subprocess.CompletedProcess[str]) -> list[str]:
    """What is wrong with one eval's --json output (nothing: an empty list)."""
    if proc.returncode != 0:
        return [f"exit code {proc.returncode}: {last_line(proc.stderr)}"]
    try:
        runs = json.loads(proc.stdout)["runs"]
    except (ValueError, KeyError, TypeError) as exc:
        return [f"unreadable --json output ({exc})"]
    if not runs:
        return ["no runs in the --json output"]
    problems = []
    for r in runs:
        why = (["not a cache hit"] if not r["cache_hit"] else []) + (
            ["failed"] if not r["passed"] else []
        )
        if why:
            problems.append(f"{r['scenario']}/{r['lane']}#{r['trial']}: {', '.join(why)}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds (default 10)")
    parser.add_argument("--variant", default="agent-skill", help="the lanes (default agent-skill)")
    parser.add_argument("--suite", help="a folder of scenarios (default: eval's, the examples)")
    args = parser.parse_args()

    real = find_claude().path
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    py = sys.executable
    tmp = Path(tempfile.mkdtemp(prefix="runner-bench-eval-cache-"))
    failures: list[str] = []
    try:
        log = tmp / "cli-runs.log"
        env["PATH"] = f"{make_counter(tmp / 'bin', log)}{os.pathsep}{env.get('PATH', '')}"
        eval_argv = [
            *(py, "-m", "runner", "eval", "--variant", args.variant),
            *(("--suite", args.suite) if args.suite else ()),
            *("--cache-dir", str(tmp / "cache"), "--runs-dir", str(tmp / "runs")),
            *("--json", "--claude-bin", str(real), "--sandbox", "bwrap"),
        ]
        print(f"real CLI: {real}\neval: {shlex.join(eval_argv)}  (cwd {ROOT})", flush=True)

        fill_s, proc = timed(eval_argv, env)
        filled = cli_runs(log)
        print(
            f"filling run: {fill_s:.2f} s, {filled} CLI runs (agents and judges), "
            f"exit code {proc.returncode}",
            flush=True,
        )
        if filled == 0:
            failures.append("the filling run started no CLI: is the counting bwrap used?")
        # Exit code 1 with a report: some run failed, and the timed rounds will say which.
        if proc.returncode not in (0, 1) or not has_runs(proc.stdout):
            failures.append(f"the filling run failed: {last_line(proc.stderr)}")
        if failures:
            for f in failures:
                print(f"FAIL: {f}")
            return 1

        arms = {
            "eval": eval_argv,
            "import": [py, "-c", "import runner._cli.main"],
            "bare": [py, "-c", "pass"],
        }
        times: dict[str, list[float]] = {name: [] for name in arms}
        for r in range(args.rounds):
            # Rotate which arm goes first, so drift over time hits all alike.
            order = list(arms)[r % 3 :] + list(arms)[: r % 3]
            for name in order:
                secs, proc = timed(arms[name], env)
                times[name].append(secs)
                if name == "eval":
                    failures += [f"round {r + 1}: {p}" for p in check_report(proc)]
                elif proc.returncode != 0:
                    failures.append(f"round {r + 1}: {name} failed: {last_line(proc.stderr)}")
            print(
                f"round {r + 1:>2}: eval {times['eval'][-1]:.3f} s   import "
                f"{times['import'][-1]:.3f} s   bare {times['bare'][-1]:.3f} s",
                flush=True,
            )
        timed_runs = cli_runs(log) - filled
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    if timed_runs:
        failures.append(f"the timed rounds started the CLI {timed_runs} time(s)")

    med = {name: statistics.median(t) for name, t in times.items()}
    pairs = list(zip(times["eval"], times["import"], times["bare"], strict=True))
    beyond_bare = statistics.median(e - b for e, _, b in pairs)
    beyond_import = statistics.median(e - i for e, i, _ in pairs)
    ratio = statistics.median(e / i for e, i, _ in pairs)
    print(
        f"\n{args.rounds} rounds, lanes {args.variant}; CLI runs in the timed rounds: "
        f"{timed_runs}\n"
        f"eval (second run)  median {med['eval']:.3f} s  (min {min(times['eval']):.3f})\n"
        f"import runner._cli.main  median {med['import']:.3f} s  (min {min(times['import']):.3f})\n"
        f"bare python        median {med['bare']:.3f} s  (min {min(times['bare']):.3f})\n"
        f"eval - bare python {beyond_bare * 1000:7.0f} ms  (median of paired rounds)\n"
        f"eval - import      {beyond_import * 1000:7.0f} ms\n"
        f"eval / import      {ratio:7.2f}x"
    )
    for f in failures:
        print(f"FAIL: {f}")
    ok = not failures and beyond_bare < TARGET_S
    print(
        f"second eval: {med['eval']:.2f} s, {beyond_import:.2f} s beyond runner's import, "
        f"{beyond_bare:.2f} s beyond bare python (target < {TARGET_S:g} s): "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
