"""Human-readable text for the terminal. Every line goes out through ``terminal.visible``:
much of it (model text, tool calls, file names, check output) comes from the agent."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from runner._util.figures import (
    NOT_BILLED,
    change,
    money,
    plural,
    points,
    secs,
    signed,
    signed_money,
    signed_secs,
    unbilled,
)
from runner._util.terminal import visible

# Types only: `transcript` renders without loading the suite's modules (start-up, issue 17).
if TYPE_CHECKING:
    from runner._agent.engine import RunRecord
    from runner._evaluate.results import RunResult, SuiteHeader, SuiteResult
    from runner._results.ab import AbReport, Effect, Rate
    from runner._results.compare import Comparison
    from runner._transcript.summary import SessionSummary, TranscriptSummary


def _text(lines: list[str]) -> str:
    """The lines, joined, with what they hold from outside runner made visible."""
    return "\n".join(visible(line) for line in lines)


def _clip(text: str, width: int = 300) -> str:
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def render_summary(s: TranscriptSummary, *, source: str, scripted: bool = False) -> str:
    """A transcript's summary; ``scripted``: a scripted model answered it, nothing billed."""
    u = s.usage
    cost = _cost(s.cost_usd, s.estimated_cost_usd, " (estimated: no result event)")
    cost = unbilled(cost, scripted=scripted)
    lines = [f"transcript  {source}", *(f"warning     {w}" for w in s.warnings)]
    lines += [
        f"status      {s.status}{' (error)' if s.is_error else ''}"
        + (f", API error {s.api_error_status}" if s.api_error_status else ""),
        f"turns       {s.num_turns if s.num_turns is not None else '-'}"
        + (f"   duration {s.duration_ms / 1000:.1f}s" if s.duration_ms is not None else ""),
        f"cost        {cost}",
        f"tokens      in {u.input_tokens}  out {u.output_tokens}  "
        f"cache write {u.cache_creation_input_tokens}  cache read {u.cache_read_input_tokens}"
        + ("  (estimated)" if s.usage_estimated else ""),
        f"tools       {' → '.join(s.tool_sequence) if s.tool_sequence else '(none)'}",
        f"skills      {', '.join(s.skills_invoked) if s.skills_invoked else '(none)'}",
    ]
    for error in s.errors:
        lines.append(f"error       {error}")
    if s.api_retries:
        lines.append(f"retries     {s.api_retries}")
    lines.append(f"events      {s.events}  parse errors {s.parse_errors}")
    if s.parse_error_lines:
        lines.append(f"bad lines   {', '.join(map(str, s.parse_error_lines))}")
    if s.unknown_events or s.unknown_blocks:
        kinds = ", ".join(f"{kind} ({n})" for kind, n in s.unknown_kinds.items())
        lines.append(
            f"unknown     {plural(s.unknown_events, 'event')}, "
            f"{plural(s.unknown_blocks, 'content block')} "
            "of types runner does not model (kept)" + (f": {kinds}" if kinds else "")
        )
    for problem in s.shape_problems:
        lines.append(f"drift       {problem}")
    if s.final_text:
        lines.append(f"final text  {_clip(s.final_text)}")
    if len(s.sessions) > 1:
        lines += [_session_line(n, x) for n, x in enumerate(s.sessions, 1)]
    return _text(lines)


def _cost(cli: float | None, estimated: float | None, why: str = "") -> str:
    """The CLI's cost, else runner's estimate marked with a ~."""
    return f"~{money(estimated)}{why}" if cli is None and estimated is not None else money(cli)


def _session_line(n: int, s: SessionSummary) -> str:
    turns = "- turns" if s.num_turns is None else plural(s.num_turns, "turn")
    cost = _cost(s.cost_usd, s.estimated_cost_usd)
    return (
        f"session {n:<3} {s.session_id or '-'}: {s.status}, {turns}, {cost}, "
        f"{plural(s.tool_calls, 'tool call')}"
    )


