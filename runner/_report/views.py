"""What the page's JSON holds: the results table's rows, each run's detail, the A/B report and
the comparisons, as pydantic models. Figures are formatted here, by runner's own formatters,
so the page shows what the terminal shows."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from pydantic import BaseModel

from runner._agent.lanes import LANES
from runner._evaluate.results import CheckResult, RunResult, SuiteHeader, SuiteResult
from runner._report.charts import Charts, charts
from runner._report.pairs import (
    PairView,
    RunFiles,
    RunSide,
    default_pair,
    pair_indices,
    pair_view,
)
from runner._report.received import KeyInputs, Received, SkillView, Suite, read_key
from runner._report.timeline import Clip
from runner._report.timeline_file import run_timeline
from runner._results.ab import analyze
from runner._results.ab_report import AbReport
from runner._results.compare import Comparison, compare
from runner._results.render_ab import headline
from runner._results.render_suite import cost_text, status_text
from runner._util.figures import secs


@dataclass(frozen=True)
class StoredResult:
    name: str  # shown in the page, e.g. the stored file's name
    result: SuiteResult


class LaneView(BaseModel):
    lane: str
    label: str  # the filter button's text


class Row(BaseModel):
    """One run in the results table; its transcript sits in the element named ``detail``."""

    detail: str
    scenario: str
    lane: str
    trial: int
    passed: bool
    status: str  # PASS, or FAIL: the exit reason or the failed checks' count
    cached: bool
    cost: str
    tokens_in: int
    tokens_out: int
    turns: int | None
    duration: str
    skills: list[str] | None  # None: a lane without a skill, so no badge
    skill_errors: list[str]  # Skill calls that came back an error ("Unknown skill")


class RunInfo(BaseModel):
    """What an expanded row shows, but the timeline."""

    run_id: str
    exit_reason: str
    error: Clip | None
    checks: list[CheckResult]
    run_dir: str | None
    received: Received  # the instruction, nudge and skill the run was given


@dataclass(frozen=True)
class RunDetail:
    """What an expanded row shows, parsed only when it is expanded: the ``info`` and, last,
    the ``timeline`` (runner._report.timeline's ``Timeline``) as JSON, embedded as it was
    kept, not parsed again."""

    info: RunInfo
    timeline: str

    def json(self) -> str:
        info = self.info.model_dump_json(exclude_none=True)
        return f'{info[:-1]},"timeline":{self.timeline}}}'


# What a page element holds: a model, or a run's detail with its timeline's JSON.
Element = BaseModel | RunDetail


def element_json(element: Element) -> str:
    if isinstance(element, RunDetail):
        return element.json()
    return element.model_dump_json(exclude_none=True)


class ResultExtras(BaseModel):
    """A result's side-by-side index and the SKILL.md texts its runs name (once each)."""

    skills: dict[str, SkillView]
    pairs: list[tuple[int, int]]  # the pairs of runs with a side-by-side element
    default: tuple[int, int] | None  # the A/B effect's first pair


class ResultView(BaseModel):
    name: str
    header: SuiteHeader
    lanes: list[LaneView]
    rows: list[Row]
    ab: AbReport | None  # with two or more lanes, or an A/A copy
    headline: list[str]  # the answer, one line per effect, as the terminal prints it first
    charts: Charts  # the overview's, drawn under the headline


class CompareView(BaseModel):
    before: str
    after: str
    comparison: Comparison


class PageData(BaseModel):
    results: list[ResultView]
    comparisons: list[CompareView]


def lane_label(lane: str) -> str:
    """The lane's name as written: the name `--lanes` takes and the terminal prints."""
    return lane


def uses_skill(lane: str) -> bool:
    known = LANES.get(lane)
    return known is not None and known.uses_skill


def detail_id(result: int, run: int) -> str:
    return f"run-{result}-{run}"


def row(r: RunResult, detail: str) -> Row:
    return Row(
        detail=detail,
        scenario=r.scenario,
        lane=r.lane,
        trial=r.trial,
        passed=r.passed,
        status=status_text(r),
        cached=r.cache_hit,
        cost=cost_text(r),
        tokens_in=r.usage.input_tokens,
        tokens_out=r.usage.output_tokens,
        turns=r.num_turns,
        duration=secs(r.duration_ms),
        skills=list(r.skills_invoked) if uses_skill(r.lane) else None,
        skill_errors=list(r.skill_errors),
    )


def extras_id(result: int) -> str:
    return f"extras-{result}"


def pair_id(result: int, a: int, b: int) -> str:
    return f"pair-{result}-{a}-{b}"


def run_info(r: RunResult, suite: Suite, key: KeyInputs | None) -> RunInfo:
    return RunInfo(
        run_id=r.run_id,
        exit_reason=r.exit_reason,
        error=None if r.error is None else Clip.of(r.error),
        checks=r.checks,
        run_dir=r.run_dir,
        received=suite.received(r.scenario, r.lane, key),
    )


class ResultDetails:
    """One result's runs' details, then its extras and its pairs. Each detail is made when it
    is asked for and not kept (a thousand timelines need not sit in memory at once): only
    what the pairs need stays, each run's tool names and the files it changed. A timeline is
    made of the run's stream once and kept beside its cache entry (``timeline_file``)."""

    def __init__(self, stored: StoredResult) -> None:
        self.stored = stored
        self.runs = stored.result.runs
        self.lanes = stored.result.lanes_run()
        self.suite = Suite(stored.result.header.suite)
        self.sides: dict[int, RunSide] = {}

    def detail(self, i: int) -> RunDetail:
        """Run ``i``'s detail; what a pair needs of it is kept."""
        r = self.runs[i]
        key = read_key(r.run_dir)
        info = run_info(r, self.suite, key)
        timeline = run_timeline(r.run_dir)
        self.sides[i] = RunSide(r, timeline.tools, self._files(r, key))
        return RunDetail(info, timeline.json)

    def files(self, i: int) -> RunFiles | None:
        """The files run ``i`` changed, without reading its transcript if it is not read yet."""
        if i in self.sides:
            return self.sides[i].files
        r = self.runs[i]
        return self._files(r, read_key(r.run_dir))

    def _files(self, r: RunResult, key: KeyInputs | None) -> RunFiles | None:
        fixture = self.suite.fixture(r.scenario, key)
        known = fixture is not None or (key is not None and key.fixture is None)
        return RunFiles.of(r, fixture, known)

    def details(self) -> Iterator[RunDetail]:
        return (self.detail(i) for i in range(len(self.runs)))

    def extras(self) -> ResultExtras:
        """After ``details``: the SKILL.md texts they named, and the pairs."""
        return ResultExtras(
            skills=self.suite.skills,
            pairs=pair_indices(self.runs),
            default=default_pair(self.runs, self.lanes),
        )

    def pairs(self) -> Iterator[PairView]:
        """After ``details``: each pair compared."""
        for a, b in pair_indices(self.runs):
            yield pair_view(self.sides[a], self.sides[b], a, b)


def result_view(stored: StoredResult, index: int) -> ResultView:
    result = stored.result
    lanes = result.lanes_run()
    wants_ab = len(lanes) >= 2 or result.header.aa is not None
    ab = analyze(result) if wants_ab else None
    return ResultView(
        name=stored.name,
        header=result.header,
        lanes=[LaneView(lane=lane, label=lane_label(lane)) for lane in lanes],
        rows=[row(r, detail_id(index, i)) for i, r in enumerate(result.runs)],
        ab=ab,
        headline=[] if ab is None else headline(ab, mode=result.header.mode),
        # One lane has no A/B view, but its lane charts still come from the same analysis.
        charts=charts(result, ab if ab is not None else analyze(result)),
    )


def compare_view(before: StoredResult, after: StoredResult) -> CompareView:
    return CompareView(
        before=before.name, after=after.name, comparison=compare(before.result, after.result)
    )


def page_data(
    results: Sequence[StoredResult], comparisons: Sequence[tuple[StoredResult, StoredResult]]
) -> PageData:
    return PageData(
        results=[result_view(s, i) for i, s in enumerate(results)],
        comparisons=[compare_view(b, a) for b, a in comparisons],
    )
