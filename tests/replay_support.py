"""Test support for replays: a real CLI run against the scripted model, with every exchange
kept as an API cassette (the format ``eval --record`` writes), and small cassettes by hand."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio

from runner._agent.engine import RunOptions, RunRecord, RunSpec, run_one
from runner._evaluate.replay import ReplayEngine
from runner._evaluate.scenarios import Scenario, load_suite
from runner._model.cassette import (
    CassetteHeader,
    CassetteRequest,
    CassetteResponse,
    CassetteWriter,
    Exchange,
)
from runner._model.http import HttpRequest, HttpResponse, serve
from runner._model.mock_api import ScriptedModel
from runner._model.normalize import RunPaths, Scrubber
from runner._model.script import Script
from runner._model.sse import SseDecoder, SseEvent
from runner._transcript.events import SystemInit
from runner._transcript.stream import iter_events
from runner._util.version import __version__
from tests.suite_commands import Workbench, report, workbench


@dataclass
class RecordedRun:
    record: RunRecord
    run_dir: Path
    cassette: Path


async def _body(response: HttpResponse) -> bytes:
    if isinstance(response.body, bytes):
        return response.body
    return b"".join([chunk async for chunk in response.body])


def _response(status: int, body: bytes) -> CassetteResponse:
    if body.startswith(b"event:"):
        decoder = SseDecoder()
        return CassetteResponse(status=status, events=decoder.feed(body) + decoder.close())
    return CassetteResponse(status=status, body=json.loads(body) if body else None)


async def recorded_run(
    script: dict[str, Any], tmp: Path, lane: str = "agent-baseline", **spec: Any
) -> RecordedRun:
    """``run_one`` with the real CLI against ``script``; each exchange is also written to a
    cassette, as the record proxy would (unscrubbed: nothing secret goes to a scripted model)."""
    model = ScriptedModel(Script.model_validate(script))
    writer = CassetteWriter(tmp / "cassettes" / "test" / f"{lane}-0.ndjson")

    async def handle(req: HttpRequest) -> HttpResponse:
        reply = await model.handle(req)
        body = await _body(reply)
        request = CassetteRequest(
            method=req.method, path=req.target, body=json.loads(req.body) if req.body else None
        )
        exchange = Exchange(
            index=len(writer.exchanges), request=request, response=_response(reply.status, body)
        )
        writer.add(exchange)
        return HttpResponse(reply.status, reply.headers, body)

    fields: dict[str, Any] = {"scenario": "test", "instruction": "Do the task.", **spec}
    async with anyio.create_task_group() as tg:
        port = await tg.start(partial(serve, handle))
        options = RunOptions(endpoint=f"http://127.0.0.1:{port}", workspace_parent=tmp)
        record = await run_one(RunSpec(**fields), lane, run_dir=tmp / "run", options=options)
        tg.cancel_scope.cancel()
    _scrub(writer, tmp / "run")
    path = writer.finish(header("test", lane, record=record))
    return RecordedRun(record, tmp / "run", path)


def _scrub(writer: CassetteWriter, run_dir: Path) -> None:
    """The run's own paths become placeholders, as the record proxy writes them."""
    with (run_dir / "stream.ndjson").open("rb") as f:
        init = next((i for i in iter_events(f) if isinstance(i, SystemInit)), None)
    if init is None or init.cwd is None:
        return
    work = Path(init.cwd)
    scrubber = Scrubber(RunPaths.of(work.parent, work, work.parent / "home"))
    writer.exchanges[:] = [
        Exchange.model_validate(scrubber.scrub(ex.model_dump())) for ex in writer.exchanges
    ]


def header(
    scenario: str, lane: str, *, record: RunRecord | None = None, **fields: Any
) -> CassetteHeader:
    known: dict[str, Any] = {}
    if record is not None:
        t = record.transcript
        known = {
            "exit_reason": record.exit_reason,
            "cost_usd": t.cost_usd,
            "num_turns": t.num_turns,
        }
        known["cli_version"] = t.cli_version
    return CassetteHeader(
        scenario=scenario,
        lane=lane,
        trial=0,
        recorded_at="2026-11-21T00:00:00Z",
        runner_version=__version__,
        upstream="scripted",
        **{**known, **fields},
    )


