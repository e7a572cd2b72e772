"""The ``local`` speech-to-text engine: offline recognition with pocketsphinx.

Behind the ``local`` extra (``pip install "rxdeepgram[local]"``): the ``pocketsphinx`` wheel ships
a US-English acoustic model, language model and dictionary, which this engine uses as they are.
Importing this module does not import pocketsphinx; building a :class:`PocketsphinxEngine` does,
and says how to install it when it is missing.

Costs (measured on the 2-core development machine): building a decoder loads the model, about
0.5 s and about 90 MB of memory; decoding runs at about a quarter of real time. So decoders are
built once and pooled by the engine: a stream borrows one when a speech segment begins and gives
it back when the segment's final result is out, carrying its own cepstral mean (the decoder's
running estimate of the channel) from segment to segment. Concurrent connections therefore need
only as many decoders as there are segments being spoken at the same moment.

Interim results are incremental: while a segment grows, each call feeds the decoder only the audio
it has not seen yet and reads the partial best path, and the final call ends the utterance that is
already under way. A stream fed a growing segment does the decoding work once. The one exception
is a stream's first segment: until a final result has taught the stream its cepstral mean, the
decoder starts from the model's generic one, which costs pocketsphinx dearly (14.5% word error
rate against 8.2% on the synthesised calibration set), so that segment's final result decodes the
whole segment again in one batch, normalised with its own mean. Its interim results are rougher
than later segments'.

Confidences: pocketsphinx's word posteriors come from the lattice, which exists only once the
utterance has ended. Final words report ``sqrt(posterior)``: the raw posteriors are pessimistic
(on clean synthesised speech, where 93% of words were right, correct words averaged 0.78 and the
median wrong word 0.46); the square root keeps the order and lifts correct words towards where
Deepgram's confidences sit. Interim words get :data:`INTERIM_CONFIDENCE`.
"""

from __future__ import annotations

import array
import importlib
import math
import os
import re
import sys
import threading
from types import ModuleType
from typing import TYPE_CHECKING, Any

from rxdeepgram.errors import ConfigurationError
from rxdeepgram.server.engines._base import RecognizedWord

if TYPE_CHECKING:
    from rxdeepgram.server.engines._base import SttEngine, SttStream

__all__ = ["INTERIM_CONFIDENCE", "PocketsphinxEngine", "PocketsphinxStream", "clean_word"]

INTERIM_CONFIDENCE = 0.8
"""The confidence of interim words, which have no posterior yet."""

_SAMPLE_RATE = 16000
# Pronunciation variants ("to(2)") name the same word.
_VARIANT = re.compile(r"\(\d+\)$")
# Settings the engine changes from pocketsphinx's defaults (callers may override them). Capping
# the active HMMs per frame at 5000 (pocketsphinx: 30000) decodes 25% faster with the same word
# error rate on the calibration set.
_DEFAULTS: dict[str, Any] = {"maxhmmpf": 5000}
# Settings the engine decides itself.
_RESERVED = frozenset({"samprate", "logfn", "loglevel"})


def _import_pocketsphinx() -> ModuleType:
    try:
        pocketsphinx = importlib.import_module("pocketsphinx")
    except ImportError as exc:
        raise ConfigurationError(
            'the "local" speech-to-text engine needs pocketsphinx, which is not installed: '
            'pip install "rxdeepgram[local]"'
        ) from exc
    return pocketsphinx


def clean_word(word: str) -> str | None:
    """The spoken word of a pocketsphinx segment, or None for a filler.

    Fillers are the sentence markers and non-speech units of the model (``<s>``, ``</s>``,
    ``<sil>``, ``[NOISE]``, ``++NOISE++``); pronunciation variants lose their suffix
    (``"to(2)"`` -> ``"to"``).
    """
    if not word or word.startswith(("<", "[", "++")):
        return None
    return _VARIANT.sub("", word) or None


