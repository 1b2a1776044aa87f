"""The simulation study behind issue 15: how often each A/B verdict method says "better" or
"worse" when the skill makes no difference on average, how often it finds a real effect, and
how often its 95% interval holds the true mean difference.

Model (the issue's): scenario j has difficulty b_j ~ N(0, 1.5^2) on the logit scale; lane A
passes a trial with probability expit(b_j), lane B with expit(b_j + effect + u_j), where the
skill's per-scenario effect u_j ~ N(0, sigma^2) averages 0. effect = 0 is the null ("no
difference" over tasks like these); effect = +1 logit measures power. Trials are independent
draws given the scenario; a pair is one scenario and trial in both lanes.

Methods: the pooled McNemar exact test with Newcombe's interval over every (scenario, trial)
pair, as runner.ab does today; the paired t-test and the sign-flip permutation test on the
per-scenario differences (runner.stats). Plain Python, seeded:

    .venv/bin/python scripts/sim_verdicts.py              # 2,500 experiments per cell
    .venv/bin/python scripts/sim_verdicts.py --rounds 500 --seed 7
"""

from __future__ import annotations

import argparse
import math
import random
import time
from dataclasses import dataclass, field

from runner import stats

ALPHA = 0.05
DIFFICULTY_SD = 1.5
EFFECT = 1.0
# (scenarios, trials): the rows, and 10 x 10, where the sign-flip test can decide.
ROWS = [(5, 6), (3, 10), (5, 20), (5, 50), (10, 10)]
SIGMAS = [0.5, 1.0]
METHODS = ["pooled McNemar", "paired t", "sign flip"]


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def true_difference(sigma: float, effect: float, steps: int = 400) -> float:
    """E[expit(b + effect + u) - expit(b)] over b ~ N(0, 1.5^2), u ~ N(0, sigma^2): the mean
    scenario difference an interval should cover, by the midpoint rule on +-8 sd."""
    if effect == 0:
        return 0.0  # (b, u) -> (-b, -u) maps the difference to minus itself
    h = 16.0 / steps
    nodes = [-8.0 + h * (i + 0.5) for i in range(steps)]
    weights = [math.exp(-z * z / 2) * h / math.sqrt(2 * math.pi) for z in nodes]
    total = 0.0
    for zb, wb in zip(nodes, weights, strict=True):
        b = DIFFICULTY_SD * zb
        base = expit(b)
        inner = sum(
            wu * expit(b + effect + sigma * zu) for zu, wu in zip(nodes, weights, strict=True)
        )
        total += wb * (inner - base)
    return total


@dataclass
class Tally:
    rounds: int = 0
    rejections: int = 0  # p < alpha, either direction
    better: int = 0  # p < alpha and B ahead
    covered: int = 0

    def rate(self, count: int) -> float:
        return count / self.rounds if self.rounds else math.nan


@dataclass
class Cell:
    scenarios: int
    trials: int
    sigma: float
    effect: float
    tallies: dict[str, Tally] = field(default_factory=lambda: {m: Tally() for m in METHODS})


def experiment(
    rng: random.Random, scenarios: int, trials: int, sigma: float, effect: float
) -> tuple[stats.PairedTable, list[float]]:
    """One A/B study: its pooled paired table and its per-scenario differences."""
    both = a_only = b_only = neither = 0
    diffs = []
    for _ in range(scenarios):
        b = rng.gauss(0.0, DIFFICULTY_SD)
        p_a, p_b = expit(b), expit(b + effect + rng.gauss(0.0, sigma))
        passes_a = passes_b = 0
        for _ in range(trials):
            a, bb = rng.random() < p_a, rng.random() < p_b
            passes_a += a
            passes_b += bb
            if a and bb:
                both += 1
            elif a:
                a_only += 1
            elif bb:
                b_only += 1
            else:
                neither += 1
        diffs.append((passes_b - passes_a) / trials)
    return stats.PairedTable(both, a_only, b_only, neither), diffs


def run_cell(
    scenarios: int, trials: int, sigma: float, effect: float, rounds: int, seed: int
) -> Cell:
    rng = random.Random(f"{seed}:{scenarios}x{trials}:{sigma}:{effect}")
    truth = true_difference(sigma, effect)
    cell = Cell(scenarios, trials, sigma, effect)
    for _ in range(rounds):
        table, diffs = experiment(rng, scenarios, trials, sigma, effect)
        results = {
            "pooled McNemar": (
                table.diff,
                stats.mcnemar_exact(table.a_only, table.b_only),
                stats.newcombe_paired(table),
            ),
        }
        for test in (stats.paired_t(diffs), stats.sign_flip(diffs)):
            results[test.method] = (test.mean, test.p_value, test.interval)
        for method, (mean, p, (low, high)) in results.items():
            tally = cell.tallies[method]
            tally.rounds += 1
            if p < ALPHA:
                tally.rejections += 1
                tally.better += mean > 0
            tally.covered += low <= truth <= high
    return cell


def table(rounds: int, seed: int, rows: list[tuple[int, int]], sigmas: list[float]) -> str:
    def pct(x: float) -> str:
        return f"{100 * x:.1f}%"

    lines = [
        "| scenarios x trials | sigma | method | false better/worse | power (+1 logit) "
        "| coverage (no effect) | coverage (+1 logit) |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenarios, trials in rows:
        for sigma in sigmas:
            null = run_cell(scenarios, trials, sigma, 0.0, rounds, seed)
            alt = run_cell(scenarios, trials, sigma, EFFECT, rounds, seed)
            for method in METHODS:
                n, a = null.tallies[method], alt.tallies[method]
                lines.append(
                    f"| {scenarios} x {trials} | {sigma} | {method} "
                    f"| {pct(n.rate(n.rejections))} | {pct(a.rate(a.better))} "
                    f"| {pct(n.rate(n.covered))} | {pct(a.rate(a.covered))} |"
                )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--rounds", type=int, default=2500, help="experiments per cell (2500: error <= 1 point)"
    )
    parser.add_argument("--seed", type=int, default=15)
    args = parser.parse_args(argv)
    if args.rounds < 1:
        parser.error("--rounds must be at least 1")
    start = time.perf_counter()
    print(table(args.rounds, args.seed, ROWS, SIGMAS))
    se = math.sqrt(ALPHA * (1 - ALPHA) / args.rounds)
    print(
        f"\n{args.rounds} experiments per cell, seed {args.seed}: Monte Carlo standard error "
        f"{100 * se:.1f} points at a 5% rate, at most {100 * 0.5 / math.sqrt(args.rounds):.1f} "
        f"elsewhere; {time.perf_counter() - start:.0f}s."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
