"""Text-to-speech plumbing shared by ``/v1/speak`` and ``/v2/speak``.

* :func:`split_sentences` cuts buffered text into complete sentences and an unfinished tail.
* :func:`output_format` applies the Speak defaults (``linear16``; 24 kHz, or 8 kHz for
  ``mulaw`` / ``alaw``); :func:`check_tts_request` refuses (400) a voice in a language the
  engine does not speak and a ``speed`` for an engine without it; :func:`speak_model_uuid`
  names a voice of an engine, stably.
* :class:`Synthesizer` turns text into encoded audio frames of :data:`CHUNK_MS`, in a worker
  thread for blocking engines.
* :class:`SpeakStream` is :class:`~._stream.ServerStream` with a worker task that synthesises
  and sends while the receive loop reads the client: it starts and stops the worker, holds the
  lock that keeps frames and messages in order, is busy (not idle) while the worker works,
  and ends the connection with 1011 ``NET-0000`` when the engine fails.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import uuid
from abc import abstractmethod
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from websockets.exceptions import ConnectionClosed

from ..errors import InvalidOptionError
from ._capabilities import check_languages, voice_language
from ._pcm import bytes_per_second, encode_pcm16
from ._stream import ServerStream, StreamFatal, close_reason

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from ..messages import MessageBase
    from ._channel import ServerSettings
    from .engines import TtsEngine

__all__ = [
    "CHUNK_MS",
    "DEFAULT_RATES",
    "SpeakStream",
    "Synthesizer",
    "check_tts_request",
    "output_format",
    "speak_model_uuid",
    "split_sentences",
]

log = logging.getLogger("rxdeepgram.server")

CHUNK_MS = 100
"""Audio per binary frame, in milliseconds."""
DEFAULT_RATES = {"linear16": 24000, "mulaw": 8000, "alaw": 8000}
"""The sample rate of each output encoding when the client names none."""

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


def output_format(encoding: str | None, sample_rate: int | None) -> tuple[str, int]:
    """``(encoding, sample_rate)`` with the Speak defaults applied."""
    chosen = encoding or "linear16"
    return chosen, sample_rate or DEFAULT_RATES[chosen]


def check_tts_request(model: str, speed: float | None, server: ServerSettings) -> None:
    """Refuse (400) a voice in a language the server's TTS engine does not speak (the model's
    last part: ``aura-2-celeste-es`` is Spanish) and a ``speed`` other than 1 for an engine
    that cannot change it."""
    language = voice_language(model)
    if language is not None:
        check_languages("model", [language], server.tts, "text-to-speech", model)
    if speed not in (None, 1.0) and not getattr(server.tts, "supports_speed", False):
        raise InvalidOptionError(
            "speed",
            speed,
            f"the local server's TTS engine ({server.tts.name}) cannot change the speed",
        )


def speak_model_uuid(kind: str, engine: TtsEngine, model: str) -> str:
    """A uuid5 of the channel ``kind``, the engine and the voice (stable across runs)."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"rxdeepgram:{kind}:{engine.name}:{model}"))


class Synthesizer:
    """Text to encoded audio frames of ``chunk_ms`` with one engine, encoding and rate."""

    def __init__(
        self, engine: TtsEngine, encoding: str, sample_rate: int, chunk_ms: int = CHUNK_MS
    ) -> None:
        self.engine = engine
        self.encoding = encoding
        self.sample_rate = sample_rate
        self.supports_speed = bool(getattr(engine, "supports_speed", False))
        self.bytes_per_second = bytes_per_second(encoding, sample_rate)
        self.bytes_per_ms = self.bytes_per_second / 1000
        self.chunk_bytes = self.bytes_per_second * chunk_ms // 1000

    async def frames(self, text: str, speed: float = 1.0) -> list[bytes]:
        """The audio of ``text`` as frames; a blocking engine runs in a worker thread (and the
        encoding and chunking with it)."""
        if self.engine.blocking:
            return await asyncio.to_thread(self.render, text, speed)
        return self.render(text, speed)

    def render(self, text: str, speed: float = 1.0) -> list[bytes]:
        """The audio of ``text``, encoded and cut into frames (``speed`` is given to engines
        that support it)."""
        if self.supports_speed:
            synthesize: Callable[..., bytes] = self.engine.synthesize
            pcm = synthesize(text, self.sample_rate, speed=speed)
        else:
            pcm = self.engine.synthesize(text, self.sample_rate)
        audio = encode_pcm16(pcm, self.encoding)
        size = self.chunk_bytes
        return [audio[i : i + size] for i in range(0, len(audio), size)]


class SpeakStream(ServerStream):
    """A text-to-speech connection: the receive loop queues work for :meth:`work`, a task that
    synthesises and sends. Subclasses implement :meth:`work`, the skeleton's hooks and their
    opening message (:meth:`open` should call :meth:`start_worker` after sending it)."""

    def __init__(self, websocket: ServerConnection, request_id: str, engine: TtsEngine) -> None:
        super().__init__(websocket, request_id)
        self.engine = engine
        self.wakeup = asyncio.Event()
        self.send_lock = asyncio.Lock()
        self.busy = False  # the worker is synthesising or sending
        self.worker: asyncio.Task[None] | None = None

    def start_worker(self, name: str) -> None:
        """Start :meth:`work` as the connection's worker task."""
        self.worker = asyncio.create_task(self._guarded(self.work), name=name)

    @abstractmethod
    async def work(self) -> None:
        """Synthesise and send until the stream ends (runs as the worker task)."""

    async def idle(self) -> None:
        """Wait for :attr:`wakeup` (the worker has nothing to do)."""
        self.busy = False
        self.wakeup.clear()
        await self.wakeup.wait()

    async def send_locked(self, message: MessageBase) -> None:
        """Send ``message`` in order with the worker's frames."""
        async with self.send_lock:
            await self.send(message)

    def synthesis_error(self) -> MessageBase | None:
        """The message sent before closing 1011 when the engine failed (``None``: none)."""
        return None

    async def _guarded(self, work: Callable[[], Coroutine[Any, Any, None]]) -> None:
        try:
            await work()
        except (asyncio.CancelledError, ConnectionClosed):
            raise
        except Exception:
            log.exception("request %s: the TTS engine failed", self.request_id)
            with contextlib.suppress(ConnectionClosed):
                message = self.synthesis_error()
                if message is not None:
                    await self.send(message)
                await self.ws.close(
                    1011, close_reason("NET-0000", "internal error: synthesis failed")
                )

    async def stop_worker(self) -> None:
        """Cancel the worker (or retrieve how it ended, quietly)."""
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

    # -- hooks of ServerStream ------------------------------------------------------------------

    def is_busy(self) -> bool:
        return self.busy

    async def finish(self) -> None:
        if self.worker is not None:
            await self.worker  # drains, then closes

    async def fail(self, fatal: StreamFatal) -> None:
        await self.stop_worker()
        await super().fail(fatal)

    async def shutdown(self) -> None:
        await self.stop_worker()
