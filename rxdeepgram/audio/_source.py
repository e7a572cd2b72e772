"""Cold audio sources: :func:`from_bytes`, :func:`from_wav` and the :class:`AudioSource` they
return (an ``Observable[bytes]`` that also tells its :class:`AudioFormat`)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

from reactivex import Observable, abc
from reactivex.disposable import Disposable, MultipleAssignmentDisposable
from reactivex.scheduler import CurrentThreadScheduler

from ..errors import ConnectionClosed
from ._device import log
from ._format import AudioFormat
from ._scheduling import pick_scheduler
from ._wav import StrPath, WavReader

__all__ = ["AudioSource", "ChunkReader", "chunk_emitter", "from_bytes", "from_wav"]


class AudioSource(Observable[bytes]):
    """An ``Observable[bytes]`` of audio chunks that knows its :attr:`format`.

    Everything an Observable does, plus ``format`` (what to tell Deepgram:
    ``connect(**source.format.options())``) and ``duration`` (seconds of audio, ``None`` for
    live sources). Operators return plain Observables: keep the source to read its format.
    """

    def __init__(
        self,
        subscribe: abc.Subscription[bytes],
        fmt: AudioFormat,
        duration: float | None = None,
    ) -> None:
        super().__init__(subscribe)
        self.format = fmt
        """The format of the chunks emitted."""
        self.duration = duration
        """Seconds of audio the source emits in all, or ``None`` when unbounded (live)."""

    def __repr__(self) -> str:
        length = "live" if self.duration is None else f"{self.duration:.3f} s"
        return f"<AudioSource {self.format}, {length}>"


ChunkReader = tuple[Callable[[], bytes], Callable[[], None]]
"""``(read, close)``: ``read()`` returns the next chunk, ``b""`` at the end."""


def chunk_emitter(
    open_reader: Callable[[], ChunkReader],
    fmt: AudioFormat,
    realtime: bool,
    scheduler: abc.SchedulerBase | None,
) -> abc.Subscription[bytes]:
    """The subscribe function of a cold, chunked, optionally real-time source.

    On subscribe, ``open_reader()`` is called on the scheduler; chunk ``n`` is emitted at
    ``start + duration(chunks before n)`` (``realtime``) or as soon as possible (otherwise:
    each chunk is its own scheduled action, synchronous through the trampoline when no
    scheduler is given). The source completes with its last chunk. Disposal stops it and
    closes the reader.
    """

    def subscribe(
        observer: abc.ObserverBase[bytes], scheduler_: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        owned: abc.DisposableBase | None = None
        if realtime:
            sched, owned = pick_scheduler(scheduler, scheduler_)
        else:
            sched = scheduler or scheduler_ or CurrentThreadScheduler.singleton()
        lock = threading.RLock()
        serial = MultipleAssignmentDisposable()  # never cancels a live step (see _pace)
        reader: ChunkReader | None = None
        stopped = False
        pending = b""
        sent = 0
        start = sched.now

        def stop() -> None:
            nonlocal stopped, reader
            with lock:
                if stopped:
                    return
                stopped = True
                if reader is not None:
                    reader[1]()
                    reader = None
            serial.dispose()
            if owned is not None:
                owned.dispose()

        def read() -> bytes | None:
            """The next chunk, or None when stopped; raises what the reader raises."""
            nonlocal reader, start
            with lock:
                if stopped:
                    return None
                if reader is None:
                    reader = open_reader()
                    start = sched.now
                return reader[0]()

        def step(_: abc.SchedulerBase, __: object = None) -> None:
            nonlocal pending, sent
            try:
                chunk = pending or read()
            except Exception as exc:
                stop()
                observer.on_error(exc)
                return
            if chunk is None:
                return
            if not chunk:
                stop()
                observer.on_completed()
                return
            try:
                observer.on_next(chunk)
            except ConnectionClosed:
                stop()  # the connection it fed has ended: stop reading, nothing to report
                log.debug("audio source: the connection is closed; reading stopped")
                return
            except BaseException:
                stop()  # the observer failed: stop reading, let its error propagate
                raise
            sent += len(chunk)
            try:
                following = read()
            except Exception as exc:
                stop()
                observer.on_error(exc)
                return
            if following is None:
                return
            if not following:
                stop()
                observer.on_completed()
                return
            pending = following
            with lock:
                if stopped:
                    return
                if realtime:
                    due = start + timedelta(seconds=fmt.duration(sent))
                    serial.disposable = sched.schedule_absolute(due, step)
                else:
                    serial.disposable = sched.schedule(step)

        serial.disposable = sched.schedule(step)
        return Disposable(stop)

    return subscribe


def from_bytes(
    data: bytes,
    fmt: AudioFormat,
    chunk_ms: float = 20,
    realtime: bool = True,
    scheduler: abc.SchedulerBase | None = None,
) -> AudioSource:
    """Emit ``data`` (raw audio in ``fmt``) in chunks of ``chunk_ms`` milliseconds, then complete.

    Cold: each subscription starts from the beginning. With ``realtime=True`` the chunks are
    paced at real time: chunk ``n`` goes out ``n * chunk_ms`` after the subscription (the first
    at once, the completion with the last); with ``realtime=False`` they go out as fast as the
    observer takes them. See :func:`from_wav` for the scheduler used. Chunks are whole sample
    frames (``fmt.bytes_for(chunk_ms)`` bytes); the last may be shorter. Disposal stops it.
    """
    payload = bytes(data)
    size = fmt.bytes_for(chunk_ms)

    def open_reader() -> ChunkReader:
        offset = 0

        def read() -> bytes:
            nonlocal offset
            chunk = payload[offset : offset + size]
            offset += len(chunk)
            return chunk

        return read, _nothing

    emitter = chunk_emitter(open_reader, fmt, realtime, scheduler)
    return AudioSource(emitter, fmt, fmt.duration(len(payload)))


def _nothing() -> None:
    return None


def from_wav(
    path: StrPath,
    chunk_ms: float = 20,
    realtime: bool = True,
    scheduler: abc.SchedulerBase | None = None,
) -> AudioSource:
    """Stream a WAV file as chunks of ``chunk_ms`` milliseconds of raw audio.

    The header is read now: a missing file raises ``FileNotFoundError`` and an unsupported one
    ``ValueError`` here, at the call, and the result's ``format`` says what the chunks hold
    (see :func:`read_wav`: 16-bit PCM for PCM and float files, G.711 as it is)::

        source = from_wav("call.wav")
        with client.listen.v1.connect(model="nova-3", **source.format.options()) as conn:
            source.subscribe(conn.input)

    The samples are read on subscription, chunk by chunk (each subscription reads the file
    anew), and the source completes after the last chunk.

    ``realtime=True`` paces the chunks at real time (chunk ``n`` at ``n * chunk_ms`` after the
    subscription), as a live source would. Timing is on ``scheduler`` when given, else the
    scheduler given to ``subscribe``, else, when subscribed inside a running asyncio loop, that
    loop (an ``AsyncIOThreadSafeScheduler``), else a daemon thread of the subscription's own:
    ``subscribe`` returns at once in sync and asyncio code alike.

    ``realtime=False`` emits as fast as the observer takes the chunks: synchronously within
    ``subscribe`` unless a scheduler is given. Disposal stops the stream and closes the file.
    """
    with WavReader(path) as probe:
        fmt = probe.format
        frames = probe.frames
    frames_per_chunk = fmt.frames_for(chunk_ms)

    def open_reader() -> ChunkReader:
        reader = WavReader(path)
        if reader.format != fmt:
            reader.close()
            raise ValueError(
                f"{path}: the WAV file changed: it now holds {reader.format}, not {fmt}"
            )
        return (lambda: reader.read(frames_per_chunk)), reader.close

    emitter = chunk_emitter(open_reader, fmt, realtime, scheduler)
    return AudioSource(emitter, fmt, frames / fmt.sample_rate)
