"""ReplayEngine: real cached runs (one offline eval for the session), real transcripts, and API
cassettes recorded from a real CLI run, replayed with no CLI through runner's own reader."""

from __future__ import annotations

from pathlib import Path

import anyio
import pytest

from runner._evaluate.cache import RunCache
from runner._evaluate.replay import ReplayEngine, ReplayError
from runner._evaluate.replay_compare import ReplayDiff
from runner._evaluate.results import CheckResult
from runner._model.cassette import CassetteResponse
from runner._model.script import text, tool
from runner._transcript.events import ResultEvent, SystemInit, UserEvent
from runner._transcript.stream import ParseError, StreamItem
from tests.conftest import FIXTURES
from tests.replay_support import (
    Evaluated,
    RecordedRun,
    exchange,
    header,
    message,
    recorded_run,
    streamed,
    write_cassette,
)
from tests.suite_commands import REPO

pytestmark = pytest.mark.cli

SUBAGENT = FIXTURES / "subagent.ndjson"

# A foreground subagent (its own conversation, routed by the marker in its prompt), then text.
DELEGATE = {
    "turns": [
        {
            "content": [
                text("Delegating."),
                tool(
                    "Agent",
                    description="notes",
                    prompt="[sub] Create notes.txt with one line.",
                    subagent_type="general-purpose",
                    run_in_background=False,
                ),
            ]
        },
        {"content": [text("The subagent wrote notes.txt.")]},
    ],
    "conversations": {
        "[sub]": [
            {"content": [tool("Bash", command="echo hi > notes.txt && cat notes.txt && pwd")]},
            {"content": [text("Created notes.txt.")]},
        ]
    },
}


@pytest.fixture(scope="module")
def delegated(tmp_path_factory: pytest.TempPathFactory) -> RecordedRun:
    """One real run with a subagent, its stream and its API cassette."""
    return anyio.run(recorded_run, DELEGATE, tmp_path_factory.mktemp("delegated"))


def kinds(items: list[StreamItem]) -> list[str]:
    return [str(i.type) for i in items]


# ---- sources ------------------------------------------------------------------------------------


def test_a_cached_run_replays_to_the_summary_it_was_recorded_with(evaluated: Evaluated) -> None:
    engine = evaluated.engine()
    replay = engine.run()
    assert engine.record is not None
    assert replay.record == engine.record  # same reader, same figures: nothing lost or added
    assert replay.summary.tool_sequence == ["Skill", "Read", "Edit"]
    assert engine.label == "fix-entry/agent-skill#0"
    assert engine.exit_code == 0
    assert engine.stderr == (evaluated.run_dir() / "stderr.log").read_text()
    assert engine.run_dir == evaluated.run_dir()


def test_load_tells_a_run_folder_a_cassette_and_a_stream_apart(
    evaluated: Evaluated, delegated: RecordedRun
) -> None:
    folder = ReplayEngine.load(evaluated.run_dir())
    stream = ReplayEngine.load(evaluated.run_dir() / "stream.ndjson")
    cassette = ReplayEngine.load(delegated.cassette)
    assert folder.record is not None
    assert stream.record is None
    assert stream.fingerprint() == folder.fingerprint()
    assert cassette.label == "test/agent-baseline#0"  # from the cassette's header
    assert cassette.run().summary.tool_sequence == ["Agent", "Bash"]


def test_from_cache_finds_the_run_by_key_and_says_when_it_is_missing(
    evaluated: Evaluated,
) -> None:
    cache = RunCache(evaluated.cache)
    key = evaluated.result()["cache_key"]
    assert ReplayEngine.from_cache(cache, key).run_dir == evaluated.run_dir()
    with pytest.raises(ReplayError, match=f"no cached run {'0' * 32} in {cache.root}"):
        ReplayEngine.from_cache(cache, "0" * 32)


def test_a_folder_without_a_record_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ReplayError, match="not a run folder"):
        ReplayEngine.from_run_dir(tmp_path)


# ---- fingerprint ----------------------------------------------------------------------------


