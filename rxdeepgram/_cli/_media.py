"""Opening one input of ``rxdeepgram transcribe``: WAV, or a compressed container.

* WAV is read with :class:`~rxdeepgram.audio.WavReader` and sent as raw samples with their
  ``encoding`` / ``sample_rate`` (float and 24/32-bit PCM become ``linear16``), to any target.
* MP3, FLAC, Ogg (Vorbis / Opus), WebM / Matroska, MP4 / M4A, AIFF and AMR are recognised by
  their first bytes. Deepgram detects containers itself, so by default they are sent **as they
  are**, without ``encoding`` (Deepgram's own rule: omit it for containerised audio).
* With ``decode=True`` (the default for ``--local``, ``--decode`` otherwise) they are decoded
  here, with PyAV (the ``decode`` extra: ``pip install 'rxdeepgram[decode]'``, wheels that bundle
  FFmpeg), to 16-bit mono PCM at the file's own rate (at most 16 kHz), and sent raw.

Why decode in the client rather than in the local server: the local server's Listen channel is a
streaming decoder that handles every frame as it arrives (WAV or raw PCM / G.711), with the
refusals its tests pin (1008 ``DATA-0000`` for a container it cannot read). A compressed file
is not streamable in general (an M4A keeps its index at the end), so decoding it in the server
would mean buffering whole connections in the server's one event loop and shipping FFmpeg in the
server; in the client the file is at hand, the decoding runs in a worker thread per file, spread
over as many processes as the batch is sharded into, and the server stays byte-for-byte what it
is. A file sent to Deepgram is never decoded: Deepgram gets the original bytes.

Every problem with a file raises :class:`MediaError` with a message naming it (missing, empty,
unreadable, not audio, undecodable, decoder not installed); the batch reports it and goes on.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from ..audio import AudioFormat
from ..audio._container import CONTAINERS, detect_container
from ..audio._wav import WavReader

__all__ = ["CONTAINERS", "Media", "MediaError", "detect_container", "open_media"]

DECODE_MAX_RATE = 16000
"""Decoded audio is brought down to this rate (speech needs no more; an hour of it is 115 MB
in memory rather than 317 MB at 44.1 kHz). Lower rates are kept."""

READ_SECONDS = 5.0
"""Audio read from the file per worker-thread call (bounds memory per stream)."""


class MediaError(Exception):
    """An input that cannot be transcribed; the message names the file and the problem."""


@dataclass
class Media:
    """An opened input: the connect options describing its bytes, their duration when known,
    and a blocking ``read(n)`` of up to ``n`` bytes (``b""`` at the end)."""

    kind: str
    options: dict[str, Any]
    duration: float | None
    block_bytes: int
    read: Callable[[int], bytes]
    close: Callable[[], None] = field(default=lambda: None)
    bytes_per_second: int | None = None


def open_media(path: str, label: str, *, decode: bool) -> Media:
    """Open ``path`` (blocking: call it in a worker thread). ``label`` names it in errors."""
    try:
        with open(path, "rb") as file:
            head = file.read(16)
    except FileNotFoundError:
        raise MediaError(f"{label}: no such file") from None
    except IsADirectoryError:
        raise MediaError(f"{label}: is a directory") from None
    except OSError as exc:
        raise MediaError(f"{label}: cannot read: {exc.strerror or exc}") from None
    if not head:
        raise MediaError(f"{label}: empty file")
    kind = detect_container(head)
    if kind is None:
        raise MediaError(
            f"{label}: not audio (no WAV, MP3, FLAC, Ogg, WebM, MP4/M4A, AIFF or AMR header)"
        )
    if kind == "wav":
        return _open_wav(path, label)
    if decode:
        return _decoded(path, label, kind)
    return _passthrough(path, label, kind)


def _open_wav(path: str, label: str) -> Media:
    try:
        reader = WavReader(path)
    except (OSError, ValueError) as exc:
        raise MediaError(f"{label}: {_strip(str(exc), path)}") from None
    fmt = reader.format
    if reader.frames == 0:
        reader.close()
        raise MediaError(f"{label}: no audio (a WAV header without samples)")
    frame_bytes = fmt.frame_bytes

    def read(size: int) -> bytes:
        return reader.read(max(1, size // frame_bytes))

    return Media(
        "wav",
        dict(fmt.options()),
        reader.frames / fmt.sample_rate,
        fmt.bytes_for(round(READ_SECONDS * 1000)),
        read,
        reader.close,
        fmt.bytes_per_second,
    )


def _passthrough(path: str, label: str, kind: str) -> Media:
    try:
        file: BinaryIO = open(path, "rb")  # noqa: SIM115 - closed by Media.close
    except OSError as exc:
        raise MediaError(f"{label}: cannot read: {exc.strerror or exc}") from None
    return Media(kind, {}, probe_duration(path), 256 * 1024, file.read, file.close)


def probe_duration(path: str) -> float | None:
    """The duration a container declares, read by PyAV when it is installed, else ``None``
    (the server's ``Metadata.duration`` tells it at the end)."""
    try:
        import av
    except ImportError:
        return None
    try:
        with av.open(path) as container:
            if container.duration is None:
                return None
            return float(container.duration) / 1_000_000  # av.time_base
    except Exception:  # the server will say what is wrong with it
        return None


def _decoded(path: str, label: str, kind: str) -> Media:
    pcm, rate = decode_file(path, label, kind)
    fmt = AudioFormat("linear16", rate)
    if not pcm:
        raise MediaError(f"{label}: no audio in the {kind} file")
    buffer = io.BytesIO(pcm)
    return Media(
        kind,
        dict(fmt.options()),
        len(pcm) / fmt.bytes_per_second,
        fmt.bytes_for(round(READ_SECONDS * 1000)),
        buffer.read,
        buffer.close,
        fmt.bytes_per_second,
    )


def decode_file(path: str, label: str, kind: str) -> tuple[bytes, int]:
    """Decode the first audio stream of ``path`` to 16-bit mono PCM at its own rate (at most
    :data:`DECODE_MAX_RATE`), with PyAV (FFmpeg); returns the samples and the rate."""
    try:
        import av
    except ImportError:
        raise MediaError(
            f"{label}: {kind} audio must be decoded for the local server, which takes WAV or "
            "raw PCM: pip install 'rxdeepgram[decode]' (PyAV), or convert the file to WAV"
        ) from None
    out = bytearray()
    try:
        with av.open(path) as container:
            if not container.streams.audio:
                raise MediaError(f"{label}: no audio stream in the {kind} file")
            stream = container.streams.audio[0]
            rate = int(stream.sample_rate or stream.rate or 0)
            if rate <= 0:
                raise MediaError(f"{label}: the {kind} file declares no sample rate")
            rate = min(rate, DECODE_MAX_RATE)
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            for frame in container.decode(stream):
                for converted in resampler.resample(frame):
                    out += bytes(converted.planes[0])[: converted.samples * 2]
            for converted in resampler.resample(None):
                out += bytes(converted.planes[0])[: converted.samples * 2]
    except MediaError:
        raise
    except Exception as exc:  # FFmpeg's errors: InvalidDataError, EOFError, ...
        detail = _strip(str(exc), path) or type(exc).__name__
        raise MediaError(f"{label}: cannot decode the {kind} file: {detail}") from None
    return bytes(out), rate


def _strip(message: str, path: str) -> str:
    """``message`` without a leading copy of the path (the label already names the file)."""
    name = os.path.basename(path)
    for prefix in (f"{path}: ", f"{name}: "):
        if message.startswith(prefix):
            return message[len(prefix) :]
    return message
