"""``python -m runner ...``: the only module that knows every other one."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from runner._agent.lanes import lane_lines
from runner._cli.cmdline import (
    EXIT_CODES_REST,
    HelpFormatter,
    Parser,
    absolute,
    interrupted,
    io_error,
    io_failure,
    port,
    positive,
    positive_number,
    sandbox_option,
    seconds,
    stop_like_ctrl_c,
    turn_count,
)
from runner._cli.init_command import add_init_command
from runner._cli.results_commands import add_result_commands
from runner._cli.suite_args import add_suite_commands
from runner._cli.view_command import add_view_commands
from runner._util.version import __version__

# Each command imports what it uses when it runs: `--help` and `transcript` stay quick
# (pydantic's model building and httpx are most of a full import; issue 17).
if TYPE_CHECKING:
    from pathlib import Path

    from runner._agent.engine import RunOptions, RunRecord, RunSpec
    from runner._agent.lanes import Lane
    from runner._model.mock_api import Exchange, ScriptedModel
    from runner._model.script import Script


def _doctor(args: argparse.Namespace) -> int:
    from runner._agent import sandbox
    from runner._agent.claude_bin import (
        ClaudeNotFoundError,
        claude_version,
        find_claude,
        pinned_version,
    )
    from runner._cli.cmdline import UNCONFINED, fail

    pinned = pinned_version()
    try:
        binary = find_claude(args.claude_bin)
        version = claude_version(binary)
    except ClaudeNotFoundError as exc:
        return fail(str(exc))
    print(f"runner {__version__}")
    print(f"claude {version} ({binary.source}: {binary.path})")
    if pinned and version != pinned:
        print(f"warning: runner is pinned to Claude Code {pinned}; found {version}")
    found = sandbox.state()
    if sandbox.default_mode() == "none":
        print(f"sandbox: off ({sandbox.SANDBOX_ENV}=none): {UNCONFINED.split(': ', 2)[2]}")
        return 0
    if not found.ready:
        print(f"sandbox: unavailable: {found.problem}")
        return 1
    print(f"sandbox: bwrap {_version_of(found.bwrap)} ({found.bwrap}), socat ({found.socat})")
    limit = sandbox.DEFAULT_MAX_PROCESSES
    print(f"sandbox processes: at most {limit} per run (by default), by {found.process_limit}")
    return 0


def _version_of(program: str | None) -> str:
    import subprocess

    try:
        said = subprocess.run([program or "false", "--version"], capture_output=True, text=True)
    except OSError:
        return "?"
    return said.stdout.split()[-1] if said.stdout.split() else "?"


def _transcript(args: argparse.Namespace) -> int:
    from pathlib import Path

    from runner._cli.cmdline import fail, say
    from runner._results.render import render_summary
    from runner._transcript.stream import iter_events
    from runner._transcript.summarize import SummaryBuilder
    from runner._util.inputs import open_input
    from runner._util.terminal import json_visible, visible

    builder = SummaryBuilder()
    try:
        # stdin is read as it streams; a file is read in chunks: memory stays one line deep.
        # A pipe is a stream too (`transcript <(claude ...)`); a folder or device is refused.
        with (
            open_input(Path(args.file), pipes=True)
            if args.file != "-"
            else open(sys.stdin.fileno(), "rb", closefd=False)
        ) as f:
            for item in iter_events(f, max_line_bytes=args.max_line_bytes):
                builder.add(item)
    except OSError as exc:
        return fail(f"{args.file}: cannot read ({exc.strerror})")
    summary = builder.summary()
    if args.json:
        print(json_visible(summary.model_dump_json(indent=2)))
        for warning in summary.warnings:  # the text form shows them; JSON is often piped away
            say(f"warning: {visible(warning)}")
    else:
        print(render_summary(summary, source=args.file))
    return 0


# RunSpec fields whose option is not named after them.
_OPTION_OF = {"env_passthrough": "--pass-env", "fixture": "--workspace", "timeout_s": "--timeout"}


def _run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from pydantic import ValidationError

    from runner._agent import sandbox
    from runner._agent.claude_bin import ClaudeNotFoundError, find_claude
    from runner._agent.engine import RunOptions, RunSpec, RunSpecError, check
    from runner._agent.lanes import UnknownLaneError, get_lane
    from runner._cli.cmdline import UNCONFINED, fail, run_async, say
    from runner._evaluate.scenarios import skill_problem
    from runner._model.script import ScriptFileError, load_script
    from runner._results.render import render_record
    from runner._util.inputs import tree_problems
    from runner._util.terminal import json_visible

    mode = args.sandbox or sandbox.default_mode()
    try:
        if mode == "bwrap":
            sandbox.require()
        lane = get_lane(args.lane)
        binary = find_claude(args.claude_bin)
        script = load_script(args.mock_script) if args.mock_script else None
        instruction = sys.stdin.read() if args.instruction == "-" else args.instruction
        spec = RunSpec(
            scenario=args.name,
            instruction=instruction,
            fixture=args.workspace,
            skill=args.skill,
            model=args.model,
            timeout_s=args.timeout,
            idle_timeout_s=args.idle_timeout,
            max_turns=args.max_turns,
            max_budget_usd=args.max_budget_usd,
            nudge=args.nudge,
            env_passthrough=tuple(args.pass_env),
            sandbox=mode,
            network=args.network,
        )
        check(spec, lane)
        for tree, option in ((spec.fixture, "--workspace"), (spec.skill, "--skill")):
            if tree is not None and (problem := next(tree_problems(tree), None)):
                return fail(f"{option}: {problem}")
        if lane.uses_skill and spec.skill and (problem := skill_problem(spec.skill)):
            return fail(f"--skill: {problem}")
    except ValidationError as exc:
        error = exc.errors()[0]
        field = str(error["loc"][0])
        option = _OPTION_OF.get(field, f"--{field.replace('_', '-')}")
        return fail(f"{option}: {error['msg'].removeprefix('Value error, ')}")
    except (
        UnknownLaneError,
        ClaudeNotFoundError,
        ScriptFileError,
        RunSpecError,
        sandbox.SandboxUnavailable,
    ) as exc:
        return fail(str(exc))
    if mode == "none":
        say(UNCONFINED)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    run_dir = args.run_dir or absolute(f".runner/single/{stamp}-{args.name}-{lane.name}")
    where = f"the scripted model in {args.mock_script} ($0)" if script else "the live API"
    say(
        f"{args.name} in lane {lane.name} against {where}; "
        f"the CLI's output streams to {run_dir / 'stream.ndjson'}"
    )
    options = RunOptions(binary=binary, keep_workspace=args.keep_workspace)
    record = run_async(_run_once, spec, lane, run_dir, options, script, args.seed)
    print(
        json_visible(record.model_dump_json(indent=2))
        if args.json
        else render_record(record, run_dir=run_dir, scripted=script is not None)
    )
    return 0 if record.succeeded else 1


async def _run_once(
    spec: RunSpec,
    lane: Lane,
    run_dir: Path,
    options: RunOptions,
    script: Script | None,
    seed: int | None,
) -> RunRecord:
    from dataclasses import replace

    from runner._agent.engine import run_one
    from runner._model.mock_api import scripted_model

    if script is None:
        return await run_one(spec, lane, run_dir=run_dir, options=options)
    async with scripted_model(script, seed=seed) as model:
        options = replace(options, endpoint=model.url)
        return await run_one(spec, lane, run_dir=run_dir, options=options)


def _mock_model(args: argparse.Namespace) -> int:
    import anyio

    from runner._cli.cmdline import fail
    from runner._model.mock_api import ScriptedModel
    from runner._model.script import ScriptFileError, load_script

    try:
        script = load_script(args.script)
    except ScriptFileError as exc:
        return fail(str(exc))
    model = ScriptedModel(script, seed=args.seed, on_exchange=_log_exchange)
    return anyio.run(_serve_model, model, args.script, args.port, backend="asyncio")


async def _serve_model(model: ScriptedModel, source: str, port: int) -> int:
    """Serve until cancelled (Ctrl-C); 2 when the port cannot be bound."""
    from functools import partial

    import anyio

    from runner._cli.cmdline import fail
    from runner._model.http import serve
    from runner._util.figures import plural

    async with anyio.create_task_group() as tg:
        try:
            bound = await tg.start(partial(serve, model.handle, port=port))
        except OSError as exc:
            return fail(f"cannot listen on 127.0.0.1:{port} ({exc.strerror})")
        url = f"http://127.0.0.1:{bound}"
        print(
            f"mock-model: serving {source} ({plural(model.turns_left, 'turn')}, "
            f"seed {model.base_seed}) "
            f"on {url}; use ANTHROPIC_BASE_URL={url} ANTHROPIC_API_KEY=any",
            flush=True,
        )
    return 0


def _log_exchange(x: Exchange) -> None:
    from runner._util.terminal import visible

    session = x.session[:8] if x.session else "-"
    outcome = "hangs" if x.status is None else str(x.status)
    line = f"{x.method} {x.path} session {session}{_turn_text(x)} -> {outcome}"
    print(visible(line), file=sys.stderr)  # the path and session are the client's to choose


def _turn_text(x: Exchange) -> str:
    if x.turn is None or x.turns is None:
        return ""  # the request took no turn
    where = f" {x.conversation}" if x.conversation is not None else ""
    if x.turn >= x.turns:
        return f"{where} turn {x.turn + 1}/{x.turns} (script used up)"
    return f"{where} turn {x.turn + 1}/{x.turns}"


DESCRIPTION = """\
runner: does this skill make Claude Code better at these tasks, and at what cost?
It runs the real Claude Code CLI and reads its stream-json output into typed events."""


START_HERE = """\
start here (offline and for $0 without ANTHROPIC_API_KEY):
  python -m runner init my-skill                          # a skill, and a scenario to edit
  python -m runner eval --lanes agent-skill               # its scenarios, scored and cached
  python -m runner ab --lanes agent-baseline,agent-skill  # does it help, at what cost?
  python -m runner report                                 # all of it in one HTML file
  python -m runner view --open                            # or browse every stored result
