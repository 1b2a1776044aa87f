"""runner's layout as rules over its import graph: exits 1, a line per breach, if one fails.

The package is a folder per stage, in the order data flows (see docs/architecture.md):

    _util → _transcript → _model → _agent → _evaluate → _results → _report → _cli

A module may import from its own stage and earlier ones only: every import counts, also one
inside a function or under ``TYPE_CHECKING``, since a late import is still a dependency. The
public modules at the top (``__init__``, ``__main__``, ``pytest_plugin``) sit above every stage,
so no stage imports them. A stage's ``__init__.py`` imports nothing: importing one module runs
it. And no module is over ``MAX_LINES`` lines.

    .venv/bin/python scripts/check_layers.py          # runner/ of this checkout
    .venv/bin/python scripts/check_layers.py PATH     # another package's folder
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

STAGES = ("_util", "_transcript", "_model", "_agent", "_evaluate", "_results", "_report", "_cli")
TOP = ("__init__", "__main__", "pytest_plugin")  # public, above every stage
MAX_LINES = 400


@dataclass(frozen=True, slots=True)
class Module:
    name: str  # dotted, e.g. runner._agent.engine
    path: Path

    @property
    def folder(self) -> str | None:
        """Its first name under the package (a stage, or a top module); None for __init__."""
        parts = self.name.split(".")
        return parts[1] if len(parts) > 1 else None


def modules(root: Path) -> list[Module]:
    """Every module of the package whose folder is ``root`` (its name is the folder's)."""
    found = []
    for path in sorted(root.rglob("*.py")):
        parts = [root.name, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        found.append(Module(".".join(parts), path))
    return found


def imported(module: Module) -> Iterator[tuple[int, str]]:
    """(line, dotted name) of each import in the module, relative ones made absolute; a
    ``from X import y`` names ``X.y``, which may be a module or a name in X."""
    package = module.name if module.path.name == "__init__.py" else module.name.rpartition(".")[0]
    parts = package.split(".")
    for node in ast.walk(ast.parse(module.path.read_bytes(), str(module.path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # from . (level 1) is the package itself, each dot more one up
                up = parts[: len(parts) - node.level + 1]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                yield node.lineno, f"{base}.{alias.name}"


def _stage_of(dotted: str, package: str) -> str | None:
    """The stage a dotted import lands in, ``"top"`` for the public modules, None outside."""
    parts = dotted.split(".")
    if parts[0] != package:
        return None
    if len(parts) == 1 or parts[1] in TOP or parts[1] not in STAGES:
        return "top"
    return parts[1]


def breaches(root: Path) -> list[str]:
    """What in the package at ``root`` breaks the layout, a line each (empty: it holds)."""
    found = []
    package = root.name
    for module in modules(root):
        rel = module.path.relative_to(root.parent)
        lines = module.path.read_bytes().count(b"\n")
        if lines > MAX_LINES:
            found.append(f"{rel}: {lines} lines, over {MAX_LINES}: split it along a seam")
        stage = module.folder
        if stage is None or stage in TOP:
            continue
        if stage not in STAGES:
            found.append(f"{rel}: outside every stage folder ({', '.join(STAGES)})")
            continue
        if module.path.name == "__init__.py" and (first := next(imported(module), None)):
            # Importing one module runs its stage's __init__: it must stay free (start-up).
            found.append(f"{rel}:{first[0]}: a stage's __init__.py imports nothing")
            continue
        for line, dotted in imported(module):
            target = _stage_of(dotted, package)
            if target is None or target == stage:
                continue
            if target == "top":
                found.append(f"{rel}:{line}: imports {dotted}, above every stage")
            elif STAGES.index(target) > STAGES.index(stage):
                found.append(f"{rel}:{line}: imports {dotted}, a later stage than {stage}")
    return found


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    root = Path(args[0]) if args else Path(__file__).resolve().parent.parent / "runner"
    found = breaches(root)
    for line in found:
        print(line)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
