"""The simulation study behind ab's verdicts (issue 15): how often each verdict says "better",
"worse", "equivalent" or "costs more" when it should not, how often it finds a real effect,
how often its 95% intervals hold the truth, and what ``--until-decided`` saves.

It runs the code ab ships (modules of runner._results): the pass-rate verdict is
scenario_tests.pass_rate_verdict (the paired t-test over per-scenario differences, TOST at +-10
points); the cost verdict is ab_verdicts.cost_verdict on ab.log_ratios (+-10% on the log scale),
whose interval is also the one cost, turns and time get (the t interval of per-scenario log
ratios); lane pass-rate intervals are ab_report.Rate.over_scenarios (rates.clustered_rate); the
sequential mode tests each look of sequential.sequential_looks at its sequential.look_levels
share of 5% and stops at the first decided verdict, as ``ab --until-decided`` does. The old
verdict, McNemar's exact test over every (scenario, trial) pair with Newcombe's interval, and
the old lane interval (Wilson's over runs) are kept as reference rows: they are about these
scenarios only; so is the t interval of dollar differences, which ab no longer prints (skewed
when the skill's extra cost grows with the task's).

Pass rates (the issue's model): scenario j has difficulty b_j ~ N(0, 1.5^2) on the logit
scale; lane A passes a trial with probability expit(b_j), lane B with expit(b_j + shift +
u_j), where u_j ~ N(0, sigma^2) is how the skill's effect varies by scenario. Shift 0 is the
null (the mean scenario difference over tasks like these is 0); +1 logit measures power; the
shift whose mean difference is exactly +10 points sits on the margin, where "equivalent" is
false. Trials are independent given the scenario.

Cost per run: lognormal, log cost = log($0.05) + c_j + e in lane A and r_j more in lane B,
c_j ~ N(0, 0.5^2) the scenario's cost level, e ~ N(0, 0.3^2) per run, r_j ~ N(log ratio,
tau^2) the skill's cost ratio in scenario j. The cost verdict is about the typical ratio,
exp(mean r_j): 1 is the null, 1.1 and 1 / 1.1 sit on the margin, 1.3 measures power.

Seeded (each cell from its own seed, so the output does not depend on --jobs), plain Python:

    .venv/bin/python scripts/sim_verdicts.py               # 5,000 experiments per cell
    .venv/bin/python scripts/sim_verdicts.py --rounds 500 --seed 7 --jobs 1
"""

from __future__ import annotations

import argparse
import functools
import math
import os
import random
import textwrap
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import NamedTuple

from runner._results.ab import log_ratios, mean_differences
from runner._results.ab_report import ALPHA, CONFIDENCE, COST_MARGIN, MARGIN, Rate
from runner._results.ab_verdicts import cost_verdict
from runner._results.rates import (
    PairedTable,
    mcnemar_exact,
    newcombe_paired,
    wilson,
)
from runner._results.scenario_tests import Direction, paired_t, pass_rate_verdict
from runner._results.sequential import look_levels, sequential_looks

DIFFICULTY_SD = 1.5
EFFECT = 1.0  # logit: power, and coverage away from the null
STRONG = 3.0  # logit: where a sequential study should stop early
# (scenarios, trials): the rows, then designs with more scenarios.
ROWS = [(5, 6), (3, 10), (5, 20), (5, 50), (10, 10), (20, 5)]
SIGMAS = [0.5, 1.0]
# Sequential designs: (scenarios, trials per round, most trials per scenario).
SEQUENTIAL = [(5, 5, 20), (10, 5, 20)]
LOG_COST, COST_LEVEL_SD, COST_RUN_SD = math.log(0.05), 0.5, 0.3
TAUS = [0.1, 0.3]
COST_RATIOS = [1.0, 1.1, 1 / 1.1, 1.3]
COVERAGE_TARGET = 0.93
ROUNDS = 5000  # Monte Carlo error 0.3 points at 5%; about 75 s on an idle 2-core machine


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def normal_mean(g: Callable[[float], float], shift: float, sd: float, steps: int = 400) -> float:
    """E[g(X)] for X ~ N(shift, sd^2), by the midpoint rule on +-8 sd."""
    h = 16.0 / steps
    total = 0.0
    for i in range(steps):
        z = -8.0 + h * (i + 0.5)
        total += math.exp(-z * z / 2) * g(shift + sd * z)
    return total * h / math.sqrt(2 * math.pi)


