"""eval --cluster's cost per run: what a run pays for going through Ray (the task, the fixture
by reference, the run folder's archive back, the commit on the driver) over the same run
done on the driver's machine.

A local cluster (``ray.cluster_utils.Cluster``: a head and one more node, one CPU each, all on
this machine) and a fake CLI that prints one result line at once (so the CLI's own time is
not counted; every run still starts in the bubblewrap sandbox). Arms, alternating round by
round in one run, each ``python -m runner eval --no-cache`` of one scenario at concurrency 2:
  local:    on this machine
  cluster:  --cluster, the same runs as tasks on the two nodes
Each arm runs at two sizes (--trials SMALL and LARGE); the slope (time(LARGE) - time(SMALL)) /
(LARGE - SMALL) is the wall time per run without the fixed costs (the interpreter, joining
the cluster, the nodes' check). It prints each arm's median slope and the overhead per run,
cluster - local (two runs at once: a run's own overhead is about twice that).

    .venv/bin/python scripts/bench_cluster.py                   # 3 rounds, 10 and 40 trials
    .venv/bin/python scripts/bench_cluster.py --rounds 5 --large 80
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
VERSION = "0.0.0-bench"
RESULT = {
    "type": "result",
    "subtype": "success",
    "is_error": False,
    "num_turns": 1,
    "result": "done",
    "session_id": "bench",
    "total_cost_usd": 0.0,
}


def suite(root: Path) -> Path:
    """One scenario with a small fixture (shipped once per digest) and a scripted model."""
    folder = root / "suite" / "one"
    (folder / "workspace").mkdir(parents=True)
    for i in range(20):
        (folder / "workspace" / f"f{i}.txt").write_text(f"line {i}\n" * 50)
    (folder / "mock").mkdir()
    (folder / "mock" / "agent.json").write_text(json.dumps({"turns": []}))
    (folder / "scenario.toml").write_text(
        'instruction = "say done"\nworkspace = "workspace"\n[mock]\n"*" = "mock/agent.json"\n'
    )
    return folder.parent


def fake_cli(root: Path) -> Path:
    cli = root / "claude"
    cli.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = --version ]; then echo "{VERSION} (Claude Code)"; exit 0; fi\n'
        f"cat > /dev/null; echo '{json.dumps(RESULT)}'\n"
    )
    cli.chmod(0o755)
    return cli


def eval_s(root: Path, trials: int, cluster: str | None, env: dict[str, str]) -> float:
    argv = [
        sys.executable, "-m", "runner", "eval", "--suite", str(root / "suite"),
        "--cache-dir", str(root / "cache"), "--runs-dir", str(root / "runs"),
        "--claude-bin", str(root / "claude"), "--lanes", "agent-baseline",
        "--trials", str(trials), "--concurrency", "2", "--no-cache", "--json",
    ]  # fmt: skip
    if cluster is not None:
        argv += ["--cluster", cluster]
    start = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=root)
    took = time.perf_counter() - start
    if proc.returncode != 0:
        raise SystemExit(f"eval failed ({proc.returncode}): {proc.stderr[-2000:]}")
    runs = json.loads(proc.stdout)["runs"]
    if len(runs) != trials or not all(r["exit_reason"] == "success" for r in runs):
        raise SystemExit(f"not every run succeeded: {proc.stderr[-2000:]}")
    return took


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--small", type=int, default=10)
    parser.add_argument("--large", type=int, default=40)
    args = parser.parse_args()
    from ray.cluster_utils import Cluster

    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        root = Path(tmp)
        suite(root)
        cli = fake_cli(root)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
        # The nodes' workers find the CLI by the environment their raylet started with.
        os.environ["RUNNER_CLAUDE_BIN"] = str(cli)
        cluster = Cluster(
            initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False}
        )
        try:
            cluster.add_node(num_cpus=1)
            cluster.wait_for_nodes()
            slopes: dict[str, list[float]] = {"local": [], "cluster": []}
            for _ in range(args.rounds):
                for arm, address in (("local", None), ("cluster", cluster.address)):
                    small = eval_s(root, args.small, address, env)
                    large = eval_s(root, args.large, address, env)
                    slopes[arm].append((large - small) / (args.large - args.small))
        finally:
            cluster.shutdown()  # type: ignore[no-untyped-call,unused-ignore]
    local, remote = (statistics.median(slopes[a]) for a in ("local", "cluster"))
    print(f"runs {args.small} and {args.large}, concurrency 2, {args.rounds} rounds (median)")
    print(f"local:    {local * 1000:7.1f} ms per run (wall, two at once)")
    print(f"cluster:  {remote * 1000:7.1f} ms per run (wall, two at once)")
    extra = (remote - local) * 1000
    print(f"overhead: {extra:7.1f} ms per run; cluster / local {remote / local:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
