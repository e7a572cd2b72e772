# mypy: disable-error-code="misc"
"""Speak V1 (``/v1/speak``, Aura streaming text-to-speech) messages.

Server -> client: synthesised audio as binary frames (``bytes``, handed on as received) and the
JSON ``Metadata``, ``Flushed``, ``Cleared``, ``Warning``. Client -> server: JSON only, ``Speak``
(the spec's ``SpeakV1Text``), ``Flush``, ``Clear`` and ``Close``; a binary frame from the client
is a protocol error (close 1003 ``MESSAGE-0000``).

The spec gives ``Flushed`` and ``Cleared`` one shared ``type`` enum (likewise ``Flush`` /
``Clear`` / ``Close``); each is its own struct here, with a single tag, so a ``Cleared`` never
decodes as a ``Flushed``.

:func:`decode` is lenient about missing fields (see :mod:`rxdeepgram.messages`): a ``Flushed``
without ``sequence_id`` reads as ``sequence_id == 0``, a ``Warning`` without ``code`` as ``""``.
"""

from __future__ import annotations

from typing import TypeAlias

import msgspec

from ._base import (
    ClientMessageBase,
    Codec,
    ServerMessageBase,
)
from ._base import (
    Unknown as Unknown,  # re-exported: `<channel>.Unknown` is what decode returns for others
)

__all__ = [
    "CLIENT_MESSAGES",
    "Clear",
    "Cleared",
    "ClientMessage",
    "Close",
    "Flush",
    "Flushed",
    "Metadata",
    "SERVER_MESSAGES",
    "ServerMessage",
    "Speak",
    "Warning",
    "decode",
    "decode_client",
]


# --- server -> client ----------------------------------------------------------------------


class Metadata(ServerMessageBase):
    """Sent once, right after the handshake and before any audio: the voice serving the request.

    ``additional_model_uuids`` lists other models used to serve the request, when there are any.
    """

    request_id: str = msgspec.field(default_factory=str)
    model_name: str = msgspec.field(default_factory=str)
    model_version: str = msgspec.field(default_factory=str)
    model_uuid: str = msgspec.field(default_factory=str)
    additional_model_uuids: list[str] | None = None


class Flushed(ServerMessageBase):
    """Acknowledges a ``Flush``; it follows the last audio frame of the flushed text."""

    sequence_id: int = msgspec.field(default_factory=int)


class Cleared(ServerMessageBase):
    """Acknowledges a ``Clear``: buffered text and unsent audio were dropped."""

    sequence_id: int = msgspec.field(default_factory=int)


class Warning(ServerMessageBase):
    """A non-fatal problem (e.g. too many ``Flush`` messages); synthesis continues."""

    description: str = msgspec.field(default_factory=str)
    code: str = msgspec.field(default_factory=str)


# --- client -> server ----------------------------------------------------------------------


class Speak(ClientMessageBase):
    """Append ``text`` to the server's text buffer (at most 2,000 characters per message)."""

    text: str


class Flush(ClientMessageBase):
    """Synthesise everything buffered now; answered by audio, then ``Flushed``."""


class Clear(ClientMessageBase):
    """Drop buffered text and unsent audio (barge-in); answered by ``Cleared``."""


class Close(ClientMessageBase):
    """Finish the buffered text, send its audio, then close with 1000."""


ServerMessage: TypeAlias = Metadata | Flushed | Cleared | Warning
"""Every JSON message the server sends on Speak V1 (audio arrives as ``bytes``)."""

ClientMessage: TypeAlias = Speak | Flush | Clear | Close
"""Every JSON message a client sends on Speak V1."""

_codec = Codec[ServerMessage, ClientMessage](ServerMessage, ClientMessage, __name__)
SERVER_MESSAGES, CLIENT_MESSAGES = _codec.server_messages, _codec.client_messages
decode = _codec.decode
decode_client = _codec.decode_client
