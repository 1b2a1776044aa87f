"""The dashboard's data and page: timelines from real captured transcripts, the agent-log
fallback, and a page that is self-contained and safe with hostile transcript text."""

from __future__ import annotations

import json
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from runner._agent.engine import RunRecord
from runner._evaluate.results import SuiteResult, VerdictSettings
from runner._report.page import build_report
from runner._report.page import json_element as element_html
from runner._report.timeline import (
    CLIP_CHARS,
    Clip,
    NoticeItem,
    ResultItem,
    TaskItem,
    TextItem,
    ThinkingItem,
    Timeline,
    ToolCallItem,
    ToolResultItem,
    load_timeline,
)
from runner._report.views import StoredResult, lane_label, page_data
from runner._results.ab import analyze
from runner._results.compare import compare
from tests.replay_support import Evaluated
from tests.report_support import (
    fixture_run,
    flipped,
    json_element,
    made_run,
    run_folder,
    suite_of,
    verdict_result,
)

ATTACK = "</script><script>alert(1)</script><!--"


def line(event: dict[str, Any]) -> bytes:
    return json.dumps(event).encode() + b"\n"


def assistant(*content: dict[str, Any], parent: str | None = None) -> bytes:
    message = {"id": "msg_1", "model": "claude-sonnet-4-5", "content": list(content)}
    return line({"type": "assistant", "message": message, "parent_tool_use_id": parent})


def tool_result(call_id: str, text: str, *, is_error: bool = False) -> bytes:
    block = {"type": "tool_result", "tool_use_id": call_id, "content": text, "is_error": is_error}
    return line({"type": "user", "message": {"content": [block]}, "parent_tool_use_id": None})


def calls(items: list[Any]) -> list[ToolCallItem]:
    return [i for i in items if isinstance(i, ToolCallItem)]


def stream_timeline(tmp_path: Path, name: str) -> Timeline:
    timeline = load_timeline(run_folder(tmp_path, name))
    assert timeline.source == "stream"
    return timeline


@pytest.fixture(scope="module")
def evaluated_result(evaluated: Evaluated) -> SuiteResult:
    return SuiteResult.model_validate(evaluated.report)


# ---- timelines from captured transcripts -----------------------------------------------------


def test_a_subagents_events_sit_inside_the_agent_call(tmp_path: Path) -> None:
    items = stream_timeline(tmp_path, "subagent").items
    (agent,) = calls(items)
    assert agent.name == "Agent"
    assert agent.hint == "Create notes file"
    (bash,) = calls(agent.children)
    assert bash.name == "Bash"
    assert bash.result is not None
    assert bash.result.text.text == "subagent was here"
    # The task's lifecycle too, also the "updated" event that names only the task id.
    phases = [i.phase for i in agent.children if isinstance(i, TaskItem)]
    assert phases == ["started", "progress", "updated", "notification"]
    assert agent.result is not None
    assert "Subagent hand-back" in agent.result.text.text
    assert isinstance(items[0], TextItem)
    assert isinstance(items[-1], ResultItem)
    assert not any(isinstance(i, TaskItem) for i in items)  # none left at the top


def test_tool_calls_are_paired_with_their_results(tmp_path: Path) -> None:
    items = stream_timeline(tmp_path, "tools").items
    assert [c.name for c in calls(items)] == ["Write", "Bash", "Read", "Edit"]
    by_name = {c.name: c for c in calls(items)}
    assert by_name["Bash"].result is not None
    assert by_name["Bash"].result.text.text == "hello"
    assert by_name["Bash"].hint == "Run the script"
    read_input = by_name["Read"].input
    assert read_input is not None  # a Read stays JSON; an Edit or Write has its own view
    assert json.loads(read_input.text) == {"file_path": "hello.py"}
    assert all(c.result is not None and not c.result.is_error for c in calls(items))
    assert not any(isinstance(i, ToolResultItem) for i in items)  # every result found its call
    assert isinstance(items[0], ThinkingItem)
    final = items[-1]
    assert isinstance(final, ResultItem)
    assert (final.status, final.num_turns) == ("success", 5)


def test_a_skill_call_shows_the_skill(tmp_path: Path) -> None:
    skill = calls(stream_timeline(tmp_path, "skill").items)[0]
    assert (skill.name, skill.hint) == ("Skill", "greeter")
    assert skill.result is not None
    assert skill.result.text.text == "Launching skill: greeter"


