"""``python -m runner ab`` end to end: the real CLI against scripted models whose pass rates are
set per scenario by weighted choices, so the truth is known, and the verdicts must come out right.

One suite and one cache serve every test: the sequential study runs first, the fixed designs
reuse its runs, and the gate and text checks run from the cache alone (no CLI starts)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from runner._model.script import Script, text, tool
from runner._results.rates import mcnemar_exact
from runner._results.sequential import spending
from tests.ab_support import diffs_of, scipy_t
from tests.suite_commands import Workbench, report, workbench

pytestmark = pytest.mark.cli

SCENARIOS = tuple(f"s{i}" for i in range(5))
TRIALS = 3
# Far apart, so one look at TRIALS can decide at its share of the 5%: three trials are the
# fewest whose binomial noise (the floor of the t-test's error) lets 5 scenarios do it.
LOW, HIGH = 0.05, 0.95
GREETING = "Hello, Ada!"
ROUNDS = 2
# Identical lanes over 5 scenarios x 3 trials: the trials' binomial noise alone leaves about
# +-33 points open, so "equivalent" can be shown within +-40, not within +-10.
EQUIVALENT_MARGIN = "40"
# A strong effect, in rounds of TRIALS per scenario, at most ROUNDS of them.
SEQUENTIAL = ("--lanes", "agent-baseline,agent-skill", "--trials", str(TRIALS),
              "--until-decided", "--max-trials", str(ROUNDS * TRIALS))  # fmt: skip


@dataclass(frozen=True)
class Plays:
    """A lane's scripted model: its chance of passing in each scenario, its draws' seed (each
    scenario's is seed + 10 x its index, trial t draws with that + t), whether the passing
    branch loads the skill first, and the input tokens every turn reports: the CLI prices a
    run by them, so more tokens cost more."""

    rates: tuple[float, ...]
    seed: int
    skill: bool = False
    tokens: int = 100


BASE = Plays((LOW,) * 5, 100)
LANES = {
    "agent-baseline": BASE,
    # Much better everywhere, and dearer: every turn reports 50 times the tokens.
    "agent-skill": Plays((HIGH,) * 5, 200, skill=True, tokens=5000),
    # The same script and seed as the baseline: the nudge-less skill never triggers.
    "agent-skill-nonudge": BASE,
    # Mixed, and its mirror image: "skill" is much better on three scenarios and much worse
    # on two, so the skill's effect flips sign across scenarios.
    "baseline": Plays((LOW, LOW, LOW, HIGH, HIGH), 300),
    "skill": Plays((HIGH, HIGH, HIGH, LOW, LOW), 400),
}


def _script(plays: Plays, scenario: int) -> dict[str, Any]:
    usage = {"input_tokens": plays.tokens}
    # The skill lane asks for a misspelt skill before it gives up: a failed call, not a load.
    load = tool("Skill", skill="greeter") if plays.skill else None
    stumble = tool("Skill", skill="greter") if plays.skill else None
    rate = plays.rates[scenario]
    passing = [{"content": [c], "usage": usage} for c in (load, text(GREETING)) if c]
    failing = [{"content": [c], "usage": usage} for c in (stumble, text("Not today.")) if c]
    return {
        "seed": plays.seed + 10 * scenario,
        "turns": [
            {"choose": [{"weight": rate, "turns": passing}, {"weight": 1 - rate, "turns": failing}]}
        ],
    }


def _suite(root: Path) -> Path:
    suite = root / "src"
    for i, scenario in enumerate(SCENARIOS):
        folder = suite / scenario
        (folder / "mock").mkdir(parents=True)
        for lane, plays in LANES.items():
            (folder / "mock" / f"{lane}.json").write_text(json.dumps(_script(plays, i)))
        mocks = "\n".join(f'"{lane}" = "mock/{lane}.json"' for lane in LANES)
        (folder / "scenario.toml").write_text(
            'instruction = "Greet Ada."\n'
            'skill = "greeter"\n'
            "timeout_s = 120\n"
            f"[mock]\n{mocks}\n"
            "[[check]]\n"
            'type = "final_text_matches"\n'
            f"pattern = '{GREETING}'\n"
        )
    return suite


def _expected(bench: Workbench, lane: str, scenario: str, trial: int) -> bool:
    """Whether this run passes: the branch the scripted model draws for its seed."""
    script = Script.model_validate_json(
        (bench.suite / scenario / "mock" / f"{lane}.json").read_text()
    )
    turns = script.resolved(script.seed + trial).turns
    return any(b.type == "text" and GREETING in b.text for t in turns for b in t.content)


def _passes(bench: Workbench, lane: str, scenario: str) -> int:
    return sum(_expected(bench, lane, scenario, t) for t in range(TRIALS))


def _table(bench: Workbench, a: str, b: str) -> tuple[int, int, int, int]:
    cells = [0, 0, 0, 0]  # both, a_only, b_only, neither
    for scenario in SCENARIOS:
        for trial in range(TRIALS):
            x, y = (_expected(bench, lane, scenario, trial) for lane in (a, b))
            cells[0 if x and y else 1 if x else 2 if y else 3] += 1
    return (cells[0], cells[1], cells[2], cells[3])


def _counts(bench: Workbench, a: str, b: str) -> list[tuple[int, int]]:
    """Each scenario's passes in a and in b, as the scripts draw them."""
    return [(_passes(bench, a, s), _passes(bench, b, s)) for s in SCENARIOS]


def _diffs(bench: Workbench, a: str, b: str) -> list[float]:
    """Each scenario's pass rate in b minus a, as the scripts draw them."""
    return diffs_of(_counts(bench, a, b), TRIALS)


def _effect(data: dict[str, Any], b: str) -> dict[str, Any]:
    effect: dict[str, Any] = next(e for e in data["ab"]["effects"] if e["b"] == b)
    return effect


def _ab(bench: Workbench, lanes: str, *args: str) -> subprocess.CompletedProcess[str]:
    return bench.command("ab", "--lanes", lanes, "--trials", str(TRIALS), *args)


@dataclass
class Study:
    bench: Workbench
    started: int  # CLI starts by the command
    data: dict[str, Any]


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> Workbench:
    root = tmp_path_factory.mktemp("ab")
    return workbench(root / "bench", _suite(root / "make"))


def _study(bench: Workbench, *args: str) -> Study:
    before = bench.cli_runs()
    proc = bench.command("ab", *args, "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    return Study(bench, bench.cli_runs() - before, report(proc))


@pytest.fixture(scope="module")
def sequential(bench: Workbench) -> Study:
    """The first runs in the cache: the sequential study."""
    return _study(bench, *SEQUENTIAL)


@pytest.fixture(scope="module")
def study(sequential: Study) -> Study:
    """The baseline, the skill and the identical lane at TRIALS, with the baseline's A/A copy;
    the baseline's and skill's runs are the sequential study's first look."""
    lanes = "agent-baseline,agent-skill,agent-skill-nonudge"
    return _study(
        sequential.bench, "--lanes", lanes, "--trials", str(TRIALS), "--aa", "agent-baseline",
        "--margin", EQUIVALENT_MARGIN,
    )  # fmt: skip


@pytest.fixture(scope="module")
def flips(study: Study) -> Study:
    return _study(study.bench, "--lanes", "baseline,skill", "--trials", str(TRIALS))


@pytest.fixture(scope="module")
def cached(flips: Study) -> Iterator[Workbench]:
    """The bench once every lane's TRIALS runs are cached: what runs here starts no CLI."""
    before = flips.bench.cli_runs()
    yield flips.bench
    assert flips.bench.cli_runs() == before


def test_until_decided_stops_at_the_first_look_and_resumes_from_the_cache(
    sequential: Study,
) -> None:
    q = sequential.data["ab"]["sequential"]
    first = len(SCENARIOS) * 2 * TRIALS
    assert q["round_trials"] == TRIALS
    assert q["max_trials"] == ROUNDS * TRIALS
    assert [look["trials"] for look in q["looks"]] == [TRIALS]
    assert q["looks"][0]["verdicts"] == ["better"]
    # The first look may spend only its O'Brien-Fleming share of the 5%.
    assert q["looks"][0]["alpha"] == pytest.approx(spending([0.5, 1.0])[0])
    assert q["stopped"] == "decided: agent-skill better"
    assert (q["runs"], q["max_runs"]) == (first, ROUNDS * first)
    assert sequential.started == first  # the CLI started the first round's runs only
    skill = _effect(sequential.data, "agent-skill")
    assert skill["verdict"] == "better", skill["reason"]
    assert skill["alpha"] == q["looks"][0]["alpha"]
    assert skill["p_value"] < skill["alpha"]
    # Its intervals are at that look's level, and say so.
    level = f"({100 * (1 - skill['alpha']):.2f}% CI "
    assert level == "(99.44% CI "
    assert level in skill["reason"]
    assert level in skill["cost"]["reason"]
    assert sequential.data["header"]["trials"] == TRIALS
    # The same command again: every run is cached, so it starts no CLI and decides alike.
    again = _study(sequential.bench, *SEQUENTIAL)
    assert again.started == 0
    assert again.data["ab"]["sequential"] == q


def test_a_consistent_effect_is_better_and_costs_more(study: Study) -> None:
    bench, ab = study.bench, study.data["ab"]
    # The baseline's and skill's runs came from the cache; the identical lane and the A/A
    # copy ran.
    assert study.started == 2 * len(SCENARIOS) * TRIALS
    runs = len(SCENARIOS) * TRIALS
    by_lane = {s["lane"]: s for s in ab["lanes"]}
    for lane in ("agent-baseline", "agent-skill", "agent-skill-nonudge"):
        passed = sum(_passes(bench, lane, s) for s in SCENARIOS)
        assert by_lane[lane]["pass_rate"]["successes"] == passed, lane
        assert by_lane[lane]["runs"] == runs
        assert by_lane[lane]["scenarios"] == len(SCENARIOS)
    skill = _effect(study.data, "agent-skill")
    assert (skill["both"], skill["a_only"], skill["b_only"], skill["neither"]) == _table(
        bench, "agent-baseline", "agent-skill"
    )
    assert (skill["pairs"], skill["unpaired"], skill["scenarios_paired"]) == (runs, 0, 5)

    # 10% against 90% in each of 5 scenarios: better for scenarios like these, by the paired
    # t-test over the scenarios' differences, which scipy computes alike.
    diffs = _diffs(bench, "agent-baseline", "agent-skill")
    # However alike the scenarios' differences, the t-test's error is at least the binomial
    # noise of 3 trials: these draws move every scenario by 100 points, and p is not 0.
    assert skill["verdict"] == "better", skill["reason"]
    assert skill["diff"] == pytest.approx(sum(diffs) / len(diffs))
    want, _ = scipy_t(_counts(bench, "agent-baseline", "agent-skill"), TRIALS)
    assert skill["p_value"] == pytest.approx(want)
    assert skill["p_value"] < 0.05
    assert 0 < skill["ci"]["low"] < skill["ci"]["high"] <= 1
    assert "pass rate (95% CI " in skill["reason"]
    assert "across 5 scenarios" in skill["reason"]
    # The pooled answer is kept, about these runs only.
    pooled = skill["pooled"]
    assert pooled["p_value"] == pytest.approx(mcnemar_exact(skill["a_only"], skill["b_only"]))

    # Every skill turn reports 50 times the tokens: it costs more, scenario by scenario.
    cost = skill["cost"]
    assert cost["verdict"] == "costs more", cost["reason"]
    assert cost["scenarios"] == len(SCENARIOS)
    assert cost["ratio"] > 2
    assert cost["ci"]["low"] > 1 + cost["margin"]
    turns = next(m for m in skill["metrics"] if m["metric"] == "num_turns")
    assert turns["diff"] > 0  # passing, it loads the skill first; failing, it stumbles first

    # The skill lane loads the skill exactly when it takes the passing branch; when it fails,
    # its misspelt call is an error, not a load (these draws fail it nowhere: see
    # test_skill_invocation for a refused call through ab).
    rates = by_lane["agent-skill"]
    assert rates["skill_invoked"]["successes"] == rates["pass_rate"]["successes"]
    assert rates["skill_errors"] == runs - rates["pass_rate"]["successes"]
    assert by_lane["agent-baseline"]["skill_invoked"] is None
    assert [p["k"] for p in rates["pass_k"]] == list(range(1, TRIALS + 1))
    assert rates["pass_k"][0]["pass_at_k"] == pytest.approx(rates["pass_rate"]["rate"])

    # The A/A copy: baseline against itself, trial t with t + TRIALS, drawn afresh.
    noise = ab["noise"]
    assert (noise["lane"], noise["pairs"]) == ("agent-baseline", runs)
    flips = sum(
        _expected(bench, "agent-baseline", s, t)
        != _expected(bench, "agent-baseline", s, t + TRIALS)
        for s in SCENARIOS
        for t in range(TRIALS)
    )
    assert noise["flips"] == flips


def test_identical_lanes_are_equivalent_within_the_margin(study: Study) -> None:
    same = _effect(study.data, "agent-skill-nonudge")
    assert (same["a_only"], same["b_only"]) == (0, 0)  # same script, same draws
    assert same["verdict"] == "equivalent", same["reason"]
    assert same["margin"] == pytest.approx(int(EQUIVALENT_MARGIN) / 100)
    assert f"within ±{EQUIVALENT_MARGIN} points" in same["reason"]
    assert same["equivalence_p"] < 0.05
    # The same turns cost the same.
    assert same["cost"]["verdict"] == "same cost", same["cost"]["reason"]
    assert same["cost"]["ratio"] == pytest.approx(1.0)
    by_lane = {s["lane"]: s for s in study.data["ab"]["lanes"]}
    assert by_lane["agent-skill-nonudge"]["skill_invoked"]["successes"] == 0


def test_an_effect_that_flips_sign_across_scenarios_is_not_better(flips: Study) -> None:
    bench = flips.bench
    assert flips.started == 2 * len(SCENARIOS) * TRIALS
    e = _effect(flips.data, "skill")
    diffs = _diffs(bench, "baseline", "skill")
    assert min(diffs) < 0 < max(diffs)  # much better on some scenarios, much worse on others
    assert e["verdict"] == "inconclusive", e["reason"]
    assert e["p_value"] == pytest.approx(scipy_t(_counts(bench, "baseline", "skill"), TRIALS)[0])
    assert e["ci"]["low"] < 0 < e["ci"]["high"]
    assert (e["both"], e["a_only"], e["b_only"], e["neither"]) == _table(bench, "baseline", "skill")
    # The spread is between scenarios: more trials would not tell, more scenarios would.
    advice = e["advice"]
    assert advice["add"] == "scenarios"
    assert advice["scenarios_needed"] > len(SCENARIOS)
    assert f"about {advice['scenarios_needed']} scenarios would detect" in e["reason"]
    assert "trials per scenario" not in e["reason"]
    # These runs pooled: McNemar over the table, true of these five scenarios only.
    assert e["pooled"]["p_value"] == pytest.approx(mcnemar_exact(e["a_only"], e["b_only"]))


def test_the_text_says_the_verdict_and_these_runs_apart(cached: Workbench) -> None:
    proc = _ab(cached, "agent-skill,agent-baseline")
    assert proc.returncode == 0, proc.stderr[-3000:]
    out = proc.stdout
    # The answer first, in one line, then the statistics it is the short form of.
    first, blank, table, *_ = out.splitlines()
    assert first.startswith("agent-baseline vs agent-skill: WORSE, ")
    on = f" on {len(SCENARIOS)} scenarios × {TRIALS} trials; "
    assert on in first
    assert "(95% CI " in first
    assert "; cost -$" in first
    assert "costs less); turns " in first
    assert first.endswith("; scripted: nothing billed")
    assert blank == ""
    assert table.startswith(f"A/B · {len(SCENARIOS)} scenarios x {TRIALS} trials · verdicts about")
    assert "pass rate (95% CI)" in out
    assert "agent-baseline over agent-skill: WORSE: " in out
    assert "  cost       " in out
    assert ": COSTS LESS: " in out
    assert "McNemar exact p = " in out
    assert "true of these scenarios only" in out
    flipped = _ab(cached, "baseline,skill")
    assert "skill over baseline: INCONCLUSIVE: " in flipped.stdout
    assert "  these runs " in flipped.stdout


@pytest.mark.parametrize(
    ("command", "lanes", "gate", "code"),
    [
        ("ab", "agent-baseline,agent-skill", "worse", 0),
        ("ab", "agent-baseline,agent-skill", "not-better", 0),
        ("ab", "agent-baseline,agent-skill", "not-equivalent", 1),
        ("ab", "agent-skill,agent-baseline", "worse", 1),
        ("ab", "baseline,skill", "worse", 0),
        ("ab", "baseline,skill", "not-better", 1),
        # The baseline's runs fail: with the gate, eval's exit code is the verdict's.
        ("eval", "agent-baseline,agent-skill", "not-better", 0),
        ("eval", "agent-baseline,agent-skill-nonudge", "not-equivalent", 0),
        ("eval", "baseline,skill", "not-better", 1),
    ],
)
def test_fail_on_sets_the_exit_code(
    cached: Workbench, command: str, lanes: str, gate: str, code: int
) -> None:
    margin = ["--margin", EQUIVALENT_MARGIN] if gate == "not-equivalent" else []
    proc = cached.command(
        command, "--lanes", lanes, "--trials", str(TRIALS), "--fail-on", gate, *margin
    )
    assert proc.returncode == code, proc.stderr[-3000:]
    a, b = lanes.split(",")
    tripped = f"--fail-on {gate}: {b} over {a} is "
    assert (tripped in proc.stderr) == bool(code)
    assert f"{b} over {a}: " in proc.stdout  # eval prints the A/B too


def test_eval_with_two_lanes_prints_the_table_then_the_ab(cached: Workbench) -> None:
    proc = cached.eval("--lanes", "agent-baseline,agent-skill", "--trials", str(TRIALS))
    assert proc.returncode == 1, proc.stderr[-3000:]  # without --fail-on: a run failed
    out = proc.stdout
    # The headline, then the table, then the A/B it is the short form of.
    first, blank, table, *_ = out.splitlines()
    assert first.startswith("agent-skill vs agent-baseline: BETTER, ")
    assert blank == ""
    assert table.startswith("scenario")
    assert f"A/B · {len(SCENARIOS)} scenarios x {TRIALS} trials · verdicts about" in out
    assert "agent-skill over agent-baseline: BETTER: " in out
    assert "skill used" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lanes", "agent-skill"], "--lanes: give two lanes or more"),
        (["--variant", "agent-skill"], "--lanes: give two lanes or more"),  # the alias
        (["--lanes", "agent-skill,nope"], "nope"),
        (["--aa", "nope"], "nope"),
        (["--lanes", "agent-baseline,agent-skill", "--trials", "0"], "--trials"),
        (["--lanes", "agent-baseline,agent-skill", "--margin", "0"], "--margin"),
        (
            ["--lanes", "agent-baseline,agent-skill", "--max-trials", "4"],
            "--max-trials: bounds a sequential A/B; add --until-decided, or leave --max-trials out",
        ),
        (
            ["--lanes", "agent-baseline,agent-skill", "--max-cost", "1"],
            "--max-cost: bounds a sequential A/B; add --until-decided, or leave --max-cost out",
        ),
        (
            ["--aa", "agent-skill", "--until-decided"],
            "--until-decided: not with --aa (the A/A copy's trials follow the last look); "
            "measure the noise floor in a separate `ab --aa LANE`",
        ),
        (
            ["--lanes", "agent-baseline,agent-skill", "--until-decided", "--max-trials", "2"],
            "--max-trials 2: fewer than one round of --trials 5; give --max-trials 5 or more, "
            "or fewer --trials",
        ),
        (
            ["--aa", "agent-skill", "--fail-on", "worse"],
            "--fail-on worse: gates on an A/B verdict, which takes two lanes; give --lanes A,B",
        ),
    ],
)
def test_ab_usage_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    bench = workbench(tmp_path)
    proc = bench.command("ab", *args)
    assert proc.returncode == 2
    (line,) = proc.stderr.splitlines()  # one line, naming the option and the fix
    assert message in line
    assert bench.cli_runs() == 0


