"""A run folder as the timeline the dashboard draws: what the agent said, thought and called,
each tool call with its result, a subagent's events inside the call that started it.

Long strings are clipped (``CLIP_CHARS``) with the count of characters cut, so a page of a
thousand runs stays small; nothing the transcript holds is dropped without a trace: unknown
content arrives as ``NoticeEvent`` and becomes a notice item.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, Field, ValidationError

from runner._agent.engine import RunRecord
from runner._report.diffs import unified
from runner._transcript.normalized import (
    NoticeEvent,
    ResultInfo,
    RetryEvent,
    SubagentEvent,
    TextEvent,
    ThinkingEvent,
    ToolResultEvent,
    ToolUseEvent,
    TranscriptEvent,
    normalize,
)
from runner._transcript.stream import iter_events
from runner._util.figures import plural
from runner._util.inputs import RESULT_FILE_BYTES, open_input, read_input

CLIP_CHARS = 4000  # a Read of a big file or a Write's whole content: the start tells enough
HINT_CHARS = 100
# The input field that says best what a call did, in order of preference.
_HINT_KEYS = ("description", "file_path", "path", "command", "pattern", "skill", "url", "prompt")


class Clip(BaseModel):
    """A string, possibly shortened: ``cut`` characters were left out at its end (``kept``
    "head") or at its start ("tail": the end of a log says most)."""

    text: str
    cut: int = 0
    kept: Literal["head", "tail"] = "head"

    @classmethod
    def of(cls, text: str, limit: int = CLIP_CHARS) -> Clip:
        if len(text) <= limit:
            return cls(text=text)
        return cls(text=text[:limit], cut=len(text) - limit)

    @classmethod
    def tail(cls, text: str, limit: int = CLIP_CHARS) -> Clip:
        if len(text) <= limit:
            return cls(text=text)
        return cls(text=text[-limit:], cut=len(text) - limit, kept="tail")


class TextItem(BaseModel):
    kind: Literal["text"] = "text"
    text: Clip
    final: bool = False  # the run's final text, which its result repeats (shown once, here)


class ThinkingItem(BaseModel):
    kind: Literal["thinking"] = "thinking"
    text: Clip


class ToolOutput(BaseModel):
    text: Clip
    is_error: bool


class EditDiff(BaseModel):
    """One edit of an Edit or MultiEdit call: old_string to new_string as diff lines."""

    lines: list[str]
    cut: int = 0
    replace_all: bool = False


class ToolCallItem(BaseModel):
    """A tool call, its result once it came, and (Agent/Task) the subagent's own events. An
    Edit or MultiEdit comes as ``edits``, a Write as the file it wrote, instead of JSON."""

    kind: Literal["tool_call"] = "tool_call"
    id: str
    name: str
    hint: str  # one line from the input, for the collapsed view
    input: Clip | None = None  # pretty JSON, when not shown as edits or a written file
    path: str | None = None  # Edit, MultiEdit, Write: the file
    edits: list[EditDiff] | None = None
    written: Clip | None = None  # Write: the content
    result: ToolOutput | None = None
    children: list[Item] = Field(default_factory=list)


class ToolResultItem(BaseModel):
    """A result whose call is not in the transcript, or a second result for one call."""

    kind: Literal["tool_result"] = "tool_result"
    tool_use_id: str
    output: ToolOutput


class RetryItem(BaseModel):
    kind: Literal["retry"] = "retry"
    attempt: int
    error_status: int | None = None
    error: str | None = None
    retry_delay_ms: float | None = None


class TaskItem(BaseModel):
    kind: Literal["task"] = "task"
    phase: str
    task_id: str | None
    description: str | None = None
    status: str | None = None


class NoticeItem(BaseModel):
    kind: Literal["notice"] = "notice"
    what: str
    line: int | None = None


class ResultItem(BaseModel):
    kind: Literal["result"] = "result"
    status: str
    is_error: bool
    num_turns: int | None = None
    cost_usd: float | None = None
    text: Clip | None = None


Item: TypeAlias = Annotated[
    TextItem
    | ThinkingItem
    | ToolCallItem
    | ToolResultItem
    | RetryItem
    | TaskItem
    | NoticeItem
    | ResultItem,
    Field(discriminator="kind"),
]
ToolCallItem.model_rebuild()


class Timeline(BaseModel):
    """One run's timeline, or, without a transcript, its agent log, or why there is neither."""

    source: Literal["stream", "agent_log", "none"]
    items: list[Item] = Field(default_factory=list)
    agent_log: Clip | None = None
    note: str | None = None  # why the transcript is missing


def build_items(events: Iterable[TranscriptEvent]) -> list[Item]:
    """Events in order, each placed in the call its ``parent_tool_use_id`` (or, for a task
    event, its ``tool_use_id``) names; a result goes onto its call."""
    top: list[Item] = []
    calls: dict[str, ToolCallItem] = {}
    task_calls: dict[str, str] = {}  # task_id -> the call that started it

    def inside(call_id: str | None) -> list[Item]:
        call = calls.get(call_id) if call_id is not None else None
        return call.children if call is not None else top

    for ev in events:
        if isinstance(ev, ToolUseEvent):
            call = _call(ev)
            calls.setdefault(ev.id, call)
            inside(ev.parent_tool_use_id).append(call)
        elif isinstance(ev, ToolResultEvent):
            output = ToolOutput(text=Clip.of(ev.text), is_error=ev.is_error)
            known = calls.get(ev.tool_use_id)
            if known is not None and known.result is None:
                known.result = output
            else:
                item = ToolResultItem(tool_use_id=ev.tool_use_id, output=output)
                inside(ev.parent_tool_use_id).append(item)
        elif isinstance(ev, SubagentEvent):
            # Only "started" names both ids; later phases may give just the task's.
            owner = ev.tool_use_id or task_calls.get(ev.task_id or "")
            if ev.task_id is not None and owner is not None:
                task_calls.setdefault(ev.task_id, owner)
            inside(owner or ev.parent_tool_use_id).append(_task(ev))
        else:
            inside(ev.parent_tool_use_id).append(_item(ev))
    _final_once(top)
    return top


