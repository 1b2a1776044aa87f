"""A suite's results in text for the terminal: each run as it finishes, the eval table, and a
comparison with an earlier result. Every line goes out through ``terminal.visible``: run ids,
errors and check output come from the agent and its workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner._util.figures import (
    money,
    plural,
    secs,
    signed,
    signed_money,
    signed_secs,
    unbilled,
)
from runner._util.terminal import clip, visible, visible_lines

if TYPE_CHECKING:
    from runner._evaluate.results import RunResult, SuiteHeader, SuiteResult
    from runner._results.compare import Comparison


def run_line(r: RunResult) -> str:
    """One finished run, for live progress."""
    return "".join(run_parts(r))


def run_parts(r: RunResult) -> tuple[str, str, str]:
    """One finished run's line in three parts, the status in the middle (to colour it):
    "fix-entry/agent-skill#0 ", "FAIL (2 checks)", " (cached) $0.0553 5 turns 1.1s"."""
    status = "PASS" if r.passed else f"FAIL ({failure_reason(r)})"
    cached = " (cached)" if r.cache_hit else ""
    turns = "- turns" if r.num_turns is None else plural(r.num_turns, "turn")
    rest = f"{cached} {cost_text(r)} {turns} {secs(r.duration_ms)}"
    return visible(f"{r.run_id} "), visible(status), visible(rest)


def cost_text(r: RunResult) -> str:
    """A replayed run cost nothing: show that against what its recording cost."""
    if r.replay == "replayed":
        return f"{money(r.billed_usd)} replayed (recorded {money(r.recorded_cost_usd)})"
    return money(r.cost_usd)


def status_text(r: RunResult) -> str:
    """PASS, or FAIL with why: the eval table's and the dashboard's status."""
    return "PASS" if r.passed else f"FAIL: {failure_reason(r)}"


def failure_reason(r: RunResult) -> str:
    if r.exit_reason != "success":
        return r.exit_reason
    failed = sum(not c.passed for c in r.checks)
    return f"{failed} check{'s' if failed != 1 else ''}"


def _badge(r: RunResult, skill_lanes: set[str]) -> str:
    if r.lane not in skill_lanes:
        return "-"
    if r.skills_invoked:
        return f"✓ {', '.join(r.skills_invoked)}"
    if r.skill_errors:
        return f"✗ failed: {', '.join(r.skill_errors)}"
    return "✗ not invoked"


def render_eval(result: SuiteResult, *, skill_lanes: set[str]) -> str:
    """The summary table: one row per run, failed checks under their run, then totals."""
    header = ("scenario", "lane", "trial", "status", "cost", "turns", "time", "skill")
    rows = [
        tuple(
            visible(cell)  # before the widths: an escape spelled out is wider
            for cell in (
                r.scenario,
                r.lane,
                str(r.trial),
                status_text(r) + (" (cached)" if r.cache_hit else ""),
                cost_text(r),
                "-" if r.num_turns is None else str(r.num_turns),
                secs(r.duration_ms),
                _badge(r, skill_lanes),
            )
        )
        for r in result.runs
    ]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: tuple[str, ...]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    lines = [line(header)]
    for r, row in zip(result.runs, rows, strict=True):
        lines.append(line(row))
        if r.error and not r.passed:
            # A replay's divergence comes with its diff, one line per changed line: keep them.
            first, *more = r.error.splitlines() or [""]
            lines.append(f"    ! {clip(first, 160)}")
            lines += [f"      {clip(line, 160)}" for line in more]
        lines += [f"    ✗ {c.name}: {c.detail}" for c in r.checks if not c.passed]
    t = result.header.totals
    unknown = f", {t.unknown_cost} unknown" if t.unknown_cost else ""
    cost = unbilled(f"{money(t.cost_usd)}{unknown}", scripted=result.header.mode == "scripted")
    troubled = f" ({t.cache_problems} with a cache problem)" if t.cache_problems else ""
    lines.append(
        f"{plural(t.runs, 'run')}: {t.passed} passed, {t.failed} failed · {t.cache_hits} from cache"
        f"{troubled} · cost {cost} · agent time "
        f"{secs(t.duration_ms)}"
    )
    if t.replayed:
        lines.append(
            f"replay: {plural(t.replayed, 'run')} replayed for {money(0.0)}; recording them cost "
            f"{money(t.recorded_cost_usd)} · billed in all {money(t.billed_usd)}"
        )
    return visible_lines(lines)


def render_comparison(c: Comparison, *, before_name: str, after_name: str) -> str:
    def side(h: SuiteHeader) -> str:
        return f"{h.branch}@{h.sha[:7]}, {h.started_at}"

    lines = [
        f"before  {before_name}  ({side(c.before)})",
        f"after   {after_name}  ({side(c.after)})",
        "",
        *(f"  {line}" for line in c.commentary),
        "",
    ]
    ids = [visible(r.run_id) for r in c.runs]
    width = max([len("run"), *map(len, ids)])
    lines.append(f"{'run':<{width}}  {'status':<9}  {'cost':>9}  {'turns':>5}  {'duration':>8}")
    for run_id, r in zip(ids, c.runs, strict=True):
        lines.append(
            f"{run_id:<{width}}  {r.status:<9}  {signed_money(r.cost_usd.delta):>9}  "
            f"{signed(r.num_turns.delta):>5}  {signed_secs(r.duration_ms.delta):>8}"
        )
    return visible_lines(lines)
