"""Which commit a result was made at: the git branch and sha of a folder, or placeholders
when there is no repository or no git (a result is still made, only without them)."""

from __future__ import annotations

import subprocess
from pathlib import Path

_GIT_TIMEOUT_S = 5.0


def git_identity(cwd: Path) -> tuple[str, str]:
    """(branch, 12-hex sha): "detached" for a detached HEAD, "nogit"/"nosha" without git."""
    branch = _git(cwd, "rev-parse", "--abbrev-ref", "HEAD")
    if branch is None:
        # A repository without commits has no HEAD to parse, but it has a branch name.
        branch = _git(cwd, "symbolic-ref", "--short", "-q", "HEAD")
    sha = _git(cwd, "rev-parse", "HEAD")
    return (
        "nogit" if branch is None else "detached" if branch == "HEAD" else branch,
        "nosha" if sha is None else sha[:12],
    )


def _git(cwd: Path, *args: str) -> str | None:
    try:
        proc = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    out = proc.stdout.strip()
    return out if proc.returncode == 0 and out else None
