"""Scenario files: ``<suite>/<id>/scenario.toml``, validated, with every path kept inside.

A scenario names its instruction, the workspace copied for each run, the skill under
``skills/``, limits, the scripted models for offline runs, and its ``[[check]]`` tables
(``runner._evaluate.checks`` holds the check kinds). A bad file is one ``ScenarioError`` line naming
the file, the field and the problem.
"""

from __future__ import annotations

import fnmatch
import re
import tomllib
from pathlib import Path
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)

from runner._agent.engine import RunSpec
from runner._agent.jail import DEFAULT_MAX_PROCESSES, MIN_PROCESSES, Network
from runner._agent.lanes import LANES
from runner._agent.sandbox import SandboxMode
from runner._evaluate.checks import path_inside
from runner._evaluate.scoring import Check
from runner._util.inputs import (
    MAX_PROCESSES,
    MAX_TIMEOUT_S,
    MAX_TURNS,
    SCENARIO_FILE_BYTES,
    SKILL_FILE_BYTES,
    read_input,
    tree_problems,
)

SCENARIO_FILE = "scenario.toml"
ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
# SKILL.md's front matter (Agent Skills format): a "---" line, "key: value" lines, "---".
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$", re.DOTALL | re.MULTILINE)
_FRONT_KEY = re.compile(r"^([A-Za-z0-9_-]+):(.*)$")


class ScenarioError(ValueError):
    """A scenario that cannot be used; the message is one line: file, field, problem."""

    def __init__(self, message: str) -> None:
        # One line whatever a name holds: a TOML "\n" escape in a key stays visible, escaped.
        super().__init__(message.replace("\r", "\\r").replace("\n", "\\n"))


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)

    id: str
    folder: Path  # the scenario's folder: every relative path below is resolved against it
    instruction: str = Field(min_length=1)
    workspace: Path | None = None  # resolved; None: an empty folder
    skill: Path | None = None  # resolved skill folder (holds SKILL.md)
    model: str | None = None
    timeout_s: float = Field(default=600.0, gt=0, le=MAX_TIMEOUT_S)
    idle_timeout_s: float | None = Field(default=180.0, gt=0, le=MAX_TIMEOUT_S)
    max_turns: int | None = Field(default=None, ge=1, le=MAX_TURNS)
    max_budget_usd: float | None = Field(default=None, gt=0, allow_inf_nan=False)
    nudge: str | None = None
    # In the sandbox: "model" reaches only the model endpoint; "host" shares the machine's
    # network (for tasks that need the internet).
    network: Network = "model"
    max_processes: int = Field(default=DEFAULT_MAX_PROCESSES, ge=MIN_PROCESSES, le=MAX_PROCESSES)
    # Scripted models for offline runs: lane glob -> script file, first match wins.
    mock: dict[str, Path] = {}  # not default_factory=dict: see RunResult.tool_sequence
    checks: tuple[Check, ...] = Field(default=(), alias="check")

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not ID_PATTERN.match(value):
            raise ValueError("use letters, digits, '.', '_' and '-' (it names folders and files)")
        return value

    @field_validator("workspace", mode="before")
    @classmethod
    def _workspace_inside(cls, value: Any, info: ValidationInfo) -> Any:
        if value is None:
            return None
        path = path_inside(info.data["folder"], value)
        if not path.is_dir():
            raise ValueError(f"{value!r} is not a folder beside {SCENARIO_FILE}")
        return _copyable(path)

    @field_validator("skill")
    @classmethod
    def _skill_copyable(cls, value: Path | None) -> Path | None:
        return None if value is None else _copyable(value)

    @field_validator("mock", mode="before")
    @classmethod
    def _mock_inside(cls, value: Any, info: ValidationInfo) -> Any:
        if isinstance(value, str):
            value = {"*": value}
        if not isinstance(value, dict):
            # pydantic turns only ValueError into a validation error, hence not TypeError.
            raise ValueError('give a script file, or a table: {"agent-*" = "x.json"}')  # noqa: TRY004
        resolved = {}
        for glob, where in value.items():
            if not isinstance(where, str):
                raise ValueError(f"{glob}: give the script's path as a string")  # noqa: TRY004
            path = path_inside(info.data["folder"], where)
            if not path.is_file():
                raise ValueError(f"{glob}: {where!r} is not a file in the scenario's folder")
            resolved[glob] = path
        return resolved

    def mock_script(self, lane: str) -> Path | None:
        """The scripted model for ``lane`` (None: no script matches)."""
        return next((p for glob, p in self.mock.items() if fnmatch.fnmatchcase(lane, glob)), None)

    def checks_for(self, lane: str) -> list[Check]:
        return [c for c in self.checks if c.applies_to(lane)]

    def run_spec(self, *, model: str | None = None, sandbox: SandboxMode = "bwrap") -> RunSpec:
        """The engine's spec; ``model`` (``eval --model``) overrides the scenario's."""
        return RunSpec(
            scenario=self.id,
            instruction=self.instruction,
            fixture=self.workspace,
            skill=self.skill,
            model=model or self.model,
            timeout_s=self.timeout_s,
            idle_timeout_s=self.idle_timeout_s,
            max_turns=self.max_turns,
            max_budget_usd=self.max_budget_usd,
            nudge=self.nudge,
            sandbox=sandbox,
            network=self.network,
            max_processes=self.max_processes,
        )


