"""Resumable connections: one user-facing connection over a sequence of inner connections.

:class:`ResumableBase` is a :class:`~rxdeepgram._connection.ConnectionBase` (same ``messages``,
``input``, ``raw``, seed API) with no driver of its own, assembled from one layer per concern
(see ``_core.py``): shared state and ``state`` / ``stats`` (``_core``), the application's sends
(``_sending``), the inner connections and the reconnects (``_runner``), close and abort
(``_closing``). Here: the whole, its two fronts, which differ only in the loop they run on and
how the application waits, and :func:`resumable`, which the client uses to wrap its first
connection.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from threading import get_ident
from typing import Any, TypeVar

from .._connection import AsyncConnection, Connection, ConnectionBase
from .._inner import InnerConnection
from .._session import ChannelSpec
from ..errors import CallbackError
from ._closing import ResumableClosing
from ._config import Reconnect
from ._core import OpenInner
from ._policy import Policy

__all__ = ["AsyncResumableConnection", "ResumableBase", "ResumableConnection", "resumable"]

S = TypeVar("S")
C = TypeVar("C")

_IDENTS: dict[int, int] = {}


class ResumableBase(ResumableClosing[S, C]):
    """What the sync and async resumable connections share (everything but the loop they run
    on and waiting)."""


class ResumableConnection(ResumableBase[S, C], Connection[S, C]):
    """A resumable connection of the sync client (``connect(..., reconnect=True)``): its
    reconnects run on the client's I/O thread, which it keeps running until it ends."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        from .._ioloop import io_loop

        self._loop = io_loop.acquire()
        self._released = False
        super().__init__(*args, **kwargs)

    def _set_done(self) -> None:
        super()._set_done()
        if not self._released:
            from .._ioloop import io_loop

            self._released = True
            io_loop.release()


class AsyncResumableConnection(ResumableBase[S, C], AsyncConnection[S, C]):
    """A resumable connection of the async client (``connect(..., reconnect=True)``)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._loop = asyncio.get_running_loop()
        # the loop's thread: audio sent on it needs no lock (one int object per thread, shared
        # by its connections: the check per chunk reads memory that stays in the cache)
        ident = get_ident()
        self._owner = _IDENTS.setdefault(ident, ident)
        super().__init__(*args, **kwargs)

    def _set_done(self) -> None:
        self._on_loop(super()._set_done)


def resumable(
    open_inner: OpenInner,
    spec: ChannelSpec,
    policy: Callable[[], Policy],
    reconnect: Reconnect,
    *,
    is_async: bool,
    close_timeout: float,
    on_callback_error: Callable[[CallbackError], None] | None,
) -> Callable[[InnerConnection], ConnectionBase[Any, Any]]:
    """What turns the first inner connection into the resumable one (the connect contexts'
    ``wrap``). The first open is not retried: its failure raises at once; ``open_inner`` opens
    each later one (the client's open, so this layer never imports the client)."""
    cls: Any = AsyncResumableConnection if is_async else ResumableConnection

    def wrap(first: InnerConnection) -> ConnectionBase[Any, Any]:
        conn: ConnectionBase[Any, Any] = cls(
            first,
            open_inner=open_inner,
            spec=spec,
            close_timeout=close_timeout,
            on_callback_error=on_callback_error,
            policy=policy(),
            reconnect=reconnect,
        )
        return conn

    return wrap
