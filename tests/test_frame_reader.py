"""The drivers' incoming fast path (``rxdeepgram/_drivers/_direct.py``).

``FrameReader`` reads frames itself in front of websockets' parser. Differential tests feed the
same server byte stream, cut at arbitrary places, to a websockets client protocol with and
without the reader: the events (messages, control frames, fragments), what the protocol sends
back (pongs, close replies), its state and its errors must be the same. Then the wire: both
clients against a plain websockets server that fragments, pings, bursts, sends huge, invalid
and oversized messages.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable
from typing import Any

from harness import Recorder
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.sync.server import ServerConnection, serve
from websockets.uri import parse_uri
from websockets.utils import accept_key

from rxdeepgram import ConnectionClosedError, Unknown
from rxdeepgram._drivers._common import MAX_MESSAGE_BYTES
from rxdeepgram._drivers._direct import FrameReader

LIMIT = 2**17  # max_size of the protocols under test


# -- differential: FrameReader + websockets vs websockets alone -------------------------------


def frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=False)


def _flip(data: bytes, byte: int, bits: int) -> bytes:
    return (
        bytes([data[0] | bits]) + data[1:]
        if byte == 0
        else data[:1] + bytes([data[1] | bits]) + data[2:]
    )


SIZES = st.sampled_from([0, 1, 2, 125, 126, 127, 1300, 65535, 65536, 70000])
TEXT = st.text(max_size=200)


@st.composite
def server_frames(draw: st.DrawFn) -> bytes:
    """One unit of a server's output: mostly messages, sometimes anything else."""
    kind = draw(
        st.sampled_from(
            ["text"] * 6
            + ["binary"] * 3
            + ["sized", "ping", "pong", "fragmented", "bad_utf8", "close", "oversize", "rsv"]
            + ["masked", "lone_cont", "open_fragment", "ping_inside"]
        )
    )
    if kind == "text":
        return frame(Opcode.TEXT, draw(TEXT).encode())
    if kind == "binary":
        return frame(Opcode.BINARY, draw(st.binary(max_size=300)))
    if kind == "sized":
        size = draw(SIZES)
        opcode = draw(st.sampled_from([Opcode.TEXT, Opcode.BINARY]))
        return frame(opcode, b"x" * size)
    if kind == "ping":
        return frame(Opcode.PING, draw(st.binary(max_size=125)))
    if kind == "pong":
        return frame(Opcode.PONG, draw(st.binary(max_size=125)))
    if kind == "fragmented":
        text = draw(TEXT).encode()
        cut = draw(st.integers(0, len(text)))
        opcode = draw(st.sampled_from([Opcode.TEXT, Opcode.BINARY]))
        return frame(opcode, text[:cut], fin=False) + frame(Opcode.CONT, text[cut:])
    if kind == "open_fragment":  # never finished: a data frame after it is a protocol error
        return frame(Opcode.TEXT, draw(TEXT).encode(), fin=False)
    if kind == "ping_inside":  # control frames may come between fragments
        return (
            frame(Opcode.BINARY, b"ab", fin=False)
            + frame(Opcode.PING, b"p")
            + frame(Opcode.CONT, b"cd", fin=False)
            + frame(Opcode.CONT, b"ef")
        )
    if kind == "bad_utf8":
        return frame(Opcode.TEXT, b'{"type": "\xff\xfe"}')
    if kind == "close":
        return frame(Opcode.CLOSE, Close(1000, "bye").serialize())
    if kind == "oversize":
        return frame(Opcode.BINARY, bytes(LIMIT + 1))
    if kind == "rsv":
        return _flip(frame(Opcode.TEXT, b"{}"), 0, 0x40)
    if kind == "masked":
        return Frame(Opcode.TEXT, b"{}").serialize(mask=True)
    return frame(Opcode.CONT, b"orphan")


def _normal(events: list[Any]) -> list[Any]:
    """Events in one comparable form: complete text/binary frames as their message."""
    out: list[Any] = []
    for event in events:
        if isinstance(event, Frame):
            if event.fin and event.opcode is Opcode.TEXT:
                try:
                    out.append(str(event.data, "utf-8"))
                except UnicodeDecodeError:
                    out.append(("invalid utf-8", bytes(event.data)))
                continue
            if event.fin and event.opcode is Opcode.BINARY:
                out.append(bytes(event.data))
                continue
            out.append((event.opcode.name, event.fin, bytes(event.data)))
        else:
            out.append(event)
    return out


def _unmasked(data: bytes) -> list[tuple[str, bool, bytes]]:
    """The frames a client protocol sent (masked with random keys), as a server reads them."""
    server = ServerProtocol(state=State.OPEN, max_size=None)
    server.receive_data(data)
    return [(e.opcode.name, e.fin, bytes(e.data)) for e in server.events_received()]


