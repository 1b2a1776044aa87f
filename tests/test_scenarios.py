"""Scenario files: the example suite loads, every path stays inside the scenario's folder, and
every mistake is refused with one line naming the file and the field."""

from __future__ import annotations

import os
from pathlib import Path
from textwrap import dedent

import pytest

from runner._evaluate.checks import (
    CommandCheck,
    FileExists,
    FileMatches,
    FinalTextMatches,
    MaxCost,
    MaxTurns,
    SkillInvoked,
    ToolCalled,
    ToolNotCalled,
)
from runner._evaluate.judge import Judge
from runner._evaluate.scenarios import Scenario, ScenarioError, load_scenario, load_suite
from runner._model.script import load_script
from runner._util.inputs import SCENARIO_FILE_BYTES

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "fixtures" / "scenarios"

MINIMAL = 'instruction = "Do the task."\n'
SKILL_MD = "---\nname: changelog\ndescription: Keeps a changelog.\n---\nKeep a changelog.\n"


@pytest.fixture
def suite(tmp_path: Path) -> Path:
    """An empty suite folder, with skills/changelog/SKILL.md beside it (found by the upward
    search for skills/<name>)."""
    root = tmp_path.resolve()
    skill = root / "skills" / "changelog"
    skill.mkdir(parents=True)
    (skill / "SKILL.md").write_text(SKILL_MD)
    (root / "suite").mkdir()
    return root / "suite"


def write(suite: Path, folder: str, toml: str) -> Path:
    """``suite/<folder>/scenario.toml`` holding ``toml``; its path."""
    where = suite / folder
    where.mkdir(parents=True, exist_ok=True)
    path = where / "scenario.toml"
    path.write_text(dedent(toml))
    return path


def refused(path: Path) -> str:
    """The one-line ScenarioError loading ``path`` gives, checked to start with the file."""
    with pytest.raises(ScenarioError) as caught:
        load_scenario(path)
    message = str(caught.value)
    assert "\n" not in message
    assert "\r" not in message
    assert message.startswith(f"{path}: "), message
    return message


# ---- the example suite ----------------------------------------------------------------------


def test_the_example_suite_loads_in_name_order_with_typed_checks() -> None:
    scenarios = load_suite(EXAMPLES)
    assert [s.id for s in scenarios] == ["feature-entry", "fix-entry", "new-changelog"]
    kinds = {s.id: [type(c) for c in s.checks] for s in scenarios}
    assert kinds == {
        "feature-entry": [
            FileMatches,
            CommandCheck,
            CommandCheck,
            SkillInvoked,
            ToolCalled,
            ToolCalled,
            ToolNotCalled,
            FinalTextMatches,
            MaxTurns,
            MaxCost,
        ],
        "fix-entry": [
            FileMatches,
            CommandCheck,
            CommandCheck,
            SkillInvoked,
            ToolCalled,
            ToolNotCalled,
            FinalTextMatches,
            MaxTurns,
        ],
        "new-changelog": [
            FileExists,
            FileMatches,
            FileMatches,
            CommandCheck,
            CommandCheck,
            CommandCheck,
            ToolCalled,
            ToolNotCalled,
            SkillInvoked,
            FinalTextMatches,
            MaxCost,
            Judge,
        ],
    }
    for s in scenarios:
        assert s.folder == EXAMPLES / s.id
        assert s.workspace == EXAMPLES / s.id / "workspace"
        assert s.skill == REPO / "skills" / "changelog"  # found above the suite
        assert s.max_turns == 12
        # Every scripted model the suite names is a valid script, resolved in its folder.
        for script in s.mock.values():
            assert script.is_relative_to(s.folder)
            load_script(script)


def test_the_example_judge_mock_is_resolved_inside_its_folder() -> None:
    (scenario,) = load_suite(EXAMPLES, ["new-changelog"])
    judge = scenario.checks[-1]
    assert isinstance(judge, Judge)
    assert judge.mock == EXAMPLES / "new-changelog" / "mock" / "judge.json"
    assert judge.label == "every change in NOTES.txt, nothing invented"


def test_ids_keep_the_order_asked_and_are_taken_once() -> None:
    picked = load_suite(EXAMPLES, ["new-changelog", "feature-entry", "new-changelog"])
    assert [s.id for s in picked] == ["new-changelog", "feature-entry"]


