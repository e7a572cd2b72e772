"""Resuming Listen V1: replay the audio since the last final result, shift every time.

* Kept: the audio sent since the end of the last final ``Results`` (``start + duration`` of a
  result with ``is_final``), bounded by ``max_buffer_s``, with the ``Finalize`` messages sent in
  between at their place in the audio. The last ``Configure`` is kept and sent first.
* On a new connection the kept audio is sent again, cut to start exactly at that end, so the
  new connection's time 0 is that point of the stream: every time it sends (``Results.start``,
  word ``start`` / ``end``, ``UtteranceEnd.last_word_end``, ``SpeechStarted.timestamp``,
  ``Metadata.duration``) is shifted by it. No struct is rebuilt while the shift is 0 (before
  the first drop).
* Suppressed: a ``SpeechStarted`` or ``UtteranceEnd`` the application already had (the replayed
  audio yields them again), the acknowledgement of the re-sent ``Configure``.
* A final result cannot come twice (the replay starts after the last one) nor go missing (the
  audio of any final not received is still kept).
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from ..messages import listen_v1 as m
from ._config import Reconnect
from ._policy import ListenPolicy

__all__ = ["ListenV1Policy", "audio_rate"]

_RESULTS = m.Results
_SAMPLE_BYTES = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}
_TOLERANCE = 0.05  # seconds: the same audio framed from another start point


def audio_rate(options: dict[str, Any], channel_name: str) -> tuple[int, int]:
    """``(bytes per second, bytes per sample frame)`` of the raw audio the options describe."""
    from ..errors import ConfigurationError

    encoding = options.get("encoding")
    rate = options.get("sample_rate")
    size = _SAMPLE_BYTES.get(str(encoding)) if encoding is not None else None
    if size is None or not isinstance(rate, int):
        raise ConfigurationError(
            f"reconnect on {channel_name} replays audio, so it needs raw audio described by "
            "encoding= (linear16, linear32, mulaw or alaw) and sample_rate=; "
            f"got encoding={encoding!r}"
        )
    channels = options.get("channels") or 1
    frame = size * int(channels)
    return frame * rate, frame


def _r(x: float) -> float:
    return round(x, 6)


def shift_words(words: list[Any], shift: float) -> list[Any]:
    return [
        replace(w, start=_r(w.start + shift), end=_r(w.end + shift))
        if w.start is not None and w.end is not None
        else w
        for w in words
    ]


class ListenV1Policy(ListenPolicy):
    # on_message only writes what the audio path reads atomically (_final_end, then log.dirty)
    # and its own suppression state
    locked_messages = False

    def __init__(self, config: Reconnect, options: dict[str, Any]) -> None:
        super().__init__(config, *audio_rate(options, "Listen V1"))
        self._add_audio = self.log.add_audio
        self._speech_started = -1.0
        self._utterance_end = -1.0

    def on_send(self, item: Any, connected: bool) -> Any:
        if type(item) is bytes:
            self._add_audio(item, connected)
            return item
        elif type(item) is m.Finalize:
            self.log.add_control(item)
        elif type(item) is m.Configure:
            self._configure = item
        return item

    def begin(self, first: bool) -> list[Any]:
        if first:
            return []
        self._confirm()
        return self._replay()

    def on_message(self, message: Any) -> Any:
        if type(message) is _RESULTS:  # the common case first, and short
            if message.is_final:
                end = self.shift + message.start + message.duration
                if end > self._final_end:
                    self._final_end = end
                    self.log.dirty = True  # after _final_end: see _confirm
            return self._shifted(message) if self.shift else message
        return self._other(message)

    def _shifted(self, message: m.Results) -> m.Results:
        shift = self.shift
        channel = message.channel
        alternatives = [replace(a, words=shift_words(a.words, shift)) for a in channel.alternatives]
        return replace(
            message,
            start=_r(message.start + shift),
            channel=replace(channel, alternatives=alternatives),
        )

    def _other(self, message: Any) -> Any:
        cls = type(message)
        shift = self.shift
        if cls is m.SpeechStarted:
            at = _r(message.timestamp + shift)
            if self.resumed and at <= self._speech_started + _TOLERANCE:
                self.suppressed += 1
                return None
            self._speech_started = at
            return replace(message, timestamp=at) if shift else message
        if cls is m.UtteranceEnd:
            at = _r(message.last_word_end + shift)
            if self.resumed and at <= self._utterance_end + _TOLERANCE:
                self.suppressed += 1
                return None
            self._utterance_end = at
            return replace(message, last_word_end=at) if shift else message
        if cls is m.Metadata:
            return replace(message, duration=_r(message.duration + shift)) if shift else message
        if (cls is m.ConfigureSuccess or cls is m.ConfigureFailure) and self._acks_to_skip:
            self._acks_to_skip -= 1
            self.suppressed += 1
            return None
        return message