def test_long_inputs_and_results_are_clipped_with_the_count_cut(tmp_path: Path) -> None:
    write = calls(stream_timeline(tmp_path, "big_write").items)[0]
    with (run_folder(tmp_path, "big_write") / "stream.ndjson").open() as f:
        given = next(
            b["input"]
            for ev in map(json.loads, f)
            if ev["type"] == "assistant"
            for b in ev["message"]["content"]
            if b["type"] == "tool_use"
        )
    content = given["content"]
    assert len(content) > 1_000_000  # the whole file is in the Write's input
    # A Write is shown as the file it wrote, clipped as any long text.
    assert write.path == given["file_path"]
    assert write.input is None
    assert write.written == Clip(text=content[:CLIP_CHARS], cut=len(content) - CLIP_CHARS)
    long = "y" * (CLIP_CHARS + 123)
    stream = assistant({"type": "tool_use", "id": "t1", "name": "Read", "input": {}})
    folder = run_folder(tmp_path, "long_result", stream + tool_result("t1", long))
    read = calls(load_timeline(folder).items)[0]
    assert read.result is not None
    assert read.result.text == Clip(text="y" * CLIP_CHARS, cut=123)


def test_clip_keeps_the_head_or_the_tail() -> None:
    assert Clip.of("abcdef", 4) == Clip(text="abcd", cut=2)
    assert Clip.tail("abcdef", 4) == Clip(text="cdef", cut=2, kept="tail")
    assert Clip.of("abc", 4) == Clip(text="abc")


def test_unknown_content_becomes_notices_where_it_happened(tmp_path: Path) -> None:
    stream = b"".join(
        [
            assistant({"type": "tool_use", "id": "t1", "name": "Agent", "input": {}}),
            assistant({"type": "mystery_block", "data": 1}, parent="t1"),
            line({"type": "brand_new_event", "x": 1}),
            b"this is not json\n",
            tool_result("t9", "a result for a call never made"),
            tool_result("t1", "done"),
        ]
    )
    items = load_timeline(run_folder(tmp_path, "odd", stream)).items
    agent = calls(items)[0]
    inner = agent.children[0]
    assert isinstance(inner, NoticeItem)
    assert "mystery_block" in inner.what
    notices = [i for i in items if isinstance(i, NoticeItem)]
    assert [n.line for n in notices] == [None, 4]
    assert "brand_new_event" in notices[0].what
    orphan = next(i for i in items if isinstance(i, ToolResultItem))
    assert orphan.tool_use_id == "t9"
    assert orphan.output.text.text == "a result for a call never made"


# ---- without a transcript: the agent log, or why not -----------------------------------------


def record_with_log(evaluated: Evaluated, tmp_path: Path, log: str) -> Path:
    """A copy of a real run folder, its stream gone and its record's agent log set to ``log``."""
    folder = tmp_path / "run"
    shutil.copytree(evaluated.run_dir(), folder)
    (folder / "stream.ndjson").unlink()
    record = RunRecord.model_validate_json((folder / "record.json").read_bytes())
    diagnostics = record.diagnostics.model_copy(update={"agent_log": log})
    updated = record.model_copy(update={"diagnostics": diagnostics})
    (folder / "record.json").write_text(updated.model_dump_json())
    return folder


def test_no_stream_falls_back_to_the_agent_log(evaluated: Evaluated, tmp_path: Path) -> None:
    folder = record_with_log(evaluated, tmp_path, "Error: could not reach the API\n")
    timeline = load_timeline(folder)
    assert timeline.source == "agent_log"
    assert timeline.agent_log == Clip(text="Error: could not reach the API\n")
    assert timeline.items == []


def test_an_empty_stream_falls_back_and_a_long_log_keeps_its_end(
    evaluated: Evaluated, tmp_path: Path
) -> None:
    log = "start\n" + "x" * (2 * CLIP_CHARS) + "\nthe last line"
    folder = record_with_log(evaluated, tmp_path, log)
    (folder / "stream.ndjson").write_bytes(b"")
    timeline = load_timeline(folder)
    assert timeline.source == "agent_log"
    assert timeline.agent_log is not None
    assert timeline.agent_log.text.endswith("the last line")
    assert timeline.agent_log.kept == "tail"
    assert timeline.agent_log.cut == len(log) - CLIP_CHARS


def test_without_stream_or_log_the_timeline_says_why(tmp_path: Path) -> None:
    assert load_timeline(None).note == "no run folder was recorded for this run"
    gone = load_timeline(tmp_path / "pruned")
    assert gone.source == "none"
    assert gone.note is not None
    assert "is gone" in gone.note
    (tmp_path / "empty").mkdir()
    empty = load_timeline(tmp_path / "empty")
    assert empty.source == "none"
    assert empty.note is not None
    assert "no stream.ndjson, and no record.json" in empty.note


# ---- the page --------------------------------------------------------------------------------


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))


def tags(page: str) -> list[tuple[str, dict[str, str | None]]]:
    parser = Tags()
    parser.feed(page)
    return parser.tags


