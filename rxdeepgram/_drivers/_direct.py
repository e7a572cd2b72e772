"""Incoming messages straight from websockets' frame events, without its ``recv()`` queue.

websockets parses the bytes it reads into frames and hands each to its connection's
``process_event``; by default data frames go into an assembler that ``recv()`` and iteration
read from, which costs a queue, a future and a task (or thread) wake-up per message, about as
much as parsing the frame. Both drivers use websockets' connection classes with
``process_event`` overridden to hand each complete message to :class:`Inbox`, which passes it to
the connection at once, on websockets' own reader: ``data_received`` on the event loop (asyncio)
or the ``recv_events`` thread (sync). No reader task or thread of our own, nothing queued.

Messages that arrive between the handshake and :meth:`Inbox.attach` (the driver starting) are
kept and handed over first, in order; so is the end of the connection. Fragmented messages are
joined; a text message that is not valid UTF-8 fails the connection with 1007, as websockets'
``recv()`` would.

Parsing itself is the other half of the cost: websockets' general parser (a generator reading
each frame in three steps) takes about 5 us per frame. :class:`FrameReader` sits in front of
it once the connection is open: it splits the bytes read into frames itself and turns each
complete, unfragmented text or binary frame straight into a message event. Every other frame
(ping, pong, close, fragments, anything malformed or unusual) goes to websockets' parser whole,
in order, so websockets still runs the protocol (pongs, the closing handshake, errors and
limits); after a close frame, everything does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from websockets.asyncio.client import ClientConnection as AsyncClientConnection
from websockets.frames import CloseCode, Frame, Opcode
from websockets.protocol import Protocol, State
from websockets.sync.client import ClientConnection as SyncClientConnection

from ._common import MAX_MESSAGE_BYTES

__all__ = [
    "AsyncDirectConnection",
    "FrameReader",
    "Inbox",
    "SyncDirectConnection",
    "close_status",
]

log = logging.getLogger("rxdeepgram")

_TEXT, _BINARY, _CONT = Opcode.TEXT, Opcode.BINARY, Opcode.CONT
_DATA = frozenset((_TEXT, _BINARY, _CONT))


def close_status(protocol: Protocol) -> tuple[int | None, str]:
    """The close code and reason that describe how a closed connection ended: the server's
    close frame; else the one the client sent when it failed the connection (1007 invalid
    UTF-8, 1009 too big, 1002 protocol error...); else websockets' (1006: no close frame)."""
    received, sent = protocol.close_rcvd, protocol.close_sent
    if received is not None:
        return received.code, received.reason
    if sent is not None and sent.code != CloseCode.NORMAL_CLOSURE:
        return sent.code, sent.reason
    return protocol.close_code, protocol.close_reason or ""