# ---- cassettes by hand ------------------------------------------------------------------------


def message(
    msg_id: str, *content: dict[str, Any], model: str = "claude-sonnet-4-5", output: int = 20
) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        # A tool call without an id gets one, as the API gives every call.
        "content": [
            {**b, "id": f"toolu_{msg_id}_{i}"} if b["type"] == "tool_use" and "id" not in b else b
            for i, b in enumerate(content)
        ],
        "usage": {"input_tokens": 100, "output_tokens": output},
    }


def streamed(msg: dict[str, Any]) -> CassetteResponse:
    """``msg`` as the SSE events of a streamed reply (one delta per block)."""
    start = {**msg, "content": []}
    events = [SseEvent(event="message_start", data={"type": "message_start", "message": start})]
    for i, block in enumerate(msg["content"]):
        opened = {**block, "input": {}} if block["type"] == "tool_use" else {**block, "text": ""}
        if block["type"] == "tool_use":
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        else:
            delta = {"type": "text_delta", "text": block["text"]}
        events += [
            SseEvent(
                event="content_block_start",
                data={"type": "content_block_start", "index": i, "content_block": opened},
            ),
            SseEvent(
                event="content_block_delta",
                data={"type": "content_block_delta", "index": i, "delta": delta},
            ),
            SseEvent(event="content_block_stop", data={"type": "content_block_stop", "index": i}),
        ]
    done = {
        "type": "message_delta",
        "delta": {"stop_reason": "end_turn"},
        "usage": {"output_tokens": msg["usage"]["output_tokens"]},
    }
    events += [
        SseEvent(event="message_delta", data=done),
        SseEvent(event="message_stop", data={"type": "message_stop"}),
    ]
    return CassetteResponse(status=200, events=events)


def exchange(index: int, messages: list[dict[str, Any]], response: CassetteResponse) -> Exchange:
    body = {"model": "claude-sonnet-4-5", "stream": True, "messages": messages}
    request = CassetteRequest(method="POST", path="/v1/messages?beta=true", body=body)
    return Exchange(index=index, request=request, response=response)


def write_cassette(path: Path, head: CassetteHeader, exchanges: list[Exchange]) -> Path:
    writer = CassetteWriter(path)
    for ex in exchanges:
        writer.add(ex)
    return writer.finish(head)


# ---- one offline eval for the session ---------------------------------------------------------

SCENARIO = "fix-entry"


@dataclass
class Evaluated:
    """``eval`` of one scenario in both agent lanes, two trials each, into a cache of its own:
    real cached runs for every test that reads one."""

    bench: Workbench
    report: dict[str, Any]

    @property
    def cache(self) -> Path:
        return self.bench.root / "cache"

    def result(self, lane: str = "agent-skill", trial: int = 0) -> dict[str, Any]:
        return next(r for r in self.report["runs"] if (r["lane"], r["trial"]) == (lane, trial))

    def run_dir(self, lane: str = "agent-skill", trial: int = 0) -> Path:
        return Path(self.result(lane, trial)["run_dir"])

    def engine(self, lane: str = "agent-skill", trial: int = 0) -> ReplayEngine:
        return ReplayEngine.from_run_dir(self.run_dir(lane, trial))

    def scenario(self) -> Scenario:
        return load_suite(self.bench.suite, [SCENARIO])[0]


def evaluate(tmp: Path) -> Evaluated:
    bench = workbench(tmp)
    proc = bench.eval(
        "--variant",
        "agent-baseline,agent-skill",
        "--scenarios",
        SCENARIO,
        "--trials",
        "2",
        "--json",
    )
    return Evaluated(bench, report(proc))
