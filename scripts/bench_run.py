"""The harness's own overhead: one run through runner against the bare CLI call.

Both arms run the same CLI with the same argv, prompt and environment against the same kind of
scripted endpoint on 127.0.0.1, alternating round by round in one process:

- bare: ``claude <the spec's argv>`` with the prompt on stdin, its output collected in
  memory, in a folder prepared beforehand (outside the timing);
- runner: ``runner.engine.run_one`` in the agent-skill lane, which adds everything runner does
  around the call: a fresh copy of the fixture with the skill installed, the subreaper, the
  stdout tee to disk, live parsing and diagnostics, changed-file capture, the record.

It prints the median wall time of each arm and the ratio runner / bare: the median of the
per-round ratios, since each round pairs the two arms under the same machine load (a CLI run
varies by +-15% from one run to the next). Target: <= 1.15.

    .venv/bin/python scripts/bench_run.py                # 20 rounds
    .venv/bin/python scripts/bench_run.py --rounds 30 --check
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

import anyio

from runner.claude import cli_env
from runner.claude_bin import find_claude
from runner.engine import RunOptions, RunSpec, check, run_one
from runner.lanes import get_lane
from runner.replay.mock_api import scripted_model
from runner.replay.script import Script, tool
from runner.workspace import Workspace

TARGET = 1.15
LANE = "agent-skill"
# The example skill, as the tests use it.
GREETER = Path(__file__).resolve().parent.parent / "skills" / "greeter"


# A typical short agent run: load the skill, write, check, answer.
SCRIPT = Script.model_validate(
    {
        "turns": [
            {"content": [tool("Skill", skill="greeter")]},
            {"content": [tool("Write", file_path="greeting.txt", content="Hello, world!\n")]},
            {"content": [tool("Bash", command="cat greeting.txt", description="check")]},
            {"content": [{"type": "text", "text": "Wrote greeting.txt."}]},
        ]
    }
)


def make_fixture(root: Path) -> Path:
    fixture = root / "fixture"
    (fixture / "src").mkdir(parents=True)
    for i in range(20):
        (fixture / "src" / f"m{i}.py").write_text(f"def f{i}():\n    return {i}\n" * 50)
    return fixture


async def bare_run(spec: RunSpec, root: Path, n: int) -> float:
    argv = check(spec, get_lane(LANE)).argv(find_claude().path)
    ws = Workspace.create(spec.fixture, parent=root / f"bare-{n}")
    assert spec.skill is not None
    ws.install_skill(spec.skill)
    async with scripted_model(SCRIPT) as model:
        env = cli_env(model.url, home=ws.home, tmp=ws.tmp)
        start = time.perf_counter()
        proc = await anyio.run_process(argv, input=spec.instruction.encode(), cwd=ws.path, env=env)
        elapsed = time.perf_counter() - start
    if proc.returncode != 0 or b'"subtype":"success"' not in proc.stdout:
        raise RuntimeError(f"the bare run failed: {proc.stderr[-500:]!r}")
    return elapsed


async def runner_run(spec: RunSpec, root: Path, n: int) -> float:
    async with scripted_model(SCRIPT) as model:
        options = RunOptions(
            endpoint=model.url,
            workspace_parent=root / "ws",
        )
        start = time.perf_counter()
        record = await run_one(spec, LANE, run_dir=root / f"run-{n}", options=options)
        elapsed = time.perf_counter() - start
    if record.exit_reason != "success" or record.transcript.skills_invoked != ["greeter"]:
        raise RuntimeError(f"the runner run failed: {record.exit_reason}")
    return elapsed


async def bench(rounds: int, backend_note: str) -> float:
    root = Path(tempfile.mkdtemp(prefix="runner-bench-run-"))
    try:
        fixture = make_fixture(root)
        spec = RunSpec(
            scenario="bench", instruction="Greet the world.", fixture=fixture, skill=GREETER
        )
        await bare_run(spec, root, -1)  # warm the page cache for the CLI's binary
        bare: list[float] = []
        ours: list[float] = []
        for n in range(rounds):
            # Alternate which arm goes first, so drift over time hits both alike.
            arms = [(bare, bare_run), (ours, runner_run)]
            for times, arm in arms if n % 2 == 0 else reversed(arms):
                times.append(await arm(spec, root, n))
            print(f"round {n + 1:>2}: bare {bare[-1]:.3f} s   runner {ours[-1]:.3f} s", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    ratio = statistics.median(r / b for r, b in zip(ours, bare, strict=True))
    print(
        f"\n{rounds} rounds on {backend_note}, lane {LANE}, 4 scripted turns\n"
        f"bare CLI   median {statistics.median(bare):.3f} s  (min {min(bare):.3f})\n"
        f"runner     median {statistics.median(ours):.3f} s  (min {min(ours):.3f})\n"
        f"ratio runner/bare (median of paired rounds): {ratio:.3f}  (target <= {TARGET})"
    )
    return ratio


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--check", action="store_true", help="exit 1 when over the target")
    args = parser.parse_args()
    ratio = anyio.run(bench, args.rounds, args.backend, backend=args.backend)
    return 1 if args.check and ratio > TARGET else 0


if __name__ == "__main__":
    sys.exit(main())
