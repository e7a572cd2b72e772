"""``/v2/listen``: Deepgram's Flux conversational speech-to-text (turns), served locally.

The audio plumbing is Listen V1's (:mod:`._stt`: decoding, resampling to the engine's rate,
10 ms frames, :class:`~._audio.EnergyVad` speech segments, the engine interface); this module adds
Flux's turn detection on top. Timing comes from the audio alone (sample counts, never the wall
clock), so a given audio stream always yields the same messages, however it is chunked.

Behaviour (choices are marked *local* where Deepgram documents nothing or the local server
deliberately differs):

* Options are validated by :class:`~rxdeepgram.options.ListenV2Options` in strict mode (``400``
  naming the option): ``model``, ``encoding`` and ``sample_rate`` are required, ``language_hint``
  only goes with ``flux-general-multi``, thresholds are range-checked. *Local*:
  ``eager_eot_threshold`` above the effective ``eot_threshold`` (``0.7`` when not given) and
  ``sample_rate`` above 384000 are refused too.
* ``Connected`` (``sequence_id`` 0, ``request_id`` = the ``dg-request-id`` header) is sent at once;
  every later message carries the next ``sequence_id``, whatever its type.
* Audio is raw mono ``linear16`` / ``linear32`` / ``mulaw`` / ``alaw`` at ``sample_rate``.
  *Local*: ``opus`` / ``ogg-opus`` are accepted at the handshake but the first audio frame then
  ends the stream with a fatal ``Error`` (see below).
* Speech segments (the energy detector: 50 ms of sound starts one, 200 ms of quiet ends it) are
  transcribed by the engine: ``scripted`` gives the next line of its script per segment,
  ``local`` (pocketsphinx) recognises the audio. A **turn** is one or more segments:

  - ``StartOfTurn`` when speech starts while no turn is active (at the detector's onset, with
    the words heard so far, often none yet).
  - ``Update`` every 0.25 s of audio while the turn is active (counted from ``StartOfTurn``),
    unless another event went out for the same frame. Words are re-read from the engine for
    the open segment at each one.
  - **End-of-turn confidence** is 0 while a segment is open (someone is speaking). Afterwards it
    is the silence since the end of the last speech or word, divided by ``eot_timeout_ms``
    (capped at 1.0): it rises linearly and reaches 1.0 when the timeout is up. *Local*: with the
    defaults (``eot_threshold`` 0.7, ``eot_timeout_ms`` 5000) a turn ends 3.5 s after speech;
    lower ``eot_timeout_ms`` for a snappier server.
  - ``EagerEndOfTurn`` (only with ``eager_eot_threshold``) when the confidence reaches it and
    the transcript is not empty; ``TurnResumed`` when speech starts again after it.
  - ``EndOfTurn`` when the confidence reaches ``eot_threshold`` (``trigger: "model"``) or, with
    ``eot_threshold=1.0`` (native end of turn off), when ``eot_timeout_ms`` of silence have
    passed (``trigger: "timeout"``). In eager mode it always follows an ``EagerEndOfTurn`` with
    the same transcript (if both thresholds are crossed at one frame, both go out back to back).
    The next turn has ``turn_index + 1``.
  - ``transcript`` is everything said in the turn so far: the engine's tokens as they are
    (punctuation included), the first one capitalised; ``words`` have ``word``, ``confidence``,
    ``start``, ``end``. ``audio_window_start`` is where the previous turn ended (0.0 at first),
    ``audio_window_end`` the audio position of the message. With ``flux-general-multi`` and
    language hints, ``languages_hinted`` lists them; *local*: ``languages`` is never sent.
  - A turn whose segments gave no words still ends with an (empty) ``EndOfTurn``, without
    ``EagerEndOfTurn``, so the turn state always goes back to idle.

* ``Configure``: answered by exactly one ``ConfigureSuccess`` (echoing the thresholds, keyterms,
  language hints and, when set, ``numerals`` now in force) or ``ConfigureFailure`` (post-spec
  ``code: "INVALID_CONFIGURE"`` and a ``description``) for values the connection options would
  refuse too: thresholds out of range, ``eager_eot_threshold`` above ``eot_threshold``, weighted
  keyterms, ``language_hints`` on ``flux-general-en``, badly typed fields. Thresholds apply from
  that point of the audio stream. Keyterms and numerals are echoed but change nothing.
* ``ForceEndTurn`` (post-spec): an active turn ends at once with ``EndOfTurn``
  (``trigger: "manual"``; an open segment is transcribed first, and speech that goes on starts
  a new turn); with no active turn, a ``Warning`` with code ``FORCE_END_TURN_NO_ACTIVE_TURN``.
* ``CloseStream`` (or an empty binary frame, as on Listen V1): an active turn gets one last
  ``Update`` with every word of the audio received (its open segment transcribed in full), no
  ``EndOfTurn``; then the server closes **without a status code** (an empty close frame: the
  client reads 1005), as Deepgram documents. Frames after it are ignored.
* Fatal errors send ``Error {code, description}`` and close (*local* codes, Deepgram documents
  none for these cases besides ``INTERNAL_SERVER_ERROR``):

  ========================================  ===============================================
  cause                                     ``Error.code`` / close code and reason
  ========================================  ===============================================
  audio the server cannot decode            ``UNSUPPORTED_AUDIO_FORMAT`` / 1008 ``DATA-0000``
  a text frame that is not a client message ``UNPARSABLE_CLIENT_MESSAGE`` / 1008 ``DATA-0000``
  no frame for ``idle_timeout`` seconds     ``CLIENT_MESSAGE_TIMEOUT`` / 1011 ``NET-0001``
  the engine failed                         ``INTERNAL_SERVER_ERROR`` / 1011 ``NET-0000``
  ========================================  ===============================================

  Deepgram documents no Flux inactivity timeout; the local server applies its ``idle_timeout``
  (10 s by default) to every channel.
* Engines with ``blocking = True`` run in a worker thread, one call at a time per connection.
"""

