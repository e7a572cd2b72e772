"""What a WebSocket implementation gives the driver: the transport interface.

A transport opens one client WebSocket on the running asyncio loop and then only moves whole
messages: it hands every complete incoming text (``str``) or binary (``bytes``) message to its
:class:`TransportEvents` and sends the frames the driver gives it. Everything else of the
WebSocket protocol is the transport's own business: the handshake, fragmented messages, pings and
pongs (answering the peer's, sending its own every ``ping_interval`` and failing the connection
with 1011 when none is answered within ``ping_timeout``: the close frame is sent and the TCP
connection dropped at once, as a peer that answers no ping will not close either), the closing
handshake (aborting the TCP connection when the peer does not finish it within
``close_timeout``), limits (1009) and invalid UTF-8 (1007).

Two implementations, each chosen by ``ClientConfig.transport`` (``_choice.opener_for``), each
exporting its ``Opener``:

* ``_websockets`` (a package): ``open_websockets``, websockets' Sans-I/O ``ClientProtocol``
  driven by an ``asyncio.Protocol`` of ours, through websockets' public API only;
* ``_picows`` (a package): ``open_picows``, picows (Cython, the ``fast`` extra).

Everything here runs on the event loop's thread; the driver (``_asyncio.py``) does the thread
hops, the queueing while writing is paused, the keepalive and close timers of the session.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import NamedTuple, Protocol

__all__ = ["OpenParams", "Opened", "Opener", "Transport", "TransportEvents"]


class TransportEvents(Protocol):
    """Implemented by the driver; called by the transport on the loop thread."""

    def frame_received(self, data: str | bytes) -> None:
        """One complete message: ``str`` for text (valid UTF-8), ``bytes`` for binary. May be
        called before ``open`` returns (right after the handshake): the driver keeps those."""

    def write_resumed(self) -> None:
        """Writing was paused (``Transport.write_paused``) and may go on."""

    def transport_closed(self, code: int | None, reason: str) -> None:
        """Called once, after the last ``frame_received``, when the TCP connection is gone:
        the peer's close code and reason; else the code the client sent when it failed the
        connection (1007, 1009, 1002, 1011 on a ping timeout); else ``None`` (no close frame,
        what websockets calls 1006)."""


class Transport(Protocol):
    """One open client WebSocket. Loop thread only; no method blocks."""

    @property
    def write_paused(self) -> bool:
        """The socket's write buffer is over its high-water mark: hold further frames until
        ``TransportEvents.write_resumed``."""

    @property
    def is_open(self) -> bool:
        """Frames may still be sent (the closing handshake has not started)."""

    def send(self, data: bytes, text: bool) -> None:
        """Send one frame (text: ``data`` is UTF-8 JSON). Ignored once not open."""

    def deliver_to(self, receiver: Callable[[str | bytes], None]) -> None:
        """From now on hand every complete message to ``receiver`` instead of
        ``TransportEvents.frame_received`` (the driver passes the connection's own handler once
        it is attached: no call in between on the way in). ``receiver`` never raises."""

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Start the closing handshake; abort if the peer has not closed within
        ``close_timeout``. Idempotent."""

    def abort(self) -> None:
        """Drop the TCP connection now. Idempotent; ``transport_closed`` still follows."""

    def pause_reading(self, paused: bool) -> None:
        """Stop (``True``) or resume (``False``) reading the socket. Messages already read may
        still be delivered after the pause; none is lost. Idempotent. Each change is logged at
        DEBUG (``= reading paused`` / ``= reading resumed``)."""


@dataclass(frozen=True, eq=False)
class OpenParams:
    """Everything a transport needs to open one connection."""

    url: str
    """``ws://`` or ``wss://`` URL, query included."""
    headers: dict[str, str]
    """Request headers (Authorization included: never log it unredacted)."""
    user_agent: str
    open_timeout: float
    close_timeout: float
    ping_interval: float | None
    ping_timeout: float | None
    max_size: int
    """The largest message accepted; larger ones fail the connection with 1009."""
    logger: logging.LoggerAdapter[logging.Logger]
    """A redacting logger for the transport's own debug output."""
    secrets: tuple[str, ...]
    """Credentials to mask in every error message."""
    proxy: str | None = None
    """The proxy to tunnel through (``http://[user:password@]host:port``), from the environment
    (``HTTPS_PROXY`` for wss, ``HTTP_PROXY`` for ws, minus ``NO_PROXY``), or ``None``."""


class Opened(NamedTuple):
    transport: Transport
    response_headers: list[tuple[str, str]]
    """The handshake response's headers, in order (``dg-request-id`` among them)."""


Opener = Callable[[OpenParams, TransportEvents], Awaitable[Opened]]
"""``await open(params, events)`` opens a connection on the running loop, or raises a
``DeepgramError`` (``HandshakeError.for_status`` for an HTTP answer other than 101,
``DeepgramTimeoutError``, ``ConnectError``, ``ConfigurationError`` for a bad URL)."""


def set_reading(
    socket: asyncio.Transport,
    paused: bool,
    pong: asyncio.TimerHandle | None,
    ping_timeout: float | None,
    loop: asyncio.AbstractEventLoop,
    no_pong: Callable[[], None],
) -> asyncio.TimerHandle | None:
    """Pause or resume reading ``socket`` (the seed API's back-pressure) for either transport;
    returns the pong timer to keep. On resume a pending pong timer starts a full
    ``ping_timeout`` again: the pong may be behind what was left unread."""
    if paused:
        socket.pause_reading()
        return pong
    socket.resume_reading()
    if pong is not None and ping_timeout is not None:
        pong.cancel()
        return loop.call_later(ping_timeout, no_pong)
    return pong
