"""The picows transport (the package ``rxdeepgram/_drivers/_picows``) on its own, over real sockets.

``open_picows`` is driven directly with a recording ``TransportEvents``: against the local
Deepgram server (handshake, headers, 401, closing handshakes) and against a raw TCP peer written
here (``Peer``: it completes the WebSocket handshake, then sends exactly the bytes a test gives it
and reads what the client sends), for everything a well-behaved server never does: fragments,
pings, silence, invalid UTF-8, oversized messages, protocol errors, a peer that never closes.
"""

from __future__ import annotations

import asyncio
import base64
import gc
import hashlib
import itertools
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol

from rxdeepgram import (
    AuthenticationError,
    ConfigurationError,
    ConnectError,
    DeepgramError,
    DeepgramTimeoutError,
    HandshakeError,
    RateLimitError,
)
from rxdeepgram._drivers._transport import Opened, OpenParams
from rxdeepgram._secrets import RedactingLogger
from rxdeepgram._version import USER_AGENT
from rxdeepgram.server import DeepgramServer, ScriptedEngine

pytest.importorskip("picows")

from rxdeepgram._drivers._picows import open_picows

KEY = "dg-secret-key-for-picows-tests-7531"


class Events:
    """A ``TransportEvents`` that records what the transport reports."""

    def __init__(self) -> None:
        self.frames: list[str | bytes] = []
        self.closed: list[tuple[int | None, str]] = []
        self.resumed = 0
        self.late: list[str | bytes] = []  # frames reported after transport_closed
        self.done = asyncio.Event()

    def frame_received(self, data: str | bytes) -> None:
        (self.late if self.closed else self.frames).append(data)

    def write_resumed(self) -> None:
        self.resumed += 1

    def transport_closed(self, code: int | None, reason: str) -> None:
        self.closed.append((code, reason))
        self.done.set()

    async def wait_closed(self, timeout: float = 5.0) -> tuple[int | None, str]:
        await asyncio.wait_for(self.done.wait(), timeout)
        await asyncio.sleep(0.05)  # a second transport_closed would show up here
        assert len(self.closed) == 1, self.closed
        assert self.late == []
        return self.closed[0]


def params(
    url: str,
    *,
    key: str = KEY,
    open_timeout: float = 5.0,
    close_timeout: float = 2.0,
    ping_interval: float | None = None,
    ping_timeout: float | None = None,
    max_size: int = 2**24,
) -> OpenParams:
    return OpenParams(
        url=url,
        headers={"Authorization": f"Token {key}"},
        user_agent=USER_AGENT,
        open_timeout=open_timeout,
        close_timeout=close_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_size=max_size,
        logger=RedactingLogger(logging.getLogger("rxdeepgram.websockets"), (key,)),
        secrets=(key,),
    )


def frame(opcode: Opcode, data: bytes, fin: bool = True, rsv1: bool = False) -> bytes:
    raw = Frame(opcode, data, fin).serialize(mask=False)
    return bytes([raw[0] | 0x40]) + raw[1:] if rsv1 else raw


def close_frame(code: int, reason: str = "") -> bytes:
    return frame(Opcode.CLOSE, Close(code, reason).serialize())


# -- a raw peer ----------------------------------------------------------------------------------

Script = Callable[["Peer"], Awaitable[None]]


