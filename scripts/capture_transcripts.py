"""Regenerate fixtures/transcripts/: real Claude Code CLI output for scripted model turns.

For each case: start the scripted Messages endpoint (runner._model.mock_api) with the case's
turns, run the pinned CLI in a fresh workspace with its own HOME and temp dir (so no user
config leaks in), prompt on stdin, and write the CLI's exact stdout bytes to
``<case>.ndjson`` plus a small ``<case>.meta.json`` (CLI version, flags, exit code, what the
case shows, the request paths the endpoint saw).

    python scripts/capture_transcripts.py              # every case
    python scripts/capture_transcripts.py hello tools  # some cases
    python scripts/capture_transcripts.py --list

Paths in the output are fixed per case (``$TMPDIR/runner-capture/<case>/...``) and the
session id is derived from the case name, so re-captures differ only where the CLI itself is
not deterministic (uuids, timestamps, durations).
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from runner._agent.claude import STREAM_FLAGS, cli_env
from runner._agent.claude_bin import claude_version, find_claude
from runner._agent.process import Limits, ProcessRun, RunFiles
from runner._model.mock_api import scripted_model
from runner._model.script import Script, text, thinking, tool
from runner._transcript.stream import StreamItem

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "fixtures" / "transcripts"
EDIT_FLAGS = ("--permission-mode", "acceptEdits", "--allowedTools", "Write,Bash,Read,Edit")
PROMPT = "Please do the task."
SESSION_NS = uuid.UUID("7d1c4a52-2f0e-4f4e-9a55-3c0f8f2b6a10")  # any fixed namespace

Turn = dict[str, Any]  # one turn of runner._model.script.Turn, as JSON


# --- Case definitions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Kill:
    """When to SIGTERM the CLI: after a delay, or after ``count`` events of ``subtype``."""

    after_s: float | None = None
    subtype: str | None = None
    count: int = 1


@dataclass(frozen=True)
class Case:
    name: str
    demonstrates: str
    # The main conversation's turns; a callable for turns too big to build at import time.
    turns: Sequence[Turn] | Callable[[], Sequence[Turn]]
    flags: tuple[str, ...] = EDIT_FLAGS
    # Subagent conversations: a marker its first message contains (the Agent prompt) -> turns.
    conversations: Mapping[str, Sequence[Turn]] = field(default_factory=dict)
    # Workspace files to create first; a callable for content too big to build at import time.
    files: Mapping[str, str | Callable[[], str]] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)  # extra environment for the CLI
    kill: Kill | None = None
    timeout_s: float = 60.0
    prompt: str = PROMPT

    def script_turns(self) -> Sequence[Turn]:
        return self.turns() if callable(self.turns) else self.turns


def turn(*blocks: dict[str, Any], **extra: Any) -> Turn:
    return {"content": list(blocks), **extra}


def usage(inp: int, out: int, cache_write: int = 0, cache_read: int = 0) -> dict[str, int]:
    return {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_creation_input_tokens": cache_write,
        "cache_read_input_tokens": cache_read,
    }


def error(status: int, kind: str, message: str, repeat: int = 1) -> Turn:
    return {"error": {"status": status, "type": kind, "message": message}, "repeat": repeat}


TOOLS_TURNS: tuple[Turn, ...] = (
    turn(
        thinking("The user wants a small script: write it, run it, read it back, fix the text."),
        text("I'll create the script first."),
        tool("Write", file_path="hello.py", content="print('hello')\n"),
        usage=usage(3, 120, cache_write=5200, cache_read=11000),
    ),
    turn(
        tool("Bash", command="python3 hello.py", description="Run the script"),
        usage=usage(5, 40, cache_write=300, cache_read=16200),
    ),
    turn(tool("Read", file_path="hello.py"), usage=usage(4, 30, cache_write=200, cache_read=16500)),
    turn(
        tool("Edit", file_path="hello.py", old_string="'hello'", new_string="'hello, world'"),
        usage=usage(6, 60, cache_write=250, cache_read=16700),
    ),
    turn(
        text("Done: `hello.py` now prints *hello, world*."),
        usage=usage(2, 25, cache_write=180, cache_read=16950),
    ),
)

SKILL_MD = """---
name: greeter
description: Greets people politely. Use when asked to greet someone.
---

