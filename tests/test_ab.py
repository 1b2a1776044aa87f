"""runner._results.ab: pairing, per-lane figures and the scenario-level verdicts, from hand-made
results, checked against scipy where a number is at stake."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

import pytest
from scipy import stats as sp

from runner._evaluate.results import Look, RunResult, Sequential
from runner._results.ab import analyze, effect, lane_stats
from runner._results.ab_report import Effect
from runner._results.power import advise, variance_split
from runner._results.rates import (
    PairedTable,
    clustered_rate,
    mcnemar_exact,
    newcombe_paired,
    pass_at_k,
    wilson,
)
from runner._results.render_ab import render_ab
from runner._results.scenario_tests import MIN_SCENARIOS
from runner._results.sequential import spending
from tests.ab_support import plain_tost, scipy_t, scipy_tost
from tests.report_support import made_run, suite_of


def run(
    scenario: str,
    lane: str,
    trial: int,
    passed: bool,
    *,
    cost: float | None = 0.01,
    turns: int | None = 3,
    skills: list[str] | None = None,
) -> RunResult:
    return made_run(
        scenario,
        lane,
        trial,
        passed,
        cost_usd=cost,
        num_turns=turns,
        skills_invoked=tuple(skills or ()),
    )


def lane_of(lane: str, outcomes: dict[str, list[bool]], **kw: object) -> list[RunResult]:
    return [
        run(s, lane, t, passed, **kw)  # type: ignore[arg-type]
        for s, seq in outcomes.items()
        for t, passed in enumerate(seq)
    ]


def counted(passes: Sequence[tuple[int, int]], trials: int) -> tuple[list[RunResult], ...]:
    """Lanes A and B with (A's passes, B's passes) out of ``trials`` in scenario s0, s1, ...:
    each lane's first trials pass."""
    a = {f"s{i}": [t < x for t in range(trials)] for i, (x, _) in enumerate(passes)}
    b = {f"s{i}": [t < y for t in range(trials)] for i, (_, y) in enumerate(passes)}
    return lane_of("agent-baseline", a), lane_of("agent-skill", b)


def test_pairs_by_scenario_and_trial_and_counts_the_table() -> None:
    a = lane_of(
        "agent-baseline", {"x": [True, False, False, True], "y": [False, False, True, False]}
    )
    b = lane_of("agent-skill", {"x": [True, True, True, False], "y": [True, True, True, True]})
    e = effect(a, b)
    # x: (T,T) (F,T) (F,T) (T,F); y: (F,T) (F,T) (T,T) (F,T)
    assert (e.both, e.a_only, e.b_only, e.neither) == (2, 1, 5, 0)
    assert (e.pairs, e.unpaired, e.scenarios_paired) == (8, 0, 2)
    assert e.diff == pytest.approx((1 / 4 + 3 / 4) / 2)
    assert [(s.scenario, s.a_passed, s.b_passed, s.pairs) for s in e.scenarios] == [
        ("x", 2, 3, 4),
        ("y", 1, 4, 4),
    ]
    # These runs, pooled: McNemar's exact test and Newcombe's interval, kept as the second
    # answer.
    assert e.pooled is not None
    assert e.pooled.diff == pytest.approx(4 / 8)
    assert e.pooled.p_value == pytest.approx(mcnemar_exact(1, 5))
    table = PairedTable(both=2, a_only=1, b_only=5, neither=0)
    assert (e.pooled.ci.low, e.pooled.ci.high) == pytest.approx(newcombe_paired(table))


def test_the_difference_is_the_mean_over_scenarios_not_over_runs() -> None:
    # x: +100 points over 2 pairs; y and z: no change over 6 pairs each.
    a = lane_of("agent-baseline", {"x": [False] * 2, "y": [True] * 6, "z": [False] * 6})
    b = lane_of("agent-skill", {"x": [True] * 2, "y": [True] * 6, "z": [False] * 6})
    e = effect(a, b)
    assert e.diff == pytest.approx(1 / 3)
    assert e.pooled is not None
    assert e.pooled.diff == pytest.approx(2 / 14)


