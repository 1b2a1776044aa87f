"""``python -m runner ab`` end to end: the real CLI against scripted models whose pass rates are
set by weighted choices, so the truth is known, and the verdicts must come out right."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runner.replay.script import Script, text, tool
from tests.suite_commands import Workbench, report, workbench

pytestmark = pytest.mark.cli

SCENARIOS = ("alpha", "beta")
TRIALS = 6
# lane -> (chance a run passes, the script's seed base per scenario). The seeds keep every
# lane's and scenario's draws independent of the others'.
LANES = {
    "agent-baseline": (0.15, 100),
    "agent-skill": (0.9, 200),
    "agent-skill-nonudge": (0.4, 300),
}


def _script(rate: float, seed: int, skill: bool) -> dict[str, Any]:
    load = [{"content": [tool("Skill", skill="greeter")]}] if skill else []
    passing = [
        *load,
        {"content": [tool("Write", file_path="greeting.txt", content="Hello, Ada!\n")]},
        {"content": [text("Wrote greeting.txt.")]},
    ]
    failing = [{"content": [text("I would rather not write files today.")]}]
    return {
        "seed": seed,
        "turns": [
            {"choose": [{"weight": rate, "turns": passing}, {"weight": 1 - rate, "turns": failing}]}
        ],
    }


def _suite(root: Path) -> Path:
    suite = root / "src"
    for i, scenario in enumerate(SCENARIOS):
        folder = suite / scenario
        (folder / "mock").mkdir(parents=True)
        mocks = {}
        for lane, (rate, seed) in LANES.items():
            script = _script(rate, seed + 10 * i, skill=lane != "agent-baseline")
            (folder / "mock" / f"{lane}.json").write_text(json.dumps(script))
            mocks[lane] = f"mock/{lane}.json"
        mock_table = "\n".join(f'"{lane}" = "{path}"' for lane, path in mocks.items())
        (folder / "scenario.toml").write_text(
            'instruction = "Greet Ada in greeting.txt."\n'
            'skill = "greeter"\n'
            "timeout_s = 120\n"
            f"[mock]\n{mock_table}\n"
            "[[check]]\n"
            'type = "file_matches"\n'
            'path = "greeting.txt"\n'
            "pattern = 'Hello, Ada!'\n"
        )
    return suite


def _expected(bench: Workbench, lane: str, scenario: str, trial: int) -> bool:
    """Whether this run passes: the branch the scripted model draws for its seed."""
    script = Script.model_validate_json(
        (bench.suite / scenario / "mock" / f"{lane}.json").read_text()
    )
    turns = script.resolved(script.seed + trial).turns
    return any(b.type == "tool_use" and b.name == "Write" for t in turns for b in t.content)


def _table(bench: Workbench, a: str, b: str) -> tuple[int, int, int, int]:
    cells = [0, 0, 0, 0]  # both, a_only, b_only, neither
    for scenario in SCENARIOS:
        for trial in range(TRIALS):
            x, y = (_expected(bench, lane, scenario, trial) for lane in (a, b))
            cells[0 if x and y else 1 if x else 2 if y else 3] += 1
    return (cells[0], cells[1], cells[2], cells[3])


def _effect(data: dict[str, Any], b: str) -> dict[str, Any]:
    effect: dict[str, Any] = next(e for e in data["ab"]["effects"] if e["b"] == b)
    return effect


def test_ab_verdicts_on_lanes_with_known_pass_rates(tmp_path: Path) -> None:
    bench = workbench(tmp_path, _suite(tmp_path / "make"))
    lanes = "agent-baseline,agent-skill,agent-skill-nonudge"
    proc = bench.command(
        "ab", "--lanes", lanes, "--trials", str(TRIALS), "--aa", "agent-baseline", "--json"
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    data = report(proc)
    runs = len(SCENARIOS) * TRIALS
    assert bench.cli_runs() == 4 * runs  # three lanes, and the A/A copy of one
    ab = data["ab"]
    assert data["header"]["aa"] == "agent-baseline"

    # Every run went the way its scripted draw says: the pairing and the table are right.
    by_lane = {s["lane"]: s for s in ab["lanes"]}
    for lane in LANES:
        passed = sum(_expected(bench, lane, s, t) for s in SCENARIOS for t in range(TRIALS))
        assert by_lane[lane]["pass_rate"]["successes"] == passed, lane
        assert by_lane[lane]["runs"] == runs
    skill = _effect(data, "agent-skill")
    assert (skill["both"], skill["a_only"], skill["b_only"], skill["neither"]) == _table(
        bench, "agent-baseline", "agent-skill"
    )

    # 0.15 against 0.9 over 12 pairs: clearly better, and it costs more turns.
    assert skill["verdict"] == "better", skill["reason"]
    assert skill["p_value"] < 0.05
    assert skill["ci"]["low"] > 0
    turns = next(m for m in skill["metrics"] if m["metric"] == "num_turns")
    assert turns["diff"] > 0
    # The skill lanes load the skill exactly when they take the passing branch.
    assert (
        by_lane["agent-skill"]["skill_invoked"]["successes"]
        == by_lane["agent-skill"]["pass_rate"]["successes"]
    )
    assert by_lane["agent-baseline"]["skill_invoked"] is None
    assert [p["k"] for p in by_lane["agent-skill"]["pass_k"]] == list(range(1, TRIALS + 1))

    # 0.15 against 0.4 over 12 pairs: a real effect these pairs cannot show.
    nudge = _effect(data, "agent-skill-nonudge")
    assert nudge["verdict"] == "underpowered", nudge["reason"]
    assert nudge["b_only"] > nudge["a_only"]
    assert nudge["trials_needed"] > TRIALS

    # The A/A copy: baseline against itself, trial t with t + TRIALS, seeds drawn afresh.
    noise = ab["noise"]
    assert noise["lane"] == "agent-baseline"
    assert noise["pairs"] == runs
    flips = sum(
        _expected(bench, "agent-baseline", s, t)
        != _expected(bench, "agent-baseline", s, t + TRIALS)
        for s in SCENARIOS
        for t in range(TRIALS)
    )
    assert noise["flips"] == flips
    assert noise["p_value"] > 0.05

    # The other way round is worse, from the cache: no CLI starts.
    before = bench.cli_runs()
    proc = bench.command("ab", "--lanes", "agent-skill,agent-baseline", "--trials", str(TRIALS))
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert bench.cli_runs() == before
    assert "agent-baseline over agent-skill: WORSE" in proc.stdout
    assert "pass rate (95% CI)" in proc.stdout


def test_eval_with_two_lanes_prints_the_ab_too(tmp_path: Path) -> None:
    bench = workbench(tmp_path)
    proc = bench.eval("--variant", "agent-baseline,agent-skill", "--trials", "2")
    assert proc.returncode == 1, proc.stderr[-3000:]  # the baseline fails its checks
    out = proc.stdout
    assert out.startswith("scenario")  # the table, then the A/B
    assert "A/B · 3 scenarios x 2 trials" in out
    assert "agent-skill over agent-baseline: BETTER" in out
    assert "skill used" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--lanes", "agent-skill"], "--lanes: give two lanes or more"),
        (["--lanes", "agent-skill,nope"], "nope"),
        (["--aa", "nope"], "nope"),
        (["--lanes", "agent-baseline,agent-skill", "--trials", "0"], "--trials"),
    ],
)
def test_ab_usage_errors_are_one_line(tmp_path: Path, args: list[str], message: str) -> None:
    bench = workbench(tmp_path)
    proc = bench.command("ab", *args)
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr
    assert bench.cli_runs() == 0
