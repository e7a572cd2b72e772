"""Small edges, each on both clients and both transports against the local server over real
sockets: sending after the close, text UTF-8 cannot encode, the local server's answer to deeply
nested JSON (every channel) and to a client cut off in the middle of Speak audio.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Iterator
from typing import Any

import pytest
from faultproxy import FaultProxy
from harness import Recorder
from websockets.asyncio.client import connect as ws_connect
from websockets.exceptions import ConnectionClosed as WsClosed

from rxdeepgram import (
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionClosedOK,
    InvalidInputError,
    InvalidMessageError,
)
from rxdeepgram.messages import listen_v1, speak_v1
from rxdeepgram.server import DeepgramServer

pytestmark = pytest.mark.timeout(60)

RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
VOICE = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 24000}


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer() as srv:
        yield srv


# -- sending after the close ----------------------------------------------------------------------


def sends(conn: Any) -> list[Any]:
    """Every way of sending on a Listen V1 connection."""
    return [
        lambda: conn.input.on_next(b"\x00\x00" * 160),
        lambda: conn.input.on_next(listen_v1.KeepAlive()),
        lambda: conn.send_media(b"\x00\x00" * 160),
        lambda: conn.send_keep_alive(),
        lambda: conn.send_finalize(),
    ]


@pytest.mark.parametrize("reconnect", [False, True], ids=["plain", "reconnect"])
def test_sending_after_a_clean_close_raises_connection_closed_ok(
    h: Any, server: DeepgramServer, reconnect: bool
) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v1", reconnect=reconnect, **RAW) as conn:
        conn.messages.subscribe(rec)
        conn.input.on_next(b"\x00\x00" * 1600)
    rec.wait()
    assert rec.completed
    for send in sends(conn):
        with pytest.raises(ConnectionClosedOK, match="nothing more can be sent") as caught:
            send()
        assert not isinstance(caught.value, InvalidInputError)


def test_sending_while_closing_raises_connection_closed_ok(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    conn = h.open(client, "listen.v1", **RAW)
    conn.input.on_completed()  # CloseStream sent: closing
    for send in sends(conn):
        with pytest.raises(ConnectionClosedOK):
            send()
    h.wait(conn)
    assert conn.end is None


def test_sending_after_an_abnormal_close_raises_with_its_code(
    h: Any, deepgram_server_factory: Any
) -> None:
    server = deepgram_server_factory(idle_timeout=0.3)
    client = h.client(base_url=server.url)
    conn = h.open(client, "listen.v1", keepalive=False, **RAW)
    h.wait(conn)
    assert isinstance(conn.end, ConnectionClosedError) and conn.end.code == 1011
    for send in sends(conn):
        with pytest.raises(ConnectionClosedError) as caught:
            send()
        assert caught.value.code == 1011 and caught.value.dg_code == "NET-0001"


# -- text UTF-8 cannot encode ----------------------------------------------------------------------


@pytest.mark.parametrize("reconnect", [False, True], ids=["plain", "reconnect"])
def test_a_lone_surrogate_in_speak_text_is_refused_at_the_caller(
    h: Any, server: DeepgramServer, reconnect: bool
) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "speak.v1", reconnect=reconnect, **VOICE) as conn:
        conn.messages.subscribe(rec)
        for send in (
            lambda: conn.input.on_next("broken \ud83d text."),
            lambda: conn.input.on_next(speak_v1.Speak(text="broken \udc00 text.")),
            lambda: conn.send_text("broken \ud800"),
        ):
            with pytest.raises(InvalidMessageError, match="lone surrogate") as caught:
                send()
            assert caught.value.field == "text"
            assert isinstance(caught.value, ValueError)
        conn.input.on_next("Still speaking.")  # the connection is unharmed
        conn.input.on_next(speak_v1.Flush())
    rec.wait()
    assert rec.completed
    audio = b"".join(m for m in rec.items if isinstance(m, bytes))
    assert audio and sum(isinstance(m, speak_v1.Flushed) for m in rec.items) >= 1


# -- the local server: deeply nested JSON -------------------------------------------------------

CHANNELS = {
    "listen.v1": "/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000",
    "listen.v2": "/v2/listen?model=flux-general-en&encoding=linear16&sample_rate=16000",
    "speak.v1": "/v1/speak?model=aura-2-thalia-en",
    "speak.v2": "/v2/speak?model=flux-alexis-en",
    "agent.v1": "/v1/agent/converse",
}
DEEP = 2000
NESTED = {
    "bare": "[" * DEEP + "]" * DEEP,
    "in-configure": '{"type": "Configure", "x": ' + "[" * DEEP + "]" * DEEP + "}",
    "in-known-type": '{"type": "KeepAlive", "x": ' + '{"a": ' * DEEP + "1" + "}" * DEEP + "}",
}


@pytest.mark.parametrize("frame", list(NESTED))
@pytest.mark.parametrize("channel", list(CHANNELS))
def test_deeply_nested_json_is_refused_with_1008_on_every_channel(
    server: DeepgramServer, channel: str, frame: str, caplog: pytest.LogCaptureFixture
) -> None:
    async def go() -> tuple[int | None, str]:
        async with ws_connect(server.url + CHANNELS[channel]) as ws:
            await ws.send(NESTED[frame])
            try:
                while True:
                    await asyncio.wait_for(ws.recv(), 10)
            except WsClosed:
                pass
            assert ws.close_code is not None
            return ws.close_code, ws.close_reason or ""

    with caplog.at_level(logging.WARNING):
        code, reason = asyncio.run(go())
    assert code == 1008, reason
    assert "DATA-0000" in reason
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# -- the local server: a client cut off during Speak --------------------------------------------


def test_a_client_cut_off_during_speak_leaves_no_unretrieved_task(
    h: Any, server: DeepgramServer, caplog: pytest.LogCaptureFixture
) -> None:
    host, port = server.url.removeprefix("ws://").rsplit(":", 1)
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    with FaultProxy(host, int(port)) as proxy, caplog.at_level(logging.ERROR):
        for _ in range(3):
            client = h.client(base_url=proxy.url)
            rec = Recorder()
            conn = h.open(client, "speak.v1", **VOICE)
            conn.messages.subscribe(rec)
            conn.input.on_next(text)
            conn.input.on_next(speak_v1.Flush())
            deadline = time.monotonic() + 10
            while not any(isinstance(m, bytes) for m in rec.items):
                assert time.monotonic() < deadline, "no audio came"
                time.sleep(0.005)
            assert proxy.cut() == 1  # mid-audio: the server's worker is sending
            h.wait(conn)
            assert isinstance(conn.end, ConnectionClosed)
        server.stop()  # waits for the handlers of the cut connections
        gc.collect()  # an unretrieved task exception is logged when the task is collected
    never = [r for r in caplog.records if "never retrieved" in r.getMessage()]
    assert never == []
    errors = [r.getMessage() for r in caplog.records if r.name.startswith("rxdeepgram.server")]
    assert errors == []


def test_nested_json_decodes_on_the_client_too() -> None:
    """The client's own decoders (what the server sends) give ``Unknown``, never raise."""
    from rxdeepgram.messages import Unknown, listen_v2

    message = listen_v2.decode(NESTED["in-configure"])
    assert isinstance(message, Unknown)
    assert message.raw == NESTED["in-configure"] and message.error
