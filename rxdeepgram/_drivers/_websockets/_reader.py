"""The websockets transport's reading side: its frame reader, and websockets' own Sans-I/O
path for everything else (see :mod:`rxdeepgram._drivers._websockets`).

:class:`FrameReader` is the base of :class:`~rxdeepgram._drivers._websockets.WebSocketsTransport`
and holds the reading side of one connection: the response to the upgrade (handed to websockets
up to the end of its head, so that the frame reader starts at a frame boundary), the frame reader
itself (every complete, unfragmented text or binary frame goes straight to the receiver), and
websockets' parser for every other frame (fragments joined here, pongs, close frames, failures),
with the writes and the closing-handshake timer that follow from what it reads.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from websockets.client import ClientProtocol
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State

from .._common import ERROR_BODY_LIMIT
from .._transport import OpenParams, TransportEvents

__all__ = ["ANSWER_LIMIT", "FrameReader"]

_TEXT, _BINARY, _CONT, _PONG = Opcode.TEXT, Opcode.BINARY, Opcode.CONT, Opcode.PONG
_OPEN = State.OPEN

ANSWER_LIMIT = 64 * 1024 + ERROR_BODY_LIMIT
"""The most of the raw answer to the upgrade kept (its head and the start of a refusal's body)."""


class FrameReader(asyncio.Protocol):
    """The reading side of one client WebSocket (the attributes are set by the transport)."""

    _protocol: ClientProtocol
    _params: OpenParams
    _events: TransportEvents
    _deliver: Callable[[str | bytes], None]
    _loop: asyncio.AbstractEventLoop
    _socket: asyncio.Transport | None
    handshake: asyncio.Future[Response]
    _open: bool
    _lost: bool
    _fragments: list[bytes] | None
    _fragments_text: bool
    _head_tail: bytes
    _answer: bytearray
    _fast: bool
    _buffer: bytearray
    _need: int
    _fragmented: bool
    _close_handle: asyncio.TimerHandle | None
    _ping_handle: asyncio.TimerHandle | None
    _pong_handle: asyncio.TimerHandle | None
    _ping_data: bytes | None
    _ping: Callable[[], None]

    def abort(self) -> None:
        if self._socket is not None and not self._lost:
            self._socket.abort()

    def _handshake_data(self, data: bytes) -> None:
        """Before the handshake completed: websockets gets the bytes up to the end of the
        response's head (a 101 response has no body), then, if the connection is open, the frame
        reader takes over at the frame boundary that follows."""
        if len(self._answer) < ANSWER_LIMIT:
            self._answer += data[: ANSWER_LIMIT - len(self._answer)]
        seen = self._head_tail + data
        end = seen.find(b"\r\n\r\n")
        if end < 0:
            self._head_tail = seen[-3:]
            self._feed(data)
            return
        cut = end + 4 - (len(seen) - len(data))
        head, rest = data[:cut], data[cut:]
        self._feed(head)
        if self._open and self._protocol.state is _OPEN:
            self._fast = True
            if rest:
                self._read(rest)
        elif rest:
            self._feed(rest)

    def _read(self, data: bytes) -> None:
        """The frame reader: every complete, unfragmented text or binary frame goes straight to
        the driver; every other frame (control frames, fragments, anything unusual) goes to
        websockets whole, so that its parser always waits at a frame boundary. Once the
        connection is closing, websockets reads everything."""
        protocol = self._protocol
        if protocol.state is not _OPEN:
            self._hand_over(data)
            return
        buffer = self._buffer
        if buffer:
            buffer += data
            if len(buffer) < self._need:  # the pending frame is still incomplete: no copy
                return
            data = bytes(buffer)
            buffer.clear()
        deliver = self._deliver
        limit = self._params.max_size
        view = memoryview(data)
        size = len(data)
        need = 0  # the size of the incomplete frame at the end (0: its header is incomplete)
        i = 0
        while size - i >= 2:
            b0 = data[i]
            length = data[i + 1]  # the mask bit is 0 from a server; if not, see below
            head = 2
            if length >= 126:
                if length == 126:
                    if size - i < 4:
                        break
                    length = (data[i + 2] << 8) | data[i + 3]
                    head = 4
                elif length == 127:
                    if size - i < 10:
                        break
                    length = int.from_bytes(view[i + 2 : i + 10])
                    head = 10
                else:  # masked: invalid from a server, websockets says so
                    length = limit + 1
            if length > limit:  # websockets fails the connection with 1009 (or 1002)
                self._hand_over(view[i:])
                return
            end = i + head + length
            if end > size:
                need = end - i
                break
            if (b0 == 0x81 or b0 == 0x82) and not self._fragmented:  # FIN, no RSV, text/binary
                if b0 == 0x82:
                    deliver(bytes(view[i + head : end]))
                else:
                    try:
                        text = str(view[i + head : end], "utf-8")
                    except UnicodeDecodeError as exc:
                        self._fail(CloseCode.INVALID_DATA, _utf8_reason(exc))
                        return
                    deliver(text)
            else:
                opcode = b0 & 0x0F
                if opcode == 1 or opcode == 2:
                    self._fragmented = not b0 & 0x80
                elif opcode == 0 and b0 & 0x80:
                    self._fragmented = False
                if not self._feed(bytes(view[i:end])):
                    return
                if protocol.state is not _OPEN:  # closing: websockets reads the rest
                    self._hand_over(view[end:])
                    return
            i = end
        if i < size:
            buffer += view[i:]
            self._need = need

    def _hand_over(self, rest: bytes | memoryview) -> None:
        """From now on websockets reads everything (after what the reader still holds)."""
        self._fast = False
        pending = bytes(self._buffer) + bytes(rest)
        self._buffer.clear()
        if pending:
            self._feed(pending)

    def _feed(self, data: bytes) -> bool:
        """websockets' own path: parse ``data``, answer (pongs, close), deliver messages.
        ``False`` once the connection has failed here (stop reading)."""
        protocol = self._protocol
        protocol.receive_data(data)
        events: list[Any] = protocol.events_received()
        writes = protocol.data_to_send()
        if writes:
            self._write(writes)
        if not self._open:
            events = self._handshake_events(events)
        deliver = self._deliver
        for frame in events:
            opcode = frame.opcode
            if opcode is _TEXT or opcode is _BINARY:
                if frame.fin:
                    if opcode is _TEXT:
                        try:
                            text = str(frame.data, "utf-8")
                        except UnicodeDecodeError as exc:
                            self._fail(CloseCode.INVALID_DATA, _utf8_reason(exc))
                            return False
                        deliver(text)
                    else:
                        body = frame.data
                        deliver(body if type(body) is bytes else bytes(body))
                else:
                    self._fragments = [bytes(frame.data)]
                    self._fragments_text = opcode is _TEXT
            elif opcode is _CONT:
                if not self._join(frame):
                    return False
            elif opcode is _PONG:
                self._pong(frame)
        if protocol.state is not _OPEN:
            self._closing()
        return True

    def _handshake_events(self, events: list[Any]) -> list[Any]:
        """Before the handshake completed: the response first, then frames."""
        protocol = self._protocol
        if protocol.handshake_exc is not None:
            if not self.handshake.done():
                self.handshake.set_exception(protocol.handshake_exc)
            return []
        if not events:
            return events
        response = events[0]
        assert isinstance(response, Response)
        self._open = True
        self._answer = bytearray()
        if not self.handshake.done():
            self.handshake.set_result(response)
        interval = self._params.ping_interval
        if interval is not None:
            self._ping_handle = self._loop.call_later(interval, self._ping)
        return events[1:]

    def _join(self, frame: Frame) -> bool:
        """A continuation frame; ``False`` once the connection failed (stop reading)."""
        parts = self._fragments
        if parts is None:  # websockets' protocol rejects this before it gets here
            return True
        parts.append(bytes(frame.data))
        if not frame.fin:
            return True
        self._fragments = None
        body = b"".join(parts)
        if self._fragments_text:
            try:
                text = str(body, "utf-8")
            except UnicodeDecodeError as exc:
                self._fail(CloseCode.INVALID_DATA, _utf8_reason(exc))
                return False
            self._deliver(text)
        else:
            self._deliver(body)
        return True

    def _write(self, writes: list[bytes]) -> None:
        socket = self._socket
        if socket is None or self._lost:
            return
        for data in writes:
            if data:
                socket.write(data)
            elif socket.can_write_eof():  # half-close (not possible over TLS)
                with contextlib.suppress(Exception):  # the socket is going anyway
                    socket.write_eof()
            else:
                socket.close()

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection: close frame out, then wait at most ``close_timeout`` for the
        server to close the TCP connection (as websockets' own clients do)."""
        protocol = self._protocol
        protocol.fail(code, reason)
        self._write(protocol.data_to_send())
        self._closing()

    def _closing(self) -> None:
        """The closing handshake is under way: cut the connection off if the server has not
        closed it within ``close_timeout``."""
        if self._close_handle is None and not self._lost and self._protocol.close_expected():
            self._close_handle = self._loop.call_later(self._params.close_timeout, self.abort)

    def _pong(self, frame: Frame) -> None:
        if self._ping_data is not None and frame.data == self._ping_data:
            self._ping_data = None
            if self._pong_handle is not None:
                self._pong_handle.cancel()
                self._pong_handle = None


def _utf8_reason(exc: UnicodeDecodeError) -> str:
    return f"{exc.reason} at position {exc.start}"
