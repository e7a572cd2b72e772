# mypy: disable-error-code="misc"
"""The values the operators emit that are not wire messages: :class:`Utterance` and :class:`Turn`.

They live here, apart from the operators that build them, so that the index
(``rxdeepgram.operators``) can export them without importing any operator's implementation.
Both are frozen msgspec structs, like the messages, so they compare by value, print well and
encode with :func:`msgspec.json.encode` (e.g. to log a conversation as JSON lines).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, TypeAlias

import msgspec

from ..messages import listen_v1, listen_v2

__all__ = ["FunctionHandler", "Turn", "TurnState", "Utterance", "UtteranceEndReason"]


UtteranceEndReason: TypeAlias = Literal["speech_final", "finalize", "utterance_end", "stream_end"]
"""What closed an :class:`Utterance`.

``"speech_final"``: a final ``Results`` with ``speech_final: true`` (the endpointer heard a
pause); ``"finalize"``: a final ``Results`` with ``from_finalize: true`` (the client sent
``Finalize``); ``"utterance_end"``: an ``UtteranceEnd`` message (the fallback when noise keeps
``speech_final`` from coming); ``"stream_end"``: the message stream completed with final text
still buffered.
"""


class Utterance(msgspec.Struct, frozen=True, kw_only=True):
    """One speaker's utterance on one channel of a Listen V1 stream, built by ``utterances()``.

    ``text`` joins the transcripts of the final results that make it up with single spaces;
    ``words`` are their words in order. ``start`` / ``end`` (seconds from the start of the
    stream) run from the first word's start to the last word's end; when the results carry no
    words they are the results' own span. ``channel`` is the audio channel
    (``Results.channel_index[0]``), ``ended_by`` what closed it.
    """

    text: str
    words: list[listen_v1.Word]
    start: float
    end: float
    channel: int = 0
    ended_by: UtteranceEndReason = "speech_final"


TurnState: TypeAlias = Literal["started", "updated", "eager", "resumed", "ended"]
"""What a :class:`Turn` reports, one value per Flux ``TurnInfo`` event.

``"started"`` (``StartOfTurn``: the user began speaking; stop playback), ``"updated"``
(``Update``: more of the turn transcribed; only with ``turns(updates=True)``), ``"eager"``
(``EagerEndOfTurn``: the user is probably done; a reply may be prepared speculatively),
``"resumed"`` (``TurnResumed``: the user went on; drop the speculative reply), ``"ended"``
(``EndOfTurn``: the turn is over; its transcript is final).
"""


class Turn(msgspec.Struct, frozen=True, kw_only=True):
    """A Flux (Listen V2) turn as of one ``TurnInfo`` event, built by ``turns()``.

    ``index`` is the turn's ``turn_index``; ``transcript`` / ``words`` are everything said in
    the turn so far; ``confidence`` is ``end_of_turn_confidence``; ``start`` / ``end`` are the
    audio window (seconds). ``trigger`` is set on ``"ended"`` turns: the server's ``"model"``,
    ``"manual"`` or ``"timeout"``, or ``"stream_end"`` when rxdeepgram closed a turn the server
    left open because the stream ended (after ``CloseStream`` Flux sends no ``EndOfTurn``, and
    the last ``Update`` is the final transcript). ``languages`` comes with
    ``flux-general-multi``.
    """

    index: int
    state: TurnState
    transcript: str
    words: list[listen_v2.Word]
    confidence: float
    start: float
    end: float
    trigger: str | None = None
    languages: list[str] | None = None

    @property
    def final(self) -> bool:
        """True when the turn is over (``state == "ended"``): its transcript will not change."""
        return self.state == "ended"


FunctionHandler: TypeAlias = Callable[[str, dict[str, Any]], object]
"""A client-side function for ``function_calls()``: ``handler(name, arguments) -> result``.

It may return the result, an awaitable of it (an ``async def`` handler), or an Observable whose
last item is the result. A ``str`` result is sent as is, anything else as JSON.
"""
