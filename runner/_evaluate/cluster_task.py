"""What a cluster's node does for ``eval --cluster``: one run with runner's own engine, in a
temporary folder (against its scripted model, or replaying its cassette), its folder handed
back as a tar archive; and the check that the node's CLI is the one the runs' keys pin.

Plain functions: ``runner._evaluate.cluster`` makes them Ray tasks, so this module imports no Ray. A
node never writes the driver's cache and derives no key: it runs what it is given, with the
environment it is given (``Job.environ``, the driver's), never its own.
"""

from __future__ import annotations

import io
import os
import shutil
import tarfile
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass
from pathlib import Path

import anyio
import xxhash

from runner._agent.cgroup import alive, made_by
from runner._agent.claude_bin import ClaudeNotFoundError, claude_version, find_claude
from runner._agent.engine import RunOptions, RunRecord, RunSpec, run_one
from runner._agent.lanes import Lane
from runner._agent.sandbox import state
from runner._evaluate.suite import run_against
from runner._evaluate.tapes import Tape, Upstream, run_taped
from runner._model.script import Script

PREFIX = "runner-cluster-"  # then the worker's PID: what ``sweep`` tells a leftover by


@dataclass(frozen=True)
class Job:
    """One run as the driver planned it. The spec's fixture and skill name the driver's
    folders; their trees come with the task (``run``'s arguments) and are unpacked here."""

    spec: RunSpec
    lane: Lane
    trial: int
    seed: int | None
    run_id: str  # scenario/lane#trial: a replayed cassette's conversations are told by it
    grace_s: float
    # What of the driver's environment the run takes: its passed-through variables, and for
    # a live run the key and endpoint runner's proxy uses. Nothing of the node's own.
    environ: dict[str, str]


def pack(root: Path, *, name: str) -> bytes:
    """``root``'s tree as a tar archive under ``name`` (symlinks kept as links)."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz", compresslevel=1) as tar:
        tar.add(root, arcname=name)
    return out.getvalue()


def unpack(data: bytes, into: Path) -> None:
    """An archive from ``pack`` into ``into``: nothing lands outside it (tarfile's ``tar``
    filter), and modes stay as they were (they are in a tree's digest), less set-uid bits."""

    def inside(member: tarfile.TarInfo, dest: str) -> tarfile.TarInfo:
        checked = tarfile.tar_filter(member, dest)
        return checked.replace(mode=member.mode & 0o777, deep=False)

    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        tar.extractall(into, filter=inside)


def run(
    job: Job,
    fixture: bytes | None,
    skill: bytes | None,
    script: Script | None,
    tape: Tape | None,
) -> bytes:
    """The run, done here (against ``script``, or replaying ``tape``'s cassette); its folder
    (stream, stderr, files, record.json) as an archive."""
    sweep(Path(tempfile.gettempdir()))
    with tempfile.TemporaryDirectory(prefix=f"{PREFIX}{os.getpid()}-") as tmp:
        root = Path(tmp)
        spec = job.spec
        here: dict[str, Path] = {}
        for field, tree, where in (
            ("fixture", fixture, spec.fixture),
            ("skill", skill, spec.skill),
        ):
            if tree is not None and where is not None:
                unpack(tree, root / field)
                here[field] = root / field / where.name  # a skill's folder name reaches the CLI
        spec = spec.model_copy(update=here)
        run_dir = root / "run"
        run_dir.mkdir()
        options = RunOptions(
            grace_s=job.grace_s, environ=job.environ, workspace_parent=root / "workspaces"
        )
        anyio.run(_run, job, spec, script, tape, options, run_dir)
        return pack(run_dir, name=".")


async def _run(
    job: Job,
    spec: RunSpec,
    script: Script | None,
    tape: Tape | None,
    options: RunOptions,
    run_dir: Path,
) -> RunRecord:
    # The same paths as a run on the driver's machine, its model on this node's 127.0.0.1.
    def one(opts: RunOptions) -> Awaitable[RunRecord]:
        return run_one(spec, job.lane, run_dir=run_dir, trial=job.trial, options=opts)

    if tape is None:
        return await run_against(script, job.seed, options, one)
    upstream = Upstream(script, job.seed)
    record, _ = await run_taped(tape, job.run_id, upstream, options, one, run_dir=run_dir)
    return record  # a replay keeps no cassette: nothing to report as not kept


def sweep(parent: Path) -> None:
    """Remove what cancelled runs left in ``parent``: a task cancelled by force ends its
    worker at once, before its temporary folder (the run's, its workspace's) is removed.
    Each folder names its worker's PID; a folder whose worker is gone is removed."""
    for folder in parent.glob(f"{PREFIX}*-*"):
        pid = made_by(folder.name, PREFIX)
        if pid is not None and not alive(pid):
            shutil.rmtree(folder, ignore_errors=True)


@dataclass(frozen=True)
class NodeReport:
    """What a node says to runner's check."""

    cli_version: str | None  # None: no CLI found or it would not run (``problem`` says)
    problem: str | None  # why runs cannot run here: no CLI, no sandbox; None: they can
    runner: str  # ``runner_digest()`` here


def node_report() -> NodeReport:
    """This node's CLI version (found as a run here finds it: $RUNNER_CLAUDE_BIN, the pinned
    install, PATH), whether its sandbox starts, and which runner it has."""
    try:
        version = claude_version(find_claude())
    except ClaudeNotFoundError as exc:
        return NodeReport(None, str(exc), runner_digest())
    return NodeReport(version, state().problem, runner_digest())


def runner_digest() -> str:
    """xxh3_128 over runner's own Python sources: equal on two machines that run the same
    runner (a node with another one could make records the driver reads otherwise)."""
    root = Path(__file__).resolve().parents[1]  # runner/, every stage
    h = xxhash.xxh3_128()
    for path in sorted(root.rglob("*.py")):
        data = path.read_bytes()
        h.update(f"{path.relative_to(root).as_posix()}\0{len(data)}\0".encode())
        h.update(data)
    return h.hexdigest()