class Inbox:
    """Assembles one connection's data frames into messages and delivers them to the handler
    given to :meth:`attach`. ``frame`` and ``end`` are called by websockets' reader only;
    ``attach`` once, from any thread."""

    __slots__ = ("_early", "_ended", "_fail", "_failed", "_handler", "_lock", "_on_end", "_parts")

    def __init__(self, fail: Callable[[int, str], None]) -> None:
        self._fail = fail
        self._handler: Callable[[str | bytes], None] | None = None
        self._on_end: Callable[[], None] | None = None
        self._early: list[str | bytes] = []
        self._ended = False
        self._failed = False
        self._parts: tuple[bool, list[bytes]] | None = None  # (text?, fragments) in progress
        self._lock = threading.Lock()

    def attach(self, handler: Callable[[str | bytes], None], on_end: Callable[[], None]) -> None:
        """Deliver messages to ``handler`` from now on (those kept so far first) and call
        ``on_end`` once after the last one, when the connection has closed."""
        with self._lock:
            for message in self._early:
                self._call(handler, message)
            self._early.clear()
            self._handler = handler
            self._on_end = on_end
            ended = self._ended
        if ended:
            on_end()

    def take(self, event: object) -> bool:
        """Handle ``event`` if it is a message (from :class:`FrameReader`) or a data frame;
        ``False`` leaves it to websockets (the handshake response, control frames)."""
        if isinstance(event, (str, bytes)):
            self.message(event)
            return True
        if isinstance(event, Frame) and event.opcode in _DATA:
            self.frame(event)
            return True
        return False

    def frame(self, frame: Frame) -> None:
        """One data frame (text, binary or continuation) from the reader."""
        if self._failed:
            return
        opcode = frame.opcode
        if opcode is _CONT:
            if self._parts is None:  # websockets' protocol rejects this; never seen here
                return
            self._parts[1].append(bytes(frame.data))
            if not frame.fin:
                return
            text, parts = self._parts
            self._parts = None
            data: bytes | bytearray | memoryview = b"".join(parts)
        elif not frame.fin:
            self._parts = (opcode is _TEXT, [bytes(frame.data)])
            return
        else:
            text = opcode is _TEXT
            data = frame.data
        if text:
            try:
                message: str | bytes = str(data, "utf-8")
            except UnicodeDecodeError as exc:
                self._failed = True
                self._fail(CloseCode.INVALID_DATA, f"{exc.reason} at position {exc.start}")
                return
        else:
            message = data if type(data) is bytes else bytes(data)
        self.message(message)

    def message(self, message: str | bytes) -> None:
        """One complete message from the reader."""
        if self._failed:
            return
        handler = self._handler
        if handler is None:
            with self._lock:
                handler = self._handler
                if handler is None:
                    self._early.append(message)
                    return
        self._call(handler, message)

    def end(self) -> None:
        """The connection has closed (called once, after the last ``frame``)."""
        with self._lock:
            self._ended = True
            on_end = self._on_end
        if on_end is not None:
            on_end()

    @staticmethod
    def _call(handler: Callable[[str | bytes], None], message: str | bytes) -> None:
        try:
            handler(message)
        except Exception:  # a bug of ours: keep reading, never break websockets' reader
            log.exception("rxdeepgram: handling an incoming message failed")


