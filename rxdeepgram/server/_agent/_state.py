"""What an agent conversation knows, and how ``Settings`` and the ``Update*`` messages change
it: the history the think step sees, the prompt (cut to :data:`MAX_PROMPT_CHARS` for a managed
provider), the functions, the think / listen / Think Live providers; and the checks that refuse
(``INVALID_SETTINGS``) what the local server cannot honour."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ...errors import InvalidMessageError, InvalidOptionError
from ...messages.agent_v1 import (
    Agent,
    DeepgramSpeakProvider,
    DeepgramThinkProvider,
    Function,
    ListenProvider,
    ListenProviderV1,
    ListenProviderV2,
    Settings,
    SpeakSettings,
    ThinkLiveSettings,
    ThinkSettings,
    UpdateListen,
    UpdateSpeak,
    UpdateThink,
    UpdateThinkLive,
    validate_message,
    validate_settings,
)
from .._audio import SampleFormat
from .._capabilities import check_languages, voice_language
from .._pcm import OUTPUT_ENCODINGS
from .._stt import DataError, raw_sample_format
from ..think import CallResult, FunctionSpec, Message, ThinkRequest
from ._base import DEFAULT_SAMPLE_RATE, MAX_PROMPT_CHARS, fatal

if TYPE_CHECKING:
    from .._channel import ServerSettings
    from ._base import Link

__all__ = [
    "AgentState",
    "OutputFormat",
    "check_engines",
    "check_settings",
    "check_update",
    "first",
    "think_fast",
]


def first(value: Any) -> Any:
    """The first settings object of a one-or-list field (fallback lists: the local server uses
    the first entry)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def think_fast(think: ThinkSettings | None) -> DeepgramThinkProvider | None:
    """The think provider when it is Deepgram's ``think-fast`` model, else ``None``."""
    provider = think.provider if think is not None else None
    if isinstance(provider, DeepgramThinkProvider) and provider.model == "think-fast":
        return provider
    return None


def _functions(think: ThinkSettings | None) -> tuple[FunctionSpec, ...]:
    if think is None:
        return ()
    return tuple(
        FunctionSpec(
            name=f.name,
            description=f.description or "",
            parameters=f.parameters or {},
            client_side=f.endpoint is None,
        )
        for f in think.functions or ()
        if f.name
    )


def check_update(message: UpdateThink | UpdateSpeak | UpdateListen | UpdateThinkLive) -> None:
    """An ``Update*`` message checked as ``Settings`` are (``INVALID_SETTINGS``)."""
    try:
        validate_message(message)
    except InvalidMessageError as exc:
        raise fatal("INVALID_SETTINGS", f"{message.type}: {exc}") from None


class OutputFormat:
    """The agent's audio: ``encoding`` (one of ``OUTPUT_ENCODINGS``), ``rate``, ``wav``."""

    __slots__ = ("encoding", "rate", "wav")

    def __init__(
        self, encoding: str = "linear16", rate: int = DEFAULT_SAMPLE_RATE, wav: bool = False
    ) -> None:
        self.encoding = encoding
        self.rate = rate
        self.wav = wav


def check_settings(settings: Settings) -> tuple[SampleFormat, OutputFormat]:
    """``Settings`` validated, with the audio formats they ask for (``INVALID_SETTINGS`` for
    one the local server cannot handle)."""
    try:
        validate_settings(settings)
    except InvalidMessageError as exc:
        raise fatal("INVALID_SETTINGS", str(exc)) from None
    audio_in = settings.audio.input
    encoding = audio_in.encoding if audio_in is not None else "linear16"
    rate = audio_in.sample_rate if audio_in is not None else DEFAULT_SAMPLE_RATE
    try:
        fmt = raw_sample_format(encoding, rate)
    except DataError as exc:
        raise fatal("INVALID_SETTINGS", f"audio.input: {exc}") from None
    out = settings.audio.output
    out_encoding = (out.encoding if out is not None else None) or "linear16"
    if out_encoding not in OUTPUT_ENCODINGS:
        raise fatal(
            "INVALID_SETTINGS",
            f"audio.output.encoding {out_encoding!r} is not supported by the local server "
            f"(supported: {', '.join(sorted(OUTPUT_ENCODINGS))})",
        )
    container = (out.container if out is not None else None) or "none"
    if container not in ("none", "wav"):
        raise fatal(
            "INVALID_SETTINGS",
            f"audio.output.container {container!r} is not supported by the local server "
            "(supported: none, wav)",
        )
    out_rate = (out.sample_rate if out is not None else None) or DEFAULT_SAMPLE_RATE
    return fmt, OutputFormat(out_encoding, out_rate, container == "wav")


