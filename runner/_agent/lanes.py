"""Lanes as data: the ways one scenario is run, so a skill's effect is read against controls.

A lane says whether the agent has tools, how the skill reaches it (not at all, as system-prompt
text, or installed where the CLI finds skills), and whether a nudge tells it to use the skill.
Only ``agent-skill`` carries the nudge, so the baselines stay clean controls and
``agent-skill-nonudge`` measures how often the skill triggers on its own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:  # pydantic's model building; help text needs only the lanes (issue 17)
    from runner._agent.cli_spec import CliSpec

DEFAULT_NUDGE = (
    'A skill named "{skill}" is installed in this workspace for tasks like this one. '
    'Before you start, load it with the Skill tool (skill: "{skill}") and follow it.'
)

# Edit and Write only inside the working directory: the sandbox already holds writes there,
# and this keeps an unsandboxed run (--sandbox none) from writing elsewhere too.
DEFAULT_ALLOWED_TOOLS = (
    "Bash",
    "Edit(./**)",
    "Write(./**)",
    "Read",
    "Glob",
    "Grep",
    "Skill",
    "Agent",
    "TodoWrite",
)


# A frozen dataclass, not a pydantic model: every command's help lists the lanes, and
# building the parser must not pay for pydantic (start-up, issue 17). Lanes never cross a boundary.
@dataclass(frozen=True, kw_only=True)
class Lane:
    name: str
    agent: bool  # tools and many turns; else one turn with every tool off
    skill: Literal["none", "system_prompt", "installed"]
    nudge: bool
    summary: str

    @property
    def uses_skill(self) -> bool:
        return self.skill != "none"

    @property
    def installs_skill(self) -> bool:
        """The skill's whole folder is in the workspace, under its folder's name, which the
        CLI shows the model. In ``system_prompt`` only SKILL.md's text reaches it (argv)."""
        return self.skill == "installed"


LANES: dict[str, Lane] = {
    lane.name: lane
    for lane in (
        Lane(
            name="baseline",
            agent=False,
            skill="none",
            nudge=False,
            summary="single shot, tools off, no skill",
        ),
        Lane(
            name="skill",
            agent=False,
            skill="system_prompt",
            nudge=False,
            summary="single shot, the skill's SKILL.md appended to the system prompt",
        ),
        Lane(
            name="agent-baseline",
            agent=True,
            skill="none",
            nudge=False,
            summary="the agent with tools, no skill installed",
        ),
        Lane(
            name="agent-skill",
            agent=True,
            skill="installed",
            nudge=True,
            summary="the skill installed, and a nudge to use it",
        ),
        Lane(
            name="agent-skill-nonudge",
            agent=True,
            skill="installed",
            nudge=False,
            summary="the skill installed, no nudge: its natural trigger rate",
        ),
    )
}


def lane_lines() -> str:
    """The lanes, one line each, as the commands' help lists them."""
    return "\n".join(f"  {lane.name:<20} {lane.summary}" for lane in LANES.values())


class UnknownLaneError(ValueError):
    pass


def get_lane(name: str) -> Lane:
    try:
        return LANES[name]
    except KeyError:
        known = ", ".join(LANES)
        raise UnknownLaneError(f"unknown lane {name!r}; the lanes are: {known}") from None


def render_nudge(template: str, skill_name: str) -> str:
    # Not str.format: a user's nudge may hold other braces.
    return template.replace("{skill}", skill_name)


def cli_spec(
    lane: Lane,
    *,
    model: str | None,
    max_turns: int | None,
    max_budget_usd: float | None,
    allowed_tools: tuple[str, ...],
    skill_name: str | None,
    skill_text: str | None,
    nudge: str | None,
    extra_args: tuple[str, ...] = (),
) -> CliSpec:
    """The argv-level spec of one run in ``lane``."""
    from runner._agent.cli_spec import CliSpec

    appended: str | None = None
    if lane.skill == "system_prompt":
        appended = skill_text
    elif lane.nudge and skill_name is not None:
        appended = render_nudge(nudge or DEFAULT_NUDGE, skill_name)
    if not lane.agent:
        return CliSpec(
            model=model,
            append_system_prompt=appended,
            max_turns=1,
            max_budget_usd=max_budget_usd,
            tools=(),
            extra_args=extra_args,
        )
    return CliSpec(
        model=model,
        append_system_prompt=appended,
        max_turns=max_turns,
        max_budget_usd=max_budget_usd,
        # acceptEdits plus an allowlist: root may not skip permissions, and --print cannot ask.
        permission_mode="acceptEdits",
        allowed_tools=allowed_tools,
        extra_args=extra_args,
    )
