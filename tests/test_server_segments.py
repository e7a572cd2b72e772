"""What the local server gives a speech-to-text engine for each segment (``server/_stt.py``)."""

from __future__ import annotations

from array import array

from audio_util import concat, pcm16, silence, tone

from rxdeepgram.server import VadConfig
from rxdeepgram.server._stt import LEAD_S, Segment, Segmenter

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
