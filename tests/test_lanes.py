"""Lanes as data: what each one puts on the CLI's command line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from runner._agent.lanes import DEFAULT_ALLOWED_TOOLS, LANES, cli_spec, get_lane, render_nudge
from runner._model.script import text
from tests.clirun import GREETER, SKILL_MD
from tests.engine_support import scripted_run


def argv(lane: str, nudge: str | None = None) -> list[str]:
    spec = cli_spec(
        get_lane(lane),
        model="sonnet",
        max_turns=8,
        max_budget_usd=None,
        allowed_tools=DEFAULT_ALLOWED_TOOLS,
        skill_name="greeter",
        skill_text="SKILL BODY",
        nudge=nudge,
    )
    return spec.argv(Path("claude"))[4:]


def test_every_lane_is_defined() -> None:
    assert list(LANES) == [
        "baseline",
        "skill",
        "agent-baseline",
        "agent-skill",
        "agent-skill-nonudge",
    ]


def test_single_shot_lanes() -> None:
    assert argv("baseline") == ["--model=sonnet", "--max-turns=1", "--tools="]
    assert argv("skill") == [
        "--model=sonnet",
        "--append-system-prompt=SKILL BODY",
        "--max-turns=1",
        "--tools=",
    ]


def test_only_agent_skill_is_nudged() -> None:
    tools = "--allowedTools=" + ",".join(DEFAULT_ALLOWED_TOOLS)
    agent = ["--model=sonnet", "--max-turns=8", "--permission-mode=acceptEdits", tools]
    assert argv("agent-baseline") == agent
    assert argv("agent-skill-nonudge") == agent
    nudged = argv("agent-skill", nudge="Use {skill}: {literally}.")
    assert nudged == [agent[0], "--append-system-prompt=Use greeter: {literally}.", *agent[1:]]


def test_the_default_nudge_names_the_skill_and_the_tool() -> None:
    (appended,) = [a for a in argv("agent-skill") if a.startswith("--append-system-prompt=")]
    assert '"greeter"' in appended
    assert "Skill tool" in appended
    assert render_nudge("{skill}", "x") == "x"


def test_an_unknown_lane_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="unknown lane 'agent'; the lanes are: baseline, skill"):
        get_lane("agent")


@pytest.mark.cli
@pytest.mark.anyio
async def test_in_the_skill_lane_only_skill_md_reaches_the_model(tmp_path: Path) -> None:
    """Why the skill lane's key holds SKILL.md's text (in argv) and not the skill's tree: no
    other file of the skill, nor its folder's name, reaches the model, and nothing is
    installed in the workspace."""
    skill = tmp_path / "greeter-v2"
    shutil.copytree(GREETER, skill)
    (skill / "notes.md").write_text("NOTES-MARKER-7f3a: greet in French.\n")
    script = {"turns": [{"content": [text("Hello!")]}]}
    run = await scripted_run(
        script, tmp_path, "skill", skill=skill, options={"keep_workspace": True}
    )
    assert run.record.exit_reason == "success", run.record.diagnostics.agent_log
    sent = json.dumps([r.body for r in run.requests if r.path == "/v1/messages"])
    assert json.dumps(SKILL_MD.splitlines()[-1])[1:-1] in sent
    assert "NOTES-MARKER-7f3a" not in sent
    assert "greeter-v2" not in sent
    assert run.record.workspace is not None
    assert not (Path(run.record.workspace) / "work" / ".claude").exists()
