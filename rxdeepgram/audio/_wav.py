"""WAV files: reading (:func:`read_wav`, :func:`wav_format`, the streaming reader behind
``from_wav``) and writing (the writer behind ``to_wav``).

One RIFF parser handles every format accepted, rather than the stdlib ``wave`` module for PCM
plus a parser of our own for the rest: ``wave`` cannot read G.711 (format tags 6 and 7) or
IEEE float, cannot read ``WAVE_FORMAT_EXTENSIBLE`` before Python 3.12, and reads nothing from
a streamed file whose ``data`` chunk size was left at 0. The tests check the parser against
files ``wave`` writes and the writer against ``wave``'s reader.

Read: PCM 8/16/24/32-bit (converted to 16-bit, keeping the top 16 bits), IEEE float 32/64-bit
(converted to 16-bit), mu-law and A-law (kept as they are), also as ``WAVE_FORMAT_EXTENSIBLE``.
A ``data`` size of 0 or ``0xFFFFFFFF`` (streamed files), or one larger than the file, means
"up to the end of the file".

Written: ``linear16`` as plain PCM (a 44-byte canonical header), ``mulaw`` / ``alaw`` with
format tags 7 / 6, an 18-byte ``fmt `` chunk and the ``fact`` chunk the format requires.
"""

from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import BinaryIO, Literal

from ._format import AudioFormat, Encoding
from ._pcm import float_to_pcm16, pcm_to_pcm16

__all__ = ["StrPath", "WavReader", "WavWriter", "read_wav", "wav_format"]

StrPath = str | os.PathLike[str]

_PCM = 0x0001
_FLOAT = 0x0003
_ALAW = 0x0006
_MULAW = 0x0007
_EXTENSIBLE = 0xFFFE

_TAG_NAMES = {
    _PCM: "PCM",
    0x0002: "Microsoft ADPCM",
    _FLOAT: "IEEE float",
    _ALAW: "A-law",
    _MULAW: "mu-law",
    0x0011: "IMA ADPCM",
    0x0031: "GSM 6.10",
    0x0050: "MPEG",
    0x0055: "MPEG layer 3",
    _EXTENSIBLE: "extensible",
}
_SUPPORTED = "PCM 8/16/24/32-bit, IEEE float 32/64-bit, mu-law, A-law"

_Kind = Literal["pcm", "float", "g711"]


@dataclass(frozen=True, slots=True)
class _Layout:
    """How the samples of a WAV file are stored, and the format they are delivered in."""

    kind: _Kind
    width: int  # bytes per stored sample
    channels: int
    output: AudioFormat

    @property
    def block(self) -> int:
        return self.width * self.channels


def _name(path: StrPath) -> str:
    return os.fspath(path)


def _layout(path: StrPath, fmt_body: bytes) -> _Layout:
    if len(fmt_body) < 16:
        raise ValueError(f"{_name(path)}: corrupt WAV file: 'fmt ' chunk too short")
    tag, channels, rate, _byte_rate, block_align, bits = struct.unpack_from("<HHIIHH", fmt_body)
    if tag == _EXTENSIBLE:
        if len(fmt_body) < 40:
            raise ValueError(
                f"{_name(path)}: corrupt WAV file: WAVE_FORMAT_EXTENSIBLE 'fmt ' chunk too short"
            )
        valid_bits, _mask, sub_tag = struct.unpack_from("<HIH", fmt_body, 18)
        tag = sub_tag  # the first two bytes of the sub-format GUID are the format tag
        bits = bits or valid_bits
    if channels < 1 or rate < 1:
        raise ValueError(
            f"{_name(path)}: corrupt WAV file: {channels} channels at {rate} Hz in its header"
        )
    kind: _Kind
    encoding: Encoding = "linear16"
    if tag == _PCM and bits in (8, 16, 24, 32):
        kind = "pcm"
    elif tag == _FLOAT and bits in (32, 64):
        kind = "float"
    elif tag in (_MULAW, _ALAW) and bits == 8:
        kind = "g711"
        encoding = "mulaw" if tag == _MULAW else "alaw"
    else:
        name = _TAG_NAMES.get(tag, "unknown")
        raise ValueError(
            f"{_name(path)}: unsupported WAV format: {name} (format tag 0x{tag:04x}) with "
            f"{bits} bits per sample; supported: {_SUPPORTED}"
        )
    width = bits // 8
    if block_align and block_align != width * channels:
        raise ValueError(
            f"{_name(path)}: corrupt WAV file: block align {block_align} does not match "
            f"{channels} channel(s) of {bits}-bit samples"
        )
    return _Layout(kind, width, channels, AudioFormat(encoding, rate, channels))