def test_a_run_without_its_partner_is_unpaired_not_failed() -> None:
    a = lane_of("agent-baseline", {"x": [True, True, True]})
    b = lane_of("agent-skill", {"x": [True, True]})
    e = effect(a, b)
    assert e.pairs == 2
    assert e.unpaired == 1
    assert e.diff == 0.0


BETTER = [(1, 8), (2, 9), (0, 7), (3, 9), (1, 6), (2, 8)]  # out of 10, six scenarios


def test_a_consistent_effect_is_better_and_the_other_way_worse() -> None:
    a, b = counted(BETTER, 10)
    p, (low, high) = scipy_t(BETTER, 10)
    better = effect(a, b)
    assert better.verdict == "better"
    assert better.method == "paired t over scenarios"
    assert better.p_value == pytest.approx(p, abs=1e-9)
    assert better.ci is not None
    assert (better.ci.low, better.ci.high) == pytest.approx((low, high), abs=1e-9)
    assert better.ci.low > 0
    assert better.equivalence_p is None  # a difference shown: no equivalence test
    assert better.reason.startswith("+63 points pass rate (95% CI +")
    assert "across 6 scenarios, p < 0.001" in better.reason
    worse = effect(b, a)
    assert worse.verdict == "worse"
    assert worse.p_value == pytest.approx(better.p_value)
    assert worse.ci is not None
    assert worse.ci.high < 0


def test_an_effect_inside_the_margin_says_so() -> None:
    # +5 points in every one of 12 scenarios of 40 trials near 90%: real, and below 10.
    e = effect(*counted([(36, 38)] * 12, 40))
    assert e.verdict == "better"
    assert e.reason.endswith(", but by less than ±10 points")


def test_identical_lanes_are_equivalent_only_with_the_trials_to_show_it() -> None:
    # Five trials each: identical outcomes, and still room for 10 points of binomial noise.
    few = effect(*counted([(3, 3), (5, 5), (0, 0), (4, 4), (2, 2)], 5))
    assert few.verdict == "inconclusive"
    assert few.p_value == 1.0
    passes = [(30, 30), (40, 40), (10, 10), (25, 25), (35, 35), (20, 20), (38, 38), (15, 15)]
    e = effect(*counted(passes, 40))
    assert e.verdict == "equivalent"
    assert e.p_value == 1.0
    assert e.equivalence_p == pytest.approx(scipy_tost(passes, 40, 0.10), abs=1e-9)
    assert e.reason.startswith("+0 points pass rate (95% CI -")
    assert "across 8 scenarios: within ±10 points (TOST p = " in e.reason


# Within a run or two of 40 of each other over 10 scenarios.
CLOSE = [(20, 22), (24, 22), (16, 16), (30, 32), (10, 8), (20, 20), (28, 30), (18, 18), (22, 20)]
CLOSE += [(14, 16)]


def test_near_identical_lanes_are_equivalent_by_tost() -> None:
    e = effect(*counted(CLOSE, 40))
    assert e.verdict == "equivalent", e.reason
    assert e.p_value is not None
    assert e.p_value >= 0.05
    assert e.equivalence_p is not None
    assert e.equivalence_p == pytest.approx(scipy_tost(CLOSE, 40, 0.10), abs=1e-9)
    assert e.equivalence_p < 0.05
    assert "within ±10 points (TOST p = " in e.reason
    # Within +-2 points is more than these scenarios show.
    narrow = effect(*counted(CLOSE, 40), margin=0.02)
    assert narrow.verdict == "inconclusive"
    assert narrow.equivalence_p == pytest.approx(scipy_tost(CLOSE, 40, 0.02), abs=1e-9)
    assert "neither a difference nor a match within ±2 points is shown" in narrow.reason


