"""The ``local`` speech-to-text engine: offline recognition with pocketsphinx.

Behind the ``local`` extra (``pip install "rxdeepgram[local]"``): the ``pocketsphinx`` wheel ships
a US-English acoustic model, language model and dictionary, which this engine uses as they are.
Importing this module does not import pocketsphinx; building a :class:`PocketsphinxEngine` does,
and says how to install it when it is missing.

Costs (measured on the 2-core development machine): building a decoder loads the model, about
0.5 s and 60-90 MB of memory; decoding runs at about a fifth of real time. So decoders are
built once and pooled by the engine: a stream borrows one when a speech segment begins and gives
it back when the segment's final result is out, carrying its own cepstral mean (the decoder's
running estimate of the channel) from segment to segment. Concurrent connections therefore need
only as many decoders as there are segments being spoken at the same moment.

Interim results are incremental: while a segment grows, each call feeds the decoder only the audio
it has not seen yet and reads the partial best path, and the final call ends the utterance that is
already under way. A stream fed a growing segment does the decoding work once. The one exception
is a stream's first segment: until a final result has taught the stream its cepstral mean, the
decoder starts from the model's generic one, which costs pocketsphinx dearly (a word error rate
of 14.5% against 8.2% on a calibration set of 18 sentences in 4 flite voices), so that segment's
final result decodes the whole segment in one batch (again, if interim results decoded it
already), normalised with its own mean. Its interim results are rougher than later segments'.

pocketsphinx keeps Python's GIL while it decodes, so a thread running it (as the server runs
``blocking`` engines) stalls every other thread of the process, the event loop included, for as
long as each call decodes. The engine feeds the decoder at most 0.1 s of audio per call to bound
those stalls; the first segment's batch decode and each segment's final pass remain single calls
(a few tenths of a second for a sentence). ``workers=N`` moves the decoding into N worker
processes instead: the calling thread then only waits on a pipe, without the GIL, and the event
loop stays responsive whatever the decoders do.

Confidences: pocketsphinx's word posteriors come from the lattice, which exists only once the
utterance has ended. Final words report ``sqrt(posterior)``: the raw posteriors are pessimistic
(on clean synthesised speech, where 93% of words were right, correct words averaged 0.78 and the
median wrong word 0.46); the square root keeps the order and lifts correct words towards where
Deepgram's confidences sit. Interim words get :data:`INTERIM_CONFIDENCE`.
"""

from __future__ import annotations

import array
import contextlib
import importlib
import itertools
import math
import os
import pickle
import re
import subprocess
import sys
import threading
from pathlib import Path
from types import ModuleType
from typing import IO, TYPE_CHECKING, Any

from rxdeepgram.errors import ConfigurationError
from rxdeepgram.server.engines._base import RecognizedWord, SttStream

if TYPE_CHECKING:
    from rxdeepgram.server.engines._base import SttEngine

__all__ = ["INTERIM_CONFIDENCE", "PocketsphinxEngine", "PocketsphinxStream", "clean_word"]

INTERIM_CONFIDENCE = 0.8
"""The confidence of interim words, which have no posterior yet."""

