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

deepgram-sdk 7's names sit beside them (``ListenV1Results``, ``SpeakV1Text``,
``AgentV1Settings``, ``AgentV1SettingsAgentListenProvider_V1``, ``ThinkSettingsV1Provider_OpenAi``,
...: the types its socket clients take and return). What the server sends is the native struct
under the SDK's name (``isinstance`` works); what the client sends is a function taking the
SDK's keywords, ``type=`` / ``version=`` included, and returning the native struct. With the
connection's SDK 7 calls (``recv()``, iteration, ``send_*(message=None)``, ``send_close()``,
``send_raw()``, plain ``dict`` messages), SDK 7 code ports by changing its imports.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from typing import Any, ClassVar, Literal, TypeAlias, TypeVar

import msgspec

from ._connection import EventType
from .errors import InvalidInputError
from .messages import MessageBase, Unknown, agent_v1, listen_v1, listen_v2, speak_v1, speak_v2

__all__ = [
    "AgentV1Agent",
    "AgentV1AgentAudioDone",
    "AgentV1AgentStartedSpeaking",
    "AgentV1AgentThinking",
    "AgentV1AudioConfig",
    "AgentV1AudioInput",
    "AgentV1ControlMessage",
    "AgentV1ConversationText",
    "AgentV1CustomFromThinkProvider",
    "AgentV1CustomToThinkProvider",
    "AgentV1DeepgramSpeakProvider",
    "AgentV1Error",
    "AgentV1ForceEndTurn",
    "AgentV1FrustrationDetected",
    "AgentV1FunctionCallCancelled",
    "AgentV1FunctionCallRequest",
    "AgentV1FunctionCallResponseMessage",
    "AgentV1History",
    "AgentV1InjectAgentMessage",
    "AgentV1InjectAgentMessageMessage",
    "AgentV1InjectDynamicAgentMessage",
    "AgentV1InjectUserMessage",
    "AgentV1InjectUserMessageMessage",
    "AgentV1InjectionRefused",
    "AgentV1KeepAlive",
    "AgentV1LatencyReport",
    "AgentV1Listen",
    "AgentV1ListenProvider",
    "AgentV1ListenUpdated",
    "AgentV1MediaMessage",
    "AgentV1OpenAiThinkProvider",
    "AgentV1PromptUpdated",
    "AgentV1ReceiveFunctionCallResponse",
    "AgentV1SendFunctionCallResponse",
    "AgentV1Settings",
    "AgentV1SettingsAgent",
    "AgentV1SettingsAgentContext",
    "AgentV1SettingsAgentListen",
    "AgentV1SettingsAgentListenProvider_V1",
    "AgentV1SettingsAgentListenProvider_V2",
    "AgentV1SettingsApplied",
    "AgentV1SettingsAudio",
    "AgentV1SettingsAudioInput",
    "AgentV1SettingsAudioOutput",
    "AgentV1SettingsFlags",
    "AgentV1SettingsMessage",
    "AgentV1SocketClientResponse",
    "AgentV1SpeakProviderConfig",
    "AgentV1SpeakUpdated",
    "AgentV1Think",
    "AgentV1ThinkLiveUpdated",
    "AgentV1ThinkUpdated",
    "AgentV1UpdateListen",
    "AgentV1UpdateListenListen",
    "AgentV1UpdatePrompt",
    "AgentV1UpdatePromptMessage",
    "AgentV1UpdateSpeak",
    "AgentV1UpdateSpeakMessage",
    "AgentV1UpdateThink",
    "AgentV1UpdateThinkLive",
    "AgentV1UserStartedSpeaking",
    "AgentV1Warning",
    "AgentV1Welcome",
    "DeepgramThinkLiveProviderV1",
    "EventType",
    "ListenV1CloseStream",
    "ListenV1Configure",
    "ListenV1ConfigureFailure",
    "ListenV1ConfigureSuccess",
    "ListenV1ControlMessage",
    "ListenV1Error",
    "ListenV1Finalize",
    "ListenV1KeepAlive",
    "ListenV1MediaMessage",
    "ListenV1Metadata",
    "ListenV1Results",
    "ListenV1SocketClientResponse",
    "ListenV1SpeechStarted",
    "ListenV1UtteranceEnd",
    "ListenV2CloseStream",
    "ListenV2Configure",
    "ListenV2ConfigureFailure",
    "ListenV2ConfigureSuccess",
    "ListenV2ConfigureThresholds",
    "ListenV2Connected",
    "ListenV2ControlMessage",
    "ListenV2FatalError",
    "ListenV2ForceEndTurn",
    "ListenV2MediaMessage",
    "ListenV2SocketClientResponse",
    "ListenV2TurnInfo",
    "ListenV2Warning",
    "SpeakSettingsV1",
    "SpeakSettingsV1Provider_AwsPolly",
    "SpeakSettingsV1Provider_Cartesia",
    "SpeakSettingsV1Provider_Deepgram",
    "SpeakSettingsV1Provider_ElevenLabs",
    "SpeakSettingsV1Provider_OpenAi",
    "SpeakV1Clear",
    "SpeakV1Cleared",
    "SpeakV1Close",
    "SpeakV1ControlMessage",
    "SpeakV1Flush",
    "SpeakV1Flushed",
    "SpeakV1Metadata",
    "SpeakV1SocketClientResponse",
    "SpeakV1Text",
    "SpeakV1TextMessage",
    "SpeakV1Warning",
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
    "ThinkLiveSettingsV1",
    "ThinkSettingsV1",
    "ThinkSettingsV1FunctionsItem",
    "ThinkSettingsV1Provider_Anthropic",
    "ThinkSettingsV1Provider_AwsBedrock",
    "ThinkSettingsV1Provider_Deepgram",
    "ThinkSettingsV1Provider_Google",
    "ThinkSettingsV1Provider_Groq",
    "ThinkSettingsV1Provider_OpenAi",
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


# --- deepgram-sdk 7.x names -----------------------------------------------------------------------
# The types SDK 7's socket clients take and return (``deepgram.listen.v1.types``,
# ``deepgram.agent.v1.types``, ``deepgram.types``...). What the server sends is the native struct
# under the SDK's name, so ``isinstance(message, ListenV1Results)`` holds. What the client sends
# takes the SDK's keywords, ``type=`` (and the listen providers' ``version=``) included, and
# returns the native struct.

_T = TypeVar("_T", bound=msgspec.Struct)


def _sdk7(native: builtins.type[_T], name: str, **fixed: Any) -> Callable[..., _T]:
    """A constructor under an SDK 7 name: the native struct's keywords plus the SDK's tag
    keyword (``type=`` / ``version=``), which must be the native tag when given."""
    config = native.__struct_config__
    tag_field, tag = config.tag_field, config.tag

    def build(**kwargs: Any) -> _T:
        if tag_field is not None and tag_field in kwargs:
            _check_type(name, str(kwargs.pop(tag_field)), str(tag))
        for key, value in fixed.items():
            given = kwargs.pop(key, value)
            if given != value:
                raise InvalidInputError(f"{name}({key}={given!r}): must be {value!r}")
            kwargs[key] = value
        return native(**kwargs)

    build.__name__ = build.__qualname__ = name
    build.__doc__ = (
        f"deepgram-sdk 7's ``{name}``: builds :class:`{native.__module__}.{native.__name__}`."
    )
    return build


# Listen V1
ListenV1Results = listen_v1.Results
ListenV1Metadata = listen_v1.Metadata
ListenV1UtteranceEnd = listen_v1.UtteranceEnd
ListenV1SpeechStarted = listen_v1.SpeechStarted
ListenV1ConfigureSuccess = listen_v1.ConfigureSuccess
ListenV1ConfigureFailure = listen_v1.ConfigureFailure
ListenV1Error = listen_v1.Error
ListenV1Finalize = _sdk7(listen_v1.Finalize, "ListenV1Finalize")
ListenV1CloseStream = _sdk7(listen_v1.CloseStream, "ListenV1CloseStream")
ListenV1KeepAlive = _sdk7(listen_v1.KeepAlive, "ListenV1KeepAlive")
ListenV1Configure = _sdk7(listen_v1.Configure, "ListenV1Configure")

# Listen V2
ListenV2Connected = listen_v2.Connected
ListenV2TurnInfo = listen_v2.TurnInfo
ListenV2ConfigureSuccess = listen_v2.ConfigureSuccess
ListenV2ConfigureFailure = listen_v2.ConfigureFailure
ListenV2FatalError = listen_v2.Error
ListenV2Warning = listen_v2.Warning
ListenV2CloseStream = _sdk7(listen_v2.CloseStream, "ListenV2CloseStream")
ListenV2ForceEndTurn = _sdk7(listen_v2.ForceEndTurn, "ListenV2ForceEndTurn")
ListenV2Configure = _sdk7(listen_v2.Configure, "ListenV2Configure")
ListenV2ConfigureThresholds = listen_v2.Thresholds

# Speak V1
SpeakV1Metadata = speak_v1.Metadata
SpeakV1Flushed = speak_v1.Flushed
SpeakV1Cleared = speak_v1.Cleared
SpeakV1Warning = speak_v1.Warning
SpeakV1Text = _sdk7(speak_v1.Speak, "SpeakV1Text")
SpeakV1Flush = _sdk7(speak_v1.Flush, "SpeakV1Flush")
SpeakV1Clear = _sdk7(speak_v1.Clear, "SpeakV1Clear")
SpeakV1Close = _sdk7(speak_v1.Close, "SpeakV1Close")

# Agent V1: what the server sends
AgentV1Welcome = agent_v1.Welcome
AgentV1SettingsApplied = agent_v1.SettingsApplied
AgentV1ConversationText = agent_v1.ConversationText
AgentV1UserStartedSpeaking = agent_v1.UserStartedSpeaking
AgentV1AgentThinking = agent_v1.AgentThinking
AgentV1FunctionCallRequest = agent_v1.FunctionCallRequest
AgentV1FunctionCallCancelled = agent_v1.FunctionCallCancelled
AgentV1ReceiveFunctionCallResponse = agent_v1.ReceivedFunctionCallResponse
AgentV1AgentStartedSpeaking = agent_v1.AgentStartedSpeaking
AgentV1AgentAudioDone = agent_v1.AgentAudioDone
AgentV1LatencyReport = agent_v1.LatencyReport
AgentV1PromptUpdated = agent_v1.PromptUpdated
AgentV1SpeakUpdated = agent_v1.SpeakUpdated
AgentV1ThinkUpdated = agent_v1.ThinkUpdated
AgentV1ThinkLiveUpdated = agent_v1.ThinkLiveUpdated
AgentV1ListenUpdated = agent_v1.ListenUpdated
AgentV1InjectionRefused = agent_v1.InjectionRefused
AgentV1Error = agent_v1.Error
AgentV1Warning = agent_v1.Warning
AgentV1History = agent_v1.History
AgentV1FrustrationDetected = agent_v1.FrustrationDetected
AgentV1CustomFromThinkProvider = agent_v1.CustomFromThinkProvider

# Agent V1: what the client sends
AgentV1Settings = _sdk7(agent_v1.Settings, "AgentV1Settings")
AgentV1UpdateListen = _sdk7(agent_v1.UpdateListen, "AgentV1UpdateListen")
AgentV1UpdateThink = _sdk7(agent_v1.UpdateThink, "AgentV1UpdateThink")
AgentV1UpdateThinkLive = _sdk7(agent_v1.UpdateThinkLive, "AgentV1UpdateThinkLive")
AgentV1UpdateSpeak = _sdk7(agent_v1.UpdateSpeak, "AgentV1UpdateSpeak")
AgentV1UpdatePrompt = _sdk7(agent_v1.UpdatePrompt, "AgentV1UpdatePrompt")
AgentV1InjectUserMessage = _sdk7(agent_v1.InjectUserMessage, "AgentV1InjectUserMessage")
AgentV1InjectAgentMessage = _sdk7(agent_v1.InjectAgentMessage, "AgentV1InjectAgentMessage")
AgentV1InjectDynamicAgentMessage = _sdk7(
    agent_v1.InjectAgentMessage, "AgentV1InjectDynamicAgentMessage", is_dynamic=True
)
AgentV1SendFunctionCallResponse = _sdk7(
    agent_v1.FunctionCallResponse, "AgentV1SendFunctionCallResponse"
)
AgentV1KeepAlive = _sdk7(agent_v1.KeepAlive, "AgentV1KeepAlive")
AgentV1ForceEndTurn = _sdk7(agent_v1.ForceEndTurn, "AgentV1ForceEndTurn")
AgentV1CustomToThinkProvider = _sdk7(agent_v1.CustomToThinkProvider, "AgentV1CustomToThinkProvider")

# Agent V1: the settings tree
AgentV1SettingsAudio = agent_v1.Audio
AgentV1SettingsAudioInput = agent_v1.AudioInput
AgentV1SettingsAudioOutput = agent_v1.AudioOutput
AgentV1SettingsAgent = agent_v1.Agent
AgentV1SettingsAgentContext = agent_v1.Context
AgentV1SettingsAgentListen = agent_v1.ListenSettings
AgentV1SettingsAgentListenProvider_V1 = _sdk7(
    agent_v1.ListenProviderV1, "AgentV1SettingsAgentListenProvider_V1"
)
AgentV1SettingsAgentListenProvider_V2 = _sdk7(
    agent_v1.ListenProviderV2, "AgentV1SettingsAgentListenProvider_V2"
)
AgentV1SettingsFlags = agent_v1.Flags
AgentV1UpdateListenListen = agent_v1.ListenUpdateSettings
ThinkSettingsV1 = agent_v1.ThinkSettings
ThinkSettingsV1Provider_OpenAi = _sdk7(
    agent_v1.OpenAiThinkProvider, "ThinkSettingsV1Provider_OpenAi"
)
ThinkSettingsV1Provider_AwsBedrock = _sdk7(
    agent_v1.AwsBedrockThinkProvider, "ThinkSettingsV1Provider_AwsBedrock"
)
ThinkSettingsV1Provider_Anthropic = _sdk7(
    agent_v1.AnthropicThinkProvider, "ThinkSettingsV1Provider_Anthropic"
)
ThinkSettingsV1Provider_Google = _sdk7(
    agent_v1.GoogleThinkProvider, "ThinkSettingsV1Provider_Google"
)
ThinkSettingsV1Provider_Groq = _sdk7(agent_v1.GroqThinkProvider, "ThinkSettingsV1Provider_Groq")
ThinkSettingsV1Provider_Deepgram = _sdk7(
    agent_v1.DeepgramThinkProvider, "ThinkSettingsV1Provider_Deepgram"
)
ThinkSettingsV1FunctionsItem = agent_v1.Function
ThinkLiveSettingsV1 = agent_v1.ThinkLiveSettings
DeepgramThinkLiveProviderV1 = _sdk7(agent_v1.ThinkLiveProvider, "DeepgramThinkLiveProviderV1")
SpeakSettingsV1 = agent_v1.SpeakSettings
SpeakSettingsV1Provider_Deepgram = _sdk7(
    agent_v1.DeepgramSpeakProvider, "SpeakSettingsV1Provider_Deepgram"
)
SpeakSettingsV1Provider_ElevenLabs = _sdk7(
    agent_v1.ElevenLabsSpeakProvider, "SpeakSettingsV1Provider_ElevenLabs"
)
SpeakSettingsV1Provider_Cartesia = _sdk7(
    agent_v1.CartesiaSpeakProvider, "SpeakSettingsV1Provider_Cartesia"
)
SpeakSettingsV1Provider_OpenAi = _sdk7(
    agent_v1.OpenAiSpeakProvider, "SpeakSettingsV1Provider_OpenAi"
)
SpeakSettingsV1Provider_AwsPolly = _sdk7(
    agent_v1.AwsPollySpeakProvider, "SpeakSettingsV1Provider_AwsPolly"
)

# Speak V2 (SDK 7.x names; the seed SDK had no Speak V2) ------------------------------------

SpeakV2Speak = _sdk7(speak_v2.Speak, "SpeakV2Speak")
SpeakV2Flush = _sdk7(speak_v2.Flush, "SpeakV2Flush")
SpeakV2Interrupt = _sdk7(speak_v2.Interrupt, "SpeakV2Interrupt")
SpeakV2Configure = _sdk7(speak_v2.Configure, "SpeakV2Configure")
SpeakV2Close = _sdk7(speak_v2.Close, "SpeakV2Close")
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
