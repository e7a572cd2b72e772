"""The WebSocket protocol above the frame, which picows leaves to its user: everything the picows
transport does besides handing over whole data messages (:mod:`rxdeepgram._drivers._picows`).

:class:`ProtocolRules` is a part of :class:`~rxdeepgram._drivers._picows.PicowsTransport`:
fragments joined into one message, the 1009 limit on the whole message, invalid UTF-8 failing
with 1007, reserved bits and misplaced continuation frames failing with 1002, the peer's close
frame echoed and reported, our own closing handshake with its ``close_timeout`` (failing the
connection), and our keepalive pings (1011 when one goes unanswered).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable

from picows import WSCloseCode, WSFrame, WSListener, WSMsgType, WSTransport

from .._transport import OpenParams, TransportEvents
from ._internals import ParserFailure

__all__ = ["CLOSING", "FAILED", "OPEN", "PEER_CLOSED", "ProtocolRules"]

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONTINUATION = WSMsgType.CONTINUATION
_PONG = WSMsgType.PONG
_CLOSE = WSMsgType.CLOSE

# States. Data frames are delivered while OPEN or CLOSING (our closing handshake started: the
# server may still send what it had); never after a failure or after the peer's close frame.
OPEN = 0
CLOSING = 1  # we sent a close frame (close())
FAILED = 2  # we sent a close frame with an error code (1002, 1007, 1009, 1011)
PEER_CLOSED = 3  # the peer sent its close frame first; we echoed it


class ProtocolRules(WSListener):
    """The state of one picows connection (its ``__slots__``), and the slow path, the closing
    handshake and the keepalive over it; :class:`~rxdeepgram._drivers._picows.PicowsTransport`
    adds the transport's interface, picows' callbacks and the fast path."""

    __slots__ = (
        "_abandoned",
        "_close_handle",
        "_deliver",
        "_disconnected",
        "_events",
        "_failure",
        "_fast",
        "_fragment_text",
        "_fragments",
        "_loop",
        "_max_size",
        "_params",
        "_parser",
        "_paused",
        "_peer_close",
        "_ping_handle",
        "_ping_payload",
        "_ping_sent_at",
        "_pong_handle",
        "_reading_paused",
        "_state",
        "_ws",
    )

    _params: OpenParams
    _loop: asyncio.AbstractEventLoop
    _ws: WSTransport | None
    _disconnected: bool
    _abandoned: bool
    _state: int
    _fast: bool
    _fragments: bytearray | None
    _fragment_text: bool
    _max_size: int
    _reading_paused: bool
    _peer_close: tuple[int, str] | None
    _close_handle: asyncio.TimerHandle | None
    _parser: ParserFailure
    _failure: tuple[int, str] | None
    _ping_handle: asyncio.TimerHandle | None
    _pong_handle: asyncio.TimerHandle | None
    _ping_payload: bytes
    _ping_sent_at: float
    _deliver: Callable[[str | bytes], None]
    _events: TransportEvents
    _paused: bool

    def abort(self) -> None:
        self._stop_pings()
        ws = self._ws
        if ws is not None and not self._disconnected:
            ws.disconnect(graceful=False)

    # -- everything but a whole data message ------------------------------------------------------

    def _other_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is _CLOSE:
            self._close_received(transport, frame)
            return
        state = self._state
        if state in (FAILED, PEER_CLOSED) or self._disconnected:
            return
        # picows failed the connection: only the frame before the bad one is delivered
        if state == OPEN and transport.is_close_frame_sent and not self._parser.take_grace():
            return
        if msg_type is _PONG:
            if self._pong_handle is not None and frame.get_payload_as_bytes() == self._ping_payload:
                self._pong_handle.cancel()
                self._pong_handle = None
                self._schedule_ping()
            return
        if msg_type is not _TEXT and msg_type is not _BINARY and msg_type is not _CONTINUATION:
            return  # PING: picows answered it (enable_auto_pong)
        # The checks in websockets' order: the size (of the message so far, whatever the
        # frame), then the reserved bits, then the sequence of frames.
        fragments = self._fragments
        size = frame.payload_size + (len(fragments) if fragments is not None else 0)
        if size > self._max_size:
            self._fail(1009, f"over size limit ({size} > {self._max_size} bytes)")
            return
        if frame.rsv1 or frame.rsv2 or frame.rsv3:
            self._fail(1002, "reserved bits must be 0")
            return
        if msg_type is _CONTINUATION:
            if fragments is None:
                self._fail(1002, "unexpected continuation frame")
                return
            fragments += frame.get_payload_as_memoryview()
            if frame.fin:
                self._fragments = None
                self._fast = state == OPEN
                self._deliver_whole(fragments, self._fragment_text)
            return
        if fragments is not None:
            self._fail(1002, "expected a continuation frame")
            return
        if frame.fin:  # a whole message while closing
            self._deliver_whole(frame.get_payload_as_memoryview(), msg_type is _TEXT)
            return
        self._fragments = bytearray(frame.get_payload_as_memoryview())
        self._fragment_text = msg_type is _TEXT
        self._fast = False

    def _deliver_whole(self, payload: bytearray | memoryview, text: bool) -> None:
        if not text:
            self._deliver(bytes(payload))
            return
        try:
            message = str(payload, "utf-8")
        except UnicodeDecodeError as exc:
            self._fail(1007, f"{exc.reason} at position {exc.start}")
            return
        self._deliver(message)

    def _close_received(self, transport: WSTransport, frame: WSFrame) -> None:
        state = self._state
        if self._peer_close is not None or state == FAILED:
            return  # once the client failed the connection, websockets reads nothing more
        if state == OPEN and transport.is_close_frame_sent:  # picows failed the connection
            if self._parser.take_grace():  # it came before the frame picows failed on
                self._peer_close = self._close_status(frame)
            self._state = FAILED
            return
        self._peer_close = self._close_status(frame)
        self._fast = False
        self._fragments = None
        self._stop_pings()
        if state == OPEN:
            # Echo the peer's close frame (as websockets does), then wait for the server to
            # close the TCP connection.
            self._state = PEER_CLOSED
            if frame.payload_size >= 2:  # send_close: picows then sends nothing more (pongs)
                transport.send_close(frame.get_close_code(), frame.get_close_message())
            else:  # send_close always writes a code: echo the empty close frame as it came
                transport.send(_CLOSE, b"")
            self._close_within_timeout()

    @staticmethod
    def _close_status(frame: WSFrame) -> tuple[int, str]:
        if frame.payload_size < 2:
            return 1005, ""  # no status code: what websockets reports
        return frame.get_close_code().value, frame.get_close_reason() or ""

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection: send a close frame with ``code``; the peer has ``close_timeout``
        to finish the closing handshake."""
        ws = self._ws
        self._fast = False
        self._fragments = None
        self._stop_pings()
        state = self._state
        if state == CLOSING:
            self._state = FAILED  # our close frame is out: deliver nothing more
        if state != OPEN or ws is None:
            return
        self._state = FAILED
        self._failure = (code, reason)  # reported even if picows' close frame went out first
        if ws.is_close_frame_sent or self._disconnected:
            return
        ws.send_close(WSCloseCode(code), reason.encode())
        self._close_within_timeout()

    def _close_within_timeout(self) -> None:
        if self._close_handle is None:
            self._close_handle = self._loop.call_later(self._params.close_timeout, self.abort)

    # -- keepalive ----------------------------------------------------------------------------

    def _ping(self) -> None:
        self._ping_handle = None
        ws = self._ws
        if self._state != OPEN or ws is None or ws.is_close_frame_sent:
            return
        self._ping_payload = os.urandom(4)
        self._ping_sent_at = self._loop.time()
        ws.send_ping(self._ping_payload)
        if self._params.ping_timeout is not None:
            self._pong_handle = self._loop.call_later(self._params.ping_timeout, self._no_pong)
        else:
            self._schedule_ping()

    def _schedule_ping(self) -> None:
        interval = self._params.ping_interval
        if interval is not None and self._ping_handle is None and self._state == OPEN:
            self._ping_handle = self._loop.call_at(self._ping_sent_at + interval, self._ping)

    def _no_pong(self) -> None:
        self._pong_handle = None
        timeout = self._params.ping_timeout
        if self._reading_paused and timeout is not None:
            # we are not reading: an unread pong says nothing of the peer
            self._pong_handle = self._loop.call_later(timeout, self._no_pong)
            return
        self._params.logger.debug(
            "no pong within %s s: failing the connection", self._params.ping_timeout
        )
        self._fail(1011, "keepalive ping timeout")
        # a peer that answers no ping will not finish a closing handshake either: the close
        # frame is out (for a peer that is only slow), the TCP connection goes now
        self.abort()

    def _stop_pings(self) -> None:
        if self._ping_handle is not None:
            self._ping_handle.cancel()
            self._ping_handle = None
        if self._pong_handle is not None:
            self._pong_handle.cancel()
            self._pong_handle = None
