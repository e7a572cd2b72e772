"""Choosing the transport: ``DeepgramClient(transport="websockets" | "picows" | None)``."""

from __future__ import annotations

import importlib.util
import logging
import subprocess
import sys
from collections.abc import Iterator

import pytest
from harness import AsyncHarness, SyncHarness

from rxdeepgram import AsyncDeepgramClient, ConfigurationError, DeepgramClient
from rxdeepgram.server import DeepgramServer, ScriptedEngine

HAVE_PICOWS = importlib.util.find_spec("picows") is not None
RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(["hello"])) as srv:
        yield srv


def transports_used(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The transports the connections opened so far used, from the DEBUG line each transport
    logs as it opens (``= transport: NAME``, on the ``rxdeepgram.websockets`` logger)."""
    prefix = "= transport: "
    return [
        r.getMessage()[len(prefix) :]
        for r in caplog.records
        if r.name == "rxdeepgram.websockets" and r.getMessage().startswith(prefix)
    ]


@pytest.fixture
def wire_log(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.DEBUG, logger="rxdeepgram.websockets")
    return caplog


@pytest.fixture
def without_picows(monkeypatch: pytest.MonkeyPatch) -> None:
    """picows not installed, as far as rxdeepgram can tell."""
    monkeypatch.setitem(sys.modules, "picows", None)  # find_spec -> None, import fails


@pytest.mark.parametrize("cls", [DeepgramClient, AsyncDeepgramClient])
def test_picows_without_picows_names_the_fast_extra(without_picows: None, cls: type) -> None:
    with pytest.raises(ConfigurationError, match=r"rxdeepgram\[fast\]"):
        cls(api_key="k", transport="picows")


def test_an_unknown_transport_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="transport must be"):
        DeepgramClient(api_key="k", transport="aiohttp")


@pytest.mark.parametrize("harness", [SyncHarness, AsyncHarness])
def test_automatic_without_picows_is_websockets(
    without_picows: None,
    server: DeepgramServer,
    harness: type[SyncHarness | AsyncHarness],
    wire_log: pytest.LogCaptureFixture,
) -> None:
    h = harness(None)
    try:
        client = h.client(base_url=server.url)
        with h.connect(client, "listen.v1", **RAW) as conn:
            assert conn.request_id
    finally:
        h.stop()
    assert transports_used(wire_log) == ["websockets"]


@pytest.mark.skipif(not HAVE_PICOWS, reason="picows is not installed")
@pytest.mark.parametrize("transport", [None, "picows"])
def test_automatic_with_picows_and_explicit_picows_use_picows(
    server: DeepgramServer, transport: str | None, wire_log: pytest.LogCaptureFixture
) -> None:
    h = SyncHarness(transport)
    with h.connect(h.client(base_url=server.url), "listen.v1", **RAW) as conn:
        assert conn.request_id
    assert transports_used(wire_log) == ["picows"]


def test_explicit_websockets_uses_websockets(
    server: DeepgramServer, wire_log: pytest.LogCaptureFixture
) -> None:
    h = SyncHarness("websockets")
    with h.connect(h.client(base_url=server.url), "listen.v1", **RAW) as conn:
        assert conn.request_id
    assert transports_used(wire_log) == ["websockets"]


def test_import_loads_no_transport_and_starts_no_thread() -> None:
    code = (
        "import sys, threading, rxdeepgram\n"
        "c = rxdeepgram.DeepgramClient(api_key='k')\n"
        "loaded = [m for m in sys.modules if m.startswith(('picows', 'rxdeepgram._drivers'))]\n"
        "print(loaded, threading.active_count())\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[] 1"