_SAMPLE_RATE = 16000
# The most audio one process_raw call decodes while a segment grows (0.1 s): each call holds the
# GIL for about a quarter of its audio's duration.
_CHUNK_BYTES = 2 * _SAMPLE_RATE // 10
# Pronunciation variants ("to(2)") name the same word.
_VARIANT = re.compile(r"\(\d+\)$")
# Settings the engine changes from pocketsphinx's defaults (callers may override them). None
# now: capping the active HMMs per frame at 5000 (pocketsphinx: 30000) decoded 25% faster with
# the same word error rate on the flite calibration set, but cost 2.3 points on the everyday
# espeak-ng set (``benchmarks/local_roundtrip.py``: 34.2% -> 31.9% without the cap), so the
# engine keeps pocketsphinx's own pruning. Pass ``maxhmmpf=5000`` for speed.
_DEFAULTS: dict[str, Any] = {}
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

    ``workers=0`` (the default) decodes in the calling thread; ``workers=N`` in N worker processes
    (fresh interpreters started when first needed, each with its own decoders), streams spread
    over them in turn.
    ``max_idle`` bounds how many decoders the engine (or each worker) keeps when no segment needs
    them (each holds the model, about 90 MB). A final segment whose RMS level is below
    ``min_rms`` (16-bit sample units; 100 is about -50 dBFS, speech is usually above 1000) is
    silence and has no words: pocketsphinx would otherwise guess a word or two. ``config`` passes
    further pocketsphinx settings (e.g. ``hmm``, ``lm``, ``dict``, ``beam``, ``maxhmmpf``);
    ``samprate``, ``logfn`` and ``loglevel`` are the engine's own.

    Raises :class:`~rxdeepgram.errors.ConfigurationError` when pocketsphinx is not installed and
    ``ValueError`` for a setting it does not accept.
    """

    name = "local"
    sample_rate = _SAMPLE_RATE
    lead_in_s = 0.1
    """The server gives each segment this much of the audio before its onset: pocketsphinx
    misses soft first words ("the meeting" heard as "meeting") without it."""
    tail_s = 0.15
    """... and this much of the silence after it with the final result: without it the last
    words suffer ("book a flight to boston" heard as "because like to boston")."""
    languages: tuple[str, ...] | None = ("en",)
    """The bundled model is US English: the server refuses (400) ``language=fr`` and the like
    rather than transcribing French as English words. Set to ``None`` (any) or other subtags
    when ``config`` loads another language's model."""
    fine_resampling = True
    """Input at other rates reaches it through the windowed-sinc converter (see
    ``FrameSplitter``): linear interpolation from 24 kHz doubled as a low-pass filter badly
    enough to cost 29 % word error rate."""
    blocking = True

    def __init__(
        self,
        *,
        workers: int = 0,
        max_idle: int = 2,
        min_rms: float = 100.0,
        **config: str | int | float | bool | None,
    ) -> None:
        if workers < 0:
            raise ValueError(f"workers must be >= 0, got {workers}")
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
        worker_options = {"max_idle": max_idle, "min_rms": min_rms, **config}
        self._workers = [_Worker(worker_options) for _ in range(workers)]
        self._next_worker = itertools.cycle(self._workers)

    @property
    def decoders_created(self) -> int:
        """How many decoders the engine has built so far."""
        return self._created

    @property
    def idle_decoders(self) -> int:
        """How many built decoders are waiting in the pool."""
        with self._lock:
            return len(self._idle)

    @property
    def workers(self) -> int:
        """How many worker processes decode for the engine (0: it decodes in-process)."""
        return len(self._workers)

    def warm(self, count: int = 1) -> None:
        """Build ``count`` decoders (per worker) ahead of need, so the first segments do not
        wait for the model to load (about 0.5 s each). Blocking: call it off the event loop."""
        for worker in self._workers:
            worker.call("warm", count)
        if self._workers:
            return
        with self._lock:
            missing = min(count, self._max_idle) - len(self._idle)
        built = [self._build() for _ in range(missing)]
        with self._lock:
            self._idle.extend(built)

    def new_stream(self) -> SttStream:
        """A recognition stream for one channel; cheap (decoders are borrowed per segment and
        worker processes start on first use)."""
        if self._workers:
            with self._lock:
                worker = next(self._next_worker)
            return _RemoteStream(worker)
        return PocketsphinxStream(self)

    def close(self) -> None:
        """Drop the idle decoders and stop the worker processes."""
        with self._lock:
            self._idle.clear()
        for worker in self._workers:
            worker.close()

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
        for offset in range(len(self._fed), len(data), _CHUNK_BYTES):
            chunk = data[offset : offset + _CHUNK_BYTES]
            self._decoder.process_raw(chunk, False, False)
            self._fed += chunk

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


