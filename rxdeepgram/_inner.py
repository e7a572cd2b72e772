"""What the reconnect layer needs of the connections it runs over: :class:`InnerConnection`.

A resumable connection (``_resume``) is one user-facing connection over a sequence of *inner*
connections, each a :class:`~rxdeepgram._connection.ConnectionBase` opened by the client. This
module names, in one place, every operation the reconnect layer performs on them; ``_resume``
is typed against these protocols only, so mypy proves it uses nothing else, and
both concrete connections are checked to implement them (``_connection.py``, end of module).

The operations keep the connection's own underscored names: they are rxdeepgram's internal
interface between two of its layers, not methods for applications (a user holds the resumable
connection, never an inner one). It sits below ``_connection`` so that both sides import it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Protocol

import reactivex
from reactivex import abc

__all__ = ["AudioSink", "InnerConnection"]


class AudioSink(Protocol):
    """Where a resume policy sends audio: the current inner connection's audio path (the hot
    path of a resumable stream: one call per chunk)."""

    def _send_media(self, data: bytes) -> None:
        """Send non-empty audio (the connection's channel takes audio): no encoding, no checks
        beyond the connection's state. Raises ``ConnectionClosed`` once it is closing or
        closed, ``BufferOverflowError`` when its send queue is full."""

    def _check_room(self, size: int, promised: int = 0) -> None:
        """Raise ``BufferOverflowError`` now if ``size`` more bytes of audio would not fit in
        the send queue, besides ``promised`` bytes on their way to it (asked before the audio
        is kept for replay)."""


class InnerConnection(AudioSink, Protocol):
    """One inner connection, as the reconnect layer uses it."""

    @property
    def url(self) -> str:
        """The URL it is connected to (no credentials in it)."""

    @property
    def request_id(self) -> str | None:
        """Deepgram's ``dg-request-id`` of this connection."""

    @property
    def response_headers(self) -> Mapping[str, str]:
        """Its handshake response's headers."""

    @property
    def input(self) -> abc.ObserverBase[Any]:
        """Its ``input``: what the policy replays or releases is sent through ``on_next``."""

    @property
    def raw(self) -> reactivex.Observable[str | bytes]:
        """Its frames as received (forwarded only while someone reads the outer ``raw``)."""

    def _subscribe_messages(self, observer: abc.ObserverBase[Any]) -> abc.DisposableBase:
        """Subscribe ``observer`` to its decoded messages with no reactivex wrapper in
        between (one call of ``on_next`` per message), as a reader through Rx."""

    def _pause_reading(self, paused: bool) -> None:
        """Stop (``True``) or resume reading its socket (the seed API's back-pressure)."""

    def _close_gracefully(self) -> None:
        """Start its graceful close (the channel's closing messages, then the server's rest);
        its end arrives through the messages subscription."""

    def _abort(self, error: BaseException | None, hard: bool = False) -> None:
        """End it with ``error`` (``None``: completion) and close its socket (``hard``: drop
        the TCP connection at once)."""
