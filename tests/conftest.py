from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.replay_support import Evaluated, evaluate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "transcripts"

# A test suite started in the background (`cmd &` in a script, some CI agents) inherits SIGINT
# ignored, and so would every command the tests start, so Ctrl-C tests could never stop them.
# Handled here, it is back to the default in each child, as at a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs on asyncio and on trio."""
    return str(request.param)


@pytest.fixture(scope="session")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Evaluated:
    """One offline eval for the whole session (4 real runs): cached runs to replay."""
    return evaluate(tmp_path_factory.mktemp("evaluated"))