def test_unknown_ids_are_named_with_the_ids_there() -> None:
    with pytest.raises(ScenarioError) as caught:
        load_suite(EXAMPLES, ["fix-entry", "no-such-scenario"])
    message = str(caught.value)
    assert "no-such-scenario" in message
    assert "(there: feature-entry, fix-entry, new-changelog)" in message
    assert "\n" not in message


def test_a_suite_without_scenarios_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="no such suite folder"):
        load_suite(tmp_path / "missing")
    with pytest.raises(ScenarioError, match=r"no \*/scenario\.toml"):
        load_suite(tmp_path)


# ---- ids ------------------------------------------------------------------------------------


def test_the_id_defaults_to_the_folder_name(suite: Path) -> None:
    assert load_scenario(write(suite, "add-entry", MINIMAL)).id == "add-entry"


def test_an_explicit_id_is_used(suite: Path) -> None:
    path = write(suite, "folder-name", 'id = "v2.add_entry"\n' + MINIMAL)
    assert load_scenario(path).id == "v2.add_entry"


@pytest.mark.parametrize("bad", ["has space", "-leading-dash", "a/b", ""])
def test_a_bad_id_shape_is_refused(suite: Path, bad: str) -> None:
    message = refused(write(suite, "s", f'id = "{bad}"\n' + MINIMAL))
    assert ": id: " in message


def test_a_folder_name_that_is_no_id_is_refused(suite: Path) -> None:
    message = refused(write(suite, "has space", MINIMAL))
    assert ": id: " in message


def test_duplicate_ids_name_both_files(suite: Path) -> None:
    first = write(suite, "a", 'id = "same"\n' + MINIMAL)
    second = write(suite, "b", 'id = "same"\n' + MINIMAL)
    with pytest.raises(ScenarioError) as caught:
        load_suite(suite)
    message = str(caught.value)
    assert str(first) in message
    assert str(second) in message
    assert "'same'" in message
    assert "\n" not in message


# ---- refusals: one line, the file first, then the field -------------------------------------

# (name, scenario.toml, the field named after the file, words of the problem)
REFUSALS = [
    ("bad-syntax", 'instruction = "Do it\n', "not valid TOML", "line 1"),
    ("unknown-field", MINIMAL + 'colour = "red"\n', "colour", "not permitted"),
    ("no-instruction", "timeout_s = 5\n", "instruction", "required"),
    ("timeout-type", MINIMAL + 'timeout_s = "x"\n', "timeout_s", "valid number"),
    ("timeout-zero", MINIMAL + "timeout_s = 0\n", "timeout_s", "greater than 0"),
    (
        "unknown-check",
        MINIMAL + '[[check]]\ntype = "file_present"\npath = "a"\n',
        "check.0",
        "'file_present'",
    ),
    (
        "check-unknown-field",
        MINIMAL + '[[check]]\ntype = "file_exists"\npath = "a"\nregex = "x"\n',
        "check.0.regex",
        "not permitted",
    ),
    (
        "file-matches-bad-regex",
        MINIMAL
        + '[[check]]\ntype = "file_exists"\npath = "a"\n'
        + '[[check]]\ntype = "file_matches"\npath = "a"\npattern = "(unclosed"\n',
        "check.1.pattern",
        "not a valid regular expression",
    ),
    (
        "final-text-bad-regex",
        MINIMAL + '[[check]]\ntype = "final_text_matches"\npattern = "[a-"\n',
        "check.0.pattern",
        "not a valid regular expression",
    ),
    (
        "check-path-absolute",
        MINIMAL + '[[check]]\ntype = "file_exists"\npath = "/etc/passwd"\n',
        "check.0.path",
        "'/etc/passwd'",
    ),
    (
        "check-path-up",
        MINIMAL + '[[check]]\ntype = "file_matches"\npath = "src/../../x"\npattern = "x"\n',
        "check.0.path",
        "'src/../../x'",
    ),
    ("workspace-up", MINIMAL + 'workspace = "../elsewhere"\n', "workspace", "leads out"),
    ("workspace-absolute", MINIMAL + 'workspace = "/tmp"\n', "workspace", "absolute"),
    ("workspace-missing", MINIMAL + 'workspace = "nope"\n', "workspace", "'nope' is not a folder"),
    ("mock-up", MINIMAL + 'mock = "../x.json"\n', "mock", "leads out"),
    (
        "mock-table-outside",
        MINIMAL + '[mock]\n"agent-*" = "../../elsewhere.json"\n',
        "mock",
        "leads out",
    ),
    (
        "mock-table-missing",
        MINIMAL + '[mock]\n"agent-*" = "mock/missing.json"\n',
        "mock",
        "'mock/missing.json' is not a file",
    ),
    (
        "skill-missing",
        MINIMAL + 'skill = "no-such-skill"\n',
        "skill",
        "skills/no-such-skill/SKILL.md",
    ),
    # A skill is a name under skills/, never a path: refused even where the path holds one.
    ("skill-path-up", MINIMAL + 'skill = "../x"\n', "skill", "SKILL.md"),
    ("skill-path-real", MINIMAL + 'skill = "../../skills/changelog"\n', "skill", "SKILL.md"),
    ("folder-field", MINIMAL + 'folder = "/"\n', "folder", "not a scenario field"),
    ("network-unknown", MINIMAL + 'network = "internet"\n', "network", "'model' or 'host'"),
    ("max-processes-low", MINIMAL + "max_processes = 8\n", "max_processes", "64"),
    ("max-processes-huge", MINIMAL + "max_processes = 99999999\n", "max_processes", "32768"),
    ("timeout-a-century", MINIMAL + "timeout_s = 3.2e9\n", "timeout_s", "86400"),
    ("idle-timeout-a-century", MINIMAL + "idle_timeout_s = 3.2e9\n", "idle_timeout_s", "86400"),
    ("timeout-inf", MINIMAL + "timeout_s = inf\n", "timeout_s", "86400"),
    ("max-turns-huge", MINIMAL + "max_turns = 99999999999\n", "max_turns", "10000"),
    ("budget-inf", MINIMAL + "max_budget_usd = inf\n", "max_budget_usd", "finite"),
    (
        "command-timeout-huge",
        MINIMAL + '[[check]]\ntype = "command"\nrun = "true"\ntimeout_s = 1e12\n',
        "check.0.timeout_s",
        "86400",
    ),
]


