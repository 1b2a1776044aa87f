"""The scripted model's script: the assistant turns a local Messages endpoint plays back, in order.

A script is JSON: ``{"turns": [turn, ...]}``. Each request to ``/v1/messages`` takes the next
turn. A turn either answers with content blocks, or fails with an HTTP error, optionally after a
delay, or hangs. ``conversations`` holds the turns of other conversations, such as a subagent's:
a request whose first message contains a key is answered from that key's turns, so a subagent
and its parent each get their own, whatever order their requests arrive in. See README
"The scripted model" for the format with examples.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class _Strict(BaseModel):
    # A typo in a script must fail loudly, not silently play a different turn.
    model_config = ConfigDict(extra="forbid", frozen=True)


class ScriptText(_Strict):
    type: Literal["text"]
    text: str


class ScriptThinking(_Strict):
    type: Literal["thinking"]
    thinking: str
    signature: str = "scripted-signature"


class ScriptToolUse(_Strict):
    type: Literal["tool_use"]
    name: str
    input: dict[str, Any] = Field(default_factory=dict)
    id: str | None = None  # generated per request when absent


ScriptBlock = Annotated[ScriptText | ScriptThinking | ScriptToolUse, Field(discriminator="type")]


class ScriptUsage(_Strict):
    input_tokens: int = 100
    output_tokens: int | None = None  # None: estimated from the content's length
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0


class ScriptError(_Strict):
    status: int = Field(ge=400, le=599)
    type: str = "api_error"
    message: str = "scripted error"


class Turn(_Strict):
    content: list[ScriptBlock] = Field(default_factory=list)
    # Default: "tool_use" when the turn calls a tool, else "end_turn".
    stop_reason: str | None = None
    usage: ScriptUsage = Field(default_factory=ScriptUsage)
    error: ScriptError | None = None
    delay_s: float = Field(default=0.0, ge=0)
    hang: bool = False  # accept the request and never answer
    repeat: int = Field(default=1, ge=1)  # answer this many requests the same way (e.g. retries)

    def effective_stop_reason(self) -> str:
        if self.stop_reason is not None:
            return self.stop_reason
        calls_tool = any(isinstance(b, ScriptToolUse) for b in self.content)
        return "tool_use" if calls_tool else "end_turn"


def expand(turns: list[Turn]) -> list[Turn]:
    """Turns with each ``repeat`` spelled out."""
    return [turn for turn in turns for _ in range(turn.repeat)]


class Script(_Strict):
    turns: list[Turn]
    # Marker text -> turns: a request whose first message contains the marker takes these.
    conversations: dict[str, list[Turn]] = Field(default_factory=dict)
    model: str | None = None  # the model name to report; default: the one the request asked for


class ScriptFileError(ValueError):
    """A script file that cannot be used; the message names the file, the field and the fix."""


def load_script(path: Path) -> Script:
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ScriptFileError(f"{path}: cannot read script ({exc.strerror})") from exc
    try:
        return Script.model_validate_json(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        raise ScriptFileError(f"{path}: {where}: {err['msg']}") from exc
