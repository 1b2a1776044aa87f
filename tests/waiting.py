"""Waiting for a condition in a test: polled, never slept for a fixed time."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from typing import Any

import pytest


def wait_for(
    condition: Callable[[], bool],
    what: str,
    *,
    within_s: float = 120,
    proc: subprocess.Popen[Any] | None = None,
) -> None:
    """Until ``condition()`` holds. ``within_s`` only guards against a hang, however loaded the
    machine; a ``proc`` that ends first fails the wait at once, with its output."""
    deadline = time.monotonic() + within_s
    while not condition():
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"it ended before {what}: {proc.communicate()}")
        if time.monotonic() > deadline:
            if proc is not None:
                proc.kill()
                pytest.fail(f"{what}: not within {within_s:g} s: {proc.communicate()}")
            pytest.fail(f"{what}: not within {within_s:g} s")
        time.sleep(0.02)
