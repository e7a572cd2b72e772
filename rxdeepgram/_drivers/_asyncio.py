"""The driver: one for both clients and both transports.

It opens a :class:`~._transport.Transport` with the chosen ``Opener`` on the running loop and
sits between it and the connection: incoming messages go straight to ``conn._on_frame`` (on the
transport's callback: no queue, no task; once attached, the transport calls it itself, see
``Transport.deliver_to``), outgoing frames are sent at once when ``put`` is
called on the loop's thread with nothing queued, else queued in a deque that the loop flushes
(in order; held while the socket's write buffer is full). The audio in that queue is bounded by
``send_queue_bytes``: past it ``put`` raises ``BufferOverflowError`` at the caller and takes
nothing; a chunk over ``MAX_AUDIO_FRAME`` goes out as several frames. The keepalive and close
timers are ``call_later`` handles; a close that times out drops the TCP connection at once (a
peer that did not finish in ``close_timeout`` is not waited on a second time).

The async client runs it on the caller's loop; the sync client on the one I/O loop shared by
every sync connection (``_loop.py``).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from .._connection import AsyncConnection, Connection, ConnectionBase
from .._ioloop import io_loop
from .._secrets import RedactingLogger, check_headers
from .._session import DEFAULT_SEND_QUEUE_BYTES, Frame, Session
from .._version import USER_AGENT
from ..errors import BufferOverflowError, DeepgramError, DeepgramTimeoutError
from ._choice import opener_for
from ._common import (
    CLOSE,
    MAX_AUDIO_FRAME,
    MAX_MESSAGE_BYTES,
    WIRE_LOG,
    map_open_error,
    proxy_for,
)
from ._transport import OpenParams, Transport

__all__ = ["Driver", "open_async", "open_on_io_loop"]

log = logging.getLogger("rxdeepgram")

C = TypeVar("C", bound=ConnectionBase[Any, Any])


async def open_async(
    session: Session,
    url: str,
    headers: dict[str, str],
    *,
    open_timeout: float,
    close_timeout: float,
    ping_interval: float | None,
    ping_timeout: float | None,
    secrets: tuple[str, ...],
    connection_kwargs: dict[str, Any],
    transport: str | None = None,
    send_queue_bytes: int = DEFAULT_SEND_QUEUE_BYTES,
    connection_class: type[C] = AsyncConnection,  # type: ignore[assignment]
    on_finished: Callable[[], None] | None = None,
) -> C:
    """Open the socket on the running loop and start the driver; raises a ``DeepgramError`` if
    that fails. ``on_finished`` is called once the socket is closed (not if the open fails)."""
    opener = opener_for(transport)
    headers = check_headers(headers, "headers")  # checked when configured; again, for any path
    proxy = proxy_for(url)
    if proxy is not None:
        parts = urlsplit(proxy)
        if parts.password:  # the password and the Basic token it goes out in
            user, password = unquote(parts.username or ""), unquote(parts.password)
            basic = base64.b64encode(f"{user}:{password}".encode()).decode()
            secrets = (*secrets, parts.password, password, basic)
    params = OpenParams(
        url=url,
        headers=headers,
        user_agent=USER_AGENT,
        open_timeout=open_timeout,
        close_timeout=close_timeout,
        ping_interval=ping_interval,
        ping_timeout=ping_timeout,
        max_size=MAX_MESSAGE_BYTES,
        logger=RedactingLogger(WIRE_LOG, secrets),
        secrets=secrets,
        proxy=proxy,
    )
    driver = Driver(session, send_queue_bytes)
    error: DeepgramError | None = None
    try:
        opened = await opener(params, driver)
    except Exception as exc:  # whatever a transport let through: still the error tree
        error = map_open_error(exc, url, secrets)  # masks secrets (and DeepgramErrors too)
    if error is not None:
        raise error  # outside the except block: no __context__ that could show a secret
    request_id = None
    for name, value in opened.response_headers:
        if name.lower() == "dg-request-id":
            request_id = value
            break
    conn = connection_class(
        session,
        url=url,
        request_id=request_id,
        response_headers=dict(opened.response_headers),
        close_timeout=close_timeout,
        **connection_kwargs,
    )
    conn._attach(driver)
    driver.attach(conn, opened.transport, on_finished)
    return conn


class Driver:
    """Moves frames between one ``Transport`` and one connection; the ``TransportEvents`` of
    the former and the ``Driver`` (``_connection.py``) of the latter."""

    __slots__ = (
        "_close_handle",
        "_closed",
        "_conn",
        "_early",
        "_flush_scheduled",
        "_hard_abort",
        "_keepalive_handle",
        "_limit",
        "_loop",
        "_on_finished",
        "_pending",
        "_queued",
        "_session",
        "_thread",
        "_transport",
        "_written",
    )

    def __init__(self, session: Session, send_queue_bytes: int = DEFAULT_SEND_QUEUE_BYTES) -> None:
        self._session = session
        self._limit = send_queue_bytes
        # audio bytes ever queued (written by the senders, under the session's lock) and ever
        # taken off the queue (written by the loop thread only): their difference is what the
        # queue holds, with no counter that two threads write
        self._queued = 0
        self._written = 0
        self._hard_abort = False
        self._loop = asyncio.get_running_loop()
        self._thread = threading.get_ident()
        self._conn: ConnectionBase[Any, Any] | None = None
        self._transport: Transport | None = None
        self._early: list[str | bytes] = []  # messages before attach
        self._closed: tuple[int | None, str] | None = None  # transport_closed before attach
        self._pending: deque[Any] = deque()
        self._flush_scheduled = False
        self._keepalive_handle: asyncio.TimerHandle | None = None
        self._close_handle: asyncio.TimerHandle | None = None
        self._on_finished: Callable[[], None] | None = None

    def attach(
        self,
        conn: ConnectionBase[Any, Any],
        transport: Transport,
        on_finished: Callable[[], None] | None = None,
    ) -> None:
        """Start delivering to ``conn`` (what arrived since the handshake first, in order)."""
        self._transport = transport
        self._on_finished = on_finished
        early, self._early = self._early, []
        for message in early:
            self._deliver(conn, message)
        self._conn = conn
        transport.deliver_to(conn._on_frame)  # from now on, straight to the connection
        if self._closed is not None:
            self._ended(conn, *self._closed)
            return
        self._keepalive()
        if self._pending:
            self._flush()

    # -- TransportEvents (loop thread) ----------------------------------------------------------

    def frame_received(self, data: str | bytes) -> None:
        conn = self._conn
        if conn is None:
            self._early.append(data)
            return
        try:
            conn._on_frame(data)
        except Exception:  # a bug of ours: keep reading, never break the transport
            log.exception("rxdeepgram: handling an incoming message failed")

    def write_resumed(self) -> None:
        if self._pending:
            self._flush()

    def transport_closed(self, code: int | None, reason: str) -> None:
        for handle in (self._keepalive_handle, self._close_handle):
            if handle is not None:
                handle.cancel()
        self._drop_pending()
        conn = self._conn
        if conn is None:
            self._closed = (code, reason)
        else:
            self._ended(conn, code, reason)

    # -- Driver protocol (any thread, never blocks) ------------------------------------------

    def put(self, frame: Frame) -> None:
        if not frame.text:
            self._put_audio(frame.data)
            return
        if not self._pending and threading.get_ident() == self._thread:
            transport = self._transport
            if transport is not None and not transport.write_paused:
                transport.send(frame.data, frame.text)
                return
        self._pending.append(frame)
        self._schedule_flush()

    def _put_audio(self, data: bytes) -> None:
        """Audio: refused at the caller (``BufferOverflowError``, nothing taken) when the queue
        cannot hold it; sent in frames of at most ``MAX_AUDIO_FRAME`` bytes."""
        size = len(data)
        if size > MAX_AUDIO_FRAME:
            self.check_room(size)
            for offset in range(0, size, MAX_AUDIO_FRAME):
                self._put_audio(data[offset : offset + MAX_AUDIO_FRAME])
            return
        if not self._pending and threading.get_ident() == self._thread:
            transport = self._transport
            if transport is not None and not transport.write_paused:
                transport.send(data, False)
                return
        queued = self._queued + size
        if queued - self._written > self._limit:
            self.check_room(size)
        self._queued = queued
        self._pending.append(Frame(data, False))
        self._schedule_flush()

    def check_room(self, size: int, promised: int = 0) -> None:
        """Raise ``BufferOverflowError`` if ``size`` more bytes of audio do not fit, besides
        ``promised`` bytes on their way to the queue (any thread)."""
        held = self._queued - self._written + promised
        if held + size <= self._limit:
            return
        name = self._session.spec.name
        if size > self._limit:
            raise BufferOverflowError(
                f"{name}: a chunk of {size} bytes of audio is larger than the send queue "
                f"({self._limit} bytes, send_queue_bytes=): send smaller chunks"
            )
        raise BufferOverflowError(
            f"{name}: the send queue is full ({held} bytes of audio not yet written to a slow "
            f"or stalled connection, send_queue_bytes={self._limit}): this chunk of {size} "
            "bytes was not taken; send it again later, or slow down"
        )

    def close_socket(self) -> None:
        self._pending.append(CLOSE)
        self._schedule_flush()

    def abort_socket(self) -> None:
        self._in_loop(self._abort)

    def start_close_timer(self, seconds: float) -> None:
        self._in_loop(self._start_close_timer, seconds)

    def pause_reading(self, paused: bool) -> None:
        self._in_loop(self._pause_reading, paused)

    # -- loop thread --------------------------------------------------------------------------

    def _in_loop(self, fn: Callable[..., None], *args: Any) -> None:
        if threading.get_ident() == self._thread:
            fn(*args)
        else:
            with contextlib.suppress(RuntimeError):  # loop closed: connection gone
                self._loop.call_soon_threadsafe(fn, *args)

    def _schedule_flush(self) -> None:
        if self._flush_scheduled:
            return
        self._flush_scheduled = True
        if threading.get_ident() == self._thread:
            self._loop.call_soon(self._flush)
        else:
            with contextlib.suppress(RuntimeError):  # loop closed: connection gone
                self._loop.call_soon_threadsafe(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        transport = self._transport
        if transport is None:  # not attached yet: attach flushes
            return
        pending = self._pending
        while pending and not transport.write_paused:
            item = pending.popleft()
            if item is CLOSE:
                self._drop_pending()
                transport.pause_reading(False)  # the closing handshake reads the peer's close
                transport.close(1000)
                return
            if not item.text:
                self._written += len(item.data)
            transport.send(item.data, item.text)

    def _drop_pending(self) -> None:
        self._pending.clear()
        self._written = self._queued

    def _abort(self) -> None:
        self._drop_pending()
        transport = self._transport
        if transport is None:
            return
        transport.pause_reading(False)  # the closing handshake reads the peer's close
        if transport.is_open and not self._hard_abort:
            transport.close(1000, "aborted by client")
        else:
            transport.abort()

    def _pause_reading(self, paused: bool) -> None:
        transport = self._transport
        if transport is not None and self._closed is None:
            transport.pause_reading(paused)

    def _keepalive(self) -> None:
        self._keepalive_handle = None
        due = self._session.keepalive(time.monotonic(), self.put)
        if due is not None and self._closed is None:
            self._keepalive_handle = self._loop.call_later(
                max(0.0, due - time.monotonic()), self._keepalive
            )

    def _start_close_timer(self, seconds: float) -> None:
        if self._close_handle is None and self._closed is None:
            self._close_handle = self._loop.call_later(seconds, self._close_timed_out, seconds)

    def _close_timed_out(self, seconds: float) -> None:
        conn = self._conn
        if conn is not None:
            # a peer that did not finish in close_timeout is given up on at once: no second
            # closing handshake to wait for
            self._hard_abort = True
            unsent = self._queued - self._written
            spec = self._session.spec
            what = (
                " and ".join(type(m).__name__ for m in spec.close_messages)
                if spec.close_messages
                else "the close"
            )
            conn._abort(
                DeepgramTimeoutError(
                    f"{spec.name}: the graceful close did not finish within {seconds:g} s (the "
                    f"server did not close the connection): what it had still to send after "
                    f"{what} was not delivered"
                    + (f", and {unsent} bytes of audio were never sent" if unsent > 0 else "")
                )
            )

    def give_up(self) -> None:
        """The peer is dead or unwanted: the next abort drops the TCP connection at once."""
        self._hard_abort = True

    def _ended(self, conn: ConnectionBase[Any, Any], code: int | None, reason: str) -> None:
        self._closed = (code, reason)
        try:
            conn._on_closed(code, reason)
        finally:
            on_finished, self._on_finished = self._on_finished, None
            if on_finished is not None:
                on_finished()

    @staticmethod
    def _deliver(conn: ConnectionBase[Any, Any], message: str | bytes) -> None:
        try:
            conn._on_frame(message)
        except Exception:
            log.exception("rxdeepgram: handling an incoming message failed")


async def open_on_io_loop(*args: Any, **kwargs: Any) -> Connection[Any, Any]:
    """``open_async`` for a sync connection, on the I/O loop (which the connection keeps
    running until its socket has closed)."""
    loop = io_loop.acquire()
    assert loop is asyncio.get_running_loop()
    try:
        conn: Connection[Any, Any] = await open_async(
            *args, connection_class=Connection, on_finished=io_loop.release, **kwargs
        )
    except BaseException:
        io_loop.release()
        raise
    return conn