@pytest.mark.parametrize(
    ("toml", "field", "problem"),
    [pytest.param(t, f, p, id=name) for name, t, f, p in REFUSALS],
)
def test_refusals_are_one_line_naming_file_and_field(
    suite: Path, toml: str, field: str, problem: str
) -> None:
    # Real files just outside the scenario's folder: refused for where they are, not for
    # being missing.
    (suite.parent / "elsewhere").mkdir()
    (suite.parent / "elsewhere.json").write_text('{"turns": []}')
    (suite / "x").mkdir()
    (suite / "x" / "SKILL.md").write_text("a skill reached by a path\n")
    (suite / "x.json").write_text('{"turns": []}')
    message = refused(write(suite, "s", toml))
    after_file = message.split(": ", 1)[1]
    assert after_file.startswith(f"{field}:") or after_file.startswith(f"{field} ("), message
    assert problem in message


@pytest.mark.parametrize("where", ["../../elsewhere.json", "/elsewhere.json", "mock/missing.json"])
def test_a_judge_mock_must_be_a_file_in_the_folder(suite: Path, where: str) -> None:
    (suite.parent / "elsewhere.json").write_text('{"turns": []}')
    toml = MINIMAL + f'[[check]]\ntype = "judge"\nrubric = "r"\nmock = "{where}"\n'
    message = refused(write(suite, "s", toml))
    assert message.split(": ", 1)[1].startswith("check")
    assert repr(where) in message


def test_a_bad_judge_mock_names_its_check_and_field(suite: Path) -> None:
    (suite.parent / "elsewhere.json").write_text('{"turns": []}')
    toml = (
        MINIMAL
        + '[[check]]\ntype = "file_exists"\npath = "a"\n'
        + '[[check]]\ntype = "judge"\nrubric = "r"\nmock = "../../elsewhere.json"\n'
    )
    message = refused(write(suite, "s", toml))
    assert message.split(": ", 1)[1].startswith("check.1.mock: ")


