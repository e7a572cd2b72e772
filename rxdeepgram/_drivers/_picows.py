"""The picows transport (the ``fast`` extra): :mod:`picows` parses, masks and writes frames in C.

picows hands over every frame as it is (fragments, pongs and close frames included) and leaves the
WebSocket protocol above the frame to its user, so this module adds what websockets does on its
own (see ``_transport.py`` for the contract): fragments joined into one message, the 1009 limit on
the whole message, invalid UTF-8 failing with 1007, reserved bits and misplaced continuation
frames failing with 1002, the peer's close frame echoed and reported, our own closing handshake
with its ``close_timeout``, and our keepalive pings (1011 when one goes unanswered: picows' own
auto-ping would close with 1001).

Only picows' public API is used. This module is imported when the picows transport is chosen,
never by ``import rxdeepgram``.

Incoming path: picows calls :meth:`PicowsTransport.on_ws_frame` once per frame with a view of its
read buffer; a whole text or binary message in one frame (nearly every message) costs one payload
copy (``get_payload_as_utf8_text`` / ``get_payload_as_bytes``, which also checks the UTF-8) and
one call of the receiver (the connection's own handler once the driver has attached it, see
``Transport.deliver_to``; the driver's ``frame_received`` before): no other allocation.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from typing import Any

from picows import (
    WSCloseCode,
    WSError,
    WSFrame,
    WSHandshakeError,
    WSInvalidURL,
    WSListener,
    WSMsgType,
    WSTransport,
    ws_connect,
)

from .._secrets import masker, redact, safe_url, scrub
from ..errors import (
    ConfigurationError,
    ConnectError,
    DeepgramError,
    DeepgramTimeoutError,
)
from ._common import closed_in_handshake, not_http, parse_refusal
from ._transport import Opened, OpenParams, TransportEvents, set_reading

__all__ = ["PicowsTransport", "open_picows"]

_TEXT = WSMsgType.TEXT
_BINARY = WSMsgType.BINARY
_CONTINUATION = WSMsgType.CONTINUATION
_PONG = WSMsgType.PONG
_CLOSE = WSMsgType.CLOSE

_READ_BUFFER = 4096
"""picows' initial read buffer (its default is 16 KB): it doubles when a read fills it, so a
connection that only ever receives small JSON messages stays small."""

# picows 2.x uses aiofastnet's socket transports when that package is installed (it is one of
# picows' dependencies). asyncio's own selector transport is used instead: measured on loopback,
# the same messages/s through this transport (1.0-1.3 M/s of 1.2 KB text messages here), and
# 4.6 KB less per open connection (11.8 KB instead of 16.4 KB, tracemalloc, 1,000 connections).

# States. Data frames are delivered while OPEN or CLOSING (our closing handshake started: the
# server may still send what it had); never after a failure or after the peer's close frame.
_OPEN = 0
_CLOSING = 1  # we sent a close frame (close())
_FAILED = 2  # we sent a close frame with an error code (1002, 1007, 1009, 1011)
_PEER_CLOSED = 3  # the peer sent its close frame first; we echoed it


class PicowsTransport(WSListener):
    """One client WebSocket over picows: picows' listener and our ``Transport`` in one object."""

    __slots__ = (
        "_close_handle",
        "_deliver",
        "_disconnected",
        "_events",
        "_failure",
        "_fast",
        "_fragment_text",
        "_fragments",
        "_grace",
        "_loop",
        "_max_size",
        "_params",
        "_paused",
        "_peer_close",
        "_picows_failed",
        "_ping_handle",
        "_ping_payload",
        "_ping_sent_at",
        "_pong_handle",
        "_reading_paused",
        "_state",
        "_ws",
    )

    def __init__(self, params: OpenParams, events: TransportEvents) -> None:
        self._params = params
        self._events = events
        self._deliver: Callable[[str | bytes], None] = events.frame_received
        self._loop = asyncio.get_running_loop()
        self._max_size = params.max_size
        self._ws: WSTransport | None = None
        self._disconnected = False
        self._state = _OPEN
        self._fast = True  # OPEN and no fragmented message under way
        self._fragments: bytearray | None = None
        self._fragment_text = False
        self._paused = False
        self._reading_paused = False  # pause_reading(True) is in force
        self._peer_close: tuple[int, str] | None = None
        self._close_handle: asyncio.TimerHandle | None = None
        self._picows_failed = False  # picows logged an error (see _Quieter)
        self._grace = False  # see _picows_error
        self._failure: tuple[int, str] | None = None  # the close code and reason we failed with
        self._ping_handle: asyncio.TimerHandle | None = None
        self._pong_handle: asyncio.TimerHandle | None = None
        self._ping_payload = b""
        self._ping_sent_at = 0.0

    # -- Transport ------------------------------------------------------------------------------

    @property
    def write_paused(self) -> bool:
        return self._paused

    @property
    def is_open(self) -> bool:
        ws = self._ws
        return (
            self._state == _OPEN
            and ws is not None
            and not ws.is_close_frame_sent
            and not self._disconnected
        )

    def send(self, data: bytes, text: bool) -> None:
        ws = self._ws
        if self._state == _OPEN and ws is not None:
            ws.send(_TEXT if text else _BINARY, data)  # a no-op once picows has sent a close

    def deliver_to(self, receiver: Callable[[str | bytes], None]) -> None:
        self._deliver = receiver

    def close(self, code: int = 1000, reason: str = "") -> None:
        ws = self._ws
        if self._state != _OPEN or ws is None or ws.is_close_frame_sent or self._disconnected:
            return
        self._state = _CLOSING
        self._fast = False
        self._stop_pings()
        ws.send_close(WSCloseCode(code), reason.encode())
        self._close_within_timeout()

    def abort(self) -> None:
        self._stop_pings()
        ws = self._ws
        if ws is not None and not self._disconnected:
            ws.disconnect(graceful=False)

    def pause_reading(self, paused: bool) -> None:
        if paused is self._reading_paused:
            return
        self._reading_paused = paused
        ws = self._ws
        if ws is None or self._disconnected:
            return
        socket = ws.underlying_transport
        if socket.is_closing():
            return
        self._pong_handle = set_reading(
            socket, paused, self._pong_handle, self._params.ping_timeout, self._loop, self._no_pong
        )

    # -- picows' listener -------------------------------------------------------------------------

    def on_ws_connected(self, transport: WSTransport) -> None:
        self._ws = transport
        if self._params.ping_interval is not None:
            self._ping_handle = self._loop.call_later(self._params.ping_interval, self._ping)

    def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        try:
            # Fast path: a whole text or binary message while nothing else is going on (picows
            # has already failed any frame over max_size). A close frame sent by picows itself
            # (a protocol error its parser found) leaves our state OPEN: ``is_close_frame_sent``
            # sends everything after it to the slow path.
            if self._fast and frame.fin and not transport.is_close_frame_sent:
                msg_type = frame.msg_type
                if msg_type is _TEXT:
                    if frame.rsv1 or frame.rsv2 or frame.rsv3:
                        self._fail(1002, "reserved bits must be 0")
                        return
                    try:
                        text = frame.get_payload_as_utf8_text()
                    except UnicodeDecodeError as exc:
                        self._fail(1007, f"{exc.reason} at position {exc.start}")
                        return
                    self._deliver(text)
                    return
                if msg_type is _BINARY:
                    if frame.rsv1 or frame.rsv2 or frame.rsv3:
                        self._fail(1002, "reserved bits must be 0")
                        return
                    self._deliver(frame.get_payload_as_bytes())
                    return
            self._other_frame(transport, frame)
        except Exception as exc:  # the driver's callback raised: never let picows see it
            self._params.logger.error("frame_received raised %s: %s", type(exc).__name__, exc)
            self._fail(1011, "internal error")

    def on_ws_disconnected(self, transport: WSTransport) -> None:
        self._disconnected = True
        self._stop_pings()
        if self._close_handle is not None:
            self._close_handle.cancel()
            self._close_handle = None
        self._fast = False
        self._fragments = None
        if self._picows_failed:
            # picows keeps the error it failed the connection with for wait_disconnected(),
            # which nobody else awaits: asyncio would log it as never retrieved.
            task = self._loop.create_task(_retrieve(transport))
            _RETRIEVING.add(task)
            task.add_done_callback(_RETRIEVING.discard)
        # As websockets' protocol reports it: the peer's close frame if one was read (none is
        # once the client failed the connection), else the one sent unless it was a plain 1000.
        code: int | None = None
        reason = ""
        handshake = transport.close_handshake
        sent = handshake.sent if handshake is not None else None
        recv = handshake.recv if handshake is not None else None
        if self._peer_close is not None:
            code, reason = self._peer_close
        elif self._failure is not None:
            code, reason = self._failure
        elif recv is not None and self._state == _OPEN:
            # A close frame picows parsed but never delivered: its parser failed on the frame
            # after it in the same read (a second close frame...).
            code, reason = recv.code.value or 1005, recv.reason or ""
        elif sent is not None and sent.code.value != 1000:
            code, reason = sent.code.value, sent.reason or ""
        self._state = _FAILED if self._state == _OPEN else self._state
        if reason and self._params.secrets:  # a server may echo a credential in its reason
            reason = masker(self._params.secrets).mask(reason)
        try:
            self._events.transport_closed(code, reason)
        except Exception as exc:  # a bug of the driver's: picows would keep it unretrieved
            self._params.logger.error("transport_closed raised %s: %s", type(exc).__name__, exc)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        try:
            self._events.write_resumed()
        except Exception as exc:  # a bug of the driver's: asyncio's transport would see it
            self._params.logger.error("write_resumed raised %s: %s", type(exc).__name__, exc)

    # -- everything but a whole data message ------------------------------------------------------

    def _other_frame(self, transport: WSTransport, frame: WSFrame) -> None:
        msg_type = frame.msg_type
        if msg_type is _CLOSE:
            self._close_received(transport, frame)
            return
        state = self._state
        if state in (_FAILED, _PEER_CLOSED) or self._disconnected:
            return
        if state == _OPEN and transport.is_close_frame_sent:  # picows failed the connection
            if not self._grace:
                return
            self._grace = False  # the frame before the one picows failed on: deliver it
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
                self._fast = state == _OPEN
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
        if self._peer_close is not None or state == _FAILED:
            return  # once the client failed the connection, websockets reads nothing more
        if state == _OPEN and transport.is_close_frame_sent:  # picows failed the connection
            if self._grace:  # this close frame came before the frame picows failed on
                self._grace = False
                self._peer_close = self._close_status(frame)
            self._state = _FAILED
            return
        self._peer_close = self._close_status(frame)
        self._fast = False
        self._fragments = None
        self._stop_pings()
        if state == _OPEN:
            # Echo the peer's close frame (as websockets does), then wait for the server to
            # close the TCP connection.
            self._state = _PEER_CLOSED
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

    def _picows_error(self) -> None:
        """picows logged an error: it failed the connection (its parser found a
        protocol error) and sent its close frame. The frame before the bad one, if they came
        in one read, is handed over right after, in the same callback: the grace lets that one
        frame through, as websockets would deliver it."""
        if self._picows_failed:
            return  # it logs again at every read after that: only the first error counts
        self._picows_failed = True
        self._grace = True
        self._loop.call_soon(self._end_grace)

    def _end_grace(self) -> None:
        self._grace = False

    def _fail(self, code: int, reason: str) -> None:
        """Fail the connection: send a close frame with ``code``; the peer has ``close_timeout``
        to finish the closing handshake."""
        ws = self._ws
        self._fast = False
        self._fragments = None
        self._stop_pings()
        state = self._state
        if state == _CLOSING:
            self._state = _FAILED  # our close frame is out: deliver nothing more
        if state != _OPEN or ws is None:
            return
        self._state = _FAILED
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
        if self._state != _OPEN or ws is None or ws.is_close_frame_sent:
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
        if interval is not None and self._ping_handle is None and self._state == _OPEN:
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


