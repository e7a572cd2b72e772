# mypy: disable-error-code="misc"
"""Listen V2 (``/v2/listen``, Flux conversational speech-to-text) messages.

Server -> client: ``Connected``, ``TurnInfo``, ``ConfigureSuccess``, ``ConfigureFailure`` and the
fatal ``Error`` (JSON only), plus the post-spec ``Warning``. Client -> server: audio as ``bytes``
and ``CloseStream``, ``Configure`` (and the post-spec ``ForceEndTurn``).

Every server message carries ``sequence_id``: 0 for ``Connected``, then one more for each message
the server sends, whatever its type.

Post-spec additions, documented by Deepgram or sent by its SDK 7.x after the spec snapshot:
``ForceEndTurn`` (ends the current turn; answered by an ``EndOfTurn`` with ``trigger: "manual"``),
``TurnInfo.trigger``, ``numerals`` in ``Configure`` / ``ConfigureSuccess``, ``code`` /
``description`` on ``ConfigureFailure``, the non-fatal ``Warning`` (e.g.
``FORCE_END_TURN_NO_ACTIVE_TURN``), and ``eot_threshold`` up to ``1.0`` (which disables
confidence-based end of turn). ``ConfigureSuccess.profanity_filter`` has been seen from the live
service.

:func:`decode` is lenient about missing fields (see :mod:`rxdeepgram.messages`): the live
service has sent a ``ConfigureFailure`` without ``request_id``, which decodes with
``request_id == ""``; a missing ``sequence_id`` reads as ``0``, missing ``words`` as ``[]``.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import msgspec

from ._base import (
    ClientMessageBase,
    ClientStruct,
    Codec,
    ServerMessageBase,
    ServerStruct,
    no_items,
)
from ._base import (
    Unknown as Unknown,  # re-exported: `<channel>.Unknown` is what decode returns for others
)

__all__ = [
    "AppliedThresholds",
    "CLIENT_MESSAGES",
    "ClientMessage",
    "CloseStream",
    "Configure",
    "ConfigureFailure",
    "ConfigureSuccess",
    "Connected",
    "Error",
    "ForceEndTurn",
    "SERVER_MESSAGES",
    "ServerMessage",
    "Thresholds",
    "TurnInfo",
    "Warning",
    "Word",
    "decode",
    "decode_client",
]


# --- nested objects ------------------------------------------------------------------------


class Word(ServerStruct):
    """One word of ``TurnInfo.transcript``, punctuated and properly cased.

    ``start`` / ``end`` (seconds) are optional: the server omits them on some words.
    """

    word: str = msgspec.field(default_factory=str)
    confidence: float = msgspec.field(default_factory=float)
    start: float | None = None
    end: float | None = None


class AppliedThresholds(ServerStruct):
    """``ConfigureSuccess.thresholds``: the end-of-turn settings now in force.

    The spec types each value as "any type": numbers as sent today (``0.7``, ``5000``), but a
    string (``"0.7"``) or ``null`` decodes too, as given, so that a ``ConfigureSuccess`` never
    becomes ``Unknown`` over a threshold's JSON type.
    """

    eager_eot_threshold: Any = None
    eot_threshold: Any = None
    eot_timeout_ms: Any = None


class Thresholds(ClientStruct):
    """``Configure.thresholds``: the end-of-turn settings to change; omitted ones stay as they are.

    ``eager_eot_threshold`` (0.3-0.9) enables ``EagerEndOfTurn`` / ``TurnResumed``;
    ``eot_threshold`` (0.5-1.0; 1.0 leaves only the timeout and ``ForceEndTurn`` to end a turn);
    ``eot_timeout_ms`` ends a turn that long after speech whatever the confidence.
    """

    eager_eot_threshold: float | None = None
    eot_threshold: float | None = None
    eot_timeout_ms: int | None = None


# --- server -> client ----------------------------------------------------------------------


class Connected(ServerMessageBase):
    """First message after the upgrade (``sequence_id`` 0)."""

    request_id: str = msgspec.field(default_factory=str)
    sequence_id: int = msgspec.field(default_factory=int)


class TurnInfo(ServerMessageBase):
    """The state of the current turn.

    ``event`` is one of ``"StartOfTurn"``, ``"Update"``, ``"EagerEndOfTurn"``, ``"TurnResumed"``,
    ``"EndOfTurn"`` (kept a plain ``str`` so that a new event still decodes). ``transcript`` is
    everything said in the turn so far. ``trigger`` (post-spec, only on ``EndOfTurn``) says what
    ended the turn: ``"model"``, ``"manual"`` (a ``ForceEndTurn``) or ``"timeout"``.
    ``languages`` / ``languages_hinted`` come with ``flux-general-multi``.
    """

    request_id: str = msgspec.field(default_factory=str)
    sequence_id: int = msgspec.field(default_factory=int)
    event: str = msgspec.field(default_factory=str)
    turn_index: int = msgspec.field(default_factory=int)
    audio_window_start: float = msgspec.field(default_factory=float)
    audio_window_end: float = msgspec.field(default_factory=float)
    transcript: str = msgspec.field(default_factory=str)
    words: list[Word] = msgspec.field(default_factory=no_items)
    end_of_turn_confidence: float = msgspec.field(default_factory=float)
    trigger: str | None = None
    languages: list[str] | None = None
    languages_hinted: list[str] | None = None


class ConfigureSuccess(ServerMessageBase):
    """A ``Configure`` was applied; echoes the settings now in force.

    ``keyterms`` is a list on the wire (the spec also allows a single string).
    """

    request_id: str = msgspec.field(default_factory=str)
    thresholds: AppliedThresholds = msgspec.field(default_factory=AppliedThresholds)
    keyterms: list[str] | str = msgspec.field(default_factory=no_items)
    sequence_id: int = msgspec.field(default_factory=int)
    language_hints: list[str] | None = None
    numerals: bool | None = None
    profanity_filter: bool | None = None


class ConfigureFailure(ServerMessageBase):
    """A ``Configure`` was refused; the previous settings stay in force.

    ``code`` and ``description`` are post-spec and may be absent.
    """

    request_id: str = msgspec.field(default_factory=str)
    sequence_id: int = msgspec.field(default_factory=int)
    code: str | None = None
    description: str | None = None


class Error(ServerMessageBase):
    """A fatal error (e.g. ``INTERNAL_SERVER_ERROR``); the server closes the connection next."""

    sequence_id: int = msgspec.field(default_factory=int)
    code: str = msgspec.field(default_factory=str)
    description: str = msgspec.field(default_factory=str)


class Warning(ServerMessageBase):
    """Post-spec: a non-fatal condition, e.g. ``FORCE_END_TURN_NO_ACTIVE_TURN``."""

    code: str = msgspec.field(default_factory=str)
    description: str = msgspec.field(default_factory=str)
    request_id: str | None = None
    sequence_id: int | None = None


# --- client -> server ----------------------------------------------------------------------


class CloseStream(ClientMessageBase):
    """Graceful end of stream: the server transcribes what it has (``Update``s), then closes.

    The active turn is not finalised: no ``EndOfTurn`` follows.
    """


class Configure(ClientMessageBase):
    """Change settings mid-stream; answered by ``ConfigureSuccess`` or ``ConfigureFailure``.

    ``keyterms`` replaces the whole keyterm list; ``language_hints`` only applies to
    ``flux-general-multi``; ``numerals`` is post-spec (Deepgram SDK 7.x). Omitted fields keep
    their current value.
    """

    thresholds: Thresholds | None = None
    keyterms: list[str] | str | None = None
    language_hints: list[str] | None = None
    numerals: bool | None = None


class ForceEndTurn(ClientMessageBase):
    """Post-spec: end the current turn now (answered by ``EndOfTurn`` with ``trigger: "manual"``,
    or a ``Warning`` when no turn is active)."""


ServerMessage: TypeAlias = (
    Connected | TurnInfo | ConfigureSuccess | ConfigureFailure | Error | Warning
)
"""Every JSON message the server sends on Listen V2."""

ClientMessage: TypeAlias = CloseStream | Configure | ForceEndTurn
"""Every JSON message a client sends on Listen V2."""

_codec = Codec[ServerMessage, ClientMessage](ServerMessage, ClientMessage, __name__)
SERVER_MESSAGES, CLIENT_MESSAGES = _codec.server_messages, _codec.client_messages
decode = _codec.decode
decode_client = _codec.decode_client
