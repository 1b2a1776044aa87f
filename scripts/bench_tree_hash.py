"""Throughput of hashing a fixture tree for the run cache, against reading the same tree.

Both arms go over the same generated tree, page-cached (one warm-up pass first), side by side
in one run, alternating which goes first, best of N rounds:
  tree_digest:  runner._evaluate.run_keys.tree_digest (walk_tree: scandir, lstat, xxh3_128
                of every file's bytes through one reused buffer, then paths, modes and sizes
                into one digest)
  read:         the raw I/O floor: scandir, open and readinto a reused buffer of every file,
                no hashing
The ratio tree_digest/read says how close hashing is to I/O-bound (1.0: hashing is free).

The tree mixes many small source-like files (1-64 KiB, log-uniform, in nested folders) with a
few large binaries (8-64 MiB). Each kind is also measured alone, as its own subtree; the
overall figure is the whole tree. Target: tree_digest >= 1 GB/s over the whole tree.

    .venv/bin/python scripts/bench_tree_hash.py                  # 512 MB, 25% small, 5 rounds
    .venv/bin/python scripts/bench_tree_hash.py --mb 2048 --files 50 --rounds 3
"""

from __future__ import annotations

import argparse
import gc
import math
import os
import random
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from runner._evaluate.run_keys import tree_digest

TARGET_GBPS = 1.0
KIB, MIB = 1 << 10, 1 << 20
READ_CHUNK = 1 << 20  # the buffer size walk_tree reads with
SMALL_SIZES = (1 * KIB, 64 * KIB)
LARGE_SIZES = (8 * MIB, 64 * MIB)
FILES_PER_FOLDER = 12
EXTENSIONS = (".py", ".py", ".py", ".ts", ".md", ".json", ".toml", ".sh")


@dataclass(frozen=True)
class Tree:
    name: str
    root: Path
    files: int
    size: int


def source_text(rng: random.Random, nbytes: int) -> bytes:
    """``nbytes`` of Python-looking text, varied enough that no two files share a slice."""
    words = ["self", "value", "items", "result", "config", "path", "name", "data", "index"]
    lines: list[str] = []
    total = 0
    n = 0
    while total < nbytes:
        a, b = rng.choice(words), rng.choice(words)
        line = rng.choice(
            [
                f"def {a}_{n}({b}, {a}=None):\n",
                f"    {a}_{n} = {b}.get({n!r}, {rng.randrange(1 << 30)})\n",
                f"    if {a} is not None and {b} > {rng.randrange(1000)}:\n",
                f"        return [{a} for {a} in {b} if {a}]  # {rng.getrandbits(64):x}\n",
                f"# {a} {b}: {rng.getrandbits(96):x}\n",
                "\n",
            ]
        )
        lines.append(line)
        total += len(line)
        n += 1
    return "".join(lines).encode()[:nbytes]


def make_small(root: Path, budget: int, rng: random.Random) -> int:
    """Source-like files until ``budget`` bytes, in a random tree of nested folders."""
    text = source_text(rng, 8 * MIB)
    folders = [root]
    root.mkdir(parents=True)
    lo, hi = (math.log(s) for s in SMALL_SIZES)
    written, n = 0, 0
    while written < budget:
        if n % FILES_PER_FOLDER == 0:
            # A new folder under a random existing one: depths vary, as in a real repo.
            parent = rng.choice(folders)
            folder = parent / f"{rng.choice(['src', 'pkg', 'lib', 'core', 'util'])}{n}"
            folder.mkdir()
            folders.append(folder)
        size = min(int(math.exp(rng.uniform(lo, hi))), budget - written)
        start = rng.randrange(len(text) - size)
        path = folders[-1] / f"file{n}{rng.choice(EXTENSIONS)}"
        path.write_bytes(text[start : start + size])
        if path.suffix == ".sh":
            path.chmod(0o755)
        written += size
        n += 1
    return n


def make_large(root: Path, budget: int, rng: random.Random) -> int:
    """Binaries of 8-64 MiB until ``budget`` bytes (the last one takes what is left)."""
    root.mkdir(parents=True)
    (root / "assets").mkdir()
    (root / "bin").mkdir()
    written, n = 0, 0
    while written < budget:
        size = min(rng.randint(*LARGE_SIZES), budget - written)
        where = root / ("bin" if n % 3 == 0 else "assets") / f"blob{n}.bin"
        with where.open("wb") as f:
            left = size
            while left:
                chunk = min(left, 16 * MIB)
                f.write(rng.randbytes(chunk))
                left -= chunk
        written += size
        n += 1
    return n


