"""Test support for the suite commands: the example suite copied somewhere it can be edited,
a bwrap wrapper that counts the CLI's starts, and ``python -m runner eval`` run as a user runs
it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner._agent.claude_bin import find_claude, known_version
from runner._agent.jail import CLAUDE
from runner._agent.sandbox import INSTALL_HINT
from runner._evaluate.planning import Settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_SUITE = REPO / "fixtures" / "scenarios"


@dataclass
class Workbench:
    """A copy of the example suite and its skills, a cache, a run store, and ``bin/bwrap``: a
    wrapper that counts the sandboxes started for the CLI (every run and judge starts one)."""

    root: Path
    claude: Path  # the pinned CLI

    @property
    def suite(self) -> Path:
        return self.root / "suite"

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def log(self) -> Path:
        return self.root / "claude-starts.log"

    def path(self, env: dict[str, str] | None = None) -> str:
        """``env``'s PATH (default: ours) with the counting bwrap first."""
        return f"{self.bin}{os.pathsep}{(env or os.environ).get('PATH', '')}"

    def cli_runs(self) -> int:
        """CLI starts so far (in the sandbox; its probe and command checks not counted)."""
        if not self.log.exists():
            return 0
        return len(self.log.read_text().splitlines())

    def scenario_file(self, scenario: str) -> Path:
        return self.suite / scenario / "scenario.toml"

    def eval(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.command("eval", *args, env=env)

    @property
    def tmp(self) -> Path:
        """The commands' TMPDIR: where a run's workspace is made, and must be gone from."""
        return self.root / "tmp"

    def command(
        self, name: str, *args: str, env: dict[str, str] | None = None, wrap: Sequence[str] = ()
    ) -> subprocess.CompletedProcess[str]:
        """``python -m runner NAME`` (eval or ab) on this bench's suite, cache and store;
        ``wrap``: a command to run it under (e.g. ``unshare -m ...``)."""
        argv, given = self.invocation(name, args, env)
        return run_runner(*argv, cwd=self.root, env=given, wrap=wrap)

    def start(
        self,
        *args: str,
        command: str = "eval",
        env: dict[str, str] | None = None,
        stderr: int = subprocess.PIPE,
    ) -> subprocess.Popen[str]:
        """``COMMAND ARGS`` started, not waited for: its output in pipes (``stderr``: or that
        file descriptor), as text."""
        argv, given = self.invocation(command, args, env)
        return subprocess.Popen(
            [sys.executable, "-m", "runner", *argv],
            cwd=self.root,
            env=given,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )

    def invocation(
        self, name: str, args: Sequence[str], env: dict[str, str] | None
    ) -> tuple[list[str], dict[str, str]]:
        given = env if env is not None else offline_env()
        self.tmp.mkdir(exist_ok=True)
        argv = [
            name,
            "--suite",
            str(self.suite),
            "--cache-dir",
            str(self.root / "cache"),
            "--runs-dir",
            str(self.root / "runs"),
            "--claude-bin",
            str(self.claude),
            *args,
        ]
        return argv, {**given, "PATH": self.path(given), "TMPDIR": str(self.tmp)}

    def stored(self) -> list[Path]:
        return sorted((self.root / "runs").glob("*.json"))


def scripted_scenario(folder: Path, turns: list[dict[str, Any]], toml: str) -> Path:
    """A scenario at ``folder`` whose every lane's agent plays ``turns``; ``toml`` is the rest
    of its scenario.toml (instruction, checks). Returns its suite, the folder's parent."""
    (folder / "mock").mkdir(parents=True)
    (folder / "mock" / "agent.json").write_text(json.dumps({"turns": turns}))
    (folder / "scenario.toml").write_text(f'{toml}\n[mock]\n"*" = "mock/agent.json"\n')
    return folder.parent


def workbench(tmp: Path, suite: Path = EXAMPLE_SUITE) -> Workbench:
    bench = Workbench(tmp, find_claude().path)
    shutil.copytree(suite, bench.suite)
    shutil.copytree(REPO / "skills", tmp / "skills")
    real = shutil.which("bwrap")
    assert real is not None, f"bubblewrap is required: {INSTALL_HINT}"
    bench.bin.mkdir()
    shim = bench.bin / "bwrap"
    shim.write_text(
        f'#!/bin/sh\ncase " $* " in *" {CLAUDE} "*) echo start >> {bench.log};; esac\n'
        f'exec {real} "$@"\n'
    )
    shim.chmod(0o755)
    return bench


def offline_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any Anthropic credentials or endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    return {**env, **extra}


def run_runner(
    *args: str,
    cwd: Path,
    env: dict[str, str] | None = None,
    timeout: float = 300,
    wrap: Sequence[str] = (),
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*wrap, sys.executable, "-m", "runner", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env if env is not None else offline_env(),
        timeout=timeout,
    )


def report(proc: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    """The JSON document ``eval --json`` printed."""
    assert proc.stdout.startswith("{"), proc.stderr[-2000:]
    data: dict[str, Any] = json.loads(proc.stdout)
    return data


def settings(**overrides: object) -> Settings:
    """The suite runner's settings as eval makes them offline, with ``overrides``."""
    binary = find_claude()
    given: dict[str, object] = {
        "binary": binary,
        "cli_version": known_version(binary),
        "scripted": True,
        "concurrency": 2,
        **overrides,
    }
    return Settings(**given)  # type: ignore[arg-type]


@contextmanager
def live_upstream(bench: Workbench) -> Iterator[tuple[str, Path]]:
    """``mock-model`` serving fix-entry's skill script as the live API: its URL, and its log of
    requests."""
    log = bench.root / "upstream.log"
    script = bench.suite / "fix-entry" / "mock" / "skill.json"
    with log.open("w") as err:
        server = subprocess.Popen(
            [sys.executable, "-m", "runner", "mock-model", "--script", str(script)],
            stdout=subprocess.PIPE,
            stderr=err,
            text=True,
        )
        try:
            assert server.stdout is not None
            url = re.search(r"http://127\.0\.0\.1:\d+", server.stdout.readline())
            assert url is not None
            yield url.group(0), log
        finally:
            server.terminate()
            server.wait(10)