def _final_once(top: list[Item]) -> None:
    """The result repeats the last text: that text is marked final and the result's dropped."""
    result = next((i for i in reversed(top) if isinstance(i, ResultItem)), None)
    last = next((i for i in reversed(top) if isinstance(i, TextItem)), None)
    if result is None or result.text is None or last is None:
        return
    if result.text.text.strip() == last.text.text.strip() and result.text.cut == last.text.cut:
        last.final = True
        result.text = None


def _call(ev: ToolUseEvent) -> ToolCallItem:
    call = ToolCallItem(id=ev.id, name=ev.name, hint=_hint(ev.input))
    path, edits, written = _file_input(ev.name, ev.input)
    if path is not None and (edits is not None or written is not None):
        call.path, call.edits, call.written = path, edits, written
    else:
        call.input = Clip.of(json.dumps(ev.input, indent=2, ensure_ascii=False))
    return call


def _edit(edit: Any) -> EditDiff | None:
    if not isinstance(edit, dict):
        return None
    old, new = edit.get("old_string"), edit.get("new_string")
    if not isinstance(old, str) or not isinstance(new, str):
        return None
    lines, cut = unified(old, new, context=-1)
    return EditDiff(lines=lines, cut=cut, replace_all=edit.get("replace_all") is True)


def _file_input(
    name: str, tool_input: dict[str, Any]
) -> tuple[str | None, list[EditDiff] | None, Clip | None]:
    """An Edit's or MultiEdit's edits, or a Write's content, when the input has their shape;
    anything else stays JSON."""
    path = tool_input.get("file_path")
    if not isinstance(path, str):
        return None, None, None
    if name == "Write" and isinstance(content := tool_input.get("content"), str):
        return path, None, Clip.of(content)
    raw = (
        tool_input.get("edits") if name == "MultiEdit" else [tool_input] if name == "Edit" else None
    )
    edits = [_edit(e) for e in raw] if isinstance(raw, list) and raw else None
    if edits is None or any(e is None for e in edits):
        return path, None, None
    return path, [e for e in edits if e is not None], None


def _hint(tool_input: dict[str, Any]) -> str:
    value = next(
        (v for k in _HINT_KEYS if isinstance(v := tool_input.get(k), str) and v.strip()), ""
    )
    line = " ".join(value.split())
    return line if len(line) <= HINT_CHARS else line[: HINT_CHARS - 1] + "…"


def _task(ev: SubagentEvent) -> TaskItem:
    return TaskItem(
        phase=ev.phase, task_id=ev.task_id, description=ev.description, status=ev.status
    )


def _item(ev: TranscriptEvent) -> Item:
    if isinstance(ev, TextEvent):
        return TextItem(text=Clip.of(ev.text))
    if isinstance(ev, ThinkingEvent):
        return ThinkingItem(text=Clip.of(ev.thinking))
    if isinstance(ev, RetryEvent):
        return RetryItem(
            attempt=ev.attempt,
            error_status=ev.error_status,
            error=ev.error,
            retry_delay_ms=ev.retry_delay_ms,
        )
    if isinstance(ev, ResultInfo):
        return ResultItem(
            status=ev.status,
            is_error=ev.is_error,
            num_turns=ev.num_turns,
            cost_usd=ev.cost_usd,
            text=None if ev.text is None else Clip.of(ev.text),
        )
    if isinstance(ev, NoticeEvent):
        return NoticeItem(what=ev.what, line=ev.line)
    # The union is closed; a new event kind must not vanish from the page unseen.
    return NoticeItem(what=f"event of kind {ev.kind!r} the dashboard does not draw")


def load_timeline(run_dir: str | Path | None) -> Timeline:
    """The run folder's stream as a timeline; without one (or an empty one), its agent log
    from record.json; without either, a note saying what is missing."""
    if run_dir is None:
        return Timeline(source="none", note="no run folder was recorded for this run")
    folder = Path(run_dir)
    if not folder.is_dir():
        return Timeline(source="none", note=f"the run folder {folder} is gone (cache pruned?)")
    stream = folder / "stream.ndjson"
    if stream.is_file():
        # A results file names the run folder: whatever is there is opened only if a file.
        with open_input(stream) as f:
            items = build_items(ev for item in iter_events(f) for ev in normalize(item))
        if items:
            return Timeline(source="stream", items=items)
    log, problem = _agent_log(folder / "record.json")
    if log:
        return Timeline(source="agent_log", agent_log=Clip.tail(log))
    what = "an empty stream.ndjson" if stream.is_file() else "no stream.ndjson"
    return Timeline(source="none", note=f"{folder}: {what}, and {problem}")


def _agent_log(record: Path) -> tuple[str, str]:
    """The record's agent log, or "" and why there is none."""
    try:
        data = read_input(record, limit=RESULT_FILE_BYTES)
    except OSError:
        return "", "no record.json"
    try:
        log = RunRecord.model_validate_json(data).diagnostics.agent_log
    except ValidationError as exc:
        return "", f"record.json cannot be read ({plural(exc.error_count(), 'problem')})"
    return (log, "") if log.strip() else ("", "no agent log in record.json")
