"""Looking after a run cache's folder (``cache stats``, ``cache prune``): what it holds, and
removing what no key reaches any more or no run has used for a while. Eval never needs it:
``RunCache.stats`` and ``RunCache.prune`` import it when asked.
"""

from __future__ import annotations

import json
import os
import shutil
import time
from collections import Counter
from contextlib import suppress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict

from runner._agent.engine import RunRecord
from runner._evaluate.cache_entries import TIMELINE_SUFFIX, timeline_file, verify
from runner._evaluate.run_keys import CACHE_SCHEMA

_TMP_STALE_S = 6 * 3600  # a tmp folder this old belongs to no live run


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


def stats(root: Path) -> CacheStats:
    """What the cache under ``root`` holds: entries by exit reason, unusable ones, set-aside
    failures, runs in progress, and when entries were last used."""
    entries = _entries(root)
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
        root=str(root),
        entries=len(entries),
        bytes=_size(root),
        exit_reasons=dict(reasons.most_common()),
        corrupt=unusable["corrupt"],
        older_schema=unusable["older schema"],
        failed=len(list(_children(root / "failed"))),
        in_progress=len(list(_children(root / "tmp"))),
        oldest_use=_iso(min(used)) if used else None,
        newest_use=_iso(max(used)) if used else None,
    )


def prune(
    root: Path, *, older_than_days: float | None = None, dry_run: bool = False
) -> PruneReport:
    """Remove corrupt entries, older schemas' entries (no key reaches them), set-aside
    failures, stale tmp folders, report timelines whose entry is gone, and (with
    ``older_than_days``) entries not used for that long."""
    now = time.time()
    doomed: list[tuple[Path, str]] = []
    for path in _entries(root):
        if isinstance(condition := _condition(path), str):
            doomed.append((path, condition))
            continue
        if older_than_days is not None and now - path.stat().st_mtime > older_than_days * 86400:
            doomed.append((path, "unused"))
    # A doomed entry's timeline goes with it, counted with it (its bytes freed); one whose
    # entry is gone (an older runner's prune) is counted on its own.
    along = [timeline_file(p) for p, _ in doomed if timeline_file(p).exists()]
    doomed += [(p, "stale timeline") for p in _orphan_timelines(root)]
    doomed += [(p, "failed") for p in _children(root / "failed")]
    doomed += [
        (p, "stale tmp") for p in _children(root / "tmp") if now - p.stat().st_mtime > _TMP_STALE_S
    ]
    gone = [p for p, _ in doomed] + along
    freed = sum(_size(p) for p in gone)
    if not dry_run:
        for path in gone:
            _remove(path)
    removed = dict(Counter(why for _, why in doomed))
    return PruneReport(removed=removed, bytes_freed=freed, dry_run=dry_run)


def _orphan_timelines(root: Path) -> list[Path]:
    return [
        p
        for shard in _children(root / "runs")
        for p in shard.glob(f"*{TIMELINE_SUFFIX}")
        if not (shard / p.name.removesuffix(TIMELINE_SUFFIX)).is_dir()
    ]


def _entries(root: Path) -> list[Path]:
    return [e for shard in _children(root / "runs") for e in _children(shard)]


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
