"""The websockets transport: websockets' Sans-I/O ``ClientProtocol`` driven by an
``asyncio.Protocol`` of ours, through websockets' public API only.

websockets parses and builds the frames and runs the protocol (the handshake, pongs, the
closing handshake, limits); this module does the I/O and the rest of what the transport
interface (``_transport.py``) asks: joining fragments, decoding text (1007 on invalid UTF-8),
pings every ``ping_interval`` (1011 when one is not answered within ``ping_timeout``), the
close timeout, flow control.

Incoming messages take the shortest path there is, on the loop's own ``data_received``: no
queue, no task, no future per message. websockets' parser (a generator reading each frame in
three steps) costs about 4 us per frame, as much as the rest of the library; so once the
handshake is over, a frame reader of ours splits the bytes into frames and hands every complete,
unfragmented text or binary frame to ``TransportEvents.frame_received`` itself. Every other frame
(pings, pongs, close, fragments, anything unusual or oversized) goes to websockets'
``receive_data`` whole, so its parser always waits at a frame boundary and runs the protocol as
usual; once the connection is closing, websockets reads everything. All of it through
websockets' public Sans-I/O API: the reader only decides which bytes websockets is given.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import ssl
from collections.abc import Callable
from typing import Any

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidURI
from websockets.frames import CloseCode, Frame, Opcode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from .._secrets import masker, redact, safe_url
from ..errors import ConfigurationError, ConnectError, DeepgramError, HandshakeError
from ._common import ERROR_BODY_LIMIT, map_open_error, parse_refusal
from ._transport import Opened, OpenParams, TransportEvents, set_reading

__all__ = ["WebSocketsTransport", "open_websockets"]

_TEXT, _BINARY, _CONT, _PONG = Opcode.TEXT, Opcode.BINARY, Opcode.CONT, Opcode.PONG
_OPEN = State.OPEN

_ssl_context: ssl.SSLContext | None = None

_ANSWER_LIMIT = 64 * 1024 + ERROR_BODY_LIMIT
"""The most of the raw answer to the upgrade kept (its head and the start of a refusal's body)."""


def _default_ssl() -> ssl.SSLContext:
    global _ssl_context
    if _ssl_context is None:
        _ssl_context = ssl.create_default_context()
    return _ssl_context


async def open_websockets(params: OpenParams, events: TransportEvents) -> Opened:
    """The websockets ``Opener`` (see ``_transport.py``)."""
    error: DeepgramError | None = None
    try:
        uri = parse_uri(params.url)
    except InvalidURI as exc:
        error = ConfigurationError(
            f"invalid URL {redact(safe_url(params.url), params.secrets)!r}: "
            f"{redact(str(exc), params.secrets)}"
        )
    if error is not None:
        raise error
    loop = asyncio.get_running_loop()
    protocol = ClientProtocol(uri, max_size=params.max_size, logger=params.logger)
    transport = WebSocketsTransport(params, events, protocol)
    try:
        async with asyncio.timeout(params.open_timeout):
            ssl_context = _default_ssl() if uri.secure else None
            server_hostname = uri.host if uri.secure else None
            if params.proxy is None:
                await loop.create_connection(
                    lambda: transport,
                    uri.host,
                    uri.port,
                    ssl=ssl_context,
                    server_hostname=server_hostname,
                )
            else:
                from ._proxy import tunnel

                sock = await tunnel(params.proxy, uri.host, uri.port)
                await loop.create_connection(
                    lambda: transport, sock=sock, ssl=ssl_context, server_hostname=server_hostname
                )
            response = await transport.handshake
    except asyncio.CancelledError:
        transport.abort()
        raise
    except Exception as exc:
        transport.abort()
        # A refusal whose body never ends (or a socket error after the head) is still the
        # refusal: picows reports it as soon as the head is in, and so do we.
        error = transport.refusal()
        if error is None:
            error = map_open_error(exc, params.url, params.secrets)
    else:
        return Opened(transport, list(response.headers.raw_items()))
    raise error  # outside the except block: no __context__ that could show a secret


class WebSocketsTransport(asyncio.Protocol):
    """One client WebSocket: an ``asyncio.Protocol`` for the socket, a ``Transport`` for the
    driver."""

    def __init__(
        self, params: OpenParams, events: TransportEvents, protocol: ClientProtocol
    ) -> None:
        self._protocol = protocol
        self._params = params
        self._events = events
        self._deliver: Callable[[str | bytes], None] = events.frame_received
        self._loop = asyncio.get_running_loop()
        self._socket: asyncio.Transport | None = None
        self.handshake: asyncio.Future[Response] = self._loop.create_future()
        self._open = False  # the handshake succeeded (events go to the driver)
        self._lost = False
        self._paused = False
        self._reading_paused = False  # pause_reading(True) is in force
        self._fragments: list[bytes] | None = None
        self._fragments_text = False
        self._head_tail = b""  # the end of the handshake response read so far
        self._answer = bytearray()  # the start of the raw answer to the upgrade (see refusal)
        self._fast = False  # the frame reader reads (see _read)
        self._buffer = bytearray()  # the start of a frame not yet complete
        self._need = 0  # its size, once its header is in
        self._fragmented = False  # a fragmented message is in progress (websockets reads it)
        self._close_handle: asyncio.TimerHandle | None = None
        self._ping_handle: asyncio.TimerHandle | None = None
        self._pong_handle: asyncio.TimerHandle | None = None
        self._ping_data: bytes | None = None

    # -- Transport ------------------------------------------------------------------------------

    @property
    def write_paused(self) -> bool:
        return self._paused

    @property
    def is_open(self) -> bool:
        return self._protocol.state is _OPEN and not self._lost

    def deliver_to(self, receiver: Callable[[str | bytes], None]) -> None:
        self._deliver = receiver

    def send(self, data: bytes, text: bool) -> None:
        protocol = self._protocol
        if protocol.state is not _OPEN or self._lost:
            return
        if text:
            protocol.send_text(data)
        else:
            protocol.send_binary(data)
        self._write(protocol.data_to_send())

    def close(self, code: int = 1000, reason: str = "") -> None:
        protocol = self._protocol
        if protocol.state is _OPEN and not self._lost:
            protocol.send_close(code, reason)
            self._write(protocol.data_to_send())
        self._closing()

    def abort(self) -> None:
        if self._socket is not None and not self._lost:
            self._socket.abort()

    def pause_reading(self, paused: bool) -> None:
        if paused is self._reading_paused:
            return
        self._reading_paused = paused
        socket = self._socket
        if socket is None or self._lost or socket.is_closing():
            return
        self._pong_handle = set_reading(
            socket,
            paused,
            self._pong_handle,
            self._params.ping_timeout,
            self._loop,
            self._ping_timed_out,
        )

    # -- asyncio.Protocol -------------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._socket = transport
        protocol = self._protocol
        try:
            request = protocol.connect()
            request.headers.update(self._params.headers)
            request.headers.setdefault("User-Agent", self._params.user_agent)
            protocol.send_request(request)
        except Exception as exc:  # never asyncio's "Exception in callback" with the headers
            detail = redact(f"{type(exc).__name__}: {exc}", self._params.secrets)
            error = ConnectError(f"could not send the WebSocket handshake: {detail}")
            if not self.handshake.done():
                self.handshake.set_exception(error)
            transport.abort()
            return
        self._write(protocol.data_to_send())

    def data_received(self, data: bytes) -> None:
        if self._fast:
            self._read(data)
        elif self._open:
            self._feed(data)
        else:
            self._handshake_data(data)

    def _handshake_data(self, data: bytes) -> None:
        """Before the handshake completed: websockets gets the bytes up to the end of the
        response's head (a 101 response has no body), then, if the connection is open, the frame
        reader takes over at the frame boundary that follows."""
        if len(self._answer) < _ANSWER_LIMIT:
            self._answer += data[: _ANSWER_LIMIT - len(self._answer)]
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

    def eof_received(self) -> bool | None:
        if self._buffer:  # a truncated frame: websockets reports it
            self._hand_over(b"")
        self._fast = False
        protocol = self._protocol
        protocol.receive_eof()
        self._write(protocol.data_to_send())
        return None  # let asyncio close the socket

    def connection_lost(self, exc: Exception | None) -> None:
        self._lost = True
        protocol = self._protocol
        protocol.receive_eof()  # idempotent: the state becomes CLOSED
        protocol.data_to_send()
        for handle in (self._close_handle, self._ping_handle, self._pong_handle):
            if handle is not None:
                handle.cancel()
        if not self.handshake.done():
            error = protocol.handshake_exc or exc
            self.handshake.set_exception(
                error
                if error is not None
                else ConnectionError("the server closed the connection during the handshake")
            )
        if self._open:
            code, reason = self._close_status()
            if reason and self._params.secrets:  # a server may echo a credential in its reason
                reason = masker(self._params.secrets).mask(reason)
            self._events.transport_closed(code, reason)

    def pause_writing(self) -> None:
        self._paused = True

    def resume_writing(self) -> None:
        self._paused = False
        if self._open:
            self._events.write_resumed()

    def refusal(self) -> HandshakeError | None:
        """The upgrade's refusal (an HTTP answer other than 101), built from the raw answer as the
        picows transport builds its own (``_common.parse_refusal``), or ``None``."""
        answer = bytes(self._answer)
        end = answer.find(b"\r\n\r\n")
        if end < 0 or self._open:
            return None
        return parse_refusal(answer[:end], answer[end + 4 :], self._params.secrets)

    # -- internals --------------------------------------------------------------------------------

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

    def _ping(self) -> None:
        self._ping_handle = None
        protocol = self._protocol
        if protocol.state is not _OPEN or self._lost:
            return
        interval = self._params.ping_interval
        assert interval is not None
        if self._ping_data is None:  # else: the last one is still unanswered; keep waiting
            data = os.urandom(4)
            self._ping_data = data
            protocol.send_ping(data)
            self._write(protocol.data_to_send())
            timeout = self._params.ping_timeout
            if timeout is not None:
                self._pong_handle = self._loop.call_later(timeout, self._ping_timed_out)
        self._ping_handle = self._loop.call_later(interval, self._ping)

    def _pong(self, frame: Frame) -> None:
        if self._ping_data is not None and frame.data == self._ping_data:
            self._ping_data = None
            if self._pong_handle is not None:
                self._pong_handle.cancel()
                self._pong_handle = None

    def _ping_timed_out(self) -> None:
        self._pong_handle = None
        if self._reading_paused:  # we are not reading: an unread pong says nothing of the peer
            timeout = self._params.ping_timeout
            assert timeout is not None
            self._pong_handle = self._loop.call_later(timeout, self._ping_timed_out)
            return
        if self._protocol.state is _OPEN and not self._lost:
            self._params.logger.debug("! timed out waiting for keepalive pong")
            self._fail(CloseCode.INTERNAL_ERROR, "keepalive ping timeout")
            # a peer that answers no ping will not finish a closing handshake either: the
            # close frame is out (for a peer that is only slow), the TCP connection goes now
            self.abort()

    def _close_status(self) -> tuple[int | None, str]:
        protocol = self._protocol
        received, sent = protocol.close_rcvd, protocol.close_sent
        if received is not None:
            return received.code, received.reason
        if sent is not None and sent.code != CloseCode.NORMAL_CLOSURE:
            return sent.code, sent.reason
        return None, ""


def _utf8_reason(exc: UnicodeDecodeError) -> str:
    return f"{exc.reason} at position {exc.start}"