from __future__ import annotations

import logging
import math
from array import array
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import msgspec

from ..errors import InvalidOptionError
from ..messages import MessageBase
from ..messages.listen_v2 import (
    AppliedThresholds,
    CloseStream,
    Configure,
    ConfigureFailure,
    ConfigureSuccess,
    Connected,
    Error,
    ForceEndTurn,
    TurnInfo,
    Warning,
    Word,
    decode_client,
)
from ..options import ListenV2Options
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
    "DEFAULT_EOT_THRESHOLD",
    "DEFAULT_EOT_TIMEOUT_MS",
    "UPDATE_INTERVAL_S",
    "ListenV2Handler",
    "ListenV2Settings",
]

log = logging.getLogger("rxdeepgram.server")

DEFAULT_EOT_THRESHOLD = 0.7
"""``eot_threshold`` when the client gives none (Deepgram's documented default)."""
DEFAULT_EOT_TIMEOUT_MS = 5000
"""``eot_timeout_ms`` when the client gives none (Deepgram's documented default)."""
UPDATE_INTERVAL_S = 0.25
"""Audio time between ``Update`` messages of an active turn."""
_MULTI = "flux-general-multi"
_EPSILON = 1e-9

TurnState = Literal["idle", "ongoing", "awaiting"]


@dataclass(frozen=True, slots=True)
class ListenV2Settings:
    """What the Listen V2 handler needs from the validated query options."""

    options: ListenV2Options
    model: str
    encoding: str
    sample_rate: int
    eager_eot_threshold: float | None
    eot_threshold: float
    eot_timeout_ms: int
    keyterms: tuple[str, ...]
    language_hints: tuple[str, ...]
    numerals: bool | None

    @classmethod
    def from_options(cls, options: ListenV2Options) -> ListenV2Settings:
        """Derive the handler's settings (defaults as Deepgram documents them)."""
        return cls(
            options=options,
            model=options.model,
            encoding=options.encoding,
            sample_rate=options.sample_rate,
            eager_eot_threshold=options.eager_eot_threshold,
            eot_threshold=(
                options.eot_threshold
                if options.eot_threshold is not None
                else DEFAULT_EOT_THRESHOLD
            ),
            eot_timeout_ms=(
                options.eot_timeout_ms
                if options.eot_timeout_ms is not None
                else DEFAULT_EOT_TIMEOUT_MS
            ),
            keyterms=tuple(options.keyterm or ()),
            language_hints=tuple(options.language_hint or ()),
            numerals=options.numerals,
        )


