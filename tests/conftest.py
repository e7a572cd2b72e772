from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import AsyncHarness, SyncHarness

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared"
PROTOCOL = SHARED / "protocol"
EXAMPLES = PROTOCOL / "examples"
SPEC = SHARED / "spec" / "asyncapi.yml"

requires_shared = pytest.mark.skipif(
    not EXAMPLES.is_dir(), reason="../shared (protocol fixtures and spec) is not beside the repo"
)


@pytest.fixture(params=["sync", "async"])
def h(request: pytest.FixtureRequest) -> Iterator[SyncHarness | AsyncHarness]:
    """One connection scenario, run with each client (see ``harness.py``)."""
    harness = SyncHarness() if request.param == "sync" else AsyncHarness()
    yield harness
    harness.stop()
