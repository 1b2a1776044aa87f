"""The package reads as its data flow: a folder per stage, imports only from the same or an
earlier stage, no module over 400 lines (scripts/check_layers.py holds the rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.script_support import load_script

layers = load_script("check_layers")
RUNNER = Path(__file__).resolve().parent.parent / "runner"


def test_runner_keeps_its_layout() -> None:
    assert layers.breaches(RUNNER) == []


def test_every_stage_folder_exists() -> None:
    # A stage renamed on disk but not in the rules would pass every import check vacuously.
    assert sorted(p.name for p in RUNNER.iterdir() if (p / "__init__.py").is_file()) == sorted(
        layers.STAGES
    )


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for folder in ("", *layers.STAGES):
        (root / folder).mkdir(parents=True, exist_ok=True)
        (root / folder / "__init__.py").write_text('"""A stage."""\n')
    for name, text in files.items():
        (root / name).write_text(text)
    return root


def test_a_clean_package_passes(tmp_path: Path) -> None:
    root = _package(
        tmp_path,
        {
            "_util/a.py": "import os\n",
            "_agent/b.py": "from pkg._util import a\nfrom pkg._agent import c\n",
            "_agent/c.py": "from . import b\nfrom .._transcript import d\n",
            "_cli/e.py": "import pkg._report.f\n",
            "__init__.py": "from pkg._cli import e\n",  # the top imports anything
            "pytest_plugin.py": "from pkg._evaluate import g\n",
        },
    )
    assert layers.breaches(root) == []


@pytest.mark.parametrize(
    ("name", "text", "breach"),
    [
        ("_util/a.py", "from pkg._cli import main\n", "pkg/_util/a.py:1: imports pkg._cli.main"),
        ("_agent/a.py", "import pkg._results.ab\n", "a later stage than _agent"),
        ("_agent/a.py", "from .._report import page\n", "imports pkg._report.page"),
        ("_agent/a.py", "def f():\n    from pkg._cli import x\n", "pkg/_agent/a.py:2: imports"),
        (
            "_agent/a.py",
            "import typing\nif typing.TYPE_CHECKING:\n    from pkg._evaluate import x\n",
            "pkg/_agent/a.py:3: imports pkg._evaluate.x",
        ),
        ("_results/a.py", "from pkg import __version__\n", "above every stage"),
        ("_results/a.py", "import pkg.pytest_plugin\n", "above every stage"),
        ("helpers.py", "x = 1\n", "pkg/helpers.py: outside every stage folder"),
        ("_agent/__init__.py", "from pkg._agent import a\n", "pkg/_agent/__init__.py:1: a stage's"),
        ("_model/a.py", "x = 1\n" * 401, "pkg/_model/a.py: 401 lines, over 400"),
    ],
)
def test_a_breach_is_named(tmp_path: Path, name: str, text: str, breach: str) -> None:
    found = layers.breaches(_package(tmp_path, {name: text}))
    assert len(found) == 1
    assert breach in found[0]


def test_the_script_prints_each_breach_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = _package(tmp_path, {"_util/a.py": "import pkg._cli.x\n", "b.py": ""})
    assert layers.main([str(root)]) == 1
    assert capsys.readouterr().out.splitlines() == [
        "pkg/_util/a.py:1: imports pkg._cli.x, a later stage than _util",
        "pkg/b.py: outside every stage folder (" + ", ".join(layers.STAGES) + ")",
    ]
    (root / "_util" / "a.py").unlink()
    (root / "b.py").unlink()
    assert layers.main([str(root)]) == 0
    assert capsys.readouterr().out == ""


def test_the_architecture_page_has_a_row_per_module_in_its_stage() -> None:
    # docs/architecture.md's tables, one per stage: each module once, under its own stage.
    page = (RUNNER.parent / "docs" / "architecture.md").read_text(encoding="utf-8")
    rows: dict[str, str] = {}
    heading = ""
    for line in page.splitlines():
        if line.startswith("### "):
            heading = line
        elif line.startswith("| `runner/"):
            path = line.split("`")[1]
            assert path not in rows, f"{path}: two rows"
            rows[path] = heading
    modules = {
        m.path.relative_to(RUNNER.parent).as_posix()
        for m in layers.modules(RUNNER)
        if m.path.name != "__init__.py" or m.folder is None
    }
    assert sorted(rows) == sorted(modules)
    for path, heading in rows.items():
        folder = path.split("/")[1]
        assert (f"`{folder}`" in heading) if folder in layers.STAGES else "The top" in heading
