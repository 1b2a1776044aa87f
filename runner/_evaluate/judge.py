"""The ``judge`` check: a rubric the model grades the run against. Its prompt is built from the
stored run only (so the judge's run is cached like any other), and its verdict read from the
reply's last ``VERDICT:`` line. The suite supplies the judge itself (``JudgeFn``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, ValidationInfo, field_validator

from runner._evaluate.checks import BaseCheck, clip, path_inside
from runner._evaluate.run_view import RunView
from runner._util.inputs import open_input


@dataclass(frozen=True)
class JudgeVerdict:
    passed: bool
    detail: str


# The suite supplies the judge: it runs the rubric through the CLI and the cache.
JudgeFn = Callable[["Judge", str], Awaitable[JudgeVerdict]]


JUDGE_FILE_CHARS = 20_000  # of each changed file shown to the judge


class Judge(BaseCheck):
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
        return f"judge: {clip(self.rubric, 40)}"

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
        return JudgeVerdict(False, f"the judge gave no verdict: {clip(text or '(no text)')}")
    last = found[-1]
    before = [line for line in (text or "")[: last.start()].splitlines() if line.strip()]
    reason = clip(before[-1]) if before else "(no reason given)"
    return JudgeVerdict(last.group(1).upper() == "PASS", reason)
