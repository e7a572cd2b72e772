"""The ``scripted`` engine: transcripts given by the test, timing taken from the audio.

Each speech segment the server detects in a channel gets the next utterance of the script, in
order; every channel of every connection starts at the beginning of the script. The words of an
utterance are spread evenly over the segment's real duration (the audio from speech onset to the
start of the trailing silence). While the segment is still open (interim results) the words are
laid out at ``word_duration`` seconds each, stretched when the audio is already longer than
that, and only the words whose end time has passed are returned, so interim results grow word by
word as the audio arrives.

When the script runs out, ``cycle=True`` (the default) starts it again; ``cycle=False`` makes
every later segment an empty transcript (as a real engine gives for noise). An empty string in
the script is an intentional empty transcript for that segment.

Confidences are deterministic (derived from a CRC of the word) and between 0.90 and 0.999.
The engine never blocks: it only counts bytes.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable

from ._base import RecognizedWord

__all__ = ["DEFAULT_SCRIPT", "ScriptedEngine", "ScriptedStream"]

DEFAULT_SCRIPT: tuple[str, ...] = (
    "Hello from the rxdeepgram local server.",
    "This transcript comes from the scripted engine.",
    "Each speech segment gets the next line of the script.",
)
"""What :class:`ScriptedEngine` says when no script is given (cycled)."""


def _confidence(word: str) -> float:
    return round(0.9 + (zlib.crc32(word.encode()) % 100) / 1000, 3)


class ScriptedStream:
    """The scripted state of one channel of one connection: where it is in the script."""

    def __init__(self, engine: ScriptedEngine) -> None:
        self._engine = engine
        self._next = 0  # index of the next script line to hand out
        self._current: list[str] | None = None  # tokens of the open segment
        self._current_start: float | None = None

    def _tokens_for(self, start: float) -> list[str]:
        if self._current is None or self._current_start != start:
            self._current = self._engine._line(self._next)
            self._current_start = start
            self._next += 1
        return self._current

    def transcribe(self, pcm: bytes, start: float, final: bool) -> list[RecognizedWord]:
        """Words of the segment that began at ``start`` (see the module docstring)."""
        tokens = self._tokens_for(start)
        if final:
            self._current = None
            self._current_start = None
        if not tokens:
            return []
        rate = self._engine.sample_rate
        elapsed = len(pcm) / 2 / rate
        count = len(tokens)
        span = elapsed if final else max(elapsed, count * self._engine.word_duration)
        slot = span / count
        words: list[RecognizedWord] = []
        for k, token in enumerate(tokens):
            word_start = start + k * slot
            word_end = start + (k + 1) * slot
            if not final and word_end > start + elapsed + 1e-9:
                break
            words.append(RecognizedWord(token, word_start, word_end, _confidence(token)))
        return words

    def close(self) -> None:
        """Nothing to release."""
        self._current = None


class ScriptedEngine:
    """A deterministic speech-to-text engine reading from a script.

    ``script`` is a sequence of utterances (one per detected speech segment) or a single
    string (one utterance). Tokens are split on whitespace and kept as written; the server
    derives the normalised ``word`` (lower case, no punctuation) and, with ``punctuate`` /
    ``smart_format``, uses the token as ``punctuated_word``.

    >>> engine = ScriptedEngine(["hello world", "how are you today"], cycle=False)
    """

    name = "scripted"
    sample_rate = 16000
    blocking = False

    def __init__(
        self,
        script: Iterable[str] | str | None = None,
        *,
        cycle: bool = True,
        word_duration: float = 0.3,
    ) -> None:
        if script is None:
            script = DEFAULT_SCRIPT
        elif isinstance(script, str):
            script = [script]
        self.script: tuple[str, ...] = tuple(script)
        if not all(isinstance(line, str) for line in self.script):
            raise TypeError("script lines must be strings")
        if word_duration <= 0:
            raise ValueError("word_duration must be positive")
        self.cycle = cycle
        self.word_duration = word_duration
        self._tokens = [line.split() for line in self.script]

    def _line(self, index: int) -> list[str]:
        if not self._tokens:
            return []
        if index >= len(self._tokens):
            if not self.cycle:
                return []
            index %= len(self._tokens)
        return self._tokens[index]

    def new_stream(self) -> ScriptedStream:
        """A fresh stream positioned at the first utterance."""
        return ScriptedStream(self)

    def __repr__(self) -> str:
        return f"ScriptedEngine({list(self.script)!r}, cycle={self.cycle})"