class Peer:
    """A raw TCP WebSocket server on 127.0.0.1 port 0 for one connection: completes the handshake
    (or answers ``handshake`` instead), then runs ``script``, which writes raw bytes with
    :meth:`send` and reads the client's frames with :meth:`receive`."""

    def __init__(
        self,
        script: Script | None = None,
        handshake: bytes | None = None,
        read_after: asyncio.Event | None = None,
    ) -> None:
        self.script = script
        self.handshake = handshake
        self.read_after = read_after  # read nothing from the socket before this is set
        self.request = b""
        self.client_frames: list[Frame] = []
        self.eof = asyncio.Event()
        self.finished = asyncio.Event()
        self._parser = ServerProtocol(state=State.OPEN, max_size=None)
        self._frame_arrived = asyncio.Event()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def start(self) -> Peer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        self.url = f"ws://127.0.0.1:{port}/v1/listen?model=nova-3"
        return self

    async def stop(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.server.close()
        await self.server.wait_closed()

    async def __aenter__(self) -> Peer:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.request = await reader.readuntil(b"\r\n\r\n")
        if self.handshake is not None:
            writer.write(self.handshake)
        else:
            key = next(
                line.split(b":", 1)[1].strip()
                for line in self.request.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key:")
            )
            magic = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
            accept = base64.b64encode(hashlib.sha1(key + magic).digest())
            writer.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n"
                b"X-Peer: raw\r\n\r\n"
            )
        reading = asyncio.ensure_future(self._read(reader))
        try:
            if self.script is not None:
                await self.script(self)
        finally:
            self.finished.set()
            await reading

    async def _read(self, reader: asyncio.StreamReader) -> None:
        if self.read_after is not None:
            await self.read_after.wait()
        while True:
            data = await reader.read(65536)
            if not data:
                self.eof.set()
                return
            self._parser.receive_data(data)
            for event in self._parser.events_received():
                if isinstance(event, Frame):
                    self.client_frames.append(event)
                    self._frame_arrived.set()

    def send(self, data: bytes) -> None:
        assert self.writer is not None
        self.writer.write(data)

    async def receive(self, opcode: Opcode, timeout: float = 5.0) -> Frame:
        """The first frame with ``opcode`` the client sent (waiting for it)."""
        return await self.receive_first(lambda f: f.opcode is opcode, timeout)

    async def receive_first(self, match: Callable[[Frame], bool], timeout: float = 5.0) -> Frame:
        """The first frame the client sent that ``match``es (waiting for it)."""

        async def first() -> Frame:
            while True:
                for f in self.client_frames:
                    if match(f):
                        return f
                self._frame_arrived.clear()
                await self._frame_arrived.wait()

        return await asyncio.wait_for(first(), timeout)

    def sent(self, opcode: Opcode) -> list[Frame]:
        return [f for f in self.client_frames if f.opcode is opcode]

    def close_tcp(self) -> None:
        assert self.writer is not None
        self.writer.close()


async def connect(peer: Peer, **kwargs: Any) -> tuple[Opened, Events]:
    events = Events()
    opened = await open_picows(params(peer.url, **kwargs), events)
    return opened, events


def received_close(f: Frame) -> tuple[int, str]:
    close = Close.parse(f.data)
    return close.code, close.reason


# -- against the local Deepgram server ---------------------------------------------------------


async def test_a_session_with_the_local_server_opens_streams_and_closes() -> None:
    async with DeepgramServer(engine=ScriptedEngine(["hello world"])) as server:
        events = Events()
        opened = await open_picows(
            params(server.url + "/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000"),
            events,
        )
        headers = dict(opened.response_headers)
        assert headers.get("dg-request-id")
        assert opened.transport.is_open
        for _ in range(20):
            opened.transport.send(bytes(3200), text=False)
        opened.transport.send(b'{"type": "CloseStream"}', text=True)
        code, _ = await events.wait_closed()
        assert code == 1000
        assert not opened.transport.is_open
        assert events.frames and all(isinstance(f, str) for f in events.frames)
        assert '"Metadata"' in events.frames[-1]
        assert headers["dg-request-id"] in events.frames[-1]


async def test_closing_from_the_client_completes_the_handshake() -> None:
    async with DeepgramServer() as server:
        events = Events()
        opened = await open_picows(params(server.url + "/v1/listen?model=nova-3"), events)
        opened.transport.close(1000, "done")
        assert not opened.transport.is_open
        opened.transport.send(b"ignored", text=False)  # not open: dropped, no error
        opened.transport.close()  # idempotent
        assert await events.wait_closed() == (1000, "done")


async def test_a_refused_key_is_an_authentication_error_without_the_key() -> None:
    wrong = "dg-wrong-key-that-must-not-leak-0001"
    async with DeepgramServer(api_key=KEY) as server:
        events = Events()
        with pytest.raises(AuthenticationError) as caught:
            await open_picows(params(server.url + "/v1/listen?model=nova-3", key=wrong), events)
    error = caught.value
    assert error.status == 401
    assert error.dg_error and error.request_id
    assert error.request_id in error.body  # the JSON body, read whole
    for text in (str(error), repr(error), error.body, error.dg_error):
        assert wrong not in text and KEY not in text
    assert events.closed == [] and events.frames == []


# -- handshake failures ------------------------------------------------------------------------


async def test_the_request_carries_the_headers_and_the_user_agent() -> None:
    async def script(peer: Peer) -> None:
        peer.send(close_frame(1000))
        await peer.receive(Opcode.CLOSE)
        peer.close_tcp()

    async with Peer(script) as peer:
        opened, events = await connect(peer)
        assert await events.wait_closed() == (1000, "")
        request = peer.request.decode()
        assert request.startswith("GET /v1/listen?model=nova-3 HTTP/1.1\r\n")
        assert f"\r\nAuthorization: Token {KEY}\r\n" in request
        assert f"\r\nUser-Agent: {USER_AGENT}\r\n" in request
        assert ("X-Peer", "raw") in opened.response_headers


