"""The seed SDK's names, so code written for Deepgram's Python SDK ports by changing imports.

``from deepgram.core.events import EventType`` and ``from deepgram.extensions.types.sockets
import ListenV1MediaMessage, ...`` become ``from rxdeepgram.compat import ...``. The media and
control wrappers are accepted by ``send_media`` / ``send_control`` and by ``conn.input``; they
turn into rxdeepgram's own messages (plain ``bytes`` for audio, one struct per control type)
before anything is sent. Response unions are the channel modules' ``ServerMessage`` types.

The agent's seed names (``AgentV1SettingsMessage``...) are in :mod:`rxdeepgram.compat` too,
as aliases of :mod:`rxdeepgram.messages.agent_v1` classes.
"""

from __future__ import annotations

from typing import Literal, TypeAlias

import msgspec

from ._connection import EventType
from .errors import InvalidInputError
from .messages import MessageBase, Unknown, listen_v1, listen_v2, speak_v1

__all__ = [
    "EventType",
    "ListenV1ControlMessage",
    "ListenV1MediaMessage",
    "ListenV1SocketClientResponse",
    "ListenV2ControlMessage",
    "ListenV2MediaMessage",
    "ListenV2SocketClientResponse",
    "SpeakV1ControlMessage",
    "SpeakV1SocketClientResponse",
    "SpeakV1TextMessage",
]


class _Media(msgspec.Struct, frozen=True):
    """Seed-style audio wrapper: ``XMediaMessage(data=audio_bytes)``."""

    data: bytes

    def _rxdeepgram_native_(self) -> bytes:
        if not isinstance(self.data, (bytes, bytearray, memoryview)):
            raise InvalidInputError(
                f"{type(self).__name__}.data must be bytes, got {type(self.data).__name__}"
            )
        return bytes(self.data)


def _no_required_fields(cls: type[MessageBase]) -> bool:
    return all(f.required is False for f in msgspec.structs.fields(cls))


class _Control(msgspec.Struct, frozen=True):
    """Seed-style control wrapper: ``XControlMessage(type="KeepAlive")``."""

    type: str

    _module = listen_v1

    def _rxdeepgram_native_(self) -> MessageBase:
        controls = [c for c in self._module.CLIENT_MESSAGES if _no_required_fields(c)]
        for cls in controls:
            if cls.__name__ == self.type:
                return cls()
        allowed = ", ".join(c.__name__ for c in controls)
        raise InvalidInputError(
            f"{type(self).__name__}(type={self.type!r}) is not a control message of this "
            f"channel; allowed types: {allowed}"
        )


class ListenV1MediaMessage(_Media, frozen=True):
    """Audio for Listen V1 (becomes ``bytes``)."""


class ListenV1ControlMessage(_Control, frozen=True):
    """``type``: ``"KeepAlive"``, ``"Finalize"`` or ``"CloseStream"``."""

    type: Literal["KeepAlive", "Finalize", "CloseStream"]


class ListenV2MediaMessage(_Media, frozen=True):
    """Audio for Listen V2 (becomes ``bytes``)."""


class ListenV2ControlMessage(_Control, frozen=True):
    """``type``: ``"CloseStream"`` (or the post-spec ``"ForceEndTurn"``)."""

    type: Literal["CloseStream", "ForceEndTurn"]
    _module = listen_v2


class SpeakV1TextMessage(msgspec.Struct, frozen=True):
    """Text to synthesise (becomes ``Speak(text=...)``)."""

    text: str

    def _rxdeepgram_native_(self) -> speak_v1.Speak:
        return speak_v1.Speak(text=self.text)


class SpeakV1ControlMessage(_Control, frozen=True):
    """``type``: ``"Flush"``, ``"Clear"`` or ``"Close"``."""

    type: Literal["Flush", "Clear", "Close"]
    _module = speak_v1


ListenV1SocketClientResponse: TypeAlias = listen_v1.ServerMessage | Unknown
ListenV2SocketClientResponse: TypeAlias = listen_v2.ServerMessage | Unknown
SpeakV1SocketClientResponse: TypeAlias = speak_v1.ServerMessage | Unknown | bytes