def render_record(r: RunRecord, *, run_dir: Path, scripted: bool = False) -> str:
    """One run: how it ended and why, what it changed, then its transcript's summary."""
    d = r.diagnostics
    ended = r.exit_reason
    if r.api_error_status is not None:
        ended += f" (API error {r.api_error_status})"
    if r.error:
        ended += f": {r.error}"
    timing = [
        f"{d.duration_ms / 1000:.1f}s" if d.duration_ms is not None else None,
        f"first event after {d.first_response_ms} ms" if d.first_response_ms is not None else None,
        f"longest wait between turns {d.max_inter_turn_ms} ms" if d.max_inter_turn_ms else None,
    ]
    lines = [
        f"run         {r.scenario} in lane {r.lane}, trial {r.trial}",
        f"ended       {ended}",
        f"took        {', '.join(t for t in timing if t) or '-'}",
    ]
    if d.timeout_at_turn is not None:
        lines.append(f"stopped at  turn {d.timeout_at_turn}")
    if d.last_tool_call:
        lines.append(f"last call   {d.last_tool_call}")
    marks = {"added": "+", "changed": "~", "deleted": "-"}
    for f in r.files:
        lines.append(f"file        {marks[f.change]} {f.path}")
    if d.process_tree_lost:
        lines.append(f"warning     {d.process_tree_lost}")
    for leftover in d.leftover_processes:
        lines.append(f"ended proc  {_clip(leftover, 100)}")
    stream = str(run_dir / "stream.ndjson")
    lines += render_summary(r.transcript, source=stream, scripted=scripted).split("\n")
    if r.exit_reason != "success" and d.agent_log.strip():
        tail = d.agent_log.strip().splitlines()[-5:]
        lines += [f"agent log   {_clip(line, 200)}" for line in tail]
    lines.append(f"record      {run_dir / 'record.json'}")
    return _text(lines)


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
            lines.append(f"    ! {_clip(first, 160)}")
            lines += [f"      {_clip(line, 160)}" for line in more]
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
    return _text(lines)


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
    return _text(lines)


def _pct(rate: float | None) -> str:
    return "-" if rate is None else f"{rate * 100:.0f}%"


def _rate(r: Rate | None) -> str:
    if r is None:
        return "-"
    if r.rate is None or r.ci is None:
        return "- (0 runs)"
    return f"{_pct(r.rate)} ({r.successes}/{r.n}, {_pct(r.ci.low)} to {_pct(r.ci.high)})"


def _metric(metric: str, value: float | None, *, signed_: bool = False) -> str:
    if value is None:
        return "-"
    if metric == "cost_usd":
        return signed_money(value) if signed_ else money(value)
    if metric == "duration_ms":
        return f"{value / 1000:+.1f}s" if signed_ else secs(round(value))
    return f"{value:+.1f}" if signed_ else f"{value:.1f}"


_METRIC_NAMES = {"cost_usd": "cost", "num_turns": "turns", "duration_ms": "time"}


def headline(report: AbReport, *, mode: str) -> list[str]:
    """The answer first, one line per effect: the verdict, by how much, at what cost. The
    short form of Effect.reason, shown above everything else by the terminal and the report."""
    scripted = f"; {NOT_BILLED}" if mode == "scripted" else ""
    return [f"{_headline(e, report.trials)}{scripted}" for e in report.effects]


def _headline(e: Effect, trials: int) -> str:
    from runner._results.ab import interval_level
    from runner._results.stats import MIN_SCENARIOS

    start = f"{e.b} vs {e.a}: {e.verdict.upper()}"
    if e.diff is None:
        return f"{start}: {e.reason}"
    if e.verdict == "equivalent":
        start += f" within ±{e.margin * 100:.0f} points"
    shown = f"{points(e.diff)} points"
    if e.ci is not None and e.ci.low != e.ci.high:
        shown += f" ({interval_level(e.alpha)} CI {points(e.ci.low)} to {points(e.ci.high)})"
    on = f"{plural(e.scenarios_paired, 'scenario')} × {plural(trials, 'trial')}"
    parts = [f"{start}, {shown} on {on}"]
    if e.ci is None:
        parts.append(f"a verdict needs at least {MIN_SCENARIOS} scenarios")
    elif e.advice is not None:
        a = e.advice
        more = (
            f"{plural(a.trials_needed, 'trial')} per scenario"
            if a.add == "trials" and a.trials_needed is not None
            else plural(a.scenarios_needed, "scenario")
        )
        parts.append(f"about {more} would detect ±{a.effect * 100:.0f} points")
    figures = {m.metric: m for m in e.metrics}
    cost = figures["cost_usd"].diff
    if cost is not None:
        ratio = "" if e.cost.ratio is None else f"{change(e.cost.ratio)}, "
        parts.append(
            f"cost {_metric('cost_usd', cost, signed_=True)}/run ({ratio}{e.cost.verdict})"
        )
    turns = figures["num_turns"].diff
    if turns is not None:
        parts.append(f"turns {_metric('num_turns', turns, signed_=True)}")
    return "; ".join(parts)


