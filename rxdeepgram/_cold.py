"""Cold operator forms of the channels: connect on subscribe, close on dispose.

``audio.pipe(client.listen.v1.transcribe(model="nova-3"))`` is an Observable that, for each
subscription, opens a connection, forwards the connection's messages to the subscriber and the
source's items to the connection's ``input`` (so the source completing closes the stream
gracefully, and its error aborts it), and aborts the connection when the subscription is
disposed. Each subscription is its own connection, so ``ops.retry()`` means "reconnect".

Everything before I/O (option validation) happens when the operator is *built*, so a bad
option raises at the caller, not inside the stream.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Coroutine
from typing import Any

import reactivex
from reactivex import abc
from reactivex.disposable import Disposable
from reactivex.scheduler.eventloop import AsyncIOScheduler

from ._connection import ConnectionBase

__all__ = ["cold_async", "cold_sync"]

Opener = Callable[[], Any]
Operator = Callable[[reactivex.Observable[Any]], reactivex.Observable[Any]]


class _Link:
    """One subscription's connection and source subscription, torn down once."""

    __slots__ = ("conn", "disposed", "lock", "source_sub")

    def __init__(self) -> None:
        self.conn: ConnectionBase[Any, Any] | None = None
        self.source_sub: abc.DisposableBase | None = None
        self.disposed = False
        self.lock = threading.Lock()

    def wire(
        self,
        conn: ConnectionBase[Any, Any],
        source: reactivex.Observable[Any],
        observer: abc.ObserverBase[Any],
        first: Any,
        gate: Callable[[ConnectionBase[Any, Any]], reactivex.Observable[Any]] | None,
    ) -> None:
        with self.lock:
            if self.disposed:
                conn._abort(None)
                return
            self.conn = conn
        conn.messages.subscribe(observer)
        if first is not None:
            conn.input.on_next(first)

        def start(_: Any = None) -> None:
            sub = source.subscribe(conn.input)
            with self.lock:
                if self.disposed:
                    sub.dispose()
                    return
                self.source_sub = sub

        if gate is None:
            start()
        else:
            gate(conn).subscribe(start, lambda _: None)

    def dispose(self) -> None:
        with self.lock:
            self.disposed = True
            conn, sub = self.conn, self.source_sub
        if sub is not None:
            sub.dispose()
        if conn is not None and not conn.closed:
            conn._abort(None)


def cold_sync(
    open_connection: Opener,
    *,
    first: Any = None,
    gate: Callable[[ConnectionBase[Any, Any]], reactivex.Observable[Any]] | None = None,
) -> Operator:
    """The sync client's cold form: ``open_connection()`` is a coroutine scheduled on the I/O
    loop shared by every sync connection (no thread per subscription; subscribing never
    blocks, so it may happen on the I/O thread itself, as ``ops.retry()`` does)."""

    def operator(source: reactivex.Observable[Any]) -> reactivex.Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            from ._ioloop import io_loop

            link = _Link()
            loop = io_loop.acquire()  # kept until the open is over (the connection keeps its own)

            async def run() -> None:
                try:
                    if link.disposed:  # disposed before the open started: none
                        return
                    try:
                        conn = await open_connection()
                    except Exception as exc:  # a DeepgramError (else a bug: told too)
                        observer.on_error(exc)
                        return
                finally:
                    io_loop.release()
                link.wire(conn, source, observer, first, gate)

            try:
                asyncio.run_coroutine_threadsafe(run(), loop)
            except BaseException:
                io_loop.release()
                raise

            # An open under way when the subscription is disposed is not cancelled (a transport
            # cancelled mid-handshake may not close its socket): wire() aborts it once open.
            return Disposable(link.dispose)

        return reactivex.create(subscribe)

    return operator


def cold_async(
    open_connection: Opener,
    *,
    first: Any = None,
    gate: Callable[[ConnectionBase[Any, Any]], reactivex.Observable[Any]] | None = None,
) -> Operator:
    """The async client's cold form: the open is a task on the running loop, or on the loop of
    an ``AsyncIOScheduler`` given to ``subscribe``: the task is started by an action scheduled on
    it (reactivex's public ``schedule``), so it runs on that loop whatever the subscribing thread
    (from another thread, give an ``AsyncIOThreadSafeScheduler``, reactivex's rule)."""

    def operator(source: reactivex.Observable[Any]) -> reactivex.Observable[Any]:
        def subscribe(
            observer: abc.ObserverBase[Any], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            link = _Link()

            async def run() -> None:
                try:
                    conn = await open_connection()
                except Exception as exc:  # a DeepgramError (else a bug: told too)
                    observer.on_error(exc)
                    return
                link.wire(conn, source, observer, first, gate)

            if isinstance(scheduler, AsyncIOScheduler):
                return _start_on(scheduler, run, link)
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                observer.on_error(
                    RuntimeError(
                        "the async client's operators must be subscribed inside a running asyncio "
                        "loop (or with scheduler=AsyncIOScheduler(loop)); use DeepgramClient for "
                        "plain threads"
                    )
                )
                return Disposable()
            task = loop.create_task(run())

            def dispose() -> None:
                task.cancel()
                link.dispose()

            return Disposable(dispose)

        return reactivex.create(subscribe)

    return operator


def _start_on(
    scheduler: AsyncIOScheduler, run: Callable[[], Coroutine[Any, Any, None]], link: _Link
) -> abc.DisposableBase:
    """Start ``run()`` as a task on ``scheduler``'s loop, from an action scheduled on it."""
    started: list[tuple[asyncio.AbstractEventLoop, asyncio.Task[None]]] = []

    def begin(_: abc.SchedulerBase, __: Any = None) -> None:
        if not link.disposed:
            loop = asyncio.get_running_loop()
            started.append((loop, loop.create_task(run())))

    scheduled = scheduler.schedule(begin)

    def dispose() -> None:
        scheduled.dispose()
        if started:
            loop, task = started[0]
            try:
                running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
            except RuntimeError:
                running = None
            if running is loop:
                task.cancel()
            else:
                loop.call_soon_threadsafe(task.cancel)
        link.dispose()

    return Disposable(dispose)