# Greeter

Write a short, friendly greeting to `greeting.txt`, then say what you wrote.
"""

HOOK_SETTINGS = {
    "hooks": {
        "PreToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "echo pre-tool saw Bash"}]}
        ],
        "PostToolUse": [
            {
                "matcher": "Write",
                "hooks": [{"type": "command", "command": "echo post-tool saw Write"}],
            }
        ],
        "Stop": [{"hooks": [{"type": "command", "command": "echo stop hook ran"}]}],
    }
}

PERSON_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "languages": {"type": "array"}},
    "required": ["name"],
}

# The model keeps calling tools; --max-turns / --max-budget-usd must stop it.
ENDLESS_TOOLS: tuple[Turn, ...] = (
    turn(tool("Bash", command="echo step", description="Print a step"), repeat=5),
)

# In the Agent prompt, so the endpoint can tell the subagent's requests apart.
SUB_MARKER = "[subagent]"
# The Bash tool refuses `sleep N` (foreground or `&`); a Python sleep is a long command it runs.
BG_COMMAND = "python3 -c 'import time; time.sleep(1.5); print(\"bg done\")'"

AGENT_FLAGS = ("--permission-mode", "acceptEdits", "--allowedTools", "Write,Bash,Read,Edit,Agent")
SUBAGENT_TURNS: tuple[Turn, ...] = (
    turn(
        text("I'll hand this to a subagent."),
        tool(
            "Agent",
            subagent_type="general-purpose",
            description="Create notes file",
            run_in_background=False,  # foreground: its requests come strictly in turn
            prompt=f"{SUB_MARKER} Create notes.txt containing 'subagent was here'.",
        ),
    ),
    turn(text("The subagent created notes.txt.")),
)
SUBAGENT_TURNS_OWN: tuple[Turn, ...] = (
    turn(
        tool(
            "Bash",
            command="echo 'subagent was here' > notes.txt && cat notes.txt",
            description="Create notes.txt",
        )
    ),
    turn(text("Created notes.txt with the requested line.")),
)


def _big_source(target_bytes: int) -> str:
    """Code-like text with non-ASCII, quotes and backslashes, and one unique line to Edit."""
    parts: list[str] = []
    size, i, marked = 0, 0, False
    while size < target_bytes:
        if not marked and size >= target_bytes // 2:
            parts.append(f"{EDIT_ME_BEFORE}\n\n")
            marked = True
        block = (
            f'def handler_{i:05d}(path: str = "C:\\\\data\\\\run_{i}\\\\out.txt") -> str:\n'
            f'    """Grüße {i}: naïve café, “curly” and \'single\' quotes, ✓ → ∑."""\n'
            f"    pattern = r'\\d+\\s*\\\"{i}\\\"'\n"
            f'    return f"{{path}}\\t{i}\\n" + pattern.replace("\\\\", "/")\n\n\n'
        )
        parts.append(block)
        size += len(block.encode())
        i += 1
    return "".join(parts)


EDIT_ME_BEFORE = 'EDIT_ME = "before the edit"'
EDIT_ME_AFTER = 'EDIT_ME = "after the edit"'
# The CLI refuses a request it estimates above the 1M-token window ("Prompt is too long") and
# tries to auto-compact from about 2.5 MB of this text in context: 2 MB stays clear of both.
BIG_WRITE_BYTES = 2_000_000
BIG_FILE_BYTES = 6_000_000  # big_edit: a file made before the run, never in the model's context


def _big_write_turns() -> list[Turn]:
    return [
        turn(
            text("Writing the generated module."),
            tool("Write", file_path="big_module.py", content=_big_source(BIG_WRITE_BYTES)),
            # Else the mock estimates ~500k output tokens from the content's length.
            usage=usage(100, 16_000),
        ),
        *_read_edit_turns("big_module.py"),
        turn(text("Wrote big_module.py (about 2 MB), read part of it and edited one line.")),
    ]


def _read_edit_turns(path: str) -> list[Turn]:
    return [
        turn(tool("Read", file_path=path, offset=1000, limit=12)),
        turn(tool("Edit", file_path=path, old_string=EDIT_ME_BEFORE, new_string=EDIT_ME_AFTER)),
    ]


