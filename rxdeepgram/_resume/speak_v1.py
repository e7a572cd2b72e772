"""Resuming Speak V1: send again the text not yet covered by a ``Flushed``; never repeat audio.

* Kept: every ``Speak`` and ``Flush`` sent since the last ``Flushed`` (the server answers the
  ``Flush`` messages in order, so each ``Flushed`` covers the text up to the oldest ``Flush``
  kept), and the number of audio bytes delivered since that ``Flushed``.
* On a new connection the kept messages are sent again, in order. The server synthesises the
  same text into the same audio, so the first bytes of it, those the application already has,
  are cut off: audio continues exactly where the drop cut it.
* ``Flushed`` / ``Cleared`` keep their numbering across connections (the new connection counts
  from 0 again); the new connection's ``Metadata`` is suppressed.
* ``Clear``: what was kept is cleared too; ``Flush`` messages still unanswered and the ``Clear``
  itself are sent again (the server acknowledges them: the application gets its ``Flushed`` and
  ``Cleared``), and audio between the ``Clear`` and its ``Cleared`` (audio being cleared) is not
  counted.
* The graceful close's own ``Flush`` is not kept: the new connection gets the close again.
"""

from __future__ import annotations

from typing import Any

from msgspec.structs import replace

from ..messages import speak_v1 as m
from ._config import Reconnect
from ._policy import Policy

__all__ = ["SpeakV1Policy"]

_CLOSE_FLUSH = object()  # the graceful close's Flush: answered by a Flushed, never re-sent


class SpeakV1Policy(Policy):
    def __init__(self, config: Reconnect) -> None:
        super().__init__(config)
        self.kept: list[Any] = []
        self.delivered = 0  # audio bytes delivered since the last Flushed / Cleared
        self.skip = 0  # audio bytes of the new connection the application already has
        self.clearing = 0  # Clear messages not yet answered
        self.resumed = False
        self._flushed = 0  # Flushed delivered so far (the next one's sequence_id)
        self._cleared = 0
        self._flushed_base = 0
        self._cleared_base = 0

    opening_types = frozenset({"Metadata"})

    def undelivered(self) -> str:
        chars = sum(len(k.text) for k in self.kept if type(k) is m.Speak)
        return f"the audio (or its Flushed) of {chars} characters of text sent"

    def on_send(self, item: Any, connected: bool) -> Any:
        cls = type(item)
        if cls is m.Speak or cls is m.Flush:
            self.kept.append(item)
        elif cls is m.Clear:
            flushes = [m.Flush() for k in self.kept if type(k) is m.Flush or k is _CLOSE_FLUSH]
            self.kept = [*flushes, item]
            self.clearing += 1
            self.delivered = 0
        return item

    def on_close(self) -> None:
        self.kept.append(_CLOSE_FLUSH)

    def begin(self, first: bool) -> list[Any]:
        if first:
            return []
        self.resumed = True
        self.skip = self.delivered  # the application's count: it stays as it is
        self._flushed_base = self._flushed
        self._cleared_base = self._cleared
        items = [k for k in self.kept if k is not _CLOSE_FLUSH]
        self.replayed_messages += len(items)
        return items

    def _answered(self, until: Any) -> None:
        """Forget what the server has answered: up to the first ``until`` kept."""
        kept = self.kept
        for i, item in enumerate(kept):
            if type(item) is until or (until is m.Flush and item is _CLOSE_FLUSH):
                del kept[: i + 1]
                return
        if until is m.Flush:
            kept.clear()

    def on_message(self, message: Any) -> Any:
        cls = type(message)
        if cls is bytes:
            skip = self.skip
            if skip:
                if len(message) <= skip:
                    self.skip = skip - len(message)
                    self.suppressed += 1
                    return None
                message = message[skip:]
                self.skip = 0
            if not self.clearing:
                self.delivered += len(message)
            return message
        if cls is m.Flushed:
            self._answered(m.Flush)
            if not self.clearing:
                self.delivered = 0
            self._flushed += 1
            if self.resumed:
                return replace(message, sequence_id=message.sequence_id + self._flushed_base)
            return message
        if cls is m.Cleared:
            self._answered(m.Clear)
            self.clearing = max(0, self.clearing - 1)
            self.delivered = 0
            self._cleared += 1
            if self.resumed:
                return replace(message, sequence_id=message.sequence_id + self._cleared_base)
            return message
        if cls is m.Metadata and self.resumed:
            self.suppressed += 1
            return None
        return message
