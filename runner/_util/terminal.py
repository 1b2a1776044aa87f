"""Text from outside runner, made safe to write to a terminal.

Model text, tool names and inputs, file names and command lines come from the agent. Written
raw, an escape sequence in them could recolour, retitle or clear the user's terminal, move the
cursor to forge a line (a fake PASS), or reorder what is shown (bidi overrides). ``visible``
spells each such character out, as Python would (``\\x1b``, ``\\n``, ``\\u202e``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

# DEL and the C1 controls (CSI among them), the line and paragraph separators, and the marks
# and overrides that change the direction text is drawn in. With C0 (ESC, CR, LF...): all.
_BEYOND_C0 = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
_UNSAFE = re.compile(f"[\x00-\x1f{_BEYOND_C0}]")
_UNSAFE_IN_JSON = re.compile(f"[{_BEYOND_C0}]")  # JSON escapes C0 itself
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _spell(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def visible(text: str) -> str:
    """``text`` with every control character spelled out: one line, drawn as it reads."""
    return _UNSAFE.sub(_spell, text)


def visible_lines(lines: Iterable[str]) -> str:
    """The lines joined into one text, each made visible."""
    return "\n".join(visible(line) for line in lines)


def clip(text: str, width: int) -> str:
    """``text`` on one line of at most ``width`` characters: whitespace runs as one space, the
    end cut with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def json_visible(document: str) -> str:
    """A JSON document for a terminal: the same JSON, with the characters JSON may leave raw
    in its strings written as ``\\uXXXX``."""
    return _UNSAFE_IN_JSON.sub(lambda m: f"\\u{ord(m.group()):04x}", document)


def encodable(text: str) -> str:
    """``text`` with lone surrogates (a file name that is not UTF-8, as the agent may make one)
    escaped, so JSON and a strict stdout can encode it."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")