def _copyable(tree: Path) -> Path:
    """``tree``, refused when copying it for a run would reach outside it (a symlink out) or
    cannot be done (a FIFO, socket or device in it): found here, before any run."""
    problem = next(tree_problems(tree), None)
    if problem is not None:
        raise ValueError(problem)
    return tree


def find_skill(name: str, start: Path) -> Path | None:
    """``skills/<name>`` in ``start`` or the nearest folder above it that has one."""
    if "/" in name or "\\" in name or name in {".", ".."}:
        return None
    for folder in [start, *start.parents]:
        candidate = folder / "skills" / name
        # exists, not is_file: a SKILL.md that is no file is refused with its reason, later.
        if (candidate / "SKILL.md").exists():
            return candidate
    return None


def skill_problem(skill: Path) -> str | None:
    """Why the CLI would not list ``skill`` (None: it would): SKILL.md's front matter must
    give ``name`` (the folder's name) and ``description``. One line naming the file and the fix."""
    skill_md = skill / "SKILL.md"
    try:
        text = read_input(skill_md, limit=SKILL_FILE_BYTES).decode("utf-8")
    except OSError as exc:
        return f"{skill_md}: cannot read ({exc.strerror})"
    except UnicodeDecodeError as exc:
        return f"{skill_md}: not UTF-8 text ({exc.reason}); save it as UTF-8"
    fields = _front_matter(text)
    if fields is None:
        return (
            f"{skill_md}: no front matter; begin the file with lines '---', 'name: {skill.name}', "
            "'description: what it does and when to use it', '---'"
        )
    name = fields.get("name", "").strip("'\"")
    if not name:
        return f"{skill_md}: front matter: no name; add 'name: {skill.name}'"
    if name != skill.name:
        return (
            f"{skill_md}: front matter: name {name!r} is not the folder's name; "
            f"make it 'name: {skill.name}' or rename the folder to {name}"
        )
    if not re.sub(r"^[>|][+-]?", "", fields.get("description", "")).strip("'\" "):
        return (
            f"{skill_md}: front matter: no description; "
            "add 'description: what it does and when to use it'"
        )
    return None


