"""The A/B statistics in text for the terminal: the headline first (one line per effect, which
the report shows too), then each lane, each B over A with its verdict, and the noise floor.
Every line goes out through ``terminal.visible``: lane and scenario names come from the suite."""

from __future__ import annotations

from typing import TYPE_CHECKING

from runner._util.figures import NOT_BILLED, change, money, plural, points, secs, signed_money
from runner._util.terminal import visible, visible_lines

# Types only: eval prints a single lane's table without loading the A/B statistics (start-up).
if TYPE_CHECKING:
    from runner._results.ab_report import AbReport, Effect, Rate


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
    from runner._results.ab_verdicts import interval_level
    from runner._results.scenario_tests import MIN_SCENARIOS

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
    return visible_lines(headline(report, mode=mode))


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
    return visible_lines(lines)