def mean_rate(shift: float, sd: float) -> float:
    """E[expit(X)] for X ~ N(shift, sd^2): a lane's pass rate over the population."""
    return normal_mean(expit, shift, sd)


def lane_rates(sigma: float, shift: float) -> tuple[float, float]:
    """The population pass rates of lanes A and B: b_j + shift + u_j ~ N(shift, 1.5^2 + sigma^2)."""
    return mean_rate(0.0, DIFFICULTY_SD), mean_rate(shift, math.hypot(DIFFICULTY_SD, sigma))


def true_difference(sigma: float, shift: float) -> float:
    """The mean scenario difference in pass rate over tasks like these: what an interval
    should hold."""
    rate_a, rate_b = lane_rates(sigma, shift)
    return rate_b - rate_a


@functools.lru_cache
def shift_for(difference: float, sigma: float) -> float:
    """The logit shift whose mean scenario difference is ``difference`` (0 < it < 0.5), by
    Newton's method from 0: the difference is increasing and concave in the shift (for
    shifts above 0), with slope E[expit'(X)], so the steps approach it from below."""
    sd = math.hypot(DIFFICULTY_SD, sigma)
    shift = 0.0
    for _ in range(100):
        slope = normal_mean(lambda x: expit(x) * (1.0 - expit(x)), shift, sd)
        step = (difference - true_difference(sigma, shift)) / slope
        shift += step
        if abs(step) < 1e-12:
            break
    return shift


def exceeds(count: int, rounds: int, rate: float, confidence: float = 0.99) -> bool:
    """Whether ``count`` of ``rounds`` is above ``rate`` beyond Monte Carlo error: ``rate``
    lies below the Wilson interval of the observed rate at ``confidence``."""
    return wilson(count, rounds, confidence)[0] > rate


def falls_short(count: int, rounds: int, rate: float, confidence: float = 0.99) -> bool:
    """Whether ``count`` of ``rounds`` is below ``rate`` beyond Monte Carlo error."""
    return wilson(count, rounds, confidence)[1] < rate


# --- The cells: one setting each, simulated ``rounds`` times --------------------------------


class PassCell(NamedTuple):
    scenarios: int
    trials: int
    sigma: float
    shift: float  # logit


class CostCell(NamedTuple):
    scenarios: int
    trials: int
    tau: float
    ratio: float  # the typical cost ratio, B over A


class SequentialCell(NamedTuple):
    scenarios: int
    round_trials: int
    max_trials: int
    sigma: float
    shift: float


Cell = PassCell | CostCell | SequentialCell


def _rng(cell: Cell, seed: int) -> random.Random:
    """The cell's own generator. Its settings are rounded, so a computed shift that moves in
    the last digit keeps its draws; a str seed hashes by SHA-512, the same on every run."""
    values = ",".join(f"{v:.6g}" if isinstance(v, float) else str(v) for v in cell)
    return random.Random(f"{seed}:{type(cell).__name__}({values})")


def _scenario(rng: random.Random, sigma: float, shift: float) -> tuple[float, float]:
    """One scenario drawn from the population: its pass probability in lanes A and B."""
    b = rng.gauss(0.0, DIFFICULTY_SD)
    return expit(b), expit(b + shift + rng.gauss(0.0, sigma))


def _covers(bounds: tuple[float, float], truth: float) -> bool:
    return bounds[0] <= truth <= bounds[1]


