"""The content-addressed run cache: a run's key is the xxh3_128 of everything that can change
what the agent does, and nothing else; its folder holds the whole run.

Layout under the root (``.runner/cache``)::

    runs/<k[:2]>/<k>/   key.json, record.json, stream.ndjson, stderr.log, process.json, files/,
                        manifest.json (every other file's size and xxh3 digest, written last)
    tmp/                runs in progress; renamed into runs/ whole, so a reader never sees half
    runs/<k[:2]>/<k>.timeline.json   derived: the report's timeline of the entry's stream,
                        beside the entry (not in it: its manifest lists inputs only)
    failed/<k>/         the last uncacheable attempt (auth error, crash, Ctrl-C), to look at

A hit is checked against its manifest (sizes always; digests too when it is read for scoring),
so a damaged entry is reported and run again, never served. A hit's folder mtime is touched,
so ``prune --older-than`` removes what is no longer used.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import stat
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path
from typing import Literal

import anyio
import xxhash
from pydantic import BaseModel, ConfigDict

from runner._agent.cli_spec import CliSpec, inherited_env
from runner._agent.engine import RunRecord, RunSpec
from runner._agent.jail import SEARCH_PATH, Network
from runner._agent.lanes import Lane
from runner._agent.sandbox import SandboxMode
from runner._agent.workspace import FileState, walk_tree
from runner._model.script import Script
from runner._util.atomic import write_atomically
from runner._util.defaults import CACHE_ROOT
from runner._util.figures import plural
from runner._util.redact import is_secret_name
from runner._util.terminal import encodable

# 3: runs in the sandbox (fixed paths, no network); the capture cap. 4: a manifest in every
# entry; the skill lane keyed on SKILL.md alone; the environment's values in the key; records
# summarized by newer rules (a failed Skill call is not an invocation, sessions apart, null
# estimates), which a hit does not redo: a change to how records are summarized bumps this.
CACHE_SCHEMA = 4
MANIFEST = "manifest.json"
# Beside an entry, not inside: a runner that predates it would call an unlisted file in an
# entry damage, and run the entry again.
TIMELINE_SUFFIX = ".timeline.json"
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
    skill: str | None  # tree digest, when the lane installs the skill (else SKILL.md is in argv)
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
    env_names: tuple[str, ...] = ()  # variables asked to pass through, set or not
    # Every variable of the caller's that reaches the CLI (PATH and the passed-through ones
    # that are set), by value; a secret's (by its name) as a one-way digest, never the value.
    env: tuple[tuple[str, str], ...] = ()  # (name, value), sorted: a key stays hashable
    sandbox: SandboxMode = "bwrap"  # "none": on the host, seeing (and doing) what the user can
    network: Network | None = "model"  # in the sandbox: what the agent can reach
    max_processes: int | None = None  # in the sandbox

    @property
    def digest(self) -> str:
        return xxhash.xxh3_128_hexdigest(canonical_json(self.model_dump(mode="json")))


def key_env(spec: RunSpec) -> tuple[tuple[str, str], ...]:
    """What of the caller's environment the CLI will see, as the key holds it."""
    search_path = None if spec.sandbox == "none" else SEARCH_PATH
    seen = inherited_env(spec.env_passthrough, search_path=search_path)
    return tuple(
        (name, _secret_digest(value) if is_secret_name(name) else value)
        for name, value in sorted(seen.items())
    )