def check_engines(agent: Agent, server: ServerSettings) -> None:
    """Refuse (``Error`` ``INVALID_SETTINGS``, close 1008) a language the server's engines
    cannot honour: the listen provider's ``language`` / ``language_hints`` (or the deprecated
    ``agent.language``) for the STT engine, a Deepgram voice's language (the model's last part)
    for the TTS engine. See :mod:`.._capabilities`."""
    provider = agent.listen.provider if agent.listen is not None else None
    speak = first(agent.speak)
    voice = speak.provider if isinstance(speak, SpeakSettings) else None
    try:
        if isinstance(provider, ListenProviderV2):
            if provider.language_hints:
                option = "agent.listen.provider.language_hints"
                check_languages(option, provider.language_hints, server.engine)
        elif provider is not None and provider.language:
            check_languages("agent.listen.provider.language", [provider.language], server.engine)
        elif agent.language:
            check_languages("agent.language", [agent.language], server.engine)
        if isinstance(voice, DeepgramSpeakProvider):
            language = voice_language(voice.model)
            if language is not None:
                option = "agent.speak.provider.model"
                check_languages(option, [language], server.tts, "text-to-speech", voice.model)
    except InvalidOptionError as exc:
        raise fatal("INVALID_SETTINGS", str(exc)) from None


class AgentState:
    """The conversation's history and configuration."""

    def __init__(self, link: Link) -> None:
        self.link = link
        self.history: list[Message] = []
        self.history_on = True
        self.prompt: str | None = None
        self.functions: tuple[FunctionSpec, ...] = ()
        self.think: ThinkSettings | None = None
        self.listen: ListenProvider | None = None
        self.think_live: ThinkLiveSettings | None = None
        self.mip_opt_out = False

    def adopt(self, settings: Settings, agent: Agent) -> bool:
        """Take the conversation's part of ``Settings``; ``True`` if the prompt had to be cut."""
        if settings.mip_opt_out and think_fast(first(agent.think)) is not None:
            raise fatal(
                "INVALID_SETTINGS",
                "agent.think.provider.model: think-fast requires the Model Improvement Program "
                "(mip_opt_out is true); use phonellm-mini-alpha-2-fp8 to opt out",
            )
        self.mip_opt_out = bool(settings.mip_opt_out)
        self.history_on = settings.flags is None or settings.flags.history is not False
        self.listen = agent.listen.provider if agent.listen is not None else None
        self.think_live = agent.think_live
        too_long = self.set_think(first(agent.think))
        for item in (agent.context.messages or ()) if agent.context is not None else ():
            if item.role is not None and item.content is not None:
                self.history.append(Message(item.role, item.content))
        return too_long

    def set_think(self, think: ThinkSettings | None) -> bool:
        """Adopt a think configuration; ``True`` if its prompt had to be cut."""
        self.think = think
        self.functions = _functions(think)
        return self.set_prompt(think.prompt if think is not None else None)

    def set_prompt(self, prompt: str | None) -> bool:
        """Adopt a prompt; ``True`` if it had to be cut."""
        managed = self.think is None or self.think.endpoint is None
        if prompt is not None and managed and len(prompt) > MAX_PROMPT_CHARS:
            self.prompt = prompt[:MAX_PROMPT_CHARS]
            return True
        self.prompt = prompt
        return False

    def update_think(self, message: UpdateThink) -> bool:
        """``UpdateThink`` checked and adopted; ``True`` if its prompt had to be cut."""
        check_update(message)
        if self.mip_opt_out and think_fast(first(message.think)) is not None:
            raise fatal(
                "INVALID_SETTINGS",
                "UpdateThink: think-fast requires the Model Improvement Program "
                "(mip_opt_out is true)",
            )
        return self.set_think(first(message.think))

    def update_listen(self, provider: ListenProvider) -> None:
        current = self.listen
        if type(current) is not type(provider) or current.model != provider.model:
            shown = "none"
            if current is not None:
                shown = f"{current.model!r} (version {current.__struct_config__.tag})"
            raise fatal(
                "INVALID_SETTINGS",
                "UpdateListen must name the session's listen provider: the same version and "
                f"model (current: {shown})",
            )
        if isinstance(provider, ListenProviderV1) and isinstance(current, ListenProviderV1):
            # V1 takes the options it changes; what it leaves out stays as it was.
            provider = ListenProviderV1(
                model=current.model,
                language=provider.language if provider.language is not None else current.language,
                keyterms=provider.keyterms if provider.keyterms is not None else current.keyterms,
                smart_format=(
                    provider.smart_format
                    if provider.smart_format is not None
                    else current.smart_format
                ),
            )
        self.listen = provider

    def function_settings(self) -> list[Function]:
        return list(self.think.functions or ()) if self.think is not None else []

    def request(self, results: tuple[CallResult, ...] = ()) -> ThinkRequest:
        """What the think step is given now."""
        think = self.think
        provider = think.provider if think is not None else None
        kind = provider.__struct_config__.tag if provider is not None else ""
        return ThinkRequest(
            messages=tuple(self.history),
            functions=self.functions,
            prompt=self.prompt,
            results=results,
            provider=kind if isinstance(kind, str) else "",
            model=provider.model if provider is not None else "",
        )

    async def prompt_warning(self) -> None:
        await self.link.warn(
            "PROMPT_TOO_LONG",
            f"The prompt was longer than {MAX_PROMPT_CHARS} characters and was truncated.",
        )

    async def voice_prompt_warning(self) -> None:
        provider = think_fast(self.think)
        if provider is not None and not provider.voice_prompt_opt_out:
            await self.link.warn(
                "VOICE_PROMPT_ADDED",
                "Spoken-style instructions were placed ahead of the prompt for think-fast; "
                "set voice_prompt_opt_out to send the prompt unchanged.",
            )
