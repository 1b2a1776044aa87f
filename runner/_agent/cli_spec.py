"""What reaches the Claude Code CLI: its argv from a frozen spec (``CliSpec``) and its
allowlisted environment. Apart from ``runner._agent.claude``, which runs it, because every run's key
holds both, and a cached eval computes keys without running anything."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

STREAM_FLAGS = ("--print", "--output-format=stream-json", "--verbose")


class CliSpec(BaseModel):
    """Everything that reaches the CLI's argv. Values go as single ``--flag=value`` tokens, so
    a value that starts with ``-`` or holds spaces is never read as another flag."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    model: str | None = None
    append_system_prompt: str | None = None
    max_turns: int | None = Field(default=None, ge=1)
    max_budget_usd: float | None = Field(default=None, gt=0)
    permission_mode: str | None = None
    allowed_tools: tuple[str, ...] | None = None  # pre-approved: no permission prompt
    tools: tuple[str, ...] | None = None  # the tools that exist at all; () turns them all off
    extra_args: tuple[str, ...] = ()  # passed as given, after everything else

    def argv(self, binary: Path) -> list[str]:
        # The prompt goes on stdin: --allowedTools and --tools take several values and would
        # swallow a positional prompt after them.
        args = [str(binary), *STREAM_FLAGS]
        options: list[tuple[str, object]] = [
            ("model", self.model),
            ("append-system-prompt", self.append_system_prompt),
            ("max-turns", self.max_turns),
            ("max-budget-usd", self.max_budget_usd),
            ("permission-mode", self.permission_mode),
            ("allowedTools", _joined(self.allowed_tools)),
            ("tools", _joined(self.tools)),
        ]
        args += [f"--{flag}={value}" for flag, value in options if value is not None]
        return [*args, *self.extra_args]


def _joined(names: tuple[str, ...] | None) -> str | None:
    return None if names is None else ",".join(names)


# ---- environment ----------------------------------------------------------------------------

# A local endpoint (the scripted model, the replay proxy, runner's live proxy, which adds the
# real credential upstream) takes any key; the CLI wants one.
LOCAL_KEY = "sk-runner-local"


def inherited_env(
    passthrough: Iterable[str] = (),
    *,
    search_path: str | None = None,
    inherit: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """What of the caller's environment (``inherit``, default os.environ) reaches the CLI:
    PATH, unless ``search_path`` replaces it, and the ``passthrough`` names that are set.
    The rest of the CLI's environment is runner's own. The cache key holds exactly this."""
    source = os.environ if inherit is None else inherit
    env = {k: v for k, v in source.items() if k == "PATH" or k in set(passthrough)}
    if search_path is not None:
        env["PATH"] = search_path
    return env


def cli_env(
    base_url: str,
    *,
    home: str | os.PathLike[str],
    tmp: str | os.PathLike[str],
    search_path: str | None = None,
    passthrough: Iterable[str] = (),
    inherit: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The CLI's whole environment: ``inherited_env`` (never a real key or endpoint), then
    runner's fixed settings and the run's own HOME, config and temp folders, as the CLI sees
    them, so the user's skills, settings and CLAUDE.md never reach a run. Nothing else: what
    reaches the CLI is in the run's key or runner's own."""
    env = inherited_env(passthrough, search_path=search_path, inherit=inherit)
    env |= {
        "HOME": str(home),
        "CLAUDE_CONFIG_DIR": f"{home}/.claude",
        # Task output files go to /tmp/claude-<uid> unless these say otherwise.
        "TMPDIR": str(tmp),
        "CLAUDE_CODE_TMPDIR": str(tmp),
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_TELEMETRY": "1",
        "DISABLE_AUTOUPDATER": "1",
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": LOCAL_KEY,
    }
    return env
