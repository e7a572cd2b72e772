"""``/v1/listen``: Deepgram's Nova streaming speech-to-text, served locally.

Everything protocol-shaped happens here; the engine only turns a speech segment into words.
Timing comes from the audio alone (sample counts, never the wall clock), so a given audio
stream always yields the same messages, however it is chunked.

Behaviour (choices are marked *local*, where Deepgram documents nothing or the local server
deliberately differs):

* The server sends nothing before audio. Audio is decoded per ``encoding`` (``linear16``,
  ``linear32``, ``mulaw``, ``alaw``, with ``sample_rate``) or, with no ``encoding``, from a WAV
  header (PCM 8/16/24/32-bit, float, mu-law, A-law). Other encodings and containers (opus, flac,
  ogg, webm, mp3...) and raw audio without ``encoding`` close the socket with 1008
  ``DATA-0000`` and a reason saying why, at the first audio frame.
* ``multichannel=true`` with ``channels=N``: each channel is detected and transcribed on its
  own (``channel_index [i, N]``); otherwise the channels are averaged to one (``[0, 1]``).
* ``language=multi``: every alternative carries ``languages_hinted``, the ``language_hint``
  values in canonical case (``[]`` without any).
* Audio is resampled to the engine's rate and cut into 10 ms frames; :class:`~._audio.EnergyVad`
  finds speech segments. Per channel:

  - ``vad_events=true``: ``SpeechStarted {channel, timestamp}`` when a segment is confirmed
    (50 ms of speech), stamped with its first frame.
  - ``interim_results=true``: an interim ``Results`` (``is_final: false``) every 0.5 s of audio
    from the segment's onset, holding the words so far (those not yet in a final result);
    skipped when that moment falls in a pause and the words have not changed since the
    previous interim.
  - A segment ends after ``endpointing`` ms of silence: a final ``Results`` with
    ``speech_final: true``. *Local*: the detector needs at least 200 ms of silence, so smaller
    values (Deepgram's default is 10 ms) act as 200 ms; ``endpointing=false`` still ends
    segments after 200 ms of silence but with ``speech_final: false``.
  - A segment open for 5 s emits an intermediate final ``Results`` (``is_final: true``,
    ``speech_final: false``) with the words so far; later results of the segment start there.
  - ``utterance_end_ms`` (only with ``interim_results=true``; ignored otherwise):
    ``UtteranceEnd {channel, last_word_end}`` once the audio has run ``utterance_end_ms`` past
    the end of the last word sent, once per last word. If the segment is still open then, an
    interim result with any newer words is sent first (and the gap counts from them).
  - Results cover ``[start, start + duration)`` of audio time: from the segment's onset (or the
    previous final's end) to the frame being processed. Silence alone produces no ``Results``.

* ``Finalize``: each open segment (or only ``channel``'s, when given) is closed now and sent as a
  final ``Results`` with ``from_finalize: true`` (``speech_final: false``); nothing open,
  nothing sent. Speech that continues afterwards starts a new segment without a new
  ``SpeechStarted``.
* ``KeepAlive``: no reply; like any frame it restarts the idle timer.
* ``CloseStream`` (and, as in Deepgram's pre-2022 protocol, an empty binary frame): open
  segments are sent as final ``Results`` (``speech_final: false``), then one ``Metadata``
  (``transaction_key: "deprecated"``, the request id, the SHA-256 of every audio byte received,
  ``created`` in ISO-8601 UTC with milliseconds, ``duration`` of the decoded audio in seconds,
  ``channels``; ``models`` / ``model_info`` only when audio was received), then close 1000.
  Frames after it are ignored.
* No frame for ``idle_timeout`` seconds: close 1011 ``NET-0001``.
* A text frame that is not a Listen V1 client message (bad JSON, unknown ``type``, unknown
  field): close 1008 ``DATA-0000`` (*local*: Deepgram documents this only for Speak).
* ``Configure {keyterms}`` (post-spec): answered with ``ConfigureSuccess``.
* Words: ``word`` is the token in lower case without surrounding punctuation; with
  ``punctuate`` or ``smart_format`` each word also gets ``punctuated_word`` (the engine's token,
  the first word of a segment capitalised, a final period on the last word of a closing result)
  and the transcript uses them. ``diarize`` / ``diarize_model`` add ``speaker: 0``;
  ``detect_entities`` adds ``entities: []`` to final results; ``extra`` is echoed in
  ``metadata.extra``. Other options are accepted and have no effect.
* ``metadata.model_info`` is ``{name: <model>, version: <rxdeepgram version>, arch: <engine>}``
  and ``model_uuid`` a uuid5 of engine and model (stable across runs).
* Query options are validated by :class:`~rxdeepgram.options.ListenV1Options` in strict mode
  (unknown parameters are refused with 400). *Local*: ``model`` may be omitted (reported as
  ``nova-3``); ``sample_rate`` above 384000 and ``channels`` above 32 are refused; so is a
  ``language`` the engine does not recognise (``local``, pocketsphinx: English only; ``multi``
  too), with 400 naming it (see :mod:`._capabilities`).
* Engines with ``blocking = True`` run in a worker thread (``asyncio.to_thread``), one call at a
  time per connection, so results keep their order; an engine error closes 1011 ``NET-0000``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import uuid
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from .._version import __version__
from ..errors import InvalidOptionError
from ..messages.listen_v1 import (
    Alternative,
    Channel,
    CloseStream,
    Configure,
    ConfigureSuccess,
    Finalize,
    KeepAlive,
    Metadata,
    ModelInfo,
    Results,
    ResultsMetadata,
    SpeechStarted,
    UtteranceEnd,
    Word,
    decode_client,
)
from ..options import ListenV1Options
from ._audio import VadConfig
from ._capabilities import check_languages
from ._ingest import AudioIngest
from ._stream import ServerStream, StreamFatal
from ._stt import (
    DataError,
    Margins,
    Segment,
    Segmenter,
    call_engine,
    normalise_word,
    round_time,
    transcribe_segment,
)
from .engines import RecognizedWord, SttEngine, SttStream

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from ._channel import ServerSession, ServerSettings

__all__ = [
    "DEFAULT_MODEL",
    "INTERIM_INTERVAL_S",
    "MAX_RESULT_S",
    "MIN_ENDPOINTING_MS",
    "ListenV1Handler",
    "ListenV1Settings",
]

log = logging.getLogger("rxdeepgram.server")

DEFAULT_MODEL = "nova-3"
"""The model reported when the client names none (Deepgram has a server-side default)."""
MIN_ENDPOINTING_MS = 200
"""Shortest silence that ends a segment (smaller ``endpointing`` values act as this)."""
INTERIM_INTERVAL_S = 0.5
"""Audio time between interim results of an open segment."""
MAX_RESULT_S = 5.0
"""Audio time after which an open segment emits an intermediate final result."""


@dataclass(frozen=True, slots=True)
class ListenV1Settings:
    """What the Listen V1 handler needs from the validated query options."""

    options: ListenV1Options
    model: str
    encoding: str | None
    sample_rate: int | None
    channels: int
    multichannel: bool
    interim_results: bool
    vad_events: bool
    endpointing_ms: int | None  # None: endpointing disabled
    utterance_end_ms: int | None
    punctuate: bool
    diarize: bool
    detect_entities: bool
    extra: dict[str, str] = field(default_factory=dict)
    languages_hinted: list[str] | None = None  # with language=multi: the hints, canonical

    @classmethod
    def from_options(cls, options: ListenV1Options) -> ListenV1Settings:
        """Derive the handler's settings (defaults as Deepgram documents them)."""
        endpointing = options.endpointing
        endpointing_ms = None if endpointing is False else endpointing
        if endpointing_ms is None and endpointing is not False:
            endpointing_ms = 10  # Deepgram's documented default
        extra: dict[str, str] = {}
        for item in options.extra or ():
            key, _, value = item.partition(":")
            extra[key] = value
        interim = bool(options.interim_results)
        hinted = None
        if options.language == "multi":
            hints = (options.extra_query or {}).get("language_hint")  # wire strings by now
            given = [hints] if isinstance(hints, str) else list(hints or ())  # type: ignore[arg-type]
            hinted = [_canonical(str(h)) for h in given]
        return cls(
            options=options,
            model=options.model,
            encoding=options.encoding,
            sample_rate=options.sample_rate,
            channels=options.channels or 1,
            multichannel=bool(options.multichannel),
            interim_results=interim,
            vad_events=bool(options.vad_events),
            endpointing_ms=endpointing_ms,
            utterance_end_ms=options.utterance_end_ms if interim else None,
            punctuate=bool(options.punctuate or options.smart_format),
            diarize=bool(options.diarize or options.diarize_model),
            detect_entities=bool(options.detect_entities),
            extra=extra,
            languages_hinted=hinted,
        )

    @property
    def segment_silence_ms(self) -> int:
        """Silence that closes a segment."""
        if self.endpointing_ms is None:
            return MIN_ENDPOINTING_MS
        return max(self.endpointing_ms, MIN_ENDPOINTING_MS)


