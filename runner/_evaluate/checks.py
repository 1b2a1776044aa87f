"""Check kinds and scoring. A check is scored from a stored run, never a live one: its record
(the transcript's summary) and its captured files laid over the fixture. So editing a check
re-scores a cached run without running the agent again.

Each kind is a ``[[check]]`` table with ``type``; ``lanes`` (globs) limits where it applies.
"""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import signal
import subprocess
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Annotated, Any, Literal

import anyio
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from runner._agent.engine import RunRecord
from runner._agent.jail import WORKSPACE, Network
from runner._agent.sandbox import SandboxMode, confined, default_mode
from runner._agent.workspace import FileChange
from runner._evaluate.results import CheckResult
from runner._util.figures import plural
from runner._util.inputs import MAX_TIMEOUT_S, LinkOutside, open_input, resolve_inside

_SHOWN = 60  # characters of a pattern, text or output quoted in a detail


def _clip(text: str, width: int = _SHOWN) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class JudgeVerdict:
    passed: bool
    detail: str


# The suite supplies the judge: it runs the rubric through the CLI and the cache.
JudgeFn = Callable[["Judge", str], Awaitable[JudgeVerdict]]


@dataclass
class RunView:
    """A finished run as checks see it."""

    record: RunRecord
    run_dir: Path  # holds files/: the added and changed files
    fixture: Path | None  # the workspace the run started from
    instruction: str = ""  # the task the agent was given, for the judge
    skill: str | None = None  # the scenario's skill, for skill_invoked without a name
    judge: JudgeFn | None = None
    # Where command checks run: they read what the agent wrote, so in the run's sandbox.
    sandbox: SandboxMode = field(default_factory=default_mode)
    network: Network = "model"

    def change(self, path: str) -> FileChange | None:
        return next((c for c in self.record.files if c.path == path), None)

    def _link(self, path: str) -> str | None:
        """The target of ``path`` if it is a symlink as the run left it."""
        change = self.change(path)
        if change is not None:
            if change.change == "deleted" or not change.symlink:
                return None
            return os.readlink(self.run_dir / "files" / path)
        if self.fixture is not None and (self.fixture / path).is_symlink():
            return os.readlink(self.fixture / path)
        return None

    def resolve(self, path: str) -> str:
        """``path`` with every symlink on it followed in the workspace as the run left it;
        LinkOutside when one leads out. Checks read the host's copy of the workspace, where a
        link the agent made to /etc/passwd would be the host's /etc/passwd."""
        # In the sandbox the agent saw its workspace at /workspace: a link to a file there is
        # a link inside.
        seen_as = WORKSPACE if self.sandbox == "bwrap" else None
        return resolve_inside(path, self._link, root_seen_as=seen_as)

    def exists(self, path: str) -> bool:
        """Whether ``path`` (a file or a folder) is there as the run left it; LinkOutside
        when a symlink on it leads out of the workspace."""
        path = self.resolve(path)
        change = self.change(path)
        if change is not None:
            return change.change != "deleted"
        inside = path.rstrip("/") + "/"
        if any(c.path.startswith(inside) and c.change != "deleted" for c in self.record.files):
            return True  # a folder holding a file the run added or changed
        return self.fixture is not None and (self.fixture / path).exists()

    def final_file(self, path: str) -> Path | None:
        """Where ``path``'s bytes are as the run left it; None when it is not there;
        LinkOutside when a symlink on it leads out of the workspace."""
        path = self.resolve(path)
        change = self.change(path)
        if change is not None:
            if change.change == "deleted":
                return None
            return _within(self.run_dir / "files", path)
        if self.fixture is not None and (self.fixture / path).exists():
            return _within(self.fixture, path)
        return None

    @contextmanager
    def finished_workspace(self) -> Iterator[Path]:
        """The workspace as the run left it, rebuilt in a temporary folder: the fixture, less
        what the run deleted, plus what it added and changed."""
        with tempfile.TemporaryDirectory(prefix="runner-check-") as tmp:
            root = Path(tmp) / "work"
            if self.fixture is not None:
                shutil.copytree(self.fixture, root, symlinks=True)
            else:
                root.mkdir()
            for c in self.record.files:
                if c.change == "deleted":
                    _clear(root / c.path)
            for c in self.record.files:
                if c.change != "deleted":
                    _lay(self.run_dir / "files" / c.path, root, c.path)
            yield root


def _within(base: Path, rel: str) -> Path:
    """``base / rel``, made sure of on the disk: the name-by-name resolution above has
    followed every link, so this only fails if the disk disagrees with the record."""
    where = base / rel
    if not Path(os.path.realpath(where)).is_relative_to(os.path.realpath(base)):
        raise LinkOutside(rel, os.path.realpath(where))
    return where


def _outside(path: str, exc: LinkOutside) -> tuple[bool, str]:
    return False, f"{path}: {exc}; the check does not follow it"


