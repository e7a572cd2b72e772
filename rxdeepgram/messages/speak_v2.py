# mypy: disable-error-code="misc"
"""Speak V2 (``/v2/speak``, Flux turn-based streaming text-to-speech) messages.

Server -> client: synthesised audio as binary frames (``bytes``, handed on as received) and the
JSON ``Connected``, ``SpeechStarted``, ``SpeechMetadata``, ``Flushed``, ``SessionMetadata``,
``Warning`` and the fatal ``Error`` of the spec, plus what Deepgram's SDK 7.x already models
beyond it: ``SpeechInterrupted`` (the answer to ``Interrupt``) and ``ConfigureSuccess`` /
``ConfigureFailure`` (the answers to ``Configure``). Client -> server: JSON only, ``Speak``,
``Flush``, ``Close`` (the spec) and ``Interrupt``, ``Configure`` (SDK 7.x); a binary frame from
the client is an error.

The model: a *turn* is one agent reply. The first ``Speak`` while no turn is active starts one
(``SpeechStarted``); ``Flush`` ends it (``Flushed``, the rest of its audio, ``SpeechMetadata``);
``Interrupt`` cancels it (``SpeechInterrupted``, which carries the turn's metadata). Every audio
frame of a turn arrives between its ``SpeechStarted`` and its ``SpeechMetadata`` /
``SpeechInterrupted``. ``Close`` drains, then ``SessionMetadata`` and the socket closes.

Several tags repeat those of other channels (``SpeechStarted`` is also a Listen V1 message,
``Speak`` / ``Flush`` / ``Close`` / ``Flushed`` / ``Warning`` are also Speak V1 ones): they are
separate classes with the shapes of this channel, in this module's own unions.

:func:`decode` is lenient about missing fields (see :mod:`rxdeepgram.messages`): a
``SpeechMetadata`` without ``controls_applied`` reads as all-zero controls, a ``Flushed`` without
``speech_id`` as ``speech_id == ""``. ``controls_applied.breaks_applied`` is in the SDK, not in
the spec (it is always 0 on the WebSocket).
"""

from __future__ import annotations

from typing import TypeAlias

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
    "AppliedConfig",
    "CLIENT_MESSAGES",
    "ClientMessage",
    "Close",
    "Configure",
    "ConfigureFailure",
    "ConfigureSuccess",
    "Connected",
    "ControlsApplied",
    "Error",
    "Flush",
    "Flushed",
    "Interrupt",
    "PlaybackOffset",
    "SERVER_MESSAGES",
    "ServerMessage",
    "SessionMetadata",
    "Speak",
    "SpeechInterrupted",
    "SpeechMetadata",
    "SpeechStarted",
    "TurnMetadata",
    "Warning",
    "decode",
    "decode_client",
]


# --- nested objects ------------------------------------------------------------------------


class ControlsApplied(ServerStruct):
    """Inline controls the server acted on during a turn (all 0 while they are Early Access).

    ``breaks_applied`` (pause controls) is in Deepgram's SDK, not in the spec.
    """

    pronunciations_applied: int = msgspec.field(default_factory=int)
    pronunciation_warnings: int = msgspec.field(default_factory=int)
    breaks_applied: int = msgspec.field(default_factory=int)


class TurnMetadata(ServerStruct):
    """``SpeechInterrupted.metadata``: billing and timing of the interrupted turn (the fields of
    ``SpeechMetadata``)."""

    speech_id: str = msgspec.field(default_factory=str)
    audio_duration_ms: int = msgspec.field(default_factory=int)
    input_character_count: int = msgspec.field(default_factory=int)
    billable_character_count: int = msgspec.field(default_factory=int)
    controls_applied: ControlsApplied = msgspec.field(default_factory=ControlsApplied)


class AppliedConfig(ServerStruct):
    """``ConfigureSuccess.applied``: the synthesis settings now in force. A field is present
    only when it has been set on this session (by the query or a ``Configure``)."""

    speed: float | None = None


class PlaybackOffset(ClientStruct, frozen=True, kw_only=True, tag_field="type", tag="time_ms"):
    """``Interrupt.playback_offset``: how much of the *session's* audio the client had played
    when the user barged in, in milliseconds (``{"type": "time_ms", "value": ...}``).

    The offset counts from the start of the session, not of the turn, and each ``Interrupt``
    must go past the position the previous one established.
    """

    value: int

    @property
    def type(self) -> str:
        """The offset's unit, ``"time_ms"`` (the only one)."""
        return "time_ms"


# --- server -> client ----------------------------------------------------------------------


class Connected(ServerMessageBase):
    """Sent once, right after the handshake (the successor of Speak V1's ``Metadata``)."""

    request_id: str = msgspec.field(default_factory=str)
    model_name: str = msgspec.field(default_factory=str)
    model_version: str = msgspec.field(default_factory=str)
    model_uuids: list[str] = msgspec.field(default_factory=no_items)


class SpeechStarted(ServerMessageBase):
    """A turn starts: its audio follows. ``speech_id`` (``dg_sp_<12 hex digits>``) names it."""

    speech_id: str = msgspec.field(default_factory=str)


class SpeechMetadata(ServerMessageBase):
    """A flushed turn is complete: all of its audio has been sent. Billing and timing."""

    speech_id: str = msgspec.field(default_factory=str)
    audio_duration_ms: int = msgspec.field(default_factory=int)
    input_character_count: int = msgspec.field(default_factory=int)
    billable_character_count: int = msgspec.field(default_factory=int)
    controls_applied: ControlsApplied = msgspec.field(default_factory=ControlsApplied)


