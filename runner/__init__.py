"""runner: does this skill make Claude Code better at these tasks, and at what cost?

The public Python API is every name in ``__all__``, imported from ``runner`` itself::

    from runner import Transcript, iter_events, run_one, evaluate, analyze, ReplayEngine

Anything under ``runner._*`` (the stage folders) is private and may change without notice.
Names load on first use (PEP 562): ``import runner`` imports none of its stages, since
``python -m runner --help`` and every command start here.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

# Each public name -> the module that defines it, a group per job (README: Python API).
_HOMES: dict[str, str] = {
    "__version__": "runner._util.version",
    # Run one agent: a scenario in a lane, against the live API or a scripted model.
    **dict.fromkeys(
        ("RunSpec", "RunOptions", "RunRecord", "RunSpecError", "run_one"), "runner._agent.engine"
    ),
    **dict.fromkeys(
        ("Lane", "LANES", "DEFAULT_NUDGE", "get_lane", "UnknownLaneError"), "runner._agent.lanes"
    ),
    **dict.fromkeys(
        ("ClaudeBinary", "ClaudeNotFoundError", "find_claude"), "runner._agent.claude_bin"
    ),
    **dict.fromkeys(("CliOutcome", "Diagnostics", "EXIT_REASONS"), "runner._agent.outcome"),
    "SandboxUnavailable": "runner._agent.sandbox",
    "FileChange": "runner._agent.workspace",
    **dict.fromkeys(("Script", "ScriptFileError", "load_script"), "runner._model.script"),
    **dict.fromkeys(("scripted_model", "RunningModel"), "runner._model.mock_api"),
    # Read a transcript: the CLI's stream-json as typed events, a summary, normalized views.
    **dict.fromkeys(
        ("iter_events", "aiter_events", "ParseError", "StreamItem"), "runner._transcript.stream"
    ),
    **dict.fromkeys(("parse_event", "EventParseError"), "runner._transcript.parse"),
    **dict.fromkeys(
        (
            "WireEvent",
            "KnownEvent",
            "SystemEvent",
            "AssistantEvent",
            "UserEvent",
            "StreamEvent",
            "ResultEvent",
            "SystemInit",
            "SystemStatus",
            "SystemApiRetry",
            "SystemThinkingTokens",
            "SystemTaskStarted",
            "SystemTaskProgress",
            "SystemTaskUpdated",
            "SystemTaskNotification",
            "SystemPermissionDenied",
            "SystemCompactBoundary",
            "SystemHookStarted",
            "SystemHookResponse",
            "SystemBackgroundTasksChanged",
            "SystemModelFallback",
            "SystemOther",
            "UnknownEvent",
            "AssistantMessage",
            "UserMessage",
            "WireUsage",
            "ModelUsage",
        ),
        "runner._transcript.events",
    ),
    **dict.fromkeys(
        (
            "ContentBlock",
            "TextBlock",
            "ThinkingBlock",
            "RedactedThinkingBlock",
            "ToolUseBlock",
            "ToolResultBlock",
            "ImageBlock",
            "UnknownBlock",
        ),
        "runner._transcript.blocks",
    ),
    "Transcript": "runner._transcript.transcript",
    "summarize": "runner._transcript.summarize",
    **dict.fromkeys(
        (
            "normalize",
            "TranscriptEvent",
            "TextEvent",
            "ThinkingEvent",
            "ToolUseEvent",
            "ToolResultEvent",
            "RetryEvent",
            "SubagentEvent",
            "NoticeEvent",
            "ResultInfo",
        ),
        "runner._transcript.normalized",
    ),
    **dict.fromkeys(("TranscriptSummary", "SessionSummary"), "runner._transcript.summary"),
    "Usage": "runner._transcript.tokens",
    **dict.fromkeys(("Price", "price_for"), "runner._transcript.usage"),
    # Evaluate a suite: scenarios x lanes x trials, cached and scored.
    **dict.fromkeys(("Scenario", "ScenarioError", "load_suite"), "runner._evaluate.scenarios"),
    **dict.fromkeys(("Settings", "PlanError", "local_settings"), "runner._evaluate.planning"),
    "Progress": "runner._evaluate.suite",
    "evaluate": "runner._evaluate.evaluation",
    "RunCache": "runner._evaluate.cache",
    **dict.fromkeys(
        ("SuiteResult", "SuiteHeader", "RunResult", "CheckResult", "Totals", "VerdictSettings"),
        "runner._evaluate.results",
    ),
    # Analyse an A/B result, fresh or stored.
    "analyze": "runner._results.ab",
    **dict.fromkeys(("AbReport", "Effect", "LaneStats"), "runner._results.ab_report"),
    **dict.fromkeys(("RunStore", "StoreError"), "runner._results.store"),
    # Replay a run, and assert on it in pytest (the fixtures are runner.pytest_plugin's).
    **dict.fromkeys(
        ("ReplayEngine", "ReplayError", "ToolCall", "LlmCall"), "runner._evaluate.replay"
    ),
    "ReplayDiff": "runner._evaluate.replay_compare",
    **dict.fromkeys(
        (
            "assert_cost_under",
            "assert_max_turns",
            "assert_no_loops",
            "assert_skill_invoked",
            "assert_tool_sequence",
        ),
        "runner._evaluate.asserts",
    ),
    # The report: stored results as one HTML page.
    "build_report": "runner._report.page",
    "StoredResult": "runner._report.views",
}

__all__ = [
    "DEFAULT_NUDGE",
    "EXIT_REASONS",
    "LANES",
    "AbReport",
    "AssistantEvent",
    "AssistantMessage",
    "CheckResult",
    "ClaudeBinary",
    "ClaudeNotFoundError",
    "CliOutcome",
    "ContentBlock",
    "Diagnostics",
    "Effect",
    "EventParseError",
    "FileChange",
    "ImageBlock",
    "KnownEvent",
    "Lane",
    "LaneStats",
    "LlmCall",
    "ModelUsage",
    "NoticeEvent",
    "ParseError",
    "PlanError",
    "Price",
    "Progress",
    "RedactedThinkingBlock",
    "ReplayDiff",
    "ReplayEngine",
    "ReplayError",
    "ResultEvent",
    "ResultInfo",
    "RetryEvent",
    "RunCache",
    "RunOptions",
    "RunRecord",
    "RunResult",
    "RunSpec",
    "RunSpecError",
    "RunStore",
    "RunningModel",
    "SandboxUnavailable",
    "Scenario",
    "ScenarioError",
    "Script",
    "ScriptFileError",
    "SessionSummary",
    "Settings",
    "StoreError",
    "StoredResult",
    "StreamEvent",
    "StreamItem",
    "SubagentEvent",
    "SuiteHeader",
    "SuiteResult",
    "SystemApiRetry",
    "SystemBackgroundTasksChanged",
    "SystemCompactBoundary",
    "SystemEvent",
    "SystemHookResponse",
    "SystemHookStarted",
    "SystemInit",
    "SystemModelFallback",
    "SystemOther",
    "SystemPermissionDenied",
    "SystemStatus",
    "SystemTaskNotification",
    "SystemTaskProgress",
    "SystemTaskStarted",
    "SystemTaskUpdated",
    "SystemThinkingTokens",
    "TextBlock",
    "TextEvent",
    "ThinkingBlock",
    "ThinkingEvent",
    "ToolCall",
    "ToolResultBlock",
    "ToolResultEvent",
    "ToolUseBlock",
    "ToolUseEvent",
    "Totals",
    "Transcript",
    "TranscriptEvent",
    "TranscriptSummary",
    "UnknownBlock",
    "UnknownEvent",
    "UnknownLaneError",
    "Usage",
    "UserEvent",
    "UserMessage",
    "VerdictSettings",
    "WireEvent",
    "WireUsage",
    "__version__",
    "aiter_events",
    "analyze",
    "assert_cost_under",
    "assert_max_turns",
    "assert_no_loops",
    "assert_skill_invoked",
    "assert_tool_sequence",
    "build_report",
    "evaluate",
    "find_claude",
    "get_lane",
    "iter_events",
    "load_script",
    "load_suite",
    "local_settings",
    "normalize",
    "parse_event",
    "price_for",
    "run_one",
    "scripted_model",
    "summarize",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'runner' has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value  # the next lookup is an ordinary one
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})


if TYPE_CHECKING:  # what mypy, pyright and IDEs see: the same names, imported eagerly
    from runner._agent.claude_bin import ClaudeBinary, ClaudeNotFoundError, find_claude
    from runner._agent.engine import RunOptions, RunRecord, RunSpec, RunSpecError, run_one
    from runner._agent.lanes import DEFAULT_NUDGE, LANES, Lane, UnknownLaneError, get_lane
    from runner._agent.outcome import EXIT_REASONS, CliOutcome, Diagnostics
    from runner._agent.sandbox import SandboxUnavailable
    from runner._agent.workspace import FileChange
    from runner._evaluate.asserts import (
        assert_cost_under,
        assert_max_turns,
        assert_no_loops,
        assert_skill_invoked,
        assert_tool_sequence,
    )
    from runner._evaluate.cache import RunCache
    from runner._evaluate.evaluation import evaluate
    from runner._evaluate.planning import PlanError, Settings, local_settings
    from runner._evaluate.replay import LlmCall, ReplayEngine, ReplayError, ToolCall
    from runner._evaluate.replay_compare import ReplayDiff
    from runner._evaluate.results import (
        CheckResult,
        RunResult,
        SuiteHeader,
        SuiteResult,
        Totals,
        VerdictSettings,
    )
    from runner._evaluate.scenarios import Scenario, ScenarioError, load_suite
    from runner._evaluate.suite import Progress
    from runner._model.mock_api import RunningModel, scripted_model
    from runner._model.script import Script, ScriptFileError, load_script
    from runner._report.page import build_report
    from runner._report.views import StoredResult
    from runner._results.ab import analyze
    from runner._results.ab_report import AbReport, Effect, LaneStats
    from runner._results.store import RunStore, StoreError
    from runner._transcript.blocks import (
        ContentBlock,
        ImageBlock,
        RedactedThinkingBlock,
        TextBlock,
        ThinkingBlock,
        ToolResultBlock,
        ToolUseBlock,
        UnknownBlock,
    )
    from runner._transcript.events import (
        AssistantEvent,
        AssistantMessage,
        KnownEvent,
        ModelUsage,
        ResultEvent,
        StreamEvent,
        SystemApiRetry,
        SystemBackgroundTasksChanged,
        SystemCompactBoundary,
        SystemEvent,
        SystemHookResponse,
        SystemHookStarted,
        SystemInit,
        SystemModelFallback,
        SystemOther,
        SystemPermissionDenied,
        SystemStatus,
        SystemTaskNotification,
        SystemTaskProgress,
        SystemTaskStarted,
        SystemTaskUpdated,
        SystemThinkingTokens,
        UnknownEvent,
        UserEvent,
        UserMessage,
        WireEvent,
        WireUsage,
    )
    from runner._transcript.normalized import (
        NoticeEvent,
        ResultInfo,
        RetryEvent,
        SubagentEvent,
        TextEvent,
        ThinkingEvent,
        ToolResultEvent,
        ToolUseEvent,
        TranscriptEvent,
        normalize,
    )
    from runner._transcript.parse import EventParseError, parse_event
    from runner._transcript.stream import ParseError, StreamItem, aiter_events, iter_events
    from runner._transcript.summarize import summarize
    from runner._transcript.summary import SessionSummary, TranscriptSummary
    from runner._transcript.tokens import Usage
    from runner._transcript.transcript import Transcript
    from runner._transcript.usage import Price, price_for
    from runner._util.version import __version__
