"""Secrets out of what runner writes: whole texts, and streams cut anywhere."""

from __future__ import annotations

import json
import random

import pytest

from runner._util.redact import REDACTED, Redactor, environment_secrets

SECRET = "sk-ant-api03-abcdefghijklmnop"


def test_secrets_are_the_values_of_variables_named_like_them() -> None:
    env = {
        "ANTHROPIC_API_KEY": SECRET,
        "GH_TOKEN": "ghp_0123456789",
        "DB_PASSWORD": "hunter2hunter2",
        "SHORT_KEY": "1234",  # too short to be worth a false match
        "HOME": "/home/someone-long-enough",
    }
    # Longest first, then in text order: the two 14-character values tie on length.
    assert environment_secrets(env) == [SECRET, "ghp_0123456789", "hunter2hunter2"]


def test_text_replaces_every_secret_and_its_json_escaped_form() -> None:
    quoted = 'pa"ss\\word!'
    redact = Redactor([SECRET, quoted])
    text = f"key {SECRET} and {SECRET}; in JSON: {json.dumps(quoted)}"
    clean = redact.text(text)
    assert SECRET not in clean
    assert clean == f'key {REDACTED} and {REDACTED}; in JSON: "{REDACTED}"'
    assert redact.text(quoted) == REDACTED


def test_no_secrets_leaves_a_stream_untouched() -> None:
    stream = Redactor().stream()
    assert stream.feed(b"anything") == b"anything"
    assert stream.close() == b""


@pytest.mark.parametrize("seed", range(20))
def test_a_stream_cut_anywhere_is_redacted_and_loses_nothing(seed: int) -> None:
    rng = random.Random(seed)
    redact = Redactor([SECRET, "another-secret"])
    pieces = [
        rng.choice([SECRET, "another-secret", "sk-ant-", "another", "x" * rng.randint(0, 40)])
        for _ in range(60)
    ]
    data = "\n".join(pieces).encode()
    stream = redact.stream()
    out = bytearray()
    at = 0
    while at < len(data):
        step = rng.randint(1, 50)
        out += stream.feed(data[at : at + step])
        at += step
    out += stream.close()
    assert bytes(out) == redact.text(data.decode()).encode()
    assert stream.replaced == data.count(SECRET.encode()) + data.count(b"another-secret")


def test_only_a_possible_start_of_a_secret_is_held_back() -> None:
    stream = Redactor([SECRET]).stream()
    assert stream.feed(b"line one\n") == b"line one\n"  # nothing held: no secret starts here
    assert stream.feed(b"then sk-an") == b"then "  # may be a secret's start: held
    assert stream.feed(b"d more") == b"sk-and more"  # it was not
