"""Start-up (issue 17): each command imports what it uses when it runs, so `--help` and
`transcript` do not pay for pydantic's model building or httpx. Asserted on what a fresh
interpreter has imported, never on time."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import FIXTURES

HEAVY = (
    "httpx",
    "pydantic",
    "runner.suite",
    "runner.report",
    "runner.cache",
    "runner.engine",
    "ray",
)


def _loaded(code: str) -> set[str]:
    """The names of HEAVY that a fresh interpreter has imported after running ``code``."""
    probe = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def _after_main(*argv: str) -> str:
    # main() as `python -m runner ARGV` runs it; --help exits through SystemExit.
    return (
        "import contextlib, io\nfrom runner.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({list(argv)!r})"
    )


def test_importing_the_cli_loads_no_command() -> None:
    assert _loaded("import runner.cli") == set()


@pytest.mark.parametrize(
    "argv", [("--help",), ("transcript", "--help"), ("eval", "--help"), ("report", "--help")]
)
def test_help_loads_no_command(argv: tuple[str, ...]) -> None:
    assert _loaded(_after_main(*argv)) == set()


def test_transcript_loads_only_the_reader() -> None:
    loaded = _loaded(_after_main("transcript", str(FIXTURES / "tools.ndjson")))
    assert loaded == {"pydantic"}  # the typed events; no suite, report, cache or httpx


def test_an_eval_without_the_live_api_loads_no_httpx() -> None:
    # What an eval against scripted models or cassettes imports; httpx waits for the first
    # request forwarded upstream (the live API, or --record).
    code = "import runner.cli_suite, runner.suite, runner.tapes, runner.engine, runner.cache"
    assert "httpx" not in _loaded(code)


def test_an_eval_without_cluster_loads_no_ray() -> None:
    # Ray (the optional extra) only with --cluster; the node's side imports none itself.
    code = "import runner.cli_suite, runner.suite, runner.cluster_task, runner.engine"
    assert "ray" not in _loaded(code)
