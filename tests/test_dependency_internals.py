"""Where rxdeepgram relies on a dependency's internals, a check that fails loudly, naming the
dependency and its version, when the installed version no longer behaves as relied on.

Each module that does so says so in its docstring:

* ``rxdeepgram/server/_websockets_internals.py``: ``websockets``' ``ServerConnection`` methods
  ``data_received`` / ``eof_received`` / ``process_event`` and its ``pending_pings``;
* ``rxdeepgram/_drivers/_picows_internals.py``: picows logging an ERROR record when its frame
  parser fails a connection.

These run over real sockets against the local server (or a raw socket server), on the installed
versions; CI also runs them on the oldest supported ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import importlib.metadata
import importlib.util
import json
from collections.abc import Sequence
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection

from rxdeepgram.server import DeepgramServer, ServerSession
from rxdeepgram.server._websockets_internals import DgConnection

WEBSOCKETS = f"websockets {importlib.metadata.version('websockets')}"
HAVE_PICOWS = importlib.util.find_spec("picows") is not None


def _changed(dependency: str, what: str, module: str) -> str:
    return (
        f"{dependency} no longer {what}: rxdeepgram's {module} relies on it (see its docstring); "
        "adapt that module to this version"
    )


# -- websockets (the local server) ----------------------------------------------------------------


def test_websockets_server_connection_has_the_methods_the_server_overrides() -> None:
    for name in ("data_received", "eof_received", "process_event"):
        assert callable(getattr(ServerConnection, name, None)), _changed(
            WEBSOCKETS, f"has ServerConnection.{name}", "server/_websockets_internals.py"
        )
        assert getattr(DgConnection, name) is not getattr(ServerConnection, name)


def test_websockets_hands_every_byte_to_data_received_so_rest_calls_work() -> None:
    """A ``POST`` with a body on the WebSocket port reaches the REST side: only if
    ``websockets`` still reads through ``data_received`` (else it refuses the body or the
    method)."""
    with DeepgramServer() as srv:
        conn = http.client.HTTPConnection("127.0.0.1", srv.port, timeout=5)
        try:
            body = json.dumps({"ttl_seconds": 60}).encode()
            conn.request(
                "POST",
                "/v1/auth/grant",
                body=body,
                headers={"Authorization": "Token k", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            answer = response.read()
        finally:
            conn.close()
    assert response.status == 200, _changed(
        WEBSOCKETS,
        f"reads requests through data_received (POST answered {response.status}: {answer!r})",
        "server/_websockets_internals.py",
    )
    assert json.loads(answer)["expires_in"] == 60


class _KeepaliveProbe:
    """A route that answers each text frame with the connection's ``dg_client_keepalive``
    and whether ``pending_pings`` is what the server's class reads."""

    def parse_options(self, pairs: Sequence[tuple[str, str]]) -> object:
        return None

    async def serve(self, session: ServerSession) -> None:
        ws = session.websocket
        assert isinstance(ws, DgConnection)
        async for _ in ws:
            pending = getattr(ws, "pending_pings", getattr(ws, "pong_waiters", None))
            await ws.send(
                json.dumps(
                    {"keepalive": ws.dg_client_keepalive, "pending": isinstance(pending, dict)}
                )
            )


async def test_websockets_passes_control_frames_to_process_event() -> None:
    """A client's ping and an unsolicited pong each move ``dg_client_keepalive``: only if
    ``websockets`` still calls ``process_event`` with every frame and keeps the payloads of its
    own pings in ``pending_pings``."""
    async with (
        DeepgramServer(routes={"/probe": _KeepaliveProbe()}) as srv,
        connect(srv.url + "/probe", ping_interval=None) as ws,
    ):

        async def probe() -> dict[str, Any]:
            await ws.send("?")
            return dict(json.loads(await ws.recv()))

        before = await probe()
        assert before["pending"], _changed(
            WEBSOCKETS,
            "keeps Connection.pending_pings (pong_waiters in 15) as a dict",
            "server/_websockets_internals.py",
        )
        assert before["keepalive"] == 0.0
        await (await ws.ping())  # answered: the server saw it
        after_ping = await probe()
        assert after_ping["keepalive"] > 0.0, _changed(
            WEBSOCKETS, "calls process_event with a ping frame", "server/_websockets_internals.py"
        )
        await ws.pong(b"unsolicited")
        after_pong = await probe()
        assert after_pong["keepalive"] > after_ping["keepalive"], _changed(
            WEBSOCKETS, "calls process_event with a pong frame", "server/_websockets_internals.py"
        )


# -- picows (the picows transport) ----------------------------------------------------------------


@pytest.mark.skipif(not HAVE_PICOWS, reason="picows is not installed")
async def test_picows_logs_an_error_before_handing_over_the_frame_before_a_bad_one() -> None:
    """A text frame and a frame with a reserved opcode in one read: picows fails the connection
    (its close frame goes out), logs at ERROR, and only then hands over the text frame. The
    picows transport tells the frame before the bad one by that record."""
    import logging

    from misbehaving import Answer, MisbehavingServer
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    picows = f"picows {importlib.metadata.version('picows')}"
    events: list[Any] = []

    class Listener(WSListener):  # type: ignore[misc]
        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            if frame.msg_type is WSMsgType.TEXT:
                text = frame.get_payload_as_ascii_text()
                events.append(("text", text, transport.is_close_frame_sent))

    class Watch(logging.LoggerAdapter[logging.Logger]):
        def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
            if level >= logging.ERROR:
                events.append("error")

    good = b"\x81\x05hello"  # FIN, text, 5 bytes, unmasked
    bad = b"\x83\x00"  # FIN, reserved opcode 0x3
    with MisbehavingServer(lambda head: Answer(good + bad, "websocket", linger=2.0)) as server:
        transport, _ = await ws_connect(
            Listener,
            server.url,
            logger_name=Watch(logging.getLogger("tests.picows.internals"), {}),
            enable_auto_ping=False,
        )
        await asyncio.wait_for(asyncio.shield(_disconnected(transport)), 10)
    assert events[:2] == ["error", ("text", "hello", True)], _changed(
        picows,
        f"logs an ERROR record before it hands over the frame before a bad one (saw {events})",
        "_drivers/_picows/_internals.py",
    )


async def _disconnected(transport: Any) -> None:
    with contextlib.suppress(Exception):  # the parser's error: expected
        await transport.wait_disconnected()
