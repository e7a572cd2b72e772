"""The agent listening: microphone audio in ``audio.input`` format -> 10 ms frames at the
engine's rate (the Listen channels' ingest path, :mod:`.._ingest`) -> the speech detector
(``UserStartedSpeaking`` at onset, barge-in) -> the utterance transcribed by the server's
engine -> a user statement."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

from ...messages.agent_v1 import ListenProviderV2, UserStartedSpeaking
from .._ingest import AudioIngest
from .._stt import Margins, Segment, Segmenter, call_engine, transcribe_segment
from ._base import log

if TYPE_CHECKING:
    from .._audio import SampleFormat
    from .._channel import ServerSettings
    from ..engines import SttStream
    from ._base import AgentOptions, Link
    from ._calls import FunctionCalls
    from ._conversation import Conversation
    from ._speech import Speech
    from ._state import AgentState

__all__ = ["Listening"]


class Listening:
    """The user's side of the socket, from ``Settings`` on (:meth:`start`)."""

    def __init__(
        self,
        link: Link,
        options: AgentOptions,
        server: ServerSettings,
        state: AgentState,
        speech: Speech,
        calls: FunctionCalls,
        conversation: Conversation,
    ) -> None:
        self.link = link
        self.options = options
        self.server = server
        self.state = state
        self.speech = speech
        self.calls = calls
        self.conversation = conversation
        self.ingest: AudioIngest | None = None
        self.segmenter: Segmenter[Segment] | None = None
        self.stt: SttStream | None = None
        self.margins = Margins()

    @property
    def user_busy(self) -> bool:
        """The user is speaking (speech detected and not yet ended)."""
        return self.segmenter is not None and self.segmenter.segment is not None

    async def start(self, fmt: SampleFormat) -> None:
        engine = self.server.engine
        vad = dataclasses.replace(self.server.vad, min_silence_ms=self.options.end_of_turn_ms)
        self.segmenter = Segmenter(engine.sample_rate, vad, Segment)
        self.ingest = AudioIngest(engine, self.segmenter.frame_samples, fmt)
        self.margins = Margins.of(engine)
        self.stt = await call_engine(engine, engine.new_stream)

    async def close(self) -> None:
        stream, self.stt = self.stt, None
        if stream is not None:
            try:
                await call_engine(self.server.engine, stream.close)
            except Exception:
                log.exception("request %s: closing the engine stream failed", self.link.request_id)

    async def on_audio(self, data: bytes) -> None:
        ingest, segmenter = self.ingest, self.segmenter
        assert ingest is not None and segmenter is not None
        ingest.feed(data)  # the format is known: no DataError
        for (frame,) in ingest.frames():
            step = segmenter.push(frame)
            if step.started or step.reopened:
                await self._user_started()
            if step.ended is not None:
                await self._utterance(step.ended)

    async def force_end_turn(self) -> None:
        if not isinstance(self.state.listen, ListenProviderV2):
            await self.link.warn(
                "FORCE_END_TURN_UNSUPPORTED",
                "ForceEndTurn needs a Flux listen provider (version v2).",
            )
            return
        assert self.segmenter is not None
        segment = self.segmenter.cut()
        if segment is not None:
            await self._utterance(segment)

    async def _user_started(self) -> None:
        if self.speech.cut():  # barge-in: no agent audio goes out after UserStartedSpeaking
            log.debug("request %s: barge-in, dropping agent audio", self.link.request_id)
        await self.link.send(UserStartedSpeaking())
        await self.calls.cancel()

    async def _utterance(self, segment: Segment) -> None:
        assert self.stt is not None and self.segmenter is not None
        onset = self.segmenter.seconds(segment.start_frame)
        words = await transcribe_segment(
            self.server.engine, self.stt, segment, onset, True, self.margins
        )
        text = " ".join(w.word for w in words).strip()
        if text:
            await self.conversation.user_said(text)
