"""Usage and cost: the CLI's totals when there is a result, an honest estimate when not."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runner._transcript.events import AssistantEvent, ResultEvent
from runner._transcript.parse import parse_event
from runner._transcript.summarize import summarize
from runner._transcript.transcript import Transcript
from runner._transcript.usage import Usage, UsageEstimator, price_for, totals
from tests.conftest import FIXTURES


def assistant(msg_id: str, model: str, text: str, usage: dict[str, int]) -> AssistantEvent:
    event = parse_event(
        json.dumps(
            {
                "type": "assistant",
                "message": {
                    "id": msg_id,
                    "model": model,
                    "content": [{"type": "text", "text": text}],
                    "usage": usage,
                },
            }
        ).encode()
    )
    assert isinstance(event, AssistantEvent)
    return event


def test_each_message_id_counted_once() -> None:
    est = UsageEstimator()
    snap = {"input_tokens": 1000, "output_tokens": 1, "cache_read_input_tokens": 500}
    for _ in range(3):  # one message, three content-block lines, the same snapshot each time
        est.add(assistant("m1", "claude-opus-5-5", "x" * 400, snap))
    est.add(assistant("m2", "claude-opus-5-5", "hi", {"input_tokens": 10, "output_tokens": 1}))
    [(model, usage)] = est.by_model().items()
    assert model == "claude-opus-5-5"
    assert usage.input_tokens == 1010
    assert usage.cache_read_input_tokens == 500
    # The snapshot's output_tokens (1) is replaced by the content's length: 1200 chars / 4.
    assert usage.output_tokens == 300 + 1


def test_estimate_is_marked_and_priced() -> None:
    est = UsageEstimator()
    est.add(
        assistant(
            "m1", "claude-opus-5-5", "x" * 4000, {"input_tokens": 1_000_000, "output_tokens": 1}
        )
    )
    t = totals(None, est, Usage())
    assert t.estimated is True
    assert t.cost_usd is None
    assert t.estimated_cost_usd == pytest.approx(4.0 + 1000 * 20 / 1e6)  # $4/M in, $20/M out


def test_unknown_model_is_never_priced_at_zero() -> None:
    est = UsageEstimator()
    est.add(assistant("m1", "claude-unknown-9", "x", {"input_tokens": 100, "output_tokens": 1}))
    est.add(assistant("m2", "claude-opus-5-5", "x", {"input_tokens": 100, "output_tokens": 1}))
    t = totals(None, est, Usage())
    assert t.estimated_cost_usd is None
    assert t.by_model["claude-unknown-9"].cost_usd is None
    assert t.by_model["claude-opus-5-5"].cost_usd is not None


def test_price_lookup_exact_or_dated() -> None:
    assert price_for("claude-opus-4-1-20250805") == price_for("claude-opus-4-1")
    assert price_for("claude-opus-4-20250514") == price_for("claude-opus-4")
    assert price_for("claude-opus-5-5") != price_for("claude-opus-5")
    assert price_for("claude-opus-4-9") is None  # a new model is unknown, not Opus 4
    assert price_for("gpt-4") is None


def test_mixed_usage_matches_the_cli_to_the_digit() -> None:
    """One turn of 1234 in, 567 out, 8901 cache write, 23456 cache read, priced by the CLI."""
    usage = Usage(
        input_tokens=1234,
        output_tokens=567,
        cache_creation_input_tokens=8901,
        cache_read_input_tokens=23456,
    )
    cli = {
        "claude-opus-5-5": 0.0654722,
        "claude-opus-4-5": 0.08770425,
        "claude-sonnet-4-5": 0.05262255,
        "claude-haiku-4-5": 0.01754085,
        "claude-haiku-5-5": 0.001754085,
    }
    for model, cost in cli.items():
        price = price_for(model)
        assert price is not None
        assert price.cost(usage) == pytest.approx(cost, rel=1e-9), model


PRICED = [p for p in sorted(FIXTURES.glob("*.ndjson")) if b'"total_cost_usd"' in p.read_bytes()]


@pytest.mark.parametrize("path", PRICED, ids=lambda p: p.stem)
def test_price_table_agrees_with_the_cli(path: Path) -> None:
    """Where the CLI reported a cost, runner's table prices the same tokens the same."""
    transcript = Transcript.from_file(path)
    assert any(isinstance(i, ResultEvent) for i in transcript.items)
    s = summarize(transcript.items)
    assert s.cost_usd is not None
    assert s.estimated_cost_usd == pytest.approx(s.cost_usd, rel=1e-6)


def test_result_totals_win_over_the_estimate() -> None:
    s = Transcript.from_file(FIXTURES / "tools.ndjson").summary()
    assert s.usage_estimated is False
    assert s.usage.output_tokens > 3  # the result's total, not three snapshots of 1
