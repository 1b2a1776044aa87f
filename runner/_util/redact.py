"""Secret values out of everything runner writes: the second line of defence behind the
sandbox and the proxy, which keep the real key away from the agent in the first place.

A secret is the value of an environment variable whose name says it holds one (API keys,
tokens, passwords). ``Redactor.text`` cleans a whole string; ``Redactor.stream`` cleans bytes
as they arrive, holding back only a tail that could be the start of a secret.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterable, Mapping

REDACTED = "{runner:secret}"
_SECRET_NAME = re.compile(r"KEY|TOKEN|SECRET|PASSWORD|CREDENTIAL|AUTH", re.IGNORECASE)
MIN_SECRET = 8  # shorter values ("1", "true") are not worth a false match


def is_secret_name(name: str) -> bool:
    """Whether a variable's name says it holds a secret (an API key, a token, a password)."""
    return _SECRET_NAME.search(name) is not None


def environment_secrets(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of variables whose names say they hold a secret, longest first (then in text
    order: the same list whatever the hash seed)."""
    env = os.environ if environ is None else environ
    found = {v for k, v in env.items() if is_secret_name(k) and len(v) >= MIN_SECRET}
    return sorted(found, key=lambda v: (-len(v), v))


class Redactor:
    """Replaces each secret with ``{runner:secret}``. A secret is also looked for as JSON
    would escape it, so a value holding a quote or a backslash is found inside JSON text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms = set()
        for secret in secrets:
            if len(secret) >= MIN_SECRET:
                forms.add(secret)
                forms.add(json.dumps(secret)[1:-1])
        self.secrets: tuple[str, ...] = tuple(sorted(forms, key=lambda v: (-len(v), v)))
        self._bytes = tuple(s.encode("utf-8", "surrogateescape") for s in self.secrets)
        self._longest = max((len(s) for s in self._bytes), default=0)
        self._firsts = frozenset(s[0] for s in self._bytes)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Redactor:
        return cls(environment_secrets(environ))

    def __bool__(self) -> bool:
        return bool(self.secrets)

    def text(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def binary(self, data: bytes) -> tuple[bytes, int]:
        """``data`` redacted, and how many secrets were replaced."""
        placeholder, replaced = REDACTED.encode(), 0
        for secret in self._bytes:
            if secret in data:
                replaced += data.count(secret)
                data = data.replace(secret, placeholder)
        return data, replaced

    def stream(self) -> StreamRedactor:
        return StreamRedactor(self)

    def held_tail(self, data: bytes) -> int:
        """How many bytes at the end of ``data`` could begin a secret (0 almost always)."""
        if not self._bytes:
            return 0
        start = max(0, len(data) - self._longest + 1)
        for i in range(start, len(data)):
            if data[i] in self._firsts and any(s.startswith(data[i:]) for s in self._bytes):
                return len(data) - i
        return 0


class StreamRedactor:
    """Redacts a byte stream chunk by chunk: ``feed`` returns what is safe to write now,
    ``close`` the rest. With no secrets it hands every chunk through untouched."""

    def __init__(self, redactor: Redactor) -> None:
        self._redactor = redactor
        self._held = b""
        self.replaced = 0  # secrets replaced so far

    def feed(self, chunk: bytes) -> bytes:
        if not self._redactor:
            return chunk
        data = self._clean(self._held + chunk)
        keep = self._redactor.held_tail(data)
        self._held = data[len(data) - keep :] if keep else b""
        return data[: len(data) - keep]

    def close(self) -> bytes:
        held, self._held = self._held, b""
        return self._clean(held)

    def _clean(self, data: bytes) -> bytes:
        data, replaced = self._redactor.binary(data)
        self.replaced += replaced
        return data
