"""The picows transport (the ``fast`` extra): :mod:`picows` parses, masks and writes frames in C.

picows hands over every frame as it is (fragments, pongs and close frames included) and leaves the
WebSocket protocol above the frame to its user, so this module adds what websockets does on its
own (see ``_transport.py`` for the contract): fragments joined into one message, the 1009 limit on
the whole message, invalid UTF-8 failing with 1007, reserved bits and misplaced continuation
frames failing with 1002, the peer's close frame echoed and reported, our own closing handshake
with its ``close_timeout``, and our keepalive pings (1011 when one goes unanswered: picows' own
auto-ping would close with 1001).

This module has the transport's interface, picows' listener callbacks and the fast path; the
rest of the protocol is in :mod:`._rules`. Only picows' public API is used, except for the one
signal isolated in :mod:`._internals` (picows' log record of a parser failure). The package is
imported when the picows transport is chosen, never by ``import rxdeepgram``.

Incoming path: picows calls :meth:`PicowsTransport.on_ws_frame` once per frame with a view of its
read buffer; a whole text or binary message in one frame (nearly every message) costs one payload
copy (``get_payload_as_utf8_text`` / ``get_payload_as_bytes``, which also checks the UTF-8) and
one call of the receiver (the connection's own handler once the driver has attached it, see
``Transport.deliver_to``; the driver's ``frame_received`` before): no other allocation.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from picows import (
    WSCloseCode,
    WSError,
    WSFrame,
    WSHandshakeError,
    WSInvalidURL,
    WSMsgType,
    WSTransport,
    ws_connect,
)

from ..._secrets import masker, redact, safe_url, scrub
from ...errors import (
    ConfigurationError,
    ConnectError,
    DeepgramError,
    DeepgramTimeoutError,
)
from .._common import closed_in_handshake, not_http, parse_refusal
from .._transport import Opened, OpenParams, TransportEvents, set_reading
from ._internals import ParserFailure, PicowsLog
from ._rules import CLOSING as _CLOSING
from ._rules import FAILED as _FAILED
from ._rules import OPEN as _OPEN
from ._rules import ProtocolRules

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


class PicowsTransport(ProtocolRules):
    """One client WebSocket over picows: picows' listener and our ``Transport`` in one object."""

    __slots__ = ()

    def __init__(self, params: OpenParams, events: TransportEvents) -> None:
        self._params = params
        self._events = events
        self._deliver = events.frame_received
        self._loop = asyncio.get_running_loop()
        self._max_size = params.max_size
        self._ws = None
        self._disconnected = False
        self._state = _OPEN
        self._fast = True  # OPEN and no fragmented message under way
        self._fragments = None
        self._fragment_text = False
        self._paused = False
        self._reading_paused = False  # pause_reading(True) is in force
        self._peer_close = None
        self._close_handle = None
        self._parser = ParserFailure(self._loop)  # see _internals
        self._abandoned = False  # see abandon
        self._failure = None  # the close code and reason we failed with
        self._ping_handle = None
        self._pong_handle = None
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

    def abandon(self) -> None:
        """The open failed or was cancelled: drop the connection now, or as soon as picows
        completes it after all (when ``ws_connect`` is cancelled while it waits for the answer
        to the upgrade, picows keeps the socket and goes on with the handshake)."""
        self._abandoned = True
        self.abort()

    def pause_reading(self, paused: bool) -> None:
        if paused is self._reading_paused:
            return
        self._reading_paused = paused
        self._params.logger.debug("= reading %s", "paused" if paused else "resumed")
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
        if self._abandoned:
            transport.disconnect(graceful=False)
            return
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
        self._parser.retrieve(transport)
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


async def open_picows(params: OpenParams, events: TransportEvents) -> Opened:
    """Open one connection with picows (the ``Opener`` of the picows transport)."""
    params.logger.debug("= transport: picows")
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
                logger_name=PicowsLog(log, listener._parser),
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
        listener.abandon()
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