Each command's --help has examples; the README has the rest."""


def build_parser() -> argparse.ArgumentParser:
    parser: argparse.ArgumentParser = Parser(
        prog="python -m runner",
        description=DESCRIPTION,
        epilog=START_HERE,
        formatter_class=HelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"runner {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    doctor = sub.add_parser("doctor", help="show which Claude Code CLI runner will use")
    doctor.add_argument(
        "--claude-bin",
        help="path to the claude binary (else $RUNNER_CLAUDE_BIN, "
        "the pinned one from scripts/setup, then claude on PATH)",
    )
    doctor.set_defaults(func=_doctor)

    tr = sub.add_parser(
        "transcript",
        help="summarize a stream-json transcript (a file, or - for stdin as it streams)",
        description="Read the NDJSON that `claude --print --output-format stream-json --verbose` "
        "writes and summarize it: how the run ended, turns, cost and tokens, the tools it called "
        "and the skills it invoked. Bad lines are counted and skipped, never fatal.",
        epilog="examples:\n  python -m runner transcript fixtures/transcripts/tools.ndjson\n"
        "  echo 'Say hello.' | claude -p --output-format stream-json --verbose | "
        "python -m runner transcript - --json",
        formatter_class=HelpFormatter,
    )
    tr.add_argument("file", metavar="FILE", help="a stream-json file, or - for standard input")
    tr.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    tr.add_argument(
        "--max-line-bytes",
        type=positive,
        default=None,
        metavar="N",
        help="skip (and count as a parse error) any line longer than N bytes; default: no cap",
    )
    tr.set_defaults(func=_transcript)

    mm = sub.add_parser(
        "mock-model",
        help="serve a scripted model on 127.0.0.1 for the real CLI to run against",
        description="Serve the Anthropic Messages API (SSE streaming) on 127.0.0.1, answering "
        "each request with the script's next turn. Claude Code pointed at it runs its tools for "
        "real; only the model is scripted. Each CLI session gets the script from its start, with "
        "its own draw of the script's choices, so one server serves many runs. Logs each request "
        'on stderr; runs until Ctrl-C. The script format: README, "The scripted model".',
        epilog='example (README, "The scripted model"):\n'
        "  python -m runner mock-model --script fixtures/scripts/hello.json --port 8123\n"
        "  echo 'Say hello.' | ANTHROPIC_BASE_URL=http://127.0.0.1:8123 ANTHROPIC_API_KEY=any "
        "claude -p --output-format stream-json --verbose",
        formatter_class=HelpFormatter,
    )
    mm.add_argument(
        "--script", type=absolute, required=True, metavar="FILE", help="the script, a JSON file"
    )
    mm.add_argument(
        "--port",
        type=port,
        default=0,
        metavar="N",
        help="port to listen on; default 0: a free one",
    )
    mm.add_argument(
        "--seed",
        type=int,
        default=None,
        metavar="N",
        help="the first session's seed for the script's choices (session n draws with N + n); "
        "default: the script's seed",
    )
    mm.set_defaults(func=_mock_model)
    _add_run(sub)
    add_suite_commands(sub)
    add_result_commands(sub)
    add_view_commands(sub)
    add_init_command(sub)
    return parser


RUN_EPILOG = """\
lanes:
{lanes}

examples:
  python -m runner run "Add an entry for the fix of issue #142." --lane agent-skill \\
      --skill skills/changelog --workspace fixtures/scenarios/fix-entry/workspace \\
      --mock-script fixtures/scenarios/fix-entry/mock/skill.json    # offline, $0
  python -m runner run - --lane agent-baseline --workspace DIR < task.txt    # live API

Exit codes: 0 the run succeeded, 1 it ended any other way (the record says why),
{exit_codes}"""


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lanes = lane_lines()
    run = sub.add_parser(
        "run",
        help="run the real CLI once on an instruction, in one lane, and show the record",
        description="Run Claude Code once on INSTRUCTION in a fresh copy of --workspace, in one "
        "lane, and print how it ended, what it changed and what it cost. The CLI's stream, "
        "stderr, changed files and the record (record.json) are kept in the run folder. Ctrl-C, "
        "SIGTERM and SIGHUP end the CLI and everything it started, and still write the record.",
        epilog=RUN_EPILOG.format(lanes=lanes, exit_codes=EXIT_CODES_REST),
        formatter_class=HelpFormatter,
    )
    run.add_argument("instruction", metavar="INSTRUCTION", help="the task, or - to read stdin")
    run.add_argument("--lane", default="agent-skill", help="default: agent-skill")
    run.add_argument(
        "--skill", type=absolute, metavar="DIR", help="the skill's folder (holds SKILL.md)"
    )
    run.add_argument(
        "--workspace", type=absolute, metavar="DIR", help="copied fresh for the run; default: empty"
    )
    run.add_argument("--name", default="adhoc", help="the scenario's name in the record")
    run.add_argument("--model", help="the model, e.g. claude-sonnet-4-5; default: the CLI's")
    run.add_argument("--timeout", type=seconds, default=600.0, metavar="S", help="default 600")
    run.add_argument(
        "--idle-timeout",
        type=seconds,
        default=180.0,
        metavar="S",
        help="stop when the CLI prints nothing for S seconds; default 180",
    )
    run.add_argument("--max-turns", type=turn_count, metavar="N")
    run.add_argument("--max-budget-usd", type=positive_number, metavar="USD")
    run.add_argument("--nudge", help="agent-skill's nudge; \"{skill}\" becomes the skill's name")
    run.add_argument(
        "--pass-env",
        action="append",
        default=[],
        metavar="NAME",
        help="let the CLI see this variable of yours (else it sees only PATH, and never your "
        "API key: runner's proxy holds that)",
    )
    run.add_argument(
        "--network",
        choices=("model", "host"),
        default="model",
        help="in the sandbox: model (the default) reaches only the model; host: the machine's "
        "network, for tasks that need the internet",
    )
    sandbox_option(run)
    run.add_argument(
        "--mock-script",
        type=absolute,
        metavar="FILE",
        help="run against a scripted model (see mock-model) instead of the live API",
    )
    run.add_argument("--seed", type=int, help="the seed for the script's choices")
    run.add_argument(
        "--run-dir",
        type=absolute,
        metavar="DIR",
        help="default: .runner/single/<time>-<name>-<lane>",
    )
    run.add_argument("--keep-workspace", action="store_true", help="keep the workspace afterwards")
    run.add_argument("--json", action="store_true", help="print the record as JSON")
    run.add_argument("--claude-bin", metavar="PATH", help="path to the claude binary")
    run.set_defaults(func=_run)


def main(argv: Sequence[str] | None = None) -> int:
    # runner uses no pydantic plugin, and looking for them scans every installed package's
    # metadata at the first model built (16 ms of every command's start); set to "" to look.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    args = build_parser().parse_args(argv)
    stop_like_ctrl_c()
    try:
        return int(args.func(args))
    except KeyboardInterrupt:
        return interrupted()  # Ctrl-C, SIGTERM, SIGHUP: the user knows; no traceback
    except BrokenPipeError:
        # The reader of our output went away (| head): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except (OSError, BaseExceptionGroup) as exc:
        # A full disk, a read-only folder: the environment's problem, one line, never a
        # traceback. Anything else in a group is a bug, and its traceback is wanted.
        problem = io_error(exc)
        if problem is not None:
            return io_failure(problem)
        if isinstance(exc, BaseExceptionGroup) and exc.subgroup(KeyboardInterrupt):
            return interrupted()  # on trio, Ctrl-C comes out of the task groups in one
        raise
