"""pytest plugin (entry point ``pytest11: rxdeepgram``): local Deepgram server fixtures.

* ``deepgram_server`` — a running :class:`~rxdeepgram.server.DeepgramServer` with the scripted
  engine and its default script, no API key, for the test; ``deepgram_server.url`` is its
  ``ws://127.0.0.1:PORT``.
* ``deepgram_server_factory`` — ``factory(**kwargs)`` starts a server with any
  ``DeepgramServer`` keyword (``engine=ScriptedEngine([...])``, ``api_key=...``,
  ``idle_timeout=...``); every server it started is stopped after the test.

The servers run in a background thread, so they serve sync and async tests alike. The plugin
imports the server only when a fixture is used, keeping pytest's start-up unaffected.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ._app import DeepgramServer

__all__ = ["deepgram_server", "deepgram_server_factory"]


@pytest.fixture
def deepgram_server_factory() -> Iterator[Callable[..., DeepgramServer]]:
    """Start local Deepgram servers with custom settings; all are stopped after the test."""
    from ._app import DeepgramServer

    started: list[DeepgramServer] = []

    def factory(**kwargs: Any) -> DeepgramServer:
        server = DeepgramServer(**kwargs)
        server.start()
        started.append(server)
        return server

    try:
        yield factory
    finally:
        for server in reversed(started):
            server.stop()


@pytest.fixture
def deepgram_server(
    deepgram_server_factory: Callable[..., DeepgramServer],
) -> DeepgramServer:
    """A running local Deepgram server (scripted engine, no API key)."""
    return deepgram_server_factory()
