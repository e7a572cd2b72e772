"""The microphone as a cold :class:`AudioSource` (the ``mic`` extra: ``sounddevice``)."""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable
from typing import Any, Protocol

from reactivex import abc
from reactivex.disposable import Disposable

from ..errors import ConnectionClosed
from ._device import import_sounddevice, log
from ._format import AudioFormat
from ._pcm import alaw_encode, mulaw_encode
from ._source import AudioSource

__all__ = ["InputStream", "OpenInput", "from_microphone", "microphone"]


class InputStream(Protocol):
    """What :func:`microphone` needs of an input stream (``sounddevice.RawInputStream``)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def close(self) -> None: ...


OpenInput = Callable[[AudioFormat, int, Any, Callable[[bytes], bool]], InputStream]
"""``open_input(fmt, blocksize, device, on_data)``: open (not start) a 16-bit capture stream
of ``fmt`` delivering ``blocksize`` frames per call of ``on_data(pcm)``; when ``on_data``
returns False the stream must stop calling it."""


def _sounddevice_input(sd: Any) -> OpenInput:
    def open_input(
        fmt: AudioFormat, blocksize: int, device: Any, on_data: Callable[[bytes], bool]
    ) -> InputStream:
        def callback(indata: Any, frames: int, time: Any, status: Any) -> None:
            if status:
                log.debug("microphone: %s", status)
            if not on_data(bytes(indata)):
                raise sd.CallbackAbort

        stream: InputStream = sd.RawInputStream(
            samplerate=fmt.sample_rate,
            channels=fmt.channels,
            dtype="int16",
            blocksize=blocksize,
            device=device,
            callback=callback,
        )
        return stream

    return open_input


def from_microphone(
    fmt: AudioFormat = AudioFormat("linear16", 16000, 1),  # noqa: B008 - immutable
    chunk_ms: float = 20,
    device: int | str | None = None,
) -> AudioSource:
    """Capture audio from a microphone: an :class:`AudioSource` of ``chunk_ms`` chunks in ``fmt``.

    Needs the ``mic`` extra (``pip install "rxdeepgram[mic]"``, which installs sounddevice and
    with it PortAudio); without it this raises ``ImportError`` saying so. ``device`` is a
    sounddevice device index or name (``None``: the default input). G.711 formats are captured
    as 16-bit PCM and encoded.

    Cold: each subscription opens its own input stream and disposal closes it. A device that
    cannot be opened (or does not support ``fmt``'s rate) is reported with ``on_error``. Chunks
    are emitted on PortAudio's callback thread (``conn.input`` accepts them there); the source
    never completes by itself. If the observer's ``on_next`` raises, capture stops and the
    error is logged (logger ``rxdeepgram.audio``); when it raises ``ConnectionClosed`` (the
    connection the microphone feeds has ended) capture just stops.
    """
    sd = import_sounddevice("from_microphone()")
    return microphone(fmt, chunk_ms, device, _sounddevice_input(sd))


def microphone(
    fmt: AudioFormat, chunk_ms: float, device: Any, open_input: OpenInput
) -> AudioSource:
    """:func:`from_microphone` over any ``open_input`` (tests pass a fake stream here)."""
    capture = dataclasses.replace(fmt, encoding="linear16")
    blocksize = capture.frames_for(chunk_ms)
    encode: Callable[[bytes], bytes] | None = {"mulaw": mulaw_encode, "alaw": alaw_encode}.get(
        fmt.encoding
    )

    def subscribe(
        observer: abc.ObserverBase[bytes], scheduler: abc.SchedulerBase | None = None
    ) -> abc.DisposableBase:
        lock = threading.Lock()
        active = True
        stream: InputStream | None = None

        def on_data(pcm: bytes) -> bool:
            nonlocal active
            if not active:
                return False
            try:
                observer.on_next(encode(pcm) if encode is not None else pcm)
            except ConnectionClosed:  # the connection it fed has ended: nothing to report
                log.debug("microphone: the connection is closed; capture stopped")
                active = False
            except Exception:
                log.exception("microphone: the observer's on_next raised; capture stopped")
                active = False
            return active

        def dispose() -> None:
            nonlocal active, stream
            with lock:
                active = False
                closing, stream = stream, None
            if closing is not None:
                try:
                    closing.stop()
                except Exception:
                    log.debug("microphone: stopping the stream failed", exc_info=True)
                finally:
                    closing.close()

        try:
            opened = open_input(capture, blocksize, device, on_data)
        except Exception as exc:
            observer.on_error(exc)
            return Disposable()
        with lock:
            stream = opened
        try:
            opened.start()
        except Exception as exc:
            dispose()
            observer.on_error(exc)
            return Disposable()
        return Disposable(dispose)

    return AudioSource(subscribe, fmt, None)
