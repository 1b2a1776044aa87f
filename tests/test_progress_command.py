"""eval's and ab's progress as a user sees it: on a terminal (a pseudo-terminal here) one
live line redrawn in place, coloured, with each failure kept on a line of its own; through a
pipe, or with colour turned off, plain lines and no escape code at all."""

from __future__ import annotations

import fcntl
import os
import re
import select
import struct
import termios
from pathlib import Path

import pytest

from runner._cli.progress import CLEAR
from tests.command_support import runner
from tests.suite_commands import Workbench, offline_env, workbench

pytestmark = pytest.mark.cli

# fix-entry in both lanes: the scripted baseline fails its checks, the skill lane passes.
RUNS = ("--lanes", "agent-baseline,agent-skill", "--scenarios", "fix-entry", "--trials", "1")
ESCAPE = re.compile("\x1b\\[")
NOT_BILLED = "so far (scripted: nothing billed)"


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    return workbench(tmp_path_factory.mktemp("progress"))


def in_terminal(
    bench: Workbench, command: str, *args: str, env: dict[str, str] | None = None
) -> tuple[int, str, str]:
    """``python -m runner COMMAND ARGS`` with stderr on a 200-column pseudo-terminal: its
    exit code, what the terminal received (newlines as written), and stdout."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 200, 0, 0))
    received = b""
    given = env if env is not None else terminal_env()
    with bench.start(*args, command=command, env=given, stderr=slave) as proc:
        os.close(slave)
        try:
            while True:
                ready, _, _ = select.select([master], [], [], 300)
                assert ready, "no output for 300 s"
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # EIO: the command closed its end
                    break
                if not chunk:
                    break
                received += chunk
        finally:
            os.close(master)
        assert proc.stdout is not None
        stdout = proc.stdout.read()
        code = proc.wait(60)
    # The terminal turns each newline into CR LF; the command wrote LF.
    return code, received.decode().replace("\r\n", "\n"), stdout


def terminal_env(**extra: str) -> dict[str, str]:
    env = offline_env(TERM="xterm-256color", **extra)
    if "NO_COLOR" not in extra:
        env.pop("NO_COLOR", None)
    return env


def test_on_a_terminal_one_live_line_and_each_failure_on_its_own(bench: Workbench) -> None:
    code, err, out = in_terminal(bench, "eval", *RUNS)
    assert code == 1, err  # the baseline failed
    # The live line: erased and drawn again in place, never ended by a newline.
    assert err.count(CLEAR + "runner: [") >= 3  # at the start, then after each run
    assert re.search(r"runner: \[0/2\] ETA - · 0 passed · 0 failed · \x1b\[2m0 cached", err)
    assert re.search(r"runner: \[[12]/2\] ETA (\d+s|\d+m\d\ds) · ", err)  # known after a run
    assert "\x1b[32m1 passed\x1b[0m" in err
    assert NOT_BILLED in err
    # The failure keeps a line of its own, coloured; the pass has none.
    assert re.search(
        r"runner: \[[12]/2\] fix-entry/agent-baseline#0 \x1b\[31mFAIL \(3 checks\)\x1b\[0m "
        r"\$\d+\.\d{4} 3 turns \d+\.\ds\n",
        err,
    ), err
    assert "fix-entry/agent-skill#0" not in err
    assert err.endswith(CLEAR)  # the line is gone before the summary
    # The summary on stdout is as ever: plain, and says nothing was billed.
    assert not ESCAPE.search(out)
    assert re.search(r"2 runs: 1 passed, 1 failed .* cost \$\S+ \(scripted: nothing billed\)", out)

    code, err, _ = in_terminal(bench, "ab", *RUNS)  # the same runs, from the cache
    assert code == 0, err
    assert f"{CLEAR}runner: [2/2] ETA 0s · \x1b[32m1 passed\x1b[0m · \x1b[31m1 failed" in err
    assert "\x1b[2m2 cached\x1b[0m" in err


@pytest.mark.parametrize(
    ("how", "flags", "env"),
    [
        ("--no-color", ("--no-color",), terminal_env()),
        ("NO_COLOR", (), terminal_env(NO_COLOR="1")),
        ("TERM=dumb", (), offline_env(TERM="dumb")),
    ],
)
@pytest.mark.parametrize("command", ["eval", "ab"])
def test_on_a_terminal_with_colour_off_plain_lines(
    bench: Workbench, command: str, how: str, flags: tuple[str, ...], env: dict[str, str]
) -> None:
    code, err, _ = in_terminal(bench, command, *RUNS, *flags, env=env)
    assert code in {0, 1}, err
    assert not ESCAPE.search(err), f"{how}: {err!r}"
    assert "\r" not in err
    assert_plain_lines(err)


def test_through_a_pipe_plain_lines(bench: Workbench) -> None:
    proc = bench.eval(*RUNS, env=terminal_env())  # TERM says colour, but stderr is a pipe
    assert proc.returncode == 1, proc.stderr
    assert not ESCAPE.search(proc.stderr)
    assert_plain_lines(proc.stderr)


def assert_plain_lines(err: str) -> None:
    """A line per run, pass or fail, each with the count and the cost so far."""
    lines = [line for line in err.splitlines() if re.match(r"runner: \[\d/2\] ", line)]
    assert len(lines) == 2, err
    assert {line.split()[2] for line in lines} == {
        "fix-entry/agent-baseline#0",
        "fix-entry/agent-skill#0",
    }
    assert all(line.endswith(NOT_BILLED) for line in lines), lines


def test_no_color_is_in_the_help(tmp_path: Path) -> None:
    for command in ("eval", "ab"):
        assert "--no-color" in runner(command, "--help", cwd=tmp_path).stdout
