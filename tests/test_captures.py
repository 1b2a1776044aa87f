"""`transcript --json` figures for real CLI output of every kind (fixtures/transcripts/)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import pytest

from tests.conftest import FIXTURES

# capture -> the figures `python -m runner transcript --json` must give for it
EXPECTED: dict[str, dict[str, Any]] = {
    "hello": {"status": "success", "is_error": False, "num_turns": 1, "tool_sequence": []},
    "hello_sonnet": {"status": "success", "models": ["claude-sonnet-4-5"]},
    "tools": {
        "status": "success",
        "num_turns": 5,
        "tool_sequence": ["Write", "Bash", "Read", "Edit"],
        "final_text": "Done: `hello.py` now prints *hello, world*.",
    },
    # stream_event lines repeat each tool_use as it streams; each call still counts once.
    "partial_messages": {"status": "success", "tool_sequence": ["Write", "Bash", "Read", "Edit"]},
    "skill": {
        "status": "success",
        "skills_invoked": ["greeter"],
        "tool_sequence": ["Skill", "Write"],
    },
    "subagent": {
        "status": "success",
        "tool_sequence": ["Agent", "Bash"],  # the subagent's own Bash call included
        "final_text": "The subagent created notes.txt.",
    },
    "subagent_forwarded": {
        "tool_sequence": ["Agent", "Bash"],
        "final_text": "The subagent created notes.txt.",  # not the forwarded subagent text
    },
    # Three result segments: the agent is woken twice more as its background tasks finish.
    "background_task": {"status": "success", "results": 3, "num_turns": 5, "cost_usd": 0.00676},
    "max_turns": {
        "status": "error_max_turns",
        "is_error": True,
        "errors": ["Reached maximum number of turns (1)"],
    },
    "max_budget": {"status": "error_max_budget_usd", "is_error": True},
    "api_error_400": {"status": "api_error", "is_error": True, "api_error_status": 400},
    "api_retry": {
        "status": "success",
        "api_retries": 2,
        "final_text": "Recovered after two retries.",
    },
    "auth_retry_killed": {
        "status": "incomplete",
        "is_error": True,
        "num_turns": None,
        "cost_usd": None,
        "api_retries": 2,
        "api_error_status": 401,
    },
    "killed_midway": {
        "status": "incomplete",
        "is_error": True,
        "usage_estimated": True,
        "tool_sequence": ["Write", "Bash"],
    },
    "big_write": {"status": "success", "tool_sequence": ["Write", "Read", "Edit"]},
    "big_edit": {"status": "success", "tool_sequence": ["Read", "Edit"]},
    "compact": {"status": "success", "tool_sequence": ["Bash"]},
    "permission_denied": {"status": "success", "tool_sequence": ["Bash"]},
    "hooks": {"status": "success", "tool_sequence": ["Write", "Bash"]},
    "model_fallback": {"status": "success", "api_retries": 2},
    "structured_output": {"final_text": '{"name":"Ada","languages":["en","fr"]}'},
    "session": {
        "status": "success",
        "num_turns": 11,
        "tool_sequence": [
            "Bash",
            "Read",
            "Read",
            "Read",
            "Read",
            "Bash",
            "Write",
            "Edit",
            "Edit",
            "Bash",
        ],
        "final_text": "Added runner/report_text.py and documented two constants.",
    },
}


def test_every_capture_has_expectations() -> None:
    assert {p.stem for p in FIXTURES.glob("*.ndjson")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_transcript_json(name: str) -> None:
    path = FIXTURES / f"{name}.ndjson"
    proc = subprocess.run(
        [sys.executable, "-m", "runner", "transcript", str(path), "--json"],
        capture_output=True,
        check=True,
    )
    out = json.loads(proc.stdout)
    lines = [ln for ln in path.read_bytes().splitlines() if ln.strip()]
    assert out["events"] == len(lines)
    assert out["parse_errors"] == 0
    assert out["unknown_events"] == 0
    for key, want in EXPECTED[name].items():
        got = sorted(out[key]) if key == "models" else out[key]
        if isinstance(want, float):
            assert got == pytest.approx(want), key
        else:
            assert got == want, key
    # Usage is the session's total: the per-model figures add up to it.
    for field in ("input_tokens", "output_tokens"):
        assert out["usage"][field] == sum(m[field] for m in out["models"].values())
