"""The reaper writes its report's JSON by hand (the json module's import costs more than the
rest of its start): what the agent controls in it, its processes' command lines, must come
back as written."""

from __future__ import annotations

import json

import pytest

from runner._agent import reaper as _reaper

HOSTILE = [
    'sh -c "echo \\"hi\\""',  # quotes and backslashes
    "a\nb\r\tc\x00d\x1f\x7f",  # control characters, NUL, DEL
    "caf\u00e9 \u2028 \U0001f600",  # non-ASCII, a JSON-hostile line separator, astral
    "\udcff name not UTF-8",  # a lone surrogate, as os.fsdecode gives for a bad byte
    "</script>",
    "",
]


@pytest.mark.parametrize("text", HOSTILE)
def test_a_command_line_comes_back_as_written(text: str) -> None:
    report = {"exit_code": None, "signal": 9, "stopped": True, "leftovers": [text]}
    assert json.loads(_reaper._json(report)) == report
