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
from datetime import UTC, datetime
from pathlib import Path

from runner import __version__
from runner.ab import COST_MARGIN, MARGIN, AbReport, analyze, look_levels, sequential_looks
from runner.atomic import write_atomically
from runner.cache import DEFAULT_ROOT as CACHE_ROOT
from runner.cache import RunCache
from runner.claude_bin import ClaudeNotFoundError
from runner.cmdline import (
    EXIT_CODES,
    EXIT_CODES_REST,
    STOPPING,
    UNCONFINED,
    HelpFormatter,
    absolute,
    concurrency,
    dir_option,
    fail,
    interrupted,
    io_error,
    io_failure,
    percent,
    positive_number,
    run_async,
    sandbox_option,
    say,
    trial_count,
)
from runner.compare import Comparison, compare
from runner.figures import money, plural
from runner.history import previous
from runner.inputs import MAX_RUNS
from runner.lanes import LANES, Lane, UnknownLaneError, get_lane
from runner.progress import ProgressDisplay, State, colour_allowed, eta_seconds
from runner.render import (
    render_ab,
    render_comparison,
    render_eval,
    render_headline,
)
from runner.results import (
    Look,
    RunResult,
    Sequential,
    SuiteHeader,
    SuiteResult,
    Totals,
    VerdictSettings,
)
from runner.sandbox import SandboxUnavailable
from runner.sandbox import require as require_sandbox
from runner.scenarios import ScenarioError, load_suite
from runner.store import DEFAULT_ROOT as RUNS_ROOT
from runner.store import Recording, RunStore, git_identity
from runner.suite import PlanError, Progress, SuiteRunner, Unit, local_settings, plan
from runner.tapes import Cassettes, ReplayMode
from runner.terminal import json_visible, visible

DEFAULT_SUITE = Path("fixtures") / "scenarios"


class EvalReport(SuiteResult):
    """``eval --json``: the stored result, where it went, and how it compares."""

    saved_to: str | None = None
    baseline: str | None = None  # the previous run it was compared with
    comparison: Comparison | None = None
    ab: AbReport | None = None  # two lanes or more, or an A/A copy
    cache_problems: list[str] = []  # corrupt cache entries, recordings not kept


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


def _eval(args: argparse.Namespace) -> int:
    return _run_suite(args, _eval_lanes)