@pytest.mark.parametrize(
    ("passes", "trials", "add"),
    [
        # Much better on three scenarios, much worse on three: the spread is between them.
        ([(1, 9), (2, 9), (1, 8), (9, 3), (8, 2), (9, 4)], 10, "scenarios"),
        # The same rates everywhere: binomial noise, which more trials shrink; at 5 scenarios
        # as at 6, since the paired t-test decides from 3.
        ([(2, 3), (2, 2), (2, 1), (2, 3), (2, 2), (2, 3)], 4, "trials"),
        ([(2, 3), (2, 2), (2, 1), (2, 3), (2, 3)], 4, "trials"),
    ],
)
def test_inconclusive_says_whether_scenarios_or_trials_would_decide(
    passes: list[tuple[int, int]], trials: int, add: str
) -> None:
    e = effect(*counted(passes, trials))
    assert e.verdict == "inconclusive"
    split = variance_split([(x, y, trials) for x, y in passes])
    assert split.between_dominates == (add == "scenarios")
    want = advise(split, 0.1)
    assert e.advice is not None
    assert (e.advice.add, e.advice.scenarios_needed, e.advice.trials_needed) == (
        add,
        want.scenarios_needed,
        want.trials_needed,
    )
    if add == "trials":
        assert e.advice.trials_needed is not None
        assert e.advice.trials_needed > trials
        assert e.reason.endswith(
            f"; about {e.advice.trials_needed} trials per scenario would detect 10 points"
        )
        assert "between scenarios" not in e.reason
    else:
        assert e.advice.trials_needed is None  # no number of trials would do
        assert e.reason.endswith(
            f"; about {e.advice.scenarios_needed} scenarios would detect 10 points, not more "
            "trials: the spread between scenarios alone is too large"
        )


def test_fewer_scenarios_than_a_verdict_needs_says_how_many() -> None:
    assert MIN_SCENARIOS == 3
    two = [(1, 3), (0, 4)]
    e = effect(*counted(two, 4))
    assert e.verdict == "inconclusive"
    assert (e.p_value, e.ci, e.equivalence_p) == (None, None, None)
    assert e.pooled is not None  # these runs still have their answer
    assert e.advice is not None
    assert e.reason == (
        "2 scenarios: a verdict about tasks like these needs at least 3; about "
        f"{e.advice.scenarios_needed} would detect 10 points"
    )
    # One scenario of one trial: nothing to plan from.
    one = effect(*counted([(0, 1)], 1))
    assert one.advice is None
    assert one.reason == "1 scenario: a verdict about tasks like these needs at least 3"
    assert effect([], []).reason == "no scenario and trial ran in both lanes"


def _random_effect(rng: random.Random, alpha: float) -> Effect:
    """A random design: 3 to 9 scenarios of 1 to 40 trials, B shifted from A by up to 2 runs
    either way, give or take one."""
    m, trials = rng.randint(3, 9), rng.choice([1, 2, 3, 4, 6, 20, 40])
    shift = rng.randint(-2, 2)
    passes = []
    for _ in range(m):
        x = rng.randint(0, trials)
        passes.append((x, min(trials, max(0, x + shift + rng.randint(-1, 1)))))
    return effect(*counted(passes, trials), alpha=alpha)


@pytest.mark.parametrize("alpha", [0.05, spending([0.5, 1.0])[0]])
def test_interval_and_verdict_never_contradict(alpha: float) -> None:
    rng = random.Random(15)
    seen = set()
    for _ in range(400):
        e = _random_effect(rng, alpha)
        assert e.ci is not None
        assert e.p_value is not None
        assert e.diff is not None
        assert -1 <= e.ci.low <= e.diff <= e.ci.high <= 1  # a difference of pass rates
        excludes_zero = e.ci.low > 0 or e.ci.high < 0
        assert excludes_zero == (e.p_value < alpha), e.reason
        assert (e.verdict in ("better", "worse")) == excludes_zero
        assert (e.verdict == "better") == (e.ci.low > 0)
        seen.add(e.verdict)
    # Equivalence within 10 points takes more runs than a first look's level leaves room for.
    everything = {"better", "worse", "equivalent", "inconclusive"}
    assert seen == (everything if alpha == 0.05 else everything - {"equivalent"})


