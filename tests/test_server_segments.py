"""What the local server gives a speech-to-text engine for each segment (``server/_stt.py``)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from array import array

import pytest
from audio_util import concat, pcm16, silence, tone
from websockets.asyncio.client import connect

from rxdeepgram.server import DeepgramServer, ScriptedEngine, VadConfig
from rxdeepgram.server._stt import LEAD_S, Segment, Segmenter
from rxdeepgram.server.engines import RecognizedWord, ScriptedStream

RATE = 16000
FRAME = 160  # 10 ms


def segments(samples: array[int]) -> list[Segment]:
    segmenter: Segmenter[Segment] = Segmenter(RATE, VadConfig(), Segment)
    ended: list[Segment] = []
    for i in range(0, len(samples) - FRAME + 1, FRAME):
        step = segmenter.push(samples[i : i + FRAME])
        if step.ended is not None:
            ended.append(step.ended)
    return ended


def test_a_segment_keeps_the_audio_just_before_its_onset() -> None:
    noise_floor = array("h", [30, -30] * (RATE // 4))  # quiet, not digital silence
    (segment,) = segments(concat(noise_floor, tone(0.5), silence(0.5)))
    assert len(segment.lead) == round(LEAD_S * RATE) * 2
    assert segment.lead == pcm16(noise_floor)[-len(segment.lead) :]


def test_the_lead_never_reaches_into_the_previous_segment() -> None:
    # The second tone starts 0.25 s after the first: its segment opens right after the first
    # one closes (200 ms of silence), so at most a few frames lie between them.
    first, second = segments(concat(tone(0.5), silence(0.25), tone(0.5), silence(0.5)))
    between = second.start_frame - (first.start_frame + len(first.pcm) // 2 // FRAME)
    assert 0 <= len(second.lead) // 2 // FRAME <= max(0, between)
    assert set(second.lead) <= {0}  # silence only, no audio of the first tone


def test_engine_pcm_adds_lead_and_tail_as_asked() -> None:
    (segment,) = segments(concat(silence(0.3), tone(0.5), silence(0.5)))
    voiced = segment.voiced_pcm
    assert segment.engine_pcm(False, 0, 0) == voiced
    assert segment.engine_pcm(True, 0, 0) == voiced
    lead = segment.engine_pcm(True, 3200, 0)
    assert lead == segment.lead[-3200:] + voiced and len(lead) == len(voiced) + 3200
    tail = segment.engine_pcm(True, 0, 4800)
    assert tail[: len(voiced)] == voiced
    assert len(tail) == min(len(segment.pcm), len(voiced) + 4800) > len(voiced)
    assert segment.engine_pcm(False, 0, 4800) == voiced  # interim calls get no tail


# -- every recognising channel gives the engine the margins it asks for -----------------------

LEAD_IN_S, TAIL_S = 0.1, 0.15


class MarginEngine(ScriptedEngine):
    """The scripted engine, asking for a lead-in and a tail, recording its final calls."""

    lead_in_s = LEAD_IN_S
    tail_s = TAIL_S

    def __init__(self) -> None:
        super().__init__(["hello there"])
        self.finals: list[tuple[int, float]] = []  # (bytes, start) of each final call

    def new_stream(self) -> ScriptedStream:
        engine = self

        class Recording(ScriptedStream):
            def transcribe(self, pcm: bytes, start: float, final: bool) -> list[RecognizedWord]:
                if final:
                    engine.finals.append((len(pcm), start))
                return super().transcribe(pcm, start, final)

        return Recording(self)


RAW = "encoding=linear16&sample_rate=16000"
AGENT_SETTINGS = {
    "type": "Settings",
    "audio": {"input": {"encoding": "linear16", "sample_rate": RATE}},
    "agent": {"think": {"provider": {"type": "open_ai", "model": "gpt-4o-mini"}}},
}


async def _final_call(path: str) -> tuple[int, float, int, float]:
    """Speak one tone burst (after 0.4 s of quiet) into ``path``; the engine's final call
    (bytes, start) and the segment's voiced bytes and onset as the segmenter sees them."""
    audio = concat(silence(0.4), tone(0.5), silence(1.2))
    (segment,) = segments(audio)
    engine = MarginEngine()
    async with (
        DeepgramServer(engine=engine) as srv,
        connect(f"{srv.url}{path}") as ws,
    ):
        if path.startswith("/v1/agent"):
            await ws.send(json.dumps(AGENT_SETTINGS))
        data = pcm16(audio)
        for i in range(0, len(data), 3200):
            await ws.send(data[i : i + 3200])
        async with asyncio.timeout(10):
            while not engine.finals:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.05):
                        await ws.recv()
    length, start = engine.finals[0]
    return length, start, len(segment.voiced_pcm), segment.start_frame * FRAME / RATE


@pytest.mark.parametrize(
    "path",
    [
        f"/v1/listen?model=nova-3&{RAW}",
        f"/v2/listen?model=flux-general-en&{RAW}",
        "/v1/agent/converse",
    ],
)
async def test_every_channel_gives_the_engine_its_lead_in_and_tail(path: str) -> None:
    length, start, voiced, onset = await _final_call(path)
    lead, tail = round(LEAD_IN_S * RATE) * 2, round(TAIL_S * RATE) * 2
    assert length == lead + voiced + tail
    assert start == pytest.approx(onset - LEAD_IN_S, abs=1e-3)  # word times stay on the clock
