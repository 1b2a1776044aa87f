"""What a cluster's node does for ``eval --cluster``: one run with runner's own engine, in a
temporary folder, its folder handed back as a tar archive; and the check that the node's CLI is
the one the runs' keys pin.

Plain functions: ``runner.cluster`` makes them Ray tasks, so this module imports no Ray. A node
never writes the driver's cache and derives no key: it runs what it is given, with the
environment it is given (``Job.environ``, the driver's), never its own.
"""

from __future__ import annotations

import io
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import anyio

from runner.claude_bin import ClaudeNotFoundError, claude_version, find_claude
from runner.engine import RunOptions, RunRecord, RunSpec, run_one
from runner.lanes import Lane
from runner.replay.script import Script
from runner.sandbox import state
from runner.suite import run_against


@dataclass(frozen=True)
class Job:
    """One run as the driver planned it. The spec's fixture and skill name the driver's
    folders; their trees come with the task (``run``'s arguments) and are unpacked here."""

    spec: RunSpec
    lane: Lane
    trial: int
    seed: int | None
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


def run(job: Job, fixture: bytes | None, skill: bytes | None, script: Script | None) -> bytes:
    """The run, done here; its folder (stream, stderr, files, record.json) as an archive."""
    with tempfile.TemporaryDirectory(prefix="runner-cluster-") as tmp:
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
        anyio.run(_run, job, spec, script, options, run_dir)
        return pack(run_dir, name=".")


async def _run(
    job: Job, spec: RunSpec, script: Script | None, options: RunOptions, run_dir: Path
) -> RunRecord:
    # The same path as a run on the driver's machine, scripted model on this node's 127.0.0.1.
    return await run_against(
        script,
        job.seed,
        options,
        lambda opts: run_one(spec, job.lane, run_dir=run_dir, trial=job.trial, options=opts),
    )


def node_report() -> tuple[str | None, str | None]:
    """This node's CLI version (found as a run here finds it: $RUNNER_CLAUDE_BIN, the pinned
    install, PATH), or why it cannot run the CLI sandboxed: (version, problem)."""
    try:
        version = claude_version(find_claude())
    except ClaudeNotFoundError as exc:
        return None, str(exc)
    sandbox = state()
    return version, sandbox.problem
