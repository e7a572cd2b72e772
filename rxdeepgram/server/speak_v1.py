"""``/v1/speak``: Deepgram's Aura streaming text-to-speech, served locally.

The server's ``tts`` engine (``DeepgramServer(tts="tone" | "local" | engine)``) turns text into
16-bit PCM; this module does everything protocol-shaped around it. Choices are marked *local*
where Deepgram documents nothing or the local server deliberately differs.

* On open the server sends ``Metadata``: ``request_id`` (the ``dg-request-id``),
  ``model_name`` (the ``model`` option; ``aura-asteria-en`` when omitted, Deepgram's default),
  ``model_version`` (the rxdeepgram version) and ``model_uuid`` (a uuid5 of the engine and the
  model, stable across runs).
* ``Speak {text}`` appends to the text buffer. Complete sentences (text up to ``.``, ``!``,
  ``?`` or ``…`` followed by whitespace, or a newline) are synthesised at once, before any
  ``Flush``, as Deepgram streams audio for buffered text early; the unfinished tail waits for
  more text, a ``Flush`` or ``Close``. An empty ``text`` is ignored (*local*).
* ``Flush``: the rest of the buffer is synthesised and its audio sent, then
  ``Flushed {sequence_id}``, numbered 0, 1, 2... per accepted ``Flush``. ``Flushed`` always
  follows the last audio frame of the text sent before its ``Flush``.
* Audio goes out as fast as it is synthesised (Deepgram also streams faster than real time),
  as binary frames of :data:`CHUNK_MS` (100 ms: 4,800 bytes of ``linear16`` at 24 kHz, the size
  Deepgram's own frames have); the last frame of an utterance may be shorter. Each sentence is
  synthesised on its own, in order, so the first audio of a long text comes early.
* ``Clear``: the buffered text, the sentences not yet synthesised and the audio not yet sent are
  dropped, and the server answers ``Cleared {sequence_id}`` (0, 1, 2... per ``Clear``, counted
  separately from ``Flush``). No audio frame of the cleared text follows ``Cleared``. A
  ``Flush`` whose audio was cleared is still acknowledged, right before ``Cleared`` (*local*:
  a client waiting for ``Flushed`` is not left hanging).
* ``Close``: the buffer is synthesised and sent (drain), then the socket closes with 1000.
  Frames after ``Close`` are ignored.
* ``encoding`` ``linear16`` (default), ``mulaw``, ``alaw``; ``sample_rate`` defaults to 24000
  for ``linear16`` and 8000 for ``mulaw`` / ``alaw`` (the spec: "based on encoding 8000 or
  24000"). *Local*: every documented rate is accepted with every encoding. ``speed`` divides
  durations for engines that support it (``supports_speed``; both built-in ones do); for an
  engine without it, ``speed`` other than 1 is refused with 400, as is a voice whose language
  (the model's last part, ``-es`` in ``aura-2-celeste-es``) the engine does not speak
  (``local``, espeak-ng's ``en-us`` voice, speaks English only; see :mod:`._capabilities`).
* Limits (the limits can be changed per handler, see :class:`SpeakV1Handler`):

  - a ``Speak`` of more than 2,000 characters: close 1009 ``BIG-0001``;
  - more than 2,400 characters of ``Speak`` text within 60 s: close 1008 ``DATA-0001``;
  - a text frame above 64 KiB (*local* size): close 1009 ``BIG-0000``;
  - more than 20 ``Flush`` within 60 s: a ``Warning`` (code ``FLUSH_LIMIT_EXCEEDED``, *local*:
    Deepgram documents no code) per extra ``Flush``, which is ignored (its text stays
    buffered for a later ``Flush`` or ``Close``).

* Errors: a binary frame closes 1003 ``MESSAGE-0000``; a text frame that is not a Speak V1
  client message (bad JSON, unknown ``type``, unknown or missing field) closes 1008
  ``DATA-0000``; an engine failure closes 1011 ``NET-0000``.
* Idle: no frame from the client for the server's ``idle_timeout`` (10 s by default) while
  nothing is left to synthesise or send closes 1011 ``NET-0001`` (*local*: Deepgram documents
  the code but not the timeout).
* Engines with ``blocking = True`` (``local``, espeak-ng) run in a worker thread, one call at a
  time per connection, so audio keeps the text's order; encoding (mu-law / A-law) and chunking
  run there too.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .._version import __version__
from ..messages.speak_v1 import (
    Clear,
    Cleared,
    Close,
    Flush,
    Flushed,
    Metadata,
    Speak,
    Warning,
    decode_client,
)
from ..options import SpeakV1Options
from ._pcm import bytes_per_second
from ._speech import (
    CHUNK_MS,
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

__all__ = [
    "CHUNK_MS",
    "DEFAULT_MODEL",
    "FLUSH_LIMIT_CODE",
    "SpeakV1Handler",
    "SpeakV1Settings",
    "split_sentences",
]

log = logging.getLogger("rxdeepgram.server")

DEFAULT_MODEL = "aura-asteria-en"
"""The voice reported when the client names none (Deepgram's default)."""
FLUSH_LIMIT_CODE = "FLUSH_LIMIT_EXCEEDED"
"""The ``code`` of the ``Warning`` sent for a ``Flush`` over the limit (*local* choice)."""


@dataclass(frozen=True, slots=True)
class SpeakV1Settings:
    """What the Speak V1 handler needs from the validated query options."""

    options: SpeakV1Options
    model: str
    encoding: str
    sample_rate: int
    speed: float

    @classmethod
    def from_options(cls, options: SpeakV1Options) -> SpeakV1Settings:
        """Apply the server defaults (voice, encoding, encoding-dependent sample rate)."""
        encoding, sample_rate = output_format(options.encoding, options.sample_rate)
        return cls(
            options=options,
            model=options.model or DEFAULT_MODEL,
            encoding=encoding,
            sample_rate=sample_rate,
            speed=options.speed if options.speed is not None else 1.0,
        )

    @property
    def chunk_bytes(self) -> int:
        """Bytes of one binary frame (:data:`CHUNK_MS` of audio)."""
        return bytes_per_second(self.encoding, self.sample_rate) * CHUNK_MS // 1000


class SpeakV1Handler:
    """The ``/v1/speak`` route.

    Args:
        max_chars_per_message: longest ``Speak`` text (Deepgram: 2,000).
        max_chars_per_window: most ``Speak`` characters per ``window`` (Deepgram: 2,400/min).
        max_flushes_per_window: most ``Flush`` messages per ``window`` (Deepgram: 20/min).
        window: the rate-limit window in seconds (60).
        max_frame_bytes: largest text frame accepted (64 KiB).
        clock: monotonic clock for the rate limits (tests may pass a fake one).
    """

    def __init__(
        self,
        *,
        max_chars_per_message: int = 2000,
        max_chars_per_window: int = 2400,
        max_flushes_per_window: int = 20,
        window: float = 60.0,
        max_frame_bytes: int = 1 << 16,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.max_chars_per_message = max_chars_per_message
        self.max_chars_per_window = max_chars_per_window
        self.max_flushes_per_window = max_flushes_per_window
        self.window = window
        self.max_frame_bytes = max_frame_bytes
        self.clock = clock

    def parse_options(self, pairs: Sequence[tuple[str, str]]) -> SpeakV1Settings:
        """Validate the query with :class:`~rxdeepgram.options.SpeakV1Options` (strict:
        unknown parameters are refused with 400)."""
        return SpeakV1Settings.from_options(SpeakV1Options.from_query(pairs, strict=True))

    def check_request(self, settings: SpeakV1Settings, server: ServerSettings) -> None:
        """Refuse (400) a voice in a language the server's TTS engine does not speak (the
        model's last part: ``aura-2-celeste-es`` is Spanish) and ``speed`` for an engine that
        cannot change it."""
        check_tts_request(settings.model, settings.speed, server)

    async def serve(self, session: ServerSession) -> None:
        """Run one connection."""
        assert isinstance(session.options, SpeakV1Settings)
        server = session.server
        stream = _SpeakStream(
            session.websocket, session.request_id, session.options, server.tts, self
        )
        await stream.run(server.idle_timeout)


# --- helpers -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Synth:
    text: str
    generation: int


@dataclass(frozen=True, slots=True)
class _Ack:
    sequence_id: int


class _Done:
    """Close with 1000 once everything before it is sent."""


_Item = _Synth | _Ack | _Done


# --- the connection ------------------------------------------------------------------------


class _SpeakStream(SpeakStream):
    name = "Speak V1 stream"

    def __init__(
        self,
        websocket: ServerConnection,
        request_id: str,
        settings: SpeakV1Settings,
        engine: TtsEngine,
        handler: SpeakV1Handler,
    ) -> None:
        super().__init__(websocket, request_id, engine)
        self.settings = settings
        self.limits = handler
        self.clock = handler.clock
        self.max_text_bytes = handler.max_frame_bytes
        self.synth = Synthesizer(engine, settings.encoding, settings.sample_rate)
        if settings.speed != 1.0 and not self.synth.supports_speed:
            log.info("request %s: engine %s ignores speed", request_id, engine.name)
        self.buffer = ""
        self.generation = 0  # bumped by Clear: older audio is dropped
        self.flush_count = 0
        self.clear_count = 0
        self.unacked: deque[int] = deque()  # Flush sequence ids not yet acknowledged
        self.chars: deque[tuple[float, int]] = deque()  # (time, characters) of recent Speaks
        self.char_total = 0
        self.flushes: deque[float] = deque()  # times of recent accepted Flushes
        self.queue: deque[_Item] = deque()

    # -- hooks of ServerStream ------------------------------------------------------------------

    async def open(self) -> None:
        settings = self.settings
        await self.send(
            Metadata(
                request_id=self.request_id,
                model_name=settings.model,
                model_version=__version__,
                model_uuid=speak_model_uuid("speak", self.engine, settings.model),
            )
        )
        self.start_worker(f"speak-{self.request_id}")

    def is_busy(self) -> bool:
        return self.busy or bool(self.queue)

    def idle_fatal(self, idle_timeout: float) -> StreamFatal:
        return StreamFatal(
            1011,
            "NET-0001",
            "Deepgram did not receive a text message within the timeout window "
            f"({idle_timeout:g} s).",
        )

    def oversize_fatal(self, limit: int) -> StreamFatal:
        return StreamFatal(1009, "BIG-0000", f"message larger than {limit} B")

    def decode(self, frame: str) -> object:
        return decode_client(frame)

    def decode_fatal(self, exc: Exception) -> StreamFatal:
        return StreamFatal(1008, "DATA-0000", f"not a valid Speak V1 message: {exc}")

    async def on_message(self, message: object) -> bool:
        if isinstance(message, Speak):
            self._on_speak(message.text)
        elif isinstance(message, Flush):
            await self._on_flush()
        elif isinstance(message, Clear):
            await self._on_clear()
        elif isinstance(message, Close):
            self._enqueue_text(self.buffer)
            self.buffer = ""
            self._put(_Done())
            return True
        return False

    # -- receiving --------------------------------------------------------------------------------

    def _on_speak(self, text: str) -> None:
        limits = self.limits
        if len(text) > limits.max_chars_per_message:
            raise StreamFatal(
                1009,
                "BIG-0001",
                f"text has {len(text)} characters; at most "
                f"{limits.max_chars_per_message} per Speak",
            )
        if not text:
            return
        now = self.clock()
        horizon = now - limits.window
        chars = self.chars
        while chars and chars[0][0] <= horizon:
            self.char_total -= chars.popleft()[1]
        if self.char_total + len(text) > limits.max_chars_per_window:
            raise StreamFatal(
                1008,
                "DATA-0001",
                f"more than {limits.max_chars_per_window} characters in {limits.window:g} s",
            )
        chars.append((now, len(text)))
        self.char_total += len(text)
        sentences, self.buffer = split_sentences(self.buffer + text)
        for sentence in sentences:
            self._enqueue_text(sentence)

    async def _on_flush(self) -> None:
        limits = self.limits
        now = self.clock()
        flushes = self.flushes
        while flushes and flushes[0] <= now - limits.window:
            flushes.popleft()
        if len(flushes) >= limits.max_flushes_per_window:
            await self.send_locked(
                Warning(
                    description=(
                        f"Flush limit reached ({limits.max_flushes_per_window} per "
                        f"{limits.window:g} s): this Flush is ignored until the window "
                        "resets."
                    ),
                    code=FLUSH_LIMIT_CODE,
                )
            )
            return
        flushes.append(now)
        sentences, tail = split_sentences(self.buffer)
        for sentence in [*sentences, tail]:
            self._enqueue_text(sentence)
        self.buffer = ""
        sequence_id = self.flush_count
        self.flush_count += 1
        self.unacked.append(sequence_id)
        self._put(_Ack(sequence_id))

    async def _on_clear(self) -> None:
        async with self.send_lock:
            self.generation += 1
            self.buffer = ""
            self.queue.clear()
            await self._ack_through(None)
            sequence_id = self.clear_count
            self.clear_count += 1
            await self.send(Cleared(sequence_id=sequence_id))

    def _enqueue_text(self, text: str) -> None:
        if text.strip():
            self._put(_Synth(text, self.generation))

    def _put(self, item: _Item) -> None:
        self.queue.append(item)
        self.wakeup.set()

    async def _ack_through(self, sequence_id: int | None) -> None:
        """Send ``Flushed`` for every pending Flush up to ``sequence_id`` (all when None), in
        order. Call with ``send_lock`` held."""
        unacked = self.unacked
        while unacked and (sequence_id is None or unacked[0] <= sequence_id):
            await self.send(Flushed(sequence_id=unacked.popleft()))

    # -- synthesising and sending ------------------------------------------------------------------

    async def work(self) -> None:
        while True:
            if not self.queue:
                await self.idle()
                continue
            self.busy = True
            item = self.queue.popleft()
            if isinstance(item, _Synth):
                await self._speak(item)
            elif isinstance(item, _Ack):
                async with self.send_lock:
                    await self._ack_through(item.sequence_id)
            else:
                await self.ws.close(1000)
                return

    async def _speak(self, item: _Synth) -> None:
        if item.generation != self.generation:
            return
        chunks = await self.synth.frames(item.text, self.settings.speed)
        for chunk in chunks:
            async with self.send_lock:
                if item.generation != self.generation:
                    return  # cleared while synthesising or sending
                await self.send_audio(chunk)
