"""Finding the Claude Code CLI binary, and asking it its version.

Order: an explicit path (``--claude-bin``), ``$RUNNER_CLAUDE_BIN``, the pinned CLI that
``scripts/setup`` installs under ``tools/claude-code/``, then ``claude`` on PATH.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from runner._util.atomic import write_atomically

ENV_VAR = "RUNNER_CLAUDE_BIN"
_PINNED_DIR = Path("tools") / "claude-code"
_PKG = "@anthropic-ai/claude-code"


class ClaudeNotFoundError(RuntimeError):
    """No usable CLI binary; the message says where runner looked and how to fix it."""


@dataclass(frozen=True)
class ClaudeBinary:
    path: Path
    source: str  # "--claude-bin", "$RUNNER_CLAUDE_BIN", "pinned", "PATH"


def _roots() -> list[Path]:
    # The repo this package lives in (editable install), then the working directory upwards.
    here = Path(__file__).resolve().parents[2]
    cwd = Path.cwd().resolve()
    return [here, cwd, *cwd.parents]


def pinned_dir() -> Path | None:
    for root in _roots():
        if (root / _PINNED_DIR / "package.json").is_file():
            return root / _PINNED_DIR
    return None


def pinned_version() -> str | None:
    where = pinned_dir()
    if where is None:
        return None
    deps = json.loads((where / "package.json").read_text())["dependencies"]
    return str(deps[_PKG])


def _platform_binary(tools_dir: Path) -> Path | None:
    # The native binary ships in the platform package (claude-code-linux-x64, ...); the wrapper's
    # bin/ entry is a placeholder until an install script runs, which setup does not allow.
    scope = tools_dir / "node_modules" / "@anthropic-ai"
    exe = "claude.exe" if sys.platform == "win32" else "claude"
    for candidate in sorted(scope.glob(f"claude-code-*/{exe}")):
        if os.access(candidate, os.X_OK):
            return candidate
    return None


def find_claude(explicit: str | os.PathLike[str] | None = None) -> ClaudeBinary:
    if explicit:
        return _must_exist(os.fspath(explicit), "--claude-bin")
    if env := os.environ.get(ENV_VAR):
        return _must_exist(env, f"${ENV_VAR}")
    where = pinned_dir()
    if where is not None and (found := _platform_binary(where)) is not None:
        return ClaudeBinary(found, "pinned")
    if on_path := shutil.which("claude"):
        return ClaudeBinary(Path(on_path), "PATH")
    raise ClaudeNotFoundError(
        "Claude Code CLI not found: run scripts/setup to install the pinned version, "
        f"or pass --claude-bin PATH, or set {ENV_VAR}"
    )


def _must_exist(given: str, source: str) -> ClaudeBinary:
    # As a shell does: a bare name is looked up on PATH, anything with a slash is a path. Made
    # absolute, because the CLI starts in the run's workspace, not here.
    resolved = shutil.which(given) if os.sep not in given else given
    if resolved is None or not Path(resolved).is_file() or not os.access(resolved, os.X_OK):
        raise ClaudeNotFoundError(f"{source}: {given} is not an executable file")
    return ClaudeBinary(Path(resolved).absolute(), source)


def claude_version(binary: ClaudeBinary, *, timeout_s: float = 30.0) -> str:
    """The CLI's own version string, e.g. ``2.1.329``."""
    try:
        proc = subprocess.run(
            [str(binary.path), "--version"], capture_output=True, text=True, timeout=timeout_s
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise ClaudeNotFoundError(f"{binary.path}: cannot run --version ({exc})") from exc
    first = proc.stdout.strip().split(" ", 1)[0]
    if proc.returncode != 0 or not first:
        raise ClaudeNotFoundError(f"{binary.path} --version failed: {proc.stderr.strip()[:200]}")
    return first


def known_version(binary: ClaudeBinary, *, memo: Path | None = None) -> str:
    """The version of the CLI that actually runs, found through symlinks. The npm package
    beside the real file says it, without starting anything. A script (a wrapper) may run
    anything, today another binary than yesterday, so it is asked (``claude_version``) on
    every call: one call per eval. A binary is asked once and ``memo`` (a JSON file)
    remembers the answer for its path, size, mtime, ctime and inode: replacing or rewriting
    it changes one of them, the ctime even when the mtime is put back."""
    real = binary.path.resolve()
    package = real.parent / "package.json"
    try:
        meta = json.loads(package.read_text())
        if str(meta.get("name", "")).startswith(_PKG) and meta.get("version"):
            return str(meta["version"])
    except (OSError, ValueError):
        pass
    if memo is None or _is_script(real):
        return claude_version(binary)
    info = real.stat()
    stamp = f"{real}:{info.st_size}:{info.st_mtime_ns}:{info.st_ctime_ns}:{info.st_ino}"
    try:
        known = {str(k): str(v) for k, v in json.loads(memo.read_text()).items()}
    except (OSError, ValueError, AttributeError):
        known = {}
    if stamp in known:
        return known[stamp]
    version = claude_version(binary)
    with contextlib.suppress(OSError):  # only a memo: a read-only cache asks again next time
        write_atomically(memo, json.dumps({**known, stamp: version}, indent=1))
    return version


def _is_script(path: Path) -> bool:
    """Whether the kernel runs ``path`` through an interpreter (``#!``)."""
    try:
        with path.open("rb") as f:
            return f.read(2) == b"#!"
    except OSError:
        return True  # unreadable: nothing can be known of it, so ask it
