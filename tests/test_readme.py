"""Every shell command the README shows works as written: each ```sh block is run, in the
README's order, in one shell, in a scratch copy of this checkout, as a reader following it would.
A block marked `<!-- readme-test: skip: WHY -->` (live and billed, or minutes of benchmark)
is not run; its runner commands must still parse."""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import signal
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner._cli.main import build_parser

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
SKIP = re.compile(r"<!-- readme-test: skip: (?P<why>.+?) -->")
# Shared with the scratch copy, not copied: what scripts/setup made here (no network in tests).
SHARED = (".venv", "tools/claude-code/node_modules")


@dataclass(frozen=True)
class Command:
    line: int  # in the README, where the command starts
    text: str  # continuation lines joined
    skip: str | None  # why it is not run


def commands(readme: str) -> list[Command]:
    found: list[Command] = []
    lines = readme.splitlines()
    i = 0
    while i < len(lines):
        if lines[i] not in ("```sh", "```bash"):
            i += 1
            continue
        marker = SKIP.fullmatch(lines[i - 1].strip()) if i else None
        skip = marker["why"] if marker else None
        i += 1
        pending, start = "", 0
        while lines[i] != "```":
            if not pending:
                start = i + 1
            pending += lines[i]
            if pending.endswith("\\"):
                pending = pending[:-1] + " "
            else:
                if pending.strip():
                    found.append(Command(start, " ".join(pending.split()), skip))
                pending = ""
            i += 1
        i += 1
    return found


def scratch_copy(dest: Path) -> None:
    """The checkout as it is now (tracked and new files, not ignored ones), set up by sharing
    what scripts/setup installed."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout
    for name in filter(None, listed.decode().split("\0")):
        source = ROOT / name
        if source.is_file() or source.is_symlink():
            (dest / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, dest / name, follow_symlinks=False)
    for name in SHARED:
        (dest / name).parent.mkdir(parents=True, exist_ok=True)
        (dest / name).symlink_to(ROOT / name)


def script(cmds: list[Command]) -> str:
    """One shell session; a command that fails names its README line and stops it."""
    # A server started with `&` is stopped at the end, or on a failure: it holds the output open.
    out = ['fail() { echo "README.md:$1: exit $2" >&2; jobs -p | xargs -r kill; exit 1; }']
    for c in cmds:
        if c.text.endswith("&"):
            out.append(c.text)
        else:
            out.append(f"{{ {c.text}\n}} || fail {c.line} $?")
    out.append('jobs -p | xargs -r kill; wait; echo "all README commands passed"')
    return "\n".join(out) + "\n"


def test_the_parser_finds_commands_skips_and_continuations() -> None:
    text = "\n".join(
        [
            "```sh",
            "a one   # note",
            "b two \\",
            "    three",
            "```",
            "```",
            "not a command",
            "```",
            "<!-- readme-test: skip: needs a key -->",
            "```sh",
            "c",
            "```",
        ]
    )
    assert commands(text) == [
        Command(2, "a one # note", None),
        Command(3, "b two three", None),
        Command(11, "c", "needs a key"),
    ]


def test_the_readme_skips_only_what_it_must() -> None:
    cmds = commands(README.read_text(encoding="utf-8"))
    run = [c for c in cmds if c.skip is None]
    assert len(run) >= 20
    skipped = {c.text.split()[0] for c in cmds if c.skip}
    # Live-API examples, the test suite itself, benchmarks and a cluster's set-up (it needs
    # the machines of one): nothing else is exempt.
    assert skipped <= {
        *("python", "claude", "scripts/test", "EXTRAS=test,bench", ".venv/bin/python"),
        *("EXTRAS=ray", "EXTRAS=test,ray", "export", ".venv/bin/ray"),
    }
    for c in cmds:
        if c.skip and c.text.startswith("python -m runner "):
            words = shlex.split(c.text.split("<")[0], comments=True)[3:]
            build_parser().parse_args(words)  # a usage error exits 2 and fails the test


@pytest.mark.cli
def test_every_readme_command_works_as_written(tmp_path: Path) -> None:
    cmds = [c for c in commands(README.read_text(encoding="utf-8")) if c.skip is None]
    scratch = tmp_path / "checkout"
    scratch.mkdir()
    scratch_copy(scratch)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "RUNNER_"))}
    env.pop("VIRTUAL_ENV", None)
    # scripts/setup in the copy must find the shared .venv as it is: with other extras, or a
    # pyproject.toml changed since, it would reinstall runner into it from the copy, which is
    # deleted after the test. So the checkout's own setup brings the stamp up to date first.
    stamp = (ROOT / ".venv" / ".runner-setup-stamp").read_text().split()
    env["EXTRAS"] = stamp[1] if len(stamp) > 1 else "test"
    subprocess.run([str(ROOT / "scripts" / "setup")], cwd=ROOT, env=env, check=True)
    proc = subprocess.Popen(
        ["bash", "-c", script(cmds)],
        cwd=scratch,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own group: a server it leaves behind is stopped below
    )
    try:
        out, _ = proc.communicate(timeout=1800)  # a hang, not a slow machine, reaches this
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
    text = out.decode(errors="replace")
    assert proc.returncode == 0, text[-6000:]
    assert "all README commands passed" in text
    # What the quick start promises: the A/B verdict first, and the report written.
    assert "agent-skill vs agent-baseline: BETTER" in text
    assert (scratch / ".runner" / "report.html").is_file()


def test_a_failing_command_stops_the_session_and_names_its_line(tmp_path: Path) -> None:
    cmds = [Command(5, "sleep 600 &", None), Command(7, "false", None), Command(9, "echo x", None)]
    done = subprocess.run(["bash", "-c", script(cmds)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 1
    assert "README.md:7: exit 1" in done.stderr
    assert "x" not in done.stdout
