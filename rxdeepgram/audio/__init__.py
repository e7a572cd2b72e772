"""Audio as Rx: sources (Observables of ``bytes``), sinks (Observers) and operators.

Audio travels as raw ``bytes`` chunks in an :class:`AudioFormat`: ``linear16`` (16-bit signed
little-endian PCM), ``mulaw`` or ``alaw`` (G.711), at a sample rate, with interleaved channels.
Everything here is pure Python over the standard library (no numpy, no ``audioop``), except the
microphone and speaker, which need the ``mic`` extra (sounddevice).

Sources (cold Observables with a ``format``; see :class:`AudioSource`)::

    from_wav(path, chunk_ms=20, realtime=True, scheduler=None)
    from_bytes(data, fmt, chunk_ms=20, realtime=True, scheduler=None)
    from_microphone(fmt=AudioFormat("linear16", 16000), chunk_ms=20, device=None)   # [mic]

Sinks (Observers)::

    to_wav(path, fmt)                  # writes incrementally, finalised on completion or error
    speaker(fmt, device=None)          # queued playback, .clear() for barge-in      # [mic]

Operators (for ``.pipe``)::

    rechunk(ms, fmt)                   # exact chunk sizes
    pace(fmt, realtime=True, scheduler=None)   # no faster than real time
    resample(src, dst)                 # rate, channels, G.711 <-> linear16, streaming
    to_linear16(fmt)

Files and codecs: :func:`read_wav`, :func:`wav_format`, :class:`AudioConverter`,
:func:`mulaw_decode`, :func:`mulaw_encode`, :func:`alaw_decode`, :func:`alaw_encode`.

Example: stream a file to Deepgram at real time, telling it the file's format::

    source = from_wav("call.wav")
    with client.listen.v1.connect(model="nova-3", **source.format.options()) as conn:
        source.subscribe(conn.input)        # completion closes the stream gracefully
        conn.messages.run()

Time-based sources and operators run on the ``scheduler`` given, else the one given to
``subscribe``, else the running asyncio loop (when subscribed from a coroutine), else a daemon
thread of their own: they never block the subscribing thread.
"""

from __future__ import annotations

from ._convert import AudioConverter
from ._format import AudioFormat, Encoding, FormatOptions
from ._mic import from_microphone
from ._pace import pace
from ._pcm import alaw_decode, alaw_encode, mulaw_decode, mulaw_encode
from ._sinks import WavSink, to_wav
from ._source import AudioSource, from_bytes, from_wav
from ._speaker import Speaker, speaker
from ._transform import rechunk, resample, to_linear16
from ._wav import read_wav, wav_format

__all__ = [
    "AudioConverter",
    "AudioFormat",
    "AudioSource",
    "Encoding",
    "FormatOptions",
    "Speaker",
    "WavSink",
    "alaw_decode",
    "alaw_encode",
    "from_bytes",
    "from_microphone",
    "from_wav",
    "mulaw_decode",
    "mulaw_encode",
    "pace",
    "read_wav",
    "rechunk",
    "resample",
    "speaker",
    "to_linear16",
    "to_wav",
    "wav_format",
]
