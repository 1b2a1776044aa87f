"""A finished run as checks read it (``RunView``): its record, and its captured files laid over
the fixture, every path resolved inside the workspace (a symlink out is refused, never followed
to the host); the finished workspace rebuilt for command checks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING

from runner._agent.engine import RunRecord
from runner._agent.jail import WORKSPACE, Network
from runner._agent.sandbox import SandboxMode, default_mode
from runner._agent.workspace import FileChange
from runner._util.inputs import LinkOutside, resolve_inside

if TYPE_CHECKING:
    from runner._evaluate.judge import JudgeFn


@dataclass
class RunView:
    """A finished run as checks see it."""

    record: RunRecord
    run_dir: Path  # holds files/: the added and changed files
    fixture: Path | None  # the workspace the run started from
    instruction: str = ""  # the task the agent was given, for the judge
    skill: str | None = None  # the scenario's skill, for skill_invoked without a name
    judge: JudgeFn | None = None
    # Where command checks run: they read what the agent wrote, so in the run's sandbox.
    sandbox: SandboxMode = field(default_factory=default_mode)
    network: Network = "model"

    def change(self, path: str) -> FileChange | None:
        return next((c for c in self.record.files if c.path == path), None)

    def _link(self, path: str) -> str | None:
        """The target of ``path`` if it is a symlink as the run left it."""
        change = self.change(path)
        if change is not None:
            if change.change == "deleted" or not change.symlink:
                return None
            return os.readlink(self.run_dir / "files" / path)
        if self.fixture is not None and (self.fixture / path).is_symlink():
            return os.readlink(self.fixture / path)
        return None

    def resolve(self, path: str) -> str:
        """``path`` with every symlink on it followed in the workspace as the run left it;
        LinkOutside when one leads out. Checks read the host's copy of the workspace, where a
        link the agent made to /etc/passwd would be the host's /etc/passwd."""
        # In the sandbox the agent saw its workspace at /workspace: a link to a file there is
        # a link inside.
        seen_as = WORKSPACE if self.sandbox == "bwrap" else None
        return resolve_inside(path, self._link, root_seen_as=seen_as)

    def exists(self, path: str) -> bool:
        """Whether ``path`` (a file or a folder) is there as the run left it; LinkOutside
        when a symlink on it leads out of the workspace."""
        path = self.resolve(path)
        change = self.change(path)
        if change is not None:
            return change.change != "deleted"
        inside = path.rstrip("/") + "/"
        if any(c.path.startswith(inside) and c.change != "deleted" for c in self.record.files):
            return True  # a folder holding a file the run added or changed
        return self.fixture is not None and (self.fixture / path).exists()

    def final_file(self, path: str) -> Path | None:
        """Where ``path``'s bytes are as the run left it; None when it is not there;
        LinkOutside when a symlink on it leads out of the workspace."""
        path = self.resolve(path)
        change = self.change(path)
        if change is not None:
            if change.change == "deleted":
                return None
            return _within(self.run_dir / "files", path)
        if self.fixture is not None and (self.fixture / path).exists():
            return _within(self.fixture, path)
        return None

    @contextmanager
    def finished_workspace(self) -> Iterator[Path]:
        """The workspace as the run left it, rebuilt in a temporary folder: the fixture, less
        what the run deleted, plus what it added and changed."""
        with tempfile.TemporaryDirectory(prefix="runner-check-") as tmp:
            root = Path(tmp) / "work"
            if self.fixture is not None:
                shutil.copytree(self.fixture, root, symlinks=True)
            else:
                root.mkdir()
            for c in self.record.files:
                if c.change == "deleted":
                    _clear(root / c.path)
            for c in self.record.files:
                if c.change != "deleted":
                    _lay(self.run_dir / "files" / c.path, root, c.path)
            yield root


def _within(base: Path, rel: str) -> Path:
    """``base / rel``, made sure of on the disk: the name-by-name resolution above has
    followed every link, so this only fails if the disk disagrees with the record."""
    where = base / rel
    if not Path(os.path.realpath(where)).is_relative_to(os.path.realpath(base)):
        raise LinkOutside(rel, os.path.realpath(where))
    return where


def _clear(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _lay(src: Path, root: Path, rel: str) -> None:
    """Put the captured ``src`` at ``root/rel``, making room: a run may have turned a folder
    into a file (``rm -r sub; echo > sub``) or a file into a folder."""
    parts = PurePosixPath(rel).parts
    for i in range(1, len(parts)):
        parent = root.joinpath(*parts[:i])
        if parent.is_symlink() or parent.is_file():
            parent.unlink()
    dest = root / rel
    _clear(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        dest.symlink_to(os.readlink(src))
    elif src.is_file():
        shutil.copy2(src, dest)
