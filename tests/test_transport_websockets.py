"""The websockets transport's frame reader (``rxdeepgram/_drivers/_websockets/_reader.py``).

Differential: the same server byte stream (the 101 response, then frames of every kind), cut at
arbitrary places, goes into the transport with its frame reader and into one where websockets'
parser reads everything: the messages delivered, what the client sends back (pongs, close
replies), the protocol's state and the close status must be the same. The socket is a
recording ``asyncio.Transport``; websockets is the real thing.
"""

from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.client import ClientProtocol
from websockets.frames import Close, Frame, Opcode
from websockets.protocol import State
from websockets.server import ServerProtocol
from websockets.uri import parse_uri
from websockets.utils import accept_key

from rxdeepgram._drivers._transport import OpenParams
from rxdeepgram._drivers._websockets import WebSocketsTransport

LIMIT = 2**17  # max_size of the transports under test


def frame(opcode: Opcode, data: bytes, fin: bool = True) -> bytes:
    return Frame(opcode, data, fin).serialize(mask=False)


MASKED = bytes([0x81, 0x82, 1, 2, 3, 4, ord("{") ^ 1, ord("}") ^ 2])
"""A masked text frame (invalid from a server), with a fixed key."""


def _flip(data: bytes, bits: int) -> bytes:
    return bytes([data[0] | bits]) + data[1:]


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
            + ["masked", "lone_cont", "open_fragment", "ping_inside", "bad_utf8_fragments"]
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
    if kind == "bad_utf8_fragments":
        return frame(Opcode.TEXT, b'{"a": "\xc3', fin=False) + frame(Opcode.CONT, b'("}')
    if kind == "close":
        return frame(Opcode.CLOSE, Close(1000, "bye").serialize())
    if kind == "oversize":
        return frame(Opcode.BINARY, bytes(LIMIT + 1))
    if kind == "rsv":
        return _flip(frame(Opcode.TEXT, b"{}"), 0x40)
    if kind == "masked":
        return MASKED
    return frame(Opcode.CONT, b"orphan")


class Socket(asyncio.Transport):
    """A recording socket: what the client wrote, whether it closed."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.eof = False
        self.closed = False

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def can_write_eof(self) -> bool:
        return True

    def write_eof(self) -> None:
        self.eof = True

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True


class Events:
    def __init__(self) -> None:
        self.messages: list[str | bytes] = []
        self.closed: list[tuple[int | None, str]] = []

    def frame_received(self, data: str | bytes) -> None:
        self.messages.append(data)

    def write_resumed(self) -> None:
        pass

    def transport_closed(self, code: int | None, reason: str) -> None:
        self.closed.append((code, reason))


class WithReader(WebSocketsTransport):
    """The transport as it is, noting whether its reader read."""

    engaged = False

    def _read(self, data: bytes) -> None:
        self.engaged = True
        super()._read(data)


class WithoutReader(WebSocketsTransport):
    """websockets' parser reads every byte (the reference)."""

    def _read(self, data: bytes) -> None:
        self._fast = False
        self._feed(data)


def _unmasked(data: bytes) -> list[tuple[str, bool, bytes]]:
    """The frames a client sent (masked with random keys), as a server reads them."""
    server = ServerProtocol(state=State.OPEN, max_size=None)
    server.receive_data(data)
    return [(e.opcode.name, e.fin, bytes(e.data)) for e in server.events_received()]


