"""What runner reads from the user: only regular files, each within a size that makes sense,
and trees whose symlinks stay inside them.

A FIFO named as a file blocks ``open`` until a writer comes (forever, as a rule), a device
never ends, and a file of many gigabytes read whole takes the machine's memory. So a file is
looked at before it is opened, opened without blocking, and looked at again once open (it may
have been swapped in between). A refusal is an ``InputFileError``: an ``OSError`` whose
``strerror`` says what the file is and what to give instead, so every ``except OSError`` that
already turns a failed read into one line says it too.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import BinaryIO

MiB = 2**20

# The most runner reads whole of each kind of file (README, "Limits"). Generous for any real
# file of the kind, far below what would hurt a machine.
SCENARIO_FILE_BYTES = 1 * MiB
SKILL_FILE_BYTES = 4 * MiB  # SKILL.md goes into the system prompt
SCRIPT_FILE_BYTES = 64 * MiB
CASSETTE_FILE_BYTES = 512 * MiB
RESULT_FILE_BYTES = 1024 * MiB

# Bounds on counts and durations (README, "Limits"): past them a value is a typo or a mistake,
# and taking it literally would plan billions of runs or wait for centuries.
MAX_TRIALS = 1000
MAX_CONCURRENCY = 64
MAX_RUNS = 100_000  # scenarios x lanes x trials that one eval plans
MAX_TIMEOUT_S = 86_400.0  # a day: any run, idle wait or check command
MAX_TURNS = 10_000
MAX_PROCESSES = 32_768  # a sandbox's process limit (the kernel's default pid_max)

_LINK_HOPS = 40  # as the kernel: more links than this on one path is a loop


class InputFileError(OSError):
    """A file runner will not read; ``strerror`` says why and what to give instead."""

    def __init__(self, path: str | os.PathLike[str], problem: str, code: int = errno.EINVAL):
        super().__init__(code, problem, os.fspath(path))


def kind_of(mode: int) -> str | None:
    """What a non-regular file is, in words; None for a regular file."""
    if stat.S_ISREG(mode):
        return None
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode):
        return "a character device"
    if stat.S_ISBLK(mode):
        return "a block device"
    return "a special file"


def _size(n: int) -> str:
    return f"{n / MiB:,.1f} MiB" if n >= MiB else f"{n:,} bytes"


def _too_big(path: Path, size: str, limit: int) -> InputFileError:
    problem = f"{size}, over the {_size(limit)} runner reads of such a file; give a smaller one"
    return InputFileError(path, problem, errno.EFBIG)


def _refuse(path: Path, info: os.stat_result, limit: int | None, pipes: bool) -> None:
    if pipes and stat.S_ISFIFO(info.st_mode):
        return
    kind = kind_of(info.st_mode)
    if kind is not None:
        raise InputFileError(path, f"{kind}, not a regular file; give a file")
    if limit is not None and info.st_size > limit:
        raise _too_big(path, _size(info.st_size), limit)


@contextmanager
def open_input(path: Path, *, limit: int | None = None, pipes: bool = False) -> Iterator[BinaryIO]:
    """``path`` open for reading in binary, if it is a regular file of at most ``limit``
    bytes (``pipes``: a FIFO too, for a reader that streams; its open waits for a writer)."""
    _refuse(path, os.stat(path), limit, pipes)
    # O_NONBLOCK: a FIFO swapped in since the stat cannot block the open.
    fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | (0 if pipes else os.O_NONBLOCK))
    try:
        _refuse(path, os.fstat(fd), limit, pipes)
        os.set_blocking(fd, True)
        f = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    with f:
        yield f


def read_input(path: Path, *, limit: int) -> bytes:
    """All of the regular file ``path``, refused if it is over ``limit`` bytes (also if it
    grows past it while read)."""
    with open_input(path, limit=limit) as f:
        # Sized by the file, not the limit: read(limit + 1) would reserve the whole limit.
        size = os.fstat(f.fileno()).st_size
        data = f.read(min(size, limit) + 1)
        if len(data) > size:
            data += f.read(limit + 1 - len(data))
    if len(data) > limit:
        raise _too_big(path, "grown while read", limit)
    return data


class LinkOutside(ValueError):
    """A symlink on a path that leads out of its tree (or round in a loop): ``link``, relative
    to the tree's root, points to ``target``."""

    def __init__(self, link: str, target: str, *, loop: bool = False) -> None:
        what = "is one of a loop of links" if loop else "leaves the workspace"
        super().__init__(f"the symlink {link} -> {target} {what}")
        self.link = link
        self.target = target
        self.loop = loop


LinkTarget = Callable[[str], str | None]


def resolve_inside(rel: str, link_target: LinkTarget, *, root_seen_as: str | None = None) -> str:
    """``rel`` with every symlink on it followed, as a path relative to the tree's root, in a
    tree whose links ``link_target`` reads (None: not a link). LinkOutside when a link on the
    way is absolute or climbs above the root: on the host, it would reach the host's files.
    ``root_seen_as``: the absolute path the tree had for whoever made the links (the sandbox's
    /workspace); a link into it stays inside. Resolved by name, step by step as the kernel
    does, so it also works on a tree that exists only as a fixture and a record of changes."""
    pending = list(PurePosixPath(rel).parts)
    done: list[str] = []
    via: tuple[str, str] | None = None  # the last link followed: what a climb out is blamed on
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            if not done:
                raise LinkOutside(*(via or (rel, "..")))
            done.pop()
            continue
        name = "/".join([*done, part])
        target = link_target(name)
        if target is None:
            done.append(part)
            continue
        hops += 1
        if hops > _LINK_HOPS:
            raise LinkOutside(name, target, loop=True)
        via = (name, target)
        if PurePosixPath(target).is_absolute():
            within = _below(target, root_seen_as)
            if within is None:
                raise LinkOutside(name, target)
            done, target = [], within
        pending[:0] = PurePosixPath(target).parts
    return "/".join(done)


def _below(target: str, root: str | None) -> str | None:
    """``target`` relative to ``root`` when it names ``root`` or a path under it."""
    if root is None or not (target == root or target.startswith(root.rstrip("/") + "/")):
        return None
    return target[len(root) :].lstrip("/") or "."


def tree_problems(root: Path) -> Iterator[str]:
    """What makes ``root`` unfit to copy as a workspace: a symlink that leads out of it
    (absolute, or climbing above it: after the copy it would reach the host's files), or a
    FIFO, socket or device, which cannot be copied. One phrase each, naming the path."""

    def target(rel: str) -> str | None:
        where = root / rel
        return os.readlink(where) if where.is_symlink() else None

    for folder, dirs, files in os.walk(root):
        for name in sorted([*dirs, *files]):
            path = Path(folder, name)
            rel = path.relative_to(root).as_posix()
            info = path.lstat()
            if stat.S_ISLNK(info.st_mode):
                try:
                    resolve_inside(rel, target)
                except LinkOutside as exc:
                    if exc.loop:
                        continue  # harmless to copy; a check through it fails and says so
                    through = "" if exc.link == rel else f" (through {exc.link} -> {exc.target})"
                    yield (
                        f"{path} -> {os.readlink(path)}: a symlink out of {root}{through}; "
                        "copy the file in, or point the link inside"
                    )
            elif not stat.S_ISDIR(info.st_mode) and (kind := kind_of(info.st_mode)) is not None:
                yield f"{path} is {kind}, which cannot be copied for a run; remove it"