def simulate_pass(cell: PassCell, rounds: int, seed: int) -> Counter[str]:
    """The pass-rate verdict and intervals of ``rounds`` studies of one design."""
    rng = _rng(cell, seed)
    truth = true_difference(cell.sigma, cell.shift)
    rate_a, rate_b = lane_rates(cell.sigma, cell.shift)
    n = cell.trials
    tally: Counter[str] = Counter()
    for _ in range(rounds):
        both = a_only = b_only = neither = 0
        counts = []
        for _ in range(cell.scenarios):
            p_a, p_b = _scenario(rng, cell.sigma, cell.shift)
            passes_a = passes_b = 0
            for _ in range(n):
                a, b = rng.random() < p_a, rng.random() < p_b
                passes_a += a
                passes_b += b
                both += a and b
                a_only += a and not b
                b_only += b and not a
                neither += not (a or b)
            counts.append((passes_a, passes_b, n))
        decided = pass_rate_verdict(counts, MARGIN, ALPHA)
        assert decided.test is not None  # every design has MIN_SCENARIOS
        tally[decided.direction] += 1
        tally["covered"] += _covers(decided.test.interval, truth)
        table = PairedTable(both, a_only, b_only, neither)
        if mcnemar_exact(a_only, b_only) < ALPHA:
            tally["mcnemar higher" if table.diff > 0 else "mcnemar lower"] += 1
        tally["mcnemar covered"] += _covers(newcombe_paired(table, CONFIDENCE), truth)
        for lane, rate, k in (("a", rate_a, 0), ("b", rate_b, 1)):
            lane_counts = [(c[k], n) for c in counts]
            clustered = Rate.over_scenarios(lane_counts).ci
            runs = Rate.of(sum(c for c, _ in lane_counts), n * cell.scenarios).ci
            assert clustered is not None
            assert runs is not None
            tally[f"lane {lane} covered"] += _covers((clustered.low, clustered.high), rate)
            tally[f"lane {lane} wilson covered"] += _covers((runs.low, runs.high), rate)
    return tally


def cost_truth(cell: CostCell) -> float:
    """The population's mean difference in cost per run, B minus A, in dollars."""
    level = math.exp(LOG_COST + (COST_LEVEL_SD**2 + COST_RUN_SD**2) / 2)
    return level * (math.exp(math.log(cell.ratio) + cell.tau**2 / 2) - 1)


def simulate_cost(cell: CostCell, rounds: int, seed: int) -> Counter[str]:
    """The cost verdict, its interval, and the dollar difference's interval."""
    rng = _rng(cell, seed)
    log_ratio = math.log(cell.ratio)
    truth = cost_truth(cell)
    tally: Counter[str] = Counter()
    for _ in range(rounds):
        scenarios = []
        for _ in range(cell.scenarios):
            level = LOG_COST + rng.gauss(0.0, COST_LEVEL_SD)
            ratio = rng.gauss(log_ratio, cell.tau)
            scenarios.append(
                [
                    (
                        math.exp(level + rng.gauss(0.0, COST_RUN_SD)),
                        math.exp(level + ratio + rng.gauss(0.0, COST_RUN_SD)),
                    )
                    for _ in range(cell.trials)
                ]
            )
        decided = cost_verdict(log_ratios(scenarios), COST_MARGIN, ALPHA)
        assert decided.test is not None
        tally[decided.direction] += 1
        tally["covered"] += _covers(decided.test.interval, log_ratio)
        dollars = paired_t(mean_differences(scenarios), CONFIDENCE).interval
        tally["metric covered"] += _covers(dollars, truth)
    return tally


def simulate_sequential(cell: SequentialCell, rounds: int, seed: int) -> Counter[str]:
    """``ab --until-decided``: a look after every round, each at its level, stopping at the
    first verdict that is not inconclusive; and the fixed design at the most trials, on the
    same runs, for comparison."""
    rng = _rng(cell, seed)
    looks = sequential_looks(cell.round_trials, cell.max_trials)
    levels = look_levels(looks, ALPHA)
    tally: Counter[str] = Counter()
    for _ in range(rounds):
        outcomes: Outcomes = []
        for _ in range(cell.scenarios):
            p_a, p_b = _scenario(rng, cell.sigma, cell.shift)
            outcomes.append(
                (
                    [rng.random() < p_a for _ in range(cell.max_trials)],
                    [rng.random() < p_b for _ in range(cell.max_trials)],
                )
            )
        for trials, level in zip(looks, levels, strict=True):
            direction = _verdict_at(outcomes, trials, level)
            if direction != "inconclusive":
                break
        tally[direction] += 1
        tally["trials"] += trials
        tally[f"fixed {_verdict_at(outcomes, cell.max_trials, ALPHA)}"] += 1
    return tally


