"""Local model endpoints (the scripted Messages API, the record/replay proxy), API cassettes,
and ``ReplayEngine``: a recorded run replayed with no CLI."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from runner.replay.engine import ReplayEngine as ReplayEngine


def __getattr__(name: str) -> Any:
    # Imported when asked for: the engine needs the cache and the checks, which import this
    # package's script module, so an import here at load time would be circular.
    if name == "ReplayEngine":
        from runner.replay.engine import ReplayEngine

        return ReplayEngine
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
