"""A cache entry on disk: its manifest (every other file's size and xxh3 digest, written last,
so its presence says the entry is whole), the check of an entry against it, and where the
report keeps derived data beside an entry.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from dataclasses import asdict
from pathlib import Path

from pydantic import BaseModel, ConfigDict

from runner._agent.engine import RunRecord
from runner._agent.workspace import FileState, walk_tree
from runner._evaluate.run_keys import CACHE_SCHEMA
from runner._util.atomic import write_atomically
from runner._util.figures import plural

MANIFEST = "manifest.json"
# Beside an entry, not inside: a runner that predates it would call an unlisted file in an
# entry damage, and run the entry again.
TIMELINE_SUFFIX = ".timeline.json"


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
        return f"manifest.json: cannot read ({errno_text(exc)})"
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
            return f"{path}: cannot stat ({errno_text(exc)})"
        if stat.S_ISLNK(info.st_mode) != want.symlink:
            return f"{path} is {'no longer' if want.symlink else 'now'} a symlink"
        if not want.symlink and info.st_size != want.size:
            return f"{path} is {plural(info.st_size, 'byte')}, the manifest says {want.size}"
    return None


def _by_digests(entry: Path, manifest: Manifest) -> str | None:
    try:
        found, _ = walk_tree(entry)
    except OSError as exc:
        return f"cannot read the entry ({errno_text(exc)})"
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


def errno_text(exc: OSError) -> str:
    """An OSError as one line: its errno's name and text ("ENOSPC: No space left on device")."""
    name = errno.errorcode.get(exc.errno or 0, "")
    return f"{name}: {exc.strerror}" if name else str(exc)


def _load(entry: Path) -> RunRecord | str:
    """An entry's record, or why the entry is corrupt (one line)."""
    try:
        record = RunRecord.model_validate_json((entry / "record.json").read_bytes())
    except (OSError, ValueError) as exc:  # pydantic's ValidationError is a ValueError
        return str(exc).splitlines()[0] if str(exc) else repr(exc)
    if not (entry / "stream.ndjson").is_file():
        return "stream.ndjson is missing"
    return record
