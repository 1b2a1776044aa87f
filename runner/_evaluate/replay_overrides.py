"""What a ``ReplayEngine`` override does to the recorded items: an LLM call's message made to
say new content (its conversation ended there when the new content calls no tool), and every
result of a tool's calls made to read new text. The items are parsed events; an edited line is
parsed again, as the reader would have parsed it.
"""

from __future__ import annotations

import json
from typing import Any

from runner._transcript.blocks import ToolResultBlock, ToolUseBlock
from runner._transcript.events import AssistantEvent, ResultEvent, UserEvent, WireEvent
from runner._transcript.parse import parse_event
from runner._transcript.stream import StreamItem


def message_ids(items: tuple[StreamItem, ...]) -> list[str]:
    """Each LLM call's message id once, in order of its first line: the calls' indexes."""
    seen = {i.message.id: None for i in items if isinstance(i, AssistantEvent)}
    return list(seen)


def _event(data: dict[str, Any]) -> WireEvent:
    return parse_event(json.dumps(data, ensure_ascii=False).encode())


def as_blocks(response: str | list[Any] | dict[str, Any]) -> list[dict[str, Any]]:
    """A new response's content blocks: from text, a list of blocks, or a message."""
    content: Any = response.get("content") if isinstance(response, dict) else response
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    if isinstance(content, list) and all(isinstance(b, dict) and "type" in b for b in content):
        return list(content)
    raise TypeError(
        "a response is text, a list of content blocks (dicts with a type), or a message "
        f"with such a content; got {type(response).__name__}"
    )


def with_response(
    items: list[StreamItem], message_id: str, blocks: list[dict[str, Any]], index: int
) -> list[StreamItem]:
    """``items`` with the message ``message_id`` saying ``blocks``; the rule is
    ``ReplayEngine.override_llm_response``'s."""
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


def with_tool_results(items: list[StreamItem], results: dict[str, str]) -> list[StreamItem]:
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