# A coding session on real code: runner's own sources, copied into the workspace.
SESSION_FILES = (
    "runner/_transcript/events.py",
    "runner/_transcript/stream.py",
    "runner/_transcript/parse.py",
    "runner/_transcript/usage.py",
)


def _source(rel: str) -> Callable[[], str]:
    return lambda: (ROOT / rel).read_text()


def _session_turns() -> list[Turn]:
    # Cache reads grow turn by turn as the conversation does, as they do with the real API.
    def u(turn_no: int) -> dict[str, int]:
        return usage(8, 150, cache_write=2500, cache_read=12000 + 9000 * turn_no)

    new_module = (ROOT / "runner" / "_results" / "render_run.py").read_text()
    return [
        turn(
            thinking("Look at the layout, read the reader and its models, then add the module."),
            text("I'll start by looking at the package."),
            tool("Bash", command="ls -la runner && wc -l runner/*.py", description="List files"),
            usage=u(0),
        ),
        *(turn(tool("Read", file_path=rel), usage=u(i + 1)) for i, rel in enumerate(SESSION_FILES)),
        turn(
            tool("Bash", command="grep -n 'def \\|class ' runner/*.py", description="Outline"),
            usage=u(5),
        ),
        turn(
            text("Now the new module."),
            tool("Write", file_path="runner/report_text.py", content=new_module),
            usage=u(6),
        ),
        turn(
            tool(
                "Edit",
                file_path="runner/_transcript/stream.py",
                old_string="CHUNK_SIZE = 1 << 20",
                new_string="CHUNK_SIZE = 1 << 20  # 1 MiB: one split per chunk",
            ),
            usage=u(7),
        ),
        turn(
            tool(
                "Edit",
                file_path="runner/_transcript/parse.py",
                old_string="SKIM_MIN_BYTES = 64 * 1024",
                new_string="SKIM_MIN_BYTES = 64 * 1024  # tuned on real captures",
            ),
            usage=u(8),
        ),
        turn(
            tool(
                "Bash",
                command=(
                    "python3 -m py_compile runner/*/*.py && head -120 runner/_transcript/stream.py"
                ),
                description="Check it compiles",
            ),
            usage=u(9),
        ),
        turn(text("Added runner/report_text.py and documented two constants."), usage=u(10)),
    ]


