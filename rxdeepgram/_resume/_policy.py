"""The Sans-I/O side of resuming: one :class:`Policy` per channel decides what to keep of what the
application sends, what to send again on a new connection, and how to rewrite (time shift) or
suppress what the new connection sends back. No sockets, threads or clocks: the connection
(``_connection.py``) calls it under its lock and does the I/O.

A policy sees what the application sends already validated and in its native form (``bytes``
audio or the channel's client-message struct) and every server message of the current inner
connection, in order.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from ..errors import BufferOverflowError
from ._config import Reconnect

__all__ = ["AudioLog", "ListenPolicy", "Policy"]


class Policy:
    """The default rules (a channel with nothing to resume): nothing kept, nothing rewritten."""

    locked_messages = True
    """Whether :meth:`on_message` must run under the connection's lock (it shares state with
    :meth:`on_send` or fills :attr:`outbox`). A policy whose ``on_message`` only writes state
    that ``on_send`` reads atomically sets it ``False``: no lock per message."""

    def __init__(self, config: Reconnect) -> None:
        self.config = config
        self.replayed_audio_s = 0.0
        self.replayed_messages = 0
        self.suppressed = 0
        self.outbox: list[Any] = []
        """Items to send on the current connection now (drained by the connection after each
        :meth:`on_message`)."""
        self.holding = False
        """While ``True`` the new connection is not ready (the agent before ``SettingsApplied``):
        the connection's graceful close waits."""

    @property
    def dropped_audio_s(self) -> float:
        return 0.0

    def on_send(self, item: Any, connected: bool) -> Any:
        """The application sends ``item`` (``connected``: a connection is up to take it).
        Returns what to send on the current connection now (``item`` itself, usually) or
        ``None`` (nothing now). Raise :class:`BufferOverflowError` to refuse it."""
        return item

    def on_audio(self, data: bytes, connected: bool) -> bytes | None:
        """:meth:`on_send` for non-empty audio on an open stream (the hot path: a policy may
        make it cheaper than the general case)."""
        out: bytes | None = self.on_send(data, connected)
        return out

    def on_close(self) -> None:
        """The application asked for the graceful close."""

    def begin(self, first: bool) -> list[Any]:
        """A new connection is open (``first``: the very first). Returns what to send on it
        before anything else, in order."""
        return []

    def on_message(self, message: Any) -> Any:
        """A message of the current connection: returns it (possibly rewritten) or ``None`` to
        suppress it."""
        return message