def _front_matter(text: str) -> dict[str, str] | None:
    """The top-level ``key: value`` pairs of the front matter, an indented line continuing the
    value before it (YAML's folded and literal blocks, enough for name and description)."""
    match = _FRONT_MATTER.match(text.removeprefix("\ufeff"))
    if match is None:
        return None
    fields: dict[str, str] = {}
    key = None
    for line in match.group(1).splitlines():
        if found := _FRONT_KEY.match(line):
            key = found.group(1)
            fields[key] = found.group(2).strip()
        elif key is not None and line[:1] in {" ", "\t"}:
            fields[key] = f"{fields[key]} {line.strip()}".strip()
    return fields


def load_scenario(path: Path) -> Scenario:
    """Read and validate one ``scenario.toml``."""
    folder = path.parent.resolve()
    try:
        data = tomllib.loads(read_input(path, limit=SCENARIO_FILE_BYTES).decode("utf-8"))
    except OSError as exc:
        raise ScenarioError(f"{path}: cannot read ({exc.strerror})") from exc
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: not valid TOML ({exc})") from exc
    if "folder" in data:  # set by the loader, never by the file
        raise ScenarioError(f"{path}: folder: not a scenario field")
    data.setdefault("id", path.parent.name)
    if isinstance(skill := data.get("skill"), str):
        found = find_skill(skill, folder)
        if found is None:
            raise ScenarioError(
                f"{path}: skill: no skills/{skill}/SKILL.md in {folder} or a folder above it"
            )
        if (problem := skill_problem(found)) is not None:
            raise ScenarioError(f"{path}: skill: {problem}")
        data["skill"] = found
    try:
        # The context carries the folder to the checks, which resolve their own paths.
        scenario = Scenario.model_validate({**data, "folder": folder}, context={"folder": folder})
    except ValidationError as exc:
        raise ScenarioError(f"{path}: {_first_problem(exc)}") from None
    _check_lane_globs(path, scenario)
    return scenario


def _check_lane_globs(path: Path, scenario: Scenario) -> None:
    """Refuse a check's ``lanes`` glob that matches no lane: it would switch the check off
    without a word (a typo such as ``agent-skil``)."""
    for index, check in enumerate(scenario.checks):
        for glob in check.lanes:
            if not any(fnmatch.fnmatchcase(lane, glob) for lane in LANES):
                raise ScenarioError(
                    f"{path}: check.{index} ({check.label}): lanes: {glob!r} matches no lane; "
                    f"the lanes are: {', '.join(LANES)}"
                )


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    loc = ".".join(str(part) for part in error["loc"])
    # A discriminated union adds the tag to the path (check.0.file_exists.path): drop it.
    loc = re.sub(r"^(check\.\d+)\.[a-z_]+\.", r"\1.", loc)
    message = error["msg"].removeprefix("Value error, ")
    where = f"{loc}: " if loc else ""
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return f"{where}{message}{more}"


def load_suite(suite: Path, ids: list[str] | None = None) -> list[Scenario]:
    """Every ``<suite>/*/scenario.toml`` in name order, or the ``ids`` asked for, in that order."""
    if not suite.is_dir():
        what = "not a folder; give the suite's folder" if suite.exists() else "no such suite folder"
        raise ScenarioError(f"{suite}: {what}")
    scenarios = [load_scenario(p) for p in sorted(suite.glob(f"*/{SCENARIO_FILE}"))]
    if not scenarios:
        raise ScenarioError(f"{suite}: no */{SCENARIO_FILE} in this folder")
    by_id: dict[str, Scenario] = {}
    for s in scenarios:
        if s.id in by_id:
            raise ScenarioError(
                f"{s.folder / SCENARIO_FILE}: id: {s.id!r} is also the id of "
                f"{by_id[s.id].folder / SCENARIO_FILE}"
            )
        by_id[s.id] = s
    if ids is None:
        return scenarios
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise ScenarioError(
            f"--scenarios: no scenario {', '.join(missing)} in {suite} (there: {', '.join(by_id)})"
        )
    return [by_id[i] for i in dict.fromkeys(ids)]