Outcomes = list[tuple[list[bool], list[bool]]]  # per scenario, lane A's and B's trials


def _verdict_at(outcomes: Outcomes, trials: int, level: float) -> Direction:
    """The pass-rate verdict on every scenario's first ``trials`` trials, at ``level``."""
    counts = [(sum(a[:trials]), sum(b[:trials]), trials) for a, b in outcomes]
    return pass_rate_verdict(counts, MARGIN, level).direction


def simulate(job: tuple[Cell, int, int]) -> Counter[str]:
    cell, rounds, seed = job
    if isinstance(cell, PassCell):
        return simulate_pass(cell, rounds, seed)
    if isinstance(cell, CostCell):
        return simulate_cost(cell, rounds, seed)
    return simulate_sequential(cell, rounds, seed)


# --- The study: every cell, then the tables ------------------------------------------------


def pass_cells() -> list[PassCell]:
    return [
        PassCell(m, n, sigma, shift)
        for m, n in ROWS
        for sigma in SIGMAS
        for shift in (0.0, EFFECT, shift_for(MARGIN, sigma))
    ]


def cost_cells() -> list[CostCell]:
    return [CostCell(m, n, tau, ratio) for m, n in ROWS for tau in TAUS for ratio in COST_RATIOS]


def sequential_cells() -> list[SequentialCell]:
    return [
        SequentialCell(m, r, most, sigma, shift)
        for m, r, most in SEQUENTIAL
        for sigma in SIGMAS
        for shift in (0.0, EFFECT, STRONG)
    ]


def _work(cell: Cell) -> int:
    """About how many trials a study of the cell draws: the big ones go first."""
    if isinstance(cell, SequentialCell):
        return 4 * cell.scenarios * cell.max_trials
    return cell.scenarios * cell.trials


def run_all(cells: Sequence[Cell], rounds: int, seed: int, jobs: int) -> dict[Cell, Counter[str]]:
    order = sorted(cells, key=_work, reverse=True)
    work = [(cell, rounds, seed) for cell in order]
    if jobs == 1:
        return dict(zip(order, map(simulate, work), strict=True))
    with ProcessPoolExecutor(jobs) as pool:
        return dict(zip(order, pool.map(simulate, work), strict=True))


def _pct(count: int, rounds: int) -> str:
    return f"{100 * count / rounds:.1f}%"


def _lead(text: str) -> str:
    """A table's lead sentence, wrapped as the README wraps its prose."""
    return textwrap.fill(text, 95, break_on_hyphens=False)


