"""Defaults the commands' help shows, kept where importing them costs nothing: building the
parser must not load the modules that use them (start-up, issue 17)."""

from __future__ import annotations

from pathlib import Path

CACHE_ROOT = Path(".runner") / "cache"
RUNS_ROOT = Path(".runner") / "runs"
DEFAULT_SUITE = Path("fixtures") / "scenarios"
MARGIN = 0.10  # pass rate, as a fraction: 0.10 is 10 points
COST_MARGIN = 0.10  # cost per run, relative