def _canonical(tag: str) -> str:
    """A BCP-47 tag in canonical case (``ES`` -> ``es``, ``zh-hk`` -> ``zh-HK``), as the
    service returns ``language_hint`` values in ``languages_hinted``. *Local*: Deepgram also
    maps a region it has no model tag for to the base language (``en-GB`` -> ``en``); the local
    server keeps the region."""
    language, sep, region = tag.strip().partition("-")
    return language.lower() + (sep + region.upper() if len(region) == 2 else sep + region)


class ListenV1Handler:
    """The ``/v1/listen`` route."""

    def parse_options(self, pairs: Sequence[tuple[str, str]]) -> ListenV1Settings:
        """Validate the query with :class:`~rxdeepgram.options.ListenV1Options` (strict: unknown
        parameters are refused). ``model`` may be omitted (*local*: reported as ``nova-3``)."""
        items = list(pairs)
        if not any(key == "model" for key, _ in items):
            items.append(("model", DEFAULT_MODEL))
        options = ListenV1Options.from_query(items, strict=True)
        if options.sample_rate is not None and options.sample_rate > 384_000:
            raise InvalidOptionError("sample_rate", options.sample_rate, "must be <= 384000")
        if options.channels is not None and options.channels > 32:
            raise InvalidOptionError("channels", options.channels, "must be <= 32")
        return ListenV1Settings.from_options(options)

    def check_request(self, settings: ListenV1Settings, server: ServerSettings) -> None:
        """Refuse (400) a ``language`` the server's engine does not recognise."""
        if settings.options.language is not None:
            check_languages("language", [settings.options.language], server.engine)

    async def serve(self, session: ServerSession) -> None:
        """Run one connection."""
        assert isinstance(session.options, ListenV1Settings)
        server = session.server
        stream = _ListenStream(
            session.websocket,
            session.request_id,
            session.options,
            server.engine,
            server.vad,
        )
        await stream.run(server.idle_timeout)