@pytest.mark.parametrize(
    "toml",
    [
        MINIMAL + 'skill = "change\\nlog"\n',
        MINIMAL + '"col\\nour" = 1\n',
        MINIMAL + '[[check]]\ntype = "file\\nexists"\n',
    ],
    ids=["skill", "unknown-field", "check-type"],
)
def test_a_newline_in_a_name_keeps_the_error_on_one_line(suite: Path, toml: str) -> None:
    refused(write(suite, "s", toml))


def test_a_workspace_symlinked_out_of_the_folder_is_refused(suite: Path) -> None:
    outside = suite.parent / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for the agent\n")
    path = write(suite, "s", MINIMAL + 'workspace = "workspace"\n')
    (path.parent / "workspace").symlink_to(outside, target_is_directory=True)
    message = refused(path)
    assert "workspace: 'workspace' leads out" in message


def test_a_mock_symlinked_out_of_the_folder_is_refused(suite: Path) -> None:
    (suite.parent / "elsewhere.json").write_text('{"turns": []}')
    path = write(suite, "s", MINIMAL + 'mock = "m.json"\n')
    (path.parent / "m.json").symlink_to(suite.parent / "elsewhere.json")
    assert "mock: 'm.json' leads out" in refused(path)


def test_a_symlink_that_stays_inside_is_resolved(suite: Path) -> None:
    path = write(suite, "s", MINIMAL + 'workspace = "ws"\n')
    (path.parent / "real").mkdir()
    (path.parent / "ws").symlink_to("real", target_is_directory=True)
    assert load_scenario(path).workspace == path.parent / "real"


def test_the_nearest_skills_folder_wins(suite: Path) -> None:
    nearer = suite / "skills" / "changelog"
    nearer.mkdir(parents=True)
    (nearer / "SKILL.md").write_text(SKILL_MD.replace("Keep", "The suite's own: keep"))
    assert load_scenario(write(suite, "s", MINIMAL + 'skill = "changelog"\n')).skill == nearer


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            "Keep a changelog.\n",
            "no front matter; begin the file with lines '---', 'name: changelog', "
            "'description: what it does and when to use it', '---'",
        ),
        ("---\ndescription: Logs.\n---\n", "front matter: no name; add 'name: changelog'"),
        (
            "---\nname: changelog\n---\n",
            "front matter: no description; add 'description: what it does and when to use it'",
        ),
        (
            "---\nname: change-log\ndescription: Logs.\n---\n",
            "front matter: name 'change-log' is not the folder's name; make it "
            "'name: changelog' or rename the folder to change-log",
        ),
    ],
)
def test_a_skill_the_cli_would_not_list_is_refused(suite: Path, text: str, problem: str) -> None:
    skill_md = suite.parent / "skills" / "changelog" / "SKILL.md"
    skill_md.write_text(text)
    message = refused(write(suite, "s", MINIMAL + 'skill = "changelog"\n'))
    assert message.endswith(f": skill: {skill_md}: {problem}"), message


@pytest.mark.parametrize(
    "front",
    [
        "name: changelog\ndescription: Keeps a changelog.",
        "name: 'changelog'\ndescription: >\n  Keeps a changelog,\n  when asked.\nlicense: MIT",
        'description: |-\n  Keeps a changelog.\nname: "changelog"',
    ],
)
def test_front_matter_in_yaml_styles_is_accepted(suite: Path, front: str) -> None:
    (suite.parent / "skills" / "changelog" / "SKILL.md").write_text(f"---\n{front}\n---\nBody.\n")
    assert load_scenario(write(suite, "s", MINIMAL + 'skill = "changelog"\n')).skill


# ---- scripted models, checks per lane, the run spec -----------------------------------------


def with_scripts(suite: Path, toml: str, *scripts: str) -> Scenario:
    path = write(suite, "s", toml)
    for name in scripts:
        (path.parent / name).parent.mkdir(parents=True, exist_ok=True)
        (path.parent / name).write_text('{"turns": []}')
    return load_scenario(path)


def test_mock_script_takes_the_first_matching_glob_in_file_order(suite: Path) -> None:
    s = with_scripts(
        suite,
        MINIMAL + '[mock]\n"agent-skill*" = "skill.json"\n"*" = "any.json"\n',
        "skill.json",
        "any.json",
    )
    folder = s.folder
    assert s.mock_script("agent-skill") == folder / "skill.json"
    assert s.mock_script("agent-skill-nonudge") == folder / "skill.json"
    assert s.mock_script("agent-baseline") == folder / "any.json"
    assert s.mock_script("baseline") == folder / "any.json"


