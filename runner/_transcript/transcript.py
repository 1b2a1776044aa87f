"""A whole run's stream in memory: ``Transcript`` keeps the items for in-memory work and
derives its views (the summary, the normalized events) through ``SummaryBuilder`` and
``normalize``. For a transcript of any size, stream it through ``summarize`` instead.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from runner._transcript.normalized import TranscriptEvent, normalize
from runner._transcript.stream import ParseError, StreamItem, iter_events
from runner._transcript.summarize import summarize
from runner._transcript.summary import TranscriptSummary


class Transcript:
    """A whole run's stream in memory, with derived views. For huge files use ``summarize``."""

    def __init__(self, items: Iterable[StreamItem]) -> None:
        self.items: list[StreamItem] = list(items)
        self._summary: TranscriptSummary | None = None

    @classmethod
    def from_file(cls, path: str | Path) -> Transcript:
        with open(path, "rb") as f:
            return cls(iter_events(f))

    def summary(self) -> TranscriptSummary:
        if self._summary is None:
            self._summary = summarize(self.items)
        return self._summary

    def events(self) -> list[TranscriptEvent]:
        return [ev for item in self.items for ev in normalize(item)]

    def tool_sequence(self) -> list[str]:
        return self.summary().tool_sequence

    def skills_invoked(self) -> list[str]:
        return self.summary().skills_invoked

    def final_text(self) -> str | None:
        return self.summary().final_text

    def write_ndjson(self, path: str | Path) -> None:
        """Write the stream back out: every event as its exact source line."""
        with open(path, "wb") as f:
            for item in self.items:
                raw = item.raw if isinstance(item, ParseError) else item.raw_json()
                if raw is not None:
                    f.write(raw + b"\n")
