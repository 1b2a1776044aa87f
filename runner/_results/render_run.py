"""One run in text for the terminal: its transcript's summary (``transcript``) and its record
(``run``). Every line goes out through ``terminal.visible``: much of it (model text, tool
calls, file names) comes from the agent."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from runner._util.figures import money, plural, unbilled
from runner._util.terminal import clip, visible_lines

# Types only: `transcript` renders without loading the engine's modules (start-up, issue 17).
if TYPE_CHECKING:
    from runner._agent.engine import RunRecord
    from runner._transcript.summary import SessionSummary, TranscriptSummary


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
        lines.append(f"final text  {clip(s.final_text, 300)}")
    if len(s.sessions) > 1:
        lines += [_session_line(n, x) for n, x in enumerate(s.sessions, 1)]
    return visible_lines(lines)


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
        lines.append(f"ended proc  {clip(leftover, 100)}")
    stream = str(run_dir / "stream.ndjson")
    lines += render_summary(r.transcript, source=stream, scripted=scripted).split("\n")
    if r.exit_reason != "success" and d.agent_log.strip():
        tail = d.agent_log.strip().splitlines()[-5:]
        lines += [f"agent log   {clip(line, 200)}" for line in tail]
    lines.append(f"record      {run_dir / 'record.json'}")
    return visible_lines(lines)