def test_the_page_is_self_contained(evaluated_result: SuiteResult) -> None:
    page = build_report([StoredResult("result.json", evaluated_result)])
    found = tags(page)
    assert "link" not in {tag for tag, _ in found}
    for tag, attrs in found:
        for name in ("src", "href", "srcset", "action"):
            assert attrs.get(name) is None, f"<{tag} {name}=...>"
    scripts = [attrs for tag, attrs in found if tag == "script"]
    assert sum(a.get("type") is None for a in scripts) == 1  # the one inline script
    assert all(a.get("type") in (None, "application/json") for a in scripts)
    style = page[page.index("<style>") : page.index("</style>")]
    assert not re.search(r"url\(|@import|https?:", style)
    policy = next(a for t, a in found if t == "meta" and a.get("http-equiv"))["content"]
    assert policy is not None
    assert policy.startswith("default-src 'none'")


def test_a_hostile_transcript_stays_inside_its_element(tmp_path: Path) -> None:
    stream = b"".join(
        [
            assistant({"type": "text", "text": ATTACK}),
            assistant({"type": "tool_use", "id": "t1", "name": "Bash", "input": {"c": ATTACK}}),
            tool_result("t1", ATTACK, is_error=True),
        ]
    )
    run = fixture_run(tmp_path, "hello").model_copy(
        update={"run_dir": str(run_folder(tmp_path, "hostile", stream)), "error": ATTACK}
    )
    page = build_report([StoredResult(ATTACK, suite_of([run]))])
    assert "<script>alert" not in page
    assert "<!--" not in page
    # data, the code, one run, its result's extras (no pair: one run)
    assert sum(tag == "script" for tag, _ in tags(page)) == 4
    detail = json_element(page, "run-0-0")
    text, call = detail["timeline"]["items"]
    assert text["text"]["text"] == ATTACK
    assert json.loads(call["input"]["text"]) == {"c": ATTACK}
    assert call["result"] == {"text": {"text": ATTACK, "cut": 0, "kept": "head"}, "is_error": True}
    assert detail["error"]["text"] == ATTACK
    assert json_element(page, "report-data")["results"][0]["name"] == ATTACK
    assert "<title>runner report: &lt;/script&gt;" in page


def test_json_elements_escape_every_angle_bracket() -> None:
    html = element_html("x", Clip(text="a<b</script>"))
    assert html == (
        '<script type="application/json" id="x">'
        '{"text":"a\\u003cb\\u003c/script>","cut":0,"kept":"head"}</script>\n'
    )


def test_the_page_holds_every_runs_transcript(evaluated_result: SuiteResult) -> None:
    page = build_report([StoredResult("result.json", evaluated_result)])
    rows = json_element(page, "report-data")["results"][0]["rows"]
    assert len(rows) == len(evaluated_result.runs) == 4
    for row, run in zip(rows, evaluated_result.runs, strict=True):
        detail = json_element(page, row["detail"])
        assert detail["run_id"] == run.run_id
        assert detail["timeline"]["source"] == "stream"
        names = [i["name"] for i in detail["timeline"]["items"] if i["kind"] == "tool_call"]
        assert names == run.tool_sequence
        failed = [c["name"] for c in detail["checks"] if not c["passed"]]
        assert failed == [c.name for c in run.checks if not c.passed]


@pytest.mark.parametrize(
    ("lane", "label"),
    [
        ("agent-baseline", "agent-baseline"),
        ("agent-skill", "agent-skill"),
        ("baseline", "baseline"),
        ("agent-skill-nonudge", "agent-skill-nonudge"),
    ],
)
def test_lane_labels(lane: str, label: str) -> None:
    assert lane_label(lane) == label


def test_filters_come_from_the_lanes_that_ran(evaluated_result: SuiteResult) -> None:
    view = page_data([StoredResult("r", evaluated_result)], []).results[0]
    assert [(v.lane, v.label) for v in view.lanes] == [
        ("agent-baseline", "agent-baseline"),
        ("agent-skill", "agent-skill"),
    ]
    only_skill = evaluated_result.model_copy(
        update={"runs": [r for r in evaluated_result.runs if r.lane == "agent-skill"]}
    )
    view = page_data([StoredResult("r", only_skill)], []).results[0]
    assert [v.lane for v in view.lanes] == ["agent-skill"]


def test_the_skill_badge_is_only_on_skill_lanes(tmp_path: Path) -> None:
    runs = [
        fixture_run(tmp_path, "skill", lane="agent-skill"),
        fixture_run(tmp_path, "tools", lane="agent-skill-nonudge"),
        fixture_run(tmp_path, "skill", lane="agent-baseline", trial=1),
        fixture_run(tmp_path, "tools", lane="baseline"),
        fixture_run(tmp_path, "hello", lane="skill"),
    ]
    rows = page_data([StoredResult("r", suite_of(runs))], []).results[0].rows
    assert [(r.lane, r.skills) for r in rows] == [
        ("agent-skill", ["greeter"]),  # invoked
        ("agent-skill-nonudge", []),  # not invoked
        ("agent-baseline", None),  # no badge, though it called the skill
        ("baseline", None),
        ("skill", []),
    ]


