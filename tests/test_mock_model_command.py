"""`python -m runner mock-model` as a user meets it: a served script, its log, Ctrl-C, errors."""

from __future__ import annotations

import http.client
import io
import json
import os
import re
import resource
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from runner._agent.claude import cli_env
from runner._agent.claude_bin import find_claude
from runner._transcript.stream import iter_events
from runner._transcript.summarize import summarize
from tests.command_support import say, sse_events, write_script
from tests.waiting import wait_for


def command(*args: str) -> list[str]:
    return [sys.executable, "-m", "runner", "mock-model", *args]


def _sigint_as_from_a_terminal() -> None:
    # A test runner started in the background inherits SIGINT ignored; Ctrl-C is the point here.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class Server:
    proc: subprocess.Popen[str]
    banner: str
    port: int
    log: list[str] = field(default_factory=list)  # stderr lines read so far

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_for_log(self, ending: str) -> None:
        assert self.proc.stderr is not None
        while not (self.log and self.log[-1].endswith(ending)):
            line = self.proc.stderr.readline()
            assert line, self.log
            self.log.append(line.rstrip("\n"))

    def interrupt(self) -> tuple[int, str]:
        """Ctrl-C; the exit code and everything it wrote on stderr."""
        assert self.proc.stderr is not None
        self.proc.send_signal(signal.SIGINT)
        code = self.proc.wait(timeout=15)
        return code, "".join(line + "\n" for line in self.log) + self.proc.stderr.read()


@contextmanager
def mock_model(script: Path, *args: str, descriptors: int | None = None) -> Iterator[Server]:
    """``mock-model`` serving ``script``; ``descriptors``: its limit of open files."""

    def prepare() -> None:
        _sigint_as_from_a_terminal()
        if descriptors is not None:
            resource.setrlimit(resource.RLIMIT_NOFILE, (descriptors, descriptors))

    with subprocess.Popen(
        command("--script", str(script), "--port", "0", *args),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=prepare,
    ) as proc:
        try:
            assert proc.stdout is not None
            banner = proc.stdout.readline()
            found = re.search(r"on http://127\.0\.0\.1:(\d+)", banner)
            assert found, banner
            yield Server(proc, banner, int(found.group(1)))
        finally:
            if proc.poll() is None:
                proc.kill()  # a failed test; Popen's exit then waits and closes the pipes


def post(server: Server, body: dict[str, Any], session: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=15)
    try:
        conn.request(
            "POST",
            "/v1/messages?beta=true",
            body=json.dumps(body),
            headers={"content-type": "application/json", "x-claude-code-session-id": session},
        )
        response = conn.getresponse()
        return response.status, response.read()  # http.client undoes the chunking
    finally:
        conn.close()


def assert_quiet_exit(code: int, err: str) -> None:
    assert code == 130, err
    assert "Traceback" not in err, err


def test_serves_a_streamed_turn_logs_it_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    script = write_script(tmp_path, {"turns": [say("scripted hello"), {"hang": True}]})
    with mock_model(script, "--seed", "3") as server:
        assert server.banner.startswith(f"mock-model: serving {script} (2 turns, seed 3) on ")
        assert f"ANTHROPIC_BASE_URL={server.url} ANTHROPIC_API_KEY=any" in server.banner
        status, body = post(server, {"model": "claude-x", "stream": True}, "0123456789abcdef")
        assert status == 200
        events = sse_events(body)
        assert [e["type"] for e in events][0 :: len(events) - 1] == [
            "message_start",
            "message_stop",
        ]
        deltas = [e["delta"].get("text", "") for e in events if e["type"] == "content_block_delta"]
        assert "".join(deltas) == "scripted hello"
        # Ctrl-C while a request hangs still ends quietly.
        with socket.create_connection(("127.0.0.1", server.port), timeout=15) as hanging:
            hanging.sendall(
                b"POST /v1/messages HTTP/1.1\r\nhost: x\r\nx-claude-code-session-id: 0123456789"
                b"abcdef\r\ncontent-length: 2\r\n\r\n{}"
            )
            server.wait_for_log("-> hangs")
            code, err = server.interrupt()
    assert_quiet_exit(code, err)
    assert err.splitlines() == [
        "POST /v1/messages session 01234567 turn 1/2 -> 200",
        "POST /v1/messages session 01234567 turn 2/2 -> hangs",
    ]


