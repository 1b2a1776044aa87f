"""The arguments of ``eval`` and ``ab``; runner._cli.suite_commands runs them, imported only when
one does, so that building the parser stays light."""

from __future__ import annotations

import argparse

from runner._agent.lanes import lane_lines
from runner._cli.cmdline import (
    EXIT_CODES,
    EXIT_CODES_REST,
    STOPPING,
    HelpFormatter,
    absolute,
    command,
    concurrency,
    dir_option,
    percent,
    positive_number,
    sandbox_option,
    trial_count,
)
from runner._util.defaults import CACHE_ROOT, COST_MARGIN, DEFAULT_SUITE, MARGIN, RUNS_ROOT

FAIL_ON = ("worse", "not-better", "not-equivalent")


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
        "--concurrency",
        type=concurrency,
        default=None,
        metavar="N",
        help="CLIs at once; default 2; with --cluster the cluster's CPUs (and at most that)",
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
        "--cluster",
        metavar="ADDRESS",
        help="run cache misses as tasks on a Ray cluster: auto (the one started on this "
        "machine), HOST:PORT (the head's `ray start --head` port, 6379 by default) or "
        "ray://HOST:10001; hits, keys and the cache stay here. Every node needs runner with "
        "its extra (pip install 'runner[ray]'), the pinned CLI (scripts/setup) and "
        "bubblewrap; a node whose CLI differs is refused before any run (README: Running on "
        "a cluster)",
    )
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
    lanes = lane_lines()
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
    ev.set_defaults(func=command("runner._cli.suite_commands", "eval_command"))

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
    ab.set_defaults(func=command("runner._cli.suite_commands", "ab_command"))
