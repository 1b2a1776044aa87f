"""runner._evaluate.asserts on real runs (cached by the session's eval, real transcripts) and on
small cassettes, given as a ReplayEngine or a RunRecord: each passes when it should and fails with a
message that says what was expected and what the run did."""

from __future__ import annotations

from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from runner._agent.engine import RunRecord
from runner._evaluate.asserts import (
    assert_cost_under,
    assert_max_turns,
    assert_no_loops,
    assert_skill_invoked,
    assert_tool_sequence,
    run_cost,
)
from runner._evaluate.replay import ReplayEngine
from runner._model.script import text, tool
from runner._transcript.usage import Usage, price_for
from tests.conftest import FIXTURES
from tests.replay_support import Evaluated, exchange, header, message, streamed, write_cassette

pytestmark = pytest.mark.cli


@pytest.fixture(params=["engine", "record"])
def skill_run(request: pytest.FixtureRequest, evaluated: Evaluated) -> ReplayEngine | RunRecord:
    """fix-entry in agent-skill (Skill, Read, Edit; 5 turns; $0.0553), either way."""
    engine = evaluated.engine()
    if request.param == "engine":
        return engine
    assert engine.record is not None
    return engine.record


def fails(match: str) -> AbstractContextManager[pytest.ExceptionInfo[AssertionError]]:
    return pytest.raises(AssertionError, match=match)


# ---- tool sequence --------------------------------------------------------------------------


def test_tool_sequence_strict(skill_run: ReplayEngine | RunRecord) -> None:
    assert_tool_sequence(skill_run, ["Skill", "Read", "Edit"])
    with fails(
        r"^run fix-entry/agent-skill#0: tool sequence \(strict\) expected \[Skill, Edit\], "
        r"got \[Skill, Read, Edit\]; call 2 is Read, not Edit\.$"
    ):
        assert_tool_sequence(skill_run, ["Skill", "Edit"])
    with fails(r"1 more call after the expected ones"):
        assert_tool_sequence(skill_run, ["Skill", "Read"])
    with fails(r"it stopped after 3 of 4 calls"):
        assert_tool_sequence(skill_run, ["Skill", "Read", "Edit", "Bash"])


def test_tool_sequence_subset(skill_run: ReplayEngine | RunRecord) -> None:
    assert_tool_sequence(skill_run, ["Skill", "Edit"], mode="subset")
    assert_tool_sequence(skill_run, [], mode="subset")
    with fails(r"\(subset\) .*; matched \[Skill, Read, Edit\], then no Write after it\.$"):
        assert_tool_sequence(skill_run, ["Skill", "Read", "Edit", "Write"], mode="subset")
    with fails(r"matched \[Edit\], then no Skill after it"):  # in order, not just present
        assert_tool_sequence(skill_run, ["Edit", "Skill"], mode="subset")


def test_tool_sequence_unordered(skill_run: ReplayEngine | RunRecord) -> None:
    assert_tool_sequence(skill_run, ["Edit", "Skill", "Read"], mode="unordered")
    with fails(r"\(unordered\) .*; Read: 1 call, not 2; Write: 0 calls, not 1\.$"):
        assert_tool_sequence(
            skill_run, ["Edit", "Read", "Read", "Skill", "Write"], mode="unordered"
        )


def test_tool_sequence_mode_must_be_known(skill_run: ReplayEngine | RunRecord) -> None:
    with pytest.raises(ValueError, match="mode 'loose'"):
        assert_tool_sequence(skill_run, [], mode="loose")  # type: ignore[arg-type]


def test_a_run_without_tool_calls_says_so() -> None:
    engine = ReplayEngine.from_stream(FIXTURES / "hello.ndjson")
    with fails(r"got \[\] \(no tool calls\)"):
        assert_tool_sequence(engine, ["Read"])


# ---- skill ----------------------------------------------------------------------------------


def test_skill_invoked(skill_run: ReplayEngine | RunRecord, evaluated: Evaluated) -> None:
    assert_skill_invoked(skill_run)
    assert_skill_invoked(skill_run, "changelog")
    with fails(r"expected the skill 'greeter' to be invoked; skills invoked: changelog\.$"):
        assert_skill_invoked(skill_run, "greeter")
    baseline = evaluated.engine("agent-baseline")
    with fails(r"^run fix-entry/agent-baseline#0: expected a skill .*; skills invoked: none\.$"):
        assert_skill_invoked(baseline)


# ---- cost -----------------------------------------------------------------------------------


def test_cost_under_the_budget_uses_the_clis_cost(skill_run: ReplayEngine | RunRecord) -> None:
    assert_cost_under(skill_run, 0.06)
    assert_cost_under(skill_run, 0.0553)  # at most: the budget itself passes
    with fails(r"expected a cost of at most \$0\.0500, got \$0\.0553 \(as the CLI reported it\)"):
        assert_cost_under(skill_run, 0.05)


