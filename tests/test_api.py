"""The public API (issue 18): every name in ``runner.__all__`` imports from ``runner`` and is its
home module's object; ``import runner`` alone loads no stage; and every ```python example in
the README imports only from ``runner`` and runs as written, from a checkout, offline."""

from __future__ import annotations

import ast
import importlib
import json
import os
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

import runner
from tests.suite_commands import EXAMPLE_SUITE, settings
from tests.test_readme import README, ROOT, scratch_copy

INIT = ROOT / "runner" / "__init__.py"
PYTEST_MARK = "<!-- readme-test: pytest -->"  # the block is a test file, run by pytest


@dataclass(frozen=True)
class Example:
    line: int  # in the README, where the code starts
    heading: str  # the section it is in
    code: str
    pytest: bool  # a test file for pytest, not a script


def examples(readme: str) -> list[Example]:
    found: list[Example] = []
    lines = readme.splitlines()
    heading = ""
    i = 0
    while i < len(lines):
        if lines[i].startswith("## "):
            heading = lines[i][3:]
        if lines[i] != "```python":
            i += 1
            continue
        end = lines.index("```", i + 1)
        code = "\n".join(lines[i + 1 : end]) + "\n"
        found.append(Example(i + 2, heading, code, i > 0 and lines[i - 1] == PYTEST_MARK))
        i = end + 1
    return found


EXAMPLES = examples(README.read_text(encoding="utf-8"))
# What each section's script must print; a section not in NO_CLI needs the real CLI.
NO_CLI = {"Typed events in Python"}
PRINTS = {
    "Python API": ["fix-entry/agent-skill#0 PASS", "agent-skill vs agent-baseline: "],
    "Typed events in Python": ["success 5 ['Write', 'Bash', 'Read', 'Edit']", "15 events"],
    "Replaying a run, and asserting on it in your tests": [
        "['Skill', 'Read', 'Edit']",
        "tool_sequence: Skill, Read, Edit -> Skill, Read",
        "FAIL final message names the issue",
    ],
    "Running one scenario in a lane": [
        "success 5 ['Skill', 'Read', 'Edit']",
        "[('CHANGELOG.md', 'changed')]",
    ],
}


def test_the_examples_are_found_and_import_only_from_runner() -> None:
    assert len(EXAMPLES) >= 5
    assert [e.heading for e in EXAMPLES if e.pytest] == [
        "Replaying a run, and asserting on it in your tests"
    ]
    for example in EXAMPLES:
        for node in ast.walk(ast.parse(example.code)):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            private = [n for n in names if n.startswith("runner.")]
            assert not private, f"README.md:{example.line}: imports {private}; use `runner`"


def test_every_public_name_is_its_home_modules_object() -> None:
    homes = runner._HOMES
    assert runner.__all__ == sorted(set(runner.__all__), key=runner.__all__.index)
    assert set(runner.__all__) == set(homes)
    for name in runner.__all__:
        assert not name.startswith("_") or name == "__version__"
        assert homes[name].startswith("runner._"), name  # its home is private, the name is not
        home = importlib.import_module(homes[name])
        assert getattr(runner, name) is getattr(home, name), f"{name} is not {homes[name]}'s"
        namespace: dict[str, object] = {}
        exec(f"from runner import {name}", namespace)
        assert namespace[name] is getattr(home, name)
    assert set(runner.__all__) <= set(dir(runner))
    with pytest.raises(AttributeError, match="no attribute 'nothing_here'"):
        _ = runner.nothing_here


def test_type_checkers_see_the_same_names_from_the_same_homes() -> None:
    """The ``if TYPE_CHECKING:`` imports (what mypy, pyright and IDEs read) match the table."""
    tree = ast.parse(INIT.read_text(encoding="utf-8"))
    block = next(
        n for n in tree.body if isinstance(n, ast.If) and ast.unparse(n.test) == "TYPE_CHECKING"
    )
    seen = {
        alias.name: node.module
        for node in block.body
        if isinstance(node, ast.ImportFrom)
        for alias in node.names
    }
    assert seen == runner._HOMES