def test_rows_carry_failed_skill_calls(tmp_path: Path) -> None:
    skill = fixture_run(tmp_path, "skill", lane="agent-skill")
    runs = [
        skill,
        skill.model_copy(update={"trial": 1, "skills_invoked": [], "skill_errors": ["greter"]}),
        made_run("hello", "agent-baseline", 0, True, skill_errors=("greter",)),
    ]
    rows = page_data([StoredResult("r", suite_of(runs))], []).results[0].rows
    assert [(r.skills, r.skill_errors) for r in rows] == [
        (["greeter"], []),
        ([], ["greter"]),  # the badge says the call failed, not that none was made
        (None, ["greter"]),  # no badge on a lane without a skill
    ]


def test_rows_say_why_a_run_failed(evaluated_result: SuiteResult) -> None:
    rows = page_data([StoredResult("r", evaluated_result)], []).results[0].rows
    failed = [sum(not c.passed for c in r.checks) for r in evaluated_result.runs]
    assert failed == [3, 3, 0, 0]  # the baseline misses what the skill teaches
    assert [r.status for r in rows] == ["FAIL: 3 checks", "FAIL: 3 checks", "PASS", "PASS"]
    timed_out = evaluated_result.runs[2].model_copy(
        update={"passed": False, "exit_reason": "timeout", "cost_usd": 0.05, "duration_ms": 1234}
    )
    row = page_data([StoredResult("r", suite_of([timed_out]))], []).results[0].rows[0]
    assert (row.status, row.cost, row.duration) == ("FAIL: timeout", "$0.0500", "1.2s")


def one_lane(result: SuiteResult, lane: str) -> SuiteResult:
    runs = [r for r in result.runs if r.lane == lane]
    return result.model_copy(
        update={"runs": runs, "header": result.header.model_copy(update={"lanes": [lane]})}
    )


def test_the_ab_report_comes_with_two_lanes_or_an_aa_copy(
    evaluated_result: SuiteResult,
) -> None:
    two = page_data([StoredResult("r", evaluated_result)], []).results[0].ab
    assert two is not None
    assert [e.verdict for e in two.effects] == ["inconclusive"]  # one scenario: no verdict
    single = one_lane(evaluated_result, "agent-skill")
    assert page_data([StoredResult("r", single)], []).results[0].ab is None
    # The same lane's trials 0-1 against 2-3: an A/A copy gives the noise floor.
    again = [r.model_copy(update={"trial": r.trial + 2}) for r in single.runs]
    aa = single.model_copy(
        update={
            "runs": single.runs + again,
            "header": single.header.model_copy(update={"aa": "agent-skill"}),
        }
    )
    report = page_data([StoredResult("r", aa)], []).results[0].ab
    assert report is not None
    assert report.noise is not None
    assert (report.noise.pairs, report.noise.flips) == (2, 0)


def test_the_ab_view_follows_the_verdict_settings_the_result_was_run_with() -> None:
    result = verdict_result("inconclusive")
    analyzed = page_data([StoredResult("r", result)], []).results[0].ab
    assert analyzed is not None
    assert (analyzed.effects[0].margin, analyzed.effects[0].verdict) == (0.1, "inconclusive")
    # `ab --margin 70`: the header keeps the margin, so the page gives ab's verdict.
    header = result.header.model_copy(update={"verdicts": VerdictSettings(margin=0.7)})
    wide = result.model_copy(update={"header": header})
    view = page_data([StoredResult("r", wide)], []).results[0].ab
    assert view == analyze(result, VerdictSettings(margin=0.7))
    assert view is not None
    assert view.effects[0].verdict == "equivalent"


def test_comparisons_carry_what_compare_says(evaluated_result: SuiteResult) -> None:
    before = StoredResult("before.json", evaluated_result)
    after = StoredResult("after.json", flipped(evaluated_result))
    page = build_report([before, after], [(before, after)])
    (view,) = json_element(page, "report-data")["comparisons"]
    expected = compare(before.result, after.result)
    assert (view["before"], view["after"]) == ("before.json", "after.json")
    assert view["comparison"]["commentary"] == expected.commentary
    assert view["comparison"]["counts"]["regressed"] == 1
    statuses = [r["status"] for r in view["comparison"]["runs"]]
    assert statuses == [r.status for r in expected.runs]
    # Both results' transcripts are in the page, each under its own name.
    assert json_element(page, "run-1-2")["run_id"] == evaluated_result.runs[2].run_id


def test_an_empty_report_still_builds() -> None:
    page = build_report([])
    assert json_element(page, "report-data") == {"results": [], "comparisons": []}
    assert "<title>runner report</title>" in page
