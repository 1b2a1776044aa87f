"""What a run received, for the page: its instruction, the nudge and the skill's SKILL.md, and
the workspace it started from (for file diffs).

A cached run's ``key.json`` holds the instruction and the argv (the nudge, or in the skill lane
SKILL.md's text, is its ``--append-system-prompt``); an installed skill and the fixture are only
digests there, so their folders are found in the suite the result names and used only when
their tree digest is the run's: a skill edited since is not shown as the one the run had.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, ValidationError

from runner._agent.lanes import LANES
from runner._evaluate.run_keys import tree_digest
from runner._evaluate.scenarios import SCENARIO_FILE, Scenario, ScenarioError, load_scenario
from runner._report.timeline import Clip
from runner._util.inputs import RESULT_FILE_BYTES, SKILL_FILE_BYTES, read_input

SKILL_CHARS = 20_000  # a SKILL.md is read whole by the model; the page keeps its start
_PROMPT_FLAG = "--append-system-prompt="


class KeyInputs(BaseModel):
    """The fields of a run's key.json the page uses; any other key schema's fields ignored."""

    model_config = ConfigDict(extra="ignore")

    instruction: str | None = None
    argv: list[str] = []
    fixture: str | None = None  # tree digest; None: an empty workspace
    skill: str | None = None  # tree digest, when the lane installs the skill


class SkillView(BaseModel):
    """A SKILL.md as a run had it: once per result, runs name it by ``ref``."""

    name: str
    text: Clip
    source: str  # where the text was found, in a line


class Received(BaseModel):
    instruction: Clip | None = None
    nudge: Clip | None = None  # agent-skill's system-prompt addition
    skill: str | None = None  # the SkillView's ref in the result's extras
    notes: list[str] = []  # what could not be shown, and why


def read_key(run_dir: str | Path | None) -> KeyInputs | None:
    """The run folder's key.json, or None without one (a run not from the cache)."""
    if run_dir is None:
        return None
    try:
        return KeyInputs.model_validate_json(
            read_input(Path(run_dir) / "key.json", limit=RESULT_FILE_BYTES)
        )
    except (OSError, ValidationError):
        return None


def appended_prompt(argv: list[str]) -> str | None:
    return next((a[len(_PROMPT_FLAG) :] for a in argv if a.startswith(_PROMPT_FLAG)), None)


class Suite:
    """The suite a result names, its scenarios loaded once each, their trees digested once."""

    def __init__(self, folder: str) -> None:
        self.folder = Path(folder)
        self._scenarios: dict[str, Scenario | None] = {}
        self._digests: dict[Path, str | None] = {}
        self._refs: dict[tuple[str, str, str], str] = {}
        self.skills: dict[str, SkillView] = {}

    def scenario(self, name: str) -> Scenario | None:
        if name not in self._scenarios:
            try:
                found: Scenario | None = load_scenario(self.folder / name / SCENARIO_FILE)
            except (ScenarioError, OSError):
                found = None
            self._scenarios[name] = found
        return self._scenarios[name]

    def _digest(self, tree: Path) -> str | None:
        if tree not in self._digests:
            try:
                self._digests[tree] = tree_digest(tree)
            except OSError:
                self._digests[tree] = None
        return self._digests[tree]

    def fixture(self, scenario: str, key: KeyInputs | None) -> Path | None:
        """The scenario's workspace folder, if it is the one the run started from."""
        found = self.scenario(scenario)
        if key is None or found is None or found.workspace is None or key.fixture is None:
            return None
        return found.workspace if self._digest(found.workspace) == key.fixture else None

    def _add_skill(self, name: str, text: str, source: str) -> str:
        ref = self._refs.setdefault((name, source, text), f"skill-{len(self._refs)}")
        if ref not in self.skills:
            self.skills[ref] = SkillView(name=name, text=Clip.of(text, SKILL_CHARS), source=source)
        return ref

    def received(self, scenario: str, lane_name: str, key: KeyInputs | None) -> Received:
        """What a run of ``scenario`` in ``lane_name`` with ``key`` (its key.json) was given."""
        lane = LANES.get(lane_name)
        found = self.scenario(scenario)
        got = Received()
        if key is not None and key.instruction is not None:
            got.instruction = Clip.of(key.instruction)
        elif found is not None:
            got.instruction = Clip.of(found.instruction)
            got.notes.append(
                "the instruction as the suite has it now (the run's key.json is not at hand)"
            )
        else:
            got.notes.append("the instruction is not at hand: no key.json in the run folder")
        if lane is None or not lane.uses_skill:
            return got
        appended = None if key is None else appended_prompt(key.argv)
        if lane.skill == "system_prompt":
            if appended is not None:
                name = found.skill.name if found is not None and found.skill else "skill"
                got.skill = self._add_skill(name, appended, "SKILL.md in the system prompt (argv)")
            return got
        if lane.nudge and appended is not None:
            got.nudge = Clip.of(appended)
        got.skill = self._installed(scenario, found, key, got)
        return got

    def _installed(
        self, scenario: str, found: Scenario | None, key: KeyInputs | None, got: Received
    ) -> str | None:
        if found is None or found.skill is None:
            got.notes.append(
                f"the skill's SKILL.md is not at hand: no scenario {scenario} with a skill in "
                f"{self.folder} (run report in the folder eval ran in)"
            )
            return None
        if key is None:
            got.notes.append("no key.json in the run folder says which SKILL.md the run had")
            return None
        if self._digest(found.skill) != key.skill:
            got.notes.append(f"{found.skill} has changed since this run: its SKILL.md is not shown")
            return None
        try:
            text = read_input(found.skill / "SKILL.md", limit=SKILL_FILE_BYTES).decode(
                "utf-8", "replace"
            )
        except OSError as exc:
            got.notes.append(f"{found.skill}/SKILL.md cannot be read ({exc.strerror})")
            return None
        return self._add_skill(found.skill.name, text, f"{found.skill}/SKILL.md, installed")