def read_tree(root: Path) -> int:
    """The I/O floor: every file opened and read through one reused buffer; bytes read."""
    buffer = memoryview(bytearray(READ_CHUNK))
    total = 0
    pending = [root]
    while pending:
        with os.scandir(pending.pop()) as entries:
            for entry in entries:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(Path(entry.path))
                    continue
                with open(entry.path, "rb", buffering=0) as f:
                    while n := f.readinto(buffer):
                        total += n
    return total


def human(nbytes: float) -> str:
    return f"{nbytes / MIB:.1f} MiB" if nbytes >= MIB else f"{nbytes / KIB:.1f} KiB"


def timed(fn: Callable[[Path], object], root: Path) -> tuple[float, object]:
    gc.collect()
    start = time.perf_counter()
    out = fn(root)
    return time.perf_counter() - start, out


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--mb", type=int, default=512, help="tree size in MB (default 512)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds; best counts")
    parser.add_argument(
        "--files",
        type=float,
        default=25.0,
        metavar="SMALL%",
        help="share of the bytes in small source-like files, the rest in large binaries "
        "(default 25)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dir", type=Path, help="where to build the tree (default: a temp dir)")
    args = parser.parse_args()
    if not 0 < args.files < 100:
        parser.error("--files: a percentage strictly between 0 and 100 (both kinds are measured)")

    rng = random.Random(args.seed)
    base = Path(tempfile.mkdtemp(prefix="runner-bench-tree-", dir=args.dir))
    try:
        total = args.mb * 1_000_000
        small_budget = int(total * args.files / 100)
        print(f"building {args.mb} MB in {base} ...", flush=True)
        n_small = make_small(base / "small", small_budget, rng)
        n_large = make_large(base / "large", total - small_budget, rng)
        trees = [
            Tree("whole", base, n_small + n_large, total),
            Tree("small", base / "small", n_small, small_budget),
            Tree("large", base / "large", n_large, total - small_budget),
        ]
        # Warm-up: everything into the page cache, and each arm's code paths run once.
        expected = tree_digest(base)
        if read_tree(base) != total:
            sys.exit("the tree's size is not what was written")

        arms: list[tuple[str, Callable[[Path], object]]] = [
            ("read", read_tree),
            ("tree_digest", tree_digest),
        ]
        best = {(t.name, a): math.inf for t in trees for a, _ in arms}
        for r in range(args.rounds):
            for tree in trees:
                # Alternate which arm goes first, so drift over time hits both alike.
                for name, fn in arms if r % 2 == 0 else reversed(arms):
                    secs, out = timed(fn, tree.root)
                    if tree is trees[0] and name == "tree_digest" and out != expected:
                        sys.exit("tree_digest changed between rounds")
                    best[tree.name, name] = min(best[tree.name, name], secs)
            whole = trees[0]
            print(
                f"  round {r + 1}: whole tree  read "
                f"{whole.size / best[whole.name, 'read'] / 1e9:5.2f} GB/s   tree_digest "
                f"{whole.size / best[whole.name, 'tree_digest'] / 1e9:5.2f} GB/s  (best so far)",
                flush=True,
            )
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print(
        f"\nbest of {args.rounds} rounds, page-cached, {args.files:g}% of bytes in small files\n"
        f"{'tree':<6} {'files':>7} {'MB':>6} {'avg size':>9} {'read GB/s':>10} "
        f"{'digest GB/s':>12} {'digest/read':>12} {'digest us/file':>15}"
    )
    for tree in trees:
        read = tree.size / best[tree.name, "read"] / 1e9
        digest = tree.size / best[tree.name, "tree_digest"] / 1e9
        print(
            f"{tree.name:<6} {tree.files:>7} {tree.size / 1e6:>6.0f} "
            f"{human(tree.size / tree.files):>9} {read:>10.2f} {digest:>12.2f} "
            f"{digest / read:>12.2f} {best[tree.name, 'tree_digest'] / tree.files * 1e6:>15.1f}"
        )
    overall = trees[0].size / best[trees[0].name, "tree_digest"] / 1e9
    ok = overall >= TARGET_GBPS
    print(
        f"tree_digest: {overall:.2f} GB/s (target >= {TARGET_GBPS:g} GB/s): "
        f"{'PASS' if ok else 'FAIL'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
