"""The content-addressed run cache: a run's key is the xxh3_128 of everything that can change
what the agent does, and nothing else; its folder holds the whole run.

Layout under the root (``.runner/cache``)::

    runs/<k[:2]>/<k>/   key.json, record.json, stream.ndjson, stderr.log, process.json, files/
    tmp/                runs in progress; renamed into runs/ whole, so a reader never sees half
    failed/<k>/         the last uncacheable attempt (auth error, crash, Ctrl-C), to look at

A hit's folder mtime is touched, so ``prune --older-than`` removes what is no longer used.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import anyio
import xxhash
from pydantic import BaseModel, ConfigDict, Field

from runner.claude import CliSpec
from runner.engine import RunRecord, RunSpec
from runner.lanes import Lane
from runner.replay.script import Script
from runner.sandbox import Network, SandboxMode
from runner.workspace import walk_tree

CACHE_SCHEMA = 3  # 3: runs in the sandbox (fixed paths, no network); the capture cap
DEFAULT_ROOT = Path(".runner") / "cache"
# Endings that are the agent's own doing, and so worth keeping; the rest (auth errors, API
# errors, crashes, Ctrl-C) say more about the machine or the moment than about the agent.
CACHEABLE = frozenset(
    {
        "success",
        "error_max_turns",
        "error_max_budget_usd",
        "error_during_execution",
        "timeout",
        "idle_timeout",
    }
)
_TMP_STALE_S = 6 * 3600  # a tmp folder this old belongs to no live run


def tree_digest(root: Path) -> str:
    """xxh3_128 over a tree's paths, bytes, modes and symlink targets; empty folders count."""
    files, folders = walk_tree(root)
    h = xxhash.xxh3_128()
    # surrogateescape: a file name that is not UTF-8 hashes as its own bytes.
    for path in sorted(files):
        f = files[path]
        line = f"F\0{path}\0{f.mode:o}\0{f.size}\0{f.symlink:d}\0{f.digest}\n"
        h.update(line.encode("utf-8", "surrogateescape"))
    for path in sorted(folders):
        h.update(f"D\0{path}\0{folders[path]:o}\n".encode("utf-8", "surrogateescape"))
    return h.hexdigest()


