"""Lanes as data: what each one puts on the CLI's command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from runner.lanes import DEFAULT_ALLOWED_TOOLS, LANES, cli_spec, get_lane, render_nudge


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