def _table(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


Flag = Callable[[str], None]


def pass_tables(results: dict[Cell, Counter[str]], rounds: int, flag: Flag) -> str:
    def pct(t: Counter[str], *keys: str) -> str:
        return _pct(sum(t[k] for k in keys), rounds)

    verdicts, lanes = [], []
    for m, n in ROWS:
        for sigma in SIGMAS:
            null, alt = results[PassCell(m, n, sigma, 0.0)], results[PassCell(m, n, sigma, EFFECT)]
            edge = results[PassCell(m, n, sigma, shift_for(MARGIN, sigma))]
            where = f"{m} x {n}, sigma {sigma}"
            false = null["higher"] + null["lower"]
            if exceeds(false, rounds, ALPHA):
                flag(f"pass-rate verdict, {where}: {_pct(false, rounds)} false better/worse")
            if exceeds(edge["equivalent"], rounds, ALPHA):
                flag(f"pass-rate verdict, {where}: {pct(edge, 'equivalent')} false equivalent")
            for t, what in ((null, "no effect"), (alt, "+1 logit")):
                if t["covered"] < COVERAGE_TARGET * rounds:
                    flag(f"pass-rate interval, {where}, {what}: covers {pct(t, 'covered')}")
                for lane in ("a", "b"):
                    if t[f"lane {lane} covered"] < COVERAGE_TARGET * rounds:
                        flag(
                            f"lane {lane.upper()} interval, {where}, {what}: covers "
                            f"{pct(t, f'lane {lane} covered')}"
                        )
            design = f"{m} x {n}"
            verdicts.append(
                [
                    design,
                    str(sigma),
                    "**ab**: paired t + TOST",
                    pct(null, "higher", "lower"),
                    pct(alt, "higher"),
                    pct(null, "covered"),
                    pct(alt, "covered"),
                    pct(null, "equivalent"),
                    pct(edge, "equivalent"),
                ]
            )
            verdicts.append(
                [
                    design,
                    str(sigma),
                    "old: pooled McNemar (these scenarios only)",
                    pct(null, "mcnemar higher", "mcnemar lower"),
                    pct(alt, "mcnemar higher"),
                    pct(null, "mcnemar covered"),
                    pct(alt, "mcnemar covered"),
                    "-",
                    "-",
                ]
            )
            lanes.append(
                [
                    design,
                    str(sigma),
                    pct(null, "lane a covered"),
                    pct(null, "lane b covered"),
                    pct(alt, "lane b covered"),
                    pct(null, "lane a wilson covered"),
                    pct(alt, "lane b wilson covered"),
                ]
            )
    shifts = ", ".join(f"{shift_for(MARGIN, s):.2f} logit at sigma {s}" for s in SIGMAS)
    effects = ", ".join(f"{100 * true_difference(s, EFFECT):+.0f} at sigma {s}" for s in SIGMAS)
    effects = effects.replace(" at", " points at", 1)
    return "\n\n".join(
        [
            _lead(
                "Pass-rate verdict. False better/worse: no effect on average; power: better at +1 "
                f"logit (on average {effects}); coverage: the 95% interval holds the mean "
                "scenario difference; equivalent: at no effect (its power), and at exactly +10 "
                f"points ({shifts}), where it is false."
            ),
            _table(
                [
                    "scenarios x trials",
                    "sigma",
                    "method",
                    "false better/worse",
                    "power (+1 logit)",
                    "coverage (no effect)",
                    "coverage (+1 logit)",
                    "equivalent (no effect)",
                    "false equivalent (+10 points)",
                ],
                verdicts,
            ),
            _lead(
                "Lane pass-rate intervals: how often the 95% interval holds the lane's mean pass "
                "rate over tasks like these. ab's is clustered by scenario; the old one is "
                "Wilson's over runs."
            ),
            _table(
                [
                    "scenarios x trials",
                    "sigma",
                    "A",
                    "B (no effect)",
                    "B (+1 logit)",
                    "old: A",
                    "old: B (+1 logit)",
                ],
                lanes,
            ),
        ]
    )


def cost_table(results: dict[Cell, Counter[str]], rounds: int, flag: Flag) -> str:
    rows = []
    for m, n in ROWS:
        for tau in TAUS:
            null, up, down, alt = (results[CostCell(m, n, tau, r)] for r in COST_RATIOS)
            where = f"{m} x {n}, tau {tau}"
            false = null["higher"] + null["lower"]
            if exceeds(false, rounds, ALPHA):
                flag(f"cost verdict, {where}: {_pct(false, rounds)} false costs more/less")
            for t, at in ((up, "+10%"), (down, "1/1.1")):
                if exceeds(t["equivalent"], rounds, ALPHA):
                    flag(f"cost verdict, {where}, at {at}: {_pct(t['equivalent'], rounds)} same")
            for t, what in ((null, "no effect"), (alt, "+30%")):
                if t["covered"] < COVERAGE_TARGET * rounds:
                    flag(f"cost ratio interval, {where}, {what}: {_pct(t['covered'], rounds)}")
            rows.append(
                [
                    f"{m} x {n}",
                    str(tau),
                    _pct(false, rounds),
                    _pct(up["equivalent"], rounds),
                    _pct(down["equivalent"], rounds),
                    _pct(alt["higher"], rounds),
                    _pct(null["covered"], rounds),
                    _pct(alt["covered"], rounds),
                    _pct(null["metric covered"], rounds),
                    _pct(alt["metric covered"], rounds),
                ]
            )
    return "\n\n".join(
        [
            _lead(
                "Cost verdict (per-scenario cost ratios with sd tau on the log scale). False "
                "costs more/less: typical ratio 1; false same cost: exactly on the margin (+10%, "
                "or 1/1.1 = -9.1%); power: costs more at +30%; coverage of the ratio's interval "
                "(the interval cost, turns and time get) and, for reference, of a t interval "
                "on dollar differences (old: ab no longer prints it)."
            ),
            _table(
                [
                    "scenarios x trials",
                    "tau",
                    "false costs more/less",
                    "false same cost (+10%)",
                    "false same cost (-9.1%)",
                    "power (+30%)",
                    "ratio coverage (no effect)",
                    "ratio coverage (+30%)",
                    "old $ coverage (no effect)",
                    "old $ coverage (+30%)",
                ],
                rows,
            ),
        ]
    )


def sequential_table(results: dict[Cell, Counter[str]], rounds: int, flag: Flag) -> str:
    rows = []
    for m, r, most in SEQUENTIAL:
        for sigma in SIGMAS:
            for shift, what in ((0.0, "none"), (EFFECT, "+1 logit"), (STRONG, "+3 logit")):
                t = results[SequentialCell(m, r, most, sigma, shift)]
                false = t["higher"] + t["lower"]
                if shift == 0 and exceeds(false, rounds, ALPHA):
                    flag(
                        f"sequential, {m} x {r} up to {most}, sigma {sigma}: "
                        f"{_pct(false, rounds)} false better/worse"
                    )
                trials = t["trials"] / rounds
                rows.append(
                    [
                        f"{m} x {r} up to {most}",
                        str(sigma),
                        what,
                        _pct(false, rounds) if shift == 0 else _pct(t["higher"], rounds),
                        _pct(t["fixed higher"] + t["fixed lower"], rounds)
                        if shift == 0
                        else _pct(t["fixed higher"], rounds),
                        _pct(t["equivalent"], rounds),
                        f"{trials:.1f}",
                        f"{2 * m * trials:.0f} of {2 * m * most}",
                        f"{100 * (1 - trials / most):.0f}%",
                    ]
                )
    return "\n\n".join(
        [
            _lead(
                "Sequential (`ab --until-decided`): a look after each round at its share of 5% "
                "(O'Brien-Fleming-type spending), stopping at the first decided verdict. "
                "Better/worse: false under no effect, power otherwise; the fixed design runs "
                "every trial and tests once at 5%, on the same runs."
            ),
            _table(
                [
                    "scenarios x trials",
                    "sigma",
                    "effect",
                    "better/worse",
                    "fixed design",
                    "equivalent",
                    "mean trials per scenario",
                    "mean runs",
                    "runs saved",
                ],
                rows,
            ),
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=ROUNDS, help=f"experiments per cell (default {ROUNDS})"
    )
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument(
        "--jobs", type=int, default=os.cpu_count() or 1, help="processes (default: one per CPU)"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.jobs < 1:
        parser.error("--rounds and --jobs must be at least 1")
    start = time.perf_counter()
    cells: list[Cell] = [*pass_cells(), *cost_cells(), *sequential_cells()]
    results = run_all(cells, args.rounds, args.seed, args.jobs)
    flags: list[str] = []
    print(pass_tables(results, args.rounds, flags.append))
    print()
    print(cost_table(results, args.rounds, flags.append))
    print()
    print(sequential_table(results, args.rounds, flags.append))
    n = args.rounds
    print(
        f"\n{n:,} experiments per cell, seed {args.seed}: Monte Carlo standard error "
        f"{100 * math.sqrt(0.05 * 0.95 / n):.1f} points at a 5% rate or 95% coverage, at most "
        f"{100 * 0.5 / math.sqrt(n):.1f} elsewhere; {time.perf_counter() - start:.0f} s "
        f"on {args.jobs} process{'es' if args.jobs > 1 else ''}."
    )
    print(
        "\nab's methods above 5% false verdicts beyond Monte Carlo error (99% Wilson interval), "
        f"or intervals under {COVERAGE_TARGET:.0%} coverage: "
        + ("none." if not flags else "\n" + "\n".join(f"- {f}" for f in flags))
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
