"""``/v1/agent/converse``: Deepgram's Voice Agent, served locally.

One socket carries the listen -> think -> speak loop. Listening reuses the speech-to-text
plumbing of the Listen channels (:mod:`._stt`: decoding, resampling to the engine's rate, 10 ms
frames, energy-based speech segments, the engine interface); thinking is a Python callable
(:mod:`.think`, ``DeepgramServer(think=...)``); speaking is the server's
:class:`~.engines.TtsEngine`. Choices where Deepgram documents nothing, or where the local server
differs, are marked *local*.

Session
  * ``Welcome {request_id}`` at once (the ``dg-request-id`` of the handshake). The URL takes no
    query parameters (400 naming the first one).
  * The first frame must be a ``Settings`` message; anything else first (audio, ``KeepAlive``
    included) is a fatal ``NON_SETTINGS_MESSAGE_BEFORE_SETTINGS``, a second ``Settings`` a fatal
    ``SETTINGS_ALREADY_APPLIED``. ``Settings`` is decoded strictly
    (:func:`~rxdeepgram.messages.agent_v1.decode_client`) and checked with
    :func:`~rxdeepgram.messages.agent_v1.validate_settings` (``INVALID_SETTINGS`` naming the
    field). *Local*: audio formats the server cannot handle are ``INVALID_SETTINGS`` too
    (input: ``linear16``, ``linear32``, ``mulaw``, ``alaw``; output: ``linear16``, ``mulaw``,
    ``alaw``, container ``none`` or ``wav``). Defaults: input ``linear16`` at 24000 Hz, output
    ``linear16`` at 24000 Hz. A string ``agent`` (a stored configuration) runs with defaults.
  * Then ``SettingsApplied``, a ``Warning PROMPT_TOO_LONG`` if the prompt exceeds 25,000
    characters without a custom think ``endpoint`` (it is truncated), and the ``greeting``, if
    any, spoken like any assistant statement.

A user turn
  * Microphone audio in ``audio.input`` format goes through the speech detector: at speech onset
    ``UserStartedSpeaking``; after ``end_of_turn_ms`` of silence the utterance is transcribed by
    the server's engine (``scripted``: the next line of its script; ``local``: pocketsphinx,
    given the lead-in and tail it asks for, as on ``/v1/listen``) and the turn starts. An
    empty transcript (noise) starts no turn. ``InjectUserMessage`` starts a turn with its
    ``content`` as if the user had said it.
  * The user's ``ConversationText {role: user}`` -> ``History`` go out as soon as the utterance
    is transcribed (or the injection arrives), in order with what the user says next; the turn
    is queued.
  * The turn: the think step. A reply that
    asks for function calls gives ``AgentThinking`` (its reasoning, when it has some) and one
    ``FunctionCallRequest`` listing them (ids ``fc_<uuid>``; ``client_side`` true for functions
    declared without an ``endpoint`` and for undeclared ones). Server-side calls are *not* made:
    the handler's ``server_function`` (by default
    :func:`~.think.simulate_server_function`) makes a canned result, reported at once in a
    server ``FunctionCallResponse``; client-side calls wait for the client's
    ``FunctionCallResponse`` with the same ``id`` (a response without ``id`` is matched by
    ``name``; unknown ids are ignored). Then ``History {function_calls}`` and the think step runs
    again with the results, at most ``max_think_rounds`` times (then ``Warning
    THINK_REQUEST_FAILED``; so is a think step that raises).
  * Speaking a reply: ``ConversationText {role: assistant}`` -> ``History`` ->
    ``AgentStartedSpeaking {total_latency, tts_latency, ttt_latency}`` (measured, seconds) ->
    binary audio in ``audio.output`` format (``chunk_ms`` per frame; with ``container: wav`` a
    WAV header starts each reply) -> ``AgentAudioDone`` -> ``LatencyReport``. With ``realtime``
    (the default) audio is paced at playback speed, ``lead`` seconds ahead; otherwise it is sent
    as fast as it is made.
  * Every ``ConversationText`` carries ``conversational_behavior``: ``default``, or ``filler``
    for the lines below.
  * ``History`` messages are sent unless ``flags.history`` is false.
  * Barge-in: speech onset while agent audio is being sent -> ``UserStartedSpeaking`` and the
    rest of that reply's audio is dropped; *local*: the reply still ends with
    ``AgentAudioDone`` and ``LatencyReport``, so each ``AgentStartedSpeaking`` is closed.
  * Turns run one at a time, in order; a turn (or statement) arriving while one runs waits.
  * The user speaking again (speech onset) while client-side calls wait for their answers:
    ``FunctionCallCancelled`` lists them and their turn ends without a reply (*local*: the
    local server never dispatches speculatively, so this is its "resumed turn"); calls of
    functions with ``defer_until_eot`` are kept and answered as usual.

Deepgram's own think models (``think.provider.type: deepgram``)
  * ``think-fast``: ``Warning VOICE_PROMPT_ADDED`` after ``SettingsApplied`` / ``ThinkUpdated``
    unless ``voice_prompt_opt_out``; with ``mip_opt_out`` it is ``INVALID_SETTINGS``, as
    Deepgram documents. The reply itself comes from the local think step, as for every
    provider.

Think Live (``agent.think_live``, ``UpdateThink_Live``), *local* stand-ins for Deepgram's model
  * While client-side calls are outstanding: one filler line (:data:`FILLER_LINE`,
    ``conversational_behavior: filler``) at once for a function with ``initial_agent_filler``
    (unless the reply already said something before the call), then up to
    ``agent_filler_max_count`` more, each after ``agent_filler_interval_ms``.
  * ``InjectAgentMessage {is_dynamic: true}`` speaks :data:`DYNAMIC_LINE` (a ``filler``);
    without Think Live it is refused (``InjectionRefused``).
  * A user statement with a word of frustration (:data:`FRUSTRATION_WORDS`) is a
    ``FrustrationDetected {count, escalated}``; ``escalated`` from ``frustration_max_count``
    (default 3) on, none when it is 0.
  * Backchannels and presence checks are not made.

Other client messages
  * ``InjectAgentMessage``: ``behavior`` ``default`` -> spoken if neither the user (speech
    detected and not yet ended) nor the agent (a turn or statement in progress or queued) is
    mid-turn, else ``InjectionRefused``; ``queue`` -> refused only while the user speaks,
    otherwise spoken after what is queued; ``interrupt`` -> current agent audio is dropped and the
    message is spoken next.
  * ``UpdatePrompt`` / ``UpdateThink`` / ``UpdateSpeak`` / ``UpdateListen`` /
    ``UpdateThink_Live`` -> applied and acknowledged with ``PromptUpdated`` / ``ThinkUpdated`` /
    ``SpeakUpdated`` / ``ListenUpdated`` / ``ThinkLiveUpdated`` (checked as in ``Settings``:
    ``INVALID_SETTINGS``; ``UpdateListen`` must name the session's own listen provider, same
    version and model: a V1 one changes ``language`` / ``keyterms`` / ``smart_format``, what it
    leaves out staying as it was). Voice changes (``speed``, ``expressivity`` included) do not
    change the local voice.
  * ``__customToThinkProvider`` -> *local*: the think step has no custom protocol, so its
    ``content`` comes straight back in a ``__customFromThinkProvider``.
  * ``ForceEndTurn`` ends the user's utterance now when the listen provider is Flux (``version:
    v2``), else ``Warning FORCE_END_TURN_UNSUPPORTED``.
  * ``KeepAlive``: no reply. Any frame restarts the idle timer.

Errors (an ``Error {code, description}``, then the socket closes):

  =========================================  ==========================
  cause                                      code / close code
  =========================================  ==========================
  a text frame that does not decode          ``UNPARSABLE_CLIENT_MESSAGE`` / 1008 ``DATA-0000``
  a frame before ``Settings``                ``NON_SETTINGS_MESSAGE_BEFORE_SETTINGS`` / 1008
  a second ``Settings``                      ``SETTINGS_ALREADY_APPLIED`` / 1008
  invalid settings or update                 ``INVALID_SETTINGS`` / 1008
  no frame for ``idle_timeout`` seconds      ``CLIENT_MESSAGE_TIMEOUT`` / 1011 ``NET-0001``
  an engine (speech-to-text, TTS) failure    ``INTERNAL_SERVER_ERROR`` / 1011 ``NET-0000``
  =========================================  ==========================

The close codes are *local* (Deepgram documents only the ``Error`` codes).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import logging
import re
import struct
import time
import uuid
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal

import msgspec
from websockets.exceptions import ConnectionClosed

from ..errors import InvalidMessageError, InvalidOptionError
from ..messages import MessageBase, encode
from ..messages.agent_v1 import (
    Agent,
    AgentAudioDone,
    AgentStartedSpeaking,
    AgentThinking,
    CancelledFunction,
    ConversationText,
    CustomFromThinkProvider,
    CustomToThinkProvider,
    DeepgramSpeakProvider,
    DeepgramThinkProvider,
    Error,
    ForceEndTurn,
    FrustrationDetected,
    Function,
    FunctionCall,
    FunctionCallCancelled,
    FunctionCallRequest,
    FunctionCallResponse,
    History,
    HistoryFunctionCall,
    InjectAgentMessage,
    InjectionRefused,
    InjectUserMessage,
    KeepAlive,
    LatencyReport,
    ListenProvider,
    ListenProviderV1,
    ListenProviderV2,
    ListenUpdated,
    PromptUpdated,
    Settings,
    SettingsApplied,
    SpeakSettings,
    SpeakUpdated,
    ThinkLiveSettings,
    ThinkLiveUpdated,
    ThinkSettings,
    ThinkUpdated,
    UpdateListen,
    UpdatePrompt,
    UpdateSpeak,
    UpdateThink,
    UpdateThinkLive,
    UserStartedSpeaking,
    Warning,
    Welcome,
    decode_client,
    validate_message,
    validate_settings,
)
from ._audio import PcmDecoder, SampleFormat
from ._capabilities import check_languages, voice_language
from ._pcm import OUTPUT_ENCODINGS, encode_pcm16
from ._stt import (
    DataError,
    FrameSplitter,
    Margins,
    Segment,
    Segmenter,
    call_engine,
    close_reason,
    raw_sample_format,
    receive,
    round_time,
    transcribe_segment,
)
from .think import (
    Call,
    CallResult,
    FunctionSpec,
    Message,
    ThinkReply,
    ThinkRequest,
    run_think,
    simulate_server_function,
)

if TYPE_CHECKING:
    from websockets.asyncio.server import ServerConnection

    from ._channel import ServerSession, ServerSettings
    from .engines import SttStream

__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "MAX_PROMPT_CHARS",
    "AgentV1Handler",
    "ServerFunction",
]

log = logging.getLogger("rxdeepgram.server")

DEFAULT_SAMPLE_RATE = 24000
"""Input and output sample rate when ``Settings.audio`` names none."""
MAX_PROMPT_CHARS = 25_000

_CANCELLED: Any = object()
"""The answer of a client-side call that ``FunctionCallCancelled`` withdrew."""

DYNAMIC_LINE = "One moment, please."
"""What the local server's stand-in for Think Live says for a dynamic ``InjectAgentMessage``
(``is_dynamic``): one fixed filler line, ``conversational_behavior`` ``"filler"``."""

FRUSTRATION_WORDS = re.compile(
    r"\b(frustrat\w*|ridiculous|useless|annoy\w*|fed up|unacceptable)\b", re.IGNORECASE
)
"""A user statement matching this is a ``FrustrationDetected`` when Think Live is on."""

FILLER_LINE = "Let me check on that."
"""The filler line the local Think Live stand-in says while a function call is outstanding."""

DEFAULT_FRUSTRATION_MAX = 3
"""``escalated`` from this count on when ``frustration_max_count`` is not given."""
"""Longest prompt kept for a managed think provider (longer ones are cut, with a Warning)."""

ServerFunction = Callable[[str, Mapping[str, Any]], str]
"""Makes the result (JSON text) of a server-side function call: ``(name, arguments) -> str``."""

_WAV_TAGS = {"linear16": (1, 16), "mulaw": (7, 8), "alaw": (6, 8)}


class AgentV1Handler:
    """The ``/v1/agent/converse`` route.

    Args:
        realtime: pace agent audio at playback speed (``lead`` seconds ahead), so barge-in can
            cut a reply short; ``False`` sends each reply's audio as fast as it is made.
        lead: seconds of agent audio sent ahead of playback when ``realtime``.
        chunk_ms: milliseconds of agent audio per binary frame.
        end_of_turn_ms: silence that ends the user's utterance.
        max_think_rounds: think-step calls per turn that may ask for functions.
        server_function: the canned result of server-side function calls.
        on_client_frame: called with ``(request_id, frame)`` for every frame a client sends,
            before it is handled, frames still buffered when the client closed included (tests
            use it to see exactly what went over the wire).
    """

    def __init__(
        self,
        *,
        realtime: bool = True,
        lead: float = 0.2,
        chunk_ms: int = 100,
        end_of_turn_ms: int = 500,
        max_think_rounds: int = 4,
        server_function: ServerFunction = simulate_server_function,
        on_client_frame: Callable[[str, str | bytes], None] | None = None,
    ) -> None:
        if chunk_ms <= 0 or end_of_turn_ms <= 0 or max_think_rounds <= 0 or lead < 0:
            raise ValueError(
                "chunk_ms, end_of_turn_ms and max_think_rounds must be positive, lead not negative"
            )
        self.realtime = realtime
        self.lead = lead
        self.chunk_ms = chunk_ms
        self.end_of_turn_ms = end_of_turn_ms
        self.max_think_rounds = max_think_rounds
        self.server_function = server_function
        self.on_client_frame = on_client_frame

    def parse_options(self, pairs: Sequence[tuple[str, str]]) -> None:
        """The agent takes no query parameters (it is configured with ``Settings``)."""
        for key, value in pairs:
            raise InvalidOptionError(
                key, value, "the agent takes no query parameters; configure it with Settings"
            )

    async def serve(self, session: ServerSession) -> None:
        """Run one connection."""
        await _Agent(self, session.websocket, session.request_id, session.server).run()

    def __repr__(self) -> str:
        return f"AgentV1Handler(realtime={self.realtime}, chunk_ms={self.chunk_ms})"


# --- helpers -----------------------------------------------------------------------------------


class _Fatal(Exception):
    """End the session with ``Error {code, description}`` and a close frame."""

    def __init__(self, code: str, description: str, close: int = 1008, reason: str = "DATA-0000"):
        super().__init__(description)
        self.code = code
        self.description = description
        self.close = close
        self.reason = reason


def _timeout_fatal(idle: float) -> _Fatal:
    return _Fatal(
        "CLIENT_MESSAGE_TIMEOUT",
        f"No message from the client within {idle:g} s: send audio or KeepAlive.",
        1011,
        "NET-0001",
    )


def _internal() -> _Fatal:
    return _Fatal("INTERNAL_SERVER_ERROR", "An internal server error occurred.", 1011, "NET-0000")


def _first(value: Any) -> Any:
    """The first settings object of a one-or-list field (fallback lists: the local server uses
    the first entry)."""
    if isinstance(value, list):
        return value[0] if value else None
    return value


def _think_fast(think: ThinkSettings | None) -> DeepgramThinkProvider | None:
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


def _wav_header(encoding: str, sample_rate: int) -> bytes:
    """A streaming WAV header (sizes unknown: 0xFFFFFFFF)."""
    tag, bits = _WAV_TAGS[encoding]
    block = bits // 8
    fmt = struct.pack("<HHIIHH", tag, 1, sample_rate, sample_rate * block, block, bits)
    return (
        b"RIFF"
        + struct.pack("<I", 0xFFFFFFFF)
        + b"WAVEfmt "
        + struct.pack("<I", len(fmt))
        + fmt
        + b"data"
        + struct.pack("<I", 0xFFFFFFFF)
    )


@dataclasses.dataclass(slots=True)
class _Job:
    """Work for the agent, done one at a time: a user turn or an agent statement."""

    kind: Literal["user", "agent"]
    text: str
    since: float  # perf_counter() when the turn ended (latencies count from here)
    behavior: str | None = None  # ConversationText.conversational_behavior of an agent line


# --- one connection ----------------------------------------------------------------------------


class _Agent:
    """One agent connection: a receive loop (frames, speech detection, control messages) and a
    worker task that runs the queued turns (think, function calls, speech) one at a time."""

    def __init__(
        self,
        handler: AgentV1Handler,
        ws: ServerConnection,
        request_id: str,
        server: ServerSettings,
    ) -> None:
        self.handler = handler
        self.ws = ws
        self.request_id = request_id
        self.server = server
        self.settings: Settings | None = None
        # Conversation state.
        self.history: list[Message] = []
        self.history_on = True
        self.prompt: str | None = None
        self.functions: tuple[FunctionSpec, ...] = ()
        self.think: ThinkSettings | None = None
        self.listen: ListenProvider | None = None
        self.think_live: ThinkLiveSettings | None = None
        self.mip_opt_out = False
        self.frustrations = 0
        # Audio.
        self.decoder: PcmDecoder | None = None
        self.splitter: FrameSplitter | None = None
        self.segmenter: Segmenter[Segment] | None = None
        self.stt: SttStream | None = None
        self.margins = Margins()
        self.out_encoding = "linear16"
        self.out_rate = DEFAULT_SAMPLE_RATE
        self.out_wav = False
        # The agent's work queue and its speaking state.
        self.jobs: deque[_Job] = deque()
        self.wake = asyncio.Event()
        self.busy = False
        self.speaking = False
        self.interrupt = asyncio.Event()
        self.pending: dict[str, tuple[str, asyncio.Future[str]]] = {}
        self.worker: asyncio.Task[None] | None = None

    # -- lifecycle ----------------------------------------------------------------------------

    async def run(self) -> None:
        try:
            await self._send(Welcome(request_id=self.request_id))
            await self._receive_loop()
        except _Fatal as fatal:
            await self._fail(fatal)
        except ConnectionClosed:
            await self._drain()
        except Exception:
            log.exception("request %s: the agent failed", self.request_id)
            await self._fail(_internal())
        finally:
            await self._shutdown()

    async def _drain(self) -> None:
        """Show ``on_client_frame`` the frames still buffered when the connection closed (the
        client may close right after its last messages, before they were handled)."""
        if self.handler.on_client_frame is None:
            return
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            async with asyncio.timeout(1.0):
                while True:
                    self._observe(await self.ws.recv())

    def _observe(self, frame: str | bytes) -> None:
        observe = self.handler.on_client_frame
        if observe is not None:
            try:
                observe(self.request_id, frame)
            except Exception:
                log.exception("request %s: on_client_frame raised", self.request_id)

    async def _fail(self, fatal: _Fatal) -> None:
        log.info("request %s: agent error %s", self.request_id, fatal.code)
        try:
            await self._send(Error(description=fatal.description, code=fatal.code))
            await self.ws.close(fatal.close, close_reason(fatal.reason, fatal.description))
        except ConnectionClosed:
            pass

    async def _shutdown(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None and worker.done() and not worker.cancelled():
            worker.exception()  # it may have ended on the dropped socket: retrieved, quietly
        elif worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker
        for _, future in self.pending.values():
            future.cancel()
        self.pending.clear()
        stream, self.stt = self.stt, None
        if stream is not None:
            try:
                await call_engine(self.server.engine, stream.close)
            except Exception:
                log.exception("request %s: closing the engine stream failed", self.request_id)

    async def _send(self, message: MessageBase) -> None:
        await self.ws.send(encode(message), text=True)

    async def _warn(self, code: str, description: str) -> None:
        await self._send(Warning(description=description, code=code))

    # -- receiving ----------------------------------------------------------------------------

    async def _receive_loop(self) -> None:
        idle = self.server.idle_timeout
        while True:
            frame = await receive(self.ws, idle)
            if frame is None:
                raise _timeout_fatal(idle)
            self._observe(frame)
            if isinstance(frame, bytes):
                if self.settings is None:
                    raise _Fatal(
                        "NON_SETTINGS_MESSAGE_BEFORE_SETTINGS",
                        "Audio arrived before Settings: send Settings first.",
                    )
                await self._on_audio(frame)
                continue
            try:
                message = decode_client(frame)
            except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
                raise _Fatal(
                    "UNPARSABLE_CLIENT_MESSAGE",
                    f"A message from the client could not be parsed: {exc}",
                ) from None
            await self._on_message(message)

    async def _on_message(self, message: object) -> None:
        if isinstance(message, Settings):
            if self.settings is not None:
                raise _Fatal(
                    "SETTINGS_ALREADY_APPLIED", "Settings were already applied to this session."
                )
            await self._apply_settings(message)
            return
        if self.settings is None:
            kind = getattr(message, "type", type(message).__name__)
            raise _Fatal(
                "NON_SETTINGS_MESSAGE_BEFORE_SETTINGS",
                f"{kind} arrived before Settings: send Settings first.",
            )
        if isinstance(message, KeepAlive):
            return
        if isinstance(message, FunctionCallResponse):
            self._on_function_response(message)
        elif isinstance(message, InjectUserMessage):
            await self._user_said(message.content)
        elif isinstance(message, InjectAgentMessage):
            await self._inject_agent(message)
        elif isinstance(message, UpdatePrompt):
            too_long = self._set_prompt(message.prompt)
            await self._send(PromptUpdated())
            if too_long:
                await self._prompt_warning()
        elif isinstance(message, UpdateThink):
            self._check(message)
            if self.mip_opt_out and _think_fast(_first(message.think)) is not None:
                raise _Fatal(
                    "INVALID_SETTINGS",
                    "UpdateThink: think-fast requires the Model Improvement Program "
                    "(mip_opt_out is true)",
                )
            too_long = self._set_think(_first(message.think))
            await self._send(ThinkUpdated())
            if too_long:
                await self._prompt_warning()
            await self._voice_prompt_warning()
        elif isinstance(message, UpdateSpeak):
            self._check(message)
            await self._send(SpeakUpdated())
        elif isinstance(message, UpdateListen):
            self._check(message)
            self._update_listen(message.listen.provider)
            await self._send(ListenUpdated())
        elif isinstance(message, ForceEndTurn):
            await self._force_end_turn()
        elif isinstance(message, UpdateThinkLive):
            self._check(message)
            self.think_live = message.think_live
            await self._send(ThinkLiveUpdated())
        elif isinstance(message, CustomToThinkProvider):
            # The local think provider has no custom protocol: it hands the payload back.
            await self._send(CustomFromThinkProvider(content=message.content))

    @staticmethod
    def _check(message: UpdateThink | UpdateSpeak | UpdateListen | UpdateThinkLive) -> None:
        try:
            validate_message(message)
        except InvalidMessageError as exc:
            raise _Fatal("INVALID_SETTINGS", f"{message.type}: {exc}") from None

    # -- settings -----------------------------------------------------------------------------

    async def _apply_settings(self, settings: Settings) -> None:
        try:
            validate_settings(settings)
        except InvalidMessageError as exc:
            raise _Fatal("INVALID_SETTINGS", str(exc)) from None
        audio_in = settings.audio.input
        encoding = audio_in.encoding if audio_in is not None else "linear16"
        rate = audio_in.sample_rate if audio_in is not None else DEFAULT_SAMPLE_RATE
        try:
            fmt = raw_sample_format(encoding, rate)
        except DataError as exc:
            raise _Fatal("INVALID_SETTINGS", f"audio.input: {exc}") from None
        out = settings.audio.output
        out_encoding = (out.encoding if out is not None else None) or "linear16"
        if out_encoding not in OUTPUT_ENCODINGS:
            raise _Fatal(
                "INVALID_SETTINGS",
                f"audio.output.encoding {out_encoding!r} is not supported by the local server "
                f"(supported: {', '.join(sorted(OUTPUT_ENCODINGS))})",
            )
        container = (out.container if out is not None else None) or "none"
        if container not in ("none", "wav"):
            raise _Fatal(
                "INVALID_SETTINGS",
                f"audio.output.container {container!r} is not supported by the local server "
                "(supported: none, wav)",
            )
        self.out_encoding = out_encoding
        self.out_rate = (out.sample_rate if out is not None else None) or DEFAULT_SAMPLE_RATE
        self.out_wav = container == "wav"
        agent = settings.agent if isinstance(settings.agent, Agent) else Agent()
        self._check_engines(agent)
        if settings.mip_opt_out and _think_fast(_first(agent.think)) is not None:
            raise _Fatal(
                "INVALID_SETTINGS",
                "agent.think.provider.model: think-fast requires the Model Improvement Program "
                "(mip_opt_out is true); use phonellm-mini-alpha-2-fp8 to opt out",
            )
        self.mip_opt_out = bool(settings.mip_opt_out)
        self.history_on = settings.flags is None or settings.flags.history is not False
        self.listen = agent.listen.provider if agent.listen is not None else None
        self.think_live = agent.think_live
        too_long = self._set_think(_first(agent.think))
        for item in (agent.context.messages or ()) if agent.context is not None else ():
            if item.role is not None and item.content is not None:
                self.history.append(Message(item.role, item.content))
        await self._start_listening(fmt)
        self.settings = settings
        self.worker = asyncio.create_task(self._work(), name=f"agent-{self.request_id}")
        await self._send(SettingsApplied())
        if too_long:
            await self._prompt_warning()
        await self._voice_prompt_warning()
        if agent.greeting:
            self._enqueue(_Job("agent", agent.greeting, time.perf_counter()))

    def _check_engines(self, agent: Agent) -> None:
        """Refuse (``Error`` ``INVALID_SETTINGS``, close 1008) a language the server's engines
        cannot honour: the listen provider's ``language`` / ``language_hints`` (or the
        deprecated ``agent.language``) for the STT engine, a Deepgram voice's language (the
        model's last part) for the TTS engine. See :mod:`._capabilities`."""
        server = self.server
        provider = agent.listen.provider if agent.listen is not None else None
        speak = _first(agent.speak)
        voice = speak.provider if isinstance(speak, SpeakSettings) else None
        try:
            if isinstance(provider, ListenProviderV2):
                if provider.language_hints:
                    option = "agent.listen.provider.language_hints"
                    check_languages(option, provider.language_hints, server.engine)
            elif provider is not None and provider.language:
                check_languages(
                    "agent.listen.provider.language", [provider.language], server.engine
                )
            elif agent.language:
                check_languages("agent.language", [agent.language], server.engine)
            if isinstance(voice, DeepgramSpeakProvider):
                language = voice_language(voice.model)
                if language is not None:
                    option = "agent.speak.provider.model"
                    check_languages(option, [language], server.tts, "text-to-speech", voice.model)
        except InvalidOptionError as exc:
            raise _Fatal("INVALID_SETTINGS", str(exc)) from None

    async def _start_listening(self, fmt: SampleFormat) -> None:
        engine = self.server.engine
        vad = dataclasses.replace(self.server.vad, min_silence_ms=self.handler.end_of_turn_ms)
        self.segmenter = Segmenter(engine.sample_rate, vad, Segment)
        self.splitter = FrameSplitter(fmt.sample_rate, engine, self.segmenter.frame_samples)
        self.decoder = PcmDecoder(fmt)
        self.margins = Margins.of(engine)
        self.stt = await call_engine(engine, engine.new_stream)

    async def _voice_prompt_warning(self) -> None:
        provider = _think_fast(self.think)
        if provider is not None and not provider.voice_prompt_opt_out:
            await self._warn(
                "VOICE_PROMPT_ADDED",
                "Spoken-style instructions were placed ahead of the prompt for think-fast; "
                "set voice_prompt_opt_out to send the prompt unchanged.",
            )

    def _set_think(self, think: ThinkSettings | None) -> bool:
        """Adopt a think configuration; ``True`` if its prompt had to be cut."""
        self.think = think
        self.functions = _functions(think)
        return self._set_prompt(think.prompt if think is not None else None)

    def _set_prompt(self, prompt: str | None) -> bool:
        managed = self.think is None or self.think.endpoint is None
        if prompt is not None and managed and len(prompt) > MAX_PROMPT_CHARS:
            self.prompt = prompt[:MAX_PROMPT_CHARS]
            return True
        self.prompt = prompt
        return False

    async def _prompt_warning(self) -> None:
        await self._warn(
            "PROMPT_TOO_LONG",
            f"The prompt was longer than {MAX_PROMPT_CHARS} characters and was truncated.",
        )

    def _update_listen(self, provider: ListenProvider) -> None:
        current = self.listen
        if type(current) is not type(provider) or current.model != provider.model:
            shown = "none"
            if current is not None:
                shown = f"{current.model!r} (version {current.__struct_config__.tag})"
            raise _Fatal(
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

    # -- audio in -----------------------------------------------------------------------------

    async def _on_audio(self, data: bytes) -> None:
        assert self.decoder is not None and self.splitter is not None
        assert self.segmenter is not None
        samples = self.decoder.decode(data)
        if not samples:
            return
        splitter, segmenter = self.splitter, self.segmenter
        splitter.push(samples)
        while splitter.ready:
            step = segmenter.push(splitter.pop())
            if step.started or step.reopened:
                await self._user_started()
            if step.ended is not None:
                await self._utterance(step.ended)

    async def _user_started(self) -> None:
        if self.speaking:  # barge-in: no agent audio goes out after UserStartedSpeaking
            log.debug("request %s: barge-in, dropping agent audio", self.request_id)
            self.interrupt.set()
        await self._send(UserStartedSpeaking())
        await self._cancel_calls()

    async def _cancel_calls(self) -> None:
        """The user speaks again while client-side calls wait for their answers: the turn
        they were made for is over. Calls of functions with ``defer_until_eot`` are kept (they
        waited for the turn to be confirmed); the others are ``FunctionCallCancelled`` and
        their turn ends without a reply."""
        deferred = {f.name for f in self._function_settings() if f.defer_until_eot}
        gone = [(k, v) for k, v in self.pending.items() if v[0] not in deferred]
        if not gone:
            return
        for key, _ in gone:
            del self.pending[key]
        await self._send(
            FunctionCallCancelled(
                functions=[CancelledFunction(id=key, name=name) for key, (name, _) in gone]
            )
        )
        for _, (_, future) in gone:
            if not future.done():
                future.set_result(_CANCELLED)

    def _function_settings(self) -> list[Function]:
        return list(self.think.functions or ()) if self.think is not None else []

    async def _await_responses(
        self,
        items: list[FunctionCall],
        futures: Mapping[str, asyncio.Future[str]],
        *,
        announced: bool,
    ) -> None:
        """Think Live's filler while client-side calls are outstanding: one line at once
        (``initial_agent_filler``, unless the reply already announced the call), then up to
        ``agent_filler_max_count`` more, each after ``agent_filler_interval_ms`` of silence."""
        if self.think_live is None:
            return
        names = {item.name for item in items if item.client_side}
        settings = [f for f in self._function_settings() if f.name in names]
        initial = any(f.initial_agent_filler for f in settings) and not announced
        more = max((f.agent_filler_max_count or 0 for f in settings), default=0)
        interval = max((f.agent_filler_interval_ms or 0 for f in settings), default=0) / 1000
        waiting = list(futures.values())

        def answered() -> bool:
            return all(f.done() for f in waiting)

        if initial and not answered():
            await self._say(FILLER_LINE, since=time.perf_counter(), ttt=0.0, behavior="filler")
        for _ in range(more):
            if answered():
                return
            await asyncio.wait(waiting, timeout=interval)
            if answered():
                return
            await self._say(FILLER_LINE, since=time.perf_counter(), ttt=0.0, behavior="filler")

    async def _utterance(self, segment: Segment) -> None:
        assert self.stt is not None and self.segmenter is not None
        onset = self.segmenter.seconds(segment.start_frame)
        words = await transcribe_segment(
            self.server.engine, self.stt, segment, onset, True, self.margins
        )
        text = " ".join(w.word for w in words).strip()
        if text:
            await self._user_said(text)

    async def _user_said(self, text: str) -> None:
        """A user statement (an utterance that ended, or ``InjectUserMessage``): its
        ``ConversationText`` and ``History`` go out now, before anything said after it, and its
        turn (think, reply) is queued. Sent by the worker instead, they came after the
        ``UserStartedSpeaking`` of the next utterance whenever the worker was busy or audio
        came faster than real time: two starts, then one transcript."""
        await self._send(
            ConversationText(role="user", content=text, conversational_behavior="default")
        )
        await self._frustration(text)
        if self.history_on:
            await self._send(History(role="user", content=text))
        self._enqueue(_Job("user", text, time.perf_counter()))

    async def _force_end_turn(self) -> None:
        if not isinstance(self.listen, ListenProviderV2):
            await self._warn(
                "FORCE_END_TURN_UNSUPPORTED",
                "ForceEndTurn needs a Flux listen provider (version v2).",
            )
            return
        assert self.segmenter is not None
        segment = self.segmenter.cut()
        if segment is not None:
            await self._utterance(segment)

    # -- injections and function results ------------------------------------------------------

    def _enqueue(self, job: _Job, *, first: bool = False) -> None:
        if first:
            self.jobs.appendleft(job)
        else:
            self.jobs.append(job)
        self.wake.set()

    async def _inject_agent(self, message: InjectAgentMessage) -> None:
        behavior = message.behavior or "default"
        user_busy = self.segmenter is not None and self.segmenter.segment is not None
        agent_busy = self.busy or bool(self.jobs)
        if message.is_dynamic:
            if self.think_live is None:
                await self._send(
                    InjectionRefused(
                        message="A dynamic InjectAgentMessage needs agent.think_live (Think Live)."
                    )
                )
                return
            text = DYNAMIC_LINE  # what the local "Think Live model" writes
        else:
            text = message.message or ""
        job = _Job("agent", text, time.perf_counter(), "filler" if message.is_dynamic else None)
        if user_busy and behavior != "interrupt":
            await self._send(
                InjectionRefused(
                    message="InjectAgentMessage was refused because the user is speaking."
                )
            )
        elif behavior == "default" and agent_busy:
            await self._send(
                InjectionRefused(
                    message="InjectAgentMessage was refused because the agent is mid-turn."
                )
            )
        elif behavior == "interrupt":
            if self.speaking:
                self.interrupt.set()
            self._enqueue(job, first=True)
        else:
            self._enqueue(job)

    def _on_function_response(self, message: FunctionCallResponse) -> None:
        key = message.id
        if key is None:
            key = next((k for k, (n, _) in self.pending.items() if n == message.name), None)
        entry = self.pending.pop(key, None) if key is not None else None
        if entry is None:
            log.info("request %s: FunctionCallResponse for no pending call", self.request_id)
            return
        future = entry[1]
        if not future.done():
            future.set_result(message.content)

    # -- the agent's work ---------------------------------------------------------------------

    async def _work(self) -> None:
        try:
            while True:
                while not self.jobs:
                    self.wake.clear()
                    await self.wake.wait()
                job = self.jobs.popleft()
                self.busy = True
                try:
                    if job.kind == "user":
                        await self._user_turn(job)
                    else:
                        await self._say(job.text, since=job.since, ttt=0.0, behavior=job.behavior)
                finally:
                    self.busy = False
        except ConnectionClosed:
            return
        except Exception:
            log.exception("request %s: the agent's turn failed", self.request_id)
            await self._fail(_internal())

    def _request(self, results: tuple[CallResult, ...] = ()) -> ThinkRequest:
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

    async def _think(self, results: tuple[CallResult, ...]) -> ThinkReply | None:
        try:
            return await run_think(self.server.think, self._request(results))
        except Exception as exc:
            log.info("request %s: think step failed: %s", self.request_id, type(exc).__name__)
            await self._warn("THINK_REQUEST_FAILED", f"The think step failed: {exc}")
            return None

    async def _user_turn(self, job: _Job) -> None:
        # its ConversationText and History went out when it was said (``_user_said``)
        self.history.append(Message("user", job.text))
        results: tuple[CallResult, ...] = ()
        tool_time = 0.0
        reply = await self._think(results)
        rounds = 0
        while reply is not None and reply.calls:
            rounds += 1
            if reply.thinking:
                await self._send(AgentThinking(content=reply.thinking))
            if reply.text:
                await self._say(reply.text, since=job.since, ttt=time.perf_counter() - job.since)
            if rounds > self.handler.max_think_rounds:
                await self._warn(
                    "THINK_REQUEST_FAILED",
                    f"The think step asked for functions more than "
                    f"{self.handler.max_think_rounds} times in one turn.",
                )
                return
            started = time.perf_counter()
            called = await self._call_functions(reply.calls, announced=bool(reply.text))
            if called is None:  # cancelled by the user speaking again: the turn is over
                return
            results += called
            tool_time += time.perf_counter() - started
            reply = await self._think(results)
        if reply is None:
            return
        if reply.thinking:
            await self._send(AgentThinking(content=reply.thinking))
        if reply.text:
            ttt = time.perf_counter() - job.since
            await self._say(reply.text, since=job.since, ttt=ttt, tool=tool_time or None)

    async def _call_functions(
        self, calls: tuple[Call, ...], *, announced: bool = False
    ) -> tuple[CallResult, ...] | None:
        loop = asyncio.get_running_loop()
        items: list[FunctionCall] = []
        for call in calls:
            spec = next((f for f in self.functions if f.name == call.name), None)
            client_side = spec is None or spec.client_side
            item = FunctionCall(
                id=f"fc_{uuid.uuid4()}",
                name=call.name,
                arguments=json.dumps(dict(call.arguments)),
                client_side=client_side,
            )
            items.append(item)
            if client_side:
                self.pending[item.id] = (item.name, loop.create_future())
        futures = {item.id: self.pending[item.id][1] for item in items if item.client_side}
        await self._send(FunctionCallRequest(functions=items))
        contents: dict[str, str] = {}
        for item, call in zip(items, calls, strict=True):
            if item.client_side:
                continue
            try:
                content = self.handler.server_function(call.name, call.arguments)
            except Exception as exc:
                await self._warn("FUNCTION_CALL_FAILED", f"{call.name} failed: {exc}")
                content = json.dumps({"error": str(exc)})
            contents[item.id] = content
            await self._send(FunctionCallResponse(id=item.id, name=item.name, content=content))
        if futures:
            await self._await_responses(items, futures, announced=announced)
        for fid, future in futures.items():
            content = await future
            if content is _CANCELLED:
                return None
            contents[fid] = content
        results = tuple(
            CallResult(item.id, item.name, call.arguments, contents[item.id], item.client_side)
            for item, call in zip(items, calls, strict=True)
        )
        if self.history_on:
            records = [
                HistoryFunctionCall(
                    id=r.id,
                    name=r.name,
                    client_side=r.client_side,
                    arguments=json.dumps(dict(r.arguments)),
                    response=r.content,
                )
                for r in results
            ]
            await self._send(History(function_calls=records))
        return results

    # -- speaking -----------------------------------------------------------------------------

    async def _frustration(self, text: str) -> None:
        """Think Live's frustration detection, locally: a user statement with a word of
        frustration is one ``FrustrationDetected``, ``escalated`` from the provider's
        ``frustration_max_count`` on (0 turns the events off)."""
        live = self.think_live
        if live is None:
            return
        limit = live.provider.frustration_max_count
        if limit == 0 or not FRUSTRATION_WORDS.search(text):
            return
        self.frustrations += 1
        escalated = self.frustrations >= (DEFAULT_FRUSTRATION_MAX if limit is None else limit)
        await self._send(FrustrationDetected(count=self.frustrations, escalated=escalated))

    async def _say(
        self,
        text: str,
        *,
        since: float,
        ttt: float,
        tool: float | None = None,
        behavior: str | None = None,
    ) -> None:
        text = text.strip()
        if not text:
            return
        await self._send(
            ConversationText(
                role="assistant", content=text, conversational_behavior=behavior or "default"
            )
        )
        self.history.append(Message("assistant", text))
        if self.history_on:
            await self._send(History(role="assistant", content=text))
        tts = self.server.tts
        started = time.perf_counter()
        if tts.blocking:
            pcm = await asyncio.to_thread(tts.synthesize, text, self.out_rate)
        else:
            pcm = tts.synthesize(text, self.out_rate)
        audio = encode_pcm16(pcm, self.out_encoding)
        if self.out_wav:
            audio = _wav_header(self.out_encoding, self.out_rate) + audio
        tts_latency = round_time(time.perf_counter() - started)
        total = round_time(time.perf_counter() - since)
        self.interrupt.clear()
        await self._send(
            AgentStartedSpeaking(
                total_latency=total, tts_latency=tts_latency, ttt_latency=round_time(ttt)
            )
        )
        self.speaking = True
        try:
            await self._stream(audio)
        finally:
            self.speaking = False
        await self._send(AgentAudioDone())
        await self._send(
            LatencyReport(
                ttt_text_latency=round_time(ttt),
                ttt_tool_latency=round_time(tool) if tool is not None else None,
                tts_latency=tts_latency,
                total_latency=total,
            )
        )

    async def _stream(self, audio: bytes) -> None:
        """Send ``audio`` in ``chunk_ms`` frames, paced when ``realtime``; stop when
        ``interrupt`` is set (barge-in)."""
        width = OUTPUT_ENCODINGS[self.out_encoding]
        per_second = width * self.out_rate
        step = max(width, per_second * self.handler.chunk_ms // 1000 // width * width)
        loop = asyncio.get_running_loop()
        began = loop.time()
        sent = 0.0
        realtime, lead = self.handler.realtime, self.handler.lead
        for offset in range(0, len(audio), step):
            if self.interrupt.is_set():
                return
            chunk = audio[offset : offset + step]
            await self.ws.send(chunk)
            sent += len(chunk) / per_second
            ahead = sent - (loop.time() - began) - lead
            if realtime and ahead > 0:
                try:
                    async with asyncio.timeout(ahead):
                        await self.interrupt.wait()
                except TimeoutError:
                    pass