def canonical_json(value: object) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class RunKey(BaseModel):
    """Every input of a run that can change its outcome; ``digest`` names its cache folder."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int = CACHE_SCHEMA
    instruction: str
    fixture: str | None  # tree digest; None: an empty workspace
    lane: str
    skill: str | None  # tree digest, when the lane uses the skill
    skill_name: str | None = None  # its folder's name: the CLI shows it to the model
    nudge: str | None  # when the lane carries one
    model: str | None
    cli_version: str
    argv: tuple[str, ...]  # every option that reaches the CLI's command line
    timeout_s: float
    idle_timeout_s: float | None
    trial: int
    mode: Literal["live", "scripted", "replay"]
    script: str | None = None  # the scripted model's digest, when scripted
    seed: int | None = None  # its seed for this run
    cassette: str | None = None  # the API cassette's digest, when replayed from one
    env_names: tuple[str, ...] = ()  # variables passed through (names only: values are secrets)
    sandbox: SandboxMode = "bwrap"  # "none": on the host, seeing (and doing) what the user can
    network: Network | None = "model"  # in the sandbox: what the agent can reach
    max_processes: int | None = None  # in the sandbox

    @property
    def digest(self) -> str:
        return xxhash.xxh3_128_hexdigest(canonical_json(self.model_dump(mode="json")))


def script_digest(script: Script) -> str:
    return xxhash.xxh3_128_hexdigest(canonical_json(script.model_dump(mode="json")))


def run_key(
    spec: RunSpec,
    lane: Lane,
    cli: CliSpec,
    *,
    trial: int,
    cli_version: str,
    fixture_digest: str | None,
    skill_digest: str | None,
    script: Script | None = None,
    seed: int | None = None,
    cassette: str | None = None,
) -> RunKey:
    """The key of ``spec`` run in ``lane``. Tree digests come from the caller, which hashes a
    fixture once for all the runs that share it."""
    return RunKey(
        instruction=spec.instruction,
        fixture=fixture_digest,
        lane=lane.name,
        skill=skill_digest if lane.uses_skill else None,
        skill_name=spec.skill.name if lane.uses_skill and spec.skill is not None else None,
        nudge=spec.nudge if lane.nudge else None,
        model=spec.model,
        cli_version=cli_version,
        argv=tuple(cli.argv(Path("claude"))[1:]),
        timeout_s=spec.timeout_s,
        idle_timeout_s=spec.idle_timeout_s,
        trial=trial,
        mode="replay" if cassette else "live" if script is None else "scripted",
        # A replay's model is its cassette: no script, no seed.
        script=None if script is None or cassette else script_digest(script),
        seed=None if cassette else seed,
        cassette=cassette,
        env_names=tuple(sorted(spec.env_passthrough)),
        sandbox=spec.sandbox,
        network=spec.network if spec.sandbox != "none" else None,
        max_processes=spec.max_processes if spec.sandbox != "none" else None,
    )


@dataclass(frozen=True)
class CachedRun:
    key: str
    path: Path  # the run's folder
    record: RunRecord
    hit: bool  # served from the cache, no CLI started
    stored: bool  # the folder is in the cache (else a scratch folder the caller removes)


Producer = Callable[[Path], Awaitable[RunRecord]]


@dataclass
class RunCache:
    """Runs by key. ``read=False`` never looks (``--refresh``, ``--no-cache``); ``write=False``
    never stores (``--no-cache``). Safe under concurrent writers: a run is written in tmp/ and
    renamed into place whole; within one process, one key runs once at a time."""

    root: Path = DEFAULT_ROOT
    read: bool = True
    write: bool = True
    problems: list[str] = field(default_factory=list)  # corrupt entries met, one line each
    _locks: dict[str, anyio.Lock] = field(default_factory=dict)

    def entry(self, key: str) -> Path:
        return self.root / "runs" / key[:2] / key

    def get(self, key: str) -> CachedRun | None:
        """The stored run, or None. A corrupt entry is reported in ``problems``: a miss."""
        path = self.entry(key)
        if not path.is_dir():
            return None
        record = _load(path)
        if isinstance(record, str):
            self.problems.append(f"{path}: corrupt cache entry ({record}); running it again")
            return None
        os.utime(path)  # last used: what prune --older-than goes by
        return CachedRun(key, path, record, hit=True, stored=True)

    async def fetch(self, key: RunKey, produce: Producer, *, fresh: bool = False) -> CachedRun:
        """The cached run for ``key``, or ``produce(folder)`` run now and stored. ``fresh``:
        run it whatever the cache holds (a recording must reach the model)."""
        digest = key.digest
        lock = self._locks.setdefault(digest, anyio.Lock())
        async with lock:
            look = self.read and not fresh
            if look and (hit := await anyio.to_thread.run_sync(self.get, digest)):
                return hit
            return await self._produce(key, digest, produce)

    async def _produce(self, key: RunKey, digest: str, produce: Producer) -> CachedRun:
        scratch = self.root / "tmp" / f"{digest}-{uuid.uuid4().hex[:8]}"
        if not self.write:
            scratch = Path(tempfile.mkdtemp(prefix=f"runner-nocache-{digest[:8]}-"))
        scratch.mkdir(parents=True, exist_ok=True)
        (scratch / "key.json").write_text(key.model_dump_json(indent=2), encoding="utf-8")
        try:
            record = await produce(scratch)
        except BaseException:
            # Cancelled or crashed: keep what the run left where a person can find it (with
            # --no-cache, nowhere: the user asked for nothing to be kept).
            with anyio.CancelScope(shield=True):
                if self.write:
                    await anyio.to_thread.run_sync(self._set_aside, scratch, digest)
                else:
                    await anyio.to_thread.run_sync(partial(shutil.rmtree, scratch, True))
            raise
        if not self.write:
            return CachedRun(digest, scratch, record, hit=False, stored=False)
        if record.exit_reason not in CACHEABLE:
            where = await anyio.to_thread.run_sync(self._set_aside, scratch, digest)
            return CachedRun(digest, where, record, hit=False, stored=False)
        where = await anyio.to_thread.run_sync(self._commit, scratch, digest)
        return CachedRun(digest, where, record, hit=False, stored=True)

    def release(self, run: CachedRun) -> None:
        """Done with ``run``: a --no-cache scratch folder goes; stored and set-aside runs stay."""
        if not run.stored and not self.write:
            shutil.rmtree(run.path, ignore_errors=True)

    def _commit(self, scratch: Path, digest: str) -> Path:
        final = self.entry(digest)
        self._move(scratch, final, digest)
        shutil.rmtree(self.root / "failed" / digest, ignore_errors=True)  # superseded
        return final

    def _set_aside(self, scratch: Path, digest: str) -> Path:
        dest = self.root / "failed" / digest
        self._move(scratch, dest, digest)
        return dest

    def _move(self, scratch: Path, dest: Path, digest: str) -> None:
        """``scratch`` becomes ``dest`` whole. An existing ``dest`` (--refresh, a corrupt
        entry) leaves by a rename first, so a reader sees one or the other, never a mix. If
        another writer's copy lands in between, theirs stays and ours goes: both are whole."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        trash = self.root / "tmp" / f"{digest}-old-{uuid.uuid4().hex[:8]}"
        with suppress(FileNotFoundError):  # nothing there, or another writer moved it first
            dest.rename(trash)
        try:
            scratch.rename(dest)
        except OSError:
            shutil.rmtree(scratch, ignore_errors=True)
        shutil.rmtree(trash, ignore_errors=True)

    def stats(self) -> CacheStats:
        entries = list(self._entries())
        reasons: Counter[str] = Counter()
        corrupt = 0
        for path in entries:
            record = _load(path)
            if isinstance(record, str):
                corrupt += 1
            else:
                reasons[record.exit_reason] += 1
        used = [p.stat().st_mtime for p in entries]
        return CacheStats(
            root=str(self.root),
            entries=len(entries),
            bytes=_size(self.root),
            exit_reasons=dict(reasons.most_common()),
            corrupt=corrupt,
            failed=len(list(_children(self.root / "failed"))),
            in_progress=len(list(_children(self.root / "tmp"))),
            oldest_use=_iso(min(used)) if used else None,
            newest_use=_iso(max(used)) if used else None,
        )

    def prune(self, *, older_than_days: float | None = None, dry_run: bool = False) -> PruneReport:
        """Remove corrupt entries, set-aside failures, stale tmp folders, and (with
        ``older_than_days``) entries not used for that long."""
        now = time.time()
        doomed: list[tuple[Path, str]] = []
        for path in self._entries():
            if isinstance(_load(path), str):
                doomed.append((path, "corrupt"))
                continue
            if older_than_days is not None and now - path.stat().st_mtime > older_than_days * 86400:
                doomed.append((path, "unused"))
        doomed += [(p, "failed") for p in _children(self.root / "failed")]
        doomed += [
            (p, "stale tmp")
            for p in _children(self.root / "tmp")
            if now - p.stat().st_mtime > _TMP_STALE_S
        ]
        freed = sum(_size(p) for p, _ in doomed)
        if not dry_run:
            for path, _ in doomed:
                shutil.rmtree(path, ignore_errors=True)
        return PruneReport(
            removed=dict(Counter(why for _, why in doomed)), bytes_freed=freed, dry_run=dry_run
        )

    def _entries(self) -> list[Path]:
        return [e for shard in _children(self.root / "runs") for e in _children(shard)]


class CacheStats(BaseModel):
    root: str
    entries: int
    bytes: int
    exit_reasons: dict[str, int]
    corrupt: int
    failed: int  # set-aside uncacheable attempts
    in_progress: int  # tmp folders: runs going on now, or left by a killed eval
    oldest_use: str | None
    newest_use: str | None


class PruneReport(BaseModel):
    removed: dict[str, int] = Field(default_factory=dict)  # why -> how many
    bytes_freed: int
    dry_run: bool


def _load(entry: Path) -> RunRecord | str:
    """An entry's record, or why the entry is corrupt (one line)."""
    try:
        record = RunRecord.model_validate_json((entry / "record.json").read_bytes())
    except (OSError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        return str(exc).splitlines()[0] if str(exc) else repr(exc)
    if not (entry / "stream.ndjson").is_file():
        return "stream.ndjson is missing"
    return record


def _children(folder: Path) -> list[Path]:
    try:
        return [p for p in folder.iterdir() if p.is_dir()]
    except FileNotFoundError:
        return []


def _size(root: Path) -> int:
    total = 0
    for folder, _, files in os.walk(root):
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue  # removed while we looked
    return total


def _iso(ts: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts))
