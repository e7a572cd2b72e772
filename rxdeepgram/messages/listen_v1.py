# mypy: disable-error-code="misc"
"""Listen V1 (``/v1/listen``, Nova streaming speech-to-text) messages.

Server -> client: ``Results``, ``Metadata``, ``UtteranceEnd``, ``SpeechStarted`` (JSON only), plus
the post-spec ``ConfigureSuccess`` / ``ConfigureFailure`` and ``Error``. Client -> server: audio as
``bytes`` and ``Finalize``, ``CloseStream``, ``KeepAlive`` (and the post-spec ``Configure``).

Post-spec items follow Deepgram's documentation and its SDK 7.x: ``Configure`` (``keyterms``,
``features``), ``ConfigureFailure.code`` (``CONFIGURE_KEYTERMS_NOT_SUPPORTED``,
``CONFIGURE_KEYTERM_LIMIT_EXCEEDED``, ``CONFIGURE_ALREADY_PENDING``, ``CONFIGURE_INTERNAL_ERROR``)
and the ``Error`` message (``variant`` ``SchemaError`` when a client text message did not parse).

:func:`decode` is lenient about missing fields (see :mod:`rxdeepgram.messages`): a ``Results``
without ``channel`` reads as one empty alternative (``m.channel.alternatives[0].transcript`` is
``""``, as for silence), without ``metadata`` as a ``ResultsMetadata`` of empty strings, and a
missing time (``start``, ``duration``, a word's ``start`` / ``end``) as ``0.0``.
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

from ._base import (
    ClientMessageBase,
    Codec,
    ServerMessageBase,
    ServerStruct,
    no_items,
)
from ._base import (
    Unknown as Unknown,  # re-exported: `<channel>.Unknown` is what decode returns for others
)

__all__ = [
    "Alternative",
    "CLIENT_MESSAGES",
    "Channel",
    "ClientMessage",
    "CloseStream",
    "Configure",
    "ConfigureFailure",
    "ConfigureSuccess",
    "DiarizeInfo",
    "Entity",
    "Error",
    "Finalize",
    "KeepAlive",
    "Metadata",
    "ModelInfo",
    "Results",
    "ResultsMetadata",
    "SERVER_MESSAGES",
    "ServerMessage",
    "SpeechStarted",
    "UtteranceEnd",
    "Word",
    "decode",
    "decode_client",
]


# --- nested objects of Results -------------------------------------------------------------


class Word(ServerStruct):
    """One recognised word. ``word`` is normalised; ``punctuated_word`` comes with punctuation."""

    word: str = msgspec.field(default_factory=str)
    start: float = msgspec.field(default_factory=float)
    end: float = msgspec.field(default_factory=float)
    confidence: float = msgspec.field(default_factory=float)
    language: str | None = None
    punctuated_word: str | None = None
    speaker: int | None = None
    speaker_confidence: float | None = None


class Alternative(ServerStruct):
    """A transcription hypothesis for a channel.

    With ``language=multi``: ``languages`` detected (by word count) and ``languages_hinted``, the
    connection's ``language_hint`` values in canonical form (``[]`` when none was sent).
    """

    transcript: str = msgspec.field(default_factory=str)
    confidence: float = msgspec.field(default_factory=float)
    words: list[Word] = msgspec.field(default_factory=no_items)
    languages: list[str] | None = None
    languages_hinted: list[str] | None = None


def _silence() -> list[Alternative]:
    return [Alternative()]


class Channel(ServerStruct):
    """``Results.channel``: the alternatives for this slice of audio (and ``search`` hits).

    Absent ``alternatives`` (or an absent ``Results.channel``) read as one empty alternative,
    which is what the service sends for silence: ``m.channel.alternatives[0].transcript`` is then
    ``""`` rather than an ``IndexError``. An ``alternatives: []`` that was sent stays empty.
    """

    alternatives: list[Alternative] = msgspec.field(default_factory=_silence)
    search: list[dict[str, object]] | None = None


class ModelInfo(ServerStruct):
    """Name, version and architecture of a model."""

    name: str = msgspec.field(default_factory=str)
    version: str = msgspec.field(default_factory=str)
    arch: str = msgspec.field(default_factory=str)


class DiarizeInfo(ServerStruct):
    """``Results.metadata.diarize_info``: seen from the live service with ``diarize=true``."""

    model_uuid: str | None = None
    arch: str | None = None


class ResultsMetadata(ServerStruct):
    """``Results.metadata``."""

    request_id: str = msgspec.field(default_factory=str)
    model_info: ModelInfo = msgspec.field(default_factory=ModelInfo)
    model_uuid: str = msgspec.field(default_factory=str)
    extra: dict[str, str] | None = None
    diarize_info: DiarizeInfo | None = None


class Entity(ServerStruct):
    """An entity found with ``detect_entities=true``; ``end_word`` is exclusive."""

    label: str = msgspec.field(default_factory=str)
    value: str = msgspec.field(default_factory=str)
    raw_value: str = msgspec.field(default_factory=str)
    confidence: float = msgspec.field(default_factory=float)
    start_word: int = msgspec.field(default_factory=int)
    end_word: int = msgspec.field(default_factory=int)


# --- server -> client ----------------------------------------------------------------------


class Results(ServerMessageBase):
    """A transcript for a slice of audio (interim when ``is_final`` is false)."""

    channel_index: list[int] = msgspec.field(default_factory=no_items)
    duration: float = msgspec.field(default_factory=float)
    start: float = msgspec.field(default_factory=float)
    channel: Channel = msgspec.field(default_factory=Channel)
    metadata: ResultsMetadata = msgspec.field(default_factory=ResultsMetadata)
    is_final: bool | None = None
    speech_final: bool | None = None
    from_finalize: bool | None = None
    entities: list[Entity] | None = None


class Metadata(ServerMessageBase):
    """Stream summary, sent once after ``CloseStream``.

    ``models`` and ``model_info`` (uuid -> ModelInfo) are sent by the live service although the
    spec does not list them.
    """

    request_id: str = msgspec.field(default_factory=str)
    sha256: str = msgspec.field(default_factory=str)
    created: str = msgspec.field(default_factory=str)
    duration: float = msgspec.field(default_factory=float)
    channels: int = msgspec.field(default_factory=int)
    transaction_key: str | None = None
    models: list[str] | None = None
    model_info: dict[str, ModelInfo] | None = None
    extra: dict[str, str] | None = None


class UtteranceEnd(ServerMessageBase):
    """A gap of at least ``utterance_end_ms`` followed the word ending at ``last_word_end``."""

    channel: list[int] = msgspec.field(default_factory=no_items)
    last_word_end: float = msgspec.field(default_factory=float)


class SpeechStarted(ServerMessageBase):
    """Voice activity started (with ``vad_events=true``)."""

    channel: list[int] = msgspec.field(default_factory=no_items)
    timestamp: float = msgspec.field(default_factory=float)


class ConfigureSuccess(ServerMessageBase):
    """Post-spec: a ``Configure`` was applied (``keyterms`` now in force)."""

    request_id: str | None = None
    keyterms: list[str] | None = None
    sequence_id: int | None = None


class ConfigureFailure(ServerMessageBase):
    """Post-spec: a ``Configure`` was refused; the previous settings stay in force."""

    request_id: str | None = None
    sequence_id: int | None = None
    code: str | None = None
    description: str | None = None


class Error(ServerMessageBase):
    """Post-spec: the server could not handle something the client sent.

    ``variant`` is the error category (``"SchemaError"``: a client text message did not parse,
    echoed in ``message``); ``code`` only appears on legacy error frames.
    """

    description: str = msgspec.field(default_factory=str)
    variant: str | None = None
    code: str | None = None
    message: str | None = None


# --- client -> server ----------------------------------------------------------------------


class Finalize(ClientMessageBase):
    """Process buffered audio now and return final results (``from_finalize: true``).

    ``channel`` (documented, post-spec) finalises only that channel.
    """

    channel: int | None = None


class CloseStream(ClientMessageBase):
    """Graceful end of stream: remaining results, ``Metadata``, then close 1000."""


class KeepAlive(ClientMessageBase):
    """Keeps an idle connection open; no reply."""


class Configure(ClientMessageBase):
    """Post-spec: change settings mid-stream; answered by ConfigureSuccess/Failure.

    ``keyterms`` replaces the whole keyterm list (``[]`` clears it; Nova-3 only); ``features``
    turns formatting features on or off, e.g. ``{"numerals": True}``.
    """

    keyterms: list[str] | None = None
    features: dict[str, bool] | None = None


ServerMessage: TypeAlias = (
    Results | Metadata | UtteranceEnd | SpeechStarted | ConfigureSuccess | ConfigureFailure | Error
)
"""Every JSON message the server sends on Listen V1."""

ClientMessage: TypeAlias = Finalize | CloseStream | KeepAlive | Configure
"""Every JSON message a client sends on Listen V1."""

_codec = Codec[ServerMessage, ClientMessage](ServerMessage, ClientMessage, __name__)
SERVER_MESSAGES, CLIENT_MESSAGES = _codec.server_messages, _codec.client_messages
decode = _codec.decode
decode_client = _codec.decode_client
