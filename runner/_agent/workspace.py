"""A run's workspace: a fresh copy of the scenario's fixture, the skill installed per lane, an
isolated home beside it, and the files the run added, changed and deleted.

Layout of one workspace root (a temporary folder)::

    work/   the CLI's working directory: the fixture's copy, plus .claude/skills/<name>/
    home/   HOME and CLAUDE_CONFIG_DIR for the run, outside work/ so it is never in a diff
    tmp/    its TMPDIR

What a run changed is captured for scoring up to ``CAPTURE_CAP_BYTES``: a file past the cap is
recorded by size and digest, flagged ``captured: false``, and not copied, so ``truncate -s 1G``
cannot fill the cache. Whatever the agent did to its workspace is recorded, never raised: a
file that cannot be read or kept (a path too long, a name that is not UTF-8, no permission)
is listed with ``captured: false`` and the reason in ``error``; a deleted workspace is every
file deleted.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import xxhash
from pydantic import BaseModel, ConfigDict

from runner._util.redact import Redactor

_READ_CHUNK = 1 << 20
CAPTURE_CAP_BYTES = 64 * 2**20  # per run, over every captured file
# Errors that say runner's own disk failed, not the agent's files: they stop the eval instead.
ENVIRONMENT_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO})


@dataclass(frozen=True, slots=True)
class FileState:
    """One file as a snapshot saw it (a plain dataclass: there is one per file of a tree)."""

    digest: str  # xxh3_128 of the bytes, or of a symlink's target
    size: int
    mode: int  # permission bits
    symlink: bool = False


class FileChange(BaseModel):
    """One file the run added, changed or deleted, against the workspace it started with."""

    model_config = ConfigDict(frozen=True)

    path: str  # relative, with forward slashes
    change: Literal["added", "changed", "deleted"]
    size: int | None = None  # None when deleted
    digest: str | None = None
    mode: int | None = None
    symlink: bool = False
    captured: bool = True  # False: its bytes were not kept (over the capture cap, or ``error``)
    redacted: bool = False  # a secret's value in it was replaced when it was captured
    error: str | None = None  # why it could not be read or kept, e.g. "path too long"


def tree_state(root: Path) -> dict[str, FileState]:
    """Every file and symlink under ``root`` (symlinks are not followed)."""
    return walk_tree(root)[0]


def walk_tree(
    root: Path, unread: dict[str, str] | None = None
) -> tuple[dict[str, FileState], dict[str, int]]:
    """Every file and symlink under ``root`` with its state, and every folder with its mode;
    paths relative, with forward slashes. Symlinks are not followed. An entry that cannot be
    read raises OSError; given ``unread``, it goes there instead (path: why) and the walk
    goes on."""
    files: dict[str, FileState] = {}
    folders: dict[str, int] = {}
    buffer = bytearray(_READ_CHUNK)  # one buffer for every read: no allocation per file
    pending = [(str(root), "")]
    while pending:
        folder, prefix = pending.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    rel = prefix + entry.name
                    try:
                        info = entry.stat(follow_symlinks=False)
                        if stat.S_ISDIR(info.st_mode):
                            folders[rel] = stat.S_IMODE(info.st_mode)
                            pending.append((entry.path, rel + "/"))
                        else:
                            files[rel] = _state(entry.path, info, buffer)
                    except OSError as exc:
                        _unread(unread, rel, exc)
        except OSError as exc:
            _unread(unread, prefix.rstrip("/") or ".", exc)
    return files, folders


def _unread(unread: dict[str, str] | None, rel: str, exc: OSError) -> None:
    if unread is None or exc.errno in ENVIRONMENT_ERRNOS:
        raise exc
    unread[rel] = f"not read: {exc.strerror or exc}"


def _state(path: str, info: os.stat_result, buffer: bytearray) -> FileState:
    # Plain str paths and os-level reads: this runs once per file of every fixture, and Path
    # objects cost more than hashing a small file.
    mode = stat.S_IMODE(info.st_mode)
    if stat.S_ISLNK(info.st_mode):
        target = os.fsencode(os.readlink(path))
        digest = xxhash.xxh3_128_hexdigest(target)
        return FileState(digest=digest, size=0, mode=mode, symlink=True)
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or socket the agent left: opening it could block; its kind is its content.
        kind = xxhash.xxh3_128_hexdigest(f"special:{stat.S_IFMT(info.st_mode)}".encode())
        return FileState(digest=kind, size=0, mode=mode, symlink=False)
    view = memoryview(buffer)
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    try:
        n = os.readv(fd, [buffer])
        if n < len(buffer):  # a short read of a regular file is its end: most files, one read
            digest = xxhash.xxh3_128_hexdigest(view[:n])
        else:
            h = xxhash.xxh3_128(view[:n])
            while n := os.readv(fd, [buffer]):
                h.update(view[:n])
            digest = h.hexdigest()
    finally:
        os.close(fd)
    return FileState(digest=digest, size=info.st_size, mode=mode, symlink=False)


def diff_states(
    before: dict[str, FileState],
    after: dict[str, FileState],
    unread: dict[str, str] | None = None,
) -> list[FileChange]:
    """What changed from ``before`` to ``after``; ``unread``: paths the second walk could not
    read (path: why), listed as not captured, and whatever was under them is not "deleted"."""
    unread = unread or {}
    inside = {p: "" if p == "." else f"{p}/" for p in unread}  # "": the root itself
    hidden = tuple(inside.values())
    changes = [
        FileChange(path=p, change="deleted")
        for p in before.keys() - after.keys()
        if p not in unread and not p.startswith(hidden)
    ]
    for path, now in after.items():
        was = before.get(path)
        if was == now:
            continue
        changes.append(
            FileChange(
                path=path,
                change="added" if was is None else "changed",
                size=now.size,
                digest=now.digest,
                mode=now.mode,
                symlink=now.symlink,
            )
        )
    for path, why in unread.items():
        existed = path in before or any(p.startswith(inside[path]) for p in before)
        change = "changed" if existed else "added"
        changes.append(FileChange(path=path, change=change, captured=False, error=why))
    return sorted((_shown(c) for c in changes), key=lambda c: c.path)


def _shown(change: FileChange) -> FileChange:
    """``change`` with a path any JSON can hold: a name that is not UTF-8 is written with
    ``\\xNN`` escapes, and such a file is not kept (no check could name it)."""
    try:
        change.path.encode("utf-8")
    except UnicodeEncodeError:
        raw = change.path.encode("utf-8", "surrogateescape")
        path = raw.decode("utf-8", "backslashreplace")
        if change.change == "deleted":
            return change.model_copy(update={"path": path})
        why = "the name is not UTF-8 (shown with \\x escapes): not kept"
        return change.model_copy(update={"path": path, "captured": False, "error": why})
    return change


class Workspace:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.path = root / "work"
        self.home = root / "home"
        self.tmp = root / "tmp"
        self._before: dict[str, FileState] = {}

    @classmethod
    def create(cls, fixture: Path | None, *, parent: Path | None = None) -> Workspace:
        """A fresh copy of ``fixture`` (an empty folder when None) in a new temporary root."""
        if parent is not None:
            parent.mkdir(parents=True, exist_ok=True)
        ws = cls(Path(tempfile.mkdtemp(prefix="runner-", dir=parent)))
        if fixture is None:
            ws.path.mkdir()
        else:
            shutil.copytree(fixture, ws.path, symlinks=True)
        ws.home.mkdir()
        ws.tmp.mkdir()
        return ws

    def install_skill(self, skill_dir: Path) -> Path:
        """Install at ``.claude/skills/<folder name>/``, where the CLI looks for project skills."""
        dest = self.path / ".claude" / "skills" / skill_dir.name
        shutil.copytree(skill_dir, dest, symlinks=True)
        return dest

    def snapshot(self) -> None:
        """What the run starts from: changes are measured against this."""
        self._before = tree_state(self.path)

    def changes(self) -> list[FileChange]:
        """What the run changed. Whatever it did (deleted its workspace, or put a symlink in
        its place, made paths too long to read) is a change, never an error."""
        if not os.path.isdir(self.path) or os.path.islink(self.path):
            return diff_states(self._before, {})
        unread: dict[str, str] = {}
        after = walk_tree(self.path, unread)[0]
        return diff_states(self._before, after, unread)

    def capture(
        self,
        changes: list[FileChange],
        dest: Path,
        *,
        cap_bytes: int = CAPTURE_CAP_BYTES,
        redact: Redactor | None = None,
    ) -> list[FileChange]:
        """Copy the added and changed files to ``dest``, so the run's result can be rebuilt
        (fixture plus these) after the workspace is gone; ``changes`` as captured: a file
        that would take the total past ``cap_bytes`` is flagged and left out."""
        redact = redact or Redactor()
        kept, captured = 0, []
        for change in changes:
            src, out = self.path / change.path, dest / change.path
            if change.change == "deleted" or not change.captured:
                captured.append(change)  # no bytes to keep, or none that could be read
                continue
            size = change.size or 0
            if not change.symlink and kept + size > cap_bytes:
                captured.append(change.model_copy(update={"captured": False}))
                continue
            try:
                if not (change.symlink or src.is_file()):
                    captured.append(change)  # a FIFO or socket: no bytes to keep
                    continue
                captured.append(_keep(change, src, out, redact))
            except OSError as exc:
                if _runners_side(exc, dest):
                    raise
                # The file went away, or its path is too long to keep: this file only.
                with contextlib.suppress(OSError):
                    out.unlink()  # half a copy is no copy
                why = f"not kept: {exc.strerror or exc}"
                captured.append(change.model_copy(update={"captured": False, "error": why}))
                continue
            kept += size
        return captured

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def _runners_side(exc: OSError, dest: Path) -> bool:
    """Whether ``exc`` is runner's own disk failing (full, read-only), not the agent's file
    (gone, unreadable, or a path too long to keep anywhere)."""
    if exc.errno in ENVIRONMENT_ERRNOS:
        return True
    ours = isinstance(exc.filename, str) and exc.filename.startswith(f"{dest}/")
    return ours and exc.errno != errno.ENAMETOOLONG


def _keep(change: FileChange, src: Path, out: Path, redact: Redactor) -> FileChange:
    """Copy one changed file (or symlink) to ``out``; ``change`` as kept."""
    out.parent.mkdir(parents=True, exist_ok=True)
    if change.symlink:
        out.symlink_to(os.readlink(src))
        return change
    if redact:
        found = _copy_redacted(src, out, redact)
        return change.model_copy(update={"redacted": found}) if found else change
    shutil.copy2(src, out)
    return change


def _copy_redacted(src: Path, out: Path, redact: Redactor) -> bool:
    """Copy ``src`` with every secret replaced; whether one was there."""
    stream = redact.stream()
    with open(src, "rb") as reader, open(out, "wb") as writer:
        while chunk := reader.read(_READ_CHUNK):
            writer.write(stream.feed(chunk))
        writer.write(stream.close())
    shutil.copystat(src, out)
    return stream.replaced > 0