def _ab(args: argparse.Namespace) -> int:
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
            mode: ReplayMode = "all" if args.record else args.replay_mode or "none"
            cassettes = Cassettes(args.record or args.replay, mode)
        cache_root = args.cache_dir
        settings = local_settings(
            args.claude_bin,
            version_memo=None if args.no_cache else cache_root / "cli-versions.json",
            offline=args.offline,
            model=args.model,
            concurrency=args.concurrency,
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
    runner = SuiteRunner(settings, cache)
    shown = 0
    runs: list[RunResult] = []  # every look's so far
    # Kept run by run: counting every run again after each one was quadratic.
    totals = Totals()
    out = ProgressDisplay(sys.stderr, say, live=colour_allowed(sys.stderr, no_color=args.no_color))

    def on_result(result: RunResult, progress: Progress) -> None:
        nonlocal shown, totals
        problems = [*cache.problems, *runner.problems]
        for problem in problems[shown:]:
            out.note(f"warning: {visible(problem)}")
        shown = len(problems)
        totals = totals.plus(result)
        finished = [*runs, *progress.results]
        eta = eta_seconds(finished, progress.total - progress.done, args.concurrency)
        out.finished(result, State(progress.done, progress.total, totals, scripted, eta))
        recording.append(header, result)

    spent = look_levels(looks)
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
    return sequential_looks(args.trials, most)


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
    comparison = None if before is None else compare(before, result)
    if note is not None:
        say(note)
    ab_command = args.command == "ab"
    ab = analyze(result) if len(lanes) > 1 or result.header.aa else None
    report = EvalReport(
        **dict(result),
        saved_to=str(saved),
        baseline=str(baseline) if baseline else None,
        comparison=comparison,
        ab=ab,
        cache_problems=[*cache.problems, *problems],
    )
    if args.out:
        write_atomically(args.out, report.model_dump_json(indent=2))
    if not args.json and ab is not None and ab.effects:
        # The answer first, above the tables it comes from.
        print(render_headline(ab, mode=result.header.mode), end="\n\n")
    if args.json:
        print(json_visible(report.model_dump_json(indent=2)))
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


FAIL_ON = ("worse", "not-better", "not-equivalent")
GATE = 1  # --fail-on: the verdict is one the gate refuses


def _trips(gate: str, verdict: str) -> bool:
    if gate == "worse":
        return verdict == "worse"
    if gate == "not-better":
        return verdict != "better"
    return verdict != "equivalent"


EVAL_EPILOG = """\
lanes:
{lanes}

Without ANTHROPIC_API_KEY (or with --offline) every run plays against its scenario's
scripted model ([mock] in scenario.toml): the real CLI, real tools, $0. With the key, runs
are live and billed. Every run is cached by a hash of all its inputs: a second identical
eval starts no CLI. Checks are scored from the stored run, so editing a check re-scores
without running the agent.

Progress goes to stderr: on a terminal, one line redrawn in place (runs done, ETA, passed,
failed, cached, cost so far), and each failed run on a line of its own; piped, or with
--no-color, NO_COLOR or TERM=dumb, a plain line per run.

Record once, replay for $0: --record DIR puts a proxy between the CLI and the model and
writes each run's requests and replies to DIR/<scenario>/<lane>-<trial>.ndjson (API keys and
auth headers are never written; workspace and home paths become placeholders). --replay DIR
runs the real CLI again, tools and all, with every reply served from the cassette. A request
that differs from its recording, one past the cassette's end, or a recorded reply left unused
fails the run (replay_diverged) with the request's index and a diff.

With two lanes or more, eval also prints the A/B statistics of each later lane against the
first (see `ab --help`); with --fail-on it exits 1 only when a verdict trips the gate (failed
runs are then the comparison's data). `python -m runner report` turns the saved results into
an HTML page.

examples:
  python -m runner eval                                   # the example suite, agent-skill
  python -m runner eval --lanes agent-baseline,agent-skill --trials 3
  python -m runner eval --scenarios fix-entry --json --out results.json
  python -m runner eval --record fixtures/cassettes       # record once ...
  python -m runner eval --replay fixtures/cassettes --no-cache   # ... replay, offline, $0

{exit_codes}
Results are saved under .runner/runs/ and compared with the previous run."""


AB_TRIALS = 5
SEQUENTIAL_ROUNDS = 4  # --until-decided without --max-trials: up to 4 rounds of --trials

AB_EPILOG = """\
lanes:
{lanes}

Reading the verdict: it is about tasks like the suite's scenarios, not only these runs. Each
scenario's difference in pass rate (B minus A over its paired trials) is one draw; the paired
t-test over scenarios gives the interval and p.
  better / worse   B's pass rate differs, p < 0.05 (the interval excludes 0)
  equivalent       the difference is within +-MARGIN points (two one-sided tests, TOST)
  inconclusive     neither shows: the line says what would decide, more scenarios or more
                   trials and how many, for a MARGIN-point effect at 80% power
Fewer than 3 scenarios decide nothing. The cost line is a verdict too (costs more, costs
less, same cost within +-COST-MARGIN %). "these runs" is McNemar's test over every pair: true
of these scenarios only. --aa LANE measures the noise floor: how often a run's outcome flips
with nothing changed. Every run is cached, so raising --trials runs only the new trials, and
a stopped --until-decided study resumes where it was.

--until-decided runs rounds of --trials per scenario up to --max-trials, and stops at the
first look where every verdict is decided. Each look tests at its share of the 5%
(O'Brien-Fleming-type spending), so looking often does not add false verdicts.

examples:
  python -m runner ab --lanes agent-baseline,agent-skill
  python -m runner ab --lanes agent-baseline,agent-skill --trials 10 --aa agent-skill
  python -m runner ab --lanes agent-skill-nonudge,agent-skill   # what the nudge does
  python -m runner ab --lanes agent-baseline,agent-skill --until-decided --max-trials 20
  python -m runner ab --lanes agent-baseline,agent-skill --fail-on worse   # a CI gate
  python -m runner ab --lanes agent-baseline,agent-skill --until-decided --fail-on not-better
  python -m runner ab --lanes agent-baseline,agent-skill --json --out ab.json

Exit codes: 0 the comparison ran (failed runs are its data), 1 with --fail-on: a verdict the
gate refuses (worse; not better; not equivalent),
{exit_codes}
Results are saved under .runner/runs/ like eval's: `python -m runner report` shows them, every
run's transcript, and this A/B view in one HTML file."""


def _run_options(parser: argparse.ArgumentParser, *, trials: int) -> None:
    """What eval and ab share: which runs, where they go, how they reach a model."""
    parser.add_argument("--scenarios", metavar="ID[,ID...]", help="only these scenarios")
    parser.add_argument(
        "--trials", type=trial_count, default=trials, metavar="N", help=f"default {trials}"
    )
    parser.add_argument(
        "--concurrency", type=concurrency, default=2, metavar="N", help="CLIs at once; default 2"
    )
    parser.add_argument("--model", help="the model for every scenario, over the scenario's own")
    parser.add_argument(
        "--suite",
        type=absolute,
        default=str(DEFAULT_SUITE),
        metavar="DIR",
        help=f"a folder of <id>/scenario.toml; default {DEFAULT_SUITE}",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document, not the text")
    parser.add_argument(
        "--out", type=absolute, metavar="FILE", help="also write the JSON document to FILE"
    )
    parser.add_argument(
        "--offline",
        action="store_true",
        help="use the scripted models even when ANTHROPIC_API_KEY is set",
    )
    fresh = parser.add_mutually_exclusive_group()
    fresh.add_argument("--no-cache", action="store_true", help="neither read nor write the cache")
    fresh.add_argument("--refresh", action="store_true", help="run again, and overwrite the cache")
    tapes = parser.add_mutually_exclusive_group()
    tapes.add_argument(
        "--record",
        type=absolute,
        metavar="DIR",
        help="record every run's API traffic to DIR/<scenario>/<lane>-<trial>.ndjson "
        "(through a proxy on 127.0.0.1; keys and paths never written)",
    )
    tapes.add_argument(
        "--replay",
        type=absolute,
        metavar="DIR",
        help="answer every model request from the cassettes in DIR: the real CLI and tools, "
        "no model, $0",
    )
    parser.add_argument(
        "--replay-mode",
        choices=("none", "new", "all"),
        help="with --replay: none = replay only, a missing cassette is an error (default); "
        "new = record the missing ones; all = record every run again",
    )
    verdict = parser.add_argument_group("verdicts (with two lanes or more)")
    verdict.add_argument(
        "--margin",
        type=percent,
        default=round(MARGIN * 100),
        metavar="POINTS",
        help=f"pass rates within +-POINTS are 'equivalent'; default {MARGIN * 100:.0f}",
    )
    verdict.add_argument(
        "--cost-margin",
        type=percent,
        default=round(COST_MARGIN * 100),
        metavar="PERCENT",
        help=f"costs per run within +-PERCENT are 'same cost'; default {COST_MARGIN * 100:.0f}",
    )
    verdict.add_argument(
        "--fail-on",
        choices=FAIL_ON,
        help="exit 1 when a verdict is worse / anything but better / anything but equivalent "
        "(failed runs are then the comparison's data, not a failure)",
    )
    dir_option(parser, "--cache-dir", CACHE_ROOT)
    dir_option(parser, "--runs-dir", RUNS_ROOT)
    parser.add_argument("--claude-bin", metavar="PATH", help="path to the claude binary")
    sandbox_option(parser)
    parser.add_argument(
        "--no-color",
        action="store_true",
        help="progress as plain lines, no colour or redrawn line, also on a terminal "
        "(as NO_COLOR=1 or TERM=dumb do)",
    )


def _lanes_option(
    parser: argparse.ArgumentParser, metavar: str, help: str, default: str | None = None
) -> None:
    """--lanes, and --variant: its older name, kept working (``eval --variant agent-skill`` is
    in every guide) but left out of the usage, so one name for lanes is taught."""
    parser.add_argument(
        "--lanes", default=default, metavar=metavar, help=f"{help}; --variant is an alias"
    )
    parser.add_argument("--variant", dest="lanes", default=default, help=argparse.SUPPRESS)


def add_suite_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    lanes = "\n".join(f"  {lane.name:<20} {lane.summary}" for lane in LANES.values())
    ev = sub.add_parser(
        "eval",
        help="run a suite of scenarios in one or more lanes, scored, cached and compared",
        description="Run every scenario of --suite in each lane of --lanes, --trials times, "
        "through the cache; score each run's checks; print a summary table; save the results "
        "under --runs-dir and compare them with the previous run.",
        epilog=EVAL_EPILOG.format(lanes=lanes, exit_codes=EXIT_CODES),
        formatter_class=HelpFormatter,
    )
    _lanes_option(
        ev, "LANE[,LANE...]", "the lanes to run; default: agent-skill", default="agent-skill"
    )
    _run_options(ev, trials=1)
    ev.set_defaults(func=_eval)

    ab = sub.add_parser(
        "ab",
        help="does lane B beat lane A on tasks like these? a verdict, and what it costs",
        description="Run every scenario of --suite in each lane of --lanes, --trials times, "
        "through the cache (as eval does), then compare each lane after the first with the "
        "first, pairing runs by scenario and trial. The verdict (better, worse, equivalent, "
        "inconclusive) is about scenarios like these: the paired t-test over per-scenario "
        "differences, with the interval from the same test. Also: pass rates with scenario-"
        "clustered intervals, pass@k and pass^k, a cost verdict, turns and time, how often "
        "each skill lane loaded its skill, and what to add when nothing is decided.",
        epilog=AB_EPILOG.format(lanes=lanes, exit_codes=f"{EXIT_CODES_REST}\n{STOPPING}"),
        formatter_class=HelpFormatter,
    )
    _lanes_option(
        ab, "A,B[,C...]", "the lanes to compare: each later lane is compared with the first"
    )
    ab.add_argument(
        "--aa",
        metavar="LANE",
        help="also run LANE's trials a second time, and report how often a run's outcome flips "
        "with nothing changed: the noise floor to read every verdict against",
    )
    _run_options(ab, trials=AB_TRIALS)
    rounds = ab.add_argument_group("sequential (stop as soon as the verdict is decided)")
    rounds.add_argument(
        "--until-decided",
        action="store_true",
        help="run rounds of --trials per scenario, and stop at the first look whose verdicts "
        "are all decided (each look tests at its share of the 5%%, so the looks do not add "
        "false verdicts)",
    )
    rounds.add_argument(
        "--max-trials",
        type=trial_count,
        metavar="N",
        help=f"with --until-decided: at most N trials per scenario; default {SEQUENTIAL_ROUNDS} "
        "rounds of --trials",
    )
    rounds.add_argument(
        "--max-cost",
        type=positive_number,
        metavar="USD",
        help="with --until-decided: no round that would take the study's runs past USD (at the "
        "CLI's prices; scripted runs count too)",
    )
    ab.set_defaults(func=_ab)