# --- helpers -------------------------------------------------------------------------------


def _created_now() -> str:
    now = datetime.now(UTC)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


_t = round_time


@dataclass(slots=True)
class _Segment(Segment):
    """A speech segment with Listen V1's result bookkeeping."""

    result_start_frame: int = 0  # where the next result starts (after intermediate finals)
    next_interim_frame: int = 0
    committed: int = 0  # words already sent in intermediate final results
    last_interim: tuple[tuple[str, float, float], ...] | None = None


class _Track:
    """Detection and recognition state of one result channel."""

    def __init__(
        self,
        index: int,
        total: int,
        engine: SttEngine,
        vad_config: VadConfig,
        stream: SttStream,
    ) -> None:
        self.index = index
        self.label = [index, total]
        self.segmenter: Segmenter[_Segment] = Segmenter(
            engine.sample_rate, vad_config, self._segment
        )
        self.frame_s = self.segmenter.frame_s
        self.stream = stream
        self.last_word_end: float | None = None
        self.utterance_end_sent = True

    def _segment(self, start_frame: int, pcm: bytearray, voiced_end: int) -> _Segment:
        next_interim = start_frame + max(1, round(INTERIM_INTERVAL_S / self.frame_s))
        return _Segment(
            start_frame,
            pcm,
            voiced_end,
            result_start_frame=start_frame,
            next_interim_frame=next_interim,
        )

    @property
    def segment(self) -> _Segment | None:
        return self.segmenter.segment

    def seconds(self, frame: int) -> float:
        return frame * self.frame_s


