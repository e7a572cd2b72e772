"""The one I/O thread of the sync client.

Every connection of :class:`~rxdeepgram.DeepgramClient` runs on one shared asyncio loop in a
background thread (``rxdeepgram-io``), with the same driver and transports as the async client:
50 open sync connections cost one thread, not 150. The thread starts with the first sync
connection and stops when the last one has closed (and at interpreter exit).

Subscribers of sync connections are therefore called on that thread. Blocking calls made there
(``conn.wait()``, a sync ``open()``) would wait for the thread they block: they are refused
with a :class:`~rxdeepgram.errors.DeepgramError` (see :func:`refuse_on_io_thread`).
"""

from __future__ import annotations

import asyncio
import atexit
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from .errors import DeepgramError

__all__ = ["IOLoop", "io_loop", "on_io_thread", "refuse_on_io_thread"]

T = TypeVar("T")

_io_threads: set[int] = set()


def on_io_thread() -> bool:
    """Whether the caller runs on the sync client's I/O thread (in a subscriber, say)."""
    return threading.get_ident() in _io_threads


def refuse_on_io_thread(what: str) -> None:
    """Raise if ``what`` (a blocking call) is made on the I/O thread, where it would wait for
    itself forever."""
    if threading.get_ident() in _io_threads:
        raise DeepgramError(
            f"{what} blocks, and this code runs on rxdeepgram's I/O thread (a subscriber or "
            "callback of a sync connection): it would wait for itself forever. Do the blocking "
            "part on another thread, or use conn.input.on_completed() to close without waiting"
        )


class IOLoop:
    """A background event loop shared by the sync connections, counted by its users."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._users = 0
        self._atexit = False

    def acquire(self) -> asyncio.AbstractEventLoop:
        """The loop, started if needed; one more user until :meth:`release`."""
        with self._lock:
            self._users += 1
            loop = self._loop
            if loop is None:
                loop = asyncio.new_event_loop()
                started = threading.Event()
                thread = threading.Thread(
                    target=_run, args=(loop, started), name="rxdeepgram-io", daemon=True
                )
                thread.start()
                started.wait()
                self._loop, self._thread = loop, thread
                if not self._atexit:
                    self._atexit = True
                    atexit.register(self.shutdown)
            return loop

    def release(self) -> None:
        """One user less; the last one stops the loop (its thread ends)."""
        with self._lock:
            self._users -= 1
            if self._users > 0 or self._loop is None:
                return
            loop = self._loop
            self._loop = self._thread = None
        loop.call_soon_threadsafe(loop.stop)

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        """Run ``coro`` on the loop and wait for its result (never from the I/O thread)."""
        loop = self.acquire()
        try:
            return asyncio.run_coroutine_threadsafe(coro, loop).result()
        finally:
            self.release()

    @property
    def thread(self) -> threading.Thread | None:
        """The I/O thread while the loop runs."""
        return self._thread

    @property
    def users(self) -> int:
        """Open sync connections and opens under way."""
        return self._users

    def shutdown(self) -> None:
        """Stop the loop now (interpreter exit): connections still open are dropped."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
            self._users = 0
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            if thread is not threading.current_thread():
                thread.join(2.0)


def _run(loop: asyncio.AbstractEventLoop, started: threading.Event) -> None:
    ident = threading.get_ident()
    _io_threads.add(ident)
    asyncio.set_event_loop(loop)
    loop.call_soon(started.set)
    try:
        loop.run_forever()
    finally:
        try:
            for task in asyncio.all_tasks(loop):
                task.cancel()
            loop.run_until_complete(loop.shutdown_asyncgens())
        finally:
            loop.close()
            _io_threads.discard(ident)


io_loop = IOLoop()
"""The sync client's loop (one per process)."""
