from __future__ import annotations

from pathlib import Path

import pytest

from tests.replay_support import Evaluated, evaluate

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "transcripts"


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request: pytest.FixtureRequest) -> str:
    """Every async test runs on asyncio and on trio."""
    return str(request.param)


@pytest.fixture(scope="session")
def evaluated(tmp_path_factory: pytest.TempPathFactory) -> Evaluated:
    """One offline eval for the whole session (4 real runs): cached runs to replay."""
    return evaluate(tmp_path_factory.mktemp("evaluated"))
