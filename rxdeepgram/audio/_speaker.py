"""The speaker as an Observer of audio chunks (the ``mic`` extra: ``sounddevice``)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any, Protocol

from reactivex import abc

from ._device import import_sounddevice, log
from ._format import AudioFormat
from ._pcm import alaw_decode, mulaw_decode

__all__ = ["OpenOutput", "OutputStream", "Speaker", "speaker"]


class OutputStream(Protocol):
    """What :class:`Speaker` needs of an output stream (``sounddevice.RawOutputStream``)."""

    def start(self) -> None: ...
    def close(self) -> None: ...


OpenOutput = Callable[[AudioFormat, Any, Callable[[Any], bool], Callable[[], None]], OutputStream]
"""``open_output(fmt, device, fill, finished)``: open (not start) a 16-bit playback stream of
``fmt`` that calls ``fill(buffer)`` for each block to play (a writable buffer to fill
completely) and stops after the block for which ``fill`` returns False, then calls
``finished()``."""


def _sounddevice_output(sd: Any) -> OpenOutput:
    def open_output(
        fmt: AudioFormat,
        device: Any,
        fill: Callable[[Any], bool],
        finished: Callable[[], None],
    ) -> OutputStream:
        def callback(outdata: Any, frames: int, time: Any, status: Any) -> None:
            if status:
                log.debug("speaker: %s", status)
            if not fill(outdata):
                raise sd.CallbackStop

        stream: OutputStream = sd.RawOutputStream(
            samplerate=fmt.sample_rate,
            channels=fmt.channels,
            dtype="int16",
            device=device,
            callback=callback,
            finished_callback=finished,
        )
        return stream

    return open_output


class Speaker(abc.ObserverBase[bytes]):
    """Plays the audio chunks it observes; made by :func:`speaker`.

    ``on_next`` queues a chunk (it never blocks); the sound card's callback plays the queue and
    plays silence while it is empty. ``on_completed`` lets the queue play out, then stops;
    ``on_error`` stops at once (the error is kept in :attr:`error`). :meth:`clear` drops what
    is queued (barge-in), :meth:`wait` blocks until playback has finished and :meth:`close`
    stops now.
    """

    def __init__(self, fmt: AudioFormat, device: Any, open_output: OpenOutput) -> None:
        self.format = fmt
        """The format of the chunks observed."""
        self.error: Exception | None = None
        """The error observed, if any."""
        self._decode: Callable[[bytes], bytes] | None = {
            "mulaw": mulaw_decode,
            "alaw": alaw_decode,
        }.get(fmt.encoding)
        self._play = dataclasses.replace(fmt, encoding="linear16")
        self._frame = self._play.frame_bytes
        self._lock = threading.Lock()
        self._buffer = bytearray()
        self._ending = False  # no more input: stop once the queue has played
        self._closed = False
        self._finished = threading.Event()
        self._stream = open_output(self._play, device, self._fill, self._on_finished)
        try:
            self._stream.start()
        except BaseException:
            self._stream.close()
            raise

    # --- Observer ---

    def on_next(self, value: bytes) -> None:
        """Queue a chunk for playback (ignored after completion, an error or close)."""
        pcm = self._decode(value) if self._decode is not None else bytes(value)
        with self._lock:
            if not self._ending:
                self._buffer.extend(pcm)

    def on_completed(self) -> None:
        """Play what is queued, then stop."""
        with self._lock:
            self._ending = True

    def on_error(self, error: Exception) -> None:
        """Stop at once, dropping what is queued."""
        with self._lock:
            if self._ending:
                return
            self.error = error
            self._ending = True
            self._buffer.clear()

    # --- control ---

    def clear(self) -> None:
        """Drop the queued audio (barge-in); playback continues with what comes next."""
        with self._lock:
            whole = len(self._buffer) - len(self._buffer) % self._frame
            del self._buffer[:whole]

    @property
    def pending(self) -> float:
        """Seconds of audio queued and not yet handed to the sound card."""
        with self._lock:
            return self._play.duration(len(self._buffer))

    @property
    def finished(self) -> bool:
        """True once playback has ended (played out after completion, an error or close)."""
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until playback has finished; False if ``timeout`` (seconds) passed first."""
        return self._finished.wait(timeout)

    def close(self) -> None:
        """Stop playback now and release the device (idempotent)."""
        with self._lock:
            self._ending = True
            self._buffer.clear()
        self._close_stream()

    # --- the sound card's side ---

    def _fill(self, out: Any) -> bool:
        size = len(out)
        with self._lock:
            available = len(self._buffer) - len(self._buffer) % self._frame
            take = min(available, size)
            if take:
                out[:take] = self._buffer[:take]
                del self._buffer[:take]
            more = not self._ending or len(self._buffer) >= self._frame
        if take < size:
            out[take:size] = bytes(size - take)
        return more

    def _on_finished(self) -> None:
        # Called on PortAudio's thread, where the stream must not be closed.
        threading.Thread(target=self._close_stream, name="rxdeepgram-speaker", daemon=True).start()

    def _close_stream(self) -> None:
        with self._lock:
            closing = not self._closed
            self._closed = True
        if closing:
            try:
                self._stream.close()
            except Exception:
                log.debug("speaker: closing the stream failed", exc_info=True)
        self._finished.set()

    def __repr__(self) -> str:
        state = "finished" if self.finished else "playing"
        return f"<Speaker {self.format}, {state}>"


def speaker(fmt: AudioFormat, device: int | str | None = None) -> Speaker:
    """Play audio chunks of ``fmt`` on a sound card: an Observer with ``clear()`` for barge-in.

    Needs the ``mic`` extra (``pip install "rxdeepgram[mic]"``); without it this raises
    ``ImportError`` saying so. ``device`` is a sounddevice device index or name (``None``: the
    default output). The output stream opens now (errors, e.g. a rate the device does not
    support, raise here: :func:`resample` first) and plays silence until audio arrives.
    G.711 is decoded to 16-bit PCM for the sound card::

        spk = speaker(AudioFormat("linear16", 24000))
        conn.messages.pipe(ops.filter(lambda m: isinstance(m, bytes))).subscribe(spk)
        ...
        spk.clear()                  # the user started speaking: drop the queued reply
    """
    sd = import_sounddevice("speaker()")
    return Speaker(fmt, device, _sounddevice_output(sd))
