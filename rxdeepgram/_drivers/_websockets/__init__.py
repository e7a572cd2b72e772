"""The websockets transport: websockets' Sans-I/O ``ClientProtocol`` driven by an
``asyncio.Protocol`` of ours, through websockets' public API only.

websockets parses and builds the frames and runs the protocol (the handshake, pongs, the
closing handshake, limits); this package does the I/O and the rest of what the transport
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

The package: this module dials (directly, or through an ``http://`` proxy's tunnel,
:mod:`._proxy`), runs the handshake and holds :class:`WebSocketsTransport` (the transport's
interface, the socket's callbacks, the keepalive); :mod:`._reader` is its reading side (the
frame reader and websockets' own path).
"""

from __future__ import annotations

import asyncio
import os
import ssl
from collections.abc import Callable

from websockets.client import ClientProtocol
from websockets.exceptions import InvalidURI
from websockets.frames import CloseCode
from websockets.http11 import Response
from websockets.protocol import State
from websockets.uri import parse_uri

from ..._secrets import masker, redact, safe_url
from ...errors import ConfigurationError, ConnectError, DeepgramError, HandshakeError
from .._common import map_open_error, parse_refusal
from .._transport import Opened, OpenParams, TransportEvents, set_reading
from ._reader import FrameReader

__all__ = ["WebSocketsTransport", "open_websockets"]

_OPEN = State.OPEN

_ssl_contexts: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def _default_ssl() -> ssl.SSLContext:
    """The default TLS context, built once per place the CA certificates come from: the system's,
    or those named by OpenSSL's ``SSL_CERT_FILE`` / ``SSL_CERT_DIR``, which
    ``ssl.create_default_context()`` reads when it builds one (a program, or a test, that sets
    them later gets a context that honours them)."""
    key = (os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
    context = _ssl_contexts.get(key)
    if context is None:
        context = _ssl_contexts[key] = ssl.create_default_context()
    return context


async def open_websockets(params: OpenParams, events: TransportEvents) -> Opened:
    """The websockets ``Opener`` (see ``_transport.py``)."""
    params.logger.debug("= transport: websockets")
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


class WebSocketsTransport(FrameReader):
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

    def pause_reading(self, paused: bool) -> None:
        if paused is self._reading_paused:
            return
        self._reading_paused = paused
        self._params.logger.debug("= reading %s", "paused" if paused else "resumed")
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
