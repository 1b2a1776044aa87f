"""The rounds of a sequential A/B (``ab --until-decided``): the trials at each look, each
look's share of the 5%, and whether to stop after a look."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from runner._cli.suite_args import SEQUENTIAL_ROUNDS
from runner._util.figures import money

# The A/B statistics are imported only when there are rounds: one look uses none.
if TYPE_CHECKING:
    from runner._evaluate.results import RunResult
    from runner._results.ab_report import AbReport


def trials_per_look(args: argparse.Namespace) -> list[int] | str:
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


def alpha_per_look(looks: list[int]) -> list[float]:
    """Each look's share of the 5%; one look tests at the 5% (``analyze``'s default)."""
    if len(looks) == 1:
        return []
    from runner._results.sequential import look_levels

    return look_levels(looks)


def stop_after_look(
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
