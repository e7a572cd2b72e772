from __future__ import annotations

import contextlib
import importlib
import importlib.util
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


HAVE_PICOWS = importlib.util.find_spec("picows") is not None


HEAVY_OPTIONAL = {"rxdeepgram._cli._ray"}
"""Modules left to the tests that use them: ``_ray`` imports Ray, which is slow to load and
must see its environment (tests/test_batch_ray.py sets it) before it loads."""


def _import_the_library() -> None:
    """Import every rxdeepgram module now, on the main thread. pytest rewrites the assertions of
    the whole distribution (it is a pytest plugin), and CPython 3.11's ast is not thread-safe:
    a module imported lazily on the sync client's I/O thread while the main thread imports
    another one can fail with "AST constructor recursion depth mismatch"."""
    import pkgutil

    import rxdeepgram

    for module in pkgutil.walk_packages(rxdeepgram.__path__, "rxdeepgram."):
        if module.name.endswith("__main__") or module.name in HEAVY_OPTIONAL:
            continue
        # an optional dependency may be missing (sounddevice...)
        with contextlib.suppress(ImportError):
            importlib.import_module(module.name)


_import_the_library()

TRANSPORTS = ["websockets", "picows"]
"""The transports every connection test runs on (picows ones skipped without picows)."""

CLIENTS = [
    pytest.param(
        (kind, transport),
        id=f"{kind}-{transport}",
        marks=pytest.mark.skipif(
            transport == "picows" and not HAVE_PICOWS, reason="picows is not installed"
        ),
    )
    for transport in TRANSPORTS
    for kind in ("sync", "async")
]


@pytest.fixture(params=CLIENTS)
def h(request: pytest.FixtureRequest) -> Iterator[SyncHarness | AsyncHarness]:
    """One connection scenario, run with each client on each transport (see ``harness.py``)."""
    kind, transport = request.param
    harness = SyncHarness(transport) if kind == "sync" else AsyncHarness(transport)
    yield harness
    harness.stop()
