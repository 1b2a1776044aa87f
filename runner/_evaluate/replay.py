"""``ReplayEngine``: a recorded run told again, event by event, through runner's own reader, with
no CLI. The events it gives are what ``stream.iter_events`` gives for the recorded stream, so
the summary, the checks and every figure come out as they did for the run itself.

Three sources: a run's folder (the cache's entries: ``stream.ndjson``, ``stderr.log``,
``process.json``, ``record.json``, ``files/``), a bare stream-json file, or an API cassette
(its exchanges told as the lines the CLI would have printed, ``synthesize.stream_lines``).

Overrides and filters change what is replayed, never the files: each replay starts from the
recorded items and applies them in order (LLM responses by index, then tool results by name,
then the filters); ``replay_overrides`` edits the items, ``replay_compare`` holds the
``fingerprint`` and the ``diff``.
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from runner._agent.engine import RunRecord
from runner._evaluate.cache import RunCache
from runner._evaluate.judge import JudgeFn
from runner._evaluate.replay_compare import ReplayDiff, fingerprint
from runner._evaluate.replay_overrides import (
    as_blocks,
    message_ids,
    with_response,
    with_tool_results,
)
from runner._evaluate.results import CheckResult
from runner._evaluate.run_view import RunView
from runner._evaluate.scoring import Check, score
from runner._model.cassette import read_cassette
from runner._model.synthesize import stream_lines
from runner._transcript.blocks import ToolUseBlock
from runner._transcript.events import AssistantEvent
from runner._transcript.normalized import ToolResultEvent, ToolUseEvent, normalize
from runner._transcript.stream import StreamItem, iter_events
from runner._transcript.summarize import summarize
from runner._transcript.summary import TranscriptSummary
from runner._transcript.usage import Usage, usage_of
from runner._util.inputs import RESULT_FILE_BYTES, open_input, read_input

Predicate = Callable[[StreamItem], bool]
_PEEK = 1 << 16  # bytes of a file's first line read to tell a cassette from a stream


class ReplayError(ValueError):
    """A replay that cannot be built or cannot do what was asked; the message says why."""


@dataclass(frozen=True)
class ToolCall:
    id: str
    name: str
    input: dict[str, Any]
    result: str | None  # None: no result was recorded (the run ended first)
    is_error: bool
    parent_tool_use_id: str | None  # the subagent's Agent/Task call, if made inside one


@dataclass
class LlmCall:
    index: int  # 0-based, in order of each message id's first line
    message_id: str
    model: str
    content: list[dict[str, Any]]  # the message's blocks, from all its lines
    usage: Usage  # as its lines carry it: for the CLI, a snapshot from the message's start
    parent_tool_use_id: str | None
    tools: list[str] = field(default_factory=list)  # the tools it called, in order


@dataclass(frozen=True)
class Replay:
    """One whole replay: what ``ReplayEngine.run`` gives."""

    items: list[StreamItem]
    summary: TranscriptSummary
    fingerprint: str
    record: RunRecord | None  # the run's record with the replayed summary, for a run folder


def _read_stream(path: Path) -> list[StreamItem]:
    try:
        with open_input(path) as f:
            return list(iter_events(f))
    except OSError as exc:
        raise ReplayError(f"{path}: cannot read the stream ({exc.strerror})") from exc


class ReplayEngine:
    """A recorded run, replayed with optional overrides and filters. See the module's doc."""

    def __init__(
        self,
        items: list[StreamItem],
        *,
        source: Path,
        label: str,
        record: RunRecord | None = None,
        run_dir: Path | None = None,
        stderr: str = "",
        exit_code: int | None = None,
    ) -> None:
        self.source = source
        self.label = label  # scenario/lane#trial when known, else the file's name
        self.record = record
        self.run_dir = run_dir
        self.stderr = stderr
        self.exit_code = exit_code
        self._recorded = tuple(items)
        self._message_ids = message_ids(self._recorded)
        self._responses: dict[int, list[dict[str, Any]]] = {}
        self._results: dict[str, str] = {}
        self._filters: list[Predicate] = []
        self._replayed: list[StreamItem] | None = None
        self._cursor = 0

    # ---- sources ----------------------------------------------------------------------------

    @classmethod
    def from_run_dir(cls, path: Path) -> ReplayEngine:
        """A run's folder, as ``engine.run_one`` and the cache leave it."""
        try:
            raw = read_input(path / "record.json", limit=RESULT_FILE_BYTES)
            record = RunRecord.model_validate_json(raw)
        except (OSError, ValueError) as exc:
            raise ReplayError(f"{path}: not a run folder (record.json: {exc})") from None
        process = _json_file(path / "process.json")
        code = process.get("exit_code") if "exit_code" in process else record.exit_code
        stderr = path / "stderr.log"
        return cls(
            _read_stream(path / "stream.ndjson"),
            source=path,
            label=f"{record.scenario}/{record.lane}#{record.trial}",
            record=record,
            run_dir=path,
            stderr=stderr.read_text(errors="replace") if stderr.is_file() else "",
            exit_code=code if isinstance(code, int) else None,
        )

    @classmethod
    def from_stream(
        cls, path: Path, *, stderr: str = "", exit_code: int | None = None
    ) -> ReplayEngine:
        """A bare stream-json transcript (the CLI's stdout)."""
        return cls(
            _read_stream(path), source=path, label=path.name, stderr=stderr, exit_code=exit_code
        )

    @classmethod
    def from_cassette(cls, path: Path) -> ReplayEngine:
        """An API cassette, told as the stream the CLI would have printed for it."""
        cassette = read_cassette(path)
        h = cassette.header
        items = list(iter_events(io.BytesIO(stream_lines(cassette))))
        return cls(items, source=path, label=f"{h.scenario}/{h.lane}#{h.trial}")

    @classmethod
    def from_cache(cls, cache: RunCache, key: str) -> ReplayEngine:
        """The cached run stored under ``key`` (a RunKey's digest)."""
        found = cache.get(key)
        if found is None:
            raise ReplayError(f"no cached run {key} in {cache.root}")
        return cls.from_run_dir(found.path)

    @classmethod
    def load(cls, path: Path) -> ReplayEngine:
        """A run folder, an API cassette (its first line says ``"kind":"cassette"``), or else
        a stream."""
        if path.is_dir():
            return cls.from_run_dir(path)
        try:
            with open_input(path) as f:
                first = json.loads(f.readline(_PEEK))
        except OSError as exc:
            raise ReplayError(f"{path}: cannot read ({exc.strerror})") from exc
        except ValueError:
            first = None
        if isinstance(first, dict) and first.get("kind") == "cassette":
            return cls.from_cassette(path)
        return cls.from_stream(path)

    # ---- overrides and filters --------------------------------------------------------------

    def override_tool_result(self, name: str, result: str) -> Self:
        """Every result of a call to the tool ``name`` reads ``result`` (not an error)."""
        self._results[name] = result
        return self._changed()

    def override_llm_response(self, index: int, response: str | list[Any] | dict[str, Any]) -> Self:
        """The ``index``-th LLM call (0-based, as ``llm_calls`` counts) says ``response``:
        text, a list of content blocks, or a message with a ``content``.

        Rule: its lines become one per new block and the rest replays as recorded, unless the
        new content calls no tool: then its conversation ends there, as the CLI's would (after
        the main one only the result stays, reading the new text). A new tool_use without an
        id takes the id of the replaced call at its place, so the recorded result answers it.
        """
        if not 0 <= index < len(self._message_ids):
            raise IndexError(f"{self.label}: no LLM call {index}; it made {len(self._message_ids)}")
        self._responses[index] = as_blocks(response)
        return self._changed()

    def filter_events(self, predicate: Predicate) -> Self:
        """Replay only the items ``predicate`` keeps; with several filters, all must keep it."""
        self._filters.append(predicate)
        return self._changed()

    def _changed(self) -> Self:
        self._replayed = None
        return self

    # ---- replaying --------------------------------------------------------------------------

    def items(self) -> list[StreamItem]:
        """Every replayed item, overrides and filters applied."""
        return list(self._items())

    def _items(self) -> list[StreamItem]:
        if self._replayed is None:
            items = list(self._recorded)
            for index in sorted(self._responses):
                items = with_response(
                    items, self._message_ids[index], self._responses[index], index
                )
            if self._results:
                items = with_tool_results(items, self._results)
            self._replayed = [i for i in items if all(keep(i) for keep in self._filters)]
        return self._replayed

    def step(self) -> StreamItem | None:
        """The next replayed item; None at the end."""
        items = self._items()
        if self._cursor >= len(items):
            return None
        self._cursor += 1
        return items[self._cursor - 1]

    def reset(self) -> Self:
        """Back to the first item; overrides and filters stay."""
        self._cursor = 0
        return self

    def run(self) -> Replay:
        """The whole replay from its start (``step``'s place is left as it is)."""
        items = self.items()
        summary = summarize(items)
        record = None
        if self.record is not None:
            record = self.record.model_copy(update={"transcript": summary})
        return Replay(items, summary, fingerprint(items), record)

    # ---- views ------------------------------------------------------------------------------

    def tool_calls(self) -> list[ToolCall]:
        """Each tool call once, in order, with the result that answered it."""
        calls: dict[str, ToolCall] = {}
        for item in self._items():
            for ev in normalize(item):
                if isinstance(ev, ToolUseEvent) and ev.id not in calls:
                    calls[ev.id] = ToolCall(
                        ev.id, ev.name, ev.input, None, False, ev.parent_tool_use_id
                    )
                elif isinstance(ev, ToolResultEvent) and ev.tool_use_id in calls:
                    call = calls[ev.tool_use_id]
                    calls[ev.tool_use_id] = replace(call, result=ev.text, is_error=ev.is_error)
        return list(calls.values())

    def llm_calls(self) -> list[LlmCall]:
        """Each model message once (its lines joined), in the order override_llm_response
        counts them."""
        calls: dict[str, LlmCall] = {}
        for item in self._items():
            if not isinstance(item, AssistantEvent):
                continue
            msg = item.message
            call = calls.get(msg.id)
            if call is None:
                call = LlmCall(
                    len(calls), msg.id, msg.model, [], usage_of(msg.usage), item.parent_tool_use_id
                )
                calls[msg.id] = call
            call.content += [b.model_dump(mode="json") for b in msg.content]
            call.tools += [b.name for b in msg.content if isinstance(b, ToolUseBlock)]
        return list(calls.values())

    def tool_sequence(self) -> list[str]:
        return self.run().summary.tool_sequence

    def fingerprint(self) -> str:
        return fingerprint(self._items())

    def diff(self, other: ReplayEngine) -> ReplayDiff:
        """This replay (old) against ``other`` (new)."""
        return ReplayDiff.of(self.run().summary, other.run().summary)

    async def score(
        self,
        checks: list[Check],
        *,
        fixture: Path | None,
        instruction: str,
        skill: str | None = None,
        judge: JudgeFn | None = None,
    ) -> list[CheckResult]:
        """The checks scored from the replay: its record and the run folder's files/, as eval
        scores a cached run, with no CLI."""
        record = self.run().record
        if record is None or self.run_dir is None:
            raise ReplayError(
                f"{self.label}: scoring needs a run folder (record.json, files/); "
                f"this replay is of {self.source}"
            )
        view = RunView(record, self.run_dir, fixture, instruction, skill, judge)
        return await score(checks, view)


def _json_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_input(path, limit=RESULT_FILE_BYTES))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}
