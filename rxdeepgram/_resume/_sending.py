"""The application's side of a resumable connection: ``input`` and every send.

What the application sends is validated by the connection's own session (bad input and sends
after the close raise at the caller, before anything is kept), handed to the channel's policy
(which keeps what a new connection must be sent again) and forwarded to the current inner
connection; while none is up the policy keeps it.

Two paths, one order:

* **Locked** (the sync client, and the async client once another thread has sent): each send
  runs under the connection's lock.
* **Lock-free** (the async client while only its loop thread sends): everything that changes
  the policy's state runs on that thread (:attr:`~._core.ResumableCore._owner`), so audio on an
  open stream goes from ``input.on_next`` straight to the policy's ``tap`` with no lock and no
  check beyond one. The first send from another thread is checked at once (so it raises at its
  caller), then *handed* to the owner thread, which turns the lock on for good before it runs
  anything else (:meth:`ResumableSending._take_lock`): the two paths never run at once.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable
from threading import get_ident
from typing import Any, TypeVar

from .._connection import _Input
from .._inner import InnerConnection
from .._session import State
from ..errors import ConnectionClosed, DeepgramError
from ._core import ResumableCore, discard

__all__ = ["ResumableSending"]

S = TypeVar("S")
C = TypeVar("C")

_OPEN = State.OPEN
log = logging.getLogger("rxdeepgram")
"""The switches between the two paths are logged at DEBUG (``= input: ...``), once each."""


class _ResumableInput(_Input):
    """``input`` of a resumable connection. Audio on an open stream sent from the thread that
    owns the connection's state (:attr:`_owner`, set only while the lock-free path is on) goes
    straight to the policy's tap, with no lock and no check beyond this one; everything else
    goes through the connection's ``_send``."""

    __slots__ = ("_outer", "_owner", "_tap")

    def __init__(self, conn: ResumableSending[Any, Any]) -> None:
        super().__init__(conn)
        self._outer = conn
        self._tap = conn._policy.tap
        self._owner: int | None = None

    def on_next(self, value: Any) -> None:
        if type(value) is bytes and value and self._owner == get_ident():
            self._tap.send_audio(value)
        else:
            self._outer._send(value)


class ResumableSending(ResumableCore[S, C]):
    """Sends: the locked path, the lock-free path and the hand-over between them."""

    def __init__(self, first: InnerConnection, **options: Any) -> None:
        super().__init__(first, **options)
        # while ``_lockfree``, everything that changes the policy's state runs on ``_owner``
        self._lockfree = self._owner is not None
        self._handed: list[Callable[[], None]] = []  # work for the owner thread, in order
        self._handed_audio = 0  # bytes of audio in _handed
        self.input = self._input = _ResumableInput(self)
        self._send_audio_now = self._policy.tap.send_audio

    def _send(self, item: object) -> None:
        if self._lockfree and get_ident() != self._owner:
            self._send_from_thread(item)
            return
        session = self._session
        if type(item) is bytes and item and self._media and session.state is _OPEN:
            with self._lock:
                self._send_audio_now(item)
        else:
            item = session.spec.to_native(item)
            with self._lock:
                closing = session.send(item, discard)  # validates; raises once closing
                if type(item) is not bytes or item:
                    self._apply(item, closing)
        if self._windows_open:
            self._close_windows()
            self._arm()

    def _apply(self, item: object, closing: bool) -> None:
        """What follows a send the session accepted: the policy, then the current inner
        connection (under the lock, or on the owner thread while lock-free)."""
        policy = self._policy
        inner = self._inner
        if inner is not None and type(item) is bytes:
            inner._check_room(len(item))  # refused before the policy keeps it
        if not closing:
            item = policy.on_send(item, inner is not None)
        else:
            self._input._owner = None  # audio from now on raises at the caller (the session)
            self._closing = True
            self._seed.closing()
            policy.on_close()
        if inner is not None and item is not None:
            # if it dropped, the policy kept what must be replayed
            with contextlib.suppress(ConnectionClosed):
                inner.input.on_next(item)

    def _arm(self) -> None:
        """Turn ``input``'s lock-free audio path on if it applies (owner thread, an open
        stream on a channel that takes audio, the subscription windows closed)."""
        if self._lockfree and self._media and self._session.state is _OPEN:
            self._input._owner = self._owner
            log.debug("= input: audio from the loop thread goes lock-free")

    def _send_from_thread(self, item: object) -> None:
        """Another thread sends while the owner runs lock-free: check it now (bad input and
        sends after the close raise here), hand the rest to the owner thread in order, and
        have the owner turn the lock on for good before anything else of it runs."""
        session = self._session
        item = session.spec.to_native(item)
        with self._lock:
            if self._lockfree:
                closing = session.send(item, discard)  # validates; raises once closing
                if type(item) is bytes and item and not closing:
                    self._policy.check_room(self._handed_audio + len(item))
                    inner = self._inner
                    if inner is not None:  # the send queue too, before anything is handed
                        inner._check_room(len(item), self._handed_audio)
                    self._handed_audio += len(item)
                if type(item) is not bytes or item:
                    self._input._owner = None
                    self._hand(functools.partial(self._apply, item, closing))
                handed = True
            else:
                handed = False
        if not handed:
            self._send(item)
        elif self._windows_open:
            self._close_windows()

    def _hand(self, work: Callable[[], None]) -> None:
        """Queue ``work`` for the owner thread (under the lock, while lock-free)."""
        self._handed.append(work)
        if len(self._handed) == 1:
            try:
                self._loop.call_soon_threadsafe(self._take_lock)
            except RuntimeError:  # the loop is gone: so is the connection
                self._handed.clear()

    def _take_lock(self) -> None:
        """On the owner thread: from now on every send takes the lock; run what was handed."""
        with self._lock:
            self._lockfree = False
            self._input._owner = None
            log.debug("= input: another thread sent; every send takes the lock from now on")
            handed, self._handed = self._handed, []
            self._handed_audio = 0
            try:
                for work in handed:
                    work()
            except DeepgramError as exc:  # the buffer overflowed while reconnecting
                error: DeepgramError | None = exc
            else:
                error = None
        if error is not None:
            self._abort(error)