class SpeechInterrupted(ServerMessageBase):
    """SDK 7.x: the answer to ``Interrupt``; the active turn was cancelled (no
    ``SpeechMetadata`` follows for it).

    ``audio_played_ms`` echoes the ``Interrupt``'s playback offset, or is the server's own total
    of audio generated when it had none. ``text_spoken`` / ``text_remaining`` split the turn's
    text at what the user heard; both are absent when the ``Interrupt`` had no offset.
    """

    audio_played_ms: int = msgspec.field(default_factory=int)
    text_spoken: str | None = None
    text_remaining: str | None = None
    metadata: TurnMetadata = msgspec.field(default_factory=TurnMetadata)


class Flushed(ServerMessageBase):
    """A ``Flush`` took effect: the turn's text has all gone to synthesis. The rest of the
    turn's audio and its ``SpeechMetadata`` follow."""

    speech_id: str = msgspec.field(default_factory=str)


class SessionMetadata(ServerMessageBase):
    """The last message before the socket closes: totals over the session.

    An ``Interrupt`` with a playback offset rebases ``total_audio_duration_ms`` onto the audio
    the client actually played.
    """

    total_audio_duration_ms: int = msgspec.field(default_factory=int)
    total_input_character_count: int = msgspec.field(default_factory=int)
    total_billable_character_count: int = msgspec.field(default_factory=int)


class ConfigureSuccess(ServerMessageBase):
    """SDK 7.x: a ``Configure`` was applied (from the next segment of text on)."""

    applied: AppliedConfig = msgspec.field(default_factory=AppliedConfig)


class ConfigureFailure(ServerMessageBase):
    """SDK 7.x: a ``Configure`` was refused; the previous settings stay in force.

    ``code``: ``SPEED_OUT_OF_RANGE``, ``SPEED_INCREMENT_INVALID``, ``SPEED_NOT_SUPPORTED``,
    ``CONTROL_COMBINATION_INVALID``, ``INTERNAL_ERROR``. ``field`` / ``value`` name the setting
    and the refused value when there is one.
    """

    code: str = msgspec.field(default_factory=str)
    description: str = msgspec.field(default_factory=str)
    field: str | None = None
    value: float | None = None


class Warning(ServerMessageBase):
    """A non-fatal condition; the session goes on. Codes include ``NO_ACTIVE_SPEECH`` (a
    ``Flush`` / ``Interrupt`` with no active turn), ``NO_SYNTHESIZABLE_TEXT``,
    ``SYNTHESIS_RETRYING``, ``NO_AUDIO_GENERATED``, ``INTERRUPT_IN_PROGRESS`` and
    ``INVALID_INTERRUPT_OFFSET`` (each meaning the ``Interrupt`` was ignored)."""

    code: str = msgspec.field(default_factory=str)
    description: str = msgspec.field(default_factory=str)


class Error(ServerMessageBase):
    """A fatal error (``MESSAGE-0000``, ``DATA-0000``, ``DATA-0002``, ``BIG-0000``,
    ``NET-0000`` ... ``NET-0004``); the server closes the socket next."""

    code: str = msgspec.field(default_factory=str)
    description: str = msgspec.field(default_factory=str)


# --- client -> server ----------------------------------------------------------------------


class Speak(ClientMessageBase):
    """Append ``text`` to the active turn (or start one). The server adds no whitespace
    between ``Speak`` messages: separate distinct replies with a space yourself."""

    text: str


class Flush(ClientMessageBase):
    """End the active turn: answered by ``Flushed``, the rest of its audio, ``SpeechMetadata``
    (or a ``NO_ACTIVE_SPEECH`` ``Warning`` when no turn is active)."""


class Interrupt(ClientMessageBase):
    """SDK 7.x: barge-in. Cancel the active turn; answered by ``SpeechInterrupted``.

    Give ``playback_offset`` (session audio played so far, see :class:`PlaybackOffset`, or
    ``Interrupt.at(ms)``) so the server can tell what the user heard.
    """

    playback_offset: PlaybackOffset | None = None

    @classmethod
    def at(cls, played_ms: int) -> Interrupt:
        """``Interrupt`` with a playback offset of ``played_ms`` milliseconds of session
        audio."""
        return cls(playback_offset=PlaybackOffset(value=played_ms))


class Configure(ClientMessageBase):
    """SDK 7.x: change settings mid-session; answered by ``ConfigureSuccess`` or
    ``ConfigureFailure``. ``speed``: 0.5 to 1.5 in steps of 0.05."""

    speed: float | None = None


class Close(ClientMessageBase):
    """Graceful close: the server drains the queued audio, sends ``SessionMetadata`` and
    closes with 1000."""


ServerMessage: TypeAlias = (
    Connected
    | SpeechStarted
    | SpeechMetadata
    | SpeechInterrupted
    | Flushed
    | SessionMetadata
    | ConfigureSuccess
    | ConfigureFailure
    | Warning
    | Error
)
"""Every JSON message the server sends on Speak V2 (audio arrives as ``bytes``)."""

ClientMessage: TypeAlias = Speak | Flush | Interrupt | Configure | Close
"""Every JSON message a client sends on Speak V2."""

_codec = Codec[ServerMessage, ClientMessage](ServerMessage, ClientMessage, __name__)
SERVER_MESSAGES, CLIENT_MESSAGES = _codec.server_messages, _codec.client_messages
decode = _codec.decode
decode_client = _codec.decode_client