def test_two_identical_real_runs_have_one_fingerprint(evaluated: Evaluated) -> None:
    first, second = evaluated.engine(trial=0), evaluated.engine(trial=1)
    assert first.record is not None
    assert second.record is not None
    # Different session ids, uuids, timestamps and workspace paths...
    assert first.record.transcript.session_id != second.record.transcript.session_id
    one = (first.run_dir / "stream.ndjson").read_bytes()  # type: ignore[operator]
    two = (second.run_dir / "stream.ndjson").read_bytes()  # type: ignore[operator]
    assert one != two
    # ...the same content.
    assert first.fingerprint() == second.fingerprint()
    assert first.fingerprint() != evaluated.engine("agent-baseline").fingerprint()


def test_the_fingerprint_ignores_ids_and_sees_content(tmp_path: Path) -> None:
    recorded = (FIXTURES / "tools.ndjson").read_bytes()
    renamed = tmp_path / "renamed.ndjson"
    # Other tool, message and session ids, as another run of the same thing would have.
    renamed.write_bytes(
        recorded.replace(b"toolu_scripted_", b"toolu_01Xy")
        .replace(b"msg_scripted_", b"msg_01Ab")
        .replace(b"634b3172-9780-51c2", b"00000000-1111-2222")
    )
    edited = tmp_path / "edited.ndjson"
    edited.write_bytes(recorded.replace(b"hello, world", b"hello, there"))
    fingerprint = ReplayEngine.from_stream(FIXTURES / "tools.ndjson").fingerprint()
    assert ReplayEngine.from_stream(renamed).fingerprint() == fingerprint
    assert ReplayEngine.from_stream(edited).fingerprint() != fingerprint


def test_an_override_changes_the_fingerprint_and_not_the_files(evaluated: Evaluated) -> None:
    engine = evaluated.engine()
    stored = (evaluated.run_dir() / "stream.ndjson").read_bytes()
    before = engine.fingerprint()
    engine.override_tool_result("Read", "(empty file)")
    assert engine.fingerprint() != before
    assert (evaluated.run_dir() / "stream.ndjson").read_bytes() == stored


# ---- overrides ------------------------------------------------------------------------------


def test_override_tool_result_answers_every_call_to_that_tool(evaluated: Evaluated) -> None:
    engine = evaluated.engine()
    recorded = {c.name: c.result for c in engine.tool_calls()}
    engine.override_tool_result("Read", "first").override_tool_result("Read", "later wins")
    calls = {c.name: c for c in engine.tool_calls()}
    assert calls["Read"].result == "later wins"
    assert not calls["Read"].is_error
    assert calls["Edit"].result == recorded["Edit"]  # other tools as recorded
    assert calls["Skill"].result == recorded["Skill"]
    # The structured copy of the old result goes with it.
    answer = next(
        i for i in engine.items() if isinstance(i, UserEvent) and b"later wins" in i.raw_json()
    )
    assert "tool_use_result" not in answer.full()


def test_a_text_response_ends_the_run_there_with_the_result_kept(evaluated: Evaluated) -> None:
    engine = evaluated.engine().override_llm_response(1, "Nothing to record.")
    replay = engine.run()
    assert replay.summary.tool_sequence == ["Skill"]  # the Read call and all after it are gone
    assert replay.summary.final_text == "Nothing to record."
    assert replay.summary.status == "success"
    assert replay.summary.results == 1
    assert isinstance(replay.items[-1], ResultEvent)
    assert [c.content for c in engine.llm_calls()][1] == [
        {"type": "text", "text": "Nothing to record."}
    ]
    assert len(engine.llm_calls()) == 2


def test_a_response_with_a_tool_call_replays_the_rest_as_recorded(evaluated: Evaluated) -> None:
    engine = evaluated.engine()
    recorded = engine.tool_calls()
    engine.override_llm_response(
        1,
        {
            "role": "assistant",
            "content": [
                text("Reading it again."),
                tool("Read", file_path="CHANGELOG.md", limit=10),
            ],
        },
    )
    calls = engine.tool_calls()
    assert [c.name for c in calls] == ["Skill", "Read", "Edit"]
    # The new call took the replaced call's id, so the recorded result still answers it.
    assert calls[1].id == recorded[1].id
    assert calls[1].input == {"file_path": "CHANGELOG.md", "limit": 10}
    assert calls[1].result == recorded[1].result
    assert engine.llm_calls()[1].content[0] == {"type": "text", "text": "Reading it again."}
    assert engine.run().summary.final_text == evaluated.engine().run().summary.final_text