def render_headline(report: AbReport, *, mode: str) -> str:
    return _text(headline(report, mode=mode))


def render_ab(report: AbReport) -> str:
    """The A/B statistics: each lane, then each B over A with its verdict, then the noise."""
    lanes = report.lanes
    k = max((p.k for lane in lanes for p in lane.pass_k), default=None)
    header = ["lane", "runs", "pass rate (95% CI)"]
    if k is not None:
        header += [f"pass@{k}", f"pass^{k}"]
    header += ["skill used", "cost", "turns", "time"]
    rows = []
    for lane in lanes:
        at_k = next((p for p in lane.pass_k if p.k == k), None)
        row = [visible(lane.lane), str(lane.runs), _rate(lane.pass_rate)]
        if k is not None:
            row += [f"{at_k.pass_at_k:.2f}", f"{at_k.pass_hat_k:.2f}"] if at_k else ["-", "-"]
        row += [
            _rate(lane.skill_invoked),
            _metric("cost_usd", lane.cost_usd),
            _metric("num_turns", lane.num_turns),
            _metric("duration_ms", lane.duration_ms),
        ]
        rows.append(row)
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = [
        f"A/B · {plural(report.scenarios, 'scenario')} x {plural(report.trials, 'trial')} · "
        "verdicts about scenarios like these · 95% intervals",
        *(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip()
            for r in [header, *rows]
        ),
    ]
    for e in report.effects:
        lines += ["", f"{e.b} over {e.a}: {e.verdict.upper()}: {e.reason}"]
        for m in e.metrics:
            means = f"{_metric(m.metric, m.a_mean)} → {_metric(m.metric, m.b_mean)}: "
            if m.metric == "cost_usd":
                lines.append(f"  cost       {means}{e.cost.verdict.upper()}: {e.cost.reason}")
                continue
            ratio = "" if m.ratio is None else f", {change(m.ratio)}"
            ci = f" (95% CI {change(m.ci.low)} to {change(m.ci.high)})" if m.ci else ""
            lines.append(
                f"  {_METRIC_NAMES[m.metric]:<10} {means}"
                f"{_metric(m.metric, m.diff, signed_=True)} per run{ratio}{ci}"
            )
        if e.pooled is not None:
            p = e.pooled
            lines.append(
                f"  these runs {points(p.diff)} points over {plural(e.pairs, 'pair')} (95% CI "
                f"{points(p.ci.low)} to {points(p.ci.high)}), McNemar exact p = "
                f"{p.p_value:.2g}: true of these scenarios only"
            )
        if e.unpaired:
            lines.append(
                f"  unpaired   {plural(e.unpaired, 'run')} without a partner (not counted)"
            )
        per = " · ".join(
            f"{s.scenario} {s.a_passed}/{s.pairs} → {s.b_passed}/{s.pairs}" for s in e.scenarios
        )
        if per:
            lines.append(f"  scenarios  {per}")
    if report.sequential is not None:
        q = report.sequential
        looks = ", ".join(
            f"{plural(look.trials, 'trial')} at p < {look.alpha:.2g}: {'/'.join(look.verdicts)}"
            for look in q.looks
        )
        lines += [
            "",
            f"sequential: {q.stopped}; {q.runs} of at most {plural(q.max_runs, 'run')} ({looks})",
        ]
    if report.noise is not None:
        n = report.noise
        lines += [
            "",
            f"noise floor: {n.lane} against itself, {plural(n.pairs, 'pair')}: "
            f"{_rate(n.flip_rate)} of runs flip with nothing changed (p = {n.p_value:.3g})",
        ]
        for e in report.effects:
            if e.discordant_rate is not None:
                lines.append(
                    f"  {e.b} over {e.a}: {_pct(e.discordant_rate)} of pairs differ, "
                    f"against {_pct(n.flip_rate.rate)} from noise"
                )
    return _text(lines)