def test_a_catch_all_glob_first_shadows_the_rest(suite: Path) -> None:
    s = with_scripts(
        suite,
        MINIMAL + '[mock]\n"*" = "any.json"\n"agent-skill*" = "skill.json"\n',
        "skill.json",
        "any.json",
    )
    assert s.mock_script("agent-skill") == s.folder / "any.json"


def test_a_mock_string_is_every_lane(suite: Path) -> None:
    s = with_scripts(suite, MINIMAL + 'mock = "mock/m.json"\n', "mock/m.json")
    for lane in ("baseline", "skill", "agent-baseline", "agent-skill", "agent-skill-nonudge"):
        assert s.mock_script(lane) == s.folder / "mock" / "m.json"


def test_no_mock_or_no_match_is_none(suite: Path) -> None:
    assert with_scripts(suite, MINIMAL).mock_script("agent-skill") is None
    s = with_scripts(suite, MINIMAL + '[mock]\n"agent-*" = "a.json"\n', "a.json")
    assert s.mock_script("baseline") is None


def test_checks_for_a_lane_honours_lane_globs(suite: Path) -> None:
    toml = MINIMAL + dedent(
        """
        [[check]]
        type = "tool_called"
        tool = "Edit"

        [[check]]
        type = "skill_invoked"
        lanes = ["agent-skill*"]

        [[check]]
        type = "max_turns"
        max = 3
        lanes = ["baseline", "skill"]
        """
    )
    s = with_scripts(suite, toml)
    assert [c.label for c in s.checks_for("agent-skill-nonudge")] == [
        "tool_called Edit",
        "skill_invoked (the scenario skill)",
    ]
    labels = {
        lane: [c.label for c in s.checks_for(lane)]
        for lane in ("agent-baseline", "skill", "baseline", "agent-skill")
    }
    assert labels == {
        "agent-baseline": ["tool_called Edit"],
        "skill": ["tool_called Edit", "max_turns 3"],
        "baseline": ["tool_called Edit", "max_turns 3"],
        "agent-skill": ["tool_called Edit", "skill_invoked (the scenario skill)"],
    }


def test_a_lanes_glob_that_matches_no_lane_is_refused(suite: Path) -> None:
    # A typo would switch the check off everywhere, silently.
    toml = MINIMAL + dedent(
        """
        [[check]]
        type = "tool_called"
        tool = "Edit"
        lanes = ["agent-*"]

        [[check]]
        type = "skill_invoked"
        lanes = ["agent-skil", "skill"]
        """
    )
    message = refused(write(suite, "s", toml))
    assert message.endswith(
        "check.1 (skill_invoked (the scenario skill)): lanes: 'agent-skil' matches no lane; "
        "the lanes are: baseline, skill, agent-baseline, agent-skill, agent-skill-nonudge"
    ), message


def test_run_spec_carries_the_scenario_and_model_overrides(suite: Path) -> None:
    toml = dedent(
        """
        instruction = "Add the entry."
        workspace = "workspace"
        skill = "changelog"
        model = "claude-sonnet-4-5"
        timeout_s = 90
        idle_timeout_s = 30
        max_turns = 7
        max_budget_usd = 0.5
        nudge = "Use {skill}."
        network = "host"
        max_processes = 256
        """
    )
    path = write(suite, "entry", toml)
    (path.parent / "workspace").mkdir()
    s = load_scenario(path)
    spec = s.run_spec()
    assert spec.scenario == "entry"
    assert spec.instruction == "Add the entry."
    assert spec.fixture == path.parent / "workspace"
    assert spec.skill == suite.parent / "skills" / "changelog"
    assert spec.model == "claude-sonnet-4-5"
    assert (spec.timeout_s, spec.idle_timeout_s) == (90, 30)
    assert (spec.max_turns, spec.max_budget_usd) == (7, 0.5)
    assert spec.nudge == "Use {skill}."
    assert (spec.sandbox, spec.network, spec.max_processes) == ("bwrap", "host", 256)
    assert s.run_spec(sandbox="none").sandbox == "none"
    overridden = s.run_spec(model="claude-haiku-4-5")
    assert overridden.model == "claude-haiku-4-5"
    assert overridden.model_copy(update={"model": spec.model}) == spec