class PocketsphinxEngine:
    """Offline US-English recognition with pocketsphinx's bundled model (16 kHz, blocking).

    ``max_idle`` bounds how many decoders the engine keeps when no segment needs them (each holds
    the model, about 90 MB). A final segment whose RMS level is below ``min_rms`` (16-bit sample
    units; 100 is about -50 dBFS, speech is usually above 1000) is silence and has no words:
    pocketsphinx would otherwise guess a word or two. ``config`` passes further pocketsphinx
    settings (e.g. ``hmm``, ``lm``, ``dict``, ``beam``); ``samprate``, ``logfn`` and ``loglevel``
    are the engine's own.

    Raises :class:`~rxdeepgram.errors.ConfigurationError` when pocketsphinx is not installed and
    ``ValueError`` for a setting it does not accept.
    """

    name = "local"
    sample_rate = _SAMPLE_RATE
    blocking = True

    def __init__(
        self,
        *,
        max_idle: int = 2,
        min_rms: float = 100.0,
        **config: str | int | float | bool | None,
    ) -> None:
        if max_idle < 0:
            raise ValueError(f"max_idle must be >= 0, got {max_idle}")
        if min_rms < 0:
            raise ValueError(f"min_rms must be >= 0, got {min_rms}")
        self.min_rms = min_rms
        reserved = sorted(_RESERVED.intersection(config))
        if reserved:
            raise ValueError(f"the local engine sets {', '.join(reserved)} itself")
        self._ps = _import_pocketsphinx()
        self._settings: dict[str, Any] = {
            **_DEFAULTS,
            **config,
            "samprate": _SAMPLE_RATE,
            "loglevel": "FATAL",
            "logfn": os.devnull,
        }
        try:
            config_object = self._ps.Config(**self._settings)  # validates the settings, cheaply
        except KeyError as exc:
            raise ValueError(f"unknown pocketsphinx setting: {exc}") from exc
        self._frame_rate = float(config_object["frate"])
        self._cmn_init = str(config_object["cmninit"])
        self._max_idle = max_idle
        self._idle: list[Any] = []
        self._lock = threading.Lock()
        self._created = 0

    @property
    def decoders_created(self) -> int:
        """How many decoders the engine has built so far."""
        return self._created

    @property
    def idle_decoders(self) -> int:
        """How many built decoders are waiting in the pool."""
        with self._lock:
            return len(self._idle)

    def warm(self, count: int = 1) -> None:
        """Build decoders ahead of need, so the first segments do not wait for the model to
        load (about 0.5 s each). Blocking: call it off the event loop."""
        with self._lock:
            missing = min(count, self._max_idle) - len(self._idle)
        built = [self._build() for _ in range(missing)]
        with self._lock:
            self._idle.extend(built)

    def new_stream(self) -> PocketsphinxStream:
        """A recognition stream for one channel; cheap (decoders are borrowed per segment)."""
        return PocketsphinxStream(self)

    def close(self) -> None:
        """Drop the idle decoders."""
        with self._lock:
            self._idle.clear()

    # --- used by the streams -------------------------------------------------------------

    @property
    def frame_rate(self) -> float:
        """Decoder frames per second (``seg()`` frame indices count these)."""
        return self._frame_rate

    @property
    def cmn_init(self) -> str:
        """The initial cepstral mean a new stream starts from."""
        return self._cmn_init

    def acquire(self) -> Any:
        """A decoder from the pool, or a newly built one (blocking)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        return self._build()

    def release(self, decoder: Any) -> None:
        """Give a decoder that is not inside an utterance back to the pool."""
        with self._lock:
            if len(self._idle) < self._max_idle:
                self._idle.append(decoder)

    def _build(self) -> Any:
        decoder = self._ps.Decoder(self._ps.Config(**self._settings))
        with self._lock:
            self._created += 1
        return decoder


class PocketsphinxStream:
    """The recognition state of one channel: the segment being decoded, if any, and the
    channel's cepstral mean between segments."""

    def __init__(self, engine: PocketsphinxEngine) -> None:
        self._engine = engine
        self._lock = threading.Lock()
        self._cmn = engine.cmn_init
        self._adapted = False  # has a final result taught the stream its cepstral mean yet?
        self._decoder: Any = None
        self._start = 0.0
        self._fed = bytearray()
        self._closed = False

    def transcribe(self, pcm: bytes, start: float, final: bool) -> list[RecognizedWord]:
        """Words of the segment ``pcm`` that began at ``start`` seconds; see
        :meth:`rxdeepgram.server.engines._base.SttStream.transcribe`.

        A call whose ``start`` matches the open segment and whose audio extends what was fed
        before decodes only the new audio; anything else abandons the open segment and starts
        over. ``final=True`` ends the segment and gives its words with posterior confidences.
        """
        data = bytes(pcm)
        data = data[: len(data) - len(data) % 2]
        with self._lock:
            if self._closed:
                raise RuntimeError("transcribe() on a closed pocketsphinx stream")
            if final:
                return self._final(data, start)
            if not self._continues(data, start):
                self._abandon()
                if not data:
                    return []
                self._begin(start)
            self._feed(data)
            return self._words(final=False)

    def close(self) -> None:
        """Abandon any open segment and give the decoder back; later calls raise."""
        with self._lock:
            self._abandon()
            self._closed = True

    def _final(self, data: bytes, start: float) -> list[RecognizedWord]:
        if _rms(data) < self._engine.min_rms:
            # Silence or near-silence: pocketsphinx would only guess at it.
            self._abandon()
            return []
        if not self._adapted:
            # The stream's first segment: decode it whole, normalised with its own cepstral
            # mean (see the module's docstring); later segments start from what this learns.
            self._abandon()
            self._cmn = self._engine.cmn_init  # the same result with or without interims
            self._begin(start)
            self._decoder.process_raw(data, False, True)
            self._fed += data
        else:
            if not self._continues(data, start):
                self._abandon()
                self._begin(start)
            self._feed(data)
        self._decoder.end_utt()
        words = self._words(final=True)
        self._adapted = True
        self._finish()
        return words

    def _continues(self, data: bytes, start: float) -> bool:
        """Is ``data`` the open segment's audio, grown or not?"""
        return (
            self._decoder is not None
            and start == self._start
            and len(data) >= len(self._fed)
            and data.startswith(self._fed)
        )

    def _feed(self, data: bytes) -> None:
        fed = len(self._fed)
        if len(data) > fed:
            self._decoder.process_raw(data[fed:], False, False)
            self._fed += data[fed:]

    def _begin(self, start: float) -> None:
        decoder = self._engine.acquire()
        try:
            # A pooled decoder's front end remembers the last stream it served, beyond what
            # set_cmn restores: start it afresh, then give it this stream's cepstral mean.
            decoder.reinit_feat()
            decoder.set_cmn(self._cmn)
            decoder.start_utt()
        except BaseException:
            self._engine.release(decoder)
            raise
        self._decoder = decoder
        self._start = start

    def _finish(self) -> None:
        """After end_utt: keep the channel's cepstral mean and return the decoder."""
        decoder, self._decoder = self._decoder, None
        self._fed = bytearray()
        if decoder is not None:
            self._cmn = str(decoder.get_cmn())
            self._engine.release(decoder)

    def _abandon(self) -> None:
        if self._decoder is not None:
            self._decoder.end_utt()
            self._finish()

    def _words(self, *, final: bool) -> list[RecognizedWord]:
        rate = self._engine.frame_rate
        start = self._start
        limit = start + len(self._fed) / 2 / _SAMPLE_RATE
        words: list[RecognizedWord] = []
        for segment in self._decoder.seg() or ():
            word = clean_word(segment.word)
            if word is None:
                continue
            begin = min(start + segment.start_frame / rate, limit)
            end = min(start + (segment.end_frame + 1) / rate, limit)
            if final:
                confidence = min(max(float(segment.prob), 0.0), 1.0) ** 0.5
            else:
                confidence = INTERIM_CONFIDENCE
            words.append(RecognizedWord(word, begin, max(end, begin), round(confidence, 4)))
        return words


def _rms(data: bytes) -> float:
    """Root mean square of 16-bit little-endian samples."""
    samples = array.array("h", data)
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return 0.0
    return math.sqrt(math.fsum(s * s for s in samples) / len(samples))


if TYPE_CHECKING:

    def _conforms(engine: PocketsphinxEngine, stream: PocketsphinxStream) -> SttEngine:
        """Let mypy check the classes against the engine protocols."""
        _: SttStream = stream
        return engine
