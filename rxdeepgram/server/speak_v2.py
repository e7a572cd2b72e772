"""``/v2/speak``: Deepgram's Flux turn-based streaming text-to-speech, served locally.

The server's ``tts`` engine (``tone`` or ``local`` espeak-ng) turns text into 16-bit PCM; this
module does the protocol around it, as Deepgram's Flux TTS documents it (Early Access, plus the
``Interrupt`` / ``Configure`` of its SDK 7.x). *Local* marks choices Deepgram leaves open.

* On open: ``Connected`` (``request_id`` = ``dg-request-id``, ``model_name`` the ``model``
  option, ``model_version`` the rxdeepgram version, ``model_uuids`` one uuid5 of engine and
  voice).
* Turns. A ``Speak`` while no turn is active starts one: ``SpeechStarted {speech_id}``
  (``dg_sp_`` + 12 hex digits) goes out at once. Later ``Speak`` text appends to it. Complete
  sentences (see :func:`~._speech.split_sentences`) are synthesised as they arrive, so audio
  streams before the ``Flush``; the unfinished tail waits. ``Flush`` ends the turn: the tail
  goes to synthesis, ``Flushed {speech_id}`` is sent, then the tail's audio, then
  ``SpeechMetadata`` (``audio_duration_ms``; ``input_character_count`` =
  ``billable_character_count`` = the turn's characters; controls all 0). ``Speak`` after a
  ``Flush`` but before that turn's ``SpeechMetadata`` opens a *pending* turn, which becomes
  active (its ``SpeechStarted``) right after. Every audio frame of a turn lies between its
  ``SpeechStarted`` and its ``SpeechMetadata``. An empty ``text`` is ignored (*local*). A flushed
  turn with nothing to say (only whitespace or punctuation) gets a ``NO_SYNTHESIZABLE_TEXT``
  ``Warning`` and a zero-duration ``SpeechMetadata``.
* ``Flush`` with no open turn: ``Warning NO_ACTIVE_SPEECH``, nothing else.
* ``Interrupt`` cancels the active turn (pending turns stay queued, as documented: "there is no
  per-turn targeting"): no more of its audio is sent and ``SpeechInterrupted`` answers, with
  ``audio_played_ms`` (the offset, or without one the session's audio so far), the turn's
  ``metadata`` (``audio_duration_ms``: what was played of it with an offset, else what was
  generated) and, with an offset, ``text_spoken`` / ``text_remaining``: the turn's text cut at
  a word boundary where the played audio ends (exact for ``tone``, whose durations follow the
  text; proportional to characters within a sentence for other engines). An offset rebases the
  session's audio total (``SessionMetadata``) onto what was played. Ignored, with a
  ``Warning``: ``NO_AUDIO_GENERATED`` (no audio yet this session), ``NO_ACTIVE_SPEECH`` (no
  active turn; *local*), ``INVALID_INTERRUPT_OFFSET`` (an offset that does not go past the
  previous interrupt's position, or past the audio generated so far: *local*).
  ``INTERRUPT_IN_PROGRESS`` never occurs: interrupts are handled one at a time, at once.
* Inline pronunciation controls (``{"word": "tomato", "pronounce": "..."}``) are
  accepted: the engine says the word (the local engines cannot apply IPA), and the turn's
  ``controls_applied.pronunciations_applied`` counts them; ``billable_character_count`` leaves
  their markup out. With a ``speed`` other than 1.0 (query or ``Configure``) one is fatal
  (``DATA-0002``), and a ``Configure`` of such a speed while a turn queued behind the active one
  carries one fails with ``CONTROL_COMBINATION_INVALID``.
* ``Configure {speed}``: 0.5-1.5 in steps of 0.05, else ``ConfigureFailure``
  (``SPEED_OUT_OF_RANGE`` / ``SPEED_INCREMENT_INVALID``, with ``field`` and ``value``);
  ``SPEED_NOT_SUPPORTED`` for an engine without speed. Accepted: ``ConfigureSuccess
  {applied}`` (``speed`` present once set by the query or a ``Configure``); it applies from the
  next sentence synthesised.
* ``Close``: the open turn, if any, is finished (its audio and ``SpeechMetadata``; no
  ``Flushed``, as no ``Flush`` asked for one: *local*), pending turns too, then
  ``SessionMetadata`` with the totals and close 1000. Frames after ``Close`` are ignored.
* Options: ``model`` is required (a Flux voice); ``encoding`` ``linear16`` (default), ``mulaw``,
  ``alaw``; ``sample_rate`` defaults to 24000 for ``linear16`` and 8000 for ``mulaw`` /
  ``alaw`` (*local*: "the voice's native rate"); ``speed`` as ``Configure``; ``expressivity`` is
  accepted and has no effect on the local engines. A voice in a language the engine does not
  speak, or ``speed`` for an engine without it, is refused with 400 (see :mod:`._capabilities`).
* Errors are in Deepgram's shape: an ``Error {code, description}`` message, then the close
  (*local* close codes, those of ``/v1/speak``): a binary frame or text that is not JSON,
  ``MESSAGE-0000`` (1003); a JSON message that is not a Speak V2 client message (unknown
  ``type``, unknown or missing field), ``DATA-0000`` (1008); an inline pause control
  (``{pause:500ms}``, batch-only), ``DATA-0002`` (1008); a text frame above
  ``max_frame_bytes``, ``BIG-0000`` (1009); an engine failure, ``NET-0000`` (1011); the
  session's time limit (1 hour), ``NET-0003`` (1011); no client message, ping or pong for
  ``idle_timeout`` (60 s) while nothing is left to send, ``NET-0004`` (1011).
* Audio frames carry :data:`~._speech.CHUNK_MS` (100 ms) each; blocking engines (espeak-ng) run
  in a worker thread, one call at a time per connection.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import msgspec

from .._version import __version__
from ..messages import MessageBase
from ..messages.speak_v2 import (
    AppliedConfig,
    Close,
    Configure,
    ConfigureFailure,
    ConfigureSuccess,
    Connected,
    ControlsApplied,
    Error,
    Flush,
    Flushed,
    Interrupt,
    SessionMetadata,
    Speak,
    SpeechInterrupted,
    SpeechMetadata,
    SpeechStarted,
    TurnMetadata,
    Warning,
    decode_client,
)
from ..options.speak_v2 import SPEED_RANGE, SpeakV2Options, check_speed
from ._speech import (
    SpeakStream,
    Synthesizer,
    check_tts_request,
    output_format,
    speak_model_uuid,
    split_sentences,
)
from ._stream import StreamFatal

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from ._channel import ServerSession, ServerSettings
    from .engines import TtsEngine

__all__ = ["SpeakV2Handler", "SpeakV2Settings", "controls", "new_speech_id", "spoken"]

log = logging.getLogger("rxdeepgram.server")

_PAUSE = re.compile(r"\{\s*pause\s*:[^{}]*\}", re.IGNORECASE)
_PRONOUNCE = re.compile(r'\{\s*"word"\s*:\s*"([^"{}]*)"\s*,\s*"pronounce"\s*:\s*"[^"{}]*"\s*\}')


def controls(text: str) -> tuple[int, int]:
    """``(pronunciation controls, their characters beyond the word)`` in ``text``."""
    count = extra = 0
    for match in _PRONOUNCE.finditer(text):
        count += 1
        extra += len(match[0]) - len(match[1])
    return count, extra


def spoken(text: str) -> str:
    """``text`` as the engine says it: each pronunciation control replaced by its word."""
    return _PRONOUNCE.sub(lambda match: match[1], text)


_WORD_CUT = re.compile(r"\s+")


def new_speech_id() -> str:
    """A turn's identifier, ``dg_sp_`` and 12 hex digits."""
    return "dg_sp_" + secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class SpeakV2Settings:
    """What the Speak V2 handler needs from the validated query options."""

    options: SpeakV2Options
    model: str
    encoding: str
    sample_rate: int
    speed: float | None

    @classmethod
    def from_options(cls, options: SpeakV2Options) -> SpeakV2Settings:
        encoding, sample_rate = output_format(options.encoding, options.sample_rate)
        return cls(
            options=options,
            model=options.model,
            encoding=encoding,
            sample_rate=sample_rate,
            speed=options.speed,
        )