def test_without_the_clis_cost_the_usage_is_repriced() -> None:
    engine = ReplayEngine.from_stream(FIXTURES / "killed_midway.ndjson")  # killed: no result
    summary = engine.run().summary
    assert summary.cost_usd is None
    [(model, usage)] = summary.models.items()
    price = price_for(model)
    assert price is not None
    expected = price.cost(usage)
    assert expected > 0
    assert run_cost(engine) == pytest.approx(expected)
    assert_cost_under(engine, expected)
    with fails(r"got \$0\.0010 \(re-priced\)"):
        assert_cost_under(engine, expected / 2)


def unpriced(tmp: Path) -> ReplayEngine:
    """A recorded run of a model runner has no price for, and no cost from the CLI."""
    reply = message("msg_1", text("Hi."), model="claude-unknown-9")
    path = write_cassette(
        tmp / "c.ndjson",
        header("s", "l", exit_reason="success"),
        [exchange(0, [{"role": "user", "content": "hi"}], streamed(reply))],
    )
    return ReplayEngine.from_cassette(path)


def test_an_unknown_models_price_fails_and_never_counts_as_zero(
    tmp_path: Path, evaluated: Evaluated
) -> None:
    engine = unpriced(tmp_path)
    assert engine.run().summary.cost_usd is None
    with fails(r"no price for the model 'claude-unknown-9'"):
        assert_cost_under(engine, 1000.0)
    record = evaluated.engine().record
    assert record is not None
    transcript = record.transcript.model_copy(
        update={"cost_usd": None, "models": {"claude-unknown-9": Usage(input_tokens=5)}}
    )
    with fails(r"^run fix-entry/agent-skill#0: its cost is unknown: .*'claude-unknown-9'"):
        assert_cost_under(record.model_copy(update={"transcript": transcript}), 1000.0)


def test_no_cost_and_no_usage_fails(evaluated: Evaluated) -> None:
    record = evaluated.engine().record
    assert record is not None
    transcript = record.transcript.model_copy(update={"cost_usd": None, "models": {}})
    with fails(r"its cost is unknown: the CLI gave none and no usage was recorded"):
        assert_cost_under(record.model_copy(update={"transcript": transcript}), 1.0)


# ---- loops ----------------------------------------------------------------------------------


def looping(tmp: Path, calls: int) -> ReplayEngine:
    """A run that reads the same file ``calls`` times in a row, each call with its own id."""
    ask: list[dict[str, object]] = [{"role": "user", "content": "Read it."}]
    exchanges = []
    for n in range(calls):
        reply = message(f"msg_{n}", tool("Read", file_path="CHANGELOG.md"))
        exchanges.append(exchange(n, list(ask), streamed(reply)))
        tool_id = reply["content"][0]["id"]
        ask += [
            {"role": "assistant", "content": reply["content"]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": tool_id}]},
        ]
    done = message("msg_end", text("Read."))
    exchanges.append(exchange(calls, ask, streamed(done)))
    path = write_cassette(tmp / "loop.ndjson", header("loop", "agent-skill"), exchanges)
    return ReplayEngine.from_cassette(path)


def test_the_same_call_too_many_times_in_a_row_is_a_loop(tmp_path: Path) -> None:
    assert_no_loops(looping(tmp_path, 3))  # three is allowed
    with fails(
        r"^run loop/agent-skill#0: the same tool call Read\(CHANGELOG\.md\) was made 4 times "
        r"in a row, more than max_repeats=3\.$"
    ):
        assert_no_loops(looping(tmp_path, 4))
    with fails(r"made 3 times in a row, more than max_repeats=2"):
        assert_no_loops(looping(tmp_path, 3), max_repeats=2)


def test_calls_with_other_inputs_are_no_loop(evaluated: Evaluated) -> None:
    engine = ReplayEngine.from_stream(FIXTURES / "session.ndjson")
    assert engine.tool_sequence()[1:5] == ["Read"] * 4  # four Reads in a row, other files
    assert_no_loops(engine)
    # A record keeps names only: the same four Reads look like a loop, and it says why.
    record = evaluated.engine().record
    assert record is not None
    names_only = record.model_copy(update={"transcript": engine.run().summary})
    with fails(r"Read was made 4 times in a row.*\(by name only: a RunRecord has no inputs\)"):
        assert_no_loops(names_only)


# ---- turns ----------------------------------------------------------------------------------


def test_max_turns(skill_run: ReplayEngine | RunRecord) -> None:
    assert_max_turns(skill_run, 5)
    with fails(r"^run fix-entry/agent-skill#0: expected at most 4 turns, got 5\.$"):
        assert_max_turns(skill_run, 4)


def test_max_turns_of_a_run_without_a_result_fails() -> None:
    engine = ReplayEngine.from_stream(FIXTURES / "killed_midway.ndjson")
    with fails(r"expected at most 10 turns; the number is unknown \(no result event\)"):
        assert_max_turns(engine, 10)
