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

import asyncio
import contextlib
import logging
import re
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import msgspec
from websockets.exceptions import ConnectionClosed

from .._version import __version__
from ..errors import InvalidOptionError
from ..messages import MessageBase, encode
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
from ._capabilities import check_languages, voice_language
from ._pcm import bytes_per_second, encode_pcm16
from .engines import TtsEngine

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from ._channel import ServerSession, ServerSettings

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
CHUNK_MS = 100
"""Audio per binary frame, in milliseconds."""
FLUSH_LIMIT_CODE = "FLUSH_LIMIT_EXCEEDED"
"""The ``code`` of the ``Warning`` sent for a ``Flush`` over the limit (*local* choice)."""
_DEFAULT_RATES = {"linear16": 24000, "mulaw": 8000, "alaw": 8000}
_MAX_REASON = 123  # bytes in a close frame's reason
# The end of a complete sentence: terminal punctuation (maybe closed by quotes or brackets)
# followed by whitespace, or a newline.
_SENTENCE_END = re.compile(r"(?:[.!?\u2026][\"'\u2019\u201d)\]]*\s+|\n\s*)")


def split_sentences(text: str) -> tuple[list[str], str]:
    """``(complete sentences, unfinished tail)`` of ``text``; joining both gives ``text``."""
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        sentences.append(text[start : match.end()])
        start = match.end()
    return sentences, text[start:]


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
        encoding = options.encoding or "linear16"
        return cls(
            options=options,
            model=options.model or DEFAULT_MODEL,
            encoding=encoding,
            sample_rate=options.sample_rate or _DEFAULT_RATES[encoding],
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
        language = voice_language(settings.model)
        if language is not None:
            check_languages("model", [language], server.tts, "text-to-speech", settings.model)
        if settings.speed != 1.0 and not getattr(server.tts, "supports_speed", False):
            raise InvalidOptionError(
                "speed",
                settings.speed,
                f"the local server's TTS engine ({server.tts.name}) cannot change the speed",
            )

    async def serve(self, session: ServerSession) -> None:
        """Run one connection."""
        assert isinstance(session.options, SpeakV1Settings)
        server = session.server
        stream = _SpeakStream(
            session.websocket, session.request_id, session.options, server.tts, self
        )
        await stream.run(server.idle_timeout)


# --- helpers -------------------------------------------------------------------------------


class _Fatal(Exception):
    """Close the connection with ``code`` and ``reason``."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _reason(code: str, text: str) -> str:
    reason = f"{code} {text}"
    raw = reason.encode()
    if len(raw) <= _MAX_REASON:
        return reason
    return raw[: _MAX_REASON - 3].decode("utf-8", "ignore") + "..."


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


class _SpeakStream:
    def __init__(
        self,
        websocket: ServerConnection,
        request_id: str,
        settings: SpeakV1Settings,
        engine: TtsEngine,
        handler: SpeakV1Handler,
    ) -> None:
        self.ws = websocket
        self.request_id = request_id
        self.settings = settings
        self.engine = engine
        self.limits = handler
        self.clock = handler.clock
        self.speed_kw = bool(getattr(engine, "supports_speed", False))
        if settings.speed != 1.0 and not self.speed_kw:
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
        self.wakeup = asyncio.Event()
        self.busy = False  # the worker is synthesising or sending
        self.send_lock = asyncio.Lock()
        self.worker: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------

    async def run(self, idle_timeout: float) -> None:
        model_uuid = uuid.uuid5(
            uuid.NAMESPACE_URL, f"rxdeepgram:speak:{self.engine.name}:{self.settings.model}"
        )
        await self._send(
            Metadata(
                request_id=self.request_id,
                model_name=self.settings.model,
                model_version=__version__,
                model_uuid=str(model_uuid),
            )
        )
        self.worker = asyncio.create_task(self._work(), name=f"speak-{self.request_id}")
        try:
            closing = await self._receive(idle_timeout)
            if closing:
                await self.worker  # drains, then closes with 1000
        except _Fatal as exc:
            await self._stop_worker()
            log.info("request %s: closing %d: %s", self.request_id, exc.code, exc.reason)
            await self.ws.close(exc.code, exc.reason)
        except ConnectionClosed:
            pass
        finally:
            await self._stop_worker()

    async def _stop_worker(self) -> None:
        worker = self.worker
        if worker is None:
            return
        if worker.done():  # it may have ended on the dropped socket: retrieve that, quietly
            if not worker.cancelled():
                worker.exception()
            return
        worker.cancel()
        with contextlib.suppress(asyncio.CancelledError, ConnectionClosed):
            await worker

    async def _send(self, message: MessageBase) -> None:
        await self.ws.send(encode(message), text=True)

    # -- receiving --------------------------------------------------------------------------------

    async def _receive(self, idle_timeout: float) -> bool:
        """Handle client frames until ``Close`` (returns True) or the socket closes (False)."""
        ws = self.ws
        while True:
            try:
                async with asyncio.timeout(idle_timeout):
                    frame = await ws.recv()
            except TimeoutError:
                if self.busy or self.queue:
                    continue  # still synthesising or sending: not idle
                raise _Fatal(
                    1011,
                    _reason(
                        "NET-0001",
                        "Deepgram did not receive a text message within the timeout window "
                        f"({idle_timeout:g} s).",
                    ),
                ) from None
            if isinstance(frame, bytes):
                raise _Fatal(
                    1003, _reason("MESSAGE-0000", "binary frames are not supported; send JSON")
                )
            if len(frame) > self.limits.max_frame_bytes or (
                len(frame.encode()) > self.limits.max_frame_bytes
            ):
                raise _Fatal(
                    1009,
                    _reason("BIG-0000", f"message larger than {self.limits.max_frame_bytes} B"),
                )
            try:
                message = decode_client(frame)
            except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
                raise _Fatal(
                    1008, _reason("DATA-0000", f"not a valid Speak V1 message: {exc}")
                ) from None
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

    def _on_speak(self, text: str) -> None:
        limits = self.limits
        if len(text) > limits.max_chars_per_message:
            raise _Fatal(
                1009,
                _reason(
                    "BIG-0001",
                    f"text has {len(text)} characters; at most "
                    f"{limits.max_chars_per_message} per Speak",
                ),
            )
        if not text:
            return
        now = self.clock()
        horizon = now - limits.window
        chars = self.chars
        while chars and chars[0][0] <= horizon:
            self.char_total -= chars.popleft()[1]
        if self.char_total + len(text) > limits.max_chars_per_window:
            raise _Fatal(
                1008,
                _reason(
                    "DATA-0001",
                    f"more than {limits.max_chars_per_window} characters in {limits.window:g} s",
                ),
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
            async with self.send_lock:
                await self._send(
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
            await self._send(Cleared(sequence_id=sequence_id))

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
            await self._send(Flushed(sequence_id=unacked.popleft()))

    # -- synthesising and sending ------------------------------------------------------------------

    async def _work(self) -> None:
        try:
            while True:
                if not self.queue:
                    self.busy = False
                    self.wakeup.clear()
                    await self.wakeup.wait()
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
        except (asyncio.CancelledError, ConnectionClosed):
            raise
        except Exception:
            log.exception("request %s: the TTS engine failed", self.request_id)
            await self.ws.close(1011, _reason("NET-0000", "internal error: synthesis failed"))

    async def _speak(self, item: _Synth) -> None:
        if item.generation != self.generation:
            return
        if self.engine.blocking:
            chunks = await asyncio.to_thread(self._render, item.text)
        else:
            chunks = self._render(item.text)
        for chunk in chunks:
            async with self.send_lock:
                if item.generation != self.generation:
                    return  # cleared while synthesising or sending
                await self.ws.send(chunk, text=False)

    def _render(self, text: str) -> list[bytes]:
        """The audio of ``text``, encoded and cut into frames (runs in a worker thread for
        blocking engines)."""
        settings = self.settings
        if self.speed_kw:
            synthesize: Callable[..., bytes] = self.engine.synthesize
            pcm = synthesize(text, settings.sample_rate, speed=settings.speed)
        else:
            pcm = self.engine.synthesize(text, settings.sample_rate)
        audio = encode_pcm16(pcm, settings.encoding)
        size = settings.chunk_bytes
        return [audio[i : i + size] for i in range(0, len(audio), size)]
