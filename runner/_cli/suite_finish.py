"""The end of ``eval`` and ``ab``: the final save, the comparison with the previous
like-for-like run, the A/B analysis, the printed answer (or the --json document), and the exit
code (every run passed, or the --fail-on gate)."""

from __future__ import annotations

import argparse

from runner._agent.lanes import Lane
from runner._cli.cmdline import say
from runner._evaluate.cache import RunCache
from runner._evaluate.results import SuiteResult
from runner._results.history import previous
from runner._results.render_ab import render_ab, render_headline
from runner._results.render_suite import render_comparison, render_eval
from runner._results.store import Recording, RunStore
from runner._util.atomic import write_atomically
from runner._util.terminal import json_visible

# The comparison, the A/B statistics and the --json document are imported where they are
# needed: a cached eval of one lane, printed, uses none.


def finish_suite(
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
