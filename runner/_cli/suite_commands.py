"""The commands that run suites: ``eval`` and ``ab``.

``eval`` is the product's main job: scenario x lane x trial through the cache, live progress
on stderr, a partial save after every run, the summary table, the final save, and the
comparison with the previous run.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
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
from runner._cli.suite_args import SEQUENTIAL_ROUNDS
from runner._evaluate.cache import RunCache
from runner._evaluate.planning import PlanError, Unit, local_settings, plan
from runner._evaluate.results import (
    Look,
    RunResult,
    Sequential,
    SuiteHeader,
    SuiteResult,
    Totals,
    VerdictSettings,
)
from runner._evaluate.scenarios import ScenarioError, load_suite
from runner._evaluate.suite import Progress, SuiteRunner
from runner._results.history import previous
from runner._results.render_ab import render_ab, render_headline
from runner._results.render_suite import render_comparison, render_eval
from runner._results.store import Recording, RunStore, git_identity
from runner._util.atomic import write_atomically
from runner._util.figures import money, plural
from runner._util.inputs import MAX_RUNS
from runner._util.terminal import json_visible, visible
from runner._util.version import __version__

if TYPE_CHECKING:
    from runner._evaluate.tapes import Cassettes, ReplayMode
    from runner._results.ab_report import AbReport

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
    looks = _looks(args)
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
    branch, sha = git_identity(Path.cwd())
    header = SuiteHeader(
        runner_version=__version__,
        branch=branch,
        sha=sha,
        # Milliseconds: two evals in one second (cached ones take half of one) stay in order.
        started_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        partial=True,
        # One spelling per folder (./s, s/, /abs/s), so the previous run of a suite is found.
        suite=os.path.relpath(args.suite.resolve()),
        lanes=[lane.name for lane in lanes],
        scenarios=[s.id for s in scenarios],
        trials=looks[0],
        aa=aa.name if aa else None,
        mode="scripted" if scripted else "live",
        cassettes=str(cassettes.root) if cassettes else None,
        replay_mode=cassettes.mode if cassettes else None,
        planned=len(rounds[0]),
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

    spent = _levels(looks)
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

        report = analyze(_result(header, runs, partial=True), at_look)
        history.append(
            Look(trials=trials, alpha=spent[index], verdicts=[e.verdict for e in report.effects])
        )
        since = looks[index - 1] if index else 0
        stopped = _stop(report, runs, since, index == len(looks) - 1, args.max_cost)
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
    result = _result(header, runs, partial=False)
    return _finish(args, store, recording, result, lanes, cache, runner.problems)


def _looks(args: argparse.Namespace) -> list[int] | str:
    """The trials per scenario at each look: one look, or rounds of --trials up to
    --max-trials with --until-decided; a usage error's line otherwise."""
    until = getattr(args, "until_decided", False)
    most = getattr(args, "max_trials", None)
    if not until:
        for flag, given in (
            ("--max-trials", most),
            ("--max-cost", getattr(args, "max_cost", None)),
        ):
            if given is not None:
                return f"{flag}: bounds a sequential A/B; add --until-decided, or leave {flag} out"
        return [args.trials]
    if args.aa:
        return (
            "--until-decided: not with --aa (the A/A copy's trials follow the last look); "
            "measure the noise floor in a separate `ab --aa LANE`"
        )
    most = most if most is not None else SEQUENTIAL_ROUNDS * args.trials
    if most < args.trials:
        return (
            f"--max-trials {most}: fewer than one round of --trials {args.trials}; give "
            f"--max-trials {args.trials} or more, or fewer --trials"
        )
    from runner._results.sequential import sequential_looks

    return sequential_looks(args.trials, most)


def _levels(looks: list[int]) -> list[float]:
    """Each look's share of the 5%; one look tests at the 5% (``analyze``'s default)."""
    if len(looks) == 1:
        return []
    from runner._results.sequential import look_levels

    return look_levels(looks)


