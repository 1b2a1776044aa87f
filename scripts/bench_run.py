"""What a run costs on top of the bare CLI call: runner's harness, and its sandbox.

Three arms run the same CLI with the same argv and prompt against the same kind of scripted
endpoint on 127.0.0.1, alternating round by round in one process:

- bare: ``claude <the spec's argv>`` with the prompt on stdin, its output collected in
  memory, in a folder prepared beforehand (outside the timing);
- unconfined: ``runner._agent.engine.run_one`` in the agent-skill lane with ``--sandbox none``: a
  fresh copy of the fixture with the skill installed, the subreaper, the stdout tee to disk,
  live parsing and diagnostics, changed-file capture, the record;
- sandboxed: the same, in the bubblewrap sandbox every run gets by default (bwrap, the model
  bridged in by socat, the process limit).

It prints each arm's median wall time and two ratios, each the median of the per-round ratios
(each round pairs the arms under the same machine load; a CLI run varies by +-15% from one
run to the next): sandboxed / unconfined (target <= 1.10) and unconfined / bare (target
<= 1.15).

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
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import anyio

from runner._agent.claude import cli_env
from runner._agent.claude_bin import find_claude
from runner._agent.engine import RunOptions, RunSpec, check, run_one
from runner._agent.lanes import get_lane
from runner._agent.sandbox import SandboxMode
from runner._agent.workspace import Workspace
from runner._model.mock_api import scripted_model
from runner._model.script import Script, tool

SANDBOX_TARGET = 1.10  # sandboxed / unconfined
HARNESS_TARGET = 1.15  # unconfined / bare
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


async def runner_run(spec: RunSpec, root: Path, n: int, sandbox: SandboxMode) -> float:
    async with scripted_model(SCRIPT) as model:
        options = RunOptions(endpoint=model.url, workspace_parent=root / "ws")
        start = time.perf_counter()
        record = await run_one(
            spec.model_copy(update={"sandbox": sandbox}),
            LANE,
            run_dir=root / f"run-{sandbox}-{n}",
            options=options,
        )
        elapsed = time.perf_counter() - start
    if record.exit_reason != "success" or record.transcript.skills_invoked != ["greeter"]:
        raise RuntimeError(f"the {sandbox} run failed: {record.exit_reason} {record.error}")
    return elapsed


async def bench(rounds: int, backend_note: str) -> tuple[float, float]:
    root = Path(tempfile.mkdtemp(prefix="runner-bench-run-"))
    arms: dict[str, Callable[[RunSpec, Path, int], Awaitable[float]]] = {
        "bare": bare_run,
        "unconfined": partial(runner_run, sandbox="none"),
        "sandboxed": partial(runner_run, sandbox="bwrap"),
    }
    times: dict[str, list[float]] = {name: [] for name in arms}
    try:
        fixture = make_fixture(root)
        spec = RunSpec(
            scenario="bench", instruction="Greet the world.", fixture=fixture, skill=GREETER
        )
        await bare_run(spec, root, -1)  # warm the page cache for the CLI's binary
        await arms["sandboxed"](spec, root, -1)  # and for bwrap and socat
        for n in range(rounds):
            # Rotate which arm goes first, so drift over time hits all alike.
            order = list(arms)[n % 3 :] + list(arms)[: n % 3]
            for name in order:
                times[name].append(await arms[name](spec, root, n))
            line = "   ".join(f"{name} {times[name][-1]:.3f} s" for name in arms)
            print(f"round {n + 1:>2}: {line}", flush=True)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    bare, unconfined, boxed = times["bare"], times["unconfined"], times["sandboxed"]
    sandbox_ratio = statistics.median(b / u for b, u in zip(boxed, unconfined, strict=True))
    harness_ratio = statistics.median(u / b for u, b in zip(unconfined, bare, strict=True))
    print(f"\n{rounds} rounds on {backend_note}, lane {LANE}, 4 scripted turns")
    for name, t in times.items():
        print(f"{name:<11} median {statistics.median(t):.3f} s  (min {min(t):.3f})")
    print(
        f"sandboxed / unconfined: {sandbox_ratio:.3f}  (target <= {SANDBOX_TARGET})\n"
        f"unconfined / bare:      {harness_ratio:.3f}  (target <= {HARNESS_TARGET})\n"
        "(each the median of the per-round ratios)"
    )
    return sandbox_ratio, harness_ratio


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--backend", choices=["asyncio", "trio"], default="asyncio")
    parser.add_argument("--check", action="store_true", help="exit 1 when over a target")
    args = parser.parse_args()
    sandbox_ratio, harness_ratio = anyio.run(bench, args.rounds, args.backend, backend=args.backend)
    over = sandbox_ratio > SANDBOX_TARGET or harness_ratio > HARNESS_TARGET
    return 1 if args.check and over else 0


if __name__ == "__main__":
    sys.exit(main())
