"""How money, durations and deltas read in text: one format for every command."""

from __future__ import annotations


def plural(count: int, noun: str) -> str:
    """ "1 scenario", "3 scenarios"."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


# What a scripted (offline) run's cost figures say: the CLI priced the tokens, no one paid.
NOT_BILLED = "scripted: nothing billed"


def unbilled(figure: str, *, scripted: bool) -> str:
    """A cost ``figure`` as read in text: a scripted run's says it reached no bill."""
    return f"{figure} ({NOT_BILLED})" if scripted else figure


def money(value: float | None) -> str:
    return "-" if value is None else f"${value:.4f}"


def secs(ms: int | None) -> str:
    return "-" if ms is None else f"{ms / 1000:.1f}s"


def signed_money(delta: float | None) -> str:
    if delta is None:
        return "-"
    return f"{'+' if delta >= 0 else '-'}${abs(delta):.4f}"


def signed(delta: int | None) -> str:
    return "-" if delta is None else f"{delta:+d}"


def signed_secs(delta: int | None) -> str:
    return "-" if delta is None else f"{delta / 1000:+.1f}s"


def change(ratio: float) -> str:
    """A ratio of B over A as a change: 1.38 reads +38%."""
    return f"{(ratio - 1) * 100:+.0f}%"


def points(diff: float) -> str:
    """A difference of pass rates in percentage points, signed: 0.42 reads +42."""
    return f"{diff * 100:+.0f}"