CASES: tuple[Case, ...] = (
    Case(
        "hello",
        "Text-only answer with the CLI's default model and no permission flags: init, one "
        "assistant event, result success.",
        [turn(text("Hello! How can I help you today?"))],
        flags=(),
    ),
    Case(
        "hello_sonnet",
        "Same as hello with --model claude-sonnet-4-5: modelUsage and costs for a second model.",
        [turn(text("Hello from Sonnet."), usage=usage(12, 8, cache_write=4000, cache_read=9000))],
        flags=("--model", "claude-sonnet-4-5"),
    ),
    Case(
        "tools",
        "thinking + text + Write, then Bash, Read, Edit, final text; system/thinking_tokens "
        "events; one assistant line per content block; explicit cache usage per turn.",
        TOOLS_TURNS,
    ),
    Case(
        "partial_messages",
        "The tools case with --include-partial-messages: stream_event lines (raw SSE events) and "
        "system/status 'requesting' before each request.",
        TOOLS_TURNS,
        flags=(*EDIT_FLAGS, "--include-partial-messages"),
    ),
    Case(
        "skill",
        "A workspace skill (.claude/skills/greeter) called through the Skill tool: tool_result "
        "'Launching skill', then an isSynthetic user message with the skill body; then a Write.",
        [
            turn(text("I'll use the greeter skill."), tool("Skill", skill="greeter")),
            turn(
                tool(
                    "Write", file_path="greeting.txt", content="Hello, friend! Nice to meet you.\n"
                )
            ),
            turn(text("I wrote a greeting to greeting.txt.")),
        ],
        # No "Skill" in --allowedTools: the CLI runs workspace skills without it.
        files={".claude/skills/greeter/SKILL.md": SKILL_MD},
    ),
    Case(
        "subagent",
        "A foreground Agent call (run_in_background false): the subagent's own events carry "
        "parent_tool_use_id (and agent_id); system task_started, task_progress, task_updated, "
        "task_notification. The subagent's final text is not echoed as an assistant event.",
        SUBAGENT_TURNS,
        flags=AGENT_FLAGS,
        conversations={SUB_MARKER: SUBAGENT_TURNS_OWN},
    ),
    Case(
        "subagent_forwarded",
        "The subagent case with --forward-subagent-text: the subagent's final text also comes "
        "as an assistant event with parent_tool_use_id.",
        SUBAGENT_TURNS,
        flags=(*AGENT_FLAGS, "--forward-subagent-text"),
        conversations={SUB_MARKER: SUBAGENT_TURNS_OWN},
    ),
    Case(
        "background_task",
        "A background Agent (the default in this CLI) and a background Bash: "
        "background_tasks_changed, task_* events, and after the first result the CLI wakes up "
        "for each task notification: several system/init and several result events "
        "(result_index 0, 1, 2; origin.kind task-notification).",
        [
            turn(
                text("Starting a background agent and a background command."),
                tool(
                    "Agent",
                    subagent_type="general-purpose",
                    description="Create notes file",
                    prompt=f"{SUB_MARKER} Create notes.txt containing 'subagent was here'.",
                ),
                tool(
                    "Bash",
                    command=BG_COMMAND,
                    description="Wait in the background",
                    run_in_background=True,
                ),
            ),
            turn(text("Both are running; I'll wait for their notifications.")),
            turn(text("The agent finished.")),
            turn(text("The background command finished too. All done.")),
        ],
        flags=AGENT_FLAGS,
        # The delay keeps the agent's notification after the parent's second turn.
        conversations={
            SUB_MARKER: [
                turn(
                    tool("Write", file_path="notes.txt", content="subagent was here\n"), delay_s=0.3
                ),
                turn(text("Created notes.txt.")),
            ]
        },
    ),
    Case(
        "max_turns",
        "--max-turns 1 while the model keeps calling tools: result subtype error_max_turns, "
        "is_error true, errors list, no 'result' text, exit code 1.",
        ENDLESS_TOOLS,
        flags=(*EDIT_FLAGS, "--max-turns", "1"),
    ),
    Case(
        "max_budget",
        "--max-budget-usd 0.0001: result subtype error_max_budget_usd after the first turn "
        "(terminal_reason budget_exhausted), exit code 1; the pending tool call never runs and "
        "result.usage is all zeros while total_cost_usd is not.",
        ENDLESS_TOOLS,
        flags=(*EDIT_FLAGS, "--max-budget-usd", "0.0001"),
    ),
    Case(
        "api_error_400",
        "The endpoint answers 400 invalid_request_error to every request: a synthetic assistant "
        "message (model <synthetic>, is_api_error_message) and result subtype success with "
        "is_error true, api_error_status 400, exit code 1. The CLI quietly re-sends the request "
        "with other request options first (6 requests, no api_retry events).",
        [error(400, "invalid_request_error", "messages.0: scripted invalid request", repeat=10)],
    ),
    Case(
        "api_retry",
        "529 overloaded, then 500, then success: two system/api_retry events (delays about "
        "0.5 s and 1.1 s), then a normal success result.",
        [
            error(529, "overloaded_error", "Overloaded"),
            error(500, "api_error", "Internal server error"),
            turn(text("Recovered after two retries.")),
        ],
    ),
    Case(
        "auth_retry_killed",
        "401 on every request: api_retry events with error authentication_failed; the CLI is "
        "sent SIGTERM after the 2nd one, so the capture ends without a result (exit 143).",
        [error(401, "authentication_error", "invalid x-api-key", repeat=10)],
        kill=Kill(subtype="api_retry", count=2),
    ),
    Case(
        "killed_midway",
        "Two tool turns, then the endpoint never answers; SIGTERM after 2 s: the capture ends "
        "after the last tool_result with no result event (exit 143).",
        [
            turn(tool("Write", file_path="step1.txt", content="one\n")),
            turn(tool("Bash", command="cat step1.txt", description="Show step1.txt")),
            {"hang": True},
        ],
        kill=Kill(after_s=2.0),
    ),
    Case(
        "big_write",
        "Write of a 2 MB code-like file (non-ASCII, quotes, backslashes), Read with "
        "offset/limit, Edit, text: the Write's assistant line and its tool_result line "
        "(tool_use_result.content echoes the file) are each over 2 MB.",
        _big_write_turns,
        timeout_s=120.0,
    ),
    Case(
        "big_edit",
        "A 6 MB file already in the workspace: Read with offset/limit, then Edit; the Edit's "
        "tool_use_result carries originalFile, so its user line is over 6 MB.",
        [
            *_read_edit_turns("big_module.py"),
            turn(text("Edited one line of big_module.py.")),
        ],
        files={"big_module.py": partial(_big_source, BIG_FILE_BYTES)},
        timeout_s=120.0,
    ),
    Case(
        "compact",
        "A turn reporting 990k input tokens makes the CLI auto-compact: system/status "
        "'compacting', status null with compact_result, system/compact_boundary, a user "
        "message holding the summary. The summary request is a scripted turn too; it is in "
        "total_cost_usd/modelUsage but not in result.usage.",
        [
            turn(
                tool("Bash", command="echo big context", description="Print a line"),
                usage=usage(990_000, 50),
            ),
            turn(
                text("<summary>The user asked for a task; a command printed a line.</summary>"),
                usage=usage(2000, 40),
            ),
            turn(text("Finished after compaction."), usage=usage(3000, 10)),
        ],
    ),
    Case(
        "permission_denied",
        "Default permission mode with only Read allowed; the model runs a Bash command that "
        "removes files: system/permission_denied, an is_error tool_result, and "
        "result.permission_denials.",
        [
            turn(
                tool(
                    "Bash",
                    command="rm -rf build && echo removed",
                    description="Remove the build directory",
                )
            ),
            turn(text("I was not allowed to run that command.")),
        ],
        flags=("--allowedTools", "Read"),
    ),
    Case(
        "hooks",
        "Project hooks (PreToolUse, PostToolUse, Stop) with --include-hook-events: "
        "system/hook_started and system/hook_response events.",
        [
            turn(tool("Write", file_path="a.txt", content="a\n")),
            turn(tool("Bash", command="cat a.txt", description="Show a.txt")),
            turn(text("Done with hooks.")),
        ],
        flags=(*EDIT_FLAGS, "--include-hook-events"),
        files={".claude/settings.json": json.dumps(HOOK_SETTINGS, indent=2)},
    ),
    Case(
        "model_fallback",
        "--fallback-model claude-sonnet-4-5 and three 529 overloaded answers: two api_retry "
        "events, then system/model_fallback (trigger, original_model, fallback_model), and the "
        "answer and modelUsage come from the fallback model.",
        [error(529, "overloaded_error", "Overloaded", repeat=3), turn(text("Answer from Sonnet."))],
        flags=(*EDIT_FLAGS, "--fallback-model", "claude-sonnet-4-5"),
    ),
    Case(
        "structured_output",
        "--json-schema: the CLI adds a StructuredOutput tool; once the model calls it the run "
        "ends and result carries structured_output and the JSON text as result.",
        [turn(tool("StructuredOutput", name="Ada", languages=["en", "fr"]))],
        flags=(*EDIT_FLAGS, "--json-schema", json.dumps(PERSON_SCHEMA)),
    ),
    Case(
        "session",
        "A realistic coding session on real code (runner's own sources): Bash, four Reads of "
        "source files, a Write of a module, two Edits, a final check; lines of 5 to 60 KB, "
        "with tool_use_result echoing file contents, as in real transcripts.",
        _session_turns,
        files={rel: _source(rel) for rel in SESSION_FILES},
    ),
)