def test_a_sequential_look_tests_at_its_share_of_the_level() -> None:
    first = spending([0.5, 1.0])[0]
    passes = [(1, 4), (2, 4), (0, 3), (1, 4), (1, 1)]  # p = 0.02: short of 0.0056
    at_end = effect(*counted(passes, 4))
    early = effect(*counted(passes, 4), alpha=first)
    assert at_end.verdict == "better"
    assert early.verdict == "inconclusive"
    assert early.alpha == first
    assert early.p_value == pytest.approx(at_end.p_value)
    assert early.ci is not None
    assert at_end.ci is not None
    assert early.ci.low < at_end.ci.low
    assert "(99.44% CI " in early.reason
    assert "(99.44% CI " in early.cost.reason


def _costed(ratios: Sequence[float], *, trials: int = 2, margin: float = 0.1) -> Effect:
    """Both lanes pass everything; scenario i's B runs cost ratios[i] times its A runs."""
    a = [
        run(f"s{i}", "agent-baseline", t, True, cost=0.01 * (i + 1))
        for i in range(len(ratios))
        for t in range(trials)
    ]
    b = [
        run(f"s{i}", "agent-skill", t, True, cost=0.01 * (i + 1) * r)
        for i, r in enumerate(ratios)
        for t in range(trials)
    ]
    return effect(a, b, cost_margin=margin)


@pytest.mark.parametrize(
    ("ratios", "verdict"),
    [
        ([1.5, 1.4, 1.6, 1.45, 1.55], "costs more"),
        ([0.6, 0.65, 0.55, 0.62, 0.58], "costs less"),
        ([1.01, 0.99, 1.0, 1.02, 0.98, 1.0], "same cost"),
        ([0.5, 2.0, 0.5, 2.0, 1.0], "inconclusive"),
    ],
)
def test_the_cost_verdict(ratios: list[float], verdict: str) -> None:
    # On the log scale, scenario by scenario: the paired t-test, then TOST within the margin.
    cost = _costed(ratios).cost
    logs = [math.log(r) for r in ratios]
    assert cost.verdict == verdict, cost.reason
    assert cost.scenarios == len(ratios)
    assert cost.ratio is not None
    assert cost.ratio == pytest.approx(math.exp(sum(logs) / len(logs)))
    want = sp.ttest_1samp(logs, 0.0)
    assert cost.p_value == pytest.approx(float(want.pvalue), abs=1e-9)
    assert cost.ci is not None
    low, high = want.confidence_interval(0.95)
    assert (cost.ci.low, cost.ci.high) == pytest.approx((math.exp(low), math.exp(high)))
    if verdict in ("same cost", "inconclusive"):  # no difference shown: TOST within 10%
        assert (plain_tost(logs, math.log1p(0.1)) < 0.05) == (verdict == "same cost")
    assert cost.reason.startswith(f"{(cost.ratio - 1) * 100:+.0f}% per run (95% CI ")


def test_the_cost_margin_is_relative() -> None:
    scattered = [1.12, 0.93, 1.15, 0.95, 1.05]  # -7% to +15%, about +4% on the whole
    narrow = _costed(scattered).cost
    assert narrow.verdict == "inconclusive"
    assert narrow.reason.endswith(
        ": neither a difference nor a match within -9% to +10% is shown"
    )  # +-10% on the log scale: from 1 / 1.1 to 1.1
    wide = _costed(scattered, margin=0.25).cost
    assert (wide.verdict, wide.margin) == ("same cost", 0.25)
    assert wide.reason.endswith(": within -20% to +25%")
    # A consistent +5% is a difference, however small the margin it sits in.
    assert _costed([1.05] * 5, margin=0.25).cost.verdict == "costs more"


