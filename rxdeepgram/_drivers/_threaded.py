"""The threaded driver (sync client): websockets' own reader thread hands over the incoming
messages (see ``_direct``); one writer thread of ours per connection.

The writer thread also runs the keepalive timer: it waits on its queue with a timeout that ends
when the next KeepAlive is due. ``put`` never blocks, so audio callbacks can call
``conn.input.on_next`` from their own threads.
"""

from __future__ import annotations

import inspect
import queue
import threading
import time
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from .._connection import Connection
from .._session import Frame, Session
from ..errors import DeepgramTimeoutError
from ._common import CLOSE, connect_kwargs, connection_for, map_open_error
from ._direct import SyncDirectConnection, close_status

__all__ = ["open_sync"]

# websockets 17 warns unless a directly-returned sync connection is asked for explicitly;
# older releases (>= 15) have no such flag.
_LEGACY: dict[str, Any] = (
    {"legacy": True} if "legacy" in inspect.signature(connect).parameters else {}
)

_ABORT = object()
_STOP = object()


def open_sync(
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
) -> Connection[Any, Any]:
    """Open the socket and start the driver; raises a ``DeepgramError`` if that fails."""
    try:
        kwargs = connect_kwargs(headers, open_timeout, close_timeout, secrets)
        kwargs.update(ping_interval=ping_interval, ping_timeout=ping_timeout)
        ws = connect(url, create_connection=SyncDirectConnection, **kwargs, **_LEGACY)
    except Exception as exc:
        raise map_open_error(exc, url, secrets) from exc
    conn = connection_for(Connection, session, url, ws.response, close_timeout, connection_kwargs)
    driver = ThreadedDriver(conn, ws, session)
    conn._attach(driver)
    driver.start()
    return conn


class ThreadedDriver:
    """Moves frames between one sync ``ClientConnection`` and one ``Connection``."""

    def __init__(
        self, conn: Connection[Any, Any], ws: SyncDirectConnection, session: Session
    ) -> None:
        self._conn = conn
        self._ws = ws
        self._session = session
        self._queue: queue.SimpleQueue[Any] = queue.SimpleQueue()
        self._close_timer: threading.Timer | None = None
        self._timer_lock = threading.Lock()
        self._finished = False
        self._aborting = False
        self._writer = threading.Thread(target=self._write, name="rxdeepgram-writer", daemon=True)

    def start(self) -> None:
        self._writer.start()
        self._ws.inbox.attach(self._conn._on_frame, self._ended)

    def join(self, timeout: float | None = None) -> None:
        for thread in (self._ws.recv_events_thread, self._writer):
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(timeout)

    # -- Driver protocol (thread-safe) -------------------------------------------------------------

    def put(self, frame: Frame) -> None:
        self._queue.put(frame)

    def close_socket(self) -> None:
        self._queue.put(CLOSE)

    def abort_socket(self) -> None:
        self._aborting = True  # the writer drops whatever is still queued
        self._queue.put(_ABORT)

    def start_close_timer(self, seconds: float) -> None:
        with self._timer_lock:
            if self._close_timer is not None or self._finished:
                return
            timer = threading.Timer(seconds, self._close_timed_out, (seconds,))
            timer.daemon = True
            timer.name = "rxdeepgram-close-timer"
            self._close_timer = timer
        timer.start()

    # -- threads ------------------------------------------------------------------------------

    def _close_timed_out(self, seconds: float) -> None:
        self._conn._abort(
            DeepgramTimeoutError(
                f"{self._session.spec.name}: the server did not close the connection within "
                f"{seconds:g} s of the graceful close"
            )
        )

    def _write(self) -> None:
        ws = self._ws
        get = self._queue.get
        session = self._session
        due = session.keepalive(time.monotonic(), self.put)
        try:
            while True:
                try:
                    timeout = None if due is None else max(0.0, due - time.monotonic())
                    item = get(timeout=timeout)
                except queue.Empty:
                    due = session.keepalive(time.monotonic(), self.put)
                    continue
                if item is _STOP:
                    return
                if item is _ABORT or self._aborting:
                    ws.close(1000, "aborted by client")
                    return
                if item is CLOSE:
                    ws.close(1000)
                    return
                ws.send(item.data, text=item.text)
        except ConnectionClosed:
            return

    def _ended(self) -> None:
        """The socket has closed (on websockets' reader thread, after the last message)."""
        with self._timer_lock:
            self._finished = True
            if self._close_timer is not None:
                self._close_timer.cancel()
        self._queue.put(_STOP)
        self._conn._on_closed(*close_status(self._ws.protocol))