def _run(stream: bytes, cuts: list[int], eof: bool, fast: bool) -> dict[str, Any]:
    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN, max_size=LIMIT)
    reader = FrameReader(protocol, LIMIT) if fast else None
    events: list[Any] = []
    sent = bytearray()
    engaged = False
    start = 0
    for end in [*sorted(set(cuts)), len(stream)]:
        if end <= start:
            continue
        protocol.receive_data(stream[start:end])
        start = end
        events += protocol.events_received()
        sent += b"".join(protocol.data_to_send())
        engaged = engaged or bool(reader and reader.fast)
    if eof:
        protocol.receive_eof()
        events += protocol.events_received()
        sent += b"".join(protocol.data_to_send())
    return {
        "events": _normal(events),
        "sent": _unmasked(bytes(sent)),
        "state": protocol.state,
        "close_code": protocol.close_code,
        "error": type(protocol.parser_exc).__name__ if protocol.parser_exc else None,
        "engaged": engaged,
    }


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    units=st.lists(server_frames(), min_size=1, max_size=12),
    data=st.data(),
    eof=st.booleans(),
)
def test_the_reader_changes_nothing_websockets_would_see(
    units: list[bytes], data: st.DataObject, eof: bool
) -> None:
    stream = b"".join(units)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    if eof:  # sometimes the stream stops in the middle of a frame
        stream = stream[: data.draw(st.integers(0, len(stream)))]
    plain = _run(stream, cuts, eof, fast=False)
    fast = _run(stream, cuts, eof, fast=True)
    engaged = fast.pop("engaged")
    plain.pop("engaged")
    assert fast == plain
    assert engaged or fast["state"] is not State.OPEN  # the fast path did the reading


def test_many_frames_split_everywhere_arrive_whole_and_in_order() -> None:
    messages: list[str | bytes] = [json.dumps({"type": "Results", "n": n}) for n in range(50)]
    messages += [bytes([n % 256]) * n for n in range(0, 300, 7)]
    stream = b"".join(
        frame(
            Opcode.TEXT if isinstance(m, str) else Opcode.BINARY,
            m.encode() if isinstance(m, str) else m,
        )
        for m in messages
    )
    for step in (1, 2, 3, 7, 64, 1000):
        result = _run(stream, list(range(step, len(stream), step)), eof=False, fast=True)
        assert result["events"] == messages
        assert result["engaged"]


def test_the_reader_waits_for_the_handshake_and_a_frame_boundary() -> None:
    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/"), max_size=LIMIT)  # CONNECTING
    reader = FrameReader(protocol, LIMIT)
    request = protocol.connect()
    protocol.send_request(request)
    key = request.headers["Sec-WebSocket-Key"]
    response = (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
    ).encode()
    hello = frame(Opcode.TEXT, b'{"type":"Welcome"}')
    # The response and the first frame's header in one read: websockets keeps the rest.
    protocol.receive_data(response + hello[:2])
    assert protocol.state is State.OPEN and not reader.fast
    protocol.receive_data(hello[2:])  # websockets ends that frame: now at a boundary
    assert reader.fast and protocol.reader.buffer == b""
    protocol.receive_data(frame(Opcode.TEXT, b'{"type":"Next"}'))  # read by the reader
    assert reader.fast
    events = protocol.events_received()
    assert _normal(events[1:]) == ['{"type":"Welcome"}', '{"type":"Next"}']


def test_once_the_connection_is_closing_websockets_reads_everything() -> None:
    # After the client failed or started closing the connection, websockets decides what the
    # frames still coming mean (it discards them after a failure): the reader steps aside.
    protocol = ClientProtocol(parse_uri("ws://127.0.0.1/"), state=State.OPEN, max_size=LIMIT)
    reader = FrameReader(protocol, LIMIT)
    assert reader.fast
    protocol.fail(1007, "invalid start byte at position 0")
    protocol.receive_data(frame(Opcode.TEXT, b'{"type":"Late"}'))
    assert not reader.fast
    assert protocol.events_received() == []  # discarded, as websockets alone does


# -- the wire: both clients against a plain websockets server ---------------------------------

Scenario = Callable[[ServerConnection], None]


class PlainServer:
    """A websockets (sync) server on 127.0.0.1:0 playing one scenario per connection."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.pongs: list[bool] = []
        self.server = serve(self._handle, "127.0.0.1", 0, compression=None, max_size=None)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"ws://127.0.0.1:{self.server.socket.getsockname()[1]}"

    def _handle(self, ws: ServerConnection) -> None:
        self.scenario(ws)

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join(5)


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
        ws.send(b'{"type": "\xff"}', text=True)
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


def test_the_fast_path_is_what_reads_an_open_connection(h: Any) -> None:
    # With the websockets version installed, the reader takes over right after the handshake
    # (if websockets' internals change, it would silently stay on the slow path: fail here).
    def scenario(ws: ServerConnection) -> None:
        for n in range(100):
            ws.send(doc(n))
        ws.recv()  # the client's go-ahead
        ws.close()

    server = PlainServer(scenario)
    try:
        client = h.client(api_key="k", base_url=server.url)
        seen = Recorder()
        with h.connect(client, "listen.v1", model="nova-3", keepalive=False) as conn:
            conn.messages.subscribe(seen)
            deadline = threading.Event()
            for _ in range(200):
                if len(seen.items) == 100:
                    break
                deadline.wait(0.02)
            assert len(seen.items) == 100
            assert conn._driver._ws.reader.fast
            conn.input.on_next(b"\x00\x00")
            seen.wait()
    finally:
        server.stop()


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