def test_unknown_or_zero_costs_are_left_out_of_the_cost_verdict() -> None:
    a, b = counted([(1, 1)] * 4, 2)
    b[0] = b[0].model_copy(update={"cost_usd": None})  # s0: one pair left, still counted
    b[2] = b[2].model_copy(update={"cost_usd": None})
    b[3] = b[3].model_copy(update={"cost_usd": 0.0})  # s1: no known positive pair
    cost = effect(a, b).cost
    assert cost.scenarios == 3
    assert cost.verdict == "same cost"
    few = effect(a[:4], b[:4]).cost
    assert (few.verdict, few.ci, few.p_value) == ("inconclusive", None, None)
    assert few.reason == "1 scenario with a known cost in both lanes: a verdict needs at least 3"


def test_lane_stats_pass_k_clustered_interval_and_skill_rate() -> None:
    runs = lane_of("agent-skill", {"x": [True, False, True], "y": [False, False, True]})
    runs[0] = runs[0].model_copy(update={"skills_invoked": ["greeter"]})
    # A Skill call the CLI refused ("Unknown skill"), then one that loaded: invoked, and an
    # error; a refused call alone is an error, never an invocation.
    runs[1] = runs[1].model_copy(update={"skills_invoked": ["greeter"], "skill_errors": ["gr"]})
    runs[2] = runs[2].model_copy(update={"skill_errors": ["greter"]})
    s = lane_stats("agent-skill", runs)
    assert (s.pass_rate.successes, s.pass_rate.n, s.scenarios) == (3, 6, 2)
    assert s.pass_rate.ci is not None
    ci = (s.pass_rate.ci.low, s.pass_rate.ci.high)
    assert ci == pytest.approx(clustered_rate([(2, 3), (1, 3)]))
    ks = {p.k: p for p in s.pass_k}
    assert sorted(ks) == [1, 2, 3]
    assert ks[1].pass_at_k == pytest.approx(0.5)
    assert ks[2].pass_at_k == pytest.approx((pass_at_k(3, 2, 2) + pass_at_k(3, 1, 2)) / 2)
    assert ks[3].pass_hat_k == 0.0
    assert s.skill_invoked is not None
    assert (s.skill_invoked.successes, s.skill_invoked.n) == (2, 6)
    assert s.skill_errors == 2
    # A lane without the skill has no invocation rate, and one trial has no pass@k; at one
    # scenario the interval is Wilson's.
    plain = lane_stats("agent-baseline", lane_of("agent-baseline", {"x": [True, True, False]}))
    assert plain.skill_invoked is None
    assert plain.pass_rate.ci is not None
    assert (plain.pass_rate.ci.low, plain.pass_rate.ci.high) == pytest.approx(wilson(2, 3))
    assert lane_stats("agent-baseline", lane_of("agent-baseline", {"x": [True]})).pass_k == []


