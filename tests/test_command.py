"""`python -m runner ...` as a user meets it: outputs, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import array
import errno
import fcntl
import json
import os
import re
import signal
import subprocess
import sys
import termios
from pathlib import Path
from typing import IO

import pytest

from runner._cli.cmdline import describe_os_error, io_error
from runner._cli.main import build_parser
from runner._util.atomic import PathError
from tests.command_support import runner
from tests.conftest import FIXTURES
from tests.waiting import wait_for

REQUIRED = {
    "events": int,
    "parse_errors": int,
    "status": str,
    "is_error": bool,
    "tool_sequence": list,
    "skills_invoked": list,
    "api_retries": int,
    "usage": dict,
}


def test_json_keys_and_types() -> None:
    proc = runner("transcript", str(FIXTURES / "tools.ndjson"), "--json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    for key, kind in REQUIRED.items():
        assert isinstance(out[key], kind), key
    for key in ("num_turns", "cost_usd", "final_text", "api_error_status"):
        assert key in out
    assert set(out["usage"]) == {
        "input_tokens",
        "output_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
    }


def test_human_summary() -> None:
    proc = runner("transcript", str(FIXTURES / "tools.ndjson"))
    assert proc.returncode == 0
    assert "status      success" in proc.stdout
    assert "Write → Bash" in proc.stdout


def test_stdin() -> None:
    data = (FIXTURES / "tools.ndjson").read_bytes()
    proc = runner("transcript", "-", "--json", stdin=data)
    assert json.loads(proc.stdout)["events"] == data.count(b"\n")


def test_stdin_as_it_streams() -> None:
    """A slow writer, lines cut mid-way: the command reads what arrives and waits for more
    (each piece taken, and the command back in a read, before the next is written)."""
    data = (FIXTURES / "tools.ndjson").read_bytes()
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "transcript", "-", "--json"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None
    for start in range(0, len(data), 997):  # a prime step: cuts land inside lines and characters
        proc.stdin.write(data[start : start + 997])
        proc.stdin.flush()
        wait_until_blocked_reading(proc.pid, proc.stdin)
    proc.stdin.close()
    assert proc.stdout is not None
    out = proc.stdout.read()
    assert proc.wait(timeout=60) == 0
    assert json.loads(out) == json.loads(runner("transcript", "-", "--json", stdin=data).stdout)


def test_missing_file_is_one_line_no_traceback(tmp_path: Path) -> None:
    proc = runner("transcript", str(tmp_path / "nope.ndjson"))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0
    assert "nope.ndjson" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_claude_bin_is_one_line(tmp_path: Path) -> None:
    proc = runner("doctor", "--claude-bin", str(tmp_path / "claude"))
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        == f"runner: --claude-bin: {tmp_path / 'claude'} is not an executable file"
    )


def test_doctor_finds_the_pinned_cli() -> None:
    proc = runner("doctor")
    assert proc.returncode == 0, proc.stderr
    assert "claude 2.1.329 (pinned:" in proc.stdout


def test_env_override(tmp_path: Path) -> None:
    fake = tmp_path / "claude"
    fake.write_text("#!/bin/sh\necho '9.9.9 (Claude Code)'\n")
    fake.chmod(0o755)
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "doctor"],
        capture_output=True,
        text=True,
        env={"RUNNER_CLAUDE_BIN": str(fake), "PATH": "/usr/bin:/bin"},
    )
    assert "claude 9.9.9 ($RUNNER_CLAUDE_BIN:" in proc.stdout
    assert "pinned to Claude Code 2.1.329; found 9.9.9" in proc.stdout


def test_claude_bin_as_a_shell_finds_a_command(tmp_path: Path) -> None:
    """A name with a slash is a path from here (./claude too), a bare name is looked up on
    PATH; either way the binary is told, and used, by its absolute path."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake = bin_dir / "claude-next"
    fake.write_text("#!/bin/sh\necho '9.9.9 (Claude Code)'\n")
    fake.chmod(0o755)
    env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
    for given, where in [("./bin/claude-next", tmp_path), ("claude-next", tmp_path / "bin")]:
        proc = subprocess.run(
            [sys.executable, "-m", "runner", "doctor", "--claude-bin", given],
            capture_output=True, text=True, cwd=where, env={**env, "RUNNER_CLAUDE_BIN": ""},
        )  # fmt: skip
        assert f"claude 9.9.9 (--claude-bin: {fake})" in proc.stdout, proc.stderr
    lost = runner("doctor", "--claude-bin", "claude-next", cwd=tmp_path / "bin")
    assert lost.stderr.strip() == "runner: --claude-bin: claude-next is not an executable file"


def test_bad_cap_is_a_usage_error() -> None:
    proc = runner("transcript", "-", "--max-line-bytes", "-5")
    assert proc.returncode == 2
    assert "--max-line-bytes: '-5' is not a positive whole number" in proc.stderr


