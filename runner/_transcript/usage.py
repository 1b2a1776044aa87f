"""Token usage and cost: the CLI's own totals first, an estimate from assistant events otherwise.

The last result event carries the session's totals per model (``modelUsage``, subagents
included) and ``total_cost_usd``; its ``usage`` covers only its own segment's main thread. A run
killed before its result has only assistant lines, which repeat one usage snapshot per content
block of a message, taken at the message's start (output_tokens is 1 there). The estimate
counts each message id once and, where the snapshot is smaller, takes output tokens from the
length of the content the message produced. It is marked estimated.
"""

from __future__ import annotations

import json
import re
from collections import OrderedDict
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field

from runner._transcript.blocks import TextBlock, ThinkingBlock, ToolUseBlock
from runner._transcript.events import AssistantEvent, ResultEvent, WireUsage

# Re-exported: defined in runner._transcript.tokens, which stored results import without the events.
from runner._transcript.tokens import Usage as Usage

_CHARS_PER_TOKEN = 4  # the usual rule of thumb for English text and code
# The model the CLI names on messages it makes up itself ("Credit balance is too low", an API
# error told as a message): no request was made, and no price is known for it.
SYNTHETIC_MODEL = "<synthetic>"


class Price(BaseModel):
    """USD per million tokens."""

    model_config = ConfigDict(frozen=True)

    input: float
    output: float
    cache_write: float  # 5-minute cache writes
    cache_read: float

    def cost(self, usage: Usage) -> float:
        return (
            usage.input_tokens * self.input
            + usage.output_tokens * self.output
            + usage.cache_creation_input_tokens * self.cache_write
            + usage.cache_read_input_tokens * self.cache_read
        ) / 1_000_000


def _p(inp: float, out: float, cache_write: float, cache_read: float) -> Price:
    return Price(input=inp, output=out, cache_write=cache_write, cache_read=cache_read)


# The CLI's own prices (2.1.329), measured through the scripted endpoint: each row reproduces
# the CLI's total_cost_usd to the last digit. Not modelled: 1-hour cache writes (2x input),
# the 1.1x factor for inference_geo "us", and claude-haiku-5-5's higher rate for requests over
# 100k prompt tokens. The CLI remaps retired ids (claude-opus-4-1, -4-0) to claude-opus-5-5 and
# reports the model it used, which is what runner prices.
PRICES: dict[str, Price] = {
    "claude-opus-5-5": _p(4.0, 20.0, 5.0, 0.2),
    "claude-opus-5": _p(5.0, 25.0, 6.25, 0.5),
    "claude-opus-4-8": _p(5.0, 25.0, 6.25, 0.5),
    "claude-opus-4-7": _p(5.0, 25.0, 6.25, 0.5),
    "claude-opus-4-6": _p(5.0, 25.0, 6.25, 0.5),
    "claude-opus-4-5": _p(5.0, 25.0, 6.25, 0.5),
    "claude-opus-4-1": _p(15.0, 75.0, 18.75, 1.5),
    "claude-opus-4-0": _p(15.0, 75.0, 18.75, 1.5),
    "claude-opus-4": _p(15.0, 75.0, 18.75, 1.5),
    "claude-sonnet-5-5": _p(2.0, 10.0, 2.5, 0.1),
    "claude-sonnet-5": _p(2.0, 10.0, 2.5, 0.2),
    "claude-sonnet-4-6": _p(3.0, 15.0, 3.75, 0.3),
    "claude-sonnet-4-5": _p(3.0, 15.0, 3.75, 0.3),
    "claude-sonnet-4-0": _p(3.0, 15.0, 3.75, 0.3),
    "claude-sonnet-4": _p(3.0, 15.0, 3.75, 0.3),
    "claude-3-7-sonnet": _p(3.0, 15.0, 3.75, 0.3),
    "claude-3-5-sonnet": _p(3.0, 15.0, 3.75, 0.3),
    "claude-haiku-5-5": _p(0.1, 0.5, 0.125, 0.01),
    "claude-haiku-4-5": _p(1.0, 5.0, 1.25, 0.1),
    "claude-3-5-haiku": _p(0.8, 4.0, 1.0, 0.08),
    "claude-fable-5-2": _p(8.0, 40.0, 10.0, 0.2),
    "claude-fable-5-1": _p(10.0, 50.0, 12.5, 0.25),
    "claude-fable-5": _p(10.0, 50.0, 12.5, 1.0),
    "claude-mythos-5-2": _p(8.0, 40.0, 10.0, 0.2),
    "claude-mythos-5-1": _p(10.0, 50.0, 12.5, 0.25),
    "claude-mythos-5": _p(10.0, 50.0, 12.5, 1.0),
}

_DATE_SUFFIX = re.compile(r"-\d{8}$")


def price_for(model: str) -> Price | None:
    """The price of a model id, a dated id (``claude-sonnet-4-5-20250929``) included; None for
    a model runner does not know (never a guess: an unknown price must not look like $0)."""
    return PRICES.get(model) or PRICES.get(_DATE_SUFFIX.sub("", model))