# --- the connection ------------------------------------------------------------------------


class _ListenStream(ServerStream):
    name = "Listen V1 stream"

    def __init__(
        self,
        websocket: ServerConnection,
        request_id: str,
        settings: ListenV1Settings,
        engine: SttEngine,
        vad_config: VadConfig,
    ) -> None:
        super().__init__(websocket, request_id)
        self.settings = settings
        self.engine = engine
        self.margins = Margins.of(engine)  # audio around speech the engine asks for
        self.vad_config = dataclasses.replace(
            vad_config, min_silence_ms=settings.segment_silence_ms
        )
        self.sha = hashlib.sha256()
        self.ingest = AudioIngest(
            engine,
            self.vad_config.frame_samples(engine.sample_rate),
            encoding=settings.encoding,
            sample_rate=settings.sample_rate,
            channels=settings.channels,
            multichannel=settings.multichannel,
        )
        self.tracks: list[_Track] = []
        self.model_uuid = str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"rxdeepgram:{engine.name}:{settings.model}")
        )
        self.model_info = ModelInfo(name=settings.model, version=__version__, arch=engine.name)
        self.results_metadata = ResultsMetadata(
            request_id=request_id,
            model_info=self.model_info,
            model_uuid=self.model_uuid,
            extra=settings.extra or None,
        )
        self.closing = False

    # -- the receive loop (hooks of ServerStream) -------------------------------------------

    async def on_binary(self, data: bytes) -> bool:
        if not data:  # the pre-2022 way to end a stream
            await self._close_stream()
            return True
        try:
            await self._on_audio(data)
        except DataError as exc:
            raise StreamFatal(1008, "DATA-0000", str(exc)) from None
        return False

    def decode(self, frame: str) -> object:
        return decode_client(frame)

    async def on_message(self, message: object) -> bool:
        if isinstance(message, CloseStream):
            await self._close_stream()
            return True
        if isinstance(message, Finalize):
            await self._finalize(message.channel)
        elif isinstance(message, KeepAlive):
            pass
        elif isinstance(message, Configure):
            await self.send(
                ConfigureSuccess(request_id=self.request_id, keyterms=message.keyterms or [])
            )
        return False

    async def shutdown(self) -> None:
        await self._close_streams()

    # -- audio ---------------------------------------------------------------------------------

    async def _on_audio(self, data: bytes) -> None:
        self.sha.update(data)
        ingest = self.ingest
        ingest.feed(data)
        total = ingest.tracks
        while len(self.tracks) < total:  # the format just settled: one engine stream a track
            stream = await self._new_engine_stream()
            self.tracks.append(
                _Track(len(self.tracks), total, self.engine, self.vad_config, stream)
            )
        for frames in ingest.frames():
            for track, frame in zip(self.tracks, frames, strict=True):
                await self._process_frame(track, frame)

    async def _new_engine_stream(self) -> SttStream:
        return await call_engine(self.engine, self.engine.new_stream)

    async def _close_streams(self) -> None:
        for track in self.tracks:
            try:
                await call_engine(self.engine, track.stream.close)
            except Exception:
                log.exception("request %s: closing an engine stream failed", self.request_id)
        self.tracks = []

    # -- per-frame logic -----------------------------------------------------------------------

    async def _process_frame(self, track: _Track, frame: array[int]) -> None:
        settings = self.settings
        step = track.segmenter.push(frame)
        end_frame = step.frame + 1
        segment = track.segment
        if step.started and settings.vad_events:
            assert segment is not None
            await self.send(
                SpeechStarted(
                    channel=list(track.label), timestamp=_t(track.seconds(segment.start_frame))
                )
            )
        if step.ended is not None:
            await self._close_segment(
                track,
                step.ended,
                end_frame,
                speech_final=settings.endpointing_ms is not None,
                from_finalize=False,
            )
        elif segment is not None:
            if end_frame - segment.result_start_frame >= self._frames(track, MAX_RESULT_S):
                await self._intermediate_final(track, segment, end_frame)
            elif end_frame >= segment.next_interim_frame:
                segment.next_interim_frame += self._frames(track, INTERIM_INTERVAL_S)
                if settings.interim_results:
                    await self._interim(track, segment, end_frame, step.voiced)

        await self._check_utterance_end(track, end_frame)

    @staticmethod
    def _frames(track: _Track, seconds: float) -> int:
        return max(1, round(seconds / track.frame_s))

    async def _transcribe(
        self, track: _Track, segment: _Segment, final: bool
    ) -> list[RecognizedWord]:
        onset = track.seconds(segment.start_frame)
        words = await transcribe_segment(
            self.engine, track.stream, segment, onset, final, self.margins
        )
        return words[segment.committed :]

    async def _interim(
        self, track: _Track, segment: _Segment, end_frame: int, voiced: bool
    ) -> None:
        words = await self._transcribe(track, segment, final=False)
        heard = tuple((w.word, w.start, w.end) for w in words)
        if not voiced and heard == segment.last_interim:
            return  # in a pause, with nothing new to say
        segment.last_interim = heard
        await self._send_results(
            track, segment, words, end_frame, is_final=False, speech_final=False, closing=False
        )

    async def _intermediate_final(self, track: _Track, segment: _Segment, end_frame: int) -> None:
        words = await self._transcribe(track, segment, final=False)
        await self._send_results(
            track, segment, words, end_frame, is_final=True, speech_final=False, closing=False
        )
        segment.committed += len(words)
        segment.result_start_frame = end_frame
        segment.next_interim_frame = end_frame + self._frames(track, INTERIM_INTERVAL_S)

    async def _close_segment(
        self,
        track: _Track,
        segment: _Segment,
        end_frame: int,
        *,
        speech_final: bool,
        from_finalize: bool,
    ) -> None:
        words = await self._transcribe(track, segment, final=True)
        await self._send_results(
            track,
            segment,
            words,
            end_frame,
            is_final=True,
            speech_final=speech_final,
            closing=True,
            from_finalize=from_finalize,
        )

    async def _send_results(
        self,
        track: _Track,
        segment: _Segment,
        recognized: list[RecognizedWord],
        end_frame: int,
        *,
        is_final: bool,
        speech_final: bool,
        closing: bool,
        from_finalize: bool = False,
    ) -> None:
        settings = self.settings
        words = self._words(recognized, first=segment.committed == 0, closing=closing)
        if words:
            track.last_word_end = words[-1].end
            track.utterance_end_sent = False
        shown = [w.punctuated_word or w.word for w in words] if settings.punctuate else None
        transcript = " ".join(shown if shown is not None else [w.word for w in words])
        confidence = round(sum(w.confidence for w in words) / len(words), 6) if words else 0.0
        start = track.seconds(segment.result_start_frame)
        results = Results(
            channel_index=list(track.label),
            duration=_t(track.seconds(end_frame) - start),
            start=_t(start),
            is_final=is_final,
            speech_final=speech_final,
            channel=Channel(
                alternatives=[
                    Alternative(
                        transcript=transcript,
                        confidence=confidence,
                        words=words,
                        languages_hinted=settings.languages_hinted,
                    )
                ]
            ),
            metadata=self.results_metadata,
            from_finalize=from_finalize if is_final else None,
            entities=[] if is_final and settings.detect_entities else None,
        )
        await self.send(results)

    def _words(self, recognized: list[RecognizedWord], *, first: bool, closing: bool) -> list[Word]:
        settings = self.settings
        kept: list[tuple[RecognizedWord, str]] = []
        for item in recognized:
            norm = normalise_word(item.word)
            if norm:
                kept.append((item, norm))
        out: list[Word] = []
        last = len(kept) - 1
        for k, (item, norm) in enumerate(kept):
            punctuated: str | None = None
            if settings.punctuate:
                punctuated = item.word
                if first and k == 0:
                    punctuated = punctuated[:1].upper() + punctuated[1:]
                if closing and k == last and not punctuated.endswith((".", "?", "!")):
                    punctuated += "."
            out.append(
                Word(
                    word=norm,
                    start=_t(item.start),
                    end=_t(item.end),
                    confidence=round(item.confidence, 6),
                    punctuated_word=punctuated,
                    speaker=0 if settings.diarize else None,
                )
            )
        return out

    def _utterance_end_due(self, track: _Track, end_frame: int, gap_ms: int) -> bool:
        last = track.last_word_end
        return (
            not track.utterance_end_sent
            and last is not None
            and track.seconds(end_frame) + 1e-9 >= last + gap_ms / 1000
        )

    async def _check_utterance_end(self, track: _Track, end_frame: int) -> None:
        gap_ms = self.settings.utterance_end_ms
        if gap_ms is None or not self._utterance_end_due(track, end_frame, gap_ms):
            return
        segment = track.segment
        if segment is not None:
            # The segment is still open (long endpointing, or noise): make sure the client has
            # seen every word heard so far before declaring the utterance over.
            words = await self._transcribe(track, segment, final=False)
            if words and track.last_word_end is not None and words[-1].end > track.last_word_end:
                segment.last_interim = tuple((w.word, w.start, w.end) for w in words)
                await self._send_results(
                    track,
                    segment,
                    words,
                    end_frame,
                    is_final=False,
                    speech_final=False,
                    closing=False,
                )
                if not self._utterance_end_due(track, end_frame, gap_ms):
                    return
        if track.last_word_end is not None:
            track.utterance_end_sent = True
            await self.send(
                UtteranceEnd(channel=list(track.label), last_word_end=track.last_word_end)
            )

    # -- control messages ----------------------------------------------------------------------

    async def _finalize(self, channel: int | None) -> None:
        for track in self.tracks:
            if channel is not None and track.index != channel:
                continue
            segment = track.segmenter.cut()
            if segment is None:
                continue
            await self._close_segment(
                track, segment, track.segmenter.frame_index, speech_final=False, from_finalize=True
            )

    async def _close_stream(self) -> None:
        if self.closing:
            return
        self.closing = True
        for track in self.tracks:
            segment = track.segmenter.cut()
            if segment is not None:
                await self._close_segment(
                    track,
                    segment,
                    track.segmenter.frame_index,
                    speech_final=False,
                    from_finalize=False,
                )
        await self.send(self._metadata())
        await self.ws.close(1000)

    def _metadata(self) -> Metadata:
        fmt = self.ingest.format
        frames_in = self.ingest.frames_in
        received = fmt is not None and frames_in > 0
        duration = frames_in / fmt.sample_rate if fmt is not None else 0.0
        return Metadata(
            transaction_key="deprecated",
            request_id=self.request_id,
            sha256=self.sha.hexdigest(),
            created=_created_now(),
            duration=round(duration, 6),
            channels=fmt.channels if fmt is not None else 0,
            models=[self.model_uuid] if received else None,
            model_info={self.model_uuid: self.model_info} if received else None,
            extra=self.settings.extra or None,
        )