def _stop(
    report: AbReport,
    runs: list[RunResult],
    since: int,
    last_look: bool,
    max_cost: float | None,
) -> str:
    """Why a sequential A/B stops after this look, or "" to run another round."""
    if all(e.verdict != "inconclusive" for e in report.effects):
        return "decided: " + ", ".join(f"{e.b} {e.verdict}" for e in report.effects)
    if last_look:
        return "undecided at --max-trials"
    if max_cost is not None:
        spent = sum(r.cost_usd or 0.0 for r in runs)
        per_round = sum(r.cost_usd or 0.0 for r in runs if r.trial >= since)
        if spent + per_round > max_cost:
            return (
                f"undecided: another round (about {money(per_round)}) would take the study past "
                f"--max-cost {money(max_cost)} ({money(spent)} so far)"
            )
    return ""


def _tapes_line(units: list[Unit], cassettes: Cassettes) -> str:
    replaying = sum(u.tape is not None and u.tape.replaying for u in units)
    recording = len(units) - replaying
    parts = [
        f"{replaying} replayed from" if replaying else "",
        f"{recording} recorded to" if recording else "",
    ]
    return f"cassettes: {' and '.join(p for p in parts if p)} {cassettes.root}"


def _result(header: SuiteHeader, runs: list[RunResult], *, partial: bool) -> SuiteResult:
    finished = None if partial else datetime.now(UTC).isoformat(timespec="seconds")
    update = {"partial": partial, "finished_at": finished, "totals": Totals.of(runs)}
    return SuiteResult(header=header.model_copy(update=update), runs=runs)


def _finish(
    args: argparse.Namespace,
    store: RunStore,
    recording: Recording,
    result: SuiteResult,
    lanes: list[Lane],
    cache: RunCache,
    problems: list[str],
) -> int:
    saved = recording.finish(result)
    # Only a like-for-like previous result is compared; why another is not, in a line.
    baseline, before, note = previous(store, result, exclude=saved)
    comparison = None
    if before is not None:
        from runner._results.compare import compare

        comparison = compare(before, result)
    if note is not None:
        say(note)
    ab_command = args.command == "ab"
    ab = None
    if len(lanes) > 1 or result.header.aa:
        from runner._results.ab import analyze

        ab = analyze(result)
    document = ""
    if args.out or args.json:
        from runner._results.eval_report import EvalReport

        report = EvalReport(
            **dict(result),
            saved_to=str(saved),
            baseline=str(baseline) if baseline else None,
            comparison=comparison,
            ab=ab,
            cache_problems=[*cache.problems, *problems],
        )
        document = report.model_dump_json(indent=2)
    if args.out:
        write_atomically(args.out, document)
    if not args.json and ab is not None and ab.effects:
        # The answer first, above the tables it comes from.
        print(render_headline(ab, mode=result.header.mode), end="\n\n")
    if args.json:
        print(json_visible(document))
    elif ab_command:
        # ab answers one question; every run and its transcript are in `runner report`.
        assert ab is not None
        print(render_ab(ab))
        print(f"\nsaved to {saved}; every run and transcript: python -m runner report")
    else:
        skill_lanes = {lane.name for lane in lanes if lane.uses_skill}
        print(render_eval(result, skill_lanes=skill_lanes))
        if ab is not None:
            print()
            print(render_ab(ab))
            print()
        print(f"saved to {saved}")
        if comparison is not None and baseline is not None:
            print()
            print(render_comparison(comparison, before_name=baseline.name, after_name=saved.name))
        elif note is None:
            print("no previous run of this suite to compare with")
        if ab is None and lanes[0].uses_skill:
            control = "agent-baseline" if lanes[0].agent else "baseline"
            print(
                f"\ndoes the skill help, and at what cost? "
                f"python -m runner ab --lanes {control},{lanes[0].name}"
            )
    if args.fail_on:
        # The gate replaces "every run passed": with it, failed runs are the A/B's data.
        assert ab is not None
        tripped = [e for e in ab.effects if _trips(args.fail_on, e.verdict)]
        for e in tripped:
            say(f"--fail-on {args.fail_on}: {e.b} over {e.a} is {e.verdict}")
        return GATE if tripped else 0
    # An A/B's failures are its data; eval says whether every run passed.
    return 0 if ab_command or all(r.passed for r in result.runs) else 1


GATE = 1  # --fail-on: the verdict is one the gate refuses


def _trips(gate: str, verdict: str) -> bool:
    if gate == "worse":
        return verdict == "worse"
    if gate == "not-better":
        return verdict != "better"
    return verdict != "equivalent"
