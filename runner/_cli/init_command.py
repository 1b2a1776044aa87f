"""``python -m runner init``: a new skill and a scenario for it, from
``runner/_cli/templates/init``.

The scaffold is a working example, not a blank form: its scenario has scripted models for the
agent lanes, so the first ``eval`` passes offline for $0, and its comments teach the formats.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from runner._cli.cmdline import HelpFormatter, absolute, fail
from runner._util.defaults import DEFAULT_SUITE

if TYPE_CHECKING:
    from importlib.resources.abc import Traversable

# The Agent Skills format's rule for a skill's name (and so its folder's).
SKILL_NAME = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
SKILL_NAME_MAX = 64
# What the templates say where the new names go.
PLACEHOLDERS = ("__SKILL__", "__SCENARIO__")


def _skill_name(text: str) -> str:
    if len(text) > SKILL_NAME_MAX or not SKILL_NAME.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a skill name: use lowercase letters, digits and single hyphens "
            f"inside, at most {SKILL_NAME_MAX} characters (e.g. release-notes)"
        )
    return text


def _scenario_id(text: str) -> str:
    from runner._evaluate.scenarios import ID_PATTERN  # only init pays for it

    if not ID_PATTERN.match(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a scenario id: use letters, digits, '.', '_' and '-', "
            "starting with a letter or digit"
        )
    return text


def _init(args: argparse.Namespace) -> int:
    from runner._evaluate.scenarios import SCENARIO_FILE

    scenario = args.scenario or f"{args.skill}-example"
    skill_dir = args.dir / "skills" / args.skill
    suite = args.dir / DEFAULT_SUITE
    scenario_dir = suite / scenario
    for folder, fix in ((skill_dir, "pick another SKILL_NAME"), (scenario_dir, "give --scenario")):
        if folder.exists():
            return fail(f"{folder} already exists; {fix}, or move it away (init never overwrites)")
    values = dict(zip(PLACEHOLDERS, (args.skill, scenario), strict=True))
    # Found here, not when the parser is built: importlib.resources costs every command's start.
    from importlib.resources import files

    templates = files("runner._cli") / "templates" / "init"
    _lay_out(templates / "skill", skill_dir, values)
    try:
        _lay_out(templates / "scenario", scenario_dir, values)
    except BaseException:
        shutil.rmtree(skill_dir)  # both or neither: a second try must not find one of them
        raise
    print(f"created {_shown(skill_dir / 'SKILL.md')}: the skill (edit its description and body)")
    print(
        f"created {_shown(scenario_dir / SCENARIO_FILE)}, workspace/ and mock/: a scenario for it"
    )
    where = "" if suite == Path.cwd() / DEFAULT_SUITE else f" --suite {shlex.quote(_shown(suite))}"
    only = f"{where} --scenarios {scenario}"
    print("next, offline and $0 (the scripted models in mock/):")
    print(f"  python -m runner eval --lanes agent-skill{only}")
    print(f"  python -m runner ab --lanes agent-baseline,agent-skill{only} --trials 1")
    print("then write your own task, checks and scripts; with ANTHROPIC_API_KEY set, runs are live")
    return 0


def _lay_out(template: Traversable, target: Path, values: dict[str, str]) -> None:
    """``template`` copied to ``target`` with the placeholders filled in, whole or not at all:
    built in a hidden folder beside it, then renamed into place."""
    target.parent.mkdir(parents=True, exist_ok=True)
    building = target.parent / f".{target.name}.{os.getpid()}.init"
    building.mkdir()  # not mkdtemp: its 0700 would stay on the user's folder
    try:
        _copy(template, building, values)
        building.rename(target)
    except BaseException:
        shutil.rmtree(building, ignore_errors=True)
        raise


def _copy(template: Traversable, into: Path, values: dict[str, str]) -> None:
    for entry in template.iterdir():
        if entry.is_dir():
            (into / entry.name).mkdir()
            _copy(entry, into / entry.name, values)
            continue
        text = entry.read_text(encoding="utf-8")
        for placeholder, value in values.items():
            text = text.replace(placeholder, value)
        (into / entry.name).write_text(text, encoding="utf-8")


def _shown(path: Path) -> str:
    """``path`` relative to the working directory when it is inside it: shorter to copy."""
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


INIT_EPILOG = """\
It writes two folders, and refuses to touch either if it exists:
  DIR/skills/SKILL_NAME/SKILL.md          the skill: front matter (name, description), body
  DIR/fixtures/scenarios/ID/scenario.toml the task, its limits, its checks, [mock] scripts
  DIR/fixtures/scenarios/ID/workspace/    the files each run starts with (a fresh copy)
  DIR/fixtures/scenarios/ID/mock/*.json   scripted models for the agent lanes (README.md)

The example passes offline at once: agent-skill (and agent-skill-nonudge) load the skill and
pass; agent-baseline does the task without it and fails the checks the skill is for. Then
replace the example with your skill, task and checks, and record scripts or run live.

examples:
  python -m runner init release-notes
  python -m runner eval --lanes agent-skill --scenarios release-notes-example
  python -m runner init release-notes --scenario notes-from-commits --dir ../my-skills

Exit codes: 0 created, 2 a bad name or a folder that exists (nothing written), 3 a folder
that cannot be written."""


def add_init_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = sub.add_parser(
        "init",
        help="start a new skill: its folder, and a scenario that runs offline for $0",
        description="Scaffold a skill (skills/SKILL_NAME/SKILL.md) and a scenario to evaluate "
        "it with (fixtures/scenarios/ID/): an instruction, a workspace, checks and scripted "
        "models, commented to teach each format, passing on the first offline eval.",
        epilog=INIT_EPILOG,
        formatter_class=HelpFormatter,
    )
    init.add_argument(
        "skill",
        type=_skill_name,
        metavar="SKILL_NAME",
        help="lowercase letters, digits and hyphens (the Agent Skills rule); names the folder",
    )
    init.add_argument(
        "--scenario",
        type=_scenario_id,
        metavar="ID",
        help="the scenario's id and folder name; default: SKILL_NAME-example",
    )
    init.add_argument(
        "--dir",
        type=absolute,
        default=".",
        metavar="DIR",
        help="the project folder that holds skills/ and fixtures/scenarios/; default: here",
    )
    init.set_defaults(func=_init)