def test_llm_overrides_chain_by_index(evaluated: Evaluated) -> None:
    engine = evaluated.engine()
    engine.override_llm_response(0, [tool("Skill", skill="other")])
    engine.override_llm_response(3, "All done.")
    engine.override_llm_response(3, "Done, #142 recorded.")  # the later one for an index wins
    summary = engine.run().summary
    assert summary.skills_invoked == ["other"]
    assert summary.tool_sequence == ["Skill", "Read", "Edit"]
    assert summary.final_text == "Done, #142 recorded."
    # An earlier call that ends the run leaves nothing for a later one to change.
    engine.override_llm_response(2, "Stopping.")
    assert engine.run().summary.final_text == "Stopping."


def test_a_bad_llm_override_is_refused_when_given(evaluated: Evaluated) -> None:
    engine = evaluated.engine()
    with pytest.raises(IndexError, match="no LLM call 4; it made 4"):
        engine.override_llm_response(4, "x")
    with pytest.raises(TypeError, match="a response is text"):
        engine.override_llm_response(0, [{"text": "no type"}])


def test_a_subagents_text_response_ends_only_the_subagent() -> None:
    engine = ReplayEngine.from_stream(SUBAGENT)
    sub = engine.llm_calls()[1]
    assert sub.parent_tool_use_id is not None
    assert sub.tools == ["Bash"]
    engine.override_llm_response(1, "I will not run that.")
    summary = engine.run().summary
    assert summary.tool_sequence == ["Agent"]  # the subagent's Bash call is gone
    assert summary.final_text == "The subagent created notes.txt."  # the main one goes on
    assert not any(
        isinstance(i, UserEvent)
        and i.parent_tool_use_id == sub.parent_tool_use_id
        and not isinstance(i.message.content, str)
        and any(b.type == "tool_result" for b in i.message.content)
        for i in engine.items()
    )


# ---- filters, stepping ----------------------------------------------------------------------


def test_filters_chain_and_every_one_must_keep_an_item(evaluated: Evaluated) -> None:
    engine = evaluated.engine()
    everything = kinds(engine.items())
    engine.filter_events(lambda i: not isinstance(i, SystemInit))
    engine.filter_events(lambda i: i.type != "result")
    kept = kinds(engine.items())
    assert kept == [k for k in everything[1:] if k != "result"]
    assert engine.run().summary.status == "incomplete"  # the summary sees only what is kept


def test_step_walks_the_replay_and_reset_starts_over(evaluated: Evaluated) -> None:
    engine = evaluated.engine().override_tool_result("Read", "stub")
    stepped: list[StreamItem] = []
    while (item := engine.step()) is not None:
        stepped.append(item)
    assert stepped == engine.items()
    assert engine.step() is None
    first = engine.reset().step()
    assert isinstance(first, SystemInit)
    assert "stub" in [c.result for c in engine.tool_calls()]  # overrides stay across a reset


def test_a_stream_with_a_bad_line_replays_it_as_a_parse_error(tmp_path: Path) -> None:
    lines = (FIXTURES / "hello.ndjson").read_bytes().splitlines(keepends=True)
    stream = tmp_path / "s.ndjson"
    stream.write_bytes(lines[0] + b"[SandboxDebug] noise\n" + b"".join(lines[1:]))
    engine = ReplayEngine.from_stream(stream, stderr="warn", exit_code=3)
    assert [type(i) for i in engine.items()][1] is ParseError
    assert engine.run().summary.parse_errors == 1
    assert (engine.stderr, engine.exit_code) == ("warn", 3)


# ---- views ----------------------------------------------------------------------------------


