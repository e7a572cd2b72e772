"""File sink: :func:`to_wav`, an Observer writing the audio it observes to a WAV file."""

from __future__ import annotations

import threading

from reactivex import abc

from ._format import AudioFormat
from ._wav import StrPath, WavWriter

__all__ = ["WavSink", "to_wav"]


class WavSink(abc.ObserverBase[bytes]):
    """Writes the audio chunks it observes to a WAV file; made by :func:`to_wav`.

    Thread-safe. ``on_completed`` and ``on_error`` finalise the header and close the file (the
    error is kept in :attr:`error`); so do :meth:`close` and leaving a ``with`` block. Chunks
    observed after that are ignored.
    """

    def __init__(self, path: StrPath, fmt: AudioFormat) -> None:
        self._writer = WavWriter(path, fmt)
        self._lock = threading.Lock()
        self.path = path
        """The file written."""
        self.format = fmt
        """The format of the chunks observed (and of the file)."""
        self.error: Exception | None = None
        """The error observed, if any."""

    def on_next(self, value: bytes) -> None:
        """Append a chunk to the file."""
        with self._lock:
            if not self._writer.closed:
                self._writer.write(value)

    def on_completed(self) -> None:
        """Finalise and close the file."""
        self.close()

    def on_error(self, error: Exception) -> None:
        """Keep ``error``, finalise and close the file with the audio received so far."""
        with self._lock:
            if self._writer.closed:
                return
            self.error = error
        self.close()

    def close(self) -> None:
        """Finalise the header and close the file (idempotent)."""
        with self._lock:
            self._writer.close()

    @property
    def closed(self) -> bool:
        """True once the file is finalised."""
        return self._writer.closed

    @property
    def bytes_written(self) -> int:
        """Bytes of audio written so far."""
        return self._writer.bytes_written

    @property
    def duration(self) -> float:
        """Seconds of audio written so far."""
        return self.format.duration(self._writer.bytes_written)

    def __enter__(self) -> WavSink:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<WavSink {str(self.path)!r} {self.format}, {self.duration:.3f} s, {state}>"


def to_wav(path: StrPath, fmt: AudioFormat) -> WavSink:
    """An Observer writing audio chunks of ``fmt`` to a WAV file at ``path``, incrementally.

    The file is created now (an unwritable path raises here) with a valid, empty WAV header;
    chunks are appended as they come and the header's sizes are set on completion, on error
    (keeping the audio received) or on ``close()``. ``linear16`` is written as plain PCM,
    ``mulaw`` / ``alaw`` as G.711 WAV (format tags 7 / 6), so :func:`read_wav` gives back the
    bytes written::

        synthesized.subscribe(to_wav("reply.wav", AudioFormat("linear16", 24000)))
    """
    return WavSink(path, fmt)
