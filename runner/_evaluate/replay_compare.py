"""Telling replays apart: a content ``fingerprint`` (equal for two identical runs, whatever
their ids, paths and times) and ``ReplayDiff``, two replays compared on what a user looks at
first.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel

from runner._agent import jail
from runner._agent.workspace import Workspace
from runner._model.normalize import Normalizer, RunPaths, Scrubber, digest
from runner._transcript.events import SystemInit
from runner._transcript.normalized import (
    ResultInfo,
    TextEvent,
    ThinkingEvent,
    ToolResultEvent,
    ToolUseEvent,
    normalize,
)
from runner._transcript.stream import StreamItem
from runner._transcript.summary import TranscriptSummary
from runner._util.figures import money


class FieldDiff(BaseModel):
    changed: bool
    old: Any
    new: Any

    @classmethod
    def of(cls, old: Any, new: Any) -> FieldDiff:
        return cls(changed=old != new, old=old, new=new)


def _shown(name: str, value: Any) -> str:
    if value is None:
        return "-"
    if name == "cost":
        return money(value)
    if name == "tokens":
        return ", ".join(f"{k.removesuffix('_tokens')} {v}" for k, v in value.items() if v)
    if isinstance(value, list):
        return ", ".join(map(str, value)) or "(none)"
    if isinstance(value, str):
        flat = " ".join(value.split())
        return repr(flat if len(flat) <= 60 else flat[:59] + "…")
    return str(value)


class ReplayDiff(BaseModel):
    """Two replays compared on what a user looks at first."""

    tool_sequence: FieldDiff
    output: FieldDiff  # the final text
    tokens: FieldDiff  # usage totals
    cost: FieldDiff  # the CLI's cost, else runner's estimate
    event_count: FieldDiff

    @classmethod
    def of(cls, old: TranscriptSummary, new: TranscriptSummary) -> ReplayDiff:
        return cls(
            tool_sequence=FieldDiff.of(old.tool_sequence, new.tool_sequence),
            output=FieldDiff.of(old.final_text, new.final_text),
            tokens=FieldDiff.of(old.usage.model_dump(), new.usage.model_dump()),
            cost=FieldDiff.of(old.best_cost_usd, new.best_cost_usd),
            event_count=FieldDiff.of(old.events, new.events),
        )

    def fields(self) -> dict[str, FieldDiff]:
        return {name: getattr(self, name) for name in type(self).model_fields}

    @property
    def changed(self) -> bool:
        return any(d.changed for d in self.fields().values())

    def summary(self) -> str:
        """One line per changed field, ``name: old -> new``; "no difference" when none."""
        lines = [
            f"{name}: {_shown(name, d.old)} -> {_shown(name, d.new)}"
            for name, d in self.fields().items()
            if d.changed
        ]
        return "\n".join(lines) or "no difference"

    def to_dict(self) -> dict[str, Any]:
        return {**self.model_dump(mode="json"), "changed": self.changed}


_CONTENT = (TextEvent, ThinkingEvent, ToolUseEvent, ToolResultEvent)


def fingerprint(items: list[StreamItem]) -> str:
    """A digest of what a run said and did: text, thinking, tool calls and their results, and
    how it ended. Ids are numbered in order of appearance and the run's own paths, uuids and
    times replaced (``normalize.Normalizer``), so two identical runs give the same digest."""
    init = next((i for i in items if isinstance(i, SystemInit)), None)
    cwd = init.cwd if init is not None else None
    home = _home_beside(cwd) if cwd else None
    scrubber = Scrubber(RunPaths(workspace=cwd, home=home))
    normalizer = Normalizer()
    content: list[Any] = []
    status = "incomplete"
    for item in items:
        for ev in normalize(item):
            if isinstance(ev, _CONTENT):
                content.append(normalizer.value(scrubber.scrub(ev.model_dump())))
            elif isinstance(ev, ResultInfo):
                status = ev.status
    return digest({"content": content, "status": status})


def _home_beside(cwd: str) -> str:
    """The run's home, by the layout run_one made: fixed in the sandbox, else beside work/."""
    if cwd == jail.WORKSPACE:
        return jail.HOME
    return str(Workspace(Path(cwd).parent).home)
