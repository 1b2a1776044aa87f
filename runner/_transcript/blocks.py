"""The content of messages: the CLI's content blocks (text, thinking, tool calls and results,
images) as pydantic models, and the two kinds of model every stream-json shape is built on.

A block of a type runner does not model, or of a known type in an unexpected shape, becomes an
``UnknownBlock`` that keeps all its fields.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeAlias, get_args

from pydantic import BaseModel, ConfigDict, Field


# The two kinds of model, shared with runner._transcript.events.
class _Known(BaseModel):
    # For shapes runner models: only the declared fields are read, the rest ignored for speed.
    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)


class _Open(BaseModel):
    # For shapes we do not know: every field is kept on the model.
    model_config = ConfigDict(extra="allow", frozen=True)


class TextBlock(_Known):
    type: Literal["text"]
    text: str


class ThinkingBlock(_Known):
    type: Literal["thinking"]
    thinking: str
    signature: str | None = None


class RedactedThinkingBlock(_Known):
    type: Literal["redacted_thinking"]
    data: str


class ToolUseBlock(_Known):
    type: Literal["tool_use"]
    id: str
    name: str
    input: dict[str, Any]


class ImageBlock(_Known):
    type: Literal["image"]
    source: dict[str, Any]


class UnknownBlock(_Open):
    """A content block of a type runner does not model, or of a known type in a shape it did
    not expect; all its fields kept."""

    type: str

    @property
    def problem(self) -> str | None:
        """Set when the type is one runner models: the CLI changed that block's shape."""
        if self.type in _BLOCK_TYPES:
            return f"{self.type} block in an unexpected shape"
        return None


# Tagged unions try the "type" tag first (one dict lookup); a block of a type we do not know
# falls through, left to right, to UnknownBlock, which keeps all its fields.
ToolResultItem: TypeAlias = Annotated[
    Annotated[TextBlock | ImageBlock, Field(discriminator="type")] | UnknownBlock,
    Field(union_mode="left_to_right"),
]


class ToolResultBlock(_Known):
    type: Literal["tool_result"]
    tool_use_id: str
    content: str | list[ToolResultItem] | None = None
    is_error: bool | None = None

    def text(self) -> str:
        """The result as text: the string, or its text items joined."""
        if self.content is None or isinstance(self.content, str):
            return self.content or ""
        return "\n".join(i.text for i in self.content if isinstance(i, TextBlock))


ContentBlock: TypeAlias = Annotated[
    Annotated[
        TextBlock
        | ThinkingBlock
        | RedactedThinkingBlock
        | ToolUseBlock
        | ToolResultBlock
        | ImageBlock,
        Field(discriminator="type"),
    ]
    | UnknownBlock,
    Field(union_mode="left_to_right"),
]


_BLOCK_TYPES: frozenset[str] = frozenset(
    get_args(model.model_fields["type"].annotation)[0]
    for model in (
        TextBlock,
        ThinkingBlock,
        RedactedThinkingBlock,
        ToolUseBlock,
        ToolResultBlock,
        ImageBlock,
    )
)