def test_fail_on_with_one_lane_is_a_usage_error(tmp_path: Path) -> None:
    bench = workbench(tmp_path)
    proc = bench.eval("--variant", "agent-skill", "--fail-on", "not-better")
    assert proc.returncode == 2
    assert proc.stderr == (
        "runner: --fail-on not-better: gates on an A/B verdict, which takes two lanes; "
        "give --lanes A,B\n"
    )
    assert bench.cli_runs() == 0


def test_max_cost_stops_a_sequential_study_before_the_round_that_would_pass_it(
    cached: Workbench,
) -> None:
    # The flipping lanes stay undecided at the first look (cached); the next round would cost
    # as much again, past the budget, so the study stops there and starts no CLI.
    args = ("--until-decided", "--max-trials", str(2 * TRIALS), "--max-cost", "0.001")
    proc = _ab(cached, "baseline,skill", *args, "--json")
    assert proc.returncode == 0, proc.stderr[-3000:]
    q = report(proc)["ab"]["sequential"]
    assert [look["trials"] for look in q["looks"]] == [TRIALS]
    assert q["looks"][0]["verdicts"] == ["inconclusive"]
    assert q["stopped"].startswith("undecided: another round (about $")
    assert "past --max-cost $0.0010" in q["stopped"]
    assert q["runs"] == 2 * len(SCENARIOS) * TRIALS
    assert f"look 1 at {TRIALS} trials: {q['stopped']}" in proc.stderr
