"""``eval --cluster``: cache misses run as Ray tasks; everything else stays on the driver.

The driver plans, derives every key, answers hits from its cache and is the cache's only
writer. A miss becomes one task (``cluster_task.run``) that runs the CLI on a node with
runner's own engine and sandbox, and hands the run's folder back as an archive, committed
here under the driver's key. Fixture and skill trees, scripted models and replayed cassettes
go into the object store once per content digest; each task gets their references. Before
any run, one task per node checks that the node runs the CLI version the keys pin.

Imported only when --cluster is given (it imports Ray).
"""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel
import ray
from ray.exceptions import GetTimeoutError, RayError
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from runner._agent.engine import RunOptions, RunRecord, described
from runner._evaluate.cache import Producer
from runner._evaluate.cluster_task import Job, node_report, pack, run, runner_digest, unpack
from runner._evaluate.planning import KEY_VARS, Unit
from runner._evaluate.run_keys import script_digest, tree_digest

# A node's own watchdog ends a run at its timeout plus grace. The driver's clock starts when
# it sends the task, which may then wait for a CPU (another eval's runs on the cluster): it
# cancels the task itself only after twice that and this margin, so a late start is no error.
SAFETY_MARGIN_S = 120.0
PROBE_S = 10.0  # a head that does not accept a connection in this long is not there
NODE_CHECK_S = 120.0  # a node's check: start a worker, ask the CLI its version, try bwrap
LIVE_VARS = (*KEY_VARS, "ANTHROPIC_BASE_URL")  # what runner's proxy on the node forwards with

# One CPU per run, as --concurrency counts locally; never retried (a retry would bill the run
# again and hide a node that fails it).
_run = ray.remote(num_cpus=1, max_retries=0)(run)
_report = ray.remote(num_cpus=0, max_retries=0)(node_report)


class ClusterError(Exception):
    """The cluster cannot run this eval; the message is one line saying why."""


class ClusterTaskError(RuntimeError):
    """A run's task failed on the cluster (its node died, it outlived its timeout)."""


def connect(address: str) -> int:
    """Join the cluster at ``address`` as its driver; its CPUs (the runs it takes at once)."""
    _reachable(address)
    try:
        ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
    except ConnectionError:
        if address != "auto":
            raise
        raise ClusterError(
            "--cluster auto: no Ray cluster was started on this machine; start one with "
            "`ray start --head`, or give the head's HOST:PORT"
        ) from None
    except (RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ClusterError(f"--cluster {address}: cannot join the cluster: {first}") from None
    resources: Callable[[], dict[str, float]] = ray.cluster_resources
    return max(1, int(resources().get("CPU", 0)))


def _reachable(address: str) -> None:
    """A HOST:PORT that answers, before Ray is asked: Ray retries an address that does not
    for minutes, logging as it goes. (``auto`` and ``ray://`` fail fast on their own.)"""
    host, colon, port = address.rpartition(":")
    if address == "auto" or "://" in address or not colon or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=PROBE_S).close()
    except OSError as exc:
        raise ClusterError(
            f"--cluster {address}: nothing answers there ({exc.strerror or exc}); start the "
            "head with `ray start --head` and give its address (HOST:6379 by default)"
        ) from None


def check_nodes(cli_version: str, runner: str | None = None) -> int:
    """Every node that takes runs has the CLI version the keys pin, a working sandbox and the
    driver's runner (``runner``: its ``runner_digest``, default this one's); ClusterError
    naming the first that does not. The number of nodes checked."""
    runner = runner or runner_digest()
    listing: Callable[[], list[dict[str, Any]]] = ray.nodes
    nodes = [n for n in listing() if n.get("Alive") and n.get("Resources", {}).get("CPU", 0) > 0]
    refs = [
        _report.options(
            scheduling_strategy=NodeAffinitySchedulingStrategy(n["NodeID"], soft=False)
        ).remote()
        for n in nodes
    ]
    try:
        reports = ray.get(refs, timeout=NODE_CHECK_S)
    except GetTimeoutError:
        raise ClusterError(
            f"the nodes did not answer runner's check within {NODE_CHECK_S:.0f} s "
            "(is runner installed on every node, with its extra: pip install 'runner[ray]'?)"
        ) from None
    except RayError as exc:
        raise ClusterError(f"runner's check failed on a node: {_one_line(exc)}") from None
    for node, report in zip(nodes, reports, strict=True):
        where = f"node {node.get('NodeManagerAddress')} ({str(node['NodeID'])[:12]})"
        if report.runner != runner:
            raise ClusterError(
                f"{where} has another runner than this one (its code's digest "
                f"{report.runner[:12]}, here {runner[:12]}): install the same runner there"
            )
        if report.cli_version is None:
            raise ClusterError(f"{where}: {report.problem}")
        if report.cli_version != cli_version:
            raise ClusterError(
                f"{where} has claude {report.cli_version}, the runs' keys pin {cli_version}: "
                "install the pinned CLI there (scripts/setup), or point RUNNER_CLAUDE_BIN at it "
                "on that node"
            )
        if report.problem is not None:
            raise ClusterError(f"{where}: {report.problem}")
    return len(nodes)


