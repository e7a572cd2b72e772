"""The seed SDK's names, so code written for Deepgram's Python SDK ports by changing imports.

``from deepgram.core.events import EventType`` and ``from deepgram.extensions.types.sockets
import ListenV1MediaMessage, ...`` become ``from rxdeepgram.compat import ...``. The media and
control wrappers are accepted by ``send_media`` / ``send_control`` and by ``conn.input``; they
turn into rxdeepgram's own messages (plain ``bytes`` for audio, one struct per control type)
before anything is sent. Response unions are the channel modules' ``ServerMessage`` types.

The agent's seed names work the same way. The messages it sends (``AgentV1SettingsMessage``,
``AgentV1UpdatePromptMessage``...) are wrappers that accept the seed's spelling (an optional
``type=`` included) and become the :mod:`rxdeepgram.messages.agent_v1` struct when sent (and
are validated then). The nested settings objects are the native classes under their seed names
(``AgentV1Agent`` is :class:`~rxdeepgram.messages.agent_v1.Agent`, ``AgentV1ListenProvider`` is
:class:`~rxdeepgram.messages.agent_v1.ListenProviderV1`, which always sends ``"version": "v1"``).
``AgentV1OpenAiThinkProvider`` and ``AgentV1DeepgramSpeakProvider`` are functions that take the
seed's ``type=`` keyword and return the native provider struct (whose ``type`` is its tag).
"""

from __future__ import annotations

import builtins
from typing import Any, ClassVar, Literal, TypeAlias

import msgspec

from ._connection import EventType
from .errors import InvalidInputError
from .messages import MessageBase, Unknown, agent_v1, listen_v1, listen_v2, speak_v1, speak_v2