def test_tool_calls_and_llm_calls_of_a_run_with_a_subagent() -> None:
    engine = ReplayEngine.from_stream(SUBAGENT)
    agent, bash = engine.tool_calls()
    assert (agent.name, agent.parent_tool_use_id) == ("Agent", None)
    assert (bash.name, bash.parent_tool_use_id) == ("Bash", agent.id)
    assert bash.result == "subagent was here"
    assert agent.result is not None
    assert "Created notes.txt with the requested line." in agent.result  # the hand-back
    calls = engine.llm_calls()
    assert [(c.index, c.tools, c.parent_tool_use_id) for c in calls] == [
        (0, ["Agent"], None),
        (1, ["Bash"], agent.id),
        (2, [], None),
    ]
    assert calls[0].model == "claude-opus-5-5"
    assert [b["type"] for b in calls[0].content] == ["text", "tool_use"]
    assert calls[0].usage.input_tokens > 0
    assert engine.tool_sequence() == ["Agent", "Bash"]


# ---- diff -----------------------------------------------------------------------------------


def test_diff_of_two_lanes_names_what_changed(evaluated: Evaluated) -> None:
    baseline, skill = evaluated.engine("agent-baseline"), evaluated.engine()
    diff = baseline.diff(skill)
    assert diff.changed
    assert diff.tool_sequence.old == ["Read", "Edit"]
    assert diff.tool_sequence.new == ["Skill", "Read", "Edit"]
    assert diff.output.changed
    assert diff.tokens.changed
    assert diff.cost.old == pytest.approx(0.03552)
    assert diff.cost.new == pytest.approx(0.0553)
    assert diff.event_count.changed
    lines = diff.summary().splitlines()
    assert lines[0] == "tool_sequence: Read, Edit -> Skill, Read, Edit"
    assert "cost: $0.0355 -> $0.0553" in lines
    assert diff.to_dict()["changed"] is True
    assert diff.to_dict()["tool_sequence"] == {
        "changed": True,
        "old": ["Read", "Edit"],
        "new": ["Skill", "Read", "Edit"],
    }


def test_diff_of_identical_runs_and_of_an_override(evaluated: Evaluated) -> None:
    same = evaluated.engine(trial=0).diff(evaluated.engine(trial=1))
    assert not same.changed
    assert same.summary() == "no difference"
    cut = evaluated.engine().override_llm_response(3, "Short.")
    diff = evaluated.engine().diff(cut)
    assert {name for name, d in diff.fields().items() if d.changed} == {"output"}
    assert diff.summary().startswith("output: 'Recorded the fix")
    assert isinstance(ReplayDiff.model_validate(diff.to_dict()), ReplayDiff)


# ---- scoring --------------------------------------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize("lane", ["agent-baseline", "agent-skill"])
async def test_scoring_a_replay_gives_what_the_eval_gave(evaluated: Evaluated, lane: str) -> None:
    scenario = evaluated.scenario()
    engine = evaluated.engine(lane)
    checks = await engine.score(
        scenario.checks_for(lane),
        fixture=scenario.workspace,
        instruction=scenario.instruction,
        skill="changelog",
    )
    expected = [CheckResult(**c) for c in evaluated.result(lane)["checks"]]
    assert checks == expected


@pytest.mark.anyio
async def test_scoring_sees_the_overrides(evaluated: Evaluated) -> None:
    scenario = evaluated.scenario()
    engine = evaluated.engine().override_llm_response(3, "Recorded the fix.")
    checks = await engine.score(
        scenario.checks_for("agent-skill"), fixture=scenario.workspace, instruction=""
    )
    failed = [c.name for c in checks if not c.passed]
    assert failed == ["final message names the issue"]  # no #142 in the new final text


@pytest.mark.anyio
async def test_scoring_needs_a_run_folder() -> None:
    with pytest.raises(ReplayError, match="scoring needs a run folder"):
        await ReplayEngine.from_stream(SUBAGENT).score([], fixture=None, instruction="")


# ---- API cassettes --------------------------------------------------------------------------


