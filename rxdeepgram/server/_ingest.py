"""Client audio in, engine frames out: the ingest path every speech-to-text channel shares
(``/v1/listen``, ``/v2/listen``, the agent's listening).

:class:`AudioIngest` settles the audio format at the first audio bytes (a known
:class:`~._audio.SampleFormat`, headerless audio declared by ``encoding`` / ``sample_rate``,
or a WAV header read from the stream), decodes the bytes to 16-bit PCM, splits the channels
(``multichannel``: one track per channel) or averages them to one track, resamples each track
to the engine's rate and cuts it into the segmenter's frames. :meth:`AudioIngest.frames` yields
one frame per track at a time, in order, once every track has one.

What the client sent that cannot be decoded raises :class:`~._stt.DataError` (the channel
turns it into its own close or ``Error``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from ._audio import (
    AudioFormatError,
    PcmDecoder,
    SampleFormat,
    detect_container,
    downmix,
    parse_wav_header,
    split_channels,
)
from ._stt import DataError, FrameSplitter, raw_sample_format

if TYPE_CHECKING:
    from array import array

    from .engines import SttEngine

__all__ = ["AudioIngest"]

_SNIFF_BYTES = 12
"""Bytes needed before a missing container can be declared unknown."""


class AudioIngest:
    """One connection's audio, from client bytes to frames at the engine's rate.

    The format is, in this order: ``fmt`` when given; else headerless audio of ``encoding``
    at ``sample_rate`` with ``channels`` (checked at the first audio bytes); else a WAV header
    at the start of the stream (other containers, and raw audio without ``encoding``, raise
    :class:`~._stt.DataError`). With ``multichannel`` each channel is a track of its own;
    otherwise the channels are averaged into one.

    Args:
        engine: the recogniser (its rate, and whether it asks for fine resampling).
        frame_samples: samples per frame at the engine's rate (the segmenter's frame).
    """

    def __init__(
        self,
        engine: SttEngine,
        frame_samples: int,
        fmt: SampleFormat | None = None,
        *,
        encoding: str | None = None,
        sample_rate: int | None = None,
        channels: int = 1,
        multichannel: bool = False,
    ) -> None:
        self.engine = engine
        self.frame_samples = frame_samples
        self._declared = fmt
        self._encoding = encoding
        self._sample_rate = sample_rate
        self._channels = channels
        self.multichannel = multichannel
        self.format: SampleFormat | None = None
        """The audio format, once settled."""
        self.frames_in = 0
        """Decoded sample frames (all channels), at the source rate."""
        self._header = bytearray()  # bytes held until the WAV header is complete
        self._decoder: PcmDecoder | None = None
        self._splitters: list[FrameSplitter] = []

    @property
    def tracks(self) -> int:
        """How many tracks the audio has (0 until the format is settled)."""
        return len(self._splitters)

    def feed(self, data: bytes) -> None:
        """Take the next audio bytes (the format settles at the first ones)."""
        if self._decoder is None:
            data = self._start(data)
            if self._decoder is None:
                return
        assert self.format is not None
        samples = self._decoder.decode(data)
        if not samples:
            return
        channels = self.format.channels
        self.frames_in += len(samples) // channels
        splitters = self._splitters
        if len(splitters) > 1:
            for splitter, part in zip(splitters, split_channels(samples, channels), strict=True):
                splitter.push(part)
        else:
            splitters[0].push(downmix(samples, channels))

    def frames(self) -> Iterator[list[array[int]]]:
        """The next frame of every track, as long as every track has one."""
        splitters = self._splitters
        while splitters and all(splitter.ready for splitter in splitters):
            yield [splitter.pop() for splitter in splitters]

    def _start(self, data: bytes) -> bytes:
        """Settle the format; returns the bytes left to decode (empty while a WAV header is
        incomplete, and the format is not settled yet)."""
        fmt = self._declared
        if fmt is None and self._encoding is not None:
            assert self._sample_rate is not None
            fmt = raw_sample_format(self._encoding, self._sample_rate, self._channels)
        elif fmt is None:
            self._header += data
            buffered = bytes(self._header)
            container = detect_container(buffered)
            if container is None:
                if len(buffered) < _SNIFF_BYTES:
                    return b""
                raise DataError(
                    "could not detect an audio container; raw audio needs the encoding and "
                    "sample_rate query options"
                )
            if container != "wav":
                raise DataError(
                    f"{container} audio is not supported by the local server (send WAV, or raw "
                    "linear16 / linear32 / mulaw / alaw with encoding and sample_rate)"
                )
            try:
                header = parse_wav_header(buffered)
            except AudioFormatError as exc:
                raise DataError(str(exc)) from None
            if header is None:
                return b""
            fmt = header.format
            data = buffered[header.data_offset :]
            self._header = bytearray()
        self.format = fmt
        self._decoder = PcmDecoder(fmt)
        tracks = fmt.channels if self.multichannel else 1
        self._splitters = [
            FrameSplitter(fmt.sample_rate, self.engine, self.frame_samples) for _ in range(tracks)
        ]
        return data