__all__ = [
    "AgentV1Agent",
    "AgentV1AudioConfig",
    "AgentV1AudioInput",
    "AgentV1ControlMessage",
    "AgentV1DeepgramSpeakProvider",
    "AgentV1FunctionCallResponseMessage",
    "AgentV1InjectAgentMessageMessage",
    "AgentV1InjectUserMessageMessage",
    "AgentV1Listen",
    "AgentV1ListenProvider",
    "AgentV1MediaMessage",
    "AgentV1OpenAiThinkProvider",
    "AgentV1SettingsMessage",
    "AgentV1SocketClientResponse",
    "AgentV1SpeakProviderConfig",
    "AgentV1Think",
    "AgentV1UpdatePromptMessage",
    "AgentV1UpdateSpeakMessage",
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
    "SpeakV2Close",
    "SpeakV2Configure",
    "SpeakV2ConfigureFailure",
    "SpeakV2ConfigureSuccess",
    "SpeakV2Connected",
    "SpeakV2Error",
    "SpeakV2Flush",
    "SpeakV2Flushed",
    "SpeakV2Interrupt",
    "SpeakV2InterruptPlaybackOffset",
    "SpeakV2SessionMetadata",
    "SpeakV2SocketClientResponse",
    "SpeakV2Speak",
    "SpeakV2SpeechInterrupted",
    "SpeakV2SpeechMetadata",
    "SpeakV2SpeechStarted",
    "SpeakV2Warning",
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


# --- Agent V1 -------------------------------------------------------------------------------------

AgentV1Agent = agent_v1.Agent
AgentV1AudioConfig = agent_v1.Audio
AgentV1AudioInput = agent_v1.AudioInput
AgentV1Listen = agent_v1.ListenSettings
AgentV1ListenProvider = agent_v1.ListenProviderV1
AgentV1Think = agent_v1.ThinkSettings
AgentV1SpeakProviderConfig = agent_v1.SpeakSettings


def _check_type(cls_name: str, given: str, expected: str) -> None:
    if given != expected:
        raise InvalidInputError(f"{cls_name}(type={given!r}): the type must be {expected!r}")


def AgentV1OpenAiThinkProvider(  # the seed's class name
    *,
    type: Literal["open_ai"] = "open_ai",
    model: str,
    version: Literal["v1"] | None = None,
    temperature: float | None = None,
    reasoning_mode: agent_v1.ReasoningMode | None = None,
) -> agent_v1.OpenAiThinkProvider:
    """The OpenAI think provider, as the seed spelled it (``type="open_ai"``)."""
    _check_type("AgentV1OpenAiThinkProvider", type, "open_ai")
    return agent_v1.OpenAiThinkProvider(
        model=model, version=version, temperature=temperature, reasoning_mode=reasoning_mode
    )


def AgentV1DeepgramSpeakProvider(  # the seed's class name
    *,
    type: Literal["deepgram"] = "deepgram",
    model: str,
    version: Literal["v1", "v2"] | None = None,
    speed: float | None = None,
) -> agent_v1.DeepgramSpeakProvider:
    """The Deepgram (Aura) speak provider, as the seed spelled it (``type="deepgram"``)."""
    _check_type("AgentV1DeepgramSpeakProvider", type, "deepgram")
    return agent_v1.DeepgramSpeakProvider(model=model, version=version, speed=speed)


class _AgentMessage(msgspec.Struct, frozen=True, kw_only=True):
    """Seed-style agent message: the native message's fields plus an optional ``type``."""

    type: str
    _native: ClassVar[builtins.type[MessageBase]]

    def _fields(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in self._native.__struct_fields__}

    def _rxdeepgram_native_(self) -> MessageBase:
        _check_type(type(self).__name__, self.type, str(self._native.__struct_config__.tag))
        return self._native(**self._fields())


class AgentV1SettingsMessage(_AgentMessage, frozen=True, kw_only=True):
    """The agent's configuration (becomes ``Settings``); send it first."""

    type: Literal["Settings"] = "Settings"
    audio: agent_v1.Audio
    agent: agent_v1.Agent | str
    tags: list[str] | None = None
    experimental: bool | None = None
    flags: agent_v1.Flags | None = None
    mip_opt_out: bool | None = None
    _native = agent_v1.Settings


class AgentV1UpdateSpeakMessage(_AgentMessage, frozen=True, kw_only=True):
    """Change the voice (becomes ``UpdateSpeak``)."""

    type: Literal["UpdateSpeak"] = "UpdateSpeak"
    speak: agent_v1.SpeakSettings | list[agent_v1.SpeakSettings]
    _native = agent_v1.UpdateSpeak


class AgentV1UpdatePromptMessage(_AgentMessage, frozen=True, kw_only=True):
    """Replace the system prompt (becomes ``UpdatePrompt``)."""

    type: Literal["UpdatePrompt"] = "UpdatePrompt"
    prompt: str
    _native = agent_v1.UpdatePrompt


class AgentV1InjectUserMessageMessage(_AgentMessage, frozen=True, kw_only=True):
    """Text the agent answers as if the user said it (becomes ``InjectUserMessage``)."""

    type: Literal["InjectUserMessage"] = "InjectUserMessage"
    content: str
    _native = agent_v1.InjectUserMessage


class AgentV1InjectAgentMessageMessage(_AgentMessage, frozen=True, kw_only=True):
    """Make the agent say ``message`` (becomes ``InjectAgentMessage``). ``content`` is the
    older spelling of ``message`` and is accepted too."""

    type: Literal["InjectAgentMessage"] = "InjectAgentMessage"
    message: str | None = None
    content: str | None = None
    behavior: agent_v1.Behavior | None = None
    _native = agent_v1.InjectAgentMessage

    def _fields(self) -> dict[str, Any]:
        text = self.message if self.message is not None else self.content
        if text is None:
            raise InvalidInputError("AgentV1InjectAgentMessageMessage needs message=")
        return {"message": text, "behavior": self.behavior}


class AgentV1FunctionCallResponseMessage(_AgentMessage, frozen=True, kw_only=True):
    """The result of a client-side function call (becomes ``FunctionCallResponse``)."""

    type: Literal["FunctionCallResponse"] = "FunctionCallResponse"
    name: str
    content: str
    id: str | None = None
    _native = agent_v1.FunctionCallResponse


class AgentV1MediaMessage(_Media, frozen=True):
    """Microphone audio for the agent (becomes ``bytes``)."""


class AgentV1ControlMessage(_Control, frozen=True):
    """``type``: ``"KeepAlive"`` (or the post-spec ``"ForceEndTurn"``)."""

    type: Literal["KeepAlive", "ForceEndTurn"]
    _module = agent_v1


AgentV1SocketClientResponse: TypeAlias = agent_v1.ServerMessage | Unknown | bytes


# --- Speak V2 (SDK 7.x names; the seed SDK had no Speak V2) ------------------------------------

SpeakV2Speak = speak_v2.Speak
SpeakV2Flush = speak_v2.Flush
SpeakV2Interrupt = speak_v2.Interrupt
SpeakV2Configure = speak_v2.Configure
SpeakV2Close = speak_v2.Close
SpeakV2Connected = speak_v2.Connected
SpeakV2SpeechStarted = speak_v2.SpeechStarted
SpeakV2SpeechMetadata = speak_v2.SpeechMetadata
SpeakV2SpeechInterrupted = speak_v2.SpeechInterrupted
SpeakV2Flushed = speak_v2.Flushed
SpeakV2SessionMetadata = speak_v2.SessionMetadata
SpeakV2ConfigureSuccess = speak_v2.ConfigureSuccess
SpeakV2ConfigureFailure = speak_v2.ConfigureFailure
SpeakV2Warning = speak_v2.Warning
SpeakV2Error = speak_v2.Error


def SpeakV2InterruptPlaybackOffset(  # the SDK's class name
    *, type: Literal["time_ms"] = "time_ms", value: int
) -> speak_v2.PlaybackOffset:
    """``Interrupt.playback_offset`` as the SDK spells it (``type="time_ms"``, ``value`` in
    milliseconds of session audio played)."""
    _check_type("SpeakV2InterruptPlaybackOffset", type, "time_ms")
    return speak_v2.PlaybackOffset(value=value)


SpeakV2SocketClientResponse: TypeAlias = speak_v2.ServerMessage | Unknown | bytes