def _clear(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def _lay(src: Path, root: Path, rel: str) -> None:
    """Put the captured ``src`` at ``root/rel``, making room: a run may have turned a folder
    into a file (``rm -r sub; echo > sub``) or a file into a folder."""
    parts = PurePosixPath(rel).parts
    for i in range(1, len(parts)):
        parent = root.joinpath(*parts[:i])
        if parent.is_symlink() or parent.is_file():
            parent.unlink()
    dest = root / rel
    _clear(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if src.is_symlink():
        dest.symlink_to(os.readlink(src))
    elif src.is_file():
        shutil.copy2(src, dest)


class _Check(BaseModel):
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
        return False, f"no match for /{_clip(pattern)}/ in: {_clip(text)}"
    line = text.count("\n", 0, found.start()) + 1
    return True, f"line {line}: {_clip(found.group(0)) or '(empty match)'}"


class _FileCheck(_Check):
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
        return f"file_matches {self.path} /{_clip(self.pattern, 40)}/"

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


class CommandCheck(_Check):
    type: Literal["command"]
    run: str = Field(min_length=1)  # run with sh -c in the finished workspace; exit 0 passes
    timeout_s: float = Field(default=60.0, gt=0, le=MAX_TIMEOUT_S)

    def describe(self) -> str:
        return f"command `{_clip(self.run, 50)}`"

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
        tail = _clip(output.strip().splitlines()[-1]) if output.strip() else "no output"
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


class _ToolCheck(_Check):
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
    return _clip(", ".join(tools), 120) if tools else "(none)"


class SkillInvoked(_Check):
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


class FinalTextMatches(_Check):
    type: Literal["final_text_matches"]
    pattern: str

    _valid = field_validator("pattern")(_regex)

    def describe(self) -> str:
        return f"final_text_matches /{_clip(self.pattern, 40)}/"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        text = run.record.transcript.final_text
        if text is None:
            return False, "the run has no final text"
        return _search(self.pattern, text)


class MaxTurns(_Check):
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


class MaxCost(_Check):
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


JUDGE_FILE_CHARS = 20_000  # of each changed file shown to the judge


class Judge(_Check):
    type: Literal["judge"]
    rubric: str = Field(min_length=1)
    model: str | None = None  # default: the scenario's model
    mock: Path | None = None  # the judge's scripted model for offline runs (resolved on load)

    @field_validator("mock", mode="before")
    @classmethod
    def _mock_inside(cls, value: Any, info: ValidationInfo) -> Any:
        folder = (info.context or {}).get("folder")
        if value is None or folder is None:
            return value
        path = path_inside(folder, value)
        if not path.is_file():
            raise ValueError(f"{value!r} is not a file in the scenario's folder")
        return path

    def describe(self) -> str:
        return f"judge: {_clip(self.rubric, 40)}"

    async def verdict(self, run: RunView) -> tuple[bool, str]:
        if run.judge is None:
            return False, "no judge available"
        verdict = await run.judge(self, judge_prompt(self.rubric, run))
        return verdict.passed, verdict.detail


def judge_prompt(rubric: str, run: RunView) -> str:
    """Everything the judge sees, built from the stored run only (so it is cacheable)."""
    parts = [
        "You are grading the work of an AI coding agent against a rubric.",
        f"<task>\n{run.instruction}\n</task>",
        f"<rubric>\n{rubric}\n</rubric>",
        f"<final_message>\n{run.record.transcript.final_text or '(none)'}\n</final_message>",
    ]
    for c in run.record.files:
        if c.change == "deleted":
            parts.append(f'<file path="{c.path}" deleted="true"/>')
            continue
        if c.symlink:  # its target's name only: never the bytes of whatever it points to
            parts.append(
                f'<file path="{c.path}" symlink="{os.readlink(run.run_dir / "files" / c.path)}"/>'
            )
            continue
        where = run.final_file(c.path)
        body = b""
        if where is not None and where.is_file():
            with open_input(where) as f:
                body = f.read(JUDGE_FILE_CHARS)
        parts.append(f'<file path="{c.path}">\n{body.decode(errors="replace")}\n</file>')
    parts.append(
        "Answer with one line of reasons, then a last line that is exactly "
        "VERDICT: PASS or VERDICT: FAIL."
    )
    return "\n\n".join(parts)


_VERDICT = re.compile(r"VERDICT:\s*(PASS|FAIL)\b", re.IGNORECASE)


def parse_verdict(text: str | None) -> JudgeVerdict:
    """The judge's last ``VERDICT:`` line, with the line before it as the reason."""
    found = list(_VERDICT.finditer(text or ""))
    if not found:
        return JudgeVerdict(False, f"the judge gave no verdict: {_clip(text or '(no text)')}")
    last = found[-1]
    before = [line for line in (text or "")[: last.start()].splitlines() if line.strip()]
    reason = _clip(before[-1]) if before else "(no reason given)"
    return JudgeVerdict(last.group(1).upper() == "PASS", reason)


Check = Annotated[
    FileExists
    | FileMatches
    | CommandCheck
    | ToolCalled
    | ToolNotCalled
    | SkillInvoked
    | FinalTextMatches
    | MaxTurns
    | MaxCost
    | Judge,
    Field(discriminator="type"),
]


async def score(checks: list[Check], run: RunView) -> list[CheckResult]:
    """Each check's result, in order. A check that cannot be scored fails with the reason."""
    results = []
    for check in checks:
        try:
            results.append(await check.score(run))
        except Exception as exc:  # a bug included: this check fails with it, not the eval
            known = isinstance(exc, (OSError, LinkOutside))
            why = str(exc) if known else f"{type(exc).__name__}: {exc}"
            results.append(CheckResult(name=check.label, passed=False, detail=f"error: {why}"))
    return results
