"""The one place where the picows transport relies on more than picows' documented API: the
ERROR record picows logs when its frame parser fails a connection.

picows fails a connection by itself when its parser finds a protocol error (a reserved opcode, a
masked frame from the server, an invalid length, a frame over ``max_frame_size``...): it sends its
own close frame and disconnects shortly after. It parses the next frame before it hands over the
current one, so the frame before the bad one, when both came in one read, reaches
``on_ws_frame`` *after* that close frame went out; websockets would deliver that frame, and so
does this transport. Nothing in picows' API tells, at that moment, that picows failed the
connection: ``WSTransport.is_close_frame_sent`` does not say who sent the close frame or when,
and ``wait_disconnected()`` raises the parser's error only once the connection is gone. The one
signal is the record picows logs at ERROR ("WS parser error: ...") through the logger given as
``ws_connect(logger_name=...)`` (a public parameter, which takes a logger object). So:

* :class:`PicowsLog` is that logger (it also moves picows' INFO lines to DEBUG and sends
  everything through the redacting logger); an ERROR record tells :class:`ParserFailure`;
* :class:`ParserFailure` opens a grace of one loop turn for the frame before the bad one, and
  retrieves the parser's error from ``wait_disconnected()`` once the connection is gone (else
  asyncio logs it as never retrieved).

Relied on: picows logs at ERROR, synchronously, before it hands over the frame before the bad
one. ``tests/test_dependency_internals.py`` checks this against the installed picows and fails
naming its version if it no longer holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from picows import WSTransport

__all__ = ["ParserFailure", "PicowsLog"]

_RETRIEVING: set[asyncio.Task[None]] = set()


class ParserFailure:
    """Whether picows failed one connection itself (its parser found a protocol error)."""

    __slots__ = ("_loop", "failed", "grace")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self.failed = False
        self.grace = False
        """The frame before the bad one may still be delivered (until the loop's next turn)."""

    def notice(self) -> None:
        """picows logged an error: it failed the connection and sent its close frame. The frame
        before the bad one, if they came in one read, is handed over right after, in the same
        callback: the grace lets that one frame through, as websockets would deliver it."""
        if self.failed:
            return  # it logs again at every read after that: only the first error counts
        self.failed = True
        self.grace = True
        self._loop.call_soon(self._end_grace)

    def _end_grace(self) -> None:
        self.grace = False

    def take_grace(self) -> bool:
        """Whether a frame arriving after picows' close frame is the one before the bad one
        (``True`` once at most)."""
        if self.grace:
            self.grace = False
            return True
        return False

    def retrieve(self, transport: WSTransport) -> None:
        """Once disconnected: picows keeps the error it failed the connection with for
        ``wait_disconnected()``, which nobody else awaits; asyncio would log it as never
        retrieved."""
        if self.failed:
            task = self._loop.create_task(_retrieve(transport))
            _RETRIEVING.add(task)
            task.add_done_callback(_RETRIEVING.discard)


async def _retrieve(transport: WSTransport) -> None:
    with contextlib.suppress(Exception):  # already reported through transport_closed
        await transport.wait_disconnected()


class PicowsLog(logging.LoggerAdapter[Any]):
    """picows' logger for one connection: its INFO lines (one when a connection opens, one when
    it ends) go out as DEBUG, where websockets puts such lines; everything goes through the
    redacting logger. An ERROR from picows means it failed the connection itself: ``failure``
    is told."""

    def __init__(self, logger: logging.LoggerAdapter[logging.Logger], failure: ParserFailure):
        super().__init__(logger, {})
        self._failure = failure

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if level >= logging.ERROR:
            self._failure.notice()
        self.logger.log(logging.DEBUG if level == logging.INFO else level, msg, *args, **kwargs)
