"""Pull-style reading for code written for deepgram-sdk 7: ``recv()`` and iteration.

The SDK's sockets hold every frame until it is read; rxdeepgram pushes messages to
subscribers. A :class:`SyncReceiver` / :class:`AsyncReceiver` subscribes to ``conn.messages``
and queues what arrives until ``recv()`` (or ``for msg in conn`` / ``async for msg in conn``)
takes it. It is created by the first ``recv()`` / iteration, or by the first seed-style
``send_*`` call (``send_media``, ``send_text``, ...), so that messages answering those sends
are kept for a ``recv()`` that comes after them, as the SDK does; messages that arrived before
it exist are replayed while the subscription window is open (see ``conn.messages``).

Until the first ``recv()`` / iteration it keeps at most ``limit`` messages, and none once the
connection has ``on(EventType.MESSAGE, ...)`` handlers or is read through Rx (a ``messages`` or
``raw`` subscriber, a send through ``input``; then a seed-style ``send_*`` creates no receiver
either): a connection used that way never reads them, so the receiver lets go of its queue and
unsubscribes
(nothing is taken away from the other subscribers). A ``recv()`` after that raises
:class:`~rxdeepgram.errors.DeepgramError` saying so, rather than skip messages without a word.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from reactivex import abc

from .errors import ConnectionClosedOK, DeepgramError

__all__ = ["AsyncReceiver", "SyncReceiver"]

_LIMIT = 4096


class _End:
    """The stream ended: ``error`` is ``None`` (clean) or what ended it."""

    __slots__ = ("error",)

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


def _dropped() -> DeepgramError:
    return DeepgramError(
        "recv(): messages that arrived before the first recv() or iteration were not kept "
        f"(more than {_LIMIT}, or the connection is read by on(EventType.MESSAGE) handlers or "
        "conn.messages / conn.raw subscribers); call recv() (or iterate) earlier"
    )


def _never() -> bool:
    return False


class _ReceiverBase(abc.ObserverBase[Any]):
    def __init__(self, messages: Any, pushed: Callable[[], bool] = _never) -> None:
        self._pushed = pushed  # true once the connection has MESSAGE handlers
        self._items: deque[Any] = deque()
        self._reading = False
        self._dropped = False
        self._end: _End | None = None
        self._subscription: abc.DisposableBase | None = None
        # The hub itself, quietly: a receiver must not end the seed API's hold (see _seed.py).
        quiet = getattr(messages, "subscribe_quiet", None)
        self._subscription = quiet(self) if quiet is not None else messages.subscribe(self)

    def _add(self, item: Any) -> bool:
        """Queue ``item``; ``False`` if the receiver gave up (nobody reads)."""
        if self._dropped:
            return False
        self._items.append(item)
        if not self._reading and (len(self._items) > _LIMIT or self._pushed()):
            self._dropped = True
            self._items.clear()
            if self._subscription is not None:
                self._subscription.dispose()
            return False
        return True

    def _take(self) -> Any:
        """The next item, an :class:`_End`, or ``None`` when there is nothing yet."""
        if self._dropped:
            raise _dropped()
        if self._items:
            return self._items.popleft()
        return self._end

    @staticmethod
    def _result(item: Any) -> Any:
        if isinstance(item, _End):
            if item.error is not None:
                raise item.error
            raise ConnectionClosedOK(1000, "", message="the connection is closed")
        return item


class SyncReceiver(_ReceiverBase):
    """The receiver of a sync connection: messages arrive on the I/O thread, ``recv()`` blocks
    the caller's thread."""

    def __init__(self, messages: Any, pushed: Callable[[], bool] = _never) -> None:
        self._cond = threading.Condition()
        super().__init__(messages, pushed)

    def on_next(self, value: Any) -> None:
        with self._cond:
            if self._add(value):
                self._cond.notify()

    def on_error(self, error: Exception) -> None:
        with self._cond:
            self._end = _End(error)
            self._cond.notify_all()

    def on_completed(self) -> None:
        with self._cond:
            self._end = _End(None)
            self._cond.notify_all()

    def next(self, timeout: float | None = None) -> Any:
        """The next message or an :class:`_End` (``TimeoutError`` after ``timeout``)."""
        with self._cond:
            self._reading = True
            while True:
                item = self._take()
                if item is not None:
                    return item
                if not self._cond.wait(timeout):
                    raise TimeoutError("recv(): no message within the timeout")

    def recv(self, timeout: float | None = None) -> Any:
        return self._result(self.next(timeout))


class AsyncReceiver(_ReceiverBase):
    """The receiver of an async connection: messages arrive on the event loop's thread, the
    one ``recv()`` awaits on."""

    def __init__(self, messages: Any, pushed: Callable[[], bool] = _never) -> None:
        self._waiter: asyncio.Future[None] | None = None
        super().__init__(messages, pushed)

    def _wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def on_next(self, value: Any) -> None:
        if self._add(value):
            self._wake()

    def on_error(self, error: Exception) -> None:
        self._end = _End(error)
        self._wake()

    def on_completed(self) -> None:
        self._end = _End(None)
        self._wake()

    async def next(self) -> Any:
        self._reading = True
        while True:
            item = self._take()
            if item is not None:
                return item
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                await self._waiter
            finally:
                self._waiter = None

    async def recv(self) -> Any:
        return self._result(await self.next())
