"""Test support for the suite commands: the example suite copied somewhere it can be edited,
a claude wrapper that counts its starts, and ``python -m runner eval`` run as a user runs it."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.claude_bin import find_claude, known_version
from runner.suite import Settings

REPO = Path(__file__).resolve().parent.parent
EXAMPLE_SUITE = REPO / "fixtures" / "scenarios"


@dataclass
class Workbench:
    """A copy of the example suite and its skills, a cache, a run store and a counting CLI."""

    root: Path

    @property
    def suite(self) -> Path:
        return self.root / "suite"

    @property
    def claude(self) -> Path:
        return self.root / "claude"

    @property
    def log(self) -> Path:
        return self.root / "claude-starts.log"

    def cli_runs(self) -> int:
        """CLI starts so far, not counting ``--version``."""
        if not self.log.exists():
            return 0
        return sum(1 for line in self.log.read_text().splitlines() if line != "--version")

    def scenario_file(self, scenario: str) -> Path:
        return self.suite / scenario / "scenario.toml"

    def eval(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return self.command("eval", *args, env=env)

    def command(
        self, name: str, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """``python -m runner NAME`` (eval or ab) on this bench's suite, cache and store."""
        return run_runner(
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
            cwd=self.root,
            env=env,
        )

    def stored(self) -> list[Path]:
        return sorted((self.root / "runs").glob("*.json"))


def workbench(tmp: Path, suite: Path = EXAMPLE_SUITE) -> Workbench:
    bench = Workbench(tmp)
    shutil.copytree(suite, bench.suite)
    shutil.copytree(REPO / "skills", tmp / "skills")
    real = find_claude().path
    bench.claude.write_text(f'#!/bin/sh\necho "$*" >> {bench.log}\nexec {real} "$@"\n')
    bench.claude.chmod(0o755)
    return bench


def offline_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any Anthropic credentials or endpoint."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    return {**env, **extra}


def run_runner(
    *args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner", *args],
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
