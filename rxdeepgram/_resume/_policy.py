"""The Sans-I/O side of resuming: one :class:`Policy` per channel decides what to keep of what the
application sends, what to send again on a new connection, and how to rewrite (time shift) or
suppress what the new connection sends back. No sockets, threads or clocks: the resumable
connection (``_sending.py``, ``_runner.py``) calls it under its lock and does the I/O.

A policy sees what the application sends already validated and in its native form (``bytes``
audio or the channel's client-message struct) and every server message of the current inner
connection, in order.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from typing import Any

from .._inner import AudioSink
from ..errors import BufferOverflowError, ConnectionClosed
from ._config import Reconnect

__all__ = ["AudioLog", "AudioSink", "ListenPolicy", "Policy"]


class Policy:
    """The default rules (a channel with nothing to resume): nothing kept, nothing rewritten."""

    opening_types: frozenset[str] = frozenset()
    """The ``type`` of the messages a new connection sends before any result (``Connected``,
    ``Welcome``...): they are not *progress* (a connection that drops after only these counts
    as a failed reconnect attempt)."""

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
        self.forward: Callable[[bytes], None] | None = None
        """The current connection's audio path (:meth:`set_sink`; ``None`` while none is up).
        The only I/O a policy touches, and only in :meth:`send_audio`."""
        self.tap: Any = self
        """What the connection's ``input`` hands audio to on its lock-free path: an object
        whose ``send_audio(data)`` does :meth:`send_audio` (this policy, or a leaner one)."""

    @property
    def dropped_audio_s(self) -> float:
        return 0.0

    @property
    def buffered_audio_s(self) -> float:
        """Seconds of audio held for a replay now."""
        return 0.0

    def on_send(self, item: Any, connected: bool) -> Any:
        """The application sends ``item`` (``connected``: a connection is up to take it).
        Returns what to send on the current connection now (``item`` itself, usually) or
        ``None`` (nothing now). Raise :class:`BufferOverflowError` to refuse it."""
        return item

    def set_sink(self, sink: AudioSink | None) -> None:
        """The current connection changed (``None``: no connection up)."""
        self.forward = None if sink is None else sink._send_media
        self._sink = sink

    _sink: AudioSink | None = None

    def on_drop(self) -> list[Any]:
        """The current connection dropped and the stream goes on: messages (made by the
        library, documented) that close what the drop cut and the new connection will not
        finish, delivered at once. Called under the connection's lock."""
        return []

    def undelivered(self) -> str:
        """What the application has not got yet, in words (for the error of a close that did
        not finish in time). Called under the connection's lock."""
        return ""

    def send_audio(self, data: bytes) -> None:
        """:meth:`on_send` for non-empty audio on an open stream, then on to :attr:`forward`:
        the hot path (a policy may make it cheaper than the general case). A connection that
        dropped meanwhile is ignored: what must be replayed was kept. Audio the current
        connection's send queue cannot take raises ``BufferOverflowError`` before it is kept."""
        forward = self.forward
        if forward is not None and self._sink is not None:
            self._sink._check_room(len(data))
        out = self.on_send(data, forward is not None)
        if forward is not None and out is not None:
            try:  # noqa: SIM105 - no context manager object per chunk
                forward(out)
            except ConnectionClosed:
                pass

    def check_room(self, pending: int) -> None:
        """Raise :class:`BufferOverflowError` now if ``pending`` more bytes of audio could not
        be kept (no connection up, ``on_overflow="error"``). Reads only: any thread may ask."""

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
    object per chunk that the garbage collector would have to track. :meth:`send_audio` is the
    hot path of a resumable stream (the connection's ``input`` calls it per chunk): it touches
    this object, its deque and one ``int`` (``room``) and nothing else, so all it reads is
    here (``sink``, ``dirty``), and the total is kept as the room left (``total`` is
    derived). ``sink`` is the connection itself, not a bound method: one object fewer to
    read per chunk.
    """

    __slots__ = (  # noqa: RUF023 - in this order: what send_audio reads shares a cache line
        "dirty",
        "sink",
        "room",
        "chunks",
        "base",
        "bytes_per_s",
        "controls",
        "dropped",
        "first",
        "frame_bytes",
        "max_bytes",
        "on_dirty",
        "overflow",
    )

    def __init__(self, bytes_per_s: int, frame_bytes: int, max_s: float, overflow: str) -> None:
        self.bytes_per_s = bytes_per_s
        self.frame_bytes = max(1, frame_bytes)
        self.max_bytes = self._align(int(max_s * bytes_per_s))
        self.overflow = overflow
        self.chunks: deque[bytes] = deque()
        self.first = 0  # the position of chunks[0]
        self.controls: deque[tuple[int, Any]] = deque()  # (position, message), in order
        self.base = 0  # audio before this position needs no replay
        self.room = self.max_bytes  # bytes that fit before the log is full (base + max - total)
        self.dropped = 0  # audio bytes forgotten because the log was full
        self.sink: AudioSink | None = None
        """The current connection (``None`` while none is up)."""
        self.dirty = False
        """Set (from any thread) when the boundary has moved: ``on_dirty`` runs before the next
        chunk is kept."""
        self.on_dirty: Callable[[], None] = _nothing

    @property
    def total(self) -> int:
        """Audio bytes ever sent."""
        return self.base + self.max_bytes - self.room

    def _align(self, position: int) -> int:
        return position - position % self.frame_bytes

    def position(self, seconds: float) -> int:
        """The byte position of ``seconds`` of audio (frame aligned)."""
        return self._align(round(seconds * self.bytes_per_s / self.frame_bytes) * self.frame_bytes)

    def seconds(self, position: int) -> float:
        return position / self.bytes_per_s

    def send_audio(self, data: bytes) -> None:
        """Keep ``data`` (non-empty), then send it to :attr:`sink`; a connection that
        dropped meanwhile is ignored (what must be replayed is kept)."""
        if self.dirty:
            self.on_dirty()
        sink = self.sink
        room = self.room - len(data)
        if room < 0:
            self.make_room(len(data), sink is not None)
            room = self.room - len(data)
        if sink is not None:
            # sent first: audio the send queue refuses (BufferOverflowError) is not kept
            try:  # noqa: SIM105 - no context manager object per chunk
                sink._send_media(data)
            except ConnectionClosed:
                pass
        self.room = room
        self.chunks.append(data)

    def add_audio(self, data: bytes, connected: bool) -> None:
        if self.dirty:
            self.on_dirty()
        if len(data) > self.room:
            self.make_room(len(data), connected)
        self.room -= len(data)
        self.chunks.append(data)

    def make_room(self, size: int, connected: bool) -> None:
        """Make room for ``size`` more bytes of audio: forget the oldest, or refuse."""
        total = self.total
        over = size - self.room
        if over > 0:
            if not connected and self.overflow == "error":
                raise self.full()
            # a tenth of the buffer more than needed: not a trim at every chunk of a long silence
            slack = self.max_bytes // 10 if connected else 0
            new_base = self._align(self.base + over + slack + self.frame_bytes - 1)
            self.dropped += min(new_base, total) - self.base
            self._set_base(new_base, total)

    def check_room(self, size: int) -> None:
        """Raise :class:`BufferOverflowError` if ``size`` more bytes would not fit while no
        connection is up (reads only)."""
        if size > self.room and self.overflow == "error":
            raise self.full()

    def full(self) -> BufferOverflowError:
        return BufferOverflowError(
            f"the reconnect buffer is full ({self.max_bytes / self.bytes_per_s:.1f} s of "
            "audio): raise Reconnect(max_buffer_s=...) or use on_overflow='drop_oldest'"
        )

    def add_control(self, message: Any) -> None:
        self.controls.append((self.total, message))

    def confirm(self, position: int) -> None:
        """Everything before ``position`` is covered by the server's final results."""
        total = self.total
        if position > total:
            position = total
        if position > self.base:
            self._set_base(position, total)

    def _set_base(self, base: int, total: int) -> None:
        """Move the boundary to ``base`` (``total`` unchanged) and forget what lies before."""
        self.base = base
        self.room = base + self.max_bytes - total
        chunks = self.chunks
        first = self.first
        while chunks and first + len(chunks[0]) <= base:
            first += len(chunks.popleft())
        self.first = first if chunks else total
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


def _nothing() -> None:
    pass


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
        self.tap = self.log
        # What the server's final results cover, in the application's time: a policy whose
        # ``on_message`` runs without the lock raises ``_final_end`` and sets ``log.dirty``;
        # the audio path tells the log (lazily, not per message).
        self._final_end = 0.0
        self._confirmed = 0.0  # what the log was last told of it
        self.log.on_dirty = self._confirm

    @property
    def dropped_audio_s(self) -> float:
        return self.log.seconds(self.log.dropped)

    @property
    def buffered_audio_s(self) -> float:
        log = self.log
        return log.seconds(log.total - log.base)

    def undelivered(self) -> str:
        self._confirm()
        log = self.log
        pending = log.seconds(log.total - log.base)
        return f"the final results of the last {pending:.2f} s of audio"

    def _confirm(self) -> None:
        """Tell the log what the final results cover."""
        log = self.log
        log.dirty = False  # first: a later raise of _final_end sets it again
        final_end = self._final_end
        if final_end > self._confirmed:
            self._confirmed = final_end
            log.confirm(log.position(final_end))

    def set_sink(self, sink: AudioSink | None) -> None:
        super().set_sink(sink)
        self.log.sink = sink

    def check_room(self, pending: int) -> None:
        if self.forward is None:
            self.log.check_room(pending)

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
