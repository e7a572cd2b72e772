from __future__ import annotations

import contextlib
import importlib
import importlib.util
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from harness import AsyncHarness, SyncHarness

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "tests" / "data" / "protocol"
"""The project's protocol fixtures (``tests/make_protocol_fixtures.py`` derives them)."""

SHARED = ROOT.parent / "shared"
"""The external reference material (protocol notes, examples, AsyncAPI spec, seed SDK docs),
beside the repository during development and in CI. Only tests marked ``shared`` read it, and
they run only with ``--shared`` (or ``RXDEEPGRAM_SHARED=1``): without it they are deselected,
never skipped, so a fresh clone runs the whole suite it collects."""
SPEC = SHARED / "spec" / "asyncapi.yml"
SEED = SHARED / "seed" / "websocket-reference.md"

shared = pytest.mark.shared
"""Marks a test that compares the project with ``../shared`` (opt-in: ``pytest --shared``)."""


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--shared",
        action="store_true",
        default=os.environ.get("RXDEEPGRAM_SHARED", "") not in ("", "0"),
        help="also run the tests marked 'shared', which compare the project with the reference "
        "material in ../shared (the AsyncAPI spec, protocol examples, the seed SDK's docs); "
        "RXDEEPGRAM_SHARED=1 does the same",
    )


def pytest_configure(config: pytest.Config) -> None:
    if config.getoption("--shared") and not SHARED.is_dir():
        raise pytest.UsageError(f"--shared: the reference material {SHARED} is not there")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--shared"):
        return
    opt_in = [item for item in items if item.get_closest_marker("shared") is not None]
    if opt_in:
        config.hook.pytest_deselected(items=opt_in)
        items[:] = [item for item in items if item.get_closest_marker("shared") is None]


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
