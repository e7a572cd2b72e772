"""``tone``: deterministic text-to-speech for tests (a placeholder until the Speak issue lands)."""

from __future__ import annotations

import math
from array import array

__all__ = ["ToneTtsEngine"]


class ToneTtsEngine:
    """Audio whose length follows the text: ``seconds_per_char`` of a 440 Hz tone per
    character, silence for spaces."""

    name = "tone"
    blocking = False

    def __init__(self, seconds_per_char: float = 0.06, amplitude: int = 6000) -> None:
        self.seconds_per_char = seconds_per_char
        self.amplitude = amplitude

    def synthesize(self, text: str, sample_rate: int) -> bytes:
        per_char = max(1, round(self.seconds_per_char * sample_rate))
        out = array("h")
        step = 2 * math.pi * 440.0 / sample_rate
        for ch in text:
            if ch.isspace():
                out.extend([0] * per_char)
            else:
                n0 = len(out)
                out.extend(round(self.amplitude * math.sin(step * (n0 + i))) for i in range(per_char))
        return out.tobytes()