class FrameReader:
    """The fast path in front of a websockets protocol's parser (see the module docstring).

    Installed on ``protocol`` (its ``receive_data`` and ``receive_eof``). It stays out of the
    way until the handshake is over and websockets' parser waits at a frame boundary with
    nothing buffered, then reads frames itself; complete text frames become ``str`` events and
    binary frames ``bytes`` events in ``protocol.events``, in order with the events websockets
    makes of the frames it is given. It only ever hands websockets whole frames, so websockets'
    parser stays at a frame boundary; a frame header over ``limit`` or a closing connection
    hands everything to websockets from then on.
    """

    __slots__ = (
        "_buffer",
        "_fast",
        "_fragmented",
        "_limit",
        "_need",
        "_protocol",
        "_receive",
        "_receive_eof",
    )

    def __init__(self, protocol: Protocol, limit: int = MAX_MESSAGE_BYTES) -> None:
        self._protocol = protocol
        self._receive = protocol.receive_data
        self._receive_eof = protocol.receive_eof
        self._buffer = bytearray()  # the start of a frame not yet complete
        self._need = 0  # its size, once its header is in
        self._fragmented = False  # a fragmented message is in progress (websockets reads it)
        self._limit = limit
        self._fast = self._at_boundary()
        protocol.receive_data = self.receive_data  # type: ignore[method-assign]
        protocol.receive_eof = self.receive_eof  # type: ignore[method-assign]

    @property
    def fast(self) -> bool:
        """Whether frames are being read by this reader (not websockets' parser)."""
        return self._fast

    def receive_data(self, data: bytes | bytearray) -> None:
        if not self._fast:
            self._receive(data)
            self._fast = self._at_boundary()
            return
        protocol = self._protocol
        if protocol.state is not State.OPEN:  # failed or closing: websockets decides
            self._hand_over(memoryview(bytes(self._buffer) + data))
            self._buffer.clear()
            return
        buffer = self._buffer
        if buffer:
            buffer += data
            if len(buffer) < self._need:  # the pending frame is still incomplete: no copy
                return
            data = bytes(buffer)
            buffer.clear()
        events: list[Any] = protocol.events
        view = memoryview(data)
        size = len(data)
        limit = self._limit
        need = 0  # bytes the incomplete frame at the end needs (0: its header is incomplete)
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
            if length > limit:
                self._hand_over(view[i:])
                return
            end = i + head + length
            if end > size:
                need = end - i
                break
            if (b0 == 0x81 or b0 == 0x82) and not self._fragmented:  # FIN, no RSV, text/binary
                payload = view[i + head : end]
                if b0 == 0x82:
                    events.append(bytes(payload))
                else:
                    try:
                        events.append(str(payload, "utf-8"))
                    except UnicodeDecodeError:  # websockets' parser and the inbox fail it
                        self._receive(bytes(view[i:end]))
            else:
                opcode = b0 & 0x0F
                if opcode in (1, 2):
                    self._fragmented = not b0 & 0x80
                elif opcode == 0 and b0 & 0x80:
                    self._fragmented = False
                self._receive(bytes(view[i:end]))
                if protocol.state is not State.OPEN:  # closing: websockets reads the rest
                    self._hand_over(view[end:])
                    return
            i = end
        if i < size:
            buffer += view[i:]
            self._need = need

    def receive_eof(self) -> None:
        if self._buffer:  # a truncated frame: websockets reports it
            data = bytes(self._buffer)
            self._buffer.clear()
            self._fast = False
            self._receive(data)
        self._receive_eof()

    def _hand_over(self, rest: memoryview) -> None:
        self._fast = False
        if rest:
            self._receive(bytes(rest))

    def _at_boundary(self) -> bool:
        """Is the connection open and websockets' parser waiting for the first byte of a
        frame, with nothing buffered? (Its innermost generator is then the reader's
        ``at_eof``; with websockets' internals changed, this stays false: the slow path.)"""
        protocol = self._protocol
        if protocol.state is not State.OPEN or protocol.reader.buffer:
            return False
        parser: Any = protocol.parser
        while getattr(parser, "gi_yieldfrom", None) is not None:
            parser = parser.gi_yieldfrom
        code = getattr(parser, "gi_code", None)
        return code is not None and code.co_name == "at_eof"


class AsyncDirectConnection(AsyncClientConnection):
    """websockets' asyncio client connection, data messages going to :attr:`inbox`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inbox = Inbox(self._fail_data)
        self.reader = FrameReader(self.protocol)

    def process_event(self, event: Any) -> None:
        if not self.inbox.take(event):
            super().process_event(event)

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.inbox.end()

    def _fail_data(self, code: int, reason: str) -> None:
        # As websockets' recv() does: close frame out, then wait for the server to close the
        # TCP connection for at most close_timeout.
        self.protocol.fail(code, reason)
        self.send_data()
        self.loop.call_later(self.close_timeout or 0.0, self._abort_unclosed)

    def _abort_unclosed(self) -> None:
        if not self.connection_lost_waiter.done():
            self.transport.abort()


class SyncDirectConnection(SyncClientConnection):
    """websockets' sync client connection, data messages going to :attr:`inbox`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.inbox = Inbox(self._fail_data)  # before the reader thread starts
        protocol = args[1] if len(args) > 1 else kwargs["protocol"]
        self.reader = FrameReader(protocol)
        super().__init__(*args, **kwargs)

    def process_event(self, event: Any) -> None:
        if not self.inbox.take(event):
            super().process_event(event)

    def recv_events(self) -> None:
        try:
            super().recv_events()
        finally:
            self.inbox.end()

    def _fail_data(self, code: int, reason: str) -> None:
        # As websockets' recv() does: close frame out, then wait for the server to close the
        # TCP connection for at most close_timeout.
        with self.protocol_mutex:
            self.protocol.fail(code, reason)
            self.send_data()
        timer = threading.Timer(self.close_timeout or 0.0, self._abort_unclosed)
        timer.daemon = True
        timer.start()

    def _abort_unclosed(self) -> None:
        if self.recv_events_thread.is_alive():
            self.close_socket()
