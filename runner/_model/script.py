"""The scripted model's script: the assistant turns a local Messages endpoint plays back, in order.

A script is JSON: ``{"turns": [step, ...]}``. A step is a turn or a choice. Each request to
``/v1/messages`` takes the next turn. A turn either answers with content blocks, or fails with
an HTTP error, optionally after a delay, or hangs. A choice, ``{"choose": [branch, ...]}``,
plays one weighted branch's steps, drawn with a seeded ``random.Random``, so repeated trials can
differ and the same seed always plays the same turns. ``conversations`` holds the steps of other
conversations, such as a subagent's: a request whose first message contains a key is answered
from that key's turns, so a subagent and its parent each get their own, whatever order their
requests arrive in. See README "The scripted model" for the format with examples.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, ValidationError

from runner._util.inputs import MAX_TIMEOUT_S, MAX_TURNS, SCRIPT_FILE_BYTES, read_input


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
    input: dict[str, Any] = {}  # not default_factory=dict: see results.RunResult
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
    content: list[ScriptBlock] = []
    # Default: "tool_use" when the turn calls a tool, else "end_turn".
    stop_reason: str | None = None
    usage: ScriptUsage = Field(default_factory=ScriptUsage)
    error: ScriptError | None = None
    delay_s: float = Field(default=0.0, ge=0, le=MAX_TIMEOUT_S)
    hang: bool = False  # accept the request and never answer
    # Answer this many requests the same way (e.g. retries).
    repeat: int = Field(default=1, ge=1, le=MAX_TURNS)

    def effective_stop_reason(self) -> str:
        if self.stop_reason is not None:
            return self.stop_reason
        calls_tool = any(isinstance(b, ScriptToolUse) for b in self.content)
        return "tool_use" if calls_tool else "end_turn"


class Branch(_Strict):
    weight: float = Field(default=1.0, gt=0)
    turns: list[Step]


class Choice(_Strict):
    choose: list[Branch] = Field(min_length=1)

    def pick(self, rng: random.Random) -> Branch:
        return rng.choices(self.choose, weights=[b.weight for b in self.choose])[0]


def _step_kind(value: Any) -> str:
    # Picking the model by the "choose" key makes a bad step's error name its own fields,
    # not every member of the union.
    if isinstance(value, Choice) or (isinstance(value, dict) and "choose" in value):
        return "choice"
    return "turn"


_STEP_TAGS = ("turn", "choice")

Step = Annotated[
    Annotated[Turn, Tag("turn")] | Annotated[Choice, Tag("choice")], Discriminator(_step_kind)
]
Branch.model_rebuild()


class Script(_Strict):
    turns: list[Step]
    # Marker text -> steps: a request whose first message contains the marker takes these.
    conversations: dict[str, list[Step]] = {}
    model: str | None = None  # the model name to report; default: the one the request asked for
    seed: int = 0  # the first session's draws; session n (0-based) draws with seed + n

    def resolved(self, seed: int | None = None) -> ResolvedScript:
        """Plain turns for one session: every choice drawn with ``seed`` (default: the script's)."""
        rng = random.Random(self.seed if seed is None else seed)
        # Main turns first, so they equal ``resolve(script.turns, Random(seed))``.
        turns = resolve(self.turns, rng)
        conversations = {
            marker: resolve(steps, rng) for marker, steps in self.conversations.items()
        }
        return ResolvedScript(turns, conversations)


@dataclass(frozen=True)
class ResolvedScript:
    turns: list[Turn]
    conversations: dict[str, list[Turn]]

    @property
    def total(self) -> int:
        return len(self.turns) + sum(len(t) for t in self.conversations.values())


def resolve(steps: Sequence[Turn | Choice], rng: random.Random) -> list[Turn]:
    """The turns ``steps`` play: one branch drawn per choice, in order; ``repeat`` spelled out."""
    out: list[Turn] = []
    for step in steps:
        if isinstance(step, Choice):
            out.extend(resolve(step.pick(rng).turns, rng))
        else:
            out.extend([step] * step.repeat)
    return out


# Builders for scripts written in Python: the JSON shapes of the blocks above.


def text(s: str) -> dict[str, Any]:
    return {"type": "text", "text": s}


def thinking(s: str) -> dict[str, Any]:
    return {"type": "thinking", "thinking": s}


def tool(name: str, /, **tool_input: Any) -> dict[str, Any]:
    # Positional-only, so a tool's input may have a "name" field too.
    return {"type": "tool_use", "name": name, "input": tool_input}


class ScriptFileError(ValueError):
    """A script file that cannot be used; the message names the file, the field and the fix."""


def load_script(path: Path) -> Script:
    try:
        raw = read_input(path, limit=SCRIPT_FILE_BYTES)
    except OSError as exc:
        raise ScriptFileError(f"{path}: cannot read script ({exc.strerror})") from exc
    try:
        return Script.model_validate_json(raw)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in _field_path(err["loc"])) or "(top level)"
        raise ScriptFileError(f"{path}: {where}: {err['msg']}") from exc


def _field_path(loc: tuple[int | str, ...]) -> list[int | str]:
    """``loc`` without the step tags pydantic puts after a list index: the path as written."""
    return [
        part
        for i, part in enumerate(loc)
        if not (part in _STEP_TAGS and i > 0 and isinstance(loc[i - 1], int))
    ]