def test_run_spec_defaults_to_an_empty_workspace_and_no_limits(suite: Path) -> None:
    spec = load_scenario(write(suite, "bare", MINIMAL)).run_spec()
    assert spec.fixture is None
    assert spec.skill is None
    assert spec.model is None
    assert (spec.max_turns, spec.max_budget_usd, spec.nudge) == (None, None, None)
    assert (spec.timeout_s, spec.idle_timeout_s) == (600.0, 180.0)


# ---- what the fixture holds -------------------------------------------------------------------


def with_fixture(suite: Path) -> tuple[Path, Path]:
    """A scenario with a workspace folder holding one file; its scenario.toml and the folder."""
    path = write(suite, "s", MINIMAL + 'workspace = "workspace"\n')
    fixture = path.parent / "workspace"
    (fixture / "sub").mkdir(parents=True)
    (fixture / "notes.txt").write_text("notes\n")
    return path, fixture


@pytest.mark.parametrize(
    ("link", "target"),
    [
        ("passwd", "/etc/passwd"),  # absolute: the host's file
        ("sub/up", "../../scenario.toml"),  # climbs above the fixture, into the scenario
        ("sub/hosts", "../../../../../../../../etc/hosts"),
    ],
)
def test_a_fixture_symlink_out_is_refused_naming_fixture_link_and_target(
    suite: Path, link: str, target: str
) -> None:
    path, fixture = with_fixture(suite)
    (fixture / link).symlink_to(target)
    message = refused(path)
    assert message.startswith(f"{path}: workspace: {fixture / link} -> {target}: "), message
    assert f"a symlink out of {fixture}" in message


def test_a_symlink_out_through_another_link_names_both(suite: Path) -> None:
    path, fixture = with_fixture(suite)
    (fixture / "here").symlink_to(".")  # inside, harmless alone
    (fixture / "sub" / "escape").symlink_to("../here/..")  # ".." of the fixture's root
    message = refused(path)
    assert f"{fixture / 'sub' / 'escape'} -> ../here/..: a symlink out of {fixture}" in message
    assert "through" in message


def test_fixture_symlinks_that_stay_inside_are_kept(suite: Path) -> None:
    path, fixture = with_fixture(suite)
    (fixture / "alias.txt").symlink_to("notes.txt")
    (fixture / "sub" / "up.txt").symlink_to("../notes.txt")
    (fixture / "sub" / "dangling").symlink_to("not-yet-written.txt")  # the agent may write it
    (fixture / "loop").symlink_to("loop")
    assert load_scenario(path).workspace == fixture


def test_a_fifo_in_the_fixture_is_refused(suite: Path) -> None:
    path, fixture = with_fixture(suite)
    os.mkfifo(fixture / "sub" / "pipe")
    message = refused(path)
    assert f"workspace: {fixture / 'sub' / 'pipe'} is a FIFO (named pipe)" in message


def test_a_skill_with_a_symlink_out_is_refused(suite: Path) -> None:
    skill = suite.parent / "skills" / "changelog"
    (skill / "leak.md").symlink_to("/etc/passwd")
    message = refused(write(suite, "s", MINIMAL + 'skill = "changelog"\n'))
    assert f"skill: {skill / 'leak.md'} -> /etc/passwd: a symlink out of {skill}" in message


# ---- the scenario file itself -----------------------------------------------------------------


def test_a_scenario_file_that_is_a_fifo_is_refused_without_opening_it(suite: Path) -> None:
    (suite / "s").mkdir()
    os.mkfifo(suite / "s" / "scenario.toml")  # no writer: an open would wait for ever
    message = refused(suite / "s" / "scenario.toml")
    assert "cannot read (a FIFO (named pipe), not a regular file; give a file)" in message


def test_a_scenario_file_that_is_a_folder_is_refused(suite: Path) -> None:
    (suite / "s" / "scenario.toml").mkdir(parents=True)
    with pytest.raises(ScenarioError, match="a folder, not a regular file"):
        load_suite(suite)


def test_a_scenario_file_over_the_cap_is_refused_unread(suite: Path) -> None:
    path = write(suite, "s", MINIMAL)
    os.truncate(path, SCENARIO_FILE_BYTES + 1)  # sparse: nothing is written to the disk
    message = refused(path)
    assert "over the 1.0 MiB runner reads of such a file" in message