_RETRIEVING: set[asyncio.Task[None]] = set()


async def _retrieve(transport: WSTransport) -> None:
    with contextlib.suppress(Exception):  # already reported through transport_closed
        await transport.wait_disconnected()


async def open_picows(params: OpenParams, events: TransportEvents) -> Opened:
    """Open one connection with picows (the ``Opener`` of the picows transport)."""
    listener = PicowsTransport(params, events)
    headers = [(name, value) for name, value in params.headers.items()]
    headers.append(("User-Agent", params.user_agent))
    log = params.logger
    debug = log.isEnabledFor(logging.DEBUG)
    if debug:  # the handshake, as websockets logs it (picows only does at its level 9)
        log.debug("> GET %s HTTP/1.1", params.url)
        for name, value in headers:
            log.debug("> %s: %s", name, value)  # the RedactingLogger masks credentials
    try:
        async with asyncio.timeout(params.open_timeout):
            ws, _ = await ws_connect(
                lambda: listener,
                params.url,
                websocket_handshake_timeout=params.open_timeout,
                logger_name=_Quieter(log, listener),
                enable_auto_ping=False,
                enable_auto_pong=True,
                max_frame_size=params.max_size,
                extra_headers=headers,
                max_redirects=0,
                proxy=params.proxy,
                read_buffer_init_size=_READ_BUFFER,
                use_aiofastnet=False,
            )
    except BaseException as exc:
        error = _open_error(exc, params)
        if error is None:
            raise
    else:
        error = None
    if error is not None:
        raise error  # outside the except block: no __context__ that could show a secret
    response = ws.response
    if response is None:  # picows returns when the server closes without answering
        ws.disconnect(graceful=False)
        raise closed_in_handshake(redact(safe_url(params.url), params.secrets))
    response_headers = list(response.headers.items())
    if debug:
        log.debug("< HTTP/1.1 101 Switching Protocols")
        for name, value in response_headers:
            log.debug("< %s: %s", name, value)
    return Opened(listener, response_headers)