class ListenV2Handler:
    """The ``/v2/listen`` route."""

    def parse_options(self, pairs: Sequence[tuple[str, str]]) -> ListenV2Settings:
        """Validate the query with :class:`~rxdeepgram.options.ListenV2Options` (strict)."""
        options = ListenV2Options.from_query(pairs, strict=True)
        if options.sample_rate > 384_000:
            raise InvalidOptionError("sample_rate", options.sample_rate, "must be <= 384000")
        settings = ListenV2Settings.from_options(options)
        eager = settings.eager_eot_threshold
        if eager is not None and eager > settings.eot_threshold:
            raise InvalidOptionError(
                "eager_eot_threshold",
                eager,
                f"must not exceed eot_threshold ({settings.eot_threshold:g}, the default when "
                "not given)",
            )
        return settings

    def check_request(self, settings: ListenV2Settings, server: ServerSettings) -> None:
        """Refuse (400) a ``language_hint`` the server's engine does not recognise."""
        hints = settings.options.language_hint
        if hints:
            check_languages("language_hint", hints, server.engine)

    async def serve(self, session: ServerSession) -> None:
        """Run one connection."""
        assert isinstance(session.options, ListenV2Settings)
        server = session.server
        stream = _FluxStream(
            session.websocket, session.request_id, session.options, server.engine, server.vad
        )
        await stream.run(server.idle_timeout)


# --- helpers -------------------------------------------------------------------------------


class _BadConfigure(Exception):
    """A ``Configure`` to answer with ``ConfigureFailure``."""


_t = round_time


async def close_without_status(ws: ServerConnection) -> None:
    """Close with an empty close frame, which the peer reads as 1005 ("no status received").

    ``websockets`` types ``close()``'s code as an ``int``, but hands it to the protocol's
    ``send_close()``, where ``None`` means exactly this frame (and no reason).
    """
    await ws.close(None)  # type: ignore[arg-type]


def _peek_type(frame: str) -> str | None:
    try:
        value = msgspec.json.decode(frame)
    except (msgspec.DecodeError, RecursionError):  # deeply nested JSON: not a Configure
        return None
    kind = value.get("type") if isinstance(value, dict) else None
    return kind if isinstance(kind, str) else None


# --- the connection ------------------------------------------------------------------------


