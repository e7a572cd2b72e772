"""The wire, for every client and transport: a plain websockets server (or a raw TCP one
gone wrong) that fragments, pings, bursts, sends huge, invalid and oversized messages, stalls,
or never closes. Transport-agnostic: the ``h`` fixture runs each test with both clients on each
transport.
"""

from __future__ import annotations

import json
import logging
import socket
import threading
from collections.abc import Callable
from typing import Any

from harness import Recorder
from websockets.frames import Close, Frame, Opcode
from websockets.sync.server import ServerConnection, serve
from websockets.utils import accept_key

from rxdeepgram import ConnectionClosedError, Unknown
from rxdeepgram._drivers._common import MAX_MESSAGE_BYTES


def frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=False)


# -- the wire: both clients against a plain websockets server ---------------------------------

Scenario = Callable[[ServerConnection], None]


class PlainServer:
    """A websockets (sync) server on 127.0.0.1:0 playing one scenario per connection."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.pings = 0  # pings received from clients (read from websockets' debug log)
        self.pinged = threading.Condition()
        logger = logging.getLogger(f"tests.wire.server.{id(self)}")
        logger.setLevel(logging.DEBUG)
        logger.propagate = False
        logger.addHandler(_PingCounter(self))
        self.server = serve(
            self._handle, "127.0.0.1", 0, compression=None, max_size=None, logger=logger
        )
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"

    def _handle(self, ws: ServerConnection) -> None:
        self.scenario(ws)

    def wait_pings(self, count: int, timeout: float = 30.0) -> bool:
        """Wait until ``count`` pings arrived (``timeout`` only bounds a failing test)."""
        with self.pinged:
            return self.pinged.wait_for(lambda: self.pings >= count, timeout)

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


class _PingCounter(logging.Handler):
    def __init__(self, server: PlainServer) -> None:
        super().__init__(logging.DEBUG)
        self.server = server

    def emit(self, record: logging.LogRecord) -> None:
        if record.getMessage().startswith("< PING"):
            with self.server.pinged:
                self.server.pings += 1
                self.server.pinged.notify_all()


def play(h: Any, scenario: Scenario) -> tuple[Recorder, Recorder, Any]:
    """Connect a Listen V1 client to a server playing ``scenario``; what ``messages`` and
    ``raw`` saw, and the connection."""
    server = PlainServer(scenario)
    try:
        client = h.client(api_key="k", base_url=server.url)
        messages, raw = Recorder(), Recorder()
        with h.connect(client, "listen.v1", model="nova-3", keepalive=False) as conn:
            conn.messages.subscribe(messages)
            conn.raw.subscribe(raw)
            messages.wait()
            raw.wait()
        return messages, raw, conn
    finally:
        server.stop()


def doc(n: int, **extra: Any) -> str:
    return json.dumps({"type": "Note", "n": n, **extra})


def test_fragmented_messages_arrive_whole(h: Any) -> None:
    def scenario(ws: ServerConnection) -> None:
        ws.send(doc(0))
        text = doc(1, pad="y" * 5000)
        ws.send([text[:10], text[10:3000], text[3000:]])  # three fragments
        ws.send([b"\x01\x02", b"\x03"])
        ws.send(doc(2))
        ws.close()

    messages, raw, _ = play(h, scenario)
    assert raw.items == [doc(0), doc(1, pad="y" * 5000), b"\x01\x02\x03", doc(2)]
    assert [m.raw if isinstance(m, Unknown) else m for m in messages.items] == raw.items
    assert messages.completed


def test_the_client_answers_pings_while_messages_flow(h: Any) -> None:
    answered: list[bool] = []

    def scenario(ws: ServerConnection) -> None:
        for n in range(200):
            ws.send(doc(n))
            if n % 50 == 0:
                answered.append(ws.ping(b"are you there").wait(5))
        ws.close()

    messages, _, _ = play(h, scenario)
    assert answered == [True] * 4
    assert [json.loads(m.raw)["n"] for m in messages.items] == list(range(200))


def test_a_burst_of_small_and_huge_messages_arrives_in_order(h: Any) -> None:
    huge = doc(-1, pad="z" * 200_000)  # a 64-bit length header

    def scenario(ws: ServerConnection) -> None:
        for n in range(3000):
            ws.send(doc(n) if n != 1500 else huge)
        ws.send(bytes(70_000))
        ws.close()

    messages, raw, _ = play(h, scenario)
    assert len(raw.items) == 3001
    assert raw.items[1500] == huge and raw.items[-1] == bytes(70_000)
    assert [json.loads(x)["n"] for x in raw.items[:1500]] == list(range(1500))
    assert messages.completed


def test_invalid_utf8_fails_the_connection_with_1007(h: Any) -> None:
    def scenario(ws: ServerConnection) -> None:
        ws.send(doc(0))
        ws.socket.sendall(frame(Opcode.TEXT, b'{"type": "\xff"}'))  # send() would refuse it
        ws.send(doc(1))
        ws.recv()  # until the client closes

    messages, raw, conn = play(h, scenario)
    assert raw.items == [doc(0)]
    assert isinstance(messages.error, ConnectionClosedError)
    assert messages.error.code == 1007
    assert conn.end is messages.error


def test_a_message_over_the_size_limit_fails_the_connection_with_1009(h: Any) -> None:
    def scenario(ws: ServerConnection) -> None:
        ws.send(doc(0))
        ws.send(bytes(MAX_MESSAGE_BYTES + 1))
        ws.recv()

    messages, raw, _ = play(h, scenario)
    assert raw.items == [doc(0)]
    assert isinstance(messages.error, ConnectionClosedError)
    assert messages.error.code == 1009


class SilentServer:
    """A raw TCP server: accepts one WebSocket handshake, sends ``frames``, then reads and
    answers nothing and never closes (a peer gone wrong)."""

    def __init__(self, frames: bytes) -> None:
        self.frames = frames
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"ws://127.0.0.1:{self.listener.getsockname()[1]}"
        self.conns: list[socket.socket] = []
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        self.conns.append(conn)
        head = b""
        while b"\r\n\r\n" not in head:
            head += conn.recv(4096)
        key = next(
            line.split(b":", 1)[1].strip().decode()
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"sec-websocket-key:")
        )
        conn.sendall(
            b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n".encode()
            + self.frames
        )

    def stop(self) -> None:
        for conn in self.conns:
            conn.close()
        self.listener.close()


def test_a_peer_that_never_closes_after_a_protocol_error_is_cut_off(h: Any) -> None:
    # Invalid UTF-8 fails the connection (1007 sent); the peer neither answers nor closes:
    # after close_timeout the client drops the TCP connection itself, as websockets' recv()
    # would, and the stream ends with the 1007 it sent.
    server = SilentServer(frame(Opcode.TEXT, b'{"type":"Note"}') + frame(Opcode.TEXT, b"\xff"))
    try:
        client = h.client(api_key="k", base_url=server.url, close_timeout=0.5)
        seen = Recorder()
        conn = h.open(client, "listen.v1", model="nova-3", keepalive=False)
        conn.messages.subscribe(seen)
        seen.wait(5)
        assert [m.raw for m in seen.items] == ['{"type":"Note"}']
        assert isinstance(seen.error, ConnectionClosedError) and seen.error.code == 1007
    finally:
        server.stop()


def test_frames_sent_with_the_handshake_response_arrive_first_and_in_order(h: Any) -> None:
    # The server's first messages and its close frame come in the very packet of the 101
    # response, before the connection object exists: they are kept and delivered in order.
    close = Frame(Opcode.CLOSE, Close(1000, "bye").serialize()).serialize(mask=False)
    notes = b"".join(frame(Opcode.TEXT, doc(n).encode()) for n in range(3))
    server = SilentServer(notes + close)
    try:
        client = h.client(api_key="k", base_url=server.url, close_timeout=0.5)
        seen = Recorder()
        conn = h.open(client, "listen.v1", model="nova-3", keepalive=False)
        conn.messages.subscribe(seen)
        seen.wait(5)
        assert [m.raw for m in seen.items] == [doc(n) for n in range(3)]
        assert seen.completed and conn.end is None
    finally:
        server.stop()


def test_a_peer_that_answers_no_ping_is_dropped_with_1011(h: Any) -> None:
    # The peer is silent: no pong ever comes back, so after ping_timeout the client fails the
    # connection with 1011 (and drops it after close_timeout, as the peer does not close).
    server = SilentServer(frame(Opcode.TEXT, doc(0).encode()))
    try:
        client = h.client(
            api_key="k",
            base_url=server.url,
            ping_interval=0.1,
            ping_timeout=0.2,
            close_timeout=0.3,
        )
        seen = Recorder()
        conn = h.open(client, "listen.v1", model="nova-3", keepalive=False)
        conn.messages.subscribe(seen)
        seen.wait(5)
        assert [m.raw for m in seen.items] == [doc(0)]
        assert isinstance(seen.error, ConnectionClosedError) and seen.error.code == 1011
    finally:
        server.stop()


def test_answered_pings_keep_an_idle_connection_open(h: Any) -> None:
    # websockets' server answers every ping: several intervals pass, the connection stays up.
    # Both transports send the next ping only once the previous one's pong came back, so the
    # server seeing ping n+1 proves the client took pong n. No wall clock: the test waits for
    # the server to count the pings (the ping timeout is generous, so a loaded machine cannot
    # make a late pong look like a lost one; the wait's bound only ends a failing run).
    released = threading.Event()

    def scenario(ws: ServerConnection) -> None:
        released.wait(60)
        ws.send(doc(0))
        ws.close()

    server = PlainServer(scenario)
    try:
        client = h.client(api_key="k", base_url=server.url, ping_interval=0.02, ping_timeout=30)
        seen = Recorder()
        with h.connect(client, "listen.v1", model="nova-3", keepalive=False) as conn:
            conn.messages.subscribe(seen)
            # nothing else on the wire: four pings, the first three answered and taken
            assert server.wait_pings(4), f"only {server.pings} pings reached the server"
            assert not seen.done.is_set()  # the idle, pinged connection is still open
            released.set()
            seen.wait()
        assert [m.raw for m in seen.items] == [doc(0)]
        assert seen.completed
    finally:
        released.set()
        server.stop()


def test_a_flood_to_a_slow_reader_arrives_whole_and_in_order(h: Any) -> None:
    # The server reads nothing for a while: the socket's buffers fill, the transport pauses
    # writing and the driver holds the frames; then everything arrives, in order.
    chunk = 65_536
    count = 300  # ~20 MB: far more than the socket buffers hold
    got: list[bytes] = []
    release = threading.Event()

    def scenario(ws: ServerConnection) -> None:
        release.wait(10)
        for message in ws:
            if isinstance(message, bytes):
                got.append(message)
            elif json.loads(message).get("type") == "CloseStream":
                break
        ws.close()

    server = PlainServer(scenario)
    try:
        # a send queue big enough for all of it (test_failsafe.py tests the bound)
        client = h.client(api_key="k", base_url=server.url, send_queue_bytes=32 * 2**20)
        seen = Recorder()
        with h.connect(client, "listen.v1", model="nova-3", keepalive=False) as conn:
            conn.messages.subscribe(seen)
            for n in range(count):
                conn.input.on_next(n.to_bytes(4, "big") * (chunk // 4))
            release.set()
        seen.wait()
        assert len(got) == count
        assert [int.from_bytes(g[:4], "big") for g in got] == list(range(count))
        assert all(len(g) == chunk for g in got)
    finally:
        server.stop()
