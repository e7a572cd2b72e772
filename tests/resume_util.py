"""Helpers of the reconnect tests: audio whose words the server can read back from the audio
itself (so a replay on a new connection yields the same words), and a streaming loop."""

from __future__ import annotations

import array
import io
import math
import sys
import time
import wave
from collections.abc import Iterable
from typing import Any

from rxdeepgram.server import RecognizedWord

RATE = 16000
WORDS = (
    *("alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel", "india"),
    *("juliet", "kilo", "lima", "mike", "november", "oscar", "papa", "quebec", "romeo"),
    *("sierra", "tango", "uniform", "victor", "whiskey", "xray", "yankee", "zulu"),
)
BASE_HZ = 300.0
STEP_HZ = 60.0


def word_tone(index: int, seconds: float = 0.3) -> array.array[int]:
    freq = BASE_HZ + STEP_HZ * index
    n = round(seconds * RATE)
    step = 2 * math.pi * freq / RATE
    return array.array("h", [int(8000 * math.sin(step * i)) for i in range(n)])


def word_audio(indices: Iterable[int], gap_s: float = 0.35, tail_s: float = 0.3) -> bytes:
    """One tone per word (its frequency names it), ``gap_s`` of silence after each."""
    out = array.array("h")
    gap = array.array("h", bytes(2 * round(gap_s * RATE)))
    indices = list(indices)
    for k, index in enumerate(indices):
        out.extend(word_tone(index))
        out.extend(
            gap if k < len(indices) - 1 else array.array("h", bytes(2 * round(tail_s * RATE)))
        )
    if sys.byteorder == "big":
        out.byteswap()
    return out.tobytes()


def wav_bytes(pcm: bytes) -> bytes:
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(RATE)
        w.writeframes(pcm)
    return buf.getvalue()


def read_wav(data: bytes) -> bytes:
    with wave.open(io.BytesIO(data), "rb") as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (1, 2, RATE)
        return w.readframes(w.getnframes())


class _ToneStream:
    def transcribe(self, pcm: bytes, start: float, final: bool) -> list[RecognizedWord]:
        samples = array.array("h", pcm)
        if sys.byteorder == "big":
            samples.byteswap()
        ups = [i for i in range(1, len(samples)) if samples[i - 1] < 0 <= samples[i]]
        if len(ups) < 4:
            return []
        freq = (len(ups) - 1) * RATE / (ups[-1] - ups[0])
        index = round((freq - BASE_HZ) / STEP_HZ)
        if not 0 <= index < len(WORDS):
            return []
        voiced = [i for i in range(len(samples)) if abs(samples[i]) > 200]
        begin = start + voiced[0] / RATE
        end = start + (voiced[-1] + 1) / RATE
        return [RecognizedWord(WORDS[index], round(begin, 3), round(end, 3), 0.99)]

    def close(self) -> None:
        pass


class ToneWordEngine:
    """An ``SttEngine`` reading each speech segment's word from its tone's frequency."""

    name = "tone-words"
    sample_rate = RATE
    blocking = False

    def new_stream(self) -> _ToneStream:
        return _ToneStream()


def stream(
    conn: Any,
    audio: bytes,
    *,
    chunk: int = 3200,
    pace_s: float = 0.004,
    faults: dict[int, Any] | None = None,
) -> None:
    """Send ``audio`` in ``chunk``-byte frames, ``pace_s`` apart (faster than real time), calling
    ``faults[i]()`` after frame ``i``."""
    faults = faults or {}
    for i, offset in enumerate(range(0, len(audio), chunk)):
        conn.input.on_next(audio[offset : offset + chunk])
        fault = faults.get(i)
        if fault is not None:
            fault()
        time.sleep(pace_s)
