"""An eval's partial result as it is written: appended, one JSON line per finished run.

The first line is ``{"schema_version":1,"appended":true,"header":{...}}``; each later one is
``{"run":{...}}``, or ``{"header":{...}}`` when the header changed (a sequential A/B's next
round). Appending keeps an eval's writes linear in its runs: rewriting the whole file after
every run wrote quadratic bytes. A crash mid-write leaves a torn last line, skipped and counted.
"""

from __future__ import annotations

from typing import NamedTuple

from pydantic import BaseModel, ConfigDict, ValidationError

from runner._evaluate.results import RunResult, SuiteHeader, SuiteResult, Totals

MARK = b'{"schema_version":1,"appended":true,'


class _Line(BaseModel):
    model_config = ConfigDict(extra="forbid")

    schema_version: int | None = None
    appended: bool | None = None
    header: SuiteHeader | None = None
    run: RunResult | None = None


class Decoded(NamedTuple):
    result: SuiteResult
    torn: int  # a last line cut short by a crash mid-write: skipped


def first_line(header: SuiteHeader) -> bytes:
    return MARK + b'"header":' + header.model_dump_json().encode() + b"}\n"


def header_line(header: SuiteHeader) -> bytes:
    return b'{"header":' + header.model_dump_json().encode() + b"}\n"


def run_line(run: RunResult) -> bytes:
    return b'{"run":' + run.model_dump_json().encode() + b"}\n"


def is_appended(head: bytes) -> bool:
    return head.startswith(MARK)


def decode(data: bytes) -> Decoded:
    """The partial result in ``data``: the last header, totals counted from the runs read.
    ValueError names the line for damage anywhere but the last line."""
    lines = [line for line in data.split(b"\n") if line.strip()]
    header: SuiteHeader | None = None
    runs: list[RunResult] = []
    torn = 0
    for number, raw in enumerate(lines, 1):
        try:
            line = _Line.model_validate_json(raw)
        except ValidationError as exc:
            if number == len(lines) and number > 1:
                torn = 1  # written half when the eval stopped: the runs before it stand
                break
            raise ValueError(f"line {number}: {exc.errors()[0]['msg']}") from None
        if line.header is not None:
            header = line.header
        if line.run is not None:
            runs.append(line.run)
    if header is None:
        raise ValueError("line 1: no header (not a runner result)")
    done = header.model_copy(update={"partial": True, "totals": Totals.of(runs)})
    return Decoded(SuiteResult(header=done, runs=runs), torn)
