"""The pure parts of running the CLI: argv, environment, call descriptions, exit reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner._agent.claude import (
    EXIT_REASON_PATTERN,
    LOCAL_KEY,
    CliSpec,
    RunMonitor,
    classify,
    cli_env,
    describe_call,
)
from runner._agent.process import ProcessRun, RunFiles
from runner._transcript.stream import iter_events
from tests.conftest import FIXTURES


def test_argv_is_one_token_per_option_and_no_prompt() -> None:
    spec = CliSpec(
        model="opus",
        append_system_prompt="--tools= is not a flag here\nline two",
        max_turns=3,
        max_budget_usd=0.25,
        permission_mode="acceptEdits",
        allowed_tools=("Bash(npm test)", "Write"),
        tools=(),
        extra_args=("--include-partial-messages",),
    )
    assert spec.argv(Path("/bin/claude")) == [
        "/bin/claude",
        "--print",
        "--output-format=stream-json",
        "--verbose",
        "--model=opus",
        "--append-system-prompt=--tools= is not a flag here\nline two",
        "--max-turns=3",
        "--max-budget-usd=0.25",
        "--permission-mode=acceptEdits",
        "--allowedTools=Bash(npm test),Write",
        "--tools=",
        "--include-partial-messages",
    ]


def test_unset_options_are_left_out() -> None:
    assert CliSpec().argv(Path("claude"))[1:] == [
        "--print",
        "--output-format=stream-json",
        "--verbose",
    ]


def test_the_spec_is_frozen_and_strict() -> None:
    with pytest.raises(ValueError, match="max_turns"):
        CliSpec(max_turns=0)
    with pytest.raises(ValueError, match="extra"):
        CliSpec.model_validate({"modle": "opus"})


def test_cli_env_is_an_allowlist_with_runners_endpoint_and_key(tmp_path: Path) -> None:
    caller = {
        "PATH": "/bin",
        "ANTHROPIC_API_KEY": "sk-ant-the-real-one",
        "ANTHROPIC_BASE_URL": "https://api.example",
        "ANTHROPIC_MODEL": "steers-the-run",
        "AWS_SECRET": "s",
        "HOME": "/root",
        "CLAUDE_CONFIG_DIR": "/root/.claude",
        "NAMED": "n",
    }
    env = cli_env(
        "http://127.0.0.1:9",
        home="/home/agent",
        tmp="/tmp",
        inherit=caller,
        passthrough=("NAMED",),
    )
    assert env["PATH"] == "/bin"
    assert env["ANTHROPIC_BASE_URL"] == "http://127.0.0.1:9"
    assert env["ANTHROPIC_API_KEY"] == LOCAL_KEY
    assert "sk-ant-the-real-one" not in env.values()
    assert "ANTHROPIC_MODEL" not in env  # not in the cache key, so it may not steer a run
    assert env["NAMED"] == "n"
    assert "AWS_SECRET" not in env
    assert env["HOME"] == "/home/agent"
    assert env["CLAUDE_CONFIG_DIR"] == "/home/agent/.claude"
    assert env["TMPDIR"] == env["CLAUDE_CODE_TMPDIR"] == "/tmp"
    boxed = cli_env("http://x", home="/h", tmp="/t", inherit=caller, search_path="/usr/bin")
    assert boxed["PATH"] == "/usr/bin"


@pytest.mark.parametrize(
    ("name", "tool_input", "expected"),
    [
        ("Write", {"file_path": "/ws/src/a.ts", "content": "x"}, "Write(src/a.ts)"),
        (
            "Bash",
            {"command": "npm   test\n  --watch", "description": "t"},
            "Bash(npm test --watch)",
        ),
        ("Skill", {"skill": "greeter"}, "Skill(greeter)"),
        ("Mystery", {"n": 1, "what": "this"}, "Mystery(this)"),
        ("Bash", {"command": "x" * 100}, "Bash(" + "x" * 79 + "…)"),
    ],
)
def test_describe_call(name: str, tool_input: dict[str, object], expected: str) -> None:
    assert describe_call(name, tool_input, Path("/ws")) == expected


# Real captures, and how the process ended when they were captured.
ENDINGS = [
    ("hello", 0, None, None, "success"),
    ("max_turns", 1, None, None, "error_max_turns"),
    ("max_budget", 1, None, None, "error_max_budget_usd"),
    ("api_error_400", 1, None, None, "api_error"),
    ("permission_denied", 0, None, None, "success"),
    ("killed_midway", 143, None, None, "exit_code_143"),
    ("killed_midway", None, 9, None, "signal_9"),
    ("killed_midway", 143, None, "idle_timeout", "idle_timeout"),
    ("auth_retry_killed", 143, None, None, "auth_error"),
    ("hello", 0, None, "cancelled", "cancelled"),
]


@pytest.mark.parametrize(("capture", "code", "sig", "stop", "expected"), ENDINGS)
def test_classify_real_endings(
    tmp_path: Path, capture: str, code: int | None, sig: int | None, stop: str | None, expected: str
) -> None:
    monitor = RunMonitor(fail_fast_auth=False)
    with open(FIXTURES / f"{capture}.ndjson", "rb") as f:
        for item in iter_events(f):
            monitor(item)
    proc = ProcessRun([], {}, tmp_path, b"", RunFiles.in_dir(tmp_path))
    proc.exit_code, proc.signal, proc.stop_reason = code, sig, stop
    summary = monitor.builder.summary()
    reason = classify(proc, summary, auth_failed=monitor.auth_failed)
    assert reason == expected
    assert EXIT_REASON_PATTERN.match(reason)


def test_the_monitor_asks_to_stop_at_the_first_auth_retry() -> None:
    monitor = RunMonitor()
    with open(FIXTURES / "auth_retry_killed.ndjson", "rb") as f:
        asked = [r for item in iter_events(f) if (r := monitor(item))]
    assert asked[0] == "auth_error"


def test_the_monitor_counts_turns_once_per_message() -> None:
    monitor = RunMonitor()
    with open(FIXTURES / "tools.ndjson", "rb") as f:
        lines = f.read().splitlines()
    for item in iter_events(open(FIXTURES / "tools.ndjson", "rb")):  # noqa: SIM115
        monitor(item)
    ids = {json.loads(x)["message"]["id"] for x in lines if b'"type":"assistant"' in x}
    assert monitor.turns == len(ids) > 1
    assert monitor.max_gap_s is not None