def test_ctrl_c_while_reading_stdin_ends_quietly() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "runner", "transcript", "-"],
        stdin=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdin is not None
    assert proc.stderr is not None
    proc.stdin.write((FIXTURES / "tools.ndjson").read_bytes()[:3000])
    proc.stdin.flush()
    wait_until_blocked_reading(proc.pid, proc.stdin)  # it has read what there is
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=30) == 130
    assert b"Traceback" not in proc.stderr.read()
    proc.stdin.close()


def wait_until_blocked_reading(pid: int, pipe: IO[bytes]) -> None:
    """Until the process has taken every byte written to ``pipe`` and waits in a read of it
    for more: the pipe holds nothing (FIONREAD), and the kernel has it asleep in a pipe read
    (wchan: ``pipe_read`` or ``anon_pipe_read``). A guard, not a timing: 60 s to a hang."""
    unread = array.array("i", [0])

    def blocked() -> bool:
        fcntl.ioctl(pipe.fileno(), termios.FIONREAD, unread)
        return unread[0] == 0 and Path(f"/proc/{pid}/wchan").read_text().endswith("pipe_read")

    wait_for(blocked, "the command waits in a read of its drained stdin", within_s=60)


def test_help_teaches() -> None:
    proc = runner("transcript", "--help")
    assert "stream-json" in proc.stdout
    assert "examples:" in proc.stdout


def _commands() -> dict[str, argparse.ArgumentParser]:
    (sub,) = (a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    return dict(sub.choices)


@pytest.mark.parametrize("command", _commands())
def test_help_at_60_columns_cuts_no_example_and_no_word(command: str) -> None:
    # A cut at a hyphen ("stream-" / "json", "agent-" / "skill") breaks what a reader copies.
    env = {**os.environ, "COLUMNS": "60"}
    proc = subprocess.run(
        [sys.executable, "-m", "runner", command, "--help"],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    lines = proc.stdout.splitlines()
    assert not [line for line in lines if re.search(r"\w-$", line)]
    examples = False
    for line in lines:
        if re.fullmatch(r"examples?:", line):
            examples = True
        elif not line:
            examples = False
        elif examples:
            assert line.startswith("  "), f"{command} --help: an example cut: {line!r}"


def test_the_top_help_starts_a_new_user_with_commands_that_parse() -> None:
    proc = runner("--help")
    start = proc.stdout.split("start here", 1)[1].splitlines()[1:]
    shown = [line.split("#")[0].split()[3:] for line in start if line.startswith("  python")]
    assert [words[0] for words in shown] == ["init", "eval", "ab", "report", "view"]
    for words in shown:
        build_parser().parse_args(words)  # a usage error exits 2 and fails the test


def test_report_help_names_only_its_own_options() -> None:
    proc = runner("report", "--help")
    shown = set(re.findall(r"(?<![\w-])--[a-z][a-z-]*", proc.stdout))
    own = {o for a in _commands()["report"]._actions for o in a.option_strings}
    # The rest are named as eval's and ab's ("an `eval --out` file"); no --cache-dir.
    assert shown - own == {"--out", "--margin", "--until-decided"}


def test_the_commands_that_run_document_their_exit_codes() -> None:
    for command in ("eval", "ab", "run"):
        shown = " ".join(runner(command, "--help").stdout.split())  # as read, not as wrapped
        assert "2 usage or configuration, 3 environment or I/O" in shown, command
        assert "130 Ctrl-C (SIGINT), 143 SIGTERM, 129 SIGHUP" in shown, command


def test_an_os_error_is_one_line_naming_the_path_the_operation_and_the_errno() -> None:
    full = errno.ENOSPC, "No space left on device"
    unnamed = OSError(*full)  # what a write() on a full disk raises: no file named
    copy = OSError(*full, "/w/CHANGELOG.md", None, "/c/files/CHANGELOG.md")
    missing = FileNotFoundError(errno.ENOENT, "No such file or directory", "/c/x")
    # A task's error comes out of nested task groups; the one that names a file is told.
    group = ExceptionGroup("runs", [ExceptionGroup("run", [unnamed, ValueError()]), copy])
    told = io_error(group)
    assert told is copy
    assert describe_os_error(copy) == (
        "cannot write /c/files/CHANGELOG.md: No space left on device (ENOSPC)"
    )
    assert describe_os_error(unnamed) == "I/O error: No space left on device (ENOSPC)"
    assert describe_os_error(missing) == "cannot use /c/x: No such file or directory (ENOENT)"
    written = PathError("write", Path("/r/x.json"), unnamed)
    assert str(written) == "cannot write /r/x.json: No space left on device (ENOSPC)"
    assert written.errno == errno.ENOSPC
    assert io_error(ExceptionGroup("runs", [ValueError()])) is None  # a bug stays a traceback


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["eval", "--trials", "0"], "python -m runner eval: argument --trials: '0' is not"),
        (["evl"], "python -m runner: argument COMMAND: invalid choice: 'evl'"),
        (["ab", "--lanes"], "python -m runner ab: argument --lanes: expected one argument"),
    ],
)
def test_a_usage_error_is_one_line(argv: list[str], says: str) -> None:
    proc = runner(*argv)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()
    assert line.startswith(says), line
    assert line.endswith("--help)")