class _Worker:
    """A worker process that owns an in-process engine, and the pipes to it.

    The worker is a fresh interpreter (``python -c``), not a ``multiprocessing`` child, so it
    never re-runs the parent's ``__main__``. Messages are length-prefixed pickles over its stdin
    and stdout: requests ``(operation, *arguments)``, replies ``(True, value)`` or
    ``(False, exception)``; one request is in flight at a time.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        self._options = options
        self._lock = threading.Lock()
        self._process: subprocess.Popen[bytes] | None = None
        self._stream_ids = itertools.count()

    def new_stream_id(self) -> int:
        """An id for a new stream served by this worker."""
        return next(self._stream_ids)

    def call(self, *request: Any) -> Any:
        """Send ``request`` and wait for its reply (without the GIL); re-raise its error."""
        with self._lock:
            process = self._process or self._start()
            assert process.stdin is not None and process.stdout is not None
            try:
                _send(process.stdin, request)
                ok, value = _receive(process.stdout)
            except (EOFError, OSError) as exc:
                self._stop()
                raise RuntimeError("the pocketsphinx worker process died") from exc
        if not ok:
            raise value
        return value

    def close(self) -> None:
        """Ask the worker to exit and wait for it (briefly)."""
        with self._lock:
            self._stop()

    def _start(self) -> subprocess.Popen[bytes]:
        package_root = str(Path(__file__).resolve().parents[3])
        path = os.environ.get("PYTHONPATH")
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [package_root, path]))}
        code = f"from {__name__} import _worker_main; _worker_main()"
        process = subprocess.Popen(
            [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env
        )
        self._process = process
        assert process.stdin is not None
        _send(process.stdin, self._options)
        return process

    def _stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        assert process.stdin is not None and process.stdout is not None
        with contextlib.suppress(OSError):
            _send(process.stdin, ("quit",))
        with contextlib.suppress(OSError):
            process.stdin.close()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        process.stdout.close()


def _send(pipe: IO[bytes], message: Any) -> None:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(len(data).to_bytes(4, "little") + data)
    pipe.flush()


def _receive(pipe: IO[bytes]) -> Any:
    header = pipe.read(4)
    if len(header) < 4:
        raise EOFError("the pipe closed")
    size = int.from_bytes(header, "little")
    data = pipe.read(size)
    if len(data) < size:
        raise EOFError("the pipe closed mid-message")
    return pickle.loads(data)


def _worker_main() -> None:
    """A worker process's loop: run requests against an in-process engine until told to quit
    or the parent goes away. Its stdout carries replies only; stray output goes to stderr."""
    requests = sys.stdin.buffer
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        engine = PocketsphinxEngine(**_receive(requests))
    except Exception as exc:
        # Report the failure to the first request, then stop.
        with contextlib.suppress(EOFError, OSError):
            _receive(requests)
            _send(replies, (False, exc))
        return
    streams: dict[int, PocketsphinxStream] = {}
    while True:
        try:
            operation, *arguments = _receive(requests)
        except (EOFError, OSError):
            break
        if operation == "quit":
            break
        try:
            value: Any = None
            if operation == "transcribe":
                stream_id, pcm, start, final = arguments
                stream = streams.get(stream_id)
                if stream is None:
                    stream = streams[stream_id] = PocketsphinxStream(engine)
                words = stream.transcribe(pcm, start, final)
                value = [(w.word, w.start, w.end, w.confidence) for w in words]
            elif operation == "close":
                closing = streams.pop(arguments[0], None)
                if closing is not None:
                    closing.close()
            elif operation == "warm":
                engine.warm(arguments[0])
            else:
                raise ValueError(f"unknown worker operation {operation!r}")
            reply: tuple[bool, Any] = (True, value)
        except Exception as exc:
            reply = (False, exc)
        try:
            try:
                _send(replies, reply)
            except (pickle.PicklingError, TypeError, AttributeError):  # an unpicklable error
                _send(replies, (False, RuntimeError(f"{type(reply[1]).__name__}: {reply[1]}")))
        except OSError:
            break
    engine.close()


class _RemoteStream:
    """A stream whose decoding happens in a worker process."""

    def __init__(self, worker: _Worker) -> None:
        self._worker = worker
        self._id = worker.new_stream_id()
        self._closed = False
        self._used = False

    def transcribe(self, pcm: bytes, start: float, final: bool) -> list[RecognizedWord]:
        """See :meth:`PocketsphinxStream.transcribe`."""
        if self._closed:
            raise RuntimeError("transcribe() on a closed pocketsphinx stream")
        self._used = True
        words = self._worker.call("transcribe", self._id, bytes(pcm), start, final)
        return [RecognizedWord(*word) for word in words]

    def close(self) -> None:
        """Release the stream's state in the worker; later calls raise."""
        if self._closed:
            return
        self._closed = True
        if self._used:
            with contextlib.suppress(RuntimeError):  # a dead worker took the stream with it
                self._worker.call("close", self._id)


def _rms(data: bytes) -> float:
    """Root mean square of 16-bit little-endian samples."""
    samples = array.array("h", data)
    if sys.byteorder == "big":
        samples.byteswap()
    if not samples:
        return 0.0
    return math.sqrt(math.fsum(s * s for s in samples) / len(samples))


if TYPE_CHECKING:

    def _conforms(
        engine: PocketsphinxEngine, stream: PocketsphinxStream, remote: _RemoteStream
    ) -> SttEngine:
        """Let mypy check the classes against the engine protocols."""
        _: SttStream = stream
        _ = remote
        return engine
