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

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from ..errors import InvalidOptionError
from ._agent._base import (  # noqa: F401 (the Think Live lines: named above, used by tests)
    DEFAULT_SAMPLE_RATE,
    DYNAMIC_LINE,
    FILLER_LINE,
    FRUSTRATION_WORDS,
    MAX_PROMPT_CHARS,
    ServerFunction,
)
from ._agent._session import AgentSession
from .think import simulate_server_function

if TYPE_CHECKING:
    from ._channel import ServerSession

__all__ = [
    "DEFAULT_SAMPLE_RATE",
    "MAX_PROMPT_CHARS",
    "AgentV1Handler",
    "ServerFunction",
]


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
        await AgentSession(self, session).run(session.server.idle_timeout)

    def __repr__(self) -> str:
        return f"AgentV1Handler(realtime={self.realtime}, chunk_ms={self.chunk_ms})"
