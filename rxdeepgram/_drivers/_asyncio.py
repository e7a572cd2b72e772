"""The asyncio driver: incoming messages handed over in ``data_received`` (see ``_direct``), a
writer task on the running loop, timers via ``call_later``."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import deque
from typing import Any, cast

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from .._connection import AsyncConnection
from .._session import Frame, Session
from ..errors import DeepgramTimeoutError
from ._common import CLOSE, connect_kwargs, connection_for, map_open_error
from ._direct import AsyncDirectConnection, close_status

__all__ = ["open_async"]


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
) -> AsyncConnection[Any, Any]:
    """Open the socket and start the driver; raises a ``DeepgramError`` if that fails."""
    try:
        kwargs = connect_kwargs(headers, open_timeout, close_timeout, secrets)
        kwargs.update(ping_interval=ping_interval, ping_timeout=ping_timeout)
        ws = cast(
            AsyncDirectConnection,
            await connect(url, create_connection=AsyncDirectConnection, **kwargs),
        )
    except Exception as exc:
        raise map_open_error(exc, url, secrets) from exc
    conn = connection_for(
        AsyncConnection, session, url, ws.response, close_timeout, connection_kwargs
    )
    driver = AsyncioDriver(conn, ws, session)
    conn._attach(driver)
    driver.start()
    return conn


class AsyncioDriver:
    """Moves frames between one ``ClientConnection`` and one ``AsyncConnection``."""

    def __init__(
        self, conn: AsyncConnection[Any, Any], ws: AsyncDirectConnection, session: Session
    ) -> None:
        self._conn = conn
        self._ws = ws
        self._session = session
        self._loop = asyncio.get_running_loop()
        self._loop_thread = threading.get_ident()
        self._pending: deque[Any] = deque()
        self._wakeup = asyncio.Event()
        self._wake_scheduled = False
        self._sending = False  # the writer task is inside ws.send()
        self._keepalive_handle: asyncio.TimerHandle | None = None
        self._close_handle: asyncio.TimerHandle | None = None
        self._writer: asyncio.Task[None] | None = None
        self.finished = asyncio.Event()

    def start(self) -> None:
        self._writer = self._loop.create_task(self._write(), name="rxdeepgram-writer")
        self._keepalive()
        self._ws.inbox.attach(self._conn._on_frame, self._ended)

    # -- Driver protocol (thread-safe) -------------------------------------------------------------

    def put(self, frame: Frame) -> None:
        if (
            not self._pending
            and not self._sending
            and threading.get_ident() == self._loop_thread
            and self._write_now(frame)
        ):
            return
        self._pending.append(frame)
        self._wake()

    def close_socket(self) -> None:
        self._pending.append(CLOSE)
        self._wake()

    def abort_socket(self) -> None:
        self._in_loop(self._abort)

    def start_close_timer(self, seconds: float) -> None:
        self._in_loop(self._start_close_timer, seconds)

    # -- internals (loop thread) ----------------------------------------------------------------

    def _in_loop(self, fn: Any, *args: Any) -> None:
        if threading.get_ident() == self._loop_thread:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    def _write_now(self, frame: Frame) -> bool:
        """The fast path, on the loop thread with nothing queued: hand the frame to the
        protocol and the transport at once, skipping the writer task's wake-up. Only while
        writing is not paused by flow control and the connection is open; ``False`` leaves
        the frame to the writer task (which then waits for the transport as usual)."""
        ws = self._ws
        if ws.paused or ws.protocol.state is not State.OPEN or ws.transport.is_closing():
            return False
        if frame.text:
            ws.protocol.send_text(frame.data)
        else:
            ws.protocol.send_binary(frame.data)
        try:
            ws.send_data()
        except Exception:  # the transport failed: the reader sees the connection end
            ws.transport.abort()
        return True

    def _wake(self) -> None:
        if threading.get_ident() == self._loop_thread:
            self._wakeup.set()
        elif not self._wake_scheduled:
            self._wake_scheduled = True
            self._loop.call_soon_threadsafe(self._wake_from_thread)

    def _wake_from_thread(self) -> None:
        self._wake_scheduled = False
        self._wakeup.set()

    def _keepalive(self) -> None:
        due = self._session.keepalive(time.monotonic(), self.put)
        if due is not None:
            self._keepalive_handle = self._loop.call_later(
                max(0.0, due - time.monotonic()), self._keepalive
            )

    def _start_close_timer(self, seconds: float) -> None:
        if self._close_handle is None and not self.finished.is_set():
            self._close_handle = self._loop.call_later(seconds, self._close_timed_out, seconds)

    def _close_timed_out(self, seconds: float) -> None:
        self._conn._abort(
            DeepgramTimeoutError(
                f"{self._session.spec.name}: the server did not close the connection within "
                f"{seconds:g} s of the graceful close"
            )
        )

    def _abort(self) -> None:
        self._pending.clear()
        if self._writer is not None:
            self._writer.cancel()
        self._loop.create_task(self._ws.close(1000, "aborted by client"))

    async def _write(self) -> None:
        ws = self._ws
        pending = self._pending
        wakeup = self._wakeup
        try:
            while True:
                wakeup.clear()
                while pending:
                    item = pending.popleft()
                    if item is CLOSE:
                        await ws.close(1000)
                        return
                    self._sending = True
                    try:
                        await ws.send(item.data, text=item.text)
                    finally:
                        self._sending = False
                await wakeup.wait()
        except ConnectionClosed:
            return

    def _ended(self) -> None:
        """The socket has closed (from ``connection_lost``, after the last message)."""
        for handle in (self._keepalive_handle, self._close_handle):
            if handle is not None:
                handle.cancel()
        if self._writer is not None:
            self._writer.cancel()
        self._conn._on_closed(*close_status(self._ws.protocol))
        self.finished.set()
