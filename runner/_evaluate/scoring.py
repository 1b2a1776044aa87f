"""A scenario's checks: ``Check``, the union of every kind on ``type`` (what a ``[[check]]``
table parses as), and ``score``, each check scored in order from a stored run.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

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
from runner._evaluate.results import CheckResult
from runner._evaluate.run_view import RunView
from runner._util.inputs import LinkOutside

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
