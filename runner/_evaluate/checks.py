"""Check kinds: what each ``[[check]]`` table asks of a run, and its verdict. A check is scored
from a stored run (``run_view.RunView``), never a live one: its record (the transcript's
summary) and its captured files laid over the fixture. So editing a check re-scores a cached
run without running the agent again.

Each kind is a ``[[check]]`` table with ``type``; ``lanes`` (globs) limits where it applies.
The judge's kind is ``judge``'s; their union and the scoring of a list, ``scoring``'s.
"""

from __future__ import annotations

import fnmatch
import os
import re
import signal
import subprocess
from contextlib import suppress
from pathlib import Path, PurePosixPath
from typing import Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, field_validator

from runner._agent.sandbox import confined
from runner._evaluate.results import CheckResult
from runner._evaluate.run_view import RunView
from runner._util import terminal
from runner._util.figures import plural
from runner._util.inputs import MAX_TIMEOUT_S, LinkOutside, open_input

_SHOWN = 60  # characters of a pattern, text or output quoted in a detail


def clip(text: str, width: int = _SHOWN) -> str:
    """``text`` on one line, cut to ``width`` characters, as a check's detail quotes it."""
    return terminal.clip(text, width)


def _outside(path: str, exc: LinkOutside) -> tuple[bool, str]:
    return False, f"{path}: {exc}; the check does not follow it"