async def _run(
    stream: bytes, cuts: list[int], eof: bool, cls: type[WebSocketsTransport]
) -> dict[str, Any]:
    params = OpenParams(
        url="ws://127.0.0.1/",
        headers={},
        user_agent="test",
        open_timeout=5.0,
        close_timeout=5.0,
        ping_interval=None,
        ping_timeout=None,
        max_size=LIMIT,
        logger=logging.LoggerAdapter(logging.getLogger("test")),
        secrets=(),
    )
    protocol = ClientProtocol(parse_uri(params.url), max_size=LIMIT)
    events = Events()
    transport = cls(params, events, protocol)
    socket = Socket()
    transport.connection_made(socket)
    request_size = len(socket.written)
    key = protocol.connect().headers["Sec-WebSocket-Key"]  # the same key: one per protocol
    response = (
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n"
    ).encode()
    data = response + stream
    start = 0
    for end in [*sorted({c + len(response) // 2 for c in cuts}), len(data)]:
        if end > start:
            transport.data_received(data[start:end])
            start = end
    if eof:
        transport.eof_received()
    transport.connection_lost(None)
    assert transport.handshake.done() and transport.handshake.exception() is None
    return {
        "messages": events.messages,
        "sent": _unmasked(bytes(socket.written[request_size:])),
        "state": protocol.state,
        "closed": events.closed,
        "engaged": isinstance(transport, WithReader) and transport.engaged,
    }


def run(stream: bytes, cuts: list[int], eof: bool, cls: type[WebSocketsTransport]) -> Any:
    return asyncio.run(_run(stream, cuts, eof, cls))


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    units=st.lists(server_frames(), min_size=1, max_size=12),
    data=st.data(),
    eof=st.booleans(),
)
def test_the_reader_changes_nothing_websockets_would_see(
    units: list[bytes], data: st.DataObject, eof: bool
) -> None:
    # Invalid UTF-8 fails the connection where it is found; websockets alone parses the whole
    # read before the text is decoded, so what follows it in the same read (a close frame)
    # would count first: a difference of timing, not of meaning. Nothing follows it here.
    bad = [n for n, unit in enumerate(units) if b"\xff" in unit or b"\xc3" in unit]
    if bad:
        units = units[: bad[0] + 1]
    stream = b"".join(units)
    cuts = data.draw(st.lists(st.integers(0, len(stream)), max_size=8))
    if eof:  # sometimes the stream stops in the middle of a frame
        stream = stream[: data.draw(st.integers(0, len(stream)))]
    plain = run(stream, cuts, eof, WithoutReader)
    fast = run(stream, cuts, eof, WithReader)
    assert fast.pop("engaged") or not stream  # the reader did read
    plain.pop("engaged")
    assert fast == plain


CASES = {
    "text after an open fragment": [
        frame(Opcode.TEXT, b"ab", fin=False),
        frame(Opcode.TEXT, b"cd"),
    ],
    "ping between fragments": [
        frame(Opcode.BINARY, b"ab", fin=False),
        frame(Opcode.PING, b"p"),
        frame(Opcode.CONT, b"cd"),
        frame(Opcode.TEXT, b"ef"),
    ],
    "text after close": [
        frame(Opcode.CLOSE, Close(1000, "bye").serialize()),
        frame(Opcode.TEXT, b"x"),
    ],
    "oversize": [frame(Opcode.TEXT, b"a"), frame(Opcode.BINARY, bytes(LIMIT + 1))],
    "oversize in fragments": [
        frame(Opcode.BINARY, bytes(LIMIT // 2 + 1), fin=False),
        frame(Opcode.CONT, bytes(LIMIT // 2 + 1)),
    ],
    "masked": [MASKED, frame(Opcode.TEXT, b"x")],
    "reserved bit": [_flip(frame(Opcode.BINARY, b"{}"), 0x20), frame(Opcode.TEXT, b"x")],
    "lone continuation": [frame(Opcode.CONT, b"x"), frame(Opcode.TEXT, b"y")],
    "pong": [frame(Opcode.PONG, b"p"), frame(Opcode.TEXT, b"y")],
    "bad utf-8": [frame(Opcode.TEXT, b"a"), frame(Opcode.TEXT, b"\xff"), frame(Opcode.TEXT, b"b")],
}


@pytest.mark.parametrize("units", CASES.values(), ids=CASES.keys())
@pytest.mark.parametrize("step", [0, 1, 3])
def test_the_reader_agrees_with_websockets_on_unusual_frames(units: list[bytes], step: int) -> None:
    stream = b"".join(units)
    cuts = list(range(0, len(stream), step)) if step else []
    plain = run(stream, cuts, False, WithoutReader)
    fast = run(stream, cuts, False, WithReader)
    assert fast.pop("engaged")
    plain.pop("engaged")
    assert fast == plain


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
        result = run(stream, list(range(0, len(stream), step)), False, WithReader)
        assert result["messages"] == messages
        assert result["engaged"]
        assert result["closed"] == [(None, "")]  # no close frame: what websockets calls 1006
