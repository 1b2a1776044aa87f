"""The content-addressed run cache (``RunCache``): a run's key (``run_keys``) is the xxh3_128 of
everything that can change what the agent does, and nothing else; its folder holds the whole run.

Layout under the root (``.runner/cache``)::

    runs/<k[:2]>/<k>/   key.json, record.json, stream.ndjson, stderr.log, process.json, files/,
                        manifest.json (every other file's size and xxh3 digest, written last)
    tmp/                runs in progress; renamed into runs/ whole, so a reader never sees half
    runs/<k[:2]>/<k>.timeline.json   derived: the report's timeline of the entry's stream,
                        beside the entry (not in it: its manifest lists inputs only)
    failed/<k>/         the last uncacheable attempt (auth error, crash, Ctrl-C), to look at

A hit is checked against its manifest (sizes always; digests too when it is read for scoring),
so a damaged entry is reported and run again, never served. A hit's folder mtime is touched,
so ``prune --older-than`` removes what is no longer used. The manifest and the check against
it are ``cache_entries``; stats and prune, ``cache_upkeep``.
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING

import anyio

from runner._agent.engine import RunRecord
from runner._evaluate.cache_entries import errno_text, timeline_file, verify, write_manifest
from runner._evaluate.run_keys import RunKey
from runner._util.defaults import CACHE_ROOT
from runner._util.terminal import encodable

if TYPE_CHECKING:
    from runner._evaluate.cache_upkeep import CacheStats, PruneReport

DEFAULT_ROOT = CACHE_ROOT
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


@dataclass(frozen=True)
class CachedRun:
    key: str
    path: Path  # the run's folder
    record: RunRecord
    hit: bool  # served from the cache, no CLI started
    stored: bool  # the folder is in the cache
    temporary: bool = False  # a scratch folder that ``release`` removes (--no-cache, unstorable)
    problem: str | None = None  # the cache's trouble with this run: a damaged entry, a failed store


def _io_problem(exc: OSError, doing: str) -> str:
    """One line: the path, the operation and the errno."""
    where = exc.filename if exc.filename is not None else "the cache"
    return encodable(f"{where}: cannot {doing} ({errno_text(exc)})")


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
    _unstorable_errnos: set[int | None] = field(default_factory=set, init=False, repr=False)
    _locks: dict[str, anyio.Lock] = field(default_factory=dict)

    def entry(self, key: str) -> Path:
        return self.root / "runs" / key[:2] / key

    def get(self, key: str, *, digests: bool = True) -> CachedRun | None:
        """The stored run, verified against its manifest (``digests``: every byte, as for a
        run about to be scored), or None. A damaged entry is reported in ``problems``."""
        found = self._lookup(key, digests=digests)
        return found if isinstance(found, CachedRun) else None

    def _lookup(self, key: str, *, digests: bool) -> CachedRun | str | None:
        """The stored run; what is wrong with the entry; or None when there is none."""
        path = self.entry(key)
        if not path.is_dir():
            return None
        record = verify(path, key, digests=digests)
        if isinstance(record, str):
            record = encodable(record)
            self.problems.append(f"{path}: corrupt cache entry ({record}); running it again")
            return record
        with suppress(OSError):  # last used, for prune --older-than; a read-only cache still serves
            os.utime(path)
        return CachedRun(key, path, record, hit=True, stored=True)

    async def fetch(self, key: RunKey, produce: Producer, *, fresh: bool = False) -> CachedRun:
        """The cached run for ``key``, or ``produce(folder)`` run now and stored. ``fresh``:
        run it whatever the cache holds (a recording must reach the model). A hit is verified
        byte for byte: it is about to be scored."""
        digest = key.digest
        lock = self._locks.setdefault(digest, anyio.Lock())
        async with lock:
            problem = None
            if self.read and not fresh:
                found = await anyio.to_thread.run_sync(partial(self._lookup, digest, digests=True))
                if isinstance(found, CachedRun):
                    return found
                problem = found
            return await self._produce(key, digest, produce, problem)

    async def _produce(
        self, key: RunKey, digest: str, produce: Producer, problem: str | None
    ) -> CachedRun:
        scratch, unstorable = await anyio.to_thread.run_sync(self._scratch, key, digest)
        storable = self.write and unstorable is None
        problem = problem or unstorable
        try:
            record = await produce(scratch)
        except BaseException:
            # Cancelled or crashed: keep what the run left where a person can find it (with
            # --no-cache, nowhere: the user asked for nothing to be kept).
            with anyio.CancelScope(shield=True):
                if storable:
                    with suppress(OSError):
                        await anyio.to_thread.run_sync(self._set_aside, scratch, digest)
                else:
                    await anyio.to_thread.run_sync(partial(shutil.rmtree, scratch, True))
            raise
        if not storable:
            return CachedRun(
                digest, scratch, record, hit=False, stored=False, temporary=True, problem=problem
            )
        keep = record.exit_reason in CACHEABLE
        try:
            if keep:
                where = await anyio.to_thread.run_sync(self._commit, scratch, digest)
            else:
                where = await anyio.to_thread.run_sync(self._set_aside, scratch, digest)
        except OSError as exc:
            # A full disk, a cache made read-only meanwhile: the run stands, unkept.
            unkept = f"{_io_problem(exc, 'store the run')}; this run's result is used, not kept"
            self._unstorable(exc, unkept)
            problem = problem or unkept
            return CachedRun(
                digest, scratch, record, hit=False, stored=False, temporary=True, problem=problem
            )
        return CachedRun(digest, where, record, hit=False, stored=keep, problem=problem)

    def _scratch(self, key: RunKey, digest: str) -> tuple[Path, str | None]:
        """A folder for a run: in tmp/, or a temporary one (--no-cache, or a cache that cannot
        be written: then also why, reported)."""
        unstorable = None
        if self.write:
            scratch = self.root / "tmp" / f"{digest}-{uuid.uuid4().hex[:8]}"
            try:
                _start(scratch, key)
            except OSError as exc:
                shutil.rmtree(scratch, ignore_errors=True)
                unstorable = (
                    f"{_io_problem(exc, 'store runs')}; this run's result is used, not kept"
                )
                self._unstorable(exc, unstorable)
            else:
                return scratch, None
        scratch = Path(tempfile.mkdtemp(prefix=f"runner-nocache-{digest[:8]}-"))
        _start(scratch, key)
        return scratch, unstorable

    def _unstorable(self, exc: OSError, problem: str) -> None:
        # A full or read-only cache fails every run the same way: said once per errno, each
        # run still carrying its own line (``CachedRun.problem``).
        if exc.errno not in self._unstorable_errnos:
            self._unstorable_errnos.add(exc.errno)
            self.problems.append(problem)

    def release(self, run: CachedRun) -> None:
        """Done with ``run``: a scratch folder goes; stored and set-aside runs stay."""
        if run.temporary:
            shutil.rmtree(run.path, ignore_errors=True)

    def _commit(self, scratch: Path, digest: str) -> Path:
        write_manifest(scratch, digest)  # last: the entry is whole once it is there
        final = self.entry(digest)
        self._move(scratch, final, digest)
        with suppress(OSError):  # the old entry's (--refresh); its stream's identity says so too
            timeline_file(final).unlink(missing_ok=True)
        shutil.rmtree(self.root / "failed" / digest, ignore_errors=True)  # superseded
        return final

    def _set_aside(self, scratch: Path, digest: str) -> Path:
        dest = self.root / "failed" / digest
        self._move(scratch, dest, digest)
        return dest

    def _move(self, scratch: Path, dest: Path, digest: str) -> None:
        """``scratch`` becomes ``dest`` whole. An existing ``dest`` (--refresh, a corrupt
        entry) leaves by a rename first, so a reader sees one or the other, never a mix. If
        another writer's copy lands in between, theirs stays and ours goes: both are whole.
        Any other failure (a full disk, a read-only cache) is raised, ``scratch`` kept."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        trash = self.root / "tmp" / f"{digest}-old-{uuid.uuid4().hex[:8]}"
        with suppress(FileNotFoundError):  # nothing there, or another writer moved it first
            dest.rename(trash)
        try:
            scratch.rename(dest)
        except OSError as exc:
            if exc.errno not in (errno.ENOTEMPTY, errno.EEXIST):
                raise
            shutil.rmtree(scratch, ignore_errors=True)
        finally:
            shutil.rmtree(trash, ignore_errors=True)

    def stats(self) -> CacheStats:
        """What the cache holds (``cache stats``); see ``cache_upkeep.stats``."""
        # cache_upkeep is imported when asked: eval never needs it.
        from runner._evaluate.cache_upkeep import stats

        return stats(self.root)

    def prune(self, *, older_than_days: float | None = None, dry_run: bool = False) -> PruneReport:
        """Remove what no run will use again (``cache prune``); see ``cache_upkeep.prune``."""
        from runner._evaluate.cache_upkeep import prune

        return prune(self.root, older_than_days=older_than_days, dry_run=dry_run)


def _start(scratch: Path, key: RunKey) -> None:
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "key.json").write_text(key.model_dump_json(indent=2), encoding="utf-8")
