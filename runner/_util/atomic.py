"""Writing a file whole or not at all: a temp file beside it, then a rename (or a link)."""

from __future__ import annotations

import errno
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path


def _read_umask() -> int:
    # Reading it means setting it: done once, at import, before any thread writes a file.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


_UMASK = _read_umask()


class PathError(OSError):
    """An OSError that names what was being done, and to which file: a write() on a full disk
    names neither, and a temp file's name is not the one the user knows."""

    def __init__(self, operation: str, path: Path, cause: OSError) -> None:
        super().__init__(cause.errno, cause.strerror or str(cause), str(path))
        self.operation = operation

    def __str__(self) -> str:
        return f"cannot {self.operation} {self.filename}: {reason(self)}"


def reason(exc: OSError) -> str:
    """The system's words and the errno's name: ``No space left on device (ENOSPC)``."""
    name = errno.errorcode.get(exc.errno or 0)
    words = exc.strerror or str(exc)
    return f"{words} ({name})" if name else words


def _via_temp(path: Path, parts: Iterable[str], publish: Callable[[str, Path], None]) -> int:
    """``parts`` written to a temp file beside ``path``, then published there; the bytes
    written. Only the part being written is held. An OSError of the writing names ``path``
    (PathError); one raised while a part is made is the maker's own, and publish's
    FileExistsError is create_exclusively's answer: both pass as they are."""
    # A temp name unique per writer (two writers never share one), dot-prefixed so listings
    # skip it, and gone afterwards whatever happens.
    with _writing(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    written = 0
    try:
        # Unbuffered: a buffer would fail its flush again on close, replacing the error that
        # names the file with a bare ENOSPC.
        try:
            # mkstemp makes 0600; results and cassettes are files to share, as open() would.
            with _writing(path):
                os.fchmod(fd, 0o666 & ~_UMASK)
            for part in parts:
                data = part.encode("utf-8")
                with _writing(path):
                    _write_all(fd, data)
                written += len(data)
        finally:
            os.close(fd)
        try:
            publish(tmp, path)
        except FileExistsError:
            raise
        except OSError as exc:
            raise PathError("write", path, exc) from exc
    finally:
        Path(tmp).unlink(missing_ok=True)
    return written


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@contextmanager
def _writing(path: Path) -> Iterator[None]:
    try:
        yield
    except OSError as exc:
        raise PathError("write", path, exc) from exc


def write_atomically(path: Path, text: str) -> None:
    """Readers see the old file or the new one, never half of either."""
    _via_temp(path, (text,), os.replace)


def write_parts_atomically(path: Path, parts: Iterable[str]) -> int:
    """``parts`` written one after another as one file, atomically, as ``write_atomically``;
    the file need not fit in memory. Returns its size in bytes."""
    return _via_temp(path, parts, os.replace)


def create_exclusively(path: Path, text: str) -> bool:
    """Write ``path`` whole, only if no file has that name: False when one has. A hard link
    fails on an existing name, so two writers can never both claim it."""
    try:
        _via_temp(path, (text,), os.link)
    except FileExistsError:
        return False
    return True
