"""A unified diff of two texts as the page draws it: hunks of " ", "-" and "+" lines, kept to
a number of lines with the rest counted."""

from __future__ import annotations

import difflib

DIFF_LINES = 400  # a diff's lines kept; the rest counted


def unified(old: str, new: str, *, context: int = 3) -> tuple[list[str], int]:
    """The diff's lines (the ``---``/``+++`` header left out) and how many were cut; a
    ``context`` of -1 keeps every line, one hunk without its ``@@`` line (an Edit's snippet,
    whose line numbers mean nothing)."""
    a, b = old.splitlines(), new.splitlines()
    whole = context < 0
    lines = list(difflib.unified_diff(a, b, lineterm="", n=len(a) + len(b) if whole else context))
    lines = [ln for ln in lines[2:] if not (whole and ln.startswith("@@"))]
    return lines[:DIFF_LINES], max(0, len(lines) - DIFF_LINES)
