"""eval --cluster (issue 17): misses as Ray tasks on a local two-node cluster, through the real
CLI against scripted models. One cluster for the module (it takes 5-18 s to start)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

from runner._agent.lanes import LANES
from runner._evaluate.cache import RunCache
from runner._evaluate.planning import plan
from runner._evaluate.scenarios import load_suite
from runner._evaluate.suite import SuiteRunner
from runner._model.script import tool
from tests.engine_support import background_command, marker, processes_with
from tests.suite_commands import (
    REPO,
    Workbench,
    live_upstream,
    offline_env,
    report,
    settings,
    workbench,
)
from tests.waiting import wait_for

pytestmark = pytest.mark.cli

SCENARIOS = "fix-entry,new-changelog"  # new-changelog's judge is a run too
LANES_AB = "agent-baseline,agent-skill"
CASSETTES = REPO / "fixtures" / "cassettes"  # the example suite, recorded


def _require_ray() -> None:
    try:
        import ray  # noqa: F401
    except ImportError:
        why = "ray is not installed (EXTRAS=test,ray scripts/setup)"
        if os.environ.get("RUNNER_REQUIRE_RAY") == "1":
            pytest.fail(f"{why}, and RUNNER_REQUIRE_RAY=1 requires it")
        pytest.skip(why)


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    """A local Ray cluster: a head and one more node, one CPU each."""
    _require_ray()
    from ray.cluster_utils import Cluster

    made = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "include_dashboard": False})
    try:
        made.add_node(num_cpus=1)
        made.wait_for_nodes()
        yield made
    finally:
        made.shutdown()  # type: ignore[no-untyped-call,unused-ignore]


def _outcomes(doc: dict[str, Any]) -> dict[tuple[str, str, int], tuple[Any, ...]]:
    return {
        (r["scenario"], r["lane"], r["trial"]): (
            r["cache_key"],
            r["passed"],
            r["exit_reason"],
            [(c["name"], c["passed"]) for c in r["checks"]],
        )
        for r in doc["runs"]
    }


def _verdicts(doc: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [(e["a"], e["b"], e["verdict"], e["cost"]["verdict"]) for e in doc["ab"]["effects"]]


def test_a_cluster_eval_gives_a_local_evals_keys_results_and_verdicts(
    cluster: Any, tmp_path: Path
) -> None:
    there = workbench(tmp_path / "cluster")
    args = ("--scenarios", SCENARIOS, "--lanes", LANES_AB, "--json")
    first = there.eval("--cluster", cluster.address, *args)
    assert first.returncode in (0, 1), first.stderr
    assert "cluster: 6 runs sent to the cluster" in first.stderr  # four runs, two judges
    remote = report(first)
    assert not any(r["cache_hit"] for r in remote["runs"])

    here = workbench(tmp_path / "local")
    local = report(here.eval(*args))
    assert _outcomes(remote) == _outcomes(local)
    assert _verdicts(remote) == _verdicts(local)

    again = there.eval("--cluster", cluster.address, *args)
    assert "cluster: 0 runs sent to the cluster" in again.stderr  # every run a hit, here
    assert all(r["cache_hit"] for r in report(again)["runs"])
    # What the nodes made is the driver's cache entry, whole: a local eval finds every run.
    assert all(r["cache_hit"] for r in report(there.eval(*args))["runs"])


def test_cassettes_replay_on_the_nodes_under_the_keys_of_a_local_replay(
    cluster: Any, tmp_path: Path
) -> None:
    bench = workbench(tmp_path)
    args = ("--replay", str(CASSETTES), "--scenarios", "fix-entry", "--lanes", LANES_AB, "--json")
    proc = bench.eval("--cluster", cluster.address, *args)
    assert "cluster: 2 runs sent to the cluster" in proc.stderr
    runs = report(proc)["runs"]
    assert [(r["replay"], r["exit_reason"]) for r in runs] == [("replayed", "success")] * 2
    assert all(r["cache_hit"] for r in report(bench.eval(*args))["runs"])


def test_a_live_run_takes_the_drivers_key_and_endpoint_to_its_node(
    cluster: Any, tmp_path: Path
) -> None:
    bench = workbench(tmp_path)
    # The nodes' own environment has neither: only what the driver sends reaches the proxy.
    with live_upstream(bench) as (url, _):
        env = offline_env(ANTHROPIC_API_KEY="sk-test", ANTHROPIC_BASE_URL=url)
        proc = bench.eval(
            "--cluster", cluster.address, "--scenarios", "fix-entry", "--json", env=env
        )
    assert "cluster: 1 run sent to the cluster" in proc.stderr
    (run,) = report(proc)["runs"]
    assert (run["live"], run["exit_reason"], run["passed"]) == (True, "success", True)


def _hanging(bench: Workbench) -> str:
    """new-changelog's skill lane starts two long processes, then its model never answers."""
    word = marker()
    turns = [{"content": [tool("Bash", command=background_command(word))]}, {"hang": True}]
    (bench.suite / "new-changelog" / "mock" / "skill.json").write_text(json.dumps({"turns": turns}))
    return word