def test_a_bad_script_is_one_line_naming_file_and_field(tmp_path: Path) -> None:
    script = write_script(tmp_path, {"turns": [{"choose": [{"weight": 0, "turns": []}]}]})
    proc = subprocess.run(command("--script", str(script)), capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert proc.stderr == (
        f"runner: {script}: turns.0.choose.0.weight: Input should be greater than 0\n"
    )


def test_a_port_in_use_is_one_line(tmp_path: Path) -> None:
    script = write_script(tmp_path, {"turns": [say("hi")]})
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        proc = subprocess.run(
            command("--script", str(script), "--port", str(port)),
            capture_output=True,
            text=True,
            timeout=30,
        )
    assert proc.returncode == 2
    assert proc.stdout == ""
    assert len(proc.stderr.splitlines()) == 1
    assert proc.stderr.startswith(f"runner: cannot listen on 127.0.0.1:{port} ("), proc.stderr


def test_help_describes_and_shows_an_example() -> None:
    proc = subprocess.run(command("--help"), capture_output=True, text=True)
    assert proc.returncode == 0
    assert "Serve the Anthropic Messages API" in proc.stdout
    assert "ANTHROPIC_BASE_URL=http://127.0.0.1:8123 ANTHROPIC_API_KEY=any claude -p" in proc.stdout


@pytest.mark.cli
def test_the_real_cli_runs_twice_against_one_server(tmp_path: Path) -> None:
    """Each CLI run is its own session, so the second gets the script from its start too."""
    script = write_script(tmp_path, {"turns": [say("Scripted answer.")]})
    binary = str(find_claude().path)
    workspace = tmp_path / "ws"
    workspace.mkdir()
    with mock_model(script) as server:
        for run in range(2):
            home = tmp_path / f"home{run}"
            (home / "tmp").mkdir(parents=True)
            proc = subprocess.run(
                [binary, "--print", "--output-format", "stream-json", "--verbose"],
                input=b"hi",
                capture_output=True,
                env=cli_env(server.url, home=home, tmp=home / "tmp"),
                cwd=workspace,
                timeout=60,
            )
            summary = summarize(iter_events(io.BytesIO(proc.stdout)))
            assert (summary.status, summary.final_text) == ("success", "Scripted answer."), (
                proc.stderr
            )
        code, err = server.interrupt()
    assert_quiet_exit(code, err)
    turns = re.findall(r"POST /v1/messages session (\S+) turn 1/1 -> 200", err)
    assert len(set(turns)) == 2, err


@pytest.mark.cli
def test_the_real_clis_side_requests_and_a_hostile_client_leave_it_serving(
    tmp_path: Path,
) -> None:
    """Started by hand, the CLI's nonessential traffic is on: its first request is
    `HEAD /api/hello`. Garbage and a truncated request from another client change nothing."""
    script = write_script(tmp_path, {"turns": [say("Scripted answer.")]})
    binary = str(find_claude().path)
    workspace, home = tmp_path / "ws", tmp_path / "home"
    workspace.mkdir()
    (home / "tmp").mkdir(parents=True)
    env = cli_env("", home=home, tmp=home / "tmp")
    del env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"]
    with mock_model(script) as server:
        for hostile in (b"\x00\xffgarbage\r\n\r\n", b"POST /v1/messages HTTP/1.1\r\n"
                        b"content-length: 100\r\n\r\nabc"):  # fmt: skip
            with socket.create_connection(("127.0.0.1", server.port), timeout=15) as client:
                client.sendall(hostile)
                client.shutdown(socket.SHUT_WR)
                assert client.recv(100).startswith(b"HTTP/1.1 400 ")
        proc = subprocess.run(
            [binary, "--print", "--output-format", "stream-json", "--verbose"],
            input=b"hi",
            capture_output=True,
            env={**env, "ANTHROPIC_BASE_URL": server.url},
            cwd=workspace,
            timeout=60,
        )
        summary = summarize(iter_events(io.BytesIO(proc.stdout)))
        assert (summary.status, summary.final_text) == ("success", "Scripted answer."), proc.stderr
        code, err = server.interrupt()
    assert_quiet_exit(code, err)
    assert "HEAD /api/hello session - -> 200" in err.splitlines(), err
    assert re.search(r"^POST /v1/messages session \S+ turn 1/1 -> 200$", err, re.M), err


def test_out_of_descriptors_it_waits_and_serves_again(tmp_path: Path) -> None:
    """Clients holding every descriptor it may open: accepting fails (EMFILE) until some leave,
    and the server waits instead of dying."""
    script = write_script(tmp_path, {"turns": [say("still here")]})
    limit = 48
    with mock_model(script, descriptors=limit) as server:
        clients = [socket.create_connection(("127.0.0.1", server.port)) for _ in range(2 * limit)]
        try:
            # Bounded as a hang guard only: the table fills as fast as it accepts.
            wait_for(
                lambda: len(os.listdir(f"/proc/{server.proc.pid}/fd")) >= limit,
                "its descriptor table filled",
                within_s=30,
                proc=server.proc,
            )
        finally:
            for client in clients:
                client.close()
        status, body = post(server, {"model": "claude-x", "stream": True}, "0123456789abcdef")
        assert status == 200, body
        assert server.proc.poll() is None
        code, err = server.interrupt()
    assert_quiet_exit(code, err)