class AudioLog:
    """Audio and in-band control messages sent since a boundary, by audio byte position.

    ``confirm(position)`` moves the boundary (the server's final results cover everything
    before it) and forgets what lies before; :meth:`replay` gives what a new connection needs to
    hear again, starting exactly at the boundary. At most ``max_bytes`` of audio are kept: past
    that, the oldest is forgotten (``overflow="drop_oldest"``) or, while no connection is up,
    :class:`BufferOverflowError` is raised (``overflow="error"``).

    Audio chunks are kept as they are in a deque of ``bytes`` (contiguous from ``first``): no
    object per chunk that the garbage collector would have to track.
    """

    __slots__ = (
        "base",
        "bytes_per_s",
        "chunks",
        "controls",
        "dropped",
        "first",
        "frame_bytes",
        "max_bytes",
        "overflow",
        "total",
    )

    def __init__(self, bytes_per_s: int, frame_bytes: int, max_s: float, overflow: str) -> None:
        self.bytes_per_s = bytes_per_s
        self.frame_bytes = max(1, frame_bytes)
        self.max_bytes = self._align(int(max_s * bytes_per_s))
        self.overflow = overflow
        self.chunks: deque[bytes] = deque()
        self.first = 0  # the position of chunks[0]
        self.controls: deque[tuple[int, Any]] = deque()  # (position, message), in order
        self.total = 0  # audio bytes ever sent
        self.base = 0  # audio before this position needs no replay
        self.dropped = 0  # audio bytes forgotten because the log was full

    def _align(self, position: int) -> int:
        return position - position % self.frame_bytes

    def position(self, seconds: float) -> int:
        """The byte position of ``seconds`` of audio (frame aligned)."""
        return self._align(round(seconds * self.bytes_per_s / self.frame_bytes) * self.frame_bytes)

    def seconds(self, position: int) -> float:
        return position / self.bytes_per_s

    def add_audio(self, data: bytes, connected: bool) -> None:
        end = self.total + len(data)
        if end - self.base > self.max_bytes:
            self.make_room(end, connected)
        self.chunks.append(data)
        self.total = end

    def make_room(self, end: int, connected: bool) -> None:
        """Make room for audio up to ``end``: forget the oldest, or refuse."""
        over = end - self.base - self.max_bytes
        if over > 0:
            if not connected and self.overflow == "error":
                raise BufferOverflowError(
                    f"the reconnect buffer is full ({self.max_bytes / self.bytes_per_s:.1f} s of "
                    "audio): raise Reconnect(max_buffer_s=...) or use on_overflow='drop_oldest'"
                )
            # a tenth of the buffer more than needed: not a trim at every chunk of a long silence
            slack = self.max_bytes // 10 if connected else 0
            new_base = self._align(self.base + over + slack + self.frame_bytes - 1)
            self.dropped += min(new_base, self.total) - self.base
            self.base = new_base
            self._trim()

    def add_control(self, message: Any) -> None:
        self.controls.append((self.total, message))

    def confirm(self, position: int) -> None:
        """Everything before ``position`` is covered by the server's final results."""
        if position > self.total:
            position = self.total
        if position > self.base:
            self.base = position
            self._trim()

    def _trim(self) -> None:
        chunks = self.chunks
        base = self.base
        first = self.first
        while chunks and first + len(chunks[0]) <= base:
            first += len(chunks.popleft())
        self.first = first if chunks else self.total
        controls = self.controls
        while controls and controls[0][0] <= base:
            controls.popleft()

    def replay(self) -> tuple[int, list[Any]]:
        """``(start, items)``: the byte position the new connection's time 0 stands for, and
        the audio (cut to start exactly there) and controls to send again, in order."""
        start = self.base
        items: list[Any] = []
        controls = iter(self.controls)
        control = next(controls, None)
        pos = self.first
        for chunk in self.chunks:
            while control is not None and control[0] <= pos:
                items.append(control[1])
                control = next(controls, None)
            items.append(chunk[start - pos :] if pos < start else chunk)
            pos += len(chunk)
        while control is not None:
            items.append(control[1])
            control = next(controls, None)
        return start, items


class ListenPolicy(Policy):
    """What the two Listen channels share: an :class:`AudioLog` of what the new connection must
    hear again, the time shift of everything it sends back, and the last ``Configure`` (sent
    again first; its acknowledgement is not shown twice)."""

    def __init__(self, config: Reconnect, bytes_per_s: int, frame_bytes: int) -> None:
        super().__init__(config)
        self.log = AudioLog(bytes_per_s, frame_bytes, config.max_buffer_s, config.on_overflow)
        self.shift = 0.0
        """Seconds of the application's stream before the current connection's time 0."""
        self.resumed = False
        self._configure: Any = None
        self._acks_to_skip = 0

    @property
    def dropped_audio_s(self) -> float:
        return self.log.seconds(self.log.dropped)

    def _replay(self) -> list[Any]:
        """What a new connection is sent first; sets the shift of what it sends back."""
        log = self.log
        start, items = log.replay()
        self.shift = log.seconds(start)
        self.resumed = True
        self.replayed_audio_s += log.seconds(log.total - start)
        self.replayed_messages += sum(1 for i in items if type(i) is not bytes)
        if self._configure is not None:
            self._acks_to_skip += 1
            self.replayed_messages += 1
            items.insert(0, self._configure)
        return items