def _namespace(word: str) -> str:
    """The PID namespace of the (sandboxed) processes holding ``word``."""
    pid = processes_with(word)[0].split()[0]
    return os.readlink(f"/proc/{pid}/ns/pid")


def _in_namespace(namespace: str) -> list[str]:
    """Live processes in ``namespace``: the sandbox's bash, the CLI, what the agent started."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and os.readlink(entry / "ns" / "pid") == namespace:
                found.append((entry / "cmdline").read_bytes().replace(b"\0", b" ").decode())
        except OSError:
            continue
    return found


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGINT])
def test_a_killed_or_interrupted_driver_leaves_no_cli_on_any_node(
    cluster: Any, tmp_path: Path, signum: int
) -> None:
    bench = workbench(tmp_path)
    word = _hanging(bench)
    proc = bench.start("--cluster", cluster.address, "--scenarios", "new-changelog")
    wait_for(lambda: processes_with(word) != [], "the run's agent is up on a node", proc=proc)
    namespace = _namespace(word)
    assert any("/run/runner/claude" in p for p in _in_namespace(namespace))  # the CLI, found
    proc.send_signal(signum)
    try:
        _, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    if signum == signal.SIGINT:
        assert proc.returncode == 130, err
        assert "Traceback" not in err
    wait_for(lambda: _in_namespace(namespace) == [], "the run's sandbox is gone")
    assert processes_with(word) == []


def test_a_node_with_another_cli_version_is_refused_in_one_line(
    cluster: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = workbench(tmp_path)
    other = tmp_path / "claude-9"
    other.write_text("#!/bin/sh\necho '9.9.9 (Claude Code)'\n")
    other.chmod(0o755)
    # A node's workers take the environment its raylet started with.
    monkeypatch.setenv("RUNNER_CLAUDE_BIN", str(other))
    node = cluster.add_node(num_cpus=1)
    monkeypatch.undo()
    try:
        cluster.wait_for_nodes()
        proc = bench.eval("--cluster", cluster.address, "--scenarios", "fix-entry")
    finally:
        cluster.remove_node(node)
        cluster.wait_for_nodes(timeout=120)  # gone, before the next test lists the nodes
    assert proc.returncode == 2, proc.stderr
    (line,) = proc.stderr.splitlines()
    assert "has claude 9.9.9, the runs' keys pin" in line
    assert f"node {node.address.split(':')[0]} ({node.node_id[:12]})" in line
    assert not bench.stored()  # refused before any run


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ((), "Ray is not installed here; pip install 'runner[ray]' (here and on every node)"),
        (("--sandbox", "none"), "runs on a cluster are sandboxed; leave out --sandbox none"),
        (("--record", "tapes"), "recording cassettes (--record, --replay-mode new or all) runs"),
    ],
)
def test_what_cannot_run_on_a_cluster_is_refused_in_one_line(
    tmp_path: Path, given: tuple[str, ...], said: str
) -> None:
    # Without Ray installed, which --cluster says first; the others, before Ray is asked.
    bench = workbench(tmp_path)
    argv, env = bench.invocation("eval", ("--cluster", "auto", *given), None)
    code = (
        "import sys; sys.modules['ray'] = None  # as if not installed\n"
        f"from runner._cli.main import main; sys.exit(main({argv!r}))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=bench.root
    )
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"runner: --cluster: {said}")


def test_an_address_where_nothing_answers_is_one_line(tmp_path: Path) -> None:
    _require_ray()
    bench = workbench(tmp_path)
    with socket.socket() as free:
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]  # closed again: nothing listens there
    proc = bench.eval("--cluster", f"127.0.0.1:{port}")
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith(f"runner: --cluster 127.0.0.1:{port}: nothing answers there")


@pytest.fixture(scope="module")
def driver(cluster: Any) -> Iterator[None]:
    """This test process joined to the cluster, as eval's driver joins it."""
    from runner._evaluate import cluster as joined

    joined.connect(cluster.address)
    try:
        yield
    finally:
        joined.disconnect()