class _Quieter(logging.LoggerAdapter[Any]):
    """picows' logger for one connection: its INFO lines (one when a connection opens, one when
    it ends) go out as DEBUG, where websockets puts such lines; everything goes through the
    redacting logger. An ERROR from picows means it failed the connection itself (a protocol
    error its parser found): ``listener`` is told."""

    def __init__(
        self, logger: logging.LoggerAdapter[logging.Logger], listener: PicowsTransport
    ) -> None:
        super().__init__(logger, {})
        self._listener = listener

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level >= logging.ERROR:
            self._listener._picows_error()
        self.logger.log(logging.DEBUG if level == logging.INFO else level, msg, *args, **kwargs)


def _open_error(exc: BaseException, params: OpenParams) -> DeepgramError | None:
    error = _map_error(exc, params)
    if error is not None:
        scrub(error, params.secrets)
    return error


def _map_error(exc: BaseException, params: OpenParams) -> DeepgramError | None:
    url = redact(safe_url(params.url), params.secrets)
    if isinstance(exc, DeepgramError):
        return exc
    if isinstance(exc, WSHandshakeError):
        response = exc.response
        if exc.raw_header is not None and (response is None or response.status != 101):
            refusal = parse_refusal(exc.raw_header, exc.raw_body or b"", params.secrets)
            if refusal is not None:
                return refusal
            return not_http(url)
        detail = redact(str(exc), params.secrets)
        return ConnectError(f"WebSocket handshake with {url} failed: {detail}")
    if isinstance(exc, (WSInvalidURL, ValueError)) and not isinstance(exc, OSError):
        return ConfigurationError(f"invalid URL {url!r}: {redact(str(exc), params.secrets)}")
    if isinstance(exc, TimeoutError):
        return DeepgramTimeoutError(f"opening {url} timed out")
    if isinstance(exc, OSError):
        return ConnectError(f"could not connect to {url}: {redact(str(exc), params.secrets)}")
    if isinstance(exc, WSError):
        return ConnectError(f"could not connect to {url}: {redact(str(exc), params.secrets)}")
    return None
