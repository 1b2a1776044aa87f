"""What an eval produced, as it is printed (``eval --json``) and stored (``.runner/runs/``).

A stored file is one ``SuiteResult``. Its ``header`` comes before ``runs`` on disk, so the
history can be listed by reading each file's first few hundred bytes (``store.read_header``).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from runner._transcript.tokens import Usage
from runner._util.defaults import COST_MARGIN, MARGIN

RESULTS_SCHEMA = 1


class CheckResult(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # e.g. "file_matches greeting.txt ~ /!$/"
    passed: bool
    detail: str  # one line saying why


class RunResult(BaseModel):
    """One scenario x lane x trial: how it ended, its checks, what it cost."""

    model_config = ConfigDict(frozen=True)

    scenario: str
    lane: str
    trial: int
    passed: bool  # exit_reason is success and every check that applies passed
    exit_reason: str
    cache_hit: bool
    cache_key: str
    live: bool  # False: a scripted model or a replay answered it, nothing billed
    model: str | None = None
    cost_usd: float | None  # what the run's tokens cost, as the CLI priced them
    billed_usd: float | None = None  # what reached a bill: 0 for scripted and replayed runs
    replay: Literal["recorded", "replayed"] | None = None  # --record / --replay
    cassette: str | None = None  # the API cassette it was recorded to or replayed from
    recorded_cost_usd: float | None = None  # replayed: what the run cost when recorded
    num_turns: int | None
    duration_ms: int | None
    usage: Usage = Field(default_factory=Usage)
    # Empty defaults, not default_factory=list: pydantic copies them per instance all the same,
    # and asking list for its signature (does it take the data?) compiles tokenize's regular
    # expressions, 10 ms of every start.
    tool_sequence: list[str] = []
    skills_invoked: list[str] = []  # Skill calls that succeeded
    skill_errors: list[str] = []  # Skill calls that came back an error
    checks: list[CheckResult] = []
    error: str | None = None  # the run's own error line (spawn failure, API error text)
    run_dir: str | None = None  # the cached run's folder: stream.ndjson, files/, record.json
    cache_problem: str | None = None  # a damaged entry run again, or a run the cache could not keep

    @property
    def run_id(self) -> str:
        return f"{self.scenario}/{self.lane}#{self.trial}"


class LaneTotals(BaseModel):
    model_config = ConfigDict(frozen=True)

    runs: int = 0
    passed: int = 0


class Totals(BaseModel):
    model_config = ConfigDict(frozen=True)

    runs: int = 0
    passed: int = 0
    failed: int = 0
    cache_hits: int = 0
    cost_usd: float = 0.0  # runs with an unknown cost count as 0 here; see unknown_cost
    unknown_cost: int = 0
    billed_usd: float = 0.0
    replayed: int = 0
    recorded_cost_usd: float = 0.0  # what the replayed runs cost when they were recorded
    duration_ms: int = 0  # summed over runs (agent time, not wall time)
    cache_problems: int = 0  # runs with a cache_problem
    # Per lane, so a listing of stored results reads only their headers; None in files
    # written before runner kept it (and in a partial file's header line).
    by_lane: dict[str, LaneTotals] | None = None

    @classmethod
    def of(cls, runs: list[RunResult]) -> Totals:
        return functools.reduce(Totals.plus, runs, cls())

    def plus(self, r: RunResult) -> Totals:
        """These totals and one more run: an eval keeps its totals so, run by run."""
        by_lane = dict(self.by_lane or {})
        lane = by_lane.get(r.lane, LaneTotals())
        by_lane[r.lane] = LaneTotals(runs=lane.runs + 1, passed=lane.passed + r.passed)
        return Totals(
            runs=self.runs + 1,
            passed=self.passed + r.passed,
            failed=self.failed + (not r.passed),
            cache_hits=self.cache_hits + r.cache_hit,
            cost_usd=self.cost_usd + (r.cost_usd or 0.0),
            unknown_cost=self.unknown_cost + (r.cost_usd is None),
            billed_usd=self.billed_usd + (r.billed_usd or 0.0),
            replayed=self.replayed + (r.replay == "replayed"),
            recorded_cost_usd=self.recorded_cost_usd + (r.recorded_cost_usd or 0.0),
            duration_ms=self.duration_ms + (r.duration_ms or 0),
            cache_problems=self.cache_problems + (r.cache_problem is not None),
            by_lane=by_lane,
        )


class Look(BaseModel):
    """One look of a sequential A/B (``ab --until-decided``)."""

    model_config = ConfigDict(frozen=True)

    trials: int
    alpha: float  # this look's share of the 5%
    verdicts: list[str]  # one per lane after the first


class Sequential(BaseModel):
    model_config = ConfigDict(frozen=True)

    round_trials: int
    max_trials: int
    looks: list[Look]
    stopped: str  # why it stopped, in a line
    runs: int  # runs the study used
    max_runs: int  # runs the full design would have used


class VerdictSettings(BaseModel):
    """How the A/B verdicts were asked for, so a report of the stored result gives the same
    verdicts ``ab`` printed: the margins, and the level the last look tested at."""

    model_config = ConfigDict(frozen=True)

    margin: float = MARGIN  # pass rate, as a fraction: 0.10 is 10 points
    cost_margin: float = COST_MARGIN  # cost per run, relative
    alpha: float = 0.05
    sequential: Sequential | None = None


class SuiteHeader(BaseModel):
    """Where and when an eval ran; enough to pick a baseline without reading its runs."""

    model_config = ConfigDict(frozen=True)

    runner_version: str
    branch: str
    sha: str
    started_at: str  # UTC, ISO 8601
    finished_at: str | None = None
    partial: bool  # an eval still going, or one that never finished: never a baseline
    suite: str  # the suite folder, as given
    lanes: list[str]
    scenarios: list[str]
    trials: int
    aa: str | None = None  # ab --aa LANE: that lane ran again as trials .. 2 * trials - 1
    mode: Literal["live", "scripted"]  # where runs that reach a model go
    cassettes: str | None = None  # --record / --replay DIR
    replay_mode: Literal["none", "new", "all"] | None = None
    planned: int  # runs the eval set out to do
    verdicts: VerdictSettings = Field(default_factory=VerdictSettings)
    totals: Totals = Field(default_factory=Totals)


class SuiteResult(BaseModel):
    schema_version: Literal[1] = 1  # RESULTS_SCHEMA
    header: SuiteHeader
    runs: list[RunResult]

    def lanes_run(self) -> list[str]:
        """The lanes that ran, in the order the eval asked for them (any others after)."""
        return in_lane_order(self.header.lanes, (r.lane for r in self.runs))


def in_lane_order(asked: list[str], lanes: Iterable[str]) -> list[str]:
    """``lanes`` once each, in the order ``asked`` (an eval's lanes) has them, any others after."""
    ran = dict.fromkeys(lanes)
    return [lane for lane in asked if lane in ran] + [lane for lane in ran if lane not in asked]