class BaseCheck(BaseModel):
    """What every kind has: a name, the lanes it applies to, and a verdict on a run."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str | None = None  # shown in results; default: the check described
    lanes: tuple[str, ...] = ("*",)  # lane globs this check applies to

    def applies_to(self, lane: str) -> bool:
        return any(fnmatch.fnmatchcase(lane, glob) for glob in self.lanes)

    @property
    def label(self) -> str:
        return self.name or self.describe()

    def describe(self) -> str:
        raise NotImplementedError

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        raise NotImplementedError

    async def score(self, run: RunView) -> CheckResult:
        passed, detail = await self.verdict(run)
        return CheckResult(name=self.label, passed=passed, detail=detail)


def path_inside(folder: Path, value: object) -> Path:
    """``value`` resolved against ``folder`` (symlinks too); refused if it is absolute or
    leads out of it."""
    if not isinstance(value, str) or not value:
        raise ValueError("give a path relative to the scenario's folder")
    if PurePosixPath(value).is_absolute():
        raise ValueError(f"{value!r} is absolute; give a path inside the scenario's folder")
    path = (folder / value).resolve()
    if not path.is_relative_to(folder.resolve()):
        raise ValueError(f"{value!r} leads out of the scenario's folder")
    return path


def _relative(value: str) -> str:
    path = PurePosixPath(value)
    if not value or path.is_absolute() or ".." in path.parts or not path.parts:
        raise ValueError(f"{value!r}: give a path inside the workspace, relative to it")
    return path.as_posix()


def _regex(value: str) -> str:
    try:
        re.compile(value)
    except re.error as exc:
        raise ValueError(f"{value!r} is not a valid regular expression ({exc})") from None
    return value


def _search(pattern: str, text: str) -> tuple[bool, str]:
    found = re.search(pattern, text)
    if found is None:
        return False, f"no match for /{clip(pattern)}/ in: {clip(text)}"
    line = text.count("\n", 0, found.start()) + 1
    return True, f"line {line}: {clip(found.group(0)) or '(empty match)'}"


class _FileCheck(BaseCheck):
    path: str

    _path_inside = field_validator("path")(_relative)


class FileExists(_FileCheck):
    type: Literal["file_exists"]

    def describe(self) -> str:
        return f"file_exists {self.path}"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        try:
            path = run.resolve(self.path)
        except LinkOutside as exc:
            return _outside(self.path, exc)
        named = self.path if path == self.path else f"{self.path} (a link to {path})"
        change = run.change(path)
        if change is not None:
            if change.change == "deleted":
                return False, f"{named} was deleted by the run"
            return True, f"{named} {change.change} ({change.size} bytes)"
        if run.exists(path):
            where = run.final_file(path)
            kind = "file" if where is not None and not where.is_dir() else "folder"
            origin = run.fixture is not None and (run.fixture / path).exists()
            return True, f"{named} is there ({kind}{', from the fixture' if origin else ''})"
        return False, f"{named} is missing"


class FileMatches(_FileCheck):
    type: Literal["file_matches"]
    pattern: str

    _valid = field_validator("pattern")(_regex)

    def describe(self) -> str:
        return f"file_matches {self.path} /{clip(self.pattern, 40)}/"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        try:
            path = run.resolve(self.path)
            where = run.final_file(path)
        except LinkOutside as exc:
            return _outside(self.path, exc)
        change = run.change(path)
        if change is not None and not change.captured:
            if change.error is not None:
                return False, f"{self.path}: {change.error}"
            return False, f"{self.path} ({change.size} bytes) was over the capture cap: not kept"
        if where is None or not where.is_file():
            return False, f"{self.path} is missing"
        with open_input(where) as f:
            text = f.read().decode("utf-8", errors="replace")
        return _search(self.pattern, text)


class CommandCheck(BaseCheck):
    type: Literal["command"]
    run: str = Field(min_length=1)  # run with sh -c in the finished workspace; exit 0 passes
    timeout_s: float = Field(default=60.0, gt=0, le=MAX_TIMEOUT_S)

    def describe(self) -> str:
        return f"command `{clip(self.run, 50)}`"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        with (
            run.finished_workspace() as root,
            confined(
                ["sh", "-c", self.run], workspace=root, mode=run.sandbox, network=run.network
            ) as (argv, env),
        ):
            code, output = await _sh(argv, env, root, self.timeout_s)
        left_out = sum(not c.captured for c in run.record.files)
        missing = f" ({plural(left_out, 'file')} over the capture cap left out)" if left_out else ""
        if code is None:
            return False, f"timed out after {self.timeout_s:g}s{missing}"
        tail = clip(output.strip().splitlines()[-1]) if output.strip() else "no output"
        return code == 0, f"exit {code}: {tail}{missing}"


async def _sh(
    argv: list[str], env: dict[str, str] | None, cwd: Path, timeout_s: float
) -> tuple[int | None, str]:
    """Exit code (None on timeout) and the last 4 KiB of output. The command gets no stdin and
    a session of its own: when it exits or times out, whatever it left in its process group
    (or its sandbox) ends with it, and a background child holding stdout open cannot stall
    the check."""
    output = bytearray()
    drained = anyio.Event()
    process = await anyio.open_process(
        argv,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    async with process:
        stdout = process.stdout
        assert stdout is not None

        async def drain() -> None:
            async for chunk in stdout:
                output.extend(chunk)
                del output[:-4096]
            drained.set()

        async with anyio.create_task_group() as tg:
            tg.start_soon(drain)
            code: int | None = None
            with anyio.move_on_after(timeout_s):
                code = await process.wait()
            with suppress(ProcessLookupError):  # the group may be gone with the command
                os.killpg(process.pid, signal.SIGKILL)
            with anyio.move_on_after(1.0):  # what is left in the pipe
                await drained.wait()
            tg.cancel_scope.cancel()
    return code, output.decode(errors="replace")


class _ToolCheck(BaseCheck):
    tool: str = Field(min_length=1)


class ToolCalled(_ToolCheck):
    type: Literal["tool_called"]

    def describe(self) -> str:
        return f"tool_called {self.tool}"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        tools = run.record.transcript.tool_sequence
        n = tools.count(self.tool)
        if n:
            return True, f"{self.tool} called {_times(n)}"
        return False, f"{self.tool} never called; tools: {_tools(tools)}"


class ToolNotCalled(_ToolCheck):
    type: Literal["tool_not_called"]

    def describe(self) -> str:
        return f"tool_not_called {self.tool}"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        n = run.record.transcript.tool_sequence.count(self.tool)
        if n:
            return False, f"{self.tool} called {_times(n)}"
        return True, f"{self.tool} never called"


def _times(n: int) -> str:
    return "once" if n == 1 else f"{n} times"


def _tools(tools: list[str]) -> str:
    return clip(", ".join(tools), 120) if tools else "(none)"


class SkillInvoked(BaseCheck):
    type: Literal["skill_invoked"]
    skill: str | None = None  # default: the scenario's skill

    def describe(self) -> str:
        return f"skill_invoked {self.skill or '(the scenario skill)'}"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        invoked = run.record.transcript.skills_invoked
        wanted = self.skill or run.skill
        if wanted is None:
            return bool(invoked), f"skills invoked: {', '.join(invoked) or '(none)'}"
        if wanted in invoked:
            return True, f"{wanted} invoked"
        return False, f"{wanted} not invoked; skills invoked: {', '.join(invoked) or '(none)'}"


class FinalTextMatches(BaseCheck):
    type: Literal["final_text_matches"]
    pattern: str

    _valid = field_validator("pattern")(_regex)

    def describe(self) -> str:
        return f"final_text_matches /{clip(self.pattern, 40)}/"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        text = run.record.transcript.final_text
        if text is None:
            return False, "the run has no final text"
        return _search(self.pattern, text)


class MaxTurns(BaseCheck):
    type: Literal["max_turns"]
    max: int = Field(ge=1)

    def describe(self) -> str:
        return f"max_turns {self.max}"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        turns = run.record.num_turns
        if turns is None:
            return False, "turns unknown: the run has no result"
        return (
            turns <= self.max,
            f"{plural(turns, 'turn')} {'<=' if turns <= self.max else '>'} {self.max}",
        )


class MaxCost(BaseCheck):
    type: Literal["max_cost_usd"]
    max: float = Field(gt=0)

    def describe(self) -> str:
        return f"max_cost_usd {self.max:g}"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        cost = run.record.cost_usd
        if cost is None:
            return False, "cost unknown (no result, and a model without a price)"
        ok = cost <= self.max
        return ok, f"${cost:.4f} {'<=' if ok else '>'} ${self.max:g}"