def test_a_node_with_another_runner_is_refused(driver: None) -> None:
    from runner._evaluate.cluster import ClusterError, check_nodes

    version = settings().cli_version
    assert check_nodes(version) == 2  # the same runner everywhere here
    with pytest.raises(ClusterError, match=r"^node .* has another runner than this one"):
        check_nodes(version, runner="0" * 32)  # as a driver with another runner would see it


@pytest.mark.anyio
async def test_the_driver_waits_and_cancels_on_asyncio_and_trio(
    driver: None, tmp_path: Path
) -> None:
    from runner._evaluate.cluster import Remote

    bench = workbench(tmp_path / "bench")
    word = _hanging(bench)
    scenarios = load_suite(bench.suite, ["fix-entry", "new-changelog"])
    units = plan(scenarios, [LANES["agent-skill"]], 1, settings())
    remote = Remote()
    runner = SuiteRunner(settings(), RunCache(tmp_path / "cache"), remote=remote)
    done = await runner.run_unit(units[0])
    assert (done.passed, done.cache_hit, remote.sent) == (True, False, 1)
    assert (await runner.run_unit(units[0])).cache_hit
    assert remote.sent == 1

    with anyio.CancelScope() as scope:
        async with anyio.create_task_group() as tg:
            tg.start_soon(runner.run_unit, units[1])
            up = lambda: processes_with(word) != []  # noqa: E731
            await anyio.to_thread.run_sync(wait_for, up, "the run's agent is up on a node")
            namespace = _namespace(word)
            scope.cancel()
    assert remote.sent == 2
    wait_for(lambda: _in_namespace(namespace) == [], "the cancelled run's sandbox is gone")


def test_a_cancelled_runs_folder_is_swept_once_its_worker_is_gone(tmp_path: Path) -> None:
    from runner._evaluate.cluster_task import PREFIX, sweep

    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], stdout=subprocess.PIPE
    )
    left = tmp_path / f"{PREFIX}{int(ended.stdout)}-abc"
    (left / "workspaces" / "runner-x").mkdir(parents=True)
    running = tmp_path / f"{PREFIX}{os.getpid()}-def"
    running.mkdir()
    other = tmp_path / "runner-other"
    other.mkdir()
    sweep(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([running.name, other.name])


def _asleep() -> bytes:
    time.sleep(600)  # a task its node never ends: only the driver's safety net does
    return b""


@pytest.mark.anyio
async def test_a_task_past_its_limit_is_cancelled_by_the_driver(driver: None) -> None:
    import ray
    from ray.exceptions import TaskCancelledError

    from runner._evaluate.cluster import ClusterTaskError, _wait

    ref = ray.remote(num_cpus=0, max_retries=0)(_asleep).remote()
    with pytest.raises(ClusterTaskError, match="had not returned 0 s after it was sent"):
        await _wait(ref, 0.01)
    with pytest.raises(TaskCancelledError):
        await anyio.to_thread.run_sync(ray.get, ref)