class WavReader:
    """An open WAV file, positioned at its samples.

    ``format`` is the format :meth:`read` delivers (``linear16`` for PCM and float files, the
    file's own encoding for G.711). ``frames`` is the number of sample frames in the file.
    """

    def __init__(self, path: StrPath) -> None:
        self.path = path
        file = open(path, "rb")  # noqa: SIM115 - closed by close()
        try:
            self._layout, self._remaining = self._parse(file)
        except BaseException:
            file.close()
            raise
        self._file: BinaryIO | None = file
        self.format = self._layout.output
        self.frames = self._remaining // self._layout.block

    def _parse(self, file: BinaryIO) -> tuple[_Layout, int]:
        head = file.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            detail = (
                "an RF64 file (not supported)" if head[:4] == b"RF64" else "no RIFF/WAVE header"
            )
            raise ValueError(f"{_name(self.path)}: not a WAV file: {detail}")
        size = os.fstat(file.fileno()).st_size
        layout: _Layout | None = None
        while True:
            header = file.read(8)
            if len(header) < 8:
                missing = "'fmt '" if layout is None else "'data'"
                raise ValueError(f"{_name(self.path)}: corrupt WAV file: no {missing} chunk")
            chunk_id, chunk_size = struct.unpack("<4sI", header)
            if chunk_id == b"data":
                if layout is None:
                    raise ValueError(
                        f"{_name(self.path)}: corrupt WAV file: 'data' chunk before 'fmt '"
                    )
                available = size - file.tell()
                if chunk_size in (0, 0xFFFFFFFF) or chunk_size > available:
                    chunk_size = available
                return layout, chunk_size - chunk_size % layout.block
            if chunk_id == b"fmt ":
                layout = _layout(self.path, file.read(chunk_size))
                if chunk_size & 1:
                    file.seek(1, os.SEEK_CUR)
            else:
                file.seek(chunk_size + (chunk_size & 1), os.SEEK_CUR)

    def read(self, frames: int | None = None) -> bytes:
        """Up to ``frames`` sample frames (all that remain when ``None``) in :attr:`format`;
        ``b""`` at the end."""
        if self._file is None:
            raise ValueError(f"{_name(self.path)}: read from a closed WavReader")
        layout = self._layout
        want = self._remaining if frames is None else min(self._remaining, frames * layout.block)
        data = self._file.read(want)
        self._remaining = self._remaining - want if len(data) == want else 0  # short: truncated
        data = data[: len(data) - len(data) % layout.block]
        if layout.kind == "float":
            return float_to_pcm16(data, layout.width)
        if layout.kind == "pcm":
            return pcm_to_pcm16(data, layout.width)
        return data

    def close(self) -> None:
        """Close the file (idempotent)."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def __enter__(self) -> WavReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def read_wav(path: StrPath) -> tuple[AudioFormat, bytes]:
    """Read a whole WAV file: its :class:`AudioFormat` and its samples.

    PCM of 8, 24 or 32 bits and IEEE float are converted to 16-bit (``linear16``); mu-law and
    A-law are returned as they are. Raises ``FileNotFoundError`` (and other ``OSError``) when
    the file cannot be opened and ``ValueError`` naming the problem when it is not a WAV file
    or its sample format is not supported.
    """
    with WavReader(path) as reader:
        return reader.format, reader.read()


def wav_format(path: StrPath) -> AudioFormat:
    """The :class:`AudioFormat` :func:`read_wav` and ``from_wav`` deliver for ``path``, read
    from its header only. Raises like :func:`read_wav`."""
    with WavReader(path) as reader:
        return reader.format


class WavWriter:
    """Write a WAV file incrementally: a header with placeholder sizes now, samples as they
    come (flushed to the OS at each write), the sizes when :meth:`close` finalises it. Until
    then the sizes are 0, which readers here take as "up to the end of the file".

    A trailing incomplete sample frame is cut off at close; an odd-sized ``data`` chunk gets the
    pad byte RIFF requires. Sizes beyond 4 GiB are not representable and are written as
    ``0xFFFFFFFF`` (readers then take everything up to the end of the file).
    """

    def __init__(self, path: StrPath, fmt: AudioFormat) -> None:
        self.path = path
        self.format = fmt
        self._file: BinaryIO | None = open(path, "wb")  # noqa: SIM115 - closed by close()
        self.bytes_written = 0
        try:
            self._header_size = self._write_header(0)
        except BaseException:
            self._file.close()
            raise

    def _write_header(self, data_size: int) -> int:
        assert self._file is not None
        fmt = self.format
        frames = data_size // fmt.frame_bytes
        pad = data_size & 1
        if fmt.encoding == "linear16":
            fmt_chunk = struct.pack(
                "<4sIHHIIHH",
                b"fmt ",
                16,
                _PCM,
                fmt.channels,
                fmt.sample_rate,
                fmt.bytes_per_second,
                fmt.frame_bytes,
                16,
            )
            fact = b""
        else:
            fmt_chunk = struct.pack(
                "<4sIHHIIHHH",
                b"fmt ",
                18,
                _MULAW if fmt.encoding == "mulaw" else _ALAW,
                fmt.channels,
                fmt.sample_rate,
                fmt.bytes_per_second,
                fmt.frame_bytes,
                8,
                0,
            )
            fact = struct.pack("<4sII", b"fact", 4, min(frames, 0xFFFFFFFF))
        data_header = struct.pack("<4sI", b"data", min(data_size, 0xFFFFFFFF))
        riff_size = 4 + len(fmt_chunk) + len(fact) + len(data_header) + data_size + pad
        header = (
            struct.pack("<4sI4s", b"RIFF", min(riff_size, 0xFFFFFFFF), b"WAVE")
            + fmt_chunk
            + fact
            + data_header
        )
        self._file.seek(0)
        self._file.write(header)
        self._file.flush()
        return len(header)

    def write(self, data: bytes) -> None:
        """Append samples (any length; frames may be split across calls)."""
        if self._file is None:
            raise ValueError(f"{_name(self.path)}: write to a closed WAV file")
        self._file.write(data)
        self._file.flush()  # readable as it grows, and nothing lost if the process dies
        self.bytes_written += len(data)

    @property
    def closed(self) -> bool:
        """True once the file is finalised and closed."""
        return self._file is None

    def close(self) -> None:
        """Finalise the header and close the file (idempotent)."""
        file = self._file
        if file is None:
            return
        try:
            size = self.bytes_written - self.bytes_written % self.format.frame_bytes
            file.truncate(self._header_size + size)
            file.seek(0, os.SEEK_END)
            if size & 1:
                file.write(b"\x00")
            self._write_header(size)
            self.bytes_written = size
        finally:
            self._file = None
            file.close()
