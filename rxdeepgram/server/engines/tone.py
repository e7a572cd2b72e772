"""``tone``: deterministic, speech-shaped text-to-speech for tests.

The audio is not speech, but it has speech's *shape*, so that what comes out of the Speak
channel can be fed to a Listen channel and be segmented as the text suggests:

* every letter or digit is ``seconds_per_char`` (60 ms) of a voiced sound: a fundamental
  between 100 and 250 Hz (chosen by the character) with two harmonics, at ``amplitude``;
* a run of whitespace (or a hyphen / dash) between words is ``word_gap`` (50 ms) of silence,
  far shorter than the 200 ms the Listen channels' speech detector needs to end a segment, so
  the words of a sentence stay one segment;
* ``,`` ``;`` ``:`` add ``clause_pause`` (100 ms; with the following space still under 200 ms);
* ``.`` ``!`` ``?`` (and a newline) add ``sentence_pause`` (600 ms), so sentences become
  separate segments (and a Listen channel ends each with ``speech_final``);
* every other character (quotes, apostrophes, symbols) takes no time.

So the duration follows the text and nothing else (:meth:`ToneTtsEngine.duration`), and the
same text always gives the same bytes, at any sample rate. Each character's block holds a whole
number of periods of its fundamental, so blocks join without clicks; a word fades in and out
over 5 ms. Blocks are rendered once per sample rate and cached, and an utterance is a
``bytes.join`` of them, so synthesis runs at C speed (``blocking = False``).
"""

from __future__ import annotations

import math
from array import array
from functools import cache

from ...audio._pcm import from_pcm16

__all__ = ["ToneTtsEngine"]

_PITCHES_HZ = (100.0, 133.0, 167.0, 200.0, 250.0)
_HARMONICS = ((1, 1.0), (2, 0.5), (3, 0.25))
_FADE_S = 0.005
_DASHES = frozenset("-\u2010\u2011\u2012\u2013\u2014\u2015")
_CLAUSE = frozenset(",;:")
_SENTENCE = frozenset(".!?\u2026")


class ToneTtsEngine:
    """Deterministic audio whose timing follows the text (see the module docstring).

    Args:
        seconds_per_char: duration of each letter or digit.
        amplitude: peak level of the voiced sound (16-bit scale).
        word_gap: silence for a run of whitespace or a dash between words.
        clause_pause: extra silence for ``,`` ``;`` ``:``.
        sentence_pause: extra silence for ``.`` ``!`` ``?`` and newlines.
    """

    name = "tone"
    blocking = False
    supports_speed = True

    def __init__(
        self,
        seconds_per_char: float = 0.06,
        amplitude: int = 8000,
        *,
        word_gap: float = 0.05,
        clause_pause: float = 0.1,
        sentence_pause: float = 0.6,
    ) -> None:
        if seconds_per_char <= 0:
            raise ValueError("seconds_per_char must be positive")
        if not 0 < amplitude <= 32767:
            raise ValueError("amplitude must be in 1..32767")
        if min(word_gap, clause_pause, sentence_pause) < 0:
            raise ValueError("pauses must not be negative")
        self.seconds_per_char = float(seconds_per_char)
        self.amplitude = int(amplitude)
        self.word_gap = float(word_gap)
        self.clause_pause = float(clause_pause)
        self.sentence_pause = float(sentence_pause)

    def __repr__(self) -> str:
        return f"ToneTtsEngine(seconds_per_char={self.seconds_per_char})"

    # -- the plan: what each character becomes ------------------------------------------------

    def _plan(self, text: str) -> list[tuple[str, int | float]]:
        """``("voice", pitch_index)`` per letter, ``("pause", seconds)`` per pause, in order;
        a word's first and last voiced characters are marked ``"first"`` / ``"last"``."""
        plan: list[tuple[str, int | float]] = []
        gap = 0.0
        in_gap = False
        for ch in text:
            if ch.isalnum():
                if gap > 0:
                    plan.append(("pause", gap))
                gap = 0.0
                in_gap = False
                plan.append(("voice", ord(ch.lower()) % len(_PITCHES_HZ)))
            elif ch in _SENTENCE or ch == "\n":
                gap += self.sentence_pause
                in_gap = ch == "\n"
            elif ch in _CLAUSE:
                gap += self.clause_pause
            elif (ch.isspace() or ch in _DASHES) and not in_gap:
                gap += self.word_gap
                in_gap = True
        if gap > 0:
            plan.append(("pause", gap))
        return plan

    def duration(self, text: str, speed: float = 1.0) -> float:
        """Seconds of audio :meth:`synthesize` makes for ``text`` (up to rounding to samples)."""
        total = 0.0
        for kind, value in self._plan(text):
            total += self.seconds_per_char if kind == "voice" else float(value)
        return total / speed

    # -- synthesis ------------------------------------------------------------------------------

    def synthesize(self, text: str, sample_rate: int, speed: float = 1.0) -> bytes:
        """``text`` as 16-bit little-endian mono PCM at ``sample_rate``; ``speed`` (> 0)
        divides every duration."""
        if sample_rate <= 0:
            raise ValueError("sample_rate must be positive")
        if speed <= 0:
            raise ValueError("speed must be positive")
        plan = self._plan(text)
        spc = self.seconds_per_char / speed
        parts: list[bytes] = []
        count = len(plan)
        for k, (kind, value) in enumerate(plan):
            if kind == "pause":
                parts.append(bytes(2 * round(float(value) / speed * sample_rate)))
                continue
            first = k == 0 or plan[k - 1][0] != "voice"
            last = k == count - 1 or plan[k + 1][0] != "voice"
            parts.append(_block(int(value), sample_rate, spc, self.amplitude, first, last))
        return b"".join(parts)


@cache
def _block(
    pitch: int, sample_rate: int, seconds: float, amplitude: int, fade_in: bool, fade_out: bool
) -> bytes:
    """One character's voiced sound: a whole number of periods of the pitch, with harmonics."""
    n = max(1, round(seconds * sample_rate))
    periods = max(1, round(_PITCHES_HZ[pitch] * n / sample_rate))
    peak = sum(weight for _, weight in _HARMONICS)
    scale = amplitude / peak
    fade = max(1, round(_FADE_S * sample_rate))
    out = array("h", bytes(2 * n))
    for i in range(n):
        phase = 2.0 * math.pi * periods * i / n
        value = sum(weight * math.sin(h * phase) for h, weight in _HARMONICS) * scale
        if fade_in and i < fade:
            value *= i / fade
        if fade_out and n - 1 - i < fade:
            value *= (n - 1 - i) / fade
        out[i] = round(value)
    return from_pcm16(out)
