"""ab.analyze and compare give the same answers on random results as before they were made
one pass (issue 17): their JSON and their rendered text against outputs frozen from the
earlier code, in fixtures/frozen/ab_compare.json.

The results are random but seeded: scenarios with and without partners, lanes out of order or
unknown, trials beyond the header's (the A/A copy's, and strays), unknown costs and turns,
runs in any order. Text and counts must match exactly; floats to 1e-12 (relative), so a
platform's last bit in a logarithm does not fail the test. After a deliberate change to the
statistics, write the file again with ``python -m tests.test_ab_frozen``.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import sys
from pathlib import Path
from typing import Any

import pytest

from runner._evaluate.results import (
    CheckResult,
    Look,
    RunResult,
    Sequential,
    SuiteHeader,
    SuiteResult,
    Totals,
    VerdictSettings,
)
from runner._results.ab import analyze
from runner._results.compare import compare
from runner._results.render_ab import headline, render_ab
from runner._results.render_suite import render_comparison

FROZEN = Path(__file__).resolve().parent.parent / "fixtures" / "frozen" / "ab_compare.json"
POOL = ("agent-baseline", "agent-skill", "agent-skill-nonudge", "custom-lane")
TOOLS = ("Read", "Edit", "Write", "Bash", "Skill", "Grep")
CHECKS = ("file_exists out.txt", "tool_called Read", "final_text_matches /done/")
# (seed, scenarios, trials): sizes around the thresholds (fewer than 3 scenarios; one trial,
# where the advice cannot split the variance) and a few larger ones.
CASES = [
    (1, 0, 1),
    (2, 1, 1),
    (3, 2, 3),
    (4, 3, 1),
    (5, 4, 2),
    (6, 5, 4),
    (7, 8, 1),
    (8, 12, 3),
    (9, 20, 2),
    (10, 30, 3),
    (11, 50, 1),
    (12, 30, 2),
]


def _maybe(rng: random.Random, value: Any, none: float = 0.1) -> Any:
    return None if rng.random() < none else value


def _run(
    rng: random.Random, scenario: str, lane: str, trial: int, rate: float, cost: float
) -> RunResult:
    passed = rng.random() < rate
    tools = [rng.choice(TOOLS) for _ in range(rng.randint(0, 6))]
    return RunResult(
        scenario=scenario,
        lane=lane,
        trial=trial,
        passed=passed,
        exit_reason="success" if passed or rng.random() < 0.7 else rng.choice(["timeout", "error"]),
        cache_hit=rng.random() < 0.5,
        cache_key=f"{scenario}-{lane}-{trial}",
        live=False,
        cost_usd=_maybe(rng, cost * rng.lognormvariate(0, 0.1)),
        num_turns=_maybe(rng, rng.randint(1, 30)),
        duration_ms=_maybe(rng, rng.randint(500, 90000), 0.05),
        tool_sequence=tools,
        skills_invoked=["greeter"] if "skill" in lane and rng.random() < 0.8 else [],
        skill_errors=["nope"] if rng.random() < 0.05 else [],
        checks=[CheckResult(name=c, passed=rng.random() < rate, detail="why") for c in CHECKS],
    )


def random_result(seed: int, scenarios: int, trials: int) -> SuiteResult:
    rng = random.Random(seed)
    lanes = rng.sample(POOL[:3], rng.randint(2, 3))
    aa = rng.choice(lanes) if rng.random() < 0.4 else None
    # Each lane's effect on the pass rate and the cost, so verdicts other than inconclusive.
    shift = {lane: rng.choice([-0.4, 0.0, 0.0, 0.4]) for lane in POOL}
    costs = {lane: rng.choice([1.0, 1.0, 1.5]) for lane in POOL}
    runs = []
    for _ in range(scenarios):
        scenario = f"s{rng.randint(0, 10**6):07d}"  # not in sorted order
        base, cost = rng.random(), rng.lognormvariate(-4, 0.8)
        for lane in [*lanes, *(["custom-lane"] if seed % 3 == 0 else [])]:
            rate = min(1.0, max(0.0, base + shift[lane]))
            top = 2 * trials if lane == aa else trials + (rng.random() < 0.1)
            runs += [
                _run(rng, scenario, lane, t, rate, cost * costs[lane])
                for t in range(top)
                if rng.random() > 0.06
            ]
    if seed % 2:
        rng.shuffle(runs)
    verdicts = VerdictSettings(
        margin=rng.choice([0.05, 0.1, 0.2]),
        cost_margin=rng.choice([0.1, 0.25]),
        alpha=rng.choice([0.05, 0.01, 0.0123]),
        sequential=(
            Sequential(
                round_trials=1,
                max_trials=trials,
                looks=[Look(trials=trials, alpha=0.01, verdicts=["inconclusive"])],
                stopped="undecided at --max-trials",
                runs=len(runs),
                max_runs=len(runs),
            )
            if seed % 4 == 1
            else None
        ),
    )
    header = SuiteHeader(
        runner_version="0.1.0",
        branch="main",
        sha="0123456789abcdef",
        started_at="2026-12-05T00:00:00+00:00",
        partial=False,
        suite="suite",
        lanes=lanes if seed % 5 else list(reversed(lanes)),
        scenarios=sorted({r.scenario for r in runs}),
        trials=trials,
        aa=aa,
        mode="scripted",
        planned=len(runs),
        verdicts=verdicts,
        totals=Totals.of(runs),
    )
    return SuiteResult(header=header, runs=runs)


def earlier(result: SuiteResult, seed: int) -> SuiteResult:
    """The same eval before: most runs again, some flipped or changed, some only before."""
    rng = random.Random(seed)
    runs = []
    for r in result.runs:
        if rng.random() < 0.15:
            continue  # new in the later result
        changed = _run(rng, r.scenario, r.lane, r.trial, 0.5, r.cost_usd or 0.01)
        runs.append(r if rng.random() < 0.5 else changed)
    gone = random_result(seed + 1000, max(1, len(result.header.scenarios) // 5), 1).runs
    return result.model_copy(update={"runs": [*runs, *gone]})


def outputs(seed: int, scenarios: int, trials: int) -> dict[str, Any]:
    after = random_result(seed, scenarios, trials)
    before = earlier(after, seed)
    report = analyze(after)
    comparison = compare(before, after)
    # A comparison's figures are sums and differences, the same to the bit on any machine: its
    # JSON and text are kept as digests (in full they would be a megabyte), its totals in clear.
    text = render_comparison(comparison, before_name="b", after_name="a")
    return {
        "analyze": report.model_dump(mode="json"),
        "render_ab": render_ab(report),
        "headline": headline(report, mode="scripted"),
        "compare_totals": comparison.totals.model_dump(mode="json"),
        "compare_counts": comparison.counts,
        # Without the two headers it copies: what compare works out.
        "compare_sha256": hashlib.sha256(
            comparison.model_dump_json(exclude={"before", "after"}).encode()
        ).hexdigest(),
        "render_comparison_sha256": hashlib.sha256(text.encode()).hexdigest(),
    }


def same(got: Any, want: Any, where: str = "") -> None:
    """Equal, with floats to 1e-12 relative."""
    if isinstance(want, float) and isinstance(got, float | int):
        assert math.isclose(got, want, rel_tol=1e-12, abs_tol=1e-300), (where, got, want)
    elif isinstance(want, dict):
        assert isinstance(got, dict), where
        assert got.keys() == want.keys(), where
        for k in want:
            same(got[k], want[k], f"{where}.{k}")
    elif isinstance(want, list):
        assert isinstance(got, list), where
        assert len(got) == len(want), where
        for i, (g, w) in enumerate(zip(got, want, strict=True)):
            same(g, w, f"{where}[{i}]")
    else:
        assert got == want, (where, got, want)


def frozen() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(FROZEN.read_text())
    return data


@pytest.mark.parametrize(("seed", "scenarios", "trials"), CASES)
def test_analyze_and_compare_give_the_frozen_outputs(
    seed: int, scenarios: int, trials: int
) -> None:
    want = frozen()[f"{seed}-{scenarios}-{trials}"]
    got = outputs(seed, scenarios, trials)
    # Text first: a difference reads best there.
    for text in ("render_ab", "headline", "compare_counts"):
        assert got[text] == want[text]
    same(got, want)


def test_the_cases_reach_every_verdict_and_the_noise_floor() -> None:
    """The frozen outputs exercise what they guard: each pass-rate verdict but 'better' is
    hard to reach at random, so at least three of four, and an A/A noise floor."""
    reports = [v["analyze"] for v in frozen().values()]
    verdicts = {e["verdict"] for r in reports for e in r["effects"]}
    assert len(verdicts) >= 3, verdicts
    assert any(r["noise"] is not None for r in reports)
    assert any(e["advice"] is not None for r in reports for e in r["effects"])


if __name__ == "__main__":
    FROZEN.parent.mkdir(parents=True, exist_ok=True)
    FROZEN.write_text(json.dumps({f"{s}-{n}-{t}": outputs(s, n, t) for s, n, t in CASES}) + "\n")
    print(f"wrote {FROZEN} ({FROZEN.stat().st_size:,} bytes)", file=sys.stderr)