class SpeakV2Handler:
    """The ``/v2/speak`` route.

    Args:
        idle_timeout: seconds without a client message, ping or pong (while nothing is left to
            synthesise or send) before ``NET-0004`` (Deepgram: 60).
        max_duration: the session's time limit in seconds before ``NET-0003`` (Deepgram: 1 h).
        max_frame_bytes: largest text frame accepted (64 KiB) before ``BIG-0000``.
    """

    def __init__(
        self,
        *,
        idle_timeout: float = 60.0,
        max_duration: float = 3600.0,
        max_frame_bytes: int = 1 << 16,
    ) -> None:
        if idle_timeout <= 0 or max_duration <= 0:
            raise ValueError("idle_timeout and max_duration must be positive")
        self.idle_timeout = idle_timeout
        self.max_duration = max_duration
        self.max_frame_bytes = max_frame_bytes

    def parse_options(self, pairs: Sequence[tuple[str, str]]) -> SpeakV2Settings:
        """Validate the query with :class:`~rxdeepgram.options.SpeakV2Options` (strict: unknown
        parameters are refused with 400)."""
        return SpeakV2Settings.from_options(SpeakV2Options.from_query(pairs, strict=True))

    def check_request(self, settings: SpeakV2Settings, server: ServerSettings) -> None:
        """Refuse (400) a voice in a language the engine does not speak, and ``speed`` for an
        engine that cannot change it."""
        check_tts_request(settings.model, settings.speed, server)

    async def serve(self, session: ServerSession) -> None:
        """Run one connection."""
        assert isinstance(session.options, SpeakV2Settings)
        stream = _Stream(
            session.websocket, session.request_id, session.options, session.server.tts, self
        )
        await stream.run(self.idle_timeout)


