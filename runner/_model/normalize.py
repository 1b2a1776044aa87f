"""What may be written to a cassette, and what two requests must share to count as the same.

Three passes over JSON values, each a walk over their strings:

- ``Scrubber.scrub``: secrets become ``{runner:secret}`` and a run's own paths (workspace, its
  home, its temp root, the user's home) become placeholders. This is what a cassette holds.
- ``Scrubber.fill``: placeholders become the live run's paths again, so a replayed reply
  writes into today's workspace, not the one it was recorded in.
- ``Normalizer``: what differs between two runs of the same thing (uuids, dates, times,
  tool and message ids) becomes a stable token, for matching and for fingerprints.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xxhash

from runner._util.figures import plural
from runner._util.redact import MIN_SECRET, REDACTED

SECRET = REDACTED
WORKSPACE, WORKSPACE_SLUG, RUN_HOME, RUN_ROOT, USER_HOME = (
    "{runner:workspace}",
    "{runner:workspace_slug}",  # the CLI names a project's folder after its path, - for /
    "{runner:home}",
    "{runner:run}",
    "{runner:user_home}",
)
# Header names a cassette may keep; every other header (keys, auth, cookies, ids) is dropped.
SAFE_HEADERS = frozenset({"anthropic-version", "anthropic-beta", "content-type"})

_KEY_SHAPES = re.compile(r"sk-ant-[A-Za-z0-9_\-]{8,}|sk-[A-Za-z0-9]{32,}")


def walk_strings(value: Any, change: Callable[[str], str]) -> Any:
    """``value`` with ``change`` applied to every string in it, keys included."""
    if isinstance(value, str):
        return change(value)
    if isinstance(value, list):
        return [walk_strings(v, change) for v in value]
    if isinstance(value, dict):
        return {change(k): walk_strings(v, change) for k, v in value.items()}
    return value


@dataclass(frozen=True)
class RunPaths:
    """One run's own paths. Any may be None: a recording made before the workspace existed."""

    workspace: str | None = None
    home: str | None = None
    root: str | None = None
    user_home: str | None = None

    @classmethod
    def of(cls, root: Path, workspace: Path, home: Path) -> RunPaths:
        return cls(str(workspace), str(home), str(root), str(Path.home()))

    def pairs(self) -> list[tuple[str, str]]:
        """(path, placeholder), longest path first, so a workspace inside a home wins."""
        given = [
            (self.workspace, WORKSPACE),
            (_slug(self.workspace) if self.workspace else None, WORKSPACE_SLUG),
            (self.home, RUN_HOME),
            (self.root, RUN_ROOT),
            (self.user_home, USER_HOME),
        ]
        # "/" as a home would replace every slash: a path must say more than that.
        usable = [(p.rstrip("/"), ph) for p, ph in given if p and p.rstrip("/")]
        return sorted(usable, key=lambda pair: len(pair[0]), reverse=True)


def _slug(path: str) -> str:
    return re.sub(r"[^A-Za-z0-9]", "-", path)


class Scrubber:
    """Secrets and a run's paths out (``scrub``); the live run's paths back in (``fill``)."""

    def __init__(self, paths: RunPaths, secrets: Iterable[str] = ()) -> None:
        self._placeholders = dict(paths.pairs())
        self._fill = {ph: p for p, ph in paths.pairs()}
        secret_list = sorted({s for s in secrets if len(s) >= MIN_SECRET}, key=len, reverse=True)
        self._secrets = re.compile("|".join(map(re.escape, secret_list))) if secret_list else None
        alternation = "|".join(re.escape(p) for p in self._placeholders)
        # A path ends where a path character does not follow: /tmp/x/work, not /tmp/x/workshop.
        self._paths = re.compile(f"(?:{alternation})(?![\\w.-])") if alternation else None

    def scrub_text(self, text: str) -> str:
        if self._secrets is not None:
            text = self._secrets.sub(SECRET, text)
        text = _KEY_SHAPES.sub(SECRET, text)
        if self._paths is not None:
            text = self._paths.sub(lambda m: self._placeholders[m.group(0)], text)
        return text

    def scrub(self, value: Any) -> Any:
        return walk_strings(value, self.scrub_text)

    def fill_text(self, text: str) -> str:
        if "{runner:" in text:
            for placeholder, path in self._fill.items():
                text = text.replace(placeholder, path)
        return text

    def fill(self, value: Any) -> Any:
        return walk_strings(value, self.fill_text)