def test_importing_runner_loads_no_stage() -> None:
    code = (
        "import json, sys, runner\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.startswith(('runner', 'pydantic')))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == ["runner"]


@pytest.mark.anyio
async def test_evaluate_says_what_is_wrong_before_any_run(tmp_path: Path) -> None:
    with pytest.raises(runner.ScenarioError, match="nowhere"):
        await runner.evaluate(tmp_path / "nowhere")
    with pytest.raises(runner.UnknownLaneError, match="agent-skil"):
        await runner.evaluate(EXAMPLE_SUITE, ["agent-skil"])
    with pytest.raises(runner.ScenarioError, match="no-such-scenario"):
        await runner.evaluate(EXAMPLE_SUITE, scenarios=["no-such-scenario"])


@pytest.mark.anyio
async def test_evaluate_refuses_a_missing_sandbox_before_any_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))  # neither bwrap nor socat on it
    given = replace(settings(workspace_parent=tmp_path), sandbox="bwrap")
    cache = runner.RunCache(tmp_path / "cache")
    with pytest.raises(runner.SandboxUnavailable, match="needs bubblewrap and socat"):
        await runner.evaluate(EXAMPLE_SUITE, ["agent-skill"], settings=given, cache=cache)
    assert os.listdir(tmp_path) == []  # no run started: no workspace, no cache entry


@pytest.mark.anyio
@pytest.mark.cli
async def test_evaluate_runs_a_suite_as_eval_does(tmp_path: Path) -> None:
    """Scored, through the cache, under the header eval writes; a second evaluate is all hits."""
    cache = runner.RunCache(tmp_path / "cache")
    given = settings(workspace_parent=tmp_path)
    seen: list[str] = []
    result = await runner.evaluate(
        EXAMPLE_SUITE,
        ["agent-skill"],
        scenarios=["fix-entry"],
        settings=given,
        cache=cache,
        on_result=lambda r, _: seen.append(r.run_id),
    )
    assert seen == ["fix-entry/agent-skill#0"]
    [run] = result.runs
    assert run.passed
    assert not run.cache_hit
    header = result.header
    assert (header.partial, header.mode, header.planned, header.trials) == (False, "scripted", 1, 1)
    assert header.lanes == ["agent-skill"]
    assert header.scenarios == ["fix-entry"]
    assert header.totals.passed == 1
    assert header.finished_at is not None
    again = await runner.evaluate(
        EXAMPLE_SUITE, ["agent-skill"], scenarios=["fix-entry"], settings=given, cache=cache
    )
    assert [r.cache_hit for r in again.runs] == [True]


@pytest.fixture(scope="module")
def checkout(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scratch copy of this checkout, shared by the examples (a run one made is cached)."""
    scratch = tmp_path_factory.mktemp("checkout")
    scratch_copy(scratch)
    return scratch


def _offline() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "RUNNER_"))}
    env.pop("VIRTUAL_ENV", None)
    return env


@pytest.mark.parametrize(
    "example",
    [
        pytest.param(
            e, id=f"README.md:{e.line}", marks=[] if e.heading in NO_CLI else [pytest.mark.cli]
        )
        for e in EXAMPLES
    ],
)
def test_the_readme_example_runs(example: Example, checkout: Path) -> None:
    if example.pytest:
        test_file = checkout / f"test_readme_{example.line}.py"
        test_file.write_text(example.code, encoding="utf-8")
        # The trials it reads are made as the README says: by --runner-run-missing.
        argv = ["-m", "pytest", test_file.name, "-q", "-p", "no:randomly", "--runner-run-missing"]
    else:
        argv = ["-c", example.code]
    done = subprocess.run(
        [sys.executable, *argv],
        cwd=checkout,
        env=_offline(),
        capture_output=True,
        text=True,
        timeout=900,  # a hang, not a slow machine, reaches this
    )
    out = done.stdout + done.stderr
    assert done.returncode == 0, f"README.md:{example.line}:\n{out[-6000:]}"
    if example.pytest:
        assert f"{example.code.count('def test_')} passed" in done.stdout, out[-3000:]
        return
    for expected in PRINTS.get(example.heading, []):
        assert expected in done.stdout, f"README.md:{example.line}: {expected!r} in\n{out[-3000:]}"