class ModelTotals(BaseModel):
    usage: Usage
    cost_usd: float | None  # None: the model is not in the price table


class UsageTotals(BaseModel):
    usage: Usage
    by_model: dict[str, ModelTotals] = Field(default_factory=dict)
    cost_usd: float | None  # the CLI's own figure; None without a result event
    estimated_cost_usd: float | None  # from the table; None if any model (or all) is unpriced
    estimated: bool  # usage counted from assistant events, not the result's totals


class UsageEstimator:
    """Folds assistant events into per-model usage, each message id counted once.

    A message's lines arrive together (interleaved at most with a few concurrent subagents), so
    only a window of recent messages is held open; older ones are folded into the totals. That
    keeps memory flat however long the transcript is.
    """

    def __init__(self, window: int = 256) -> None:
        self._window = window
        self._open: OrderedDict[str, _OpenMessage] = OrderedDict()
        self._folded: dict[str, Usage] = {}

    def add(self, event: AssistantEvent) -> None:
        msg = event.message
        current = self._open.get(msg.id)
        if current is None:
            if msg.usage is None or msg.model == SYNTHETIC_MODEL:
                return
            current = _OpenMessage(msg.model, usage_of(msg.usage))
            self._open[msg.id] = current
            if len(self._open) > self._window:
                self._fold(self._open.popitem(last=False)[1])
        for block in msg.content:
            if isinstance(block, TextBlock):
                current.chars += len(block.text)
            elif isinstance(block, ThinkingBlock):
                current.chars += len(block.thinking)
            elif isinstance(block, ToolUseBlock):
                current.chars += len(block.name) + sum(map(_chars, block.input.values()))

    def _fold(self, message: _OpenMessage) -> None:
        snap = message.snapshot
        produced = message.chars // _CHARS_PER_TOKEN
        if produced > snap.output_tokens:
            snap = snap.model_copy(update={"output_tokens": produced})
        self._folded[message.model] = self._folded.get(message.model, Usage()) + snap

    def by_model(self) -> dict[str, Usage]:
        while self._open:
            self._fold(self._open.popitem(last=False)[1])
        return dict(self._folded)


def _chars(value: object) -> int:
    # Strings (a Write's whole file) are measured, not serialized again.
    return len(value) if isinstance(value, str) else len(json.dumps(value))


@dataclass
class _OpenMessage:
    model: str
    snapshot: Usage  # the usage the CLI repeats on each of the message's lines
    chars: int = 0  # characters of content the message produced so far


def totals(
    result: ResultEvent | None, estimator: UsageEstimator, segments: Usage, *, silent: bool = False
) -> UsageTotals:
    """The last result's totals when there is a result; else the estimate.

    ``segments`` is the sum of every result's own ``usage``, the fallback when a result has no
    ``modelUsage`` (which holds the session's totals, subagents included). ``silent``: the CLI
    printed nothing at all (it prints its init before any request), so it used nothing.
    """
    if result is None:
        per_model = estimator.by_model()
        usage = sum(per_model.values(), Usage())
        return _totals(usage, per_model, None, estimated=True, known={}, said_unused=silent)
    per_model = {
        model: Usage(
            input_tokens=m.input_tokens,
            output_tokens=m.output_tokens,
            cache_creation_input_tokens=m.cache_creation_input_tokens,
            cache_read_input_tokens=m.cache_read_input_tokens,
        )
        for model, m in result.model_usage.items()
    }
    usage = sum(per_model.values(), Usage()) if per_model else segments
    cli_costs = {model: m.cost_usd for model, m in result.model_usage.items()}
    # A result that reports zero tokens says nothing was used; one without usage says nothing.
    said_unused = result.usage is not None and usage == Usage()
    return _totals(
        usage,
        per_model,
        result.total_cost_usd,
        estimated=False,
        known=cli_costs,
        said_unused=said_unused,
    )


def usage_of(wire: WireUsage | None) -> Usage:
    if wire is None:
        return Usage()
    return Usage(
        input_tokens=wire.input_tokens,
        output_tokens=wire.output_tokens,
        cache_creation_input_tokens=wire.cache_creation_input_tokens or 0,
        cache_read_input_tokens=wire.cache_read_input_tokens or 0,
    )


def _totals(
    usage: Usage,
    per_model: dict[str, Usage],
    cli_cost: float | None,
    *,
    estimated: bool,
    known: dict[str, float | None],
    said_unused: bool,
) -> UsageTotals:
    by_model: dict[str, ModelTotals] = {}
    # None as soon as one model has no price, and when there is no model to price at all
    # ($0 only when the CLI's own totals say nothing was used).
    estimate: float | None = 0.0 if per_model or said_unused else None
    for model, u in per_model.items():
        price = price_for(model)
        table = price.cost(u) if price is not None else None
        estimate = None if estimate is None or table is None else estimate + table
        cli = known.get(model)
        by_model[model] = ModelTotals(usage=u, cost_usd=cli if cli is not None else table)
    return UsageTotals(
        usage=usage,
        by_model=by_model,
        cost_usd=cli_cost,
        estimated_cost_usd=estimate,
        estimated=estimated,
    )
