"""Resuming Speak V2: send again the turns not yet finished; keep the turn ids, the session's
audio clock and its totals continuous; never repeat audio.

What is safe to replay, and what is not:

* A turn ends with its ``SpeechMetadata`` (or ``SpeechInterrupted``); what a finished turn said
  is never sent again. Kept: the ``Speak`` texts of every turn not finished yet, whether each was
  flushed, ``Configure`` and ``Interrupt`` messages not yet answered, and the last ``Configure``
  that was applied (``ConfigureSuccess``) so the new connection speaks at the same speed (its
  repeated answer is suppressed). ``Flush`` with no open turn and ``Interrupt`` with no turn are
  not kept (the server only warns about them).
* On a new connection: the applied ``Configure``, the unanswered ``Configure`` messages, then
  each unfinished turn (its texts, its ``Flush`` if it had one). An unanswered ``Interrupt``
  (it always targets the active turn) follows once the resumed turn's audio has caught up with
  what the application had received: a server ignores an ``Interrupt`` before any audio, and
  an offset past the audio generated.
* The turn that was speaking when the connection dropped is synthesised again from its start;
  the audio bytes of it the application already has are cut off, so its audio continues where
  the drop cut it. That assumes the server turns the same text into the same audio, as the
  local engines do; Deepgram's neural voices (which also carry context across turns) may not be
  sample-identical, so the seam may be audible there, but no audio is lost or said twice.
* Messages of the new connection are rewritten into the first connection's terms: its
  ``Connected`` is suppressed, the resumed turn's ``SpeechStarted`` too (the application has
  it), a second ``Flushed`` for a turn is suppressed, and ``speech_id`` of the resumed turn keeps
  its first value. The new connection's audio clock starts at 0: an ``Interrupt``'s playback
  offset is shifted back by the audio before the resumed turn, and ``SpeechInterrupted``'s
  ``audio_played_ms`` and ``SessionMetadata``'s totals forward by it (plus the characters of the
  turns finished before). The server reports whole milliseconds per turn, so a total carried
  over turns finished on earlier connections may be off by half a millisecond per such turn.
* The graceful close's own ``Flush`` is not kept: the new connection gets the close again (and
  its session flushes the open turn itself).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Any

from msgspec.structs import replace

from ..messages import speak_v2 as m
from ._config import Reconnect
from ._policy import Policy

__all__ = ["SpeakV2Policy"]

_INTERRUPT_IGNORED = frozenset(
    {"NO_AUDIO_GENERATED", "INTERRUPT_IN_PROGRESS", "INVALID_INTERRUPT_OFFSET", "NO_ACTIVE_SPEECH"}
)


@dataclass(eq=False)
class _Turn:
    texts: list[m.Speak] = field(default_factory=list)
    flushed: bool = False  # the application sent its Flush
    close_flushed: bool = False  # the graceful close ended it
    started: bool = False  # its SpeechStarted reached the application
    flushed_seen: bool = False  # its Flushed reached the application
    speech_id: str | None = None  # the id the application knows it by
    delivered: int = 0  # audio bytes of it the application has

    @property
    def ended(self) -> bool:
        return self.flushed or self.close_flushed


class SpeakV2Policy(Policy):
    def __init__(self, config: Reconnect) -> None:
        super().__init__(config)
        self.turns: deque[_Turn] = deque()
        self.configures: deque[m.Configure] = deque()  # sent, not answered yet
        self.applied: m.Configure | None = None  # the last Configure the server accepted
        self.interrupts: deque[m.Interrupt] = deque()  # sent, not answered yet
        self.position_ms = 0  # the application's session audio clock at the last turn's end
        self.chars = 0  # characters of the finished turns
        self.base_ms = 0  # self.position_ms when the current connection opened
        self.base_chars = 0
        self.resumed = False
        self.skip = 0  # audio bytes of the new connection the application already has
        self.silent_answers = 0  # answers to the replayed applied Configure to suppress
        self.rename: dict[str, str] = {}  # speech_id of this connection -> the application's
        self.deferred: list[m.Interrupt] = []  # replayed once the resumed audio caught up

    # -- what the application sends -------------------------------------------------------------

    def _open(self) -> _Turn | None:
        last = self.turns[-1] if self.turns else None
        return last if last is not None and not last.ended else None

    def on_send(self, item: Any, connected: bool) -> Any:
        cls = type(item)
        if cls is m.Speak:
            turn = self._open()
            if turn is None:
                turn = _Turn()
                self.turns.append(turn)
            turn.texts.append(item)
        elif cls is m.Flush:
            turn = self._open()
            if turn is not None:
                turn.flushed = True
        elif cls is m.Configure:
            self.configures.append(item)
        elif cls is m.Interrupt:
            if not self.turns:
                return item  # nothing to interrupt: the server only warns
            self.interrupts.append(item)  # kept on the application's clock
            return self._shift(item)
        return item

    def _shift(self, item: m.Interrupt) -> m.Interrupt:
        """An offset on the application's clock as the current connection counts it."""
        offset = item.playback_offset
        if offset is None or not self.base_ms:
            return item
        value = max(offset.value - self.base_ms, 0)
        return replace(item, playback_offset=replace(offset, value=value))

    def on_close(self) -> None:
        turn = self._open()
        if turn is not None:
            turn.close_flushed = True

    # -- a new connection -----------------------------------------------------------------------

    def begin(self, first: bool) -> list[Any]:
        self.rename = {}
        if first:
            return []
        self.resumed = True
        self.base_ms = self.position_ms
        self.base_chars = self.chars
        head = self.turns[0] if self.turns else None
        self.skip = head.delivered if head is not None else 0
        items: list[Any] = []
        if self.applied is not None:
            items.append(self.applied)
            self.silent_answers = 1
        items.extend(self.configures)
        for turn in self.turns:
            items.extend(turn.texts)
            if turn.flushed:
                items.append(m.Flush())
        # An Interrupt targets the active turn, and a server ignores one before any audio: it
        # waits for the resumed turn's audio to catch up with what the application has.
        self.deferred = [self._shift(item) for item in self.interrupts]
        self.replayed_messages += len(items) + len(self.deferred)
        return items

    def _release(self) -> None:
        self.outbox.extend(self.deferred)
        self.deferred = []

    # -- what the server sends ------------------------------------------------------------------

    def _finish_turn(self) -> None:
        if self.turns:
            turn = self.turns.popleft()
            self.chars += sum(len(s.text) for s in turn.texts)
        self.skip = 0

    def _named(self, speech_id: str) -> str:
        return self.rename.get(speech_id, speech_id)

    def on_message(self, message: Any) -> Any:
        cls = type(message)
        turn = self.turns[0] if self.turns else None
        if cls is bytes:
            skip = self.skip
            if skip:
                if len(message) <= skip:
                    self.skip = skip - len(message)
                    self.suppressed += 1
                    if self.deferred and not self.skip:
                        self._release()
                    return None
                message = message[skip:]
                self.skip = 0
            if self.deferred:
                self._release()
            if turn is not None:
                turn.delivered += len(message)
            return message
        if cls is m.SpeechStarted:
            if turn is None:
                return message
            if turn.started and turn.speech_id is not None:
                self.rename[message.speech_id] = turn.speech_id
                self.suppressed += 1
                return None
            turn.started = True
            turn.speech_id = message.speech_id
            return message
        if cls is m.Flushed:
            if turn is not None:
                if turn.flushed_seen:
                    self.suppressed += 1
                    return None
                turn.flushed_seen = True
            return replace(message, speech_id=self._named(message.speech_id))
        if cls is m.SpeechMetadata:
            self._finish_turn()
            self.position_ms += message.audio_duration_ms
            return replace(message, speech_id=self._named(message.speech_id))
        if cls is m.SpeechInterrupted:
            self._finish_turn()
            if self.interrupts:
                self.interrupts.popleft()
            played = message.audio_played_ms + self.base_ms
            self.position_ms = played
            metadata = replace(message.metadata, speech_id=self._named(message.metadata.speech_id))
            return replace(message, audio_played_ms=played, metadata=metadata)
        if cls is m.ConfigureSuccess or cls is m.ConfigureFailure:
            if self.silent_answers:
                self.silent_answers -= 1
                self.suppressed += 1
                return None
            sent = self.configures.popleft() if self.configures else None
            if cls is m.ConfigureSuccess and sent is not None and sent.speed is not None:
                self.applied = sent
            return message
        if cls is m.Warning:
            if message.code in _INTERRUPT_IGNORED and self.interrupts:
                self.interrupts.popleft()
            return message
        if cls is m.SessionMetadata and self.resumed:
            return replace(
                message,
                total_audio_duration_ms=message.total_audio_duration_ms + self.base_ms,
                total_input_character_count=message.total_input_character_count + self.base_chars,
                total_billable_character_count=message.total_billable_character_count
                + self.base_chars,
            )
        if cls is m.Connected and self.resumed:
            self.suppressed += 1
            return None
        return message
