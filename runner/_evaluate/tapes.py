"""A suite's API cassettes (``eval --record DIR`` / ``--replay DIR``): which runs record and
which replay, and one run through the proxy that does it.

A recording is a normal run (live, or against the scenario's scripted model) with the record
proxy in between; it is cached under the run's usual key. A replay is the real CLI, its tools
and its workspace, with every model turn answered from the cassette: it never reaches a model,
and is cached under a key that names the cassette.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from runner._agent.engine import RunOptions, RunRecord
from runner._evaluate.cache import CACHEABLE
from runner._model.cassette import (
    Cassette,
    CassetteError,
    CassetteHeader,
    CassetteWriter,
    cassette_path,
    read_cassette,
    recorded_upstream,
)
from runner._model.http import serving
from runner._model.live import live_upstream
from runner._model.mock_api import scripted_model
from runner._model.normalize import RunPaths
from runner._model.player import Player
from runner._model.recorder import Recorder
from runner._model.script import Script
from runner._util.atomic import write_atomically
from runner._util.redact import environment_secrets
from runner._util.version import __version__

ReplayMode = Literal["none", "new", "all"]


class TapeError(ValueError):
    """A cassette that cannot be used as asked; one line naming the file and the fix."""


@dataclass(frozen=True)
class Cassettes:
    """``--record DIR`` is ``--replay DIR --replay-mode all``."""

    root: Path
    mode: ReplayMode = "none"  # none: replay only; new: record the missing; all: record again


@dataclass(frozen=True)
class Tape:
    """One run's cassette: the file, and whether this run records it or plays it."""

    path: Path
    cassette: Cassette | None  # set when replaying

    @property
    def replaying(self) -> bool:
        return self.cassette is not None


def tape_for(cassettes: Cassettes, scenario: str, lane: str, trial: int, suffix: str = "") -> Tape:
    """The tape for one run; TapeError when it must replay and there is nothing to play."""
    path = cassette_path(cassettes.root, scenario, lane, trial, suffix)
    # exists, not is_file: a cassette that is no regular file is refused by read_cassette.
    if cassettes.mode == "all" or (cassettes.mode == "new" and not path.exists()):
        return Tape(path, None)
    if not path.exists():
        raise TapeError(
            f"{path}: no cassette for {scenario}/{lane}#{trial}{suffix}; record it with "
            f"--record {cassettes.root}, or add --replay-mode new to record what is missing"
        )
    try:
        return Tape(path, read_cassette(path))
    except CassetteError as exc:
        raise TapeError(f"{exc}; record it again with --record {cassettes.root}") from None


Produce = Callable[[RunOptions], Awaitable[RunRecord]]


@dataclass(frozen=True)
class Upstream:
    """Where a recording's requests go: the scenario's scripted model, or the live API."""

    script: Script | None
    seed: int | None


async def run_taped(
    tape: Tape,
    run_id: str,
    upstream: Upstream,
    options: RunOptions,
    produce: Produce,
    *,
    run_dir: Path,
) -> tuple[RunRecord, str | None]:
    """``produce(options)`` (``run_one`` into ``run_dir``) with the proxy as its endpoint,
    replaying ``tape`` or recording it; the record, and why a recording was not kept."""
    secrets = tuple(environment_secrets(options.environ))
    if tape.cassette is None:
        return await _record(tape.path, upstream, options, produce, secrets)
    player = Player(tape.cassette, run_id, secrets=secrets)
    async with serving(player.handle) as url:
        record = await produce(_through(options, url, player.bind))
    divergence = player.finish()
    if divergence is not None:
        update = {"exit_reason": "replay_diverged", "error": divergence.message()}
        record = record.model_copy(update=update)
        write_atomically(run_dir / "record.json", record.model_dump_json(indent=2))
    return record, None


async def _record(
    path: Path, upstream: Upstream, options: RunOptions, produce: Produce, secrets: tuple[str, ...]
) -> tuple[RunRecord, str | None]:
    writer = CassetteWriter(path)
    async with _upstream(upstream) as (url, auth):
        recorder = Recorder(url, writer, auth=auth, secrets=secrets)
        try:
            async with serving(recorder.handle) as proxy:
                record = await produce(_through(options, proxy, recorder.bind))
        finally:
            await recorder.aclose()
            writer.close()
    if record.exit_reason not in CACHEABLE or recorder.problems:
        why = "; ".join(recorder.problems) or f"the run ended: {record.exit_reason}"
        return record, f"{writer.partial_path}: not kept as a cassette ({why})"
    writer.finish(
        CassetteHeader(
            scenario=record.scenario,
            lane=record.lane,
            trial=record.trial,
            recorded_at=datetime.now(UTC).isoformat(timespec="seconds"),
            runner_version=__version__,
            cli_version=record.diagnostics.cli_version,
            upstream=recorded_upstream(None if upstream.script is not None else url),
            exit_reason=record.exit_reason,
            cost_usd=record.cost_usd,
            num_turns=record.num_turns,
        )
    )
    return record, None


def _through(options: RunOptions, url: str, bind: Callable[[RunPaths], None]) -> RunOptions:
    return replace(options, endpoint=url, on_paths=bind)


@asynccontextmanager
async def _upstream(upstream: Upstream) -> AsyncIterator[tuple[str, dict[str, str]]]:
    """The upstream's URL, and the headers that authenticate runner there."""
    if upstream.script is not None:
        async with scripted_model(upstream.script, seed=upstream.seed) as model:
            yield model.url, {}
        return
    yield live_upstream()