class _FluxStream(ServerStream):
    name = "Listen V2 stream"

    def __init__(
        self,
        websocket: ServerConnection,
        request_id: str,
        settings: ListenV2Settings,
        engine: SttEngine,
        vad_config: VadConfig,
    ) -> None:
        super().__init__(websocket, request_id)
        self.settings = settings
        self.engine = engine
        self.margins = Margins.of(engine)  # audio around speech the engine asks for
        self.sequence = 0
        # Settings that Configure changes.
        self.eager = settings.eager_eot_threshold
        self.eot = settings.eot_threshold
        self.timeout_ms = settings.eot_timeout_ms
        self.keyterms = list(settings.keyterms)
        self.language_hints = list(settings.language_hints)
        self.numerals = settings.numerals
        # Audio.
        self.stream: SttStream | None = None
        self.segmenter: Segmenter[Segment] = Segmenter(engine.sample_rate, vad_config, Segment)
        self.ingest = AudioIngest(
            engine,
            self.segmenter.frame_samples,
            encoding=settings.encoding,
            sample_rate=settings.sample_rate,
        )
        self.frame_s = self.segmenter.frame_s
        self.frame_ms = self.frame_s * 1000
        self.update_frames = max(1, round(UPDATE_INTERVAL_S / self.frame_s))
        # The turn.
        self.turn_index = 0
        self.state: TurnState = "idle"
        self.window_start = 0.0
        self.committed: list[RecognizedWord] = []  # words of the turn's closed segments
        self.interim: list[RecognizedWord] = []  # words of the open segment so far
        self.anchor = 0  # frame where the last speech (or word) ended
        self.next_update = 0
        self.eager_transcript: str | None = None
        self.closing = False

    # -- the receive loop (hooks of ServerStream) -------------------------------------------

    async def open(self) -> None:
        await self.send(Connected(request_id=self.request_id, sequence_id=self._next()))

    def error_message(self, fatal: StreamFatal) -> MessageBase:
        return Error(sequence_id=self._next(), code=fatal.error_code, description=fatal.description)

    def internal_error(self) -> StreamFatal:
        return StreamFatal(
            1011,
            "NET-0000",
            "The server encountered an internal error and closed the stream.",
            error_code="INTERNAL_SERVER_ERROR",
        )

    def idle_fatal(self, idle_timeout: float) -> StreamFatal:
        return StreamFatal(
            1011,
            "NET-0001",
            f"No audio or message arrived within the timeout window ({idle_timeout:g} s).",
            error_code="CLIENT_MESSAGE_TIMEOUT",
        )

    async def on_binary(self, data: bytes) -> bool:
        if not data:
            await self._finish()
            return True
        await self._on_audio(data)
        return False

    def decode(self, frame: str) -> object:
        return decode_client(frame)

    async def on_decode_error(self, frame: str, exc: Exception) -> bool:
        if _peek_type(frame) == "Configure":
            await self._configure_failure(f"invalid Configure message: {exc}")
            return True
        return False

    def decode_fatal(self, exc: Exception) -> StreamFatal:
        return StreamFatal(
            1008,
            "DATA-0000",
            f"The message is not a Listen V2 client message: {exc}",
            error_code="UNPARSABLE_CLIENT_MESSAGE",
        )

    async def on_message(self, message: object) -> bool:
        if isinstance(message, CloseStream):
            await self._finish()
            return True
        if isinstance(message, Configure):
            await self._configure(message)
        elif isinstance(message, ForceEndTurn):
            await self._force_end_turn()
        return False

    async def shutdown(self) -> None:
        await self._close_stream()

    def _next(self) -> int:
        value = self.sequence
        self.sequence += 1
        return value

    # -- audio ---------------------------------------------------------------------------------

    async def _on_audio(self, data: bytes) -> None:
        try:
            self.ingest.feed(data)
        except DataError as exc:
            raise StreamFatal(
                1008, "DATA-0000", str(exc), error_code="UNSUPPORTED_AUDIO_FORMAT"
            ) from None
        if self.stream is None:
            self.stream = await call_engine(self.engine, self.engine.new_stream)
        for (frame,) in self.ingest.frames():
            await self._process_frame(frame)

    async def _close_stream(self) -> None:
        stream, self.stream = self.stream, None
        if stream is None:
            return
        try:
            await call_engine(self.engine, stream.close)
        except Exception:
            log.exception("request %s: closing an engine stream failed", self.request_id)

    async def _transcribe(self, segment: Segment, final: bool) -> list[RecognizedWord]:
        assert self.stream is not None
        onset = self.segmenter.seconds(segment.start_frame)
        return await transcribe_segment(
            self.engine, self.stream, segment, onset, final, self.margins
        )

    # -- per-frame turn logic ------------------------------------------------------------------

    async def _process_frame(self, frame: array[int]) -> None:
        segmenter = self.segmenter
        step = segmenter.push(frame)
        end = step.frame + 1
        if step.voiced:
            self.anchor = max(self.anchor, end)
        emitted = False
        if step.ended is not None:
            await self._commit(step.ended)
        if step.started or step.reopened:
            emitted = await self._speech_began(end)
        if self.state != "idle":
            emitted = await self._check_end(end) or emitted
        if self.state != "idle" and end >= self.next_update:
            while self.next_update <= end:
                self.next_update += self.update_frames
            if not emitted:
                segment = segmenter.segment
                if segment is not None:
                    self.interim = await self._transcribe(segment, final=False)
                await self._turn_info("Update", end)

    async def _commit(self, segment: Segment) -> None:
        """A segment closed: its final words join the turn."""
        words = await self._transcribe(segment, final=True)
        self.committed.extend(words)
        self.interim = []
        if words:
            last_end = math.ceil(words[-1].end / self.frame_s - _EPSILON)
            self.anchor = max(self.anchor, last_end)

    async def _speech_began(self, end: int) -> bool:
        segment = self.segmenter.segment
        assert segment is not None
        if self.state == "ongoing":
            return False
        self.interim = await self._transcribe(segment, final=False)
        if self.state == "idle":
            self.state = "ongoing"
            self.committed = []
            self.next_update = end + self.update_frames
            await self._turn_info("StartOfTurn", end)
        else:  # awaiting: speech after an EagerEndOfTurn
            self.state = "ongoing"
            self.eager_transcript = None
            await self._turn_info("TurnResumed", end)
        return True

    def _silence_ms(self, end: int) -> float | None:
        """Silence since the last speech or word, or ``None`` while a segment is open."""
        if self.segmenter.segment is not None:
            return None
        return max(0, end - self.anchor) * self.frame_ms

    def _confidence(self, end: int) -> float:
        silence = self._silence_ms(end)
        if silence is None or self.state == "idle":
            return 0.0
        return round(min(1.0, silence / self.timeout_ms), 4)

    def _reached(self, silence: float, threshold: float) -> bool:
        return silence + _EPSILON >= threshold * self.timeout_ms

    async def _check_end(self, end: int) -> bool:
        silence = self._silence_ms(end)
        if silence is None:
            return False
        if self.eot < 1.0 and self._reached(silence, self.eot):
            await self._end_turn(end, "model")
            return True
        if self._reached(silence, 1.0):
            await self._end_turn(end, "timeout")
            return True
        if (
            self.eager is not None
            and self.state == "ongoing"
            and self._reached(silence, self.eager)
            and self._words()
        ):
            await self._eager(end)
            return True
        return False

    async def _eager(self, end: int) -> None:
        self.state = "awaiting"
        self.eager_transcript = self._transcript()
        await self._turn_info("EagerEndOfTurn", end)

    async def _end_turn(self, end: int, trigger: str) -> None:
        if self.eager is not None and trigger != "manual" and self._words():
            if self.state == "awaiting" and self.eager_transcript != self._transcript():
                self.state = "ongoing"
                await self._turn_info("TurnResumed", end)
            if self.state == "ongoing":
                await self._eager(end)
        await self._turn_info("EndOfTurn", end, trigger=trigger)
        self.turn_index += 1
        self.state = "idle"
        self.window_start = self.segmenter.seconds(end)
        self.committed = []
        self.interim = []
        self.eager_transcript = None

    # -- messages ------------------------------------------------------------------------------

    def _words(self) -> list[Word]:
        out: list[Word] = []
        for item in [*self.committed, *self.interim]:
            if not normalise_word(item.word):
                continue
            token = item.word
            if not out:
                token = token[:1].upper() + token[1:]
            out.append(
                Word(
                    word=token,
                    confidence=round(item.confidence, 4),
                    start=_t(item.start),
                    end=_t(item.end),
                )
            )
        return out

    def _transcript(self) -> str:
        return " ".join(w.word for w in self._words())

    async def _turn_info(self, event: str, end: int, *, trigger: str | None = None) -> None:
        words = self._words()
        multi = self.settings.model == _MULTI
        await self.send(
            TurnInfo(
                request_id=self.request_id,
                sequence_id=self._next(),
                event=event,
                turn_index=self.turn_index,
                audio_window_start=_t(self.window_start),
                audio_window_end=_t(self.segmenter.seconds(end)),
                transcript=" ".join(w.word for w in words),
                words=words,
                end_of_turn_confidence=self._confidence(end),
                trigger=trigger,
                languages_hinted=list(self.language_hints)
                if multi and self.language_hints
                else None,
            )
        )

    # -- control messages ----------------------------------------------------------------------

    async def _force_end_turn(self) -> None:
        if self.state == "idle":
            await self.send(
                Warning(
                    request_id=self.request_id,
                    sequence_id=self._next(),
                    code="FORCE_END_TURN_NO_ACTIVE_TURN",
                    description="ForceEndTurn was received while no turn is active.",
                )
            )
            return
        segment = self.segmenter.cut()
        if segment is not None:
            await self._commit(segment)
        await self._end_turn(self.segmenter.frame_index, "manual")

    async def _configure(self, message: Configure) -> None:
        try:
            self._apply(message)
        except _BadConfigure as exc:
            await self._configure_failure(str(exc))
            return
        multi = self.settings.model == _MULTI
        await self.send(
            ConfigureSuccess(
                request_id=self.request_id,
                thresholds=AppliedThresholds(
                    eager_eot_threshold=self.eager,
                    eot_threshold=self.eot,
                    eot_timeout_ms=self.timeout_ms,
                ),
                keyterms=list(self.keyterms),
                sequence_id=self._next(),
                language_hints=list(self.language_hints) if multi else None,
                numerals=self.numerals,
            )
        )

    def _apply(self, message: Configure) -> None:
        """Validate the new settings as connection options would be, then adopt them."""
        eager, eot, timeout = self.eager, self.eot, self.timeout_ms
        thresholds = message.thresholds
        if thresholds is not None:
            if thresholds.eager_eot_threshold is not None:
                eager = thresholds.eager_eot_threshold
            if thresholds.eot_threshold is not None:
                eot = thresholds.eot_threshold
            if thresholds.eot_timeout_ms is not None:
                timeout = thresholds.eot_timeout_ms
        keyterms = self.keyterms
        if message.keyterms is not None:
            given = message.keyterms
            keyterms = [given] if isinstance(given, str) else list(given)
        hints = self.language_hints
        if message.language_hints is not None:
            hints = list(message.language_hints)
        settings = self.settings
        try:
            ListenV2Options.from_kwargs(
                model=settings.model,
                encoding=settings.encoding,
                sample_rate=settings.sample_rate,
                eager_eot_threshold=eager,
                eot_threshold=eot,
                eot_timeout_ms=timeout,
                keyterm=keyterms or None,
                language_hint=hints or None,
            )
        except InvalidOptionError as exc:
            raise _BadConfigure(str(exc)) from None
        self.eager, self.eot, self.timeout_ms = eager, eot, timeout
        self.keyterms = keyterms
        self.language_hints = hints
        if message.numerals is not None:
            self.numerals = message.numerals

    async def _configure_failure(self, description: str) -> None:
        await self.send(
            ConfigureFailure(
                request_id=self.request_id,
                sequence_id=self._next(),
                code="INVALID_CONFIGURE",
                description=description,
            )
        )

    async def _finish(self) -> None:
        """``CloseStream``: a last ``Update`` for an active turn, then close without a status."""
        if self.closing:
            return
        self.closing = True
        if self.state != "idle":
            segment = self.segmenter.cut()
            if segment is not None:
                await self._commit(segment)
            await self._turn_info("Update", self.segmenter.frame_index)
        await close_without_status(self.ws)
