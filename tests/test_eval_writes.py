"""A warm eval's writes grow with its runs, not with their square: the partial file is appended
run by run (rewriting it whole after every run wrote quadratic bytes)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.suite_commands import Workbench, workbench

pytestmark = pytest.mark.cli

# ``python -m runner ARGS`` that, as it exits, writes to OUT the bytes it wrote (the kernel's
# count of every write() it made: files and pipes alike, children aside).
COUNTED = """
import atexit, runpy, sys
out = sys.argv.pop(1)
def written():
    with open("/proc/self/io") as f:
        fields = dict(line.split(": ") for line in f.read().splitlines())
    with open(out, "w") as f:
        f.write(fields["wchar"])
atexit.register(written)
sys.argv[0] = "runner"
runpy.run_module("runner", run_name="__main__", alter_sys=True)
"""


def bytes_written(bench: Workbench, trials: int) -> int:
    out = bench.root / f"written-{trials}"
    argv, env = bench.invocation(
        "eval", ["--scenarios", "fix-entry", "--trials", str(trials)], None
    )
    proc = subprocess.run(
        [sys.executable, "-c", COUNTED, str(out), *argv],
        capture_output=True,
        text=True,
        cwd=bench.root,
        env={**env, "PYTHONDONTWRITEBYTECODE": "1"},
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert f"{trials} from cache" in proc.stdout  # warm: no run started
    return int(out.read_text())


@pytest.mark.skipif(not Path("/proc/self/io").exists(), reason="counts writes with /proc")
def test_a_warm_evals_writes_grow_linearly_with_its_runs(tmp_path: Path) -> None:
    bench = workbench(tmp_path)
    few = 6
    cold = bench.eval("--scenarios", "fix-entry", "--trials", str(4 * few), "--concurrency", "4")
    assert cold.returncode == 0, cold.stderr[-2000:]
    small, large = bytes_written(bench, few), bytes_written(bench, 4 * few)
    # Rewriting the partial file after every run made this about 10x.
    assert large <= 4.5 * small, (small, large)