async def test_a_refused_connection_is_a_connect_error() -> None:
    server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    server.close()
    await server.wait_closed()
    with pytest.raises(ConnectError):
        await open_picows(params(f"ws://127.0.0.1:{port}/v1/listen"), Events())


@pytest.mark.parametrize("url", ["http://127.0.0.1:1/v1/listen", "ws:///v1/listen", "nonsense"])
async def test_a_bad_url_is_a_configuration_error(url: str) -> None:
    with pytest.raises(ConfigurationError):
        await open_picows(params(url), Events())


async def test_a_server_that_never_answers_the_upgrade_times_out() -> None:
    async def script(peer: Peer) -> None:
        await peer.eof.wait()

    async with Peer(script, handshake=b"") as peer:
        with pytest.raises(DeepgramTimeoutError):
            await open_picows(params(peer.url, open_timeout=0.3), Events())
        await asyncio.wait_for(peer.eof.wait(), 2)  # and the socket was not left open


async def test_an_open_cancelled_before_the_answer_leaves_no_connection_behind() -> None:
    """The open is cancelled while picows waits for the answer to the upgrade (a timeout around
    ``connect()``, a cold operator disposed of): when the answer comes after all, the connection
    picows opens then is dropped, not left open with nobody reading it."""
    requested, answer, ended = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        request = await reader.readuntil(b"\r\n\r\n")
        requested.set()
        await answer.wait()
        key = next(
            line.split(b":", 1)[1].strip()
            for line in request.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        accept = base64.b64encode(
            hashlib.sha1(key + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest()
        )
        writer.write(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
            b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
        )
        try:
            while await reader.read(65536):
                pass
        except ConnectionError:
            pass
        ended.set()
        writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        url = f"ws://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1/listen"
        opening = asyncio.ensure_future(open_picows(params(url, open_timeout=30), Events()))
        await asyncio.wait_for(requested.wait(), 5)
        opening.cancel()
        with pytest.raises(asyncio.CancelledError):
            await opening
        answer.set()
        await asyncio.wait_for(ended.wait(), 10)  # the client dropped the late connection
    finally:
        server.close()


async def test_a_handshake_error_body_is_redacted() -> None:
    body = f'{{"err_msg": "bad key Token {KEY}"}}'.encode()
    answer = (
        b"HTTP/1.1 403 Forbidden\r\ndg-error: no\r\ndg-request-id: r-1\r\n"
        + f"Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    async with Peer(handshake=answer) as peer:
        with pytest.raises(AuthenticationError) as caught:
            await open_picows(params(peer.url), Events())
        assert caught.value.status == 403
        assert caught.value.dg_error == "no" and caught.value.request_id == "r-1"
        assert KEY not in caught.value.body and "***" in caught.value.body


async def test_a_429_carries_retry_after() -> None:
    answer = b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 7\r\nContent-Length: 0\r\n\r\n"
    async with Peer(handshake=answer) as peer:
        with pytest.raises(RateLimitError) as caught:
            await open_picows(params(peer.url), Events())
        assert caught.value.status == 429 and caught.value.retry_after == 7


async def test_a_redirect_is_not_followed() -> None:
    answer = b"HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n"
    async with Peer(handshake=answer) as peer:
        with pytest.raises(HandshakeError) as caught:
            await open_picows(params(peer.url), Events())
        assert caught.value.status == 302


async def test_no_secret_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    async def script(peer: Peer) -> None:
        peer.send(close_frame(1000))
        await peer.receive(Opcode.CLOSE)
        peer.close_tcp()

    async with Peer(script) as peer:
        with caplog.at_level(1, logger="rxdeepgram.websockets"):
            _, events = await connect(peer)
            await events.wait_closed()
        assert "Send upgrade request" in caplog.text  # picows' debug output is there...
        assert KEY not in caplog.text  # ...without the key


async def test_a_normal_connection_logs_nothing_at_info(caplog: pytest.LogCaptureFixture) -> None:
    async def script(peer: Peer) -> None:
        peer.send(close_frame(1000))
        await peer.receive(Opcode.CLOSE)
        peer.close_tcp()

    async with Peer(script) as peer:
        with caplog.at_level(logging.DEBUG, logger="rxdeepgram.websockets"):
            _, events = await connect(peer)
            await events.wait_closed()
        records = [r for r in caplog.records if r.name == "rxdeepgram.websockets"]
        assert any("WS connection established" in r.getMessage() for r in records)
        assert any(r.getMessage() == "> Authorization: ***" for r in records)
        assert {r.levelno for r in records} == {logging.DEBUG}  # picows' INFO lines demoted


# -- messages ----------------------------------------------------------------------------------


async def test_text_and_binary_messages_arrive_in_order_then_the_peer_closes() -> None:
    async def script(peer: Peer) -> None:
        peer.send(
            frame(Opcode.TEXT, '{"type": "Results", "é": 1}'.encode())
            + frame(Opcode.BINARY, b"\x00\x01\x02")
            + frame(Opcode.TEXT, b"")
            + frame(Opcode.BINARY, bytes(70_000))  # a 64-bit length
            + frame(Opcode.TEXT, b"x" * 300)  # a 16-bit length
            + close_frame(1000, "bye")
            + frame(Opcode.TEXT, b"after the close frame")
        )
        await peer.receive(Opcode.CLOSE)
        peer.close_tcp()

    async with Peer(script) as peer:
        opened, events = await connect(peer)
        assert await events.wait_closed() == (1000, "bye")
        assert events.frames == [
            '{"type": "Results", "é": 1}',
            b"\x00\x01\x02",
            "",
            bytes(70_000),
            "x" * 300,
        ]
        assert [received_close(f) for f in peer.sent(Opcode.CLOSE)] == [(1000, "bye")]
        assert not opened.transport.is_open


async def test_nothing_is_sent_after_the_echoed_close_frame() -> None:
    async def script(peer: Peer) -> None:
        peer.send(close_frame(1001, "going") + frame(Opcode.PING, b"too late"))
        await peer.receive(Opcode.CLOSE)
        await asyncio.sleep(0.1)
        peer.close_tcp()

    async with Peer(script) as peer:
        opened, events = await connect(peer)
        assert await events.wait_closed() == (1001, "going")
        opened.transport.send(b"{}", text=True)
        assert [f.opcode for f in peer.client_frames] == [Opcode.CLOSE]
        assert received_close(peer.client_frames[0]) == (1001, "going")


async def test_a_close_frame_without_a_code_is_1005_and_echoed_empty() -> None:
    async def script(peer: Peer) -> None:
        peer.send(frame(Opcode.CLOSE, b""))
        await peer.receive(Opcode.CLOSE)
        peer.close_tcp()

    async with Peer(script) as peer:
        _, events = await connect(peer)
        assert await events.wait_closed() == (1005, "")
        assert [f.data for f in peer.sent(Opcode.CLOSE)] == [b""]


async def test_an_application_close_code_is_reported() -> None:
    async def script(peer: Peer) -> None:
        peer.send(close_frame(4001, "NET-0001 idle"))
        await peer.receive(Opcode.CLOSE)
        peer.close_tcp()

    async with Peer(script) as peer:
        _, events = await connect(peer)
        assert await events.wait_closed() == (4001, "NET-0001 idle")


async def test_fragmented_messages_arrive_whole_with_control_frames_between() -> None:
    text = '{"type": "Results", "pad": "' + "é" * 3000 + '"}'
    raw = text.encode()
    cut = raw.index("é".encode()) + 1  # inside a two-byte character

    async def script(peer: Peer) -> None:
        peer.send(
            frame(Opcode.TEXT, raw[:cut], fin=False)
            + frame(Opcode.PING, b"between")
            + frame(Opcode.CONT, raw[cut:4000], fin=False)
            + frame(Opcode.CONT, raw[4000:])
            + frame(Opcode.BINARY, b"ab", fin=False)
            + frame(Opcode.CONT, b"")
            + frame(Opcode.BINARY, b"x", fin=False)
            + frame(Opcode.CONT, b"y", fin=False)
            + frame(Opcode.CONT, b"z")
            + frame(Opcode.TEXT, b"whole")
            + close_frame(1000)
        )
        await peer.receive(Opcode.CLOSE)
        peer.close_tcp()

    async with Peer(script) as peer:
        _, events = await connect(peer)
        assert await events.wait_closed() == (1000, "")
        assert events.frames == [text, b"ab", b"xyz", "whole"]
        assert [f.data for f in peer.sent(Opcode.PONG)] == [b"between"]


async def test_the_peers_pings_are_answered() -> None:
    async def script(peer: Peer) -> None:
        for n in range(3):
            peer.send(frame(Opcode.PING, b"ping %d" % n) + frame(Opcode.TEXT, b"%d" % n))
        while len(peer.sent(Opcode.PONG)) < 3:
            await asyncio.sleep(0.01)
        peer.send(close_frame(1000))
        await peer.receive(Opcode.CLOSE)
        peer.close_tcp()

    async with Peer(script) as peer:
        _, events = await connect(peer)
        assert await events.wait_closed() == (1000, "")
        assert [f.data for f in peer.sent(Opcode.PONG)] == [b"ping 0", b"ping 1", b"ping 2"]
        assert events.frames == ["0", "1", "2"]


# -- keepalive ---------------------------------------------------------------------------------


async def test_our_pings_keep_an_answering_peer_connected() -> None:
    async def script(peer: Peer) -> None:
        answered = 0
        while answered < 3:
            ping = await peer.receive(Opcode.PING)
            peer.client_frames.remove(ping)
            peer.send(frame(Opcode.PONG, bytes(ping.data)))
            answered += 1
        peer.send(close_frame(1000, "enough"))
        await peer.receive(Opcode.CLOSE)
        peer.close_tcp()

    async with Peer(script) as peer:
        _, events = await connect(peer, ping_interval=0.05, ping_timeout=2.0)
        assert await events.wait_closed() == (1000, "enough")


async def test_an_unanswered_ping_fails_the_connection_with_1011() -> None:
    async def script(peer: Peer) -> None:
        await peer.eof.wait()  # reads, answers nothing, never closes

    async with Peer(script) as peer:
        _, events = await connect(peer, ping_interval=0.05, ping_timeout=0.1, close_timeout=0.2)
        assert await events.wait_closed() == (1011, "keepalive ping timeout")
        assert [received_close(f) for f in peer.sent(Opcode.CLOSE)] == [
            (1011, "keepalive ping timeout")
        ]
        assert len(peer.sent(Opcode.PING)) == 1
        await asyncio.wait_for(peer.eof.wait(), 2)


async def test_a_wrong_pong_does_not_count() -> None:
    async def script(peer: Peer) -> None:
        await peer.receive(Opcode.PING)
        peer.send(frame(Opcode.PONG, b"not yours"))
        await peer.eof.wait()

    async with Peer(script) as peer:
        _, events = await connect(peer, ping_interval=0.05, ping_timeout=0.2, close_timeout=0.2)
        assert await events.wait_closed() == (1011, "keepalive ping timeout")


# -- failures ----------------------------------------------------------------------------------


async def test_invalid_utf8_fails_with_1007_and_nothing_after_it_arrives() -> None:
    async def script(peer: Peer) -> None:
        peer.send(
            frame(Opcode.TEXT, b'{"type": "Note"}')
            + frame(Opcode.TEXT, b'{"type": "\xff"}')
            + frame(Opcode.TEXT, b'{"type": "After"}')
        )
        close = await peer.receive(Opcode.CLOSE)
        peer.send(frame(Opcode.TEXT, b"late") + frame(Opcode.CLOSE, bytes(close.data)))
        peer.close_tcp()

    async with Peer(script) as peer:
        _, events = await connect(peer)
        code, reason = await events.wait_closed()
        assert code == 1007 and "position" in reason
        assert events.frames == ['{"type": "Note"}']


async def test_invalid_utf8_across_fragments_fails_with_1007() -> None:
    async def script(peer: Peer) -> None:
        peer.send(frame(Opcode.TEXT, b"ok \xc3", fin=False) + frame(Opcode.CONT, b"(bad"))
        await peer.eof.wait()

    async with Peer(script) as peer:
        _, events = await connect(peer, close_timeout=0.2)
        code, _ = await events.wait_closed()
        assert code == 1007
        assert events.frames == []
        assert [received_close(f)[0] for f in peer.sent(Opcode.CLOSE)] == [1007]


async def test_a_peer_that_never_closes_after_a_failure_is_cut_off() -> None:
    async def script(peer: Peer) -> None:
        peer.send(frame(Opcode.TEXT, b"\xff"))
        await peer.eof.wait()  # no close frame, no FIN: only the client ends this

    async with Peer(script) as peer:
        _, events = await connect(peer, close_timeout=0.2)
        code, _ = await events.wait_closed()
        assert code == 1007  # the code the client sent
        await asyncio.wait_for(peer.eof.wait(), 2)


@pytest.mark.parametrize("fragmented", [False, True])
async def test_a_message_over_max_size_fails_with_1009(fragmented: bool) -> None:
    big = bytes(1001)
    data = (
        frame(Opcode.BINARY, big[:600], fin=False) + frame(Opcode.CONT, big[600:])
        if fragmented
        else frame(Opcode.BINARY, big)
    )

    async def script(peer: Peer) -> None:
        peer.send(frame(Opcode.BINARY, bytes(1000)) + data + frame(Opcode.TEXT, b"after"))
        await peer.eof.wait()

    async with Peer(script) as peer:
        _, events = await connect(peer, max_size=1000, close_timeout=0.3)
        code, _ = await events.wait_closed()
        assert code == 1009
        assert events.frames == [bytes(1000)]
        assert [received_close(f)[0] for f in peer.sent(Opcode.CLOSE)] == [1009]


@pytest.mark.parametrize(
    "bad",
    [
        frame(Opcode.CONT, b"orphan"),
        frame(Opcode.TEXT, b"a", fin=False) + frame(Opcode.TEXT, b"b"),
        frame(Opcode.TEXT, b"{}", rsv1=True),
        frame(Opcode.BINARY, b"\x00", rsv1=True),
        Frame(Opcode.TEXT, b"{}").serialize(mask=True),
    ],
    ids=["lone-continuation", "data-inside-a-fragment", "rsv-text", "rsv-binary", "masked"],
)
async def test_protocol_errors_fail_with_1002(bad: bytes) -> None:
    events = Events()

    async def script(peer: Peer) -> None:
        # in one write: the frame before the bad one is delivered, nothing after it
        peer.send(frame(Opcode.TEXT, b"first") + bad + frame(Opcode.TEXT, b"after"))
        await peer.eof.wait()

    async with Peer(script) as peer:
        await open_picows(params(peer.url, close_timeout=0.3), events)
        code, _ = await events.wait_closed()
        assert code == 1002
        assert events.frames == ["first"]
        assert [received_close(f)[0] for f in peer.sent(Opcode.CLOSE)] == [1002]


async def test_an_error_found_by_picows_leaves_no_unretrieved_exception(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # picows keeps the protocol error it failed the connection with for wait_disconnected(); the
    # transport retrieves it, else asyncio logs "Future exception was never retrieved".
    async def script(peer: Peer) -> None:
        peer.send(Frame(Opcode.TEXT, b"{}").serialize(mask=True))
        close = await peer.receive(Opcode.CLOSE)
        peer.send(frame(Opcode.CLOSE, bytes(close.data)))
        await asyncio.sleep(0.05)
        peer.close_tcp()

    async with Peer(script) as peer:
        opened, events = await connect(peer)
        assert (await events.wait_closed())[0] == 1002
        del opened, events
        await asyncio.sleep(0.05)
        gc.collect()
        assert "never retrieved" not in caplog.text


async def test_a_raising_frame_received_fails_the_connection_with_1011() -> None:
    class Raising(Events):
        def frame_received(self, data: str | bytes) -> None:
            super().frame_received(data)
            raise RuntimeError("a bug in the driver")

    async def script(peer: Peer) -> None:
        peer.send(frame(Opcode.TEXT, b"one") + frame(Opcode.TEXT, b"two"))
        close = await peer.receive(Opcode.CLOSE)
        peer.send(frame(Opcode.CLOSE, bytes(close.data)))
        peer.close_tcp()

    async with Peer(script) as peer:
        events = Raising()
        await open_picows(params(peer.url), events)
        assert await events.wait_closed() == (1011, "internal error")
        assert events.frames == ["one"]


async def test_a_lost_connection_reports_no_code() -> None:
    async def script(peer: Peer) -> None:
        peer.send(frame(Opcode.TEXT, b"one"))
        await asyncio.sleep(0.05)
        peer.close_tcp()

    async with Peer(script) as peer:
        opened, events = await connect(peer)
        assert await events.wait_closed() == (None, "")
        assert events.frames == ["one"]
        opened.transport.close()  # after the end: nothing happens
        opened.transport.abort()


# -- closing from the client -------------------------------------------------------------------


async def test_close_waits_for_the_peers_answer_and_messages_still_arrive() -> None:
    async def script(peer: Peer) -> None:
        close = await peer.receive(Opcode.CLOSE)
        peer.send(frame(Opcode.TEXT, b"in flight") + frame(Opcode.CLOSE, bytes(close.data)))
        await asyncio.sleep(0.05)
        peer.close_tcp()

    async with Peer(script) as peer:
        opened, events = await connect(peer)
        opened.transport.close(1000, "client done")
        assert await events.wait_closed() == (1000, "client done")
        assert events.frames == ["in flight"]


async def test_close_aborts_after_close_timeout_when_the_peer_never_answers() -> None:
    async def script(peer: Peer) -> None:
        await peer.eof.wait()

    async with Peer(script) as peer:
        opened, events = await connect(peer, close_timeout=0.2)
        opened.transport.close(1000)
        assert await events.wait_closed() == (None, "")  # no close frame came back
        assert [received_close(f) for f in peer.sent(Opcode.CLOSE)] == [(1000, "")]
        await asyncio.wait_for(peer.eof.wait(), 2)


async def test_abort_drops_the_connection_at_once() -> None:
    async def script(peer: Peer) -> None:
        peer.send(frame(Opcode.TEXT, b"hello"))
        await peer.eof.wait()

    async with Peer(script) as peer:
        opened, events = await connect(peer, close_timeout=30)
        while not events.frames:
            await asyncio.sleep(0.01)
        opened.transport.abort()
        opened.transport.abort()  # idempotent
        assert await events.wait_closed(timeout=2) == (None, "")
        assert peer.sent(Opcode.CLOSE) == []
        await asyncio.wait_for(peer.eof.wait(), 2)


# -- flow control ------------------------------------------------------------------------------


async def test_writing_pauses_when_the_peer_stops_reading_and_resumes() -> None:
    reading = asyncio.Event()
    async with Peer(read_after=reading) as peer:
        opened, events = await connect(peer)
        transport = opened.transport
        sent = 0
        chunk = bytes(64 * 1024)
        while not transport.write_paused and sent < 2**30:
            transport.send(chunk, text=False)
            sent += 1
            if sent % 64 == 0:
                await asyncio.sleep(0)
        assert transport.write_paused
        assert events.resumed == 0
        reading.set()  # the peer drains the socket now
        for _ in range(500):
            if events.resumed:
                break
            await asyncio.sleep(0.01)
        assert events.resumed == 1 and not transport.write_paused
        transport.abort()
        await events.wait_closed()


# -- the same as the websockets transport ------------------------------------------------------

LIMIT = 1000  # max_size in the differential test


@st.composite
def server_units(draw: st.DrawFn) -> bytes:
    """One unit of what a server may send, well-formed or not."""
    kind = draw(
        st.sampled_from(
            ["text"] * 5
            + ["binary"] * 3
            + ["sized", "ping", "pong", "fragmented", "open_fragment", "ping_inside"]
            + ["bad_utf8", "close", "empty_close", "oversize", "oversize_fragments"]
            + ["rsv", "lone_cont"]
            + ["masked", "bad_opcode", "big_ping", "bad_close_code", "short_close", "bad_reason"]
        )
    )
    if kind == "text":
        return frame(Opcode.TEXT, draw(st.text(max_size=60)).encode())
    if kind == "binary":
        return frame(Opcode.BINARY, draw(st.binary(max_size=60)))
    if kind == "sized":
        size = draw(st.sampled_from([0, 1, 125, 126, LIMIT - 1, LIMIT]))
        return frame(draw(st.sampled_from([Opcode.TEXT, Opcode.BINARY])), b"s" * size)
    if kind == "ping":
        return frame(Opcode.PING, draw(st.binary(max_size=20)))
    if kind == "pong":
        return frame(Opcode.PONG, draw(st.binary(max_size=20)))
    if kind == "fragmented":
        data = draw(st.text(max_size=60)).encode()
        cut = draw(st.integers(0, len(data)))
        opcode = draw(st.sampled_from([Opcode.TEXT, Opcode.BINARY]))
        return frame(opcode, data[:cut], fin=False) + frame(Opcode.CONT, data[cut:])
    if kind == "open_fragment":
        return frame(Opcode.TEXT, b"open", fin=False)
    if kind == "ping_inside":
        return (
            frame(Opcode.BINARY, b"ab", fin=False)
            + frame(Opcode.PING, b"p")
            + frame(Opcode.CONT, b"cd")
        )
    if kind == "bad_utf8":
        return frame(Opcode.TEXT, b'{"type": "\xff"}')
    if kind == "close":
        code = draw(st.sampled_from([1000, 1001, 1011, 4000]))
        return close_frame(code, draw(st.sampled_from(["", "bye", "NET-0001"])))
    if kind == "empty_close":
        return frame(Opcode.CLOSE, b"")
    if kind == "oversize":
        return frame(Opcode.BINARY, bytes(draw(st.integers(LIMIT + 1, 2 * LIMIT))))
    if kind == "oversize_fragments":
        return frame(Opcode.TEXT, b"o" * 600, fin=False) + frame(Opcode.CONT, b"o" * 600)
    if kind == "rsv":
        return frame(Opcode.TEXT, b"{}", rsv1=True)
    # errors picows' parser finds itself
    if kind == "masked":
        return Frame(Opcode.TEXT, b"{}").serialize(mask=True)
    if kind == "bad_opcode":
        return b"\x83\x00"
    if kind == "big_ping":
        return b"\x89\x7e\x00\x7e" + bytes(126)
    if kind == "bad_close_code":
        return frame(Opcode.CLOSE, draw(st.sampled_from([b"\x03\xec", b"\x03\xe7"])))
    if kind == "short_close":
        return frame(Opcode.CLOSE, b"\x03")
    if kind == "bad_reason":
        return frame(Opcode.CLOSE, b"\x03\xe8\xff")
    return frame(Opcode.CONT, b"orphan")


async def _observe(
    opener: Any, pieces: list[bytes], sent_close: bool
) -> tuple[list[str | bytes], int | None]:
    """What a transport reports for a server writing ``pieces`` (one write each, a moment
    apart), then echoing the client's close frame if one comes (unless the server sent its own)
    and closing the TCP connection."""

    async def script(peer: Peer) -> None:
        for piece in pieces:
            peer.send(piece)
            await asyncio.sleep(0.002)
        # A last ping: its pong says the client read everything and is still open; otherwise
        # its close frame comes.
        peer.send(frame(Opcode.PING, b"sentinel"))
        answer = await peer.receive_first(
            lambda f: f.opcode is Opcode.CLOSE or f == Frame(Opcode.PONG, b"sentinel")
        )
        if answer.opcode is Opcode.CLOSE and not sent_close:
            peer.send(frame(Opcode.CLOSE, bytes(answer.data)))
        await asyncio.sleep(0.02)
        peer.close_tcp()

    async with Peer(script) as peer:
        events = Events()
        await opener(params(peer.url, max_size=LIMIT, close_timeout=1.0), events)
        code, _ = await events.wait_closed()
        return events.frames, code


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    units=st.lists(server_units(), min_size=1, max_size=6),
    cuts=st.lists(st.floats(0, 1), max_size=3),
)
async def test_picows_reports_what_the_websockets_transport_reports(
    units: list[bytes], cuts: list[float]
) -> None:
    from rxdeepgram._drivers._websockets import open_websockets

    stream = b"".join(units)
    at = sorted({0, len(stream), *(int(c * len(stream)) for c in cuts)})
    pieces = [stream[a:b] for a, b in itertools.pairwise(at) if b > a]
    sent_close = any(unit[0] == 0x88 for unit in units)  # a close frame (FIN, opcode 8)
    picows = await _observe(open_picows, pieces, sent_close)
    assert picows == await _observe(open_websockets, pieces, sent_close)


def _error_facts(error: BaseException) -> tuple[Any, ...]:
    return (
        type(error),
        getattr(error, "status", None),
        getattr(error, "dg_error", None),
        getattr(error, "request_id", None),
        getattr(error, "body", None),
        getattr(error, "retry_after", None),
    )


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 401 Unauthorized\r\ndg-error: Invalid credentials.\r\ndg-request-id: r-9\r\n"
        b"Content-Type: application/json\r\nContent-Length: 23\r\n\r\n"
        b'{"err_code": "INVALID"}',
        b"HTTP/1.1 400 Bad Request\r\ndg-error: bad model\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 429 Too Many Requests\r\nRetry-After: 3\r\nContent-Length: 5\r\n\r\nslow!",
        b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\ndown",
        b"HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:1/\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: wrong\r\n\r\n",
        b"SSH-2.0-OpenSSH_9.6\r\n\r\n",
        b"",  # the server closes without an answer
    ],
    ids=["401", "400", "429", "503", "302", "bad-accept", "not-http", "no-answer"],
)
async def test_handshake_failures_are_the_websockets_transports(answer: bytes) -> None:
    from rxdeepgram._drivers._websockets import open_websockets

    async def script(peer: Peer) -> None:
        await asyncio.sleep(0.05)
        peer.close_tcp()

    facts = []
    for opener in (open_picows, open_websockets):
        async with Peer(script, handshake=answer) as peer:
            with pytest.raises(DeepgramError) as caught:
                await opener(params(peer.url), Events())
            facts.append(_error_facts(caught.value))
    assert facts[0] == facts[1]