def test_a_recorded_cassette_replays_as_the_run_it_was_recorded_from(
    delegated: RecordedRun,
) -> None:
    live = ReplayEngine.from_run_dir(delegated.run_dir).run().summary
    engine = ReplayEngine.from_cassette(delegated.cassette)
    replayed = engine.run().summary
    assert delegated.record.exit_reason == "success"
    for name in ("tool_sequence", "final_text", "cost_usd", "usage", "models", "num_turns"):
        assert getattr(replayed, name) == getattr(live, name), name
    assert replayed.status == "success"
    assert replayed.cli_version == live.cli_version
    agent, bash = engine.tool_calls()
    assert bash.parent_tool_use_id == agent.id  # the subagent's call, inside the Agent call
    assert bash.result == "hi\n{runner:workspace}"  # the cassette holds no real path
    # The subagent's report is no assistant line (as the CLI prints it): it is the call's result.
    assert agent.result is not None
    assert "Created notes.txt." in agent.result
    assert "Created notes.txt." not in [c.content[0].get("text") for c in engine.llm_calls()]
    # Same text, calls and results, whichever level it was recorded at.
    assert engine.fingerprint() == ReplayEngine.from_run_dir(delegated.run_dir).fingerprint()


def test_a_real_cassette_replays_with_the_figures_of_the_same_cached_run(
    evaluated: Evaluated,
) -> None:
    recorded = REPO / "fixtures" / "cassettes" / "fix-entry" / "agent-skill-0.ndjson"
    cassette = ReplayEngine.load(recorded)
    diff = evaluated.engine().diff(cassette)
    # A stream also holds lines the API never sees (the skill's body the CLI adds as a user
    # line): the count of events may differ, nothing else.
    assert {name for name, d in diff.fields().items() if d.changed} <= {"event_count"}
    assert cassette.run().summary.skills_invoked == ["changelog"]


def test_a_cassette_by_hand_errors_retries_and_what_is_not_a_message(tmp_path: Path) -> None:
    ask = [{"role": "user", "content": "Say hi."}]
    first = message(
        "msg_1", text("Checking."), {**tool("Bash", command="echo hi"), "id": "toolu_a"}
    )
    answer = [
        *ask,
        {"role": "assistant", "content": first["content"]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": "toolu_a", "content": "hi"}],
        },
    ]
    overloaded = CassetteResponse(
        status=529, body={"type": "error", "error": {"type": "overloaded_error", "message": "x"}}
    )
    exchanges = [
        exchange(0, ask, overloaded),
        exchange(1, ask, streamed(first)),
        exchange(2, answer, CassetteResponse(status=200, body={"input_tokens": 3})),
        exchange(3, answer, CassetteResponse(status=200, body=message("msg_2", text("hi!")))),
    ]
    path = write_cassette(
        tmp_path / "c.ndjson", header("s", "agent-skill", cost_usd=0.5), exchanges
    )
    engine = ReplayEngine.from_cassette(path)
    summary = engine.run().summary
    assert summary.api_retries == 1  # the 529, told as the CLI tells a retry
    assert summary.unknown_events == 1  # the 200 that was no message: counted, not dropped
    assert summary.tool_sequence == ["Bash"]
    assert summary.final_text == "hi!"
    assert summary.cost_usd == 0.5  # the header's cost
    assert summary.num_turns == 2  # no count in the header: the main conversation's replies
    assert summary.usage.input_tokens == 200
    assert summary.status == "success"  # the header has no ending: the last reply called no tool
    assert [c.result for c in engine.tool_calls()] == ["hi"]


def test_a_cassette_of_an_api_error_or_a_timeout(tmp_path: Path) -> None:
    ask = [{"role": "user", "content": "Say hi."}]
    bad = CassetteResponse(
        status=400,
        body={"type": "error", "error": {"type": "invalid_request_error", "message": "too long"}},
    )
    broke = write_cassette(
        tmp_path / "a.ndjson", header("s", "l", exit_reason="api_error"), [exchange(0, ask, bad)]
    )
    summary = ReplayEngine.from_cassette(broke).run().summary
    assert (summary.status, summary.api_error_status, summary.api_retries) == ("api_error", 400, 0)
    assert summary.final_text == "API Error: 400 too long"
    stuck = write_cassette(
        tmp_path / "t.ndjson",
        header("s", "l", exit_reason="timeout"),
        [exchange(0, ask, streamed(message("msg_1", tool("Bash", command="sleep 999"))))],
    )
    summary = ReplayEngine.from_cassette(stuck).run().summary
    assert summary.status == "incomplete"  # a timed-out run's stream has no result either
    assert summary.tool_sequence == ["Bash"]