# --- The scripted endpoint ----------------------------------------------------------------


def prepare_dirs(case: Case) -> dict[str, Path]:
    # Fixed paths (not mkdtemp) so re-captures of a case print the same cwd and paths.
    base = Path(tempfile.gettempdir()) / "runner-capture" / case.name
    shutil.rmtree(base, ignore_errors=True)
    dirs = {name: base / name for name in ("workspace", "home", "run")}
    for d in dirs.values():
        d.mkdir(parents=True, mode=0o700)
    (dirs["home"] / "tmp").mkdir()  # the CLI's TMPDIR
    for rel, content in case.files.items():
        path = dirs["workspace"] / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(content() if callable(content) else content)
    return dirs


def cli_flags(case: Case) -> list[str]:
    session = str(uuid.uuid5(SESSION_NS, case.name))  # a stable session_id per case
    return [*STREAM_FLAGS, "--session-id", session, *case.flags]


def stop_condition(kill: Kill | None) -> Callable[[StreamItem], str | None] | None:
    """SIGTERM once ``kill.count`` events of ``kill.subtype`` have arrived."""
    if kill is None or kill.subtype is None:
        return None
    seen = 0

    def reached(item: StreamItem) -> str | None:
        nonlocal seen
        seen += getattr(item, "subtype", None) == kill.subtype
        return f"SIGTERM at {kill.subtype} #{kill.count}" if seen >= kill.count else None

    return reached


