"""``python -m runner run``: the real CLI once on an instruction, in one lane, and its record."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from runner._agent.lanes import lane_lines
from runner._cli.cmdline import (
    EXIT_CODES_REST,
    HelpFormatter,
    absolute,
    positive_number,
    sandbox_option,
    seconds,
    turn_count,
)

# The engine, the sandbox and the model are imported when the command runs (start-up; issue 17).
if TYPE_CHECKING:
    from pathlib import Path

    from runner._agent.engine import RunOptions, RunRecord, RunSpec
    from runner._agent.lanes import Lane
    from runner._model.script import Script

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


def add_run_command(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
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
    from runner._results.render_run import render_record
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