def disconnect() -> None:
    ray.shutdown()


class Remote:
    """``SuiteRunner.remote`` for a cluster: the producer of a miss runs it as a task. Counts
    the tasks it starts (``sent``)."""

    def __init__(self) -> None:
        self.sent = 0
        self._shared: dict[str, ray.ObjectRef[Any]] = {}
        self._digests: dict[Path, str] = {}
        self._lock = anyio.Lock()

    def __call__(self, unit: Unit, options: RunOptions) -> Producer:
        async def produce(run_dir: Path) -> RunRecord:
            spec = unit.spec
            fixture = await self._tree(spec.fixture)
            skill = await self._tree(spec.skill)
            script = None
            if unit.script is not None:
                script = await self._put(script_digest(unit.script), lambda: unit.script)
            tape = None
            if unit.tape is not None and unit.tape.cassette is not None:
                digest = f"cassette:{unit.tape.cassette.digest}"
                tape = await self._put(digest, lambda: unit.tape)
            job = Job(
                spec, unit.lane, unit.trial, unit.seed, unit.run_id, options.grace_s, _environ(unit)
            )
            ref = _run.remote(job, fixture, skill, script, tape)
            self.sent += 1
            limit = 2 * (spec.timeout_s + options.grace_s) + SAFETY_MARGIN_S
            archive = await _wait(ref, limit)
            await anyio.to_thread.run_sync(unpack, archive, run_dir)
            text = await anyio.to_thread.run_sync((run_dir / "record.json").read_bytes)
            return RunRecord.model_validate_json(text)

        return produce

    async def _tree(self, root: Path | None) -> ray.ObjectRef[Any] | None:
        if root is None:
            return None
        async with self._lock:  # one digest, one archive per tree
            if root not in self._digests:
                self._digests[root] = await anyio.to_thread.run_sync(tree_digest, root)
        digest = self._digests[root]
        return await self._put(f"tree:{digest}", lambda: pack(root, name=root.name))

    async def _put(self, digest: str, make: Callable[[], Any]) -> ray.ObjectRef[Any]:
        async with self._lock:
            if digest not in self._shared:
                value = await anyio.to_thread.run_sync(make)
                self._shared[digest] = ray.put(value)
            return self._shared[digest]


def _environ(unit: Unit) -> dict[str, str]:
    """The driver's variables the run takes, as a local run would: the ones its spec passes
    through, and for a live run the credential and endpoint runner's proxy forwards with."""
    names = list(unit.spec.env_passthrough) + (list(LIVE_VARS) if unit.live else [])
    return {name: os.environ[name] for name in names if name in os.environ}


async def _wait(ref: ray.ObjectRef[bytes], limit_s: float) -> bytes:
    """The task's result, awaited without blocking the event loop (asyncio or trio): Ray's
    own thread sets an event when it lands. Cancelled, or past ``limit_s``: the task is
    cancelled on its node (force: its worker ends, and the sandbox with it)."""
    future = ref.future()
    landed = anyio.Event()
    token = anyio.lowlevel.current_token()

    def wake(_: object) -> None:
        with suppress(RuntimeError):  # the driver's loop is gone: nobody waits any more
            anyio.from_thread.run_sync(landed.set, token=token)

    future.add_done_callback(wake)
    try:
        with anyio.move_on_after(limit_s):
            await landed.wait()
    except BaseException:
        ray.cancel(ref, force=True)
        raise
    if not future.done():
        ray.cancel(ref, force=True)
        raise ClusterTaskError(
            f"the run's task had not returned {limit_s:.0f} s after it was sent; cancelled"
        )
    try:
        archive: bytes = future.result()
    except RayError as exc:
        raise ClusterTaskError(f"the run's task failed on the cluster: {_one_line(exc)}") from None
    return archive


def _one_line(exc: BaseException) -> str:
    cause = getattr(exc, "cause", None)
    text = described(cause if isinstance(cause, BaseException) else exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc).__name__