# --- Capturing a case ---------------------------------------------------------------------


async def capture(case: Case, claude: Path, version: str) -> dict[str, Any]:
    dirs = prepare_dirs(case)
    flags = cli_flags(case)
    script = Script.model_validate(
        {"turns": list(case.script_turns()), "conversations": dict(case.conversations)}
    )
    after_s = case.kill.after_s if case.kill else None
    async with scripted_model(script) as model:
        run = ProcessRun(
            [str(claude), *flags],
            cli_env(model.url, home=dirs["home"], tmp=dirs["home"] / "tmp") | dict(case.env),
            dirs["workspace"],
            case.prompt.encode(),
            RunFiles.in_dir(dirs["run"]),
            Limits(timeout_s=after_s or case.timeout_s),
            stop_condition(case.kill),
        )
        await run.run()
    stdout = run.files.stdout.read_bytes()
    stopped = None
    if case.kill:
        stopped = f"SIGTERM after {after_s} s" if after_s else run.stop_reason
    timed_out = run.stop_reason == "timeout" and after_s is None
    meta = {
        "case": case.name,
        "demonstrates": case.demonstrates,
        "cli_version": version,
        "argv": ["claude", *flags],
        "extra_env": dict(case.env),
        "prompt_on_stdin": case.prompt,
        "exit_code": run.exit_code if run.signal is None else -run.signal,
        "killed": stopped,
        "timed_out": timed_out,
        "request_paths": [r.path for r in model.model.requests],
        "scripted_turns_unused": model.model.turns_left,
        "stdout_bytes": len(stdout),
        "stdout_lines": stdout.count(b"\n"),
        "stderr": run.stderr_text[-2000:],  # the tail says why it ended
    }
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    (OUT_DIR / f"{case.name}.ndjson").write_bytes(stdout)
    (OUT_DIR / f"{case.name}.meta.json").write_text(json.dumps(meta, indent=2) + "\n")
    shutil.rmtree(dirs["workspace"].parent, ignore_errors=True)
    return meta


def summarize(meta: Mapping[str, Any]) -> str:
    flag = " TIMED OUT" if meta["timed_out"] else ""
    return (
        f"{meta['case']:<20} exit {meta['exit_code']!s:<4} {meta['stdout_lines']:>4} lines "
        f"{meta['stdout_bytes']:>10} bytes  {len(meta['request_paths'])} requests{flag}"
    )


async def main_async(cases: Sequence[Case]) -> int:
    binary = find_claude()
    version = claude_version(binary)
    failed = 0
    for case in cases:
        meta = await capture(case, binary.path, version)
        print(summarize(meta), flush=True)
        failed += bool(meta["timed_out"])
    return 1 if failed else 0


def select(names: Sequence[str]) -> list[Case]:
    by_name = {c.name: c for c in CASES}
    unknown = [n for n in names if n not in by_name]
    if unknown:
        raise SystemExit(f"unknown case(s): {', '.join(unknown)}; see --list")
    return [by_name[n] for n in names] if names else list(CASES)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("cases", nargs="*", help="case names (default: all)")
    parser.add_argument("--list", action="store_true", help="list the cases and exit")
    args = parser.parse_args(argv)
    if args.list:
        for case in CASES:
            print(f"{case.name:<20} {case.demonstrates}")
        return 0
    return anyio.run(main_async, select(args.cases))


if __name__ == "__main__":
    sys.exit(main())