# --- helpers -------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Segment:
    text: str
    start_ms: float  # session audio position of its first sample
    ms: float = 0.0  # audio sent so far


@dataclass(eq=False, slots=True)
class _Turn:
    speech_id: str = field(default_factory=new_speech_id)
    buffer: str = ""  # text not yet given to synthesis
    chars: int = 0
    flushed: bool = False  # a Flush ended it (Flushed is due)
    ended: bool = False  # no more text (Flush, or Close)
    cancelled: bool = False
    start_ms: float = 0.0
    segments: list[_Segment] = field(default_factory=list)

    @property
    def audio_ms(self) -> float:
        return sum(s.ms for s in self.segments)

    def billing(self) -> tuple[int, ControlsApplied]:
        """Billable characters (the input without the controls' markup) and the controls."""
        count, extra = controls(self.text())
        return self.chars - extra, ControlsApplied(pronunciations_applied=count)

    def text(self) -> str:
        return "".join(s.text for s in self.segments) + self.buffer

    def next_piece(self) -> tuple[str, bool] | None:
        """The next text to synthesise and whether it is the turn's last, or ``None`` (wait
        for more text)."""
        sentences, tail = split_sentences(self.buffer)
        if sentences:
            piece = sentences[0]
            self.buffer = self.buffer[len(piece) :]
            return piece, False
        if self.ended:
            self.buffer = ""
            return tail, True
        return None


def _cut(text: str, fraction: float, measure: Callable[[str], float] | None) -> int:
    """The index of the word boundary in ``text`` where ``fraction`` of its audio has played
    (``measure`` gives a prefix's relative duration; characters when ``None``)."""
    if fraction >= 1.0:
        return len(text)
    if fraction <= 0.0:
        return 0
    total = measure(text) if measure is not None else float(len(text))
    if total <= 0:
        return 0
    best = 0
    for match in _WORD_CUT.finditer(text):
        end = match.end()
        size = measure(text[:end]) if measure is not None else float(end)
        if size / total > fraction + 1e-9:
            break
        best = end
    return best


