"""Start-up (issue 17): each command imports what it uses when it runs, so `--help` and
`transcript` do not pay for pydantic's model building or httpx. Asserted on what a fresh
interpreter has imported, never on time."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runner._agent import reaper as _reaper
from tests.conftest import FIXTURES
from tests.suite_commands import workbench

HEAVY = (
    "httpx",
    "pydantic",
    "runner._evaluate.suite",
    "runner._report",
    "runner._evaluate.cache",
    "runner._agent.engine",
    "ray",
)


def _loaded(code: str, probe: tuple[str, ...] = HEAVY, **run: Any) -> set[str]:
    """The names of ``probe`` that a fresh interpreter has imported after running ``code``."""
    probe_code = (
        f"{code}\nimport json, sys\nprint(json.dumps([m for m in {probe!r} if m in sys.modules]))"
    )
    done = subprocess.run([sys.executable, "-c", probe_code], capture_output=True, text=True, **run)
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.splitlines()[-1]))


def _after_main(*argv: str) -> str:
    # main() as `python -m runner ARGV` runs it; --help exits through SystemExit.
    return (
        "import contextlib, io\nfrom runner._cli.main import main\n"
        "with contextlib.redirect_stdout(io.StringIO()), contextlib.suppress(SystemExit):\n"
        f"    main({list(argv)!r})"
    )


def test_importing_the_cli_loads_no_command() -> None:
    assert _loaded("import runner._cli.main") == set()


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
    code = (
        "import runner._cli.suite_commands, runner._evaluate.suite, runner._evaluate.tapes,"
        " runner._agent.engine, runner._evaluate.cache"
    )
    assert "httpx" not in _loaded(code)


def test_an_eval_without_cluster_loads_no_ray() -> None:
    # Ray (the optional extra) only with --cluster; the node's side imports none itself.
    code = (
        "import runner._cli.suite_commands, runner._evaluate.suite,"
        " runner._evaluate.cluster_task, runner._agent.engine"
    )
    assert "ray" not in _loaded(code)


def test_the_reaper_starts_on_the_interpreters_c_modules(tmp_path: Path) -> None:
    """Each run starts a reaper: it imports no Python layer (signal's enums, ctypes, json's re,
    typing), and is imported, not run by path, so its bytecode is cached, as runner starts it."""
    report = tmp_path / "report.json"
    probe = (
        f"{_reaper.BOOT.rsplit(';', 1)[0]}\n"
        f"code = main(['5', {str(report)!r}, '--', 'true'])\n"
        "print(code, sorted(sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", probe, _reaper.__file__],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    code, modules = done.stdout.split(" ", 1)
    assert code == "0"
    loaded = set(ast.literal_eval(modules))
    assert "reaper" in loaded  # imported by name from its folder
    assert loaded.isdisjoint({"signal", "enum", "ctypes", "json", "re", "typing", "contextlib"})
    assert json.loads(report.read_text())["exit_code"] == 0


@pytest.mark.parametrize(
    "text", ['say "hi"\\', "tab\there\nline\r\x00\x1f\x7f", "é ✓ 名前", "bad \udcff name"]
)
def test_the_reapers_report_is_json_as_the_json_module_reads_it(text: str) -> None:
    report = {"exit_code": None, "signal": 9, "stopped": True, "leftovers": [text], "e": text}
    assert json.loads(_reaper._json(report)) == report


def test_listing_results_loads_no_stream_events(tmp_path: Path) -> None:
    # Stored results hold token counts (runner._transcript.tokens), not the stream's event models; a
    # finished result is listed from its header.
    code = _after_main("results", "--runs-dir", str(tmp_path))
    assert "runner._transcript.events" not in _loaded(code, probe=("runner._transcript.events",))


def test_a_cached_eval_loads_nothing_that_makes_a_run(tmp_path: Path) -> None:
    """Every run a cache hit: keys, stored records and scoring, but not the CLI's runner (the
    stream's events and parser, the process and its reaper), the model's server or proxy
    (h11, httpx); one lane printed as a table: no A/B statistics, no --json document."""
    bench = workbench(tmp_path)
    args = ("--scenarios", "fix-entry", "--lanes", "agent-skill", "--sandbox", "none")
    assert bench.eval(*args).returncode == 0
    argv, env = bench.invocation("eval", args, None)
    probe = (
        *(
            "runner._transcript.blocks",
            "runner._transcript.events",
            "runner._transcript.parse",
            "runner._transcript.stream",
            "runner._transcript.normalized",
            "runner._transcript.summarize",
            "runner._transcript.transcript",
            "runner._agent.claude",
        ),
        *(
            "runner._agent.process",
            "runner._model.mock_api",
            "runner._evaluate.tapes",
            "h11",
            "httpx",
        ),
        *(
            "runner._results.ab",
            "runner._results.ab_report",
            "runner._results.scenario_tests",
            "runner._results.rates",
            "runner._results.eval_report",
            "runner._agent.engine",
            "runner._evaluate.cache",
        ),
    )
    # The second eval, every run cached, is the probe's.
    loaded = _loaded(_after_main(*argv), probe, env=env, cwd=bench.root)
    assert loaded == {"runner._agent.engine", "runner._evaluate.cache"}
    _, second = bench.stored()  # the first eval's, then the probe's
    runs = json.loads(second.read_text())["runs"]
    assert [(r["cache_hit"], r["passed"]) for r in runs] == [(True, True)]
