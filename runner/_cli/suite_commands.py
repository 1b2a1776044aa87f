"""The commands that run suites: ``eval`` and ``ab``.

``eval`` is the product's main job: scenario x lane x trial planned, then run through the
cache with live progress on stderr and a partial save after every run, in rounds with
``--until-decided`` (``suite_rounds``); ``suite_finish`` saves, compares and prints.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from runner._agent.claude_bin import ClaudeNotFoundError
from runner._agent.lanes import Lane, UnknownLaneError, get_lane
from runner._agent.sandbox import SandboxUnavailable
from runner._agent.sandbox import require as require_sandbox
from runner._cli.cluster_join import join, not_on_a_cluster
from runner._cli.cmdline import (
    UNCONFINED,
    fail,
    interrupted,
    io_error,
    io_failure,
    run_async,
    say,
)
from runner._cli.progress import Pace, ProgressDisplay, State, colour_allowed
from runner._cli.suite_finish import finish_suite
from runner._cli.suite_rounds import alpha_per_look, stop_after_look, trials_per_look
from runner._evaluate.cache import RunCache
from runner._evaluate.evaluation import suite_header, suite_result
from runner._evaluate.planning import PlanError, Unit, local_settings, plan
from runner._evaluate.results import (
    Look,
    RunResult,
    Sequential,
    Totals,
    VerdictSettings,
)
from runner._evaluate.scenarios import ScenarioError, load_suite
from runner._evaluate.suite import Progress, SuiteRunner
from runner._results.store import RunStore
from runner._util.figures import plural
from runner._util.inputs import MAX_RUNS
from runner._util.terminal import visible

if TYPE_CHECKING:
    from runner._evaluate.tapes import Cassettes, ReplayMode

# A/B statistics (runner._results.ab and the statistics it reads), the --json document
# (runner._results.eval_report, which holds them) and the cassettes (runner._evaluate.tapes) are
# imported where they are needed: a cached eval of one lane, printed, uses none.


def _lanes(text: str, option: str) -> list[Lane]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    if not names:
        raise UnknownLaneError(f"{option}: give at least one lane")
    return [get_lane(n) for n in dict.fromkeys(names)]


def _eval_lanes(args: argparse.Namespace) -> tuple[list[Lane], Lane | None]:
    return _lanes(args.lanes, "--lanes"), None


def _ab_lanes(args: argparse.Namespace) -> tuple[list[Lane], Lane | None]:
    lanes = _lanes(args.lanes, "--lanes") if args.lanes else []
    aa = get_lane(args.aa) if args.aa else None
    if len(lanes) < 2 and aa is None:
        raise UnknownLaneError(
            "--lanes: give two lanes or more (A,B: B is compared with A), "
            "or --aa LANE for the noise floor"
        )
    if aa is not None and aa not in lanes:
        lanes.append(aa)
    return lanes, aa


def eval_command(args: argparse.Namespace) -> int:
    return _run_suite(args, _eval_lanes)


def ab_command(args: argparse.Namespace) -> int:
    return _run_suite(args, _ab_lanes)


def _run_suite(
    args: argparse.Namespace,
    pick: Callable[[argparse.Namespace], tuple[list[Lane], Lane | None]],
) -> int:
    """eval and ab: the lanes ``pick`` reads from the options; plan, run through the cache
    with progress and partial saves (in rounds with --until-decided), then save, compare
    with the previous run and print."""
    if args.replay_mode and not args.replay:
        return fail("--replay-mode: goes with --replay DIR (--record DIR records every run)")
    try:
        lanes, aa = pick(args)
        ids = [i.strip() for i in args.scenarios.split(",")] if args.scenarios else None
        scenarios = load_suite(args.suite, ids)
        cassettes = None
        if args.record or args.replay:
            from runner._evaluate.tapes import Cassettes

            mode: ReplayMode = "all" if args.record else args.replay_mode or "none"
            cassettes = Cassettes(args.record or args.replay, mode)
        cache_root = args.cache_dir
        settings = local_settings(
            args.claude_bin,
            version_memo=None if args.no_cache else cache_root / "cli-versions.json",
            offline=args.offline,
            model=args.model,
            concurrency=args.concurrency or 2,
            cassettes=cassettes,
            sandbox=args.sandbox,
        )
        if settings.sandbox == "bwrap":
            require_sandbox()  # before any run, with the command that installs it
    except (UnknownLaneError, ScenarioError, ClaudeNotFoundError, SandboxUnavailable) as exc:
        return fail(str(exc))
    if args.fail_on and len(lanes) < 2:
        return fail(
            f"--fail-on {args.fail_on}: gates on an A/B verdict, which takes two lanes; "
            "give --lanes A,B"
        )
    looks = trials_per_look(args)
    if isinstance(looks, str):
        return fail(looks)
    most = looks[-1]
    # The A/A copy runs one lane's trials again.
    planned = len(scenarios) * (len(lanes) + (aa is not None)) * most
    if planned > MAX_RUNS:
        return fail(
            f"--trials: {plural(len(scenarios), 'scenario')} x {plural(len(lanes), 'lane')} x "
            f"{plural(most, 'trial')}{' (and the A/A copy)' if aa else ''} is {planned:,} runs, "
            f"more than the {MAX_RUNS:,} one eval plans; give fewer trials, or fewer --scenarios"
        )
    refused = not_on_a_cluster(settings) if args.cluster else None
    if refused is not None:
        return fail(refused)
    if settings.sandbox == "none":
        say(UNCONFINED)
    scripted, version = settings.scripted, settings.cli_version
    try:
        # Every look's runs are planned up front, so a bad scenario fails before any run.
        rounds = [
            plan(scenarios, lanes, trials - done, settings, first_trial=done)
            for done, trials in zip([0, *looks], looks, strict=False)
        ]
        if aa is not None:
            # The A/A copy: the same lane's next trials, paired trial t with t + trials.
            rounds[0] += plan(scenarios, [aa], most, settings, first_trial=most)
    except PlanError as exc:
        return fail(str(exc))
    remote = join(args, settings) if args.cluster else None
    if isinstance(remote, str):
        return fail(remote)
    args.concurrency = args.concurrency or 2  # with --cluster, join has set it
    settings = replace(settings, concurrency=args.concurrency)
    cache = RunCache(cache_root, read=not (args.no_cache or args.refresh), write=not args.no_cache)
    header = suite_header(
        args.suite,
        scenarios,
        lanes,
        looks[0],
        settings,
        planned=len(rounds[0]),
        aa=aa,
        verdicts=VerdictSettings(margin=args.margin / 100, cost_margin=args.cost_margin / 100),
    )
    store = RunStore(args.runs_dir)
    recording = store.begin(header)
    why = "--offline" if args.offline else "no ANTHROPIC_API_KEY"
    where = (
        f"{why}: offline, the real CLI against each scenario's scripted model ($0, nothing billed)"
        if scripted
        else "live: ANTHROPIC_API_KEY is set, runs are billed"
    )
    if cassettes is not None and cassettes.mode == "none":
        where = f"replay: the real CLI, every model reply from {cassettes.root} ($0, no model)"
    again = f", {aa.name} twice for the noise floor" if aa else ""
    upto = f" per round, up to {most}" if len(looks) > 1 else ""
    say(
        f"{plural(len(rounds[0]), 'run')} ({plural(len(scenarios), 'scenario')} x "
        f"{plural(len(lanes), 'lane')} x {plural(looks[0], 'trial')}{upto}{again}), {where}; "
        f"claude {version}; concurrency {args.concurrency}"
    )
    if cassettes is not None:
        say(_tapes_line([u for r in rounds for u in r], cassettes))
    runner = SuiteRunner(settings, cache, remote=remote)
    warned = [0, 0]  # how many of cache.problems and of runner.problems were shown
    runs: list[RunResult] = []  # every look's so far
    # Kept run by run: counting every run again after each one was quadratic.
    totals = Totals()
    pace = Pace()
    out = ProgressDisplay(sys.stderr, say, live=colour_allowed(sys.stderr, no_color=args.no_color))

    def on_result(result: RunResult, progress: Progress) -> None:
        nonlocal totals, pace
        # Only what is new in each list: copying them whole per run would be quadratic.
        for i, problems in enumerate((cache.problems, runner.problems)):
            for problem in problems[warned[i] :]:
                out.note(f"warning: {visible(problem)}")
            warned[i] = len(problems)
        totals = totals.plus(result)
        pace = pace.plus(result)
        eta = pace.eta(progress.total - progress.done, args.concurrency)
        out.finished(result, State(progress.done, progress.total, totals, scripted, eta))
        recording.append(header, result)

    spent = alpha_per_look(looks)
    history: list[Look] = []
    stopped = ""
    for index, (trials, units) in enumerate(zip(looks, rounds, strict=True)):
        header = header.model_copy(update={"trials": trials, "planned": len(runs) + len(units)})
        try:
            with out.round(State(0, len(units), Totals.of(runs), scripted)):
                runs += run_async(runner.run_plan, units, on_result)
        except KeyboardInterrupt:  # Ctrl-C, SIGTERM or SIGHUP: the runs in flight have ended
            say(f"interrupted: the runs done so far are in {recording.partial_path}")
            return interrupted()
        except (OSError, BaseExceptionGroup) as exc:
            # A full disk, a read-only folder: the first task's error cancelled the others,
            # which wrote their records where the disk allowed.
            problem = io_error(exc)
            if problem is None:
                raise
            return io_failure(problem, kept=recording.partial_path)
        if len(looks) == 1:
            break
        at_look = header.verdicts.model_copy(update={"alpha": spent[index]})
        from runner._results.ab import analyze

        report = analyze(suite_result(header, runs, partial=True), at_look)
        history.append(
            Look(trials=trials, alpha=spent[index], verdicts=[e.verdict for e in report.effects])
        )
        since = looks[index - 1] if index else 0
        stopped = stop_after_look(report, runs, since, index == len(looks) - 1, args.max_cost)
        if stopped:
            say(f"look {index + 1} at {plural(trials, 'trial')}: {stopped}")
            break
        say(f"look {index + 1} at {plural(trials, 'trial')}: undecided, another round")
    if history:
        verdicts = header.verdicts.model_copy(
            update={
                "alpha": spent[len(history) - 1],
                "sequential": Sequential(
                    round_trials=looks[0],
                    max_trials=most,
                    looks=history,
                    stopped=stopped,
                    runs=len(runs),
                    max_runs=len(scenarios) * len(lanes) * most,
                ),
            }
        )
        header = header.model_copy(update={"verdicts": verdicts})
    if remote is not None:
        say(f"cluster: {plural(remote.sent, 'run')} sent to the cluster, the rest from the cache")
    result = suite_result(header, runs, partial=False)
    return finish_suite(args, store, recording, result, lanes, cache, runner.problems)


def _tapes_line(units: list[Unit], cassettes: Cassettes) -> str:
    replaying = sum(u.tape is not None and u.tape.replaying for u in units)
    recording = len(units) - replaying
    parts = [
        f"{replaying} replayed from" if replaying else "",
        f"{recording} recorded to" if recording else "",
    ]
    return f"cassettes: {' and '.join(p for p in parts if p)} {cassettes.root}"