def _secret_digest(value: str) -> str:
    # Cryptographic, not xxh3: key.json is stored, and must not give a short secret back.
    digest = hashlib.blake2b(value.encode("utf-8", "surrogateescape"), digest_size=16)
    return f"blake2b:{digest.hexdigest()}"


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
    installed = lane.installs_skill and spec.skill is not None
    return RunKey(
        instruction=spec.instruction,
        fixture=fixture_digest,
        lane=lane.name,
        skill=skill_digest if installed else None,
        skill_name=spec.skill.name if installed and spec.skill is not None else None,
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
        env=key_env(spec),
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
    stored: bool  # the folder is in the cache
    temporary: bool = False  # a scratch folder that ``release`` removes (--no-cache, unstorable)
    problem: str | None = None  # the cache's trouble with this run: a damaged entry, a failed store


class ManifestFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    size: int  # 0 for a symlink
    digest: str  # xxh3_128 of the bytes, or of a symlink's target
    mode: int
    symlink: bool = False


class Manifest(BaseModel):
    """What a stored entry holds, file by file; written last, so its presence says the rest
    is whole, and a file changed or lost since is found."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    schema_version: int
    key: str
    files: dict[str, ManifestFile]


def timeline_file(entry: Path) -> Path:
    """Where the report keeps the timeline it made of ``entry``'s stream."""
    return entry.with_name(entry.name + TIMELINE_SUFFIX)


def is_entry(folder: Path) -> bool:
    """Whether ``folder`` looks like a stored entry (it has a manifest), so that derived data
    may be kept beside it; a results file can name any folder as a run's."""
    return (folder / MANIFEST).is_file() and folder.parent.parent.name == "runs"


def write_manifest(entry: Path, key: str) -> None:
    """Every file of ``entry`` with its size and digest, into ``entry/manifest.json``."""
    files, _ = walk_tree(entry)
    files.pop(MANIFEST, None)
    listed = {path: ManifestFile(**asdict(f)) for path, f in sorted(files.items())}
    manifest = Manifest(schema_version=CACHE_SCHEMA, key=key, files=listed)
    # The stdlib's json: a file name that is not UTF-8 survives as an escaped surrogate.
    write_atomically(entry / MANIFEST, json.dumps(manifest.model_dump(), indent=1))


def verify(entry: Path, key: str, *, digests: bool) -> RunRecord | str:
    """The entry's record when it is whole and is ``key``'s, else what is wrong (one line).
    Sizes and kinds are always checked (a stat per file); ``digests`` reads every byte."""
    try:
        raw = (entry / MANIFEST).read_bytes()
    except FileNotFoundError:
        return "manifest.json is missing"
    except OSError as exc:
        return f"manifest.json: cannot read ({_errno(exc)})"
    try:
        manifest = Manifest.model_validate(json.loads(raw))
    except ValueError:  # not JSON, or not a manifest; pydantic's ValidationError is one
        return "manifest.json is malformed"
    if manifest.schema_version != CACHE_SCHEMA:
        return f"written by cache schema {manifest.schema_version}, not {CACHE_SCHEMA}"
    if manifest.key != key:
        return f"manifest.json names another key, {manifest.key}"
    for name in ("record.json", "stream.ndjson"):
        if name not in manifest.files:
            return f"{name} is missing"
    wrong = _by_sizes(entry, manifest) or (_by_digests(entry, manifest) if digests else None)
    return wrong or _load(entry)


def _by_sizes(entry: Path, manifest: Manifest) -> str | None:
    for path, want in manifest.files.items():
        try:
            info = os.lstat(entry / path)
        except FileNotFoundError:
            return f"{path} is missing"
        except OSError as exc:
            return f"{path}: cannot stat ({_errno(exc)})"
        if stat.S_ISLNK(info.st_mode) != want.symlink:
            return f"{path} is {'no longer' if want.symlink else 'now'} a symlink"
        if not want.symlink and info.st_size != want.size:
            return f"{path} is {plural(info.st_size, 'byte')}, the manifest says {want.size}"
    return None


def _by_digests(entry: Path, manifest: Manifest) -> str | None:
    try:
        found, _ = walk_tree(entry)
    except OSError as exc:
        return f"cannot read the entry ({_errno(exc)})"
    found.pop(MANIFEST, None)
    for path, want in manifest.files.items():
        have = found.pop(path, None)
        if have is None:
            return f"{path} is missing"
        if asdict(have) != want.model_dump():
            return f"{path} differs from the manifest ({_difference(have, want)})"
    if found:
        return f"{min(found)} is not in the manifest"
    return None


def _difference(have: FileState, want: ManifestFile) -> str:
    if have.symlink != want.symlink:
        return "its kind"
    if have.size != want.size:
        return f"{plural(have.size, 'byte')}, not {want.size}"
    return "its digest" if have.digest != want.digest else f"mode {have.mode:o}, not {want.mode:o}"


def _errno(exc: OSError) -> str:
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{name}: {exc.strerror}" if name else str(exc)


def _io_problem(exc: OSError, doing: str) -> str:
    """One line: the path, the operation and the errno."""
    where = exc.filename if exc.filename is not None else "the cache"
    return encodable(f"{where}: cannot {doing} ({_errno(exc)})")


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
        entries = list(self._entries())
        reasons: Counter[str] = Counter()
        unusable: Counter[str] = Counter()
        for path in entries:
            record = _condition(path)
            if isinstance(record, str):
                unusable[record] += 1
            else:
                reasons[record.exit_reason] += 1
        used = [p.stat().st_mtime for p in entries]
        return CacheStats(
            root=str(self.root),
            entries=len(entries),
            bytes=_size(self.root),
            exit_reasons=dict(reasons.most_common()),
            corrupt=unusable["corrupt"],
            older_schema=unusable["older schema"],
            failed=len(list(_children(self.root / "failed"))),
            in_progress=len(list(_children(self.root / "tmp"))),
            oldest_use=_iso(min(used)) if used else None,
            newest_use=_iso(max(used)) if used else None,
        )

    def prune(self, *, older_than_days: float | None = None, dry_run: bool = False) -> PruneReport:
        """Remove corrupt entries, older schemas' entries (no key reaches them), set-aside
        failures, stale tmp folders, report timelines whose entry is gone, and (with
        ``older_than_days``) entries not used for that long."""
        now = time.time()
        doomed: list[tuple[Path, str]] = []
        for path in self._entries():
            if isinstance(condition := _condition(path), str):
                doomed.append((path, condition))
                continue
            if older_than_days is not None and now - path.stat().st_mtime > older_than_days * 86400:
                doomed.append((path, "unused"))
        # A doomed entry's timeline goes with it, counted with it (its bytes freed); one whose
        # entry is gone (an older runner's prune) is counted on its own.
        along = [timeline_file(p) for p, _ in doomed if timeline_file(p).exists()]
        doomed += [(p, "stale timeline") for p in self._orphan_timelines()]
        doomed += [(p, "failed") for p in _children(self.root / "failed")]
        doomed += [
            (p, "stale tmp")
            for p in _children(self.root / "tmp")
            if now - p.stat().st_mtime > _TMP_STALE_S
        ]
        gone = [p for p, _ in doomed] + along
        freed = sum(_size(p) for p in gone)
        if not dry_run:
            for path in gone:
                _remove(path)
        removed = dict(Counter(why for _, why in doomed))
        return PruneReport(removed=removed, bytes_freed=freed, dry_run=dry_run)

    def _orphan_timelines(self) -> list[Path]:
        return [
            p
            for shard in _children(self.root / "runs")
            for p in shard.glob(f"*{TIMELINE_SUFFIX}")
            if not (shard / p.name.removesuffix(TIMELINE_SUFFIX)).is_dir()
        ]

    def _entries(self) -> list[Path]:
        return [e for shard in _children(self.root / "runs") for e in _children(shard)]


class CacheStats(BaseModel):
    model_config = ConfigDict(defer_build=True)  # built when `cache stats` asks, not by eval

    root: str
    entries: int
    bytes: int
    exit_reasons: dict[str, int]
    corrupt: int
    older_schema: int = 0  # written by an earlier runner: no key of this one leads there
    failed: int  # set-aside uncacheable attempts
    in_progress: int  # tmp folders: runs going on now, or left by a killed eval
    oldest_use: str | None
    newest_use: str | None


class PruneReport(BaseModel):
    model_config = ConfigDict(defer_build=True)

    removed: dict[str, int] = {}  # why -> how many
    bytes_freed: int
    dry_run: bool


def _condition(entry: Path) -> RunRecord | Literal["corrupt", "older schema"]:
    """An entry's record when it is whole (sizes checked), else which kind of unusable."""
    record = verify(entry, entry.name, digests=False)
    if not isinstance(record, str):
        return record
    return "older schema" if _written_by_older_schema(entry) else "corrupt"


def _written_by_older_schema(entry: Path) -> bool:
    try:
        written = json.loads((entry / "key.json").read_bytes())["schema_version"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return isinstance(written, int) and written < CACHE_SCHEMA


def _start(scratch: Path, key: RunKey) -> None:
    scratch.mkdir(parents=True, exist_ok=True)
    (scratch / "key.json").write_text(key.model_dump_json(indent=2), encoding="utf-8")


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


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with suppress(OSError):
            path.unlink()


def _size(root: Path) -> int:
    if root.is_file():
        return root.stat().st_size
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
