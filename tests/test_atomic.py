"""Writing a file whole or not at all: when the disk refuses, the one error names the file."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

# A file-size limit stands in for a full disk: a write past it fails (EFBIG), as one past
# a full disk's end does (ENOSPC), partway through. In a child: the limit is the process's.
WRITE_PAST_THE_LIMIT = """
import resource, signal, sys
from pathlib import Path
from runner._util.atomic import (
    PathError, create_exclusively, write_atomically, write_parts_atomically
)
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
resource.setrlimit(resource.RLIMIT_FSIZE, (1000, 1000))
path = Path(sys.argv[1])
writes = {
    "whole": lambda: write_atomically(path, "x" * 5000),
    "parts": lambda: write_parts_atomically(path, ["x" * 600, "y" * 600]),
    "exclusive": lambda: create_exclusively(path, "x" * 5000),
}
try:
    writes[sys.argv[2]]()
except PathError as exc:
    print(exc)
"""


@pytest.mark.parametrize("how", ["whole", "parts", "exclusive"])
def test_a_write_the_disk_refuses_is_one_error_naming_the_file(tmp_path: Path, how: str) -> None:
    path = tmp_path / "result.json"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(WRITE_PAST_THE_LIMIT), str(path), how],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == f"cannot write {path}: File too large (EFBIG)\n"
    assert list(tmp_path.iterdir()) == []  # neither the file nor its temporary