# --- the connection ------------------------------------------------------------------------


class _Stream(SpeakStream):
    name = "Speak V2 stream"

    def __init__(
        self,
        websocket: ServerConnection,
        request_id: str,
        settings: SpeakV2Settings,
        engine: TtsEngine,
        handler: SpeakV2Handler,
    ) -> None:
        super().__init__(websocket, request_id, engine)
        self.settings = settings
        self.handler = handler
        self.max_text_bytes = handler.max_frame_bytes
        self.synth = Synthesizer(engine, settings.encoding, settings.sample_rate)
        self.speed = settings.speed  # None until set by the query or a Configure
        self.turns: deque[_Turn] = deque()  # turns[0] is the active one (SpeechStarted sent)
        self.position_ms = 0.0  # session audio so far (rebased by an Interrupt's offset)
        self.generated_any = False
        self.interrupt_floor: float | None = None
        self.total_chars = 0
        self.total_billable = 0
        self.closing = False

    # -- hooks of ServerStream ------------------------------------------------------------------

    async def open(self) -> None:
        settings = self.settings
        await self.send(
            Connected(
                request_id=self.request_id,
                model_name=settings.model,
                model_version=__version__,
                model_uuids=[speak_model_uuid("speak-v2", self.engine, settings.model)],
            )
        )
        self.start_worker(f"speak-v2-{self.request_id}")

    async def serve_frames(self, idle_timeout: float) -> None:
        try:
            async with asyncio.timeout(self.handler.max_duration):
                await super().serve_frames(idle_timeout)  # Close: drains, SessionMetadata, 1000
        except TimeoutError:
            raise StreamFatal(
                1011,
                "NET-0003",
                f"the session time limit ({self.handler.max_duration:g} s) was exceeded",
            ) from None

    def error_message(self, fatal: StreamFatal) -> MessageBase:
        return Error(code=fatal.error_code, description=fatal.description)

    def synthesis_error(self) -> MessageBase:
        return Error(code="NET-0000", description="internal error")

    def _last_keepalive(self) -> float:
        return float(getattr(self.ws, "dg_client_keepalive", 0.0))

    async def next_frame(self, idle_timeout: float) -> str | bytes:
        """The next frame; a client ping or pong counts as activity too."""
        last = time.monotonic()
        while True:
            remaining = max(last, self._last_keepalive()) + idle_timeout - time.monotonic()
            try:
                async with asyncio.timeout(max(remaining, 0.0)):
                    return await self.ws.recv()
            except TimeoutError:
                if self.busy:
                    last = time.monotonic()  # still synthesising or sending: not idle
                    continue
                if self._last_keepalive() + idle_timeout > time.monotonic():
                    continue  # a ping or pong kept the session alive
                raise StreamFatal(
                    1011,
                    "NET-0004",
                    f"no client message within the inactivity window ({idle_timeout:g} s)",
                ) from None

    def decode(self, frame: str) -> object:
        return decode_client(frame)

    def decode_fatal(self, exc: Exception) -> StreamFatal:
        if isinstance(exc, msgspec.ValidationError):  # JSON, but not a Speak V2 message
            return StreamFatal(1008, "DATA-0000", f"not a valid Speak V2 message: {exc}")
        return StreamFatal(1003, "MESSAGE-0000", f"the message could not be parsed: {exc}")

    async def on_message(self, message: object) -> bool:
        if isinstance(message, Speak):
            await self._on_speak(message.text)
        elif isinstance(message, Flush):
            await self._on_flush()
        elif isinstance(message, Interrupt):
            await self._on_interrupt(message)
        elif isinstance(message, Configure):
            await self._on_configure(message)
        elif isinstance(message, Close):
            self.closing = True
            for turn in self.turns:
                turn.ended = True
            self.wakeup.set()
            return True
        return False

    # -- client messages --------------------------------------------------------------------------

    def _open_turn(self) -> _Turn | None:
        last = self.turns[-1] if self.turns else None
        return last if last is not None and not last.ended else None

    async def _on_speak(self, text: str) -> None:
        if _PAUSE.search(text):
            raise StreamFatal(
                1008,
                "DATA-0002",
                "inline pause controls are supported on the batch (REST) transport only",
            )
        if not text:
            return
        turn = self._open_turn()
        if self.speed not in (None, 1.0) and _PRONOUNCE.search(
            (turn.buffer if turn is not None else "") + text
        ):
            raise StreamFatal(
                1008,
                "DATA-0002",
                f"a pronunciation control cannot be combined with speed {self.speed:g}",
            )
        if turn is None:
            turn = _Turn()
            async with self.send_lock:
                self.turns.append(turn)
                if len(self.turns) == 1:
                    await self._start(turn)
        turn.buffer += text
        turn.chars += len(text)
        self.wakeup.set()

    async def _start(self, turn: _Turn) -> None:
        """Make ``turn`` (now ``turns[0]``) the active one. Call with ``send_lock`` held."""
        turn.start_ms = self.position_ms
        await self.send(SpeechStarted(speech_id=turn.speech_id))

    async def _warn(self, code: str, description: str) -> None:
        await self.send_locked(Warning(code=code, description=description))

    async def _on_flush(self) -> None:
        turn = self._open_turn()
        if turn is None:
            await self._warn("NO_ACTIVE_SPEECH", "There is no active turn. The Flush is ignored.")
            return
        turn.ended = turn.flushed = True
        self.wakeup.set()

    async def _on_interrupt(self, message: Interrupt) -> None:
        if not self.generated_any:
            await self._warn(
                "NO_AUDIO_GENERATED",
                "No audio has been generated in this session. The Interrupt is ignored.",
            )
            return
        if not self.turns:
            await self._warn(
                "NO_ACTIVE_SPEECH", "There is no active turn. The Interrupt is ignored."
            )
            return
        offset = message.playback_offset
        played: float
        if offset is not None:
            played = float(offset.value)
            floor = self.interrupt_floor
            if (floor is not None and played <= floor) or played > self.position_ms + 1.0:
                await self._warn(
                    "INVALID_INTERRUPT_OFFSET",
                    f"playback_offset {offset.value} ms must be past the previous interrupt "
                    f"({-1 if floor is None else round(floor)} ms) and within the audio "
                    f"generated ({round(self.position_ms)} ms). The Interrupt is ignored.",
                )
                return
        else:
            played = self.position_ms
        async with self.send_lock:
            turn = self.turns.popleft()
            turn.cancelled = turn.ended = True
            turn_played = turn.audio_ms
            spoken: str | None = None
            remaining: str | None = None
            if offset is not None:
                turn_played = min(max(played - turn.start_ms, 0.0), turn.audio_ms)
                spoken, remaining = self._split(turn, turn_played)
                self.position_ms = played
            self.interrupt_floor = played
            billable, applied = turn.billing()
            self.total_chars += turn.chars
            self.total_billable += billable
            await self.send(
                SpeechInterrupted(
                    audio_played_ms=round(played),
                    text_spoken=spoken,
                    text_remaining=remaining,
                    metadata=TurnMetadata(
                        speech_id=turn.speech_id,
                        audio_duration_ms=round(turn_played),
                        input_character_count=turn.chars,
                        billable_character_count=billable,
                        controls_applied=applied,
                    ),
                )
            )
            if self.turns:
                await self._start(self.turns[0])
        self.wakeup.set()

    def _split(self, turn: _Turn, played_ms: float) -> tuple[str, str]:
        """The turn's text cut where ``played_ms`` of its audio ends."""
        text = turn.text()
        done = 0  # characters of the segments played in full
        left = played_ms
        duration: Callable[[str], float] | None = getattr(self.engine, "duration", None)
        measure = None if duration is None else (lambda part: duration(spoken(part)))
        for segment in turn.segments:
            if left >= segment.ms - 1e-6:
                done += len(segment.text)
                left -= segment.ms
                continue
            fraction = left / segment.ms if segment.ms > 0 else 0.0
            done += _cut(segment.text, fraction, measure)
            break
        return text[:done], text[done:]

    async def _on_configure(self, message: Configure) -> None:
        speed = message.speed
        reply: MessageBase
        if speed is None:
            reply = ConfigureSuccess(applied=AppliedConfig(speed=self.speed))
        elif not self.synth.supports_speed:
            reply = ConfigureFailure(
                code="SPEED_NOT_SUPPORTED",
                description=f"the local TTS engine ({self.engine.name}) has no speed control",
                field="speed",
            )
        elif (problem := check_speed(speed)) is not None:
            low, high = SPEED_RANGE
            reply = ConfigureFailure(
                code="SPEED_OUT_OF_RANGE"
                if not low <= speed <= high
                else "SPEED_INCREMENT_INVALID",
                description=f"'speed' {problem}",
                field="speed",
                value=speed,
            )
        elif speed != 1.0 and any(_PRONOUNCE.search(t.text()) for t in list(self.turns)[1:]):
            reply = ConfigureFailure(
                code="CONTROL_COMBINATION_INVALID",
                description="a turn queued behind the active one carries a pronunciation "
                "control, which cannot be combined with speed; flush that turn first",
                field="speed",
                value=speed,
            )
        else:
            self.speed = speed
            reply = ConfigureSuccess(applied=AppliedConfig(speed=speed))
        await self.send_locked(reply)

    # -- synthesising and sending -----------------------------------------------------------------

    async def work(self) -> None:
        while True:
            turn = self.turns[0] if self.turns else None
            piece = turn.next_piece() if turn is not None else None
            if turn is None or piece is None:
                if turn is None and self.closing:
                    break
                await self.idle()
                continue
            self.busy = True
            text, last = piece
            if last and turn.flushed:
                async with self.send_lock:
                    if turn.cancelled:
                        continue
                    await self.send(Flushed(speech_id=turn.speech_id))
            await self._speak(turn, text)
            if last:
                await self._finish(turn)
        await self.send_locked(
            SessionMetadata(
                total_audio_duration_ms=round(self.position_ms),
                total_input_character_count=self.total_chars,
                total_billable_character_count=self.total_billable,
            )
        )
        await self.ws.close(1000)

    async def _finish(self, turn: _Turn) -> None:
        async with self.send_lock:
            if turn.cancelled:
                return
            if turn.audio_ms == 0:
                await self.send(
                    Warning(
                        code="NO_SYNTHESIZABLE_TEXT",
                        description="The turn's text has nothing to say; no audio was made.",
                    )
                )
            self.turns.popleft()
            billable, applied = turn.billing()
            self.total_chars += turn.chars
            self.total_billable += billable
            await self.send(
                SpeechMetadata(
                    speech_id=turn.speech_id,
                    audio_duration_ms=round(turn.audio_ms),
                    input_character_count=turn.chars,
                    billable_character_count=billable,
                    controls_applied=applied,
                )
            )
            if self.turns:
                await self._start(self.turns[0])

    async def _speak(self, turn: _Turn, text: str) -> None:
        if turn.cancelled:
            return
        segment = _Segment(text, self.position_ms)
        turn.segments.append(segment)
        if not any(ch.isalnum() for ch in text):
            return
        speed = self.speed if self.speed is not None else 1.0
        chunks = await self.synth.frames(spoken(text), speed)
        for chunk in chunks:
            async with self.send_lock:
                if turn.cancelled:
                    return  # interrupted while synthesising or sending
                await self.send_audio(chunk)
                ms = len(chunk) / self.synth.bytes_per_ms
                segment.ms += ms
                self.position_ms += ms
                self.generated_any = True
