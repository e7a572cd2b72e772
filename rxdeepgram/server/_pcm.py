"""Output-side PCM helpers of the local server, in pure Python (no numpy, no ``audioop``).

The Listen channels *decode* audio (``_audio.py``); the Speak and Agent channels *produce* it.
This module holds what producing needs:

* :func:`resample_pcm16` — band-limited sample-rate conversion of a whole utterance with the
  library's polyphase windowed-sinc converter (``rxdeepgram.audio._convert.RateConverter``),
  so a TTS engine's 22.05 kHz output reaches 8/16/24/48 kHz without audible aliasing.
* :func:`mulaw_encode` / :func:`alaw_encode` — the ITU-T G.711 encoders of
  :mod:`rxdeepgram.audio`, re-exported: the server and the client share one codec.
* :func:`encode_pcm16` — 16-bit PCM to a Speak output ``encoding`` (``linear16``, ``mulaw``,
  ``alaw``) and :func:`bytes_per_second` for sizing chunks.

All PCM is 16-bit little-endian mono, as ``bytes``.
"""

from __future__ import annotations

from ..audio._convert import RateConverter
from ..audio._pcm import alaw_encode, from_pcm16, mulaw_encode, to_pcm16

__all__ = [
    "OUTPUT_ENCODINGS",
    "alaw_encode",
    "bytes_per_second",
    "encode_pcm16",
    "mulaw_encode",
    "resample_pcm16",
]

OUTPUT_ENCODINGS: dict[str, int] = {"linear16": 2, "mulaw": 1, "alaw": 1}
"""The raw output encodings the server produces, with their bytes per sample."""

# --- resampling: the library's converter (rxdeepgram.audio) --------------------------------


def resample_pcm16(pcm: bytes, src_rate: int, dst_rate: int) -> bytes:
    """``pcm`` (16-bit little-endian mono at ``src_rate``) at ``dst_rate``, through
    :class:`~rxdeepgram.audio._convert.RateConverter` run over the whole utterance at once.

    The output has ``ceil(len(samples) * dst_rate / src_rate)`` samples; the signal is treated
    as silent outside ``pcm`` (fine for a whole utterance, which starts and ends quietly).
    Equal rates return ``pcm`` unchanged.
    """
    if src_rate <= 0 or dst_rate <= 0:
        raise ValueError("sample rates must be positive")
    if src_rate == dst_rate or not pcm:
        return pcm
    converter = RateConverter(src_rate, dst_rate)
    out = converter.process(to_pcm16(pcm))
    out.extend(converter.flush())
    return from_pcm16(out)


# --- G.711 encoding: the library's codecs (rxdeepgram.audio) ---------------------------------


def encode_pcm16(pcm: bytes, encoding: str) -> bytes:
    """16-bit PCM in the Speak output ``encoding`` (``linear16`` returns ``pcm`` itself)."""
    if encoding == "linear16":
        return pcm
    if encoding == "mulaw":
        return mulaw_encode(pcm)
    if encoding == "alaw":
        return alaw_encode(pcm)
    raise ValueError(f"unsupported output encoding {encoding!r} (linear16, mulaw, alaw)")


def bytes_per_second(encoding: str, sample_rate: int) -> int:
    """Bytes of one second of mono audio in ``encoding`` at ``sample_rate``."""
    try:
        width = OUTPUT_ENCODINGS[encoding]
    except KeyError:
        raise ValueError(f"unsupported output encoding {encoding!r}") from None
    return width * sample_rate