# ---- normalizing: what differs between two runs of the same thing ------------------------------

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
_MONTH = r"(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)"
_DAY = r"(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)"
_VOLATILE = re.compile(
    "|".join(
        [
            rf"(?P<uuid>{_UUID})",
            r"(?P<id>\b(?:toolu|srvtoolu|msg|req)_[A-Za-z0-9_]+)",
            # 2026-11-21T07:06:27.123Z, 2026-11-21 07:06:27, 2026-11-21
            r"(?P<iso>\b\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?"
            r"(?:Z|[+-]\d{2}:?\d{2})?)?\b)",
            # Sat Nov 21 07:06:27 UTC 2026 (date), Nov 21 07:06 (ls -l)
            rf"(?P<clock>\b(?:{_DAY},? )?{_MONTH} +\d{{1,2}}(?:,? \d{{4}})?"
            r"(?: \d{2}:\d{2}(?::\d{2})?(?: [A-Z]{2,5})?(?: \d{4})?)?\b)",
            r"(?P<time>\b\d{2}:\d{2}:\d{2}(?:\.\d+)?\b)",
            r"(?P<tmp>/tmp/claude-\d+/[^\s\"']*)",
            # The kernel the recording was made on: a replay on another machine is the same run.
            r"(?P<os>(?<=OS Version: )[^\n]+)",
            # A checksum the CLI derives from the prompt: it adds a second hunk to every diff.
            r"(?P<billing>(?<=x-anthropic-billing-header: )[^\n]+)",
        ]
    )
)
# Keys that say how to send, not what: never part of a request's identity.
_NOISE_KEYS = frozenset({"cache_control", "metadata"})


class Normalizer:
    """Replaces volatile values with stable tokens. Ids are numbered in order of appearance,
    so a tool result still points at the call it answers: ``{tool:1}`` in both places."""

    def __init__(self) -> None:
        self._ids: dict[str, str] = {}

    def text(self, text: str) -> str:
        return _VOLATILE.sub(self._token, text)

    def _token(self, match: re.Match[str]) -> str:
        kind = match.lastgroup or "value"
        if kind != "id":
            return f"{{{kind}}}"
        value = match.group(0)
        if value not in self._ids:
            prefix = value.split("_", 1)[0]
            n = sum(1 for v in self._ids if v.split("_", 1)[0] == prefix) + 1
            self._ids[value] = f"{{{prefix}:{n}}}"
        return self._ids[value]

    def value(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.value(v) for k, v in value.items() if k not in _NOISE_KEYS}
        if isinstance(value, list):
            return [self.value(v) for v in value]
        if isinstance(value, str):
            return self.text(value)
        return value


def digest(value: Any) -> str:
    """xxh3_128 of a JSON value's canonical text: equal values, equal digests."""
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return xxhash.xxh3_128_hexdigest(text.encode())


def compact_tools(tools: Any) -> Any:
    """A request's tool list as names and a digest of each definition: the definitions are
    most of a request's bytes, the same in every request of a run, and set by the CLI."""
    if not isinstance(tools, list):
        return tools
    out = []
    for tool in tools:
        if isinstance(tool, dict) and "name" in tool:
            if "definition" in tool:  # compacted already
                out.append(tool)
            else:
                body = {k: v for k, v in tool.items() if k not in _NOISE_KEYS}
                out.append({"name": tool["name"], "definition": digest(Normalizer().value(body))})
        else:
            out.append(tool)
    return out


def projection(body: Any) -> Any:
    """What a request must share with its recording to be served its reply."""
    if not isinstance(body, dict):
        return body
    shaped = {k: v for k, v in body.items() if k not in _NOISE_KEYS}
    if "tools" in shaped:
        shaped["tools"] = compact_tools(shaped["tools"])
    return Normalizer().value(shaped)


# ---- diffs: where two JSON values part ----------------------------------------------------------

_DIFF_LINES = 24
_LINE_WIDTH = 160


def flatten(value: Any, path: str = "") -> Iterator[str]:
    """One line per leaf, named by its path: ``messages[2].content[0].text: hello``. A
    multi-line string gives a line per line of text, so a diff points at the line."""
    if isinstance(value, dict):
        if not value:
            yield f"{path}: {{}}"
        for k, v in value.items():
            yield from flatten(v, f"{path}.{k}" if path else str(k))
    elif isinstance(value, list):
        if not value:
            yield f"{path}: []"
        for i, v in enumerate(value):
            yield from flatten(v, f"{path}[{i}]")
    elif isinstance(value, str):
        for line in value.split("\n") or [""]:
            yield f"{path}: {line}"[:_LINE_WIDTH]
    else:
        yield f"{path}: {json.dumps(value)}"


def json_diff(recorded: Any, live: Any, *, limit: int = _DIFF_LINES) -> list[str]:
    """The changed lines (``-`` recorded, ``+`` live) with one line of context, at most
    ``limit`` of them; empty when the values are equal."""
    lines = list(
        difflib.unified_diff(
            list(flatten(recorded)), list(flatten(live)), "recorded", "live", n=1, lineterm=""
        )
    )[2:]
    if len(lines) > limit:
        lines = [*lines[:limit], f"... {plural(len(lines) - limit, 'more diff line')}"]
    return lines
