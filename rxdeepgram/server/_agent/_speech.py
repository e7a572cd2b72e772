"""The agent saying a line: its ``ConversationText`` and ``History``, the TTS engine,
``AgentStartedSpeaking``, the audio in ``chunk_ms`` frames (paced when ``realtime``),
``AgentAudioDone`` and ``LatencyReport``; and barge-in, which drops the rest of the audio."""

from __future__ import annotations

import asyncio
import struct
import time
from typing import TYPE_CHECKING

from ...messages.agent_v1 import (
    AgentAudioDone,
    AgentStartedSpeaking,
    ConversationText,
    History,
    LatencyReport,
)
from .._pcm import OUTPUT_ENCODINGS, encode_pcm16
from .._stt import round_time
from ..think import Message
from ._state import OutputFormat

if TYPE_CHECKING:
    from .._channel import ServerSettings
    from ._base import AgentOptions, Link
    from ._state import AgentState

__all__ = ["Speech", "wav_header"]

_WAV_TAGS = {"linear16": (1, 16), "mulaw": (7, 8), "alaw": (6, 8)}


def wav_header(encoding: str, sample_rate: int) -> bytes:
    """A streaming WAV header (sizes unknown: 0xFFFFFFFF)."""
    tag, bits = _WAV_TAGS[encoding]
    block = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, sample_rate, sample_rate * block, block, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 0xFFFFFFFF)
        + b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)
    )


class Speech:
    """The agent's voice: one line at a time (the conversation's worker calls :meth:`say`)."""

    def __init__(
        self, link: Link, options: AgentOptions, server: ServerSettings, state: AgentState
    ) -> None:
        self.link = link
        self.options = options
        self.server = server
        self.state = state
        self.output = OutputFormat()
        self.speaking = False
        self.interrupt = asyncio.Event()

    def cut(self) -> bool:
        """Drop the rest of the audio being sent, if any; ``True`` if there was some."""
        if self.speaking:
            self.interrupt.set()
            return True
        return False

    async def say(
        self,
        text: str,
        *,
        since: float,
        ttt: float,
        tool: float | None = None,
        behavior: str | None = None,
    ) -> None:
        """Say ``text`` (nothing when it is blank); latencies count from ``since``."""
        text = text.strip()
        if not text:
            return
        link, state = self.link, self.state
        await link.send(
            ConversationText(
                role="assistant", content=text, conversational_behavior=behavior or "default"
            )
        )
        state.history.append(Message("assistant", text))
        if state.history_on:
            await link.send(History(role="assistant", content=text))
        out = self.output
        tts = self.server.tts
        started = time.perf_counter()
        if tts.blocking:
            pcm = await asyncio.to_thread(tts.synthesize, text, out.rate)
        else:
            pcm = tts.synthesize(text, out.rate)
        audio = encode_pcm16(pcm, out.encoding)
        if out.wav:
            audio = wav_header(out.encoding, out.rate) + audio
        tts_latency = round_time(time.perf_counter() - started)
        total = round_time(time.perf_counter() - since)
        self.interrupt.clear()
        await link.send(
            AgentStartedSpeaking(
                total_latency=total, tts_latency=tts_latency, ttt_latency=round_time(ttt)
            )
        )
        self.speaking = True
        try:
            await self._stream(audio)
        finally:
            self.speaking = False
        await link.send(AgentAudioDone())
        await link.send(
            LatencyReport(
                ttt_text_latency=round_time(ttt),
                ttt_tool_latency=round_time(tool) if tool is not None else None,
                tts_latency=tts_latency,
                total_latency=total,
            )
        )

    async def _stream(self, audio: bytes) -> None:
        """Send ``audio`` in ``chunk_ms`` frames, paced when ``realtime``; stop when
        ``interrupt`` is set (barge-in)."""
        out = self.output
        width = OUTPUT_ENCODINGS[out.encoding]
        per_second = width * out.rate
        step = max(width, per_second * self.options.chunk_ms // 1000 // width * width)
        loop = asyncio.get_running_loop()
        began = loop.time()
        sent = 0.0
        realtime, lead = self.options.realtime, self.options.lead
        for offset in range(0, len(audio), step):
            if self.interrupt.is_set():
                return
            chunk = audio[offset : offset + step]
            await self.link.send_audio(chunk)
            sent += len(chunk) / per_second
            ahead = sent - (loop.time() - began) - lead
            if realtime and ahead > 0:
                try:
                    async with asyncio.timeout(ahead):
                        await self.interrupt.wait()
                except TimeoutError:
                    pass