def test_metric_effects_are_ratios_with_the_t_interval_over_scenarios() -> None:
    a, b = [], []
    for i, extra in enumerate([0.02, 0.01, 0.04]):
        a += [run(f"s{i}", "agent-baseline", t, True, cost=0.01, turns=3) for t in range(4)]
        b += [
            run(f"s{i}", "agent-skill", t, True, cost=0.01 + extra + 0.01 * t, turns=4 + i)
            for t in range(4)
        ]
    b[0] = b[0].model_copy(update={"cost_usd": None})  # an unknown cost drops its pair
    e = effect(a, b)
    cost = next(m for m in e.metrics if m.metric == "cost_usd")
    per_scenario = [0.02 + 0.02, 0.01 + 0.015, 0.04 + 0.015]  # s0 lost its t = 0 pair
    assert (cost.pairs, cost.scenarios) == (11, 3)
    assert cost.diff == pytest.approx(sum(per_scenario) / 3)
    assert cost.a_mean == pytest.approx(0.01)
    # The interval is of B over A: the t interval of per-scenario log ratios, exponentiated.
    logs = [math.log((0.01 + d) / 0.01) for d in per_scenario]
    assert cost.ratio == pytest.approx(math.exp(sum(logs) / 3))
    want = sp.ttest_1samp(logs, 0.0).confidence_interval(0.95)
    assert cost.ci is not None
    assert (cost.ci.low, cost.ci.high) == pytest.approx(
        (math.exp(float(want[0])), math.exp(float(want[1])))
    )
    turns = next(m for m in e.metrics if m.metric == "num_turns")
    assert turns.diff == pytest.approx(2.0)
    assert turns.ratio == pytest.approx(math.exp(sum(math.log((4 + i) / 3) for i in range(3)) / 3))
    # One scenario has no spread to make an interval from.
    single = effect(a[:4], b[:4])
    assert next(m for m in single.metrics if m.metric == "num_turns").ci is None


def test_analyze_uses_header_order_and_the_aa_copy() -> None:
    base = lane_of("agent-baseline", {"x": [False, False, True]})
    skill = lane_of("agent-skill", {"x": [True, True, True, True, False, True]})
    result = suite_of(base + skill, trials=3, aa="agent-skill")
    report = analyze(result)
    assert [s.lane for s in report.lanes] == ["agent-baseline", "agent-skill"]
    # The A/A copy (trials 3..5) is not part of the A/B: 3 pairs, none unpaired.
    e = report.effects[0]
    assert (e.a, e.b, e.pairs, e.unpaired) == ("agent-baseline", "agent-skill", 3, 0)
    assert report.lanes[1].runs == 3
    noise = report.noise
    assert noise is not None
    # trial t against t + 3: (T,T) (T,F) (T,T): one flip in three.
    assert (noise.lane, noise.pairs, noise.flips) == ("agent-skill", 3, 1)
    assert noise.flip_rate.rate == pytest.approx(1 / 3)
    text = render_ab(report)
    assert "agent-skill over agent-baseline: INCONCLUSIVE: 1 scenario: " in text
    assert "noise floor: agent-skill against itself, 3 pairs" in text


def test_render_ab_gives_the_verdict_the_cost_these_runs_and_the_looks() -> None:
    a, b = counted(BETTER, 10)
    b = [r.model_copy(update={"cost_usd": 0.02}) for r in b]
    report = analyze(suite_of(a + b, trials=10))
    looks = [Look(trials=5, alpha=0.0056, verdicts=["inconclusive"])]
    looks.append(Look(trials=10, alpha=0.0444, verdicts=["better"]))
    sequential = Sequential(
        round_trials=5, max_trials=10, looks=looks, stopped="decided: agent-skill better",
        runs=120, max_runs=120,
    )  # fmt: skip
    text = render_ab(report.model_copy(update={"sequential": sequential}))
    lines = text.splitlines()
    assert (
        lines[0]
        == "A/B · 6 scenarios x 10 trials · verdicts about scenarios like these · 95% intervals"
    )
    e = report.effects[0]
    assert f"agent-skill over agent-baseline: BETTER: {e.reason}" in lines
    assert "  cost       $0.0100 → $0.0200: COSTS MORE: +100% per run" in text
    assert e.pooled is not None
    assert (
        f"  these runs +63 points over 60 pairs (95% CI {e.pooled.ci.low * 100:+.0f} to "
        f"{e.pooled.ci.high * 100:+.0f}), McNemar exact p = {e.pooled.p_value:.2g}: true of "
        "these scenarios only"
    ) in lines
    assert "  scenarios  s0 1/10 → 8/10 · s1 2/10 → 9/10" in text
    assert lines[-1] == (
        "sequential: decided: agent-skill better; 120 of at most 120 runs (5 trials at "
        "p < 0.0056: inconclusive, 10 trials at p < 0.044: better)"
    )
