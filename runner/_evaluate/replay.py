"""``ReplayEngine``: a recorded run told again, event by event, through runner's own reader, with
no CLI. The events it gives are what ``stream.iter_events`` gives for the recorded stream, so
the summary, the checks and every figure come out as they did for the run itself.

Three sources: a run's folder (the cache's entries: ``stream.ndjson``, ``stderr.log``,
``process.json``, ``record.json``, ``files/``), a bare stream-json file, or an API cassette
(its exchanges told as the lines the CLI would have printed, ``synthesize.stream_lines``).

Overrides and filters change what is replayed, never the files: each replay starts from the
recorded items and applies them in order (LLM responses by index, then tool results by name,
then the filters).
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Self

from pydantic import BaseModel

from runner._agent import jail
from runner._agent.engine import RunRecord
from runner._agent.workspace import Workspace
from runner._evaluate.cache import RunCache
from runner._evaluate.checks import Check, JudgeFn, RunView, score
from runner._evaluate.results import CheckResult
from runner._model.cassette import read_cassette
from runner._model.normalize import Normalizer, RunPaths, Scrubber, digest
from runner._model.synthesize import stream_lines
from runner._transcript.blocks import ToolResultBlock, ToolUseBlock
from runner._transcript.events import AssistantEvent, ResultEvent, SystemInit, UserEvent, WireEvent
from runner._transcript.normalized import (
    ResultInfo,
    TextEvent,
    ThinkingEvent,
    ToolResultEvent,
    ToolUseEvent,
    normalize,
)
from runner._transcript.parse import parse_event
from runner._transcript.stream import StreamItem, iter_events
from runner._transcript.summarize import summarize
from runner._transcript.summary import TranscriptSummary
from runner._transcript.usage import Usage, usage_of
from runner._util.figures import money
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
        self._message_ids = _message_ids(self._recorded)
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
        self._responses[index] = _blocks(response)
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
                items = _respond(items, self._message_ids[index], self._responses[index], index)
            if self._results:
                items = _answer(items, self._results)
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
        a, b = self.run().summary, other.run().summary
        return ReplayDiff(
            tool_sequence=FieldDiff.of(a.tool_sequence, b.tool_sequence),
            output=FieldDiff.of(a.final_text, b.final_text),
            tokens=FieldDiff.of(a.usage.model_dump(), b.usage.model_dump()),
            cost=FieldDiff.of(a.best_cost_usd, b.best_cost_usd),
            event_count=FieldDiff.of(a.events, b.events),
        )

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


# ---- helpers ------------------------------------------------------------------------------------


def _json_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(read_input(path, limit=RESULT_FILE_BYTES))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _message_ids(items: tuple[StreamItem, ...]) -> list[str]:
    seen = {i.message.id: None for i in items if isinstance(i, AssistantEvent)}
    return list(seen)


def _event(data: dict[str, Any]) -> WireEvent:
    return parse_event(json.dumps(data, ensure_ascii=False).encode())


def _blocks(response: str | list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
    content: Any = response.get("content") if isinstance(response, dict) else response
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list) and all(isinstance(b, dict) and "type" in b for b in content):
        return list(content)
    raise TypeError(
        "a response is text, a list of content blocks (dicts with a type), or a message "
        f"with such a content; got {type(response).__name__}"
    )


def _respond(
    items: list[StreamItem], message_id: str, blocks: list[dict[str, Any]], index: int
) -> list[StreamItem]:
    """``items`` with the message ``message_id`` saying ``blocks`` (see override_llm_response)."""
    lines = {
        k: i
        for k, i in enumerate(items)
        if isinstance(i, AssistantEvent) and i.message.id == message_id
    }
    if not lines:
        return items  # an earlier override ended the run before this call
    at, first = next(iter(lines.items()))
    old_ids = [
        b.id for i in lines.values() for b in i.message.content if isinstance(b, ToolUseBlock)
    ]
    blocks = _with_ids(blocks, old_ids, index)
    template = first.full()
    new: list[StreamItem] = [
        _event({**template, "message": {**template["message"], "content": [b]}}) for b in blocks
    ]
    rest = [i for k, i in enumerate(items) if k > at and k not in lines]
    if not any(b["type"] == "tool_use" for b in blocks):
        texts = [str(b.get("text", "")) for b in blocks if b["type"] == "text"]
        rest = _ended(rest, first.parent_tool_use_id, texts[-1] if texts else "")
    return [*items[:at], *new, *rest]


def _with_ids(blocks: list[dict[str, Any]], old_ids: list[str], index: int) -> list[dict[str, Any]]:
    """Each new tool_use without an id takes the replaced message's call at its position (so
    the recorded result still answers it), else a made-up one."""
    out, n = [], 0
    for block in blocks:
        if block["type"] == "tool_use":
            made = old_ids[n] if n < len(old_ids) else f"toolu_override_{index}_{n}"
            block = {"input": {}, **block, "id": block.get("id") or made}
            n += 1
        out.append(block)
    return out


def _ended(rest: list[StreamItem], parent: str | None, text: str) -> list[StreamItem]:
    """What is left after a conversation's last message: a subagent's own events go; after
    the main one's, only the (last) result, reading ``text``."""
    if parent is not None:
        return [i for i in rest if getattr(i, "parent_tool_use_id", None) != parent]
    results = [i for i in rest if isinstance(i, ResultEvent)]
    return [_event({**results[-1].full(), "result": text})] if results else []


def _answer(items: list[StreamItem], results: dict[str, str]) -> list[StreamItem]:
    """``items`` with every result of a call to a tool in ``results`` replaced."""
    names = {
        b.id: b.name
        for i in items
        if isinstance(i, AssistantEvent)
        for b in i.message.content
        if isinstance(b, ToolUseBlock)
    }
    return [_answered(i, names, results) for i in items]


def _answered(item: StreamItem, names: dict[str, str], results: dict[str, str]) -> StreamItem:
    if not isinstance(item, UserEvent) or isinstance(item.message.content, str):
        return item
    if not any(
        isinstance(b, ToolResultBlock) and names.get(b.tool_use_id) in results
        for b in item.message.content
    ):
        return item
    data = item.full()
    data.pop("tool_use_result", None)  # the CLI's structured copy of the recorded result
    for block in data["message"]["content"]:
        name = (
            names.get(block.get("tool_use_id", "")) if block.get("type") == "tool_result" else None
        )
        if name in results:
            block["content"] = results[name]
            block.pop("is_error", None)
    return _event(data)


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
