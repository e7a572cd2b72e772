"""Which scheduler times audio when the caller names none.

In order: the ``scheduler`` argument; the scheduler given to ``subscribe(..., scheduler=)``;
when subscribed from inside a running asyncio loop, an ``AsyncIOThreadSafeScheduler`` on that
loop (so asyncio code gets its audio on the loop's thread, and other threads may still feed
operators such as ``pace``); otherwise a dedicated daemon thread for this subscription (an
``EventLoopScheduler`` that ends with the subscription), so sync code is never blocked.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable

from reactivex import abc
from reactivex.scheduler import EventLoopScheduler
from reactivex.scheduler.eventloop import AsyncIOThreadSafeScheduler

__all__ = ["pick_scheduler"]


def _thread_factory(target: Callable[[], None]) -> threading.Thread:
    return threading.Thread(target=target, name="rxdeepgram-audio", daemon=True)


def pick_scheduler(
    explicit: abc.SchedulerBase | None, from_subscribe: abc.SchedulerBase | None
) -> tuple[abc.SchedulerBase, abc.DisposableBase | None]:
    """The scheduler to use and, when it was made for this subscription, its disposable (to be
    disposed when the subscription ends, which stops its thread)."""
    if explicit is not None:
        return explicit, None
    if from_subscribe is not None:
        return from_subscribe, None
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        loop = None
    if loop is not None:
        return AsyncIOThreadSafeScheduler(loop), None
    own = EventLoopScheduler(thread_factory=_thread_factory, exit_if_empty=True)
    return own, own
