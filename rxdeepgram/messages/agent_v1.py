# mypy: disable-error-code="misc"
"""Agent V1 (``/v1/agent/converse``, Voice Agent) messages.

Server -> client: ``Welcome``, ``SettingsApplied``, ``ConversationText``, ``UserStartedSpeaking``,
``AgentThinking``, ``FunctionCallRequest``, ``FunctionCallResponse``, ``AgentStartedSpeaking``,
``AgentAudioDone``, ``LatencyReport``, ``PromptUpdated``, ``SpeakUpdated``, ``ThinkUpdated``,
``ListenUpdated``, ``InjectionRefused``, ``Error``, ``Warning``, ``History``, the live
service's undocumented ``EndOfThought`` and, from deepgram-sdk 7.17, ``ThinkLiveUpdated``,
``FrustrationDetected``, ``FunctionCallCancelled`` and ``__customFromThinkProvider``
(:class:`CustomFromThinkProvider`); agent speech arrives as ``bytes``.
Client -> server: microphone audio as ``bytes`` and ``Settings``, ``UpdateListen``,
``UpdateThink``, ``UpdateSpeak``, ``UpdatePrompt``, ``InjectUserMessage``,
``InjectAgentMessage``, ``FunctionCallResponse``, ``KeepAlive``, the post-spec
``ForceEndTurn`` and, from deepgram-sdk 7.17, ``UpdateThink_Live`` (:class:`UpdateThinkLive`)
and ``__customToThinkProvider`` (:class:`CustomToThinkProvider`). Fields the library does not
model (yet) go through :meth:`~rxdeepgram.messages.ClientMessageBase.with_extra`.

Building settings::

    Settings(
        audio=Audio(input=AudioInput(encoding="linear16", sample_rate=16000)),
        agent=Agent(
            listen=ListenSettings(provider=ListenProviderV1(model="nova-3")),
            think=ThinkSettings(provider=OpenAiThinkProvider(model="gpt-4o-mini")),
            speak=SpeakSettings(provider=DeepgramSpeakProvider(model="aura-2-thalia-en")),
        ),
    )

Provider unions — the design and why
------------------------------------
The spec's provider objects are ``oneOf`` unions. msgspec decodes a union of structs only when
every member is *tagged* on one common field with a distinct value per member, so:

* **Think and speak providers** are tagged unions on ``type`` with one struct per wire type
  (``OpenAiThinkProvider`` is ``type: open_ai``, ``CartesiaSpeakProvider`` is ``type: cartesia``,
  ...). The tag is written by msgspec, so users never spell ``type``. The two Deepgram speak
  variants (Aura, ``version`` ``v1``/absent, and Flux TTS, ``version: v2``) share ``type:
  deepgram`` and therefore one struct, :class:`DeepgramSpeakProvider`, whose ``version`` is
  ``"v1" | "v2" | None`` and whose Aura-only ``speed`` is checked by :func:`validate_settings`.
  An absent ``version`` stays absent on re-encode.
* **Listen providers** both have ``type: deepgram`` and differ by ``version``, so they form a
  tagged union on ``version``: :class:`ListenProviderV1` (tag ``v1``) and
  :class:`ListenProviderV2` (tag ``v2``, Flux). The tag is always encoded, which is what the
  protocol notes ask for ("always send version": without it a provider matches both ``oneOf``
  branches). ``type`` is an ordinary ``Literal["deepgram"]`` field whose default comes from a
  ``default_factory``; msgspec never omits factory defaults, so ``type`` is always sent too.
  The spec allows ``version`` to be absent, so :func:`decode_client` accepts a version-less
  ``agent.listen.provider`` (read as ``v2`` for a ``flux-*`` model, else ``v1``); it then
  re-encodes with the ``version`` made explicit. ``UpdateListen`` takes either provider, as
  deepgram-sdk 7 does.

Alternatives rejected: untagged structs with ``Literal`` ``type`` fields (msgspec allows one
untagged struct per union, the providers need five or six); a ``dec_hook`` (msgspec calls it
only for custom types, not for structs, so it would need a custom type per union and lose the
typed classes); one struct per union with every field optional (decodes anything, but users lose
the typed per-provider fields and required ``model``).

The server never sends provider objects, so :func:`decode` stays total regardless: anything it
cannot decode becomes :class:`~rxdeepgram.messages.Unknown`. It is lenient about missing fields
(see :mod:`rxdeepgram.messages`): the live service has sent an ``Error`` with ``description``
and ``message`` but no ``code``, which decodes to :class:`Error` with ``code == ""``; a
``FunctionCall`` without ``client_side`` reads as ``False`` (the client does not run it).
:func:`decode_client` (used by the local server) is strict: an unknown provider ``type``, an
unknown field or a missing required field raises ``msgspec.ValidationError``, as the agent API
rejects unknown fields.

``FunctionCallResponse`` has one schema for both directions (``id`` optional), but what clients
send is decoded strictly and what the server sends leniently, so the server's union holds the
subclass :class:`ReceivedFunctionCallResponse` (same fields, unknown fields ignored):
``isinstance(message, FunctionCallResponse)`` is true for both.

``History`` has two shapes under one tag; msgspec refuses two structs with one tag in a union, so
it is a single struct with optional ``role`` / ``content`` / ``function_calls``. The same holds for
the items of ``Settings.agent.context.messages`` (:class:`ContextMessage`).

:func:`validate_settings` and :func:`validate_message` check what typing cannot (enum values on
hand-built structs, ranges, provider/model consistency) and raise
:class:`~rxdeepgram.errors.InvalidMessageError` naming the dotted path of the field.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Literal, TypeAlias, get_args
from urllib.parse import parse_qs, urlsplit

import msgspec

from ..errors import InvalidMessageError
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
    "Agent",
    "AgentAudioCut",
    "AgentAudioDone",
    "AgentStartedSpeaking",
    "AgentThinking",
    "AnthropicThinkProvider",
    "Audio",
    "AudioInput",
    "AudioOutput",
    "AwsBedrockThinkProvider",
    "AwsCredentials",
    "AwsPollySpeakProvider",
    "Behavior",
    "CLIENT_MESSAGES",
    "CancelledFunction",
    "CartesiaSpeakProvider",
    "CartesiaVoice",
    "ClientMessage",
    "Container",
    "Context",
    "ContextFunctionCall",
    "ContextLength",
    "ContextMessage",
    "ConversationText",
    "CustomFromThinkProvider",
    "CustomToThinkProvider",
    "DeepgramSpeakProvider",
    "DeepgramThinkProvider",
    "ElevenLabsSpeakProvider",
    "EndOfThought",
    "Endpoint",
    "Error",
    "Flags",
    "ForceEndTurn",
    "FrustrationDetected",
    "Function",
    "FunctionCall",
    "FunctionCallCancelled",
    "FunctionCallRequest",
    "FunctionCallResponse",
    "FunctionEndpoint",
    "GoogleThinkProvider",
    "GroqThinkProvider",
    "History",
    "HistoryFunctionCall",
    "InjectAgentMessage",
    "InjectUserMessage",
    "InjectionRefused",
    "InputEncoding",
    "KeepAlive",
    "LatencyReport",
    "ListenProvider",
    "ListenProviderV1",
    "ListenProviderV2",
    "ListenSettings",
    "ListenUpdateSettings",
    "ListenUpdated",
    "OpenAiSpeakProvider",
    "OpenAiThinkProvider",
    "OutputEncoding",
    "PollyEngine",
    "PromptUpdated",
    "ReasoningMode",
    "ReceivedFunctionCallResponse",
    "SERVER_MESSAGES",
    "ServerMessage",
    "Settings",
    "SettingsApplied",
    "SpeakProvider",
    "SpeakSettings",
    "SpeakUpdated",
    "ThinkLiveProvider",
    "ThinkLiveSettings",
    "ThinkLiveUpdated",
    "ThinkProvider",
    "ThinkSettings",
    "ThinkUpdated",
    "UpdateListen",
    "UpdatePrompt",
    "UpdateSpeak",
    "UpdateThink",
    "UpdateThinkLive",
    "UserStartedSpeaking",
    "Warning",
    "Welcome",
    "decode",
    "decode_client",
    "validate_message",
    "validate_settings",
]


# --- closed value sets -------------------------------------------------------------------------

InputEncoding: TypeAlias = Literal[
    "linear16",
    "linear32",
    "flac",
    "alaw",
    "mulaw",
    "amr-nb",
    "amr-wb",
    "opus",
    "ogg-opus",
    "speex",
    "g729",
]
"""``audio.input.encoding`` values."""

OutputEncoding: TypeAlias = Literal["linear16", "mulaw", "alaw", "mp3", "opus", "flac", "aac"]
"""``audio.output.encoding`` values."""

Container: TypeAlias = Literal["none", "wav", "ogg"]
"""``audio.output.container`` values."""

ReasoningMode: TypeAlias = Literal["none", "minimal", "low", "medium", "high"]
"""``reasoning_mode`` of the OpenAI and Groq think providers (OpenAI's ``reasoning_effort``)."""

Behavior: TypeAlias = Literal["default", "queue", "interrupt"]
"""``InjectAgentMessage.behavior`` values (server default ``default``)."""

PollyEngine: TypeAlias = Literal["generative", "long-form", "standard", "neural"]
"""AWS Polly ``engine`` values."""

ContextLength: TypeAlias = Literal["max"] | int | float
"""``ThinkSettings.context_length``: ``"max"`` or a number of characters."""

_Role: TypeAlias = Literal["user", "assistant"]


def _deepgram() -> Literal["deepgram"]:
    # A default_factory, not a plain default: omit_defaults never drops factory defaults, so the
    # listen providers always carry "type": "deepgram" on the wire.
    return "deepgram"


def _v1() -> Literal["v1"]:
    # A factory default, always encoded: Think Live's provider carries "version": "v1".
    return "v1"


# --- secret-safe reprs -------------------------------------------------------------------------

_MASK = "***"


def _masked_headers(headers: Mapping[str, str] | None) -> dict[str, str] | None:
    return None if headers is None else dict.fromkeys(headers, _MASK)


# --- Settings: audio ---------------------------------------------------------------------------


class AudioInput(ClientStruct, kw_only=True):
    """``audio.input``: the format of the microphone audio the client sends (both required)."""

    encoding: InputEncoding
    sample_rate: int


class AudioOutput(ClientStruct, kw_only=True):
    """``audio.output``: the format of the agent audio (server defaults: linear16, container
    ``none``). ``bitrate`` (bits per second) applies to compressed encodings."""

    encoding: OutputEncoding | None = None
    sample_rate: int | None = None
    bitrate: int | None = None
    container: Container | None = None


class Audio(ClientStruct, kw_only=True):
    """``Settings.audio`` (may be empty: the server then expects linear16 at 24000 Hz)."""

    input: AudioInput | None = None
    output: AudioOutput | None = None


# --- Settings: context (history) ---------------------------------------------------------------


class ContextFunctionCall(ClientStruct, kw_only=True):
    """A function call record in ``agent.context.messages`` (``arguments`` and ``response`` are
    JSON text). ``thought_signature`` is needed by some Gemini models."""

    id: str
    name: str
    client_side: bool
    arguments: str
    response: str
    thought_signature: str | None = None


class ContextMessage(ClientStruct, kw_only=True, tag_field="type", tag="History"):
    """An item of ``agent.context.messages``, tagged ``"type": "History"``.

    Either a conversation message (``role`` and ``content``) or function call records
    (``function_calls``): one struct for both shapes, as with the server's :class:`History`.
    """

    role: _Role | None = None
    content: str | None = None
    function_calls: list[ContextFunctionCall] | None = None

    @classmethod
    def from_history(cls, history: History) -> ContextMessage:
        """Turn a received :class:`History` message into a context item, to seed a new
        session with the conversation so far."""
        calls = None
        if history.function_calls is not None:
            calls = [
                ContextFunctionCall(
                    id=c.id,
                    name=c.name,
                    client_side=c.client_side,
                    arguments=c.arguments,
                    response=c.response,
                    thought_signature=c.thought_signature,
                )
                for c in history.function_calls
            ]
        role: Any = history.role
        return cls(role=role, content=history.content, function_calls=calls)


class Context(ClientStruct, kw_only=True):
    """``agent.context``: earlier conversation and function calls to seed the session with."""

    messages: list[ContextMessage] | None = None


# --- Settings: listen --------------------------------------------------------------------------


class ListenProviderV1(ClientStruct, kw_only=True, tag_field="version", tag="v1"):
    """Deepgram speech-to-text, V1 API (Nova): ``{"type": "deepgram", "version": "v1", ...}``.

    ``language`` is BCP-47 or ``multi`` (server default ``en-US``).
    """

    type: Literal["deepgram"] = msgspec.field(default_factory=_deepgram)
    model: str | None = None
    language: str | None = None
    keyterms: list[str] | None = None
    smart_format: bool | None = None


class ListenProviderV2(ClientStruct, kw_only=True, tag_field="version", tag="v2"):
    """Deepgram speech-to-text, V2 API (Flux): ``{"type": "deepgram", "version": "v2", ...}``.

    ``eot_threshold`` 0.5-0.9 (default 0.7), ``eager_eot_threshold`` 0.3-0.9 (enables
    EagerEndOfTurn / TurnResumed), ``eot_timeout_ms`` (default 5000); ``language_hints`` only
    with ``flux-general-multi``.
    """

    type: Literal["deepgram"] = msgspec.field(default_factory=_deepgram)
    model: str
    language_hints: list[str] | None = None
    eot_threshold: float | None = None
    eager_eot_threshold: float | None = None
    eot_timeout_ms: int | None = None
    keyterms: list[str] | None = None


ListenProvider: TypeAlias = ListenProviderV1 | ListenProviderV2
"""``agent.listen.provider``, discriminated by ``version``."""


class ListenSettings(ClientStruct, kw_only=True):
    """``agent.listen``."""

    provider: ListenProvider | None = None


class ListenUpdateSettings(ClientStruct, kw_only=True):
    """``UpdateListen.listen``: the listen provider's new options. ``type`` / ``version`` /
    ``model`` must match the session's current listen provider: a V1 (Nova) provider takes
    ``language``, ``keyterms`` and ``smart_format``, a V2 (Flux) one its thresholds,
    ``keyterms`` and ``language_hints``."""

    provider: ListenProvider


# --- Settings: think ---------------------------------------------------------------------------


class AwsCredentials(ClientStruct, kw_only=True):
    """AWS credentials for Bedrock (think) and Polly (speak).

    ``type`` ``sts`` (short-lived, needs ``session_token``) or ``iam`` (long-lived, no
    ``session_token``). The spec makes every field optional for Bedrock and all but
    ``session_token`` required for Polly; :func:`validate_settings` requires them for both.
    ``repr`` masks the secrets.
    """

    type: Literal["sts", "iam"] | None = None
    region: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None

    def __repr__(self) -> str:
        secret = _MASK if self.secret_access_key is not None else None
        token = _MASK if self.session_token is not None else None
        key = _MASK if self.access_key_id is not None else None
        return (
            f"AwsCredentials(type={self.type!r}, region={self.region!r}, access_key_id={key!r}, "
            f"secret_access_key={secret!r}, session_token={token!r})"
        )

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        secrets = ("access_key_id", "secret_access_key", "session_token")
        masked = [(n, _MASK if getattr(self, n) is not None else None) for n in secrets]
        return [("type", self.type), ("region", self.region), *masked]


class OpenAiThinkProvider(ClientStruct, kw_only=True, tag_field="type", tag="open_ai"):
    """OpenAI chat completions (also any OpenAI-compatible endpoint). ``temperature`` 0-2."""

    model: str
    version: Literal["v1"] | None = None
    temperature: float | None = None
    reasoning_mode: ReasoningMode | None = None


class AwsBedrockThinkProvider(ClientStruct, kw_only=True, tag_field="type", tag="aws_bedrock"):
    """AWS Bedrock (e.g. ``anthropic/claude-3-5-haiku-20240307-v1:0``). ``temperature`` 0-2."""

    model: str
    temperature: float | None = None
    credentials: AwsCredentials | None = None


class AnthropicThinkProvider(ClientStruct, kw_only=True, tag_field="type", tag="anthropic"):
    """Anthropic Messages API. ``temperature`` 0-1."""

    model: str
    version: Literal["v1"] | None = None
    temperature: float | None = None


class GoogleThinkProvider(ClientStruct, kw_only=True, tag_field="type", tag="google"):
    """Google generative language API (Gemini). ``temperature`` 0-2."""

    model: str
    version: Literal["v1beta"] | None = None
    temperature: float | None = None


class GroqThinkProvider(ClientStruct, kw_only=True, tag_field="type", tag="groq"):
    """Groq chat completions (mostly OpenAI-compatible). ``temperature`` 0-2."""

    model: str
    version: Literal["v1"] | None = None
    temperature: float | None = None
    reasoning_mode: ReasoningMode | None = None


class DeepgramThinkProvider(ClientStruct, kw_only=True, tag_field="type", tag="deepgram"):
    """Deepgram-hosted language models (Early Access: ``think-fast``,
    ``phonellm-mini-alpha-2-fp8``). ``temperature`` 0-2.

    With ``think-fast`` Deepgram puts spoken-style instructions ahead of the prompt (and warns
    ``VOICE_PROMPT_ADDED``); ``voice_prompt_opt_out=True`` sends the prompt unchanged.
    ``think-fast`` needs the Model Improvement Program (refused with ``mip_opt_out``).
    """

    model: str
    version: Literal["v1"] | None = None
    temperature: float | None = None
    reasoning_mode: ReasoningMode | None = None
    voice_prompt_opt_out: bool | None = None


ThinkProvider: TypeAlias = (
    OpenAiThinkProvider
    | AwsBedrockThinkProvider
    | AnthropicThinkProvider
    | GoogleThinkProvider
    | GroqThinkProvider
    | DeepgramThinkProvider
)
"""``think.provider``, discriminated by ``type``."""


class Endpoint(ClientStruct, kw_only=True):
    """A custom (bring-your-own) LLM or TTS endpoint: ``url`` plus request ``headers``.

    ``repr`` masks the header values (they usually hold credentials).
    """

    url: str | None = None
    headers: dict[str, str] | None = None

    def __repr__(self) -> str:
        return f"Endpoint(url={self.url!r}, headers={_masked_headers(self.headers)!r})"

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        return [("url", self.url), ("headers", _masked_headers(self.headers))]


class FunctionEndpoint(ClientStruct, kw_only=True):
    """Where the *server* calls a function; without it the client runs the function.

    ``repr`` masks the header values.
    """

    url: str | None = None
    method: str | None = None
    headers: dict[str, str] | None = None

    def __repr__(self) -> str:
        return (
            f"FunctionEndpoint(url={self.url!r}, method={self.method!r}, "
            f"headers={_masked_headers(self.headers)!r})"
        )

    def __rich_repr__(self) -> list[tuple[str, Any]]:
        headers = _masked_headers(self.headers)
        return [("url", self.url), ("method", self.method), ("headers", headers)]


class Function(ClientStruct, kw_only=True):
    """A tool the LLM may call; ``parameters`` is a JSON Schema of its arguments.

    ``defer_until_eot``: hold the call until the user's turn is confirmed (for actions that
    cannot be undone; a resumed turn discards it). Filler lines while the call is outstanding
    need ``agent.think_live``: ``initial_agent_filler`` (one line once the turn is confirmed),
    ``agent_filler_max_count`` more lines, each after ``agent_filler_interval_ms`` (1000-60000)
    of agent silence.
    """

    name: str | None = None
    description: str | None = None
    parameters: dict[str, Any] | None = None
    endpoint: FunctionEndpoint | None = None
    defer_until_eot: bool | None = None
    initial_agent_filler: bool | None = None
    agent_filler_max_count: int | None = None
    agent_filler_interval_ms: int | None = None


class ThinkSettings(ClientStruct, kw_only=True):
    """``agent.think`` (or one item of its fallback list) and ``UpdateThink.think``.

    ``context_length`` (``"max"`` or characters) only applies with a custom ``endpoint``.
    """

    provider: ThinkProvider
    endpoint: Endpoint | None = None
    functions: list[Function] | None = None
    prompt: str | None = None
    context_length: ContextLength | None = None


class ThinkLiveProvider(ClientStruct, kw_only=True, tag_field="type", tag="deepgram"):
    """Deepgram's Think Live model (``{"type": "deepgram", "version": "v1", ...}``), which runs
    beside the reasoning LLM: backchannels while the user speaks, presence checks after a long
    silence, frustration detection, filler lines while a function call is outstanding.

    ``agent_backchannel_sensitivity`` (0 turns backchannels off), ``presence_check_max_count``
    (0: none) every ``presence_check_interval_ms`` (the first one no sooner than 3000 ms),
    ``frustration_max_count`` (``FrustrationDetected`` events until ``escalated``; 0: none),
    ``restricted_terms`` the Think Live model never says.
    """

    version: Literal["v1"] = msgspec.field(default_factory=_v1)
    agent_backchannel_sensitivity: float | None = None
    presence_check_max_count: int | None = None
    presence_check_interval_ms: int | None = None
    frustration_max_count: int | None = None
    restricted_terms: list[str] | None = None


class ThinkLiveSettings(ClientStruct, kw_only=True):
    """``agent.think_live`` and ``UpdateThink_Live.think_live``: Think Live is off until set."""

    provider: ThinkLiveProvider = msgspec.field(default_factory=ThinkLiveProvider)


# --- Settings: speak ---------------------------------------------------------------------------


class DeepgramSpeakProvider(ClientStruct, kw_only=True, tag_field="type", tag="deepgram"):
    """Deepgram text-to-speech: Aura (``version`` ``"v1"`` or absent, ``aura-*`` models, optional
    ``speed``) or Flux TTS (``version="v2"``, ``flux-*`` models, Early Access; ``expressivity``
    -2 (calm) to 2 (animated), 0 the voice's tuned delivery, integers only).

    Both share ``"type": "deepgram"``, hence one struct (see the module docstring).
    """

    model: str
    version: Literal["v1", "v2"] | None = None
    speed: float | None = None
    expressivity: int | None = None


class ElevenLabsSpeakProvider(ClientStruct, kw_only=True, tag_field="type", tag="eleven_labs"):
    """Eleven Labs (needs ``SpeakSettings.endpoint``). ``language_code`` is a deprecated alias of
    ``language``."""

    model_id: str
    version: Literal["v1"] | None = None
    language: str | None = None
    language_code: str | None = None


class CartesiaVoice(ClientStruct, kw_only=True):
    """Cartesia voice selector, e.g. ``CartesiaVoice(mode="id", id="a167e0f3-...")``."""

    mode: str
    id: str


class CartesiaSpeakProvider(ClientStruct, kw_only=True, tag_field="type", tag="cartesia"):
    """Cartesia (needs ``SpeakSettings.endpoint``). ``volume`` 0.5-2.0."""

    model_id: str
    voice: CartesiaVoice
    version: Literal["2025-03-17"] | None = None
    language: str | None = None
    volume: float | None = None


class OpenAiSpeakProvider(ClientStruct, kw_only=True, tag_field="type", tag="open_ai"):
    """OpenAI TTS (``tts-1``, ``tts-1-hd``; needs ``SpeakSettings.endpoint``)."""

    model: str
    voice: str
    version: Literal["v1"] | None = None


class AwsPollySpeakProvider(ClientStruct, kw_only=True, tag_field="type", tag="aws_polly"):
    """AWS Polly (needs ``SpeakSettings.endpoint``). ``language_code`` is a deprecated alias of
    ``language``."""

    voice: str
    language: str
    engine: PollyEngine
    credentials: AwsCredentials
    language_code: str | None = None


SpeakProvider: TypeAlias = (
    DeepgramSpeakProvider
    | ElevenLabsSpeakProvider
    | CartesiaSpeakProvider
    | OpenAiSpeakProvider
    | AwsPollySpeakProvider
)
"""``speak.provider``, discriminated by ``type`` (Deepgram's two versions share one struct)."""


class SpeakSettings(ClientStruct, kw_only=True):
    """``agent.speak`` (or one item of its fallback list) and ``UpdateSpeak.speak``.

    ``endpoint`` is required for non-Deepgram providers (``https``; ``wss`` for Eleven Labs only).
    """

    provider: SpeakProvider
    endpoint: Endpoint | None = None


# --- Settings ----------------------------------------------------------------------------------


class Agent(ClientStruct, kw_only=True):
    """``Settings.agent`` (inline configuration; a ``str`` uuid selects a stored one instead).

    ``think`` and ``speak`` take one settings object or an ordered fallback list.
    ``think_live`` turns on Deepgram's Think Live model (backchannels, presence checks,
    frustration detection, function-call filler). ``language`` is deprecated: set the listen /
    speak provider's language instead.
    """

    language: str | None = None
    context: Context | None = None
    listen: ListenSettings | None = None
    think: ThinkSettings | list[ThinkSettings] | None = None
    speak: SpeakSettings | list[SpeakSettings] | None = None
    greeting: str | None = None
    think_live: ThinkLiveSettings | None = None


class Flags(ClientStruct, kw_only=True):
    """``Settings.flags``: ``history`` (server default true) turns ``History`` messages on."""

    history: bool | None = None


# --- server -> client --------------------------------------------------------------------------


class Welcome(ServerMessageBase, kw_only=True):
    """First message on every connection; wait for it before sending ``Settings``."""

    request_id: str = msgspec.field(default_factory=str)


class SettingsApplied(ServerMessageBase):
    """``Settings`` accepted: start streaming audio."""


class ConversationText(ServerMessageBase, kw_only=True):
    """A finished statement of the ``user`` (transcript) or the ``assistant`` (being spoken).

    ``conversational_behavior`` says what kind of statement it is: ``"default"`` (a turn; always
    so while Think Live is off; ``None``, the field absent as from an older server, means it too),
    ``"backchannel"`` (a short acknowledgement while the user held the floor),
    ``"presence_check"`` (a prompt after a long silence) or ``"filler"`` (a line covering a
    wait on a function call or a dynamic ``InjectAgentMessage``); a plain ``str``, so that a new
    value still decodes. ``languages_hinted`` / ``languages`` appear on user messages with
    ``flux-general-multi``.
    """

    role: str = msgspec.field(default_factory=str)
    content: str = msgspec.field(default_factory=str)
    conversational_behavior: str | None = None
    languages_hinted: list[str] | None = None
    languages: list[str] | None = None


class UserStartedSpeaking(ServerMessageBase):
    """The user started speaking: stop playback and drop queued agent audio (barge-in)."""


class AgentThinking(ServerMessageBase, kw_only=True):
    """Non-verbalised reasoning of the LLM."""

    content: str = msgspec.field(default_factory=str)


class FunctionCall(ServerStruct, kw_only=True):
    """One item of ``FunctionCallRequest.functions``; ``arguments`` is JSON text.

    With ``client_side`` true the client runs it and answers with :class:`FunctionCallResponse`.
    """

    id: str = msgspec.field(default_factory=str)
    name: str = msgspec.field(default_factory=str)
    arguments: str = msgspec.field(default_factory=str)
    client_side: bool = msgspec.field(default_factory=bool)
    thought_signature: str | None = None


class FunctionCallRequest(ServerMessageBase, kw_only=True):
    """The LLM wants functions called."""

    functions: list[FunctionCall] = msgspec.field(default_factory=no_items)


class AgentStartedSpeaking(ServerMessageBase, kw_only=True):
    """Agent audio for a reply starts; latencies in seconds."""

    total_latency: float = msgspec.field(default_factory=float)
    tts_latency: float = msgspec.field(default_factory=float)
    ttt_latency: float = msgspec.field(default_factory=float)


class AgentAudioDone(ServerMessageBase):
    """The last audio frame of the current agent reply was sent (playback may go on)."""


class AgentAudioCut(ServerMessageBase, kw_only=True):
    """Made by rxdeepgram, never sent by Deepgram (not decoded from the wire): a resumable
    connection (``reconnect=``) dropped in the middle of an agent reply, after its
    ``ConversationText`` (and maybe its ``AgentStartedSpeaking`` and some audio) and before its
    ``AgentAudioDone``. The new session does not speak that reply again (it is in its context),
    so this message closes it in place of ``AgentAudioDone``: wait for either.

    ``content`` is the reply's text (``""`` if it was not known), ``started`` whether its
    ``AgentStartedSpeaking`` was delivered, ``audio_bytes`` how much of its audio was."""

    content: str = ""
    started: bool = False
    audio_bytes: int = 0


class LatencyReport(ServerMessageBase, kw_only=True):
    """Per-turn latency breakdown in seconds; every field optional.

    ``stt_latency`` is a legacy field still in the docs (removed from the spec).
    """

    ttt_token_latency: float | None = None
    ttt_text_latency: float | None = None
    ttt_tool_latency: float | None = None
    ttt_thinking_latency: float | None = None
    tts_latency: float | None = None
    total_latency: float | None = None
    stt_latency: float | None = None


class PromptUpdated(ServerMessageBase):
    """``UpdatePrompt`` applied."""


class SpeakUpdated(ServerMessageBase):
    """``UpdateSpeak`` applied."""


class ThinkUpdated(ServerMessageBase):
    """``UpdateThink`` applied."""


class ListenUpdated(ServerMessageBase):
    """``UpdateListen`` applied."""


class ThinkLiveUpdated(ServerMessageBase):
    """``UpdateThink_Live`` applied."""


class FrustrationDetected(ServerMessageBase, kw_only=True):
    """Think Live heard the user getting frustrated. ``count`` is the number of these events in
    the session (from 1); ``escalated`` turns true once it reaches the provider's
    ``frustration_max_count`` (time to hand over to a human)."""

    count: int = msgspec.field(default_factory=int)
    escalated: bool = msgspec.field(default_factory=bool)


class CancelledFunction(ServerStruct, kw_only=True):
    """An item of ``FunctionCallCancelled.functions``: the ``id`` and ``name`` of a
    ``FunctionCallRequest`` item that is no longer wanted."""

    id: str = msgspec.field(default_factory=str)
    name: str = msgspec.field(default_factory=str)


class FunctionCallCancelled(ServerMessageBase, kw_only=True):
    """Function calls asked for earlier are no longer valid (the user's turn resumed, the
    agent was interrupted): send no ``FunctionCallResponse`` for these ids."""

    functions: list[CancelledFunction] = msgspec.field(default_factory=no_items)


class CustomFromThinkProvider(ServerMessageBase, tag="__customFromThinkProvider", kw_only=True):
    """A custom payload the think provider returned (wire type ``__customFromThinkProvider``);
    ``content`` is any JSON value."""

    content: Any = None


class InjectionRefused(ServerMessageBase, kw_only=True):
    """An ``InjectAgentMessage`` was refused (a turn was in progress); ``message`` says why."""

    message: str = msgspec.field(default_factory=str)


class Error(ServerMessageBase, kw_only=True):
    """Fatal error; the session ends (e.g. ``CLIENT_MESSAGE_TIMEOUT``,
    ``UNPARSABLE_CLIENT_MESSAGE``).

    The live service has been seen sending ``description`` and ``message`` without ``code``:
    ``code`` is then ``""`` and ``message`` (not in the spec) holds the extra text.
    """

    description: str = msgspec.field(default_factory=str)
    code: str = msgspec.field(default_factory=str)
    message: str | None = None


class Warning(ServerMessageBase, kw_only=True):
    """Non-fatal problem (e.g. ``PROMPT_TOO_LONG``, ``FORCE_END_TURN_UNSUPPORTED``)."""

    description: str = msgspec.field(default_factory=str)
    code: str = msgspec.field(default_factory=str)


class HistoryFunctionCall(ServerStruct, kw_only=True):
    """A function call record of a ``History`` message."""

    id: str = msgspec.field(default_factory=str)
    name: str = msgspec.field(default_factory=str)
    client_side: bool = msgspec.field(default_factory=bool)
    arguments: str = msgspec.field(default_factory=str)
    response: str = msgspec.field(default_factory=str)
    thought_signature: str | None = None


class History(ServerMessageBase, kw_only=True):
    """A conversation history record (with ``flags.history`` on, the default).

    Either a conversation message (``role`` and ``content`` set) or function call records
    (``function_calls`` set); one struct, since both shapes share the tag.
    """

    role: str | None = None
    content: str | None = None
    function_calls: list[HistoryFunctionCall] | None = None


class EndOfThought(ServerMessageBase):
    """Undocumented, seen from the live service after each user turn."""


# --- client -> server (and FunctionCallResponse, both ways) ------------------------------------


class Settings(ClientMessageBase, kw_only=True):
    """The agent's configuration: send it once, first, after ``Welcome``.

    ``agent`` is an :class:`Agent` or the uuid (``str``) of a stored agent configuration.
    """

    audio: Audio
    agent: Agent | str
    tags: list[str] | None = None
    experimental: bool | None = None
    flags: Flags | None = None
    mip_opt_out: bool | None = None


class UpdateListen(ClientMessageBase, kw_only=True):
    """Retune the Flux listen provider mid-session; answered by ``ListenUpdated``."""

    listen: ListenUpdateSettings


class UpdateThink(ClientMessageBase, kw_only=True):
    """Replace the whole think configuration; answered by ``ThinkUpdated``."""

    think: ThinkSettings | list[ThinkSettings]


class UpdateThinkLive(ClientMessageBase, tag="UpdateThink_Live", kw_only=True):
    """Replace the Think Live configuration (wire type ``UpdateThink_Live``); answered by
    ``ThinkLiveUpdated``."""

    think_live: ThinkLiveSettings


class CustomToThinkProvider(ClientMessageBase, tag="__customToThinkProvider", kw_only=True):
    """Pass a custom payload to the think provider (wire type ``__customToThinkProvider``);
    ``content`` is any JSON value. The provider may answer with ``CustomFromThinkProvider``."""

    content: Any


class UpdateSpeak(ClientMessageBase, kw_only=True):
    """Replace the speak configuration; answered by ``SpeakUpdated``."""

    speak: SpeakSettings | list[SpeakSettings]


class UpdatePrompt(ClientMessageBase, kw_only=True):
    """Replace the system prompt; answered by ``PromptUpdated``."""

    prompt: str


class InjectUserMessage(ClientMessageBase, kw_only=True):
    """The agent answers ``content`` as if the user had said it."""

    content: str


class InjectAgentMessage(ClientMessageBase, kw_only=True):
    """Make the agent say ``message``; ``behavior`` ``default`` (refused mid-turn with
    ``InjectionRefused``), ``queue`` or ``interrupt``.

    Dynamic injection: ``InjectAgentMessage(is_dynamic=True)`` with no ``message`` lets the
    Think Live model write the line (needs ``agent.think_live``). Exactly one of the two is
    given (:func:`validate_message` checks).
    """

    message: str | None = None
    behavior: Behavior | None = None
    is_dynamic: Literal[True] | None = None


class FunctionCallResponse(ClientMessageBase, kw_only=True):
    """The result of a client-side function call (a ``FunctionCallRequest`` item with
    ``client_side`` true): ``id`` and ``name`` are the item's, ``content`` the result (often JSON
    text). The spec marks ``id`` optional, as one schema serves both directions, but a client's
    answer needs it (:func:`validate_message` checks). Received results of server-side calls
    decode to the subclass :class:`ReceivedFunctionCallResponse`.
    """

    name: str
    content: str
    id: str | None = None


class ReceivedFunctionCallResponse(
    FunctionCallResponse, ServerMessageBase, tag="FunctionCallResponse", forbid_unknown_fields=False
):
    """A ``FunctionCallResponse`` the server sent: the result of a server-side function call
    (``client_side`` false; ``id`` may be absent).

    Same wire schema and fields as :class:`FunctionCallResponse`, of which it is a subclass
    (``isinstance(message, FunctionCallResponse)`` holds in both directions); unlike it, it
    ignores unknown fields, as every server message does. A tag cannot name two classes in one
    module, hence the second name.
    """

    name: str = msgspec.field(default_factory=str)
    content: str = msgspec.field(default_factory=str)


class KeepAlive(ClientMessageBase):
    """Keeps the session open while no audio is sent (about every 8 s); no reply."""


class ForceEndTurn(ClientMessageBase):
    """Post-spec: end the user's turn now (Flux listen provider only; otherwise the server warns
    ``FORCE_END_TURN_UNSUPPORTED``)."""


ServerMessage: TypeAlias = (
    Welcome
    | SettingsApplied
    | ConversationText
    | UserStartedSpeaking
    | AgentThinking
    | FunctionCallRequest
    | ReceivedFunctionCallResponse
    | AgentStartedSpeaking
    | AgentAudioDone
    | LatencyReport
    | PromptUpdated
    | SpeakUpdated
    | ThinkUpdated
    | ListenUpdated
    | InjectionRefused
    | Error
    | Warning
    | History
    | EndOfThought
    | ThinkLiveUpdated
    | FrustrationDetected
    | FunctionCallCancelled
    | CustomFromThinkProvider
)
"""Every JSON message the server sends on Agent V1."""

ClientMessage: TypeAlias = (
    Settings
    | UpdateListen
    | UpdateThink
    | UpdateSpeak
    | UpdatePrompt
    | InjectUserMessage
    | InjectAgentMessage
    | FunctionCallResponse
    | KeepAlive
    | ForceEndTurn
    | UpdateThinkLive
    | CustomToThinkProvider
)
"""Every JSON message a client sends on Agent V1."""

_codec = Codec[ServerMessage, ClientMessage](ServerMessage, ClientMessage, __name__)
SERVER_MESSAGES, CLIENT_MESSAGES = _codec.server_messages, _codec.client_messages
decode = _codec.decode


def decode_client(frame: str | bytes) -> ClientMessage | bytes:
    """Decode a frame the server received, strictly (unknown types, fields and provider types
    raise ``msgspec.ValidationError``). Binary frames (microphone audio) come back as ``bytes``.

    A ``Settings`` listen provider without ``version`` (valid in the spec) is read as ``v2`` for a
    ``flux-*`` model and as ``v1`` otherwise.
    """
    try:
        result: ClientMessage | bytes = _codec.decode_client(frame)
    except msgspec.ValidationError:
        patched = _with_listen_version(frame)
        if patched is None:
            raise
        converted: ClientMessage = msgspec.convert(patched, ClientMessage)
        return converted
    return result


def _with_listen_version(frame: str | bytes) -> dict[str, Any] | None:
    """The frame as builtins with the missing listen provider ``version`` filled in, or None
    when the frame is not a Settings whose listen provider lacks ``version``."""
    try:
        obj = msgspec.json.decode(frame)
    except (msgspec.DecodeError, RecursionError):
        return None
    if not isinstance(obj, dict) or obj.get("type") != "Settings":
        return None
    agent = obj.get("agent")
    listen = agent.get("listen") if isinstance(agent, dict) else None
    provider = listen.get("provider") if isinstance(listen, dict) else None
    if not isinstance(provider, dict) or "version" in provider:
        return None
    model = provider.get("model")
    flux = isinstance(model, str) and model.startswith("flux-")
    provider["version"] = "v2" if flux else "v1"
    return obj


# --- validation --------------------------------------------------------------------------------

_THINK_TEMPERATURE_MAX: dict[str, float] = {
    "open_ai": 2.0,
    "aws_bedrock": 2.0,
    "anthropic": 1.0,
    "google": 2.0,
    "groq": 2.0,
    "deepgram": 2.0,
}

# Model families of Deepgram's *managed* LLMs (no think.endpoint). The spec's enums lag behind
# the managed list (which Deepgram extends, e.g. gpt-5.x), and with an endpoint (bring your own
# LLM) any model string is accepted, so only the family is checked, and only when managed.
_MANAGED_THINK_MODEL_PREFIXES: dict[str, tuple[str, ...]] = {
    "open_ai": ("gpt-",),
    "anthropic": ("claude-",),
    "google": ("gemini-",),
    "groq": ("openai/gpt-oss-",),
    "deepgram": ("think-", "phonellm-"),
}

_HTTP_METHODS = ("get", "post", "put", "patch", "delete", "head", "options")


def _fail(path: str, problem: str) -> InvalidMessageError:
    return InvalidMessageError(path, problem)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


def _check_types(message: ClientMessageBase) -> None:
    """Re-check every field against its declared type (msgspec does not check constructor
    arguments): wrong types, bad enum values, floats in integer fields."""
    try:
        builtins = msgspec.to_builtins(message)
    except TypeError as exc:
        raise _fail(message.type, f"cannot be encoded: {exc}") from None
    try:
        msgspec.convert(builtins, type(message))
    except msgspec.ValidationError as exc:
        text = str(exc)
        problem, sep, where = text.rpartition(" - at `")
        if not sep:
            raise _fail(message.type, text) from None
        path = where.rstrip("`").removeprefix("$").removeprefix(".")
        raise _fail(path or message.type, problem) from None


def _check_number(
    path: str,
    value: float | int | None,
    low: float,
    high: float,
    *,
    also: tuple[float, ...] = (),
) -> None:
    if value is None or value in also:
        return
    if not low <= value <= high:
        raise _fail(path, f"{value!r} is out of range ({low:g} to {high:g})")


def _check_positive_int(path: str, value: int | None) -> None:
    if value is not None and value <= 0:
        raise _fail(path, f"must be a positive integer, got {value!r}")


def _check_nonempty(path: str, value: str | None, what: str = "must not be empty") -> None:
    if value is None or not value.strip():
        raise _fail(path, what)


def _items(prefix: str, value: object) -> list[tuple[str, Any]]:
    """(path, item) pairs of a one-or-list field: ``think`` or ``think[0]``, ``think[1]``..."""
    if isinstance(value, list):
        if not value:
            raise _fail(prefix, "an empty list: give at least one entry")
        return [(f"{prefix}[{i}]", item) for i, item in enumerate(value)]
    return [(prefix, value)]


def _check_url(path: str, url: str | None, schemes: Sequence[str] | None = None) -> None:
    _check_nonempty(path, url, "an endpoint needs a url")
    assert url is not None
    parts = urlsplit(url.strip())
    if not parts.scheme or not parts.netloc:
        raise _fail(path, f"{url!r} is not an absolute URL")
    if schemes is not None and parts.scheme.lower() not in schemes:
        raise _fail(
            path, f"scheme {parts.scheme!r} is not allowed here (use {' or '.join(schemes)})"
        )


def _check_aws_credentials(path: str, creds: AwsCredentials) -> None:
    if creds.type is None:
        raise _fail(_join(path, "type"), "required: 'sts' or 'iam'")
    for name in ("region", "access_key_id", "secret_access_key"):
        _check_nonempty(_join(path, name), getattr(creds, name), "required")
    if creds.type == "sts":
        _check_nonempty(_join(path, "session_token"), creds.session_token, "required for sts")
    elif creds.session_token is not None:
        raise _fail(_join(path, "session_token"), "only sts credentials take a session_token")


def _check_audio(path: str, audio: Audio) -> None:
    if audio.input is not None:
        _check_positive_int(_join(path, "input.sample_rate"), audio.input.sample_rate)
    if audio.output is not None:
        _check_positive_int(_join(path, "output.sample_rate"), audio.output.sample_rate)
        _check_positive_int(_join(path, "output.bitrate"), audio.output.bitrate)


def _check_context(path: str, context: Context) -> None:
    for i, item in enumerate(context.messages or ()):
        where = f"{_join(path, 'messages')}[{i}]"
        conversational = item.role is not None or item.content is not None
        if item.function_calls is not None:
            if conversational:
                raise _fail(where, "either role/content or function_calls, not both")
            for j, call in enumerate(item.function_calls):
                _check_nonempty(f"{where}.function_calls[{j}].id", call.id)
                _check_nonempty(f"{where}.function_calls[{j}].name", call.name)
        else:
            if item.role is None:
                raise _fail(_join(where, "role"), "required ('user' or 'assistant')")
            if item.content is None:
                raise _fail(_join(where, "content"), "required")


def _check_listen_provider(path: str, provider: ListenProvider) -> None:
    if isinstance(provider, ListenProviderV1):
        return
    model_path = _join(path, "model")
    _check_nonempty(model_path, provider.model, "version v2 (Flux) requires a model")
    if not provider.model.startswith("flux-"):
        raise _fail(model_path, f"{provider.model!r} is not a Flux model (flux-general-en, ...)")
    if provider.language_hints is not None and provider.model != "flux-general-multi":
        raise _fail(_join(path, "language_hints"), "only supported with flux-general-multi")
    # 1.0 disables Flux's own end-of-turn detection (documented after the spec snapshot).
    _check_number(_join(path, "eot_threshold"), provider.eot_threshold, 0.5, 0.9, also=(1.0,))
    _check_number(_join(path, "eager_eot_threshold"), provider.eager_eot_threshold, 0.3, 0.9)
    _check_positive_int(_join(path, "eot_timeout_ms"), provider.eot_timeout_ms)


def _check_think(path: str, think: ThinkSettings) -> None:
    if not isinstance(think, ThinkSettings):
        raise _fail(path, f"expected ThinkSettings, got {type(think).__name__}")
    provider: object = think.provider
    ppath = _join(path, "provider")
    if not isinstance(provider, get_args(ThinkProvider)):
        names = ", ".join(cls.__name__ for cls in get_args(ThinkProvider))
        raise _fail(ppath, f"expected one of {names}, got {type(provider).__name__}")
    kind = provider.__struct_config__.tag
    if not isinstance(kind, str):  # every think provider is tagged by its wire type
        raise _fail(ppath, f"{type(provider).__name__} has no provider type")
    _check_nonempty(_join(ppath, "model"), provider.model, "required")
    prefixes = _MANAGED_THINK_MODEL_PREFIXES.get(kind)
    if think.endpoint is None and prefixes and not provider.model.startswith(prefixes):
        raise _fail(
            _join(ppath, "model"),
            f"{provider.model!r} is not a managed {kind} model (names start with "
            f"{' or '.join(map(repr, prefixes))}); set endpoint to use a custom model",
        )
    _check_number(
        _join(ppath, "temperature"), provider.temperature, 0.0, _THINK_TEMPERATURE_MAX[kind]
    )
    if isinstance(provider, AwsBedrockThinkProvider) and provider.credentials is not None:
        _check_aws_credentials(_join(ppath, "credentials"), provider.credentials)
    if think.endpoint is not None:
        _check_url(_join(path, "endpoint.url"), think.endpoint.url)
    for i, function in enumerate(think.functions or ()):
        fpath = f"{_join(path, 'functions')}[{i}]"
        _check_nonempty(_join(fpath, "name"), function.name, "required")
        _check_filler(fpath, function)
        if function.endpoint is not None:
            _check_url(_join(fpath, "endpoint.url"), function.endpoint.url)
            method = function.endpoint.method
            if method is not None and method.lower() not in _HTTP_METHODS:
                raise _fail(_join(fpath, "endpoint.method"), f"{method!r} is not an HTTP method")
    length = think.context_length
    if length is not None:
        cpath = _join(path, "context_length")
        if isinstance(length, str):
            if length != "max":
                raise _fail(cpath, f"{length!r}: use 'max' or a number of characters")
        elif length <= 0:
            raise _fail(cpath, f"must be 'max' or a positive number, got {length!r}")
        if think.endpoint is None:
            raise _fail(cpath, "only configurable with a custom think endpoint")


def _check_filler(path: str, function: Function) -> None:
    count = function.agent_filler_max_count
    if count is not None and count < 0:
        raise _fail(_join(path, "agent_filler_max_count"), f"must be 0 or more, got {count!r}")
    if count:  # the interval is ignored (any value accepted) when no filler is asked for
        _check_number(
            _join(path, "agent_filler_interval_ms"), function.agent_filler_interval_ms, 1000, 60000
        )


def _uses_filler(think: ThinkSettings) -> str | None:
    """The first filler field set on a function of ``think`` (they need ``think_live``)."""
    for function in think.functions or ():
        for name in ("initial_agent_filler", "agent_filler_max_count", "agent_filler_interval_ms"):
            if getattr(function, name) is not None:
                return f"{function.name}.{name}"
    return None


def _check_think_live(path: str, think_live: ThinkLiveSettings) -> None:
    ppath = _join(path, "provider")
    provider = think_live.provider
    _check_number(
        _join(ppath, "agent_backchannel_sensitivity"),
        provider.agent_backchannel_sensitivity,
        0.0,
        1.0,
    )
    for name in ("presence_check_max_count", "presence_check_interval_ms", "frustration_max_count"):
        value = getattr(provider, name)
        if value is not None and value < 0:
            raise _fail(_join(ppath, name), f"must be 0 or more, got {value!r}")
    for i, term in enumerate(provider.restricted_terms or ()):
        _check_nonempty(f"{_join(ppath, 'restricted_terms')}[{i}]", term)


def _check_speak(path: str, speak: SpeakSettings) -> None:
    provider = speak.provider
    ppath = _join(path, "provider")
    if isinstance(provider, DeepgramSpeakProvider):
        mpath = _join(ppath, "model")
        if provider.version == "v2":
            if not provider.model.startswith("flux-"):
                raise _fail(
                    mpath, f"{provider.model!r}: version v2 (Flux TTS) needs a flux-* model"
                )
            if provider.speed is not None:
                raise _fail(_join(ppath, "speed"), "only Aura (version v1) supports speed")
            _check_number(_join(ppath, "expressivity"), provider.expressivity, -2, 2)
        elif provider.model.startswith("flux-"):
            raise _fail(_join(ppath, "version"), "flux-* voices need version 'v2' (Flux TTS)")
        elif not provider.model.startswith("aura-"):
            raise _fail(mpath, f"{provider.model!r} is not an Aura voice (aura-2-thalia-en, ...)")
        elif provider.expressivity is not None:
            raise _fail(
                _join(ppath, "expressivity"), "only Flux TTS voices (version v2) support it"
            )
        if provider.speed is not None and provider.speed <= 0:
            raise _fail(_join(ppath, "speed"), f"must be positive, got {provider.speed!r}")
        if speak.endpoint is not None:
            _check_url(_join(path, "endpoint.url"), speak.endpoint.url, ("https",))
        return
    if speak.endpoint is None:
        raise _fail(_join(path, "endpoint"), "required for non-Deepgram speak providers")
    url_path = _join(path, "endpoint.url")
    if isinstance(provider, ElevenLabsSpeakProvider):
        _check_nonempty(_join(ppath, "model_id"), provider.model_id, "required")
        _check_url(url_path, speak.endpoint.url, ("https", "wss"))
        assert speak.endpoint.url is not None
        query = parse_qs(urlsplit(speak.endpoint.url).query)
        for banned in ("output_format", "model_id"):
            if banned in query:
                raise _fail(url_path, f"must not carry the {banned} query parameter")
        return
    _check_url(url_path, speak.endpoint.url, ("https",))
    if isinstance(provider, CartesiaSpeakProvider):
        _check_nonempty(_join(ppath, "model_id"), provider.model_id, "required")
        _check_nonempty(_join(ppath, "voice.mode"), provider.voice.mode, "required")
        _check_nonempty(_join(ppath, "voice.id"), provider.voice.id, "required")
        _check_number(_join(ppath, "volume"), provider.volume, 0.5, 2.0)
    elif isinstance(provider, OpenAiSpeakProvider):
        _check_nonempty(_join(ppath, "model"), provider.model, "required")
        _check_nonempty(_join(ppath, "voice"), provider.voice, "required")
    else:
        _check_nonempty(_join(ppath, "voice"), provider.voice, "required")
        _check_nonempty(_join(ppath, "language"), provider.language, "required")
        _check_aws_credentials(_join(ppath, "credentials"), provider.credentials)


def _check_agent(path: str, agent: Agent | str) -> None:
    if isinstance(agent, str):
        try:
            uuid.UUID(agent)
        except ValueError:
            raise _fail(path, "a string agent must be the uuid of a stored agent") from None
        return
    if agent.context is not None:
        _check_context(_join(path, "context"), agent.context)
    if agent.listen is not None and agent.listen.provider is not None:
        _check_listen_provider(_join(path, "listen.provider"), agent.listen.provider)
    if agent.think is not None:
        for where, think in _items(_join(path, "think"), agent.think):
            _check_think(where, think)
    if agent.speak is not None:
        for where, speak in _items(_join(path, "speak"), agent.speak):
            _check_speak(where, speak)
    if agent.think_live is not None:
        _check_think_live(_join(path, "think_live"), agent.think_live)
    elif agent.think is not None:
        for where, think in _items(_join(path, "think"), agent.think):
            filler = _uses_filler(think)
            if filler is not None:
                raise _fail(
                    f"{where}.functions", f"{filler} needs agent.think_live (Think Live) set"
                )


def validate_settings(settings: Settings) -> None:
    """Check a :class:`Settings` message beyond what its types express.

    Raises :class:`~rxdeepgram.errors.InvalidMessageError` whose ``field`` is the dotted path of
    the first offending field (e.g. ``agent.think[1].provider.temperature``). Checked: every
    field's type and enum value; integer fields are integers; sample rates and bitrates
    positive; a string ``agent`` is a uuid; context items have one shape; Flux listen providers
    have a ``flux-*`` model, thresholds in range (``eot_threshold`` 0.5-0.9, or 1.0;
    ``eager_eot_threshold`` 0.3-0.9) and ``language_hints`` only with ``flux-general-multi``;
    think temperatures per provider (0-2, Anthropic 0-1); managed think models belong to the
    provider's family (any model with a custom ``endpoint``); endpoints have a URL;
    ``context_length`` is ``"max"`` or positive and needs an endpoint; AWS credentials complete
    for their ``type`` (``session_token`` for ``sts`` only); Deepgram speak models match
    ``version`` (``aura-*`` v1, ``flux-*`` v2; ``speed`` only for v1); non-Deepgram speak
    providers have an ``https`` endpoint (``wss`` allowed for Eleven Labs); Cartesia ``volume``
    0.5-2.0; fallback lists are not empty.
    """
    if not isinstance(settings, Settings):
        raise TypeError(f"expected Settings, got {type(settings).__name__}")
    _check_types(settings)
    _check_audio("audio", settings.audio)
    _check_agent("agent", settings.agent)


def _check_update_think(message: Any) -> None:
    for where, think in _items("think", message.think):
        _check_think(where, think)


def _check_update_speak(message: Any) -> None:
    for where, speak in _items("speak", message.speak):
        _check_speak(where, speak)


def _check_update_listen(message: Any) -> None:
    _check_listen_provider("listen.provider", message.listen.provider)


def _check_update_think_live(message: Any) -> None:
    _check_think_live("think_live", message.think_live)


def _check_inject_agent(message: Any) -> None:
    if message.is_dynamic and message.message is not None:
        raise _fail("message", "a dynamic injection (is_dynamic) carries no message")
    if not message.is_dynamic:
        _check_nonempty("message", message.message, "required (or is_dynamic=True)")


def _check_function_response(message: Any) -> None:
    _check_nonempty("id", message.id, "required: the id of the FunctionCallRequest item")


_MESSAGE_CHECKS: dict[type[Any], Any] = {
    UpdateThink: _check_update_think,
    UpdateSpeak: _check_update_speak,
    UpdateListen: _check_update_listen,
    UpdateThinkLive: _check_update_think_live,
    InjectAgentMessage: _check_inject_agent,
    FunctionCallResponse: _check_function_response,
}
"""The checks beyond types, by message class (one dict lookup per message sent)."""

_CLIENT_CLASSES = frozenset(CLIENT_MESSAGES)


def validate_message(message: ClientMessage) -> None:
    """Check any client message beyond its types, as :func:`validate_settings` does.

    ``UpdateThink`` / ``UpdateSpeak`` / ``UpdateListen`` / ``UpdateThinkLive`` get the same
    checks as in ``Settings`` (paths start at ``think`` / ``speak`` / ``listen`` /
    ``think_live``); an ``InjectAgentMessage`` has either ``message`` or ``is_dynamic``; a
    ``FunctionCallResponse`` sent by a client needs its ``id``. Raises
    :class:`~rxdeepgram.errors.InvalidMessageError`.
    """
    cls = type(message)
    if cls not in _CLIENT_CLASSES or cls is Settings:
        if isinstance(message, Settings):
            validate_settings(message)
            return
        if not isinstance(message, CLIENT_MESSAGES):
            raise TypeError(f"not an Agent V1 client message: {cls.__name__}")
    _check_types(message)
    check = _MESSAGE_CHECKS.get(cls)
    if check is None and cls not in _CLIENT_CLASSES:  # a subclass of a client message
        check = next((c for k, c in _MESSAGE_CHECKS.items() if isinstance(message, k)), None)
    if check is not None:
        check(message)
