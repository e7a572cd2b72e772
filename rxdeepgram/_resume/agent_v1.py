"""Resuming Agent V1: a new session that knows the conversation so far.

* Kept: the ``Settings`` and the ``Update*`` messages sent after it; the conversation, from the
  ``ConversationText`` messages (and the function call records of ``History``); the open user
  turn (the last user statement not yet answered) and its client-side function calls; the
  ``InjectUserMessage`` / ``InjectAgentMessage`` the server has not acted on yet (no
  ``ConversationText`` with their text, no ``InjectionRefused``): sent again.
* On a new connection: ``Settings`` again, with ``agent.context.messages`` = its own context +
  the conversation so far (the open turn left out) and no ``greeting`` (it was spoken), then the
  ``Update*`` messages. What the application sends is held until ``SettingsApplied`` (the agent
  takes nothing else first), then sent. An open turn is asked again (``InjectUserMessage`` with
  its text): the new session thinks it over with the whole conversation.
* A client-side function call in flight is answered once: the new session's request for the
  same call (same name and arguments) is not delivered again; the application's answer, given
  before or after the drop, is sent to the new session under the new call id.
* Suppressed on a new connection: ``Welcome``, ``SettingsApplied``, the acknowledgements of the
  re-sent updates, and the open turn's user ``ConversationText`` / ``History`` said again.
* Audio: the audio sent since the last user statement the server reported (``ConversationText``
  role ``user``), bounded by ``max_buffer_s`` at the input rate, is kept, and sent again after
  ``SettingsApplied``: an utterance the drop cut, and what was said during the drop, are heard
  whole by the new session (its ``UserStartedSpeaking`` for it is not delivered twice).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from msgspec.structs import replace

from ..errors import BufferOverflowError
from ..messages import agent_v1 as m
from ._config import Reconnect
from ._policy import Policy

__all__ = ["AgentV1Policy"]

_ACKS: dict[type[Any], type[Any]] = {
    m.UpdatePrompt: m.PromptUpdated,
    m.UpdateSpeak: m.SpeakUpdated,
    m.UpdateThink: m.ThinkUpdated,
    m.UpdateListen: m.ListenUpdated,
    m.UpdateThinkLive: m.ThinkLiveUpdated,
}
_ENCODING_BYTES = {"linear16": 2, "linear32": 4, "mulaw": 1, "alaw": 1}


class _Call:
    __slots__ = ("arguments", "generation", "id", "name", "new_id", "response")

    def __init__(self, id: str, name: str, arguments: str, generation: int) -> None:
        self.generation = generation  # the connection that asked
        self.id = id
        self.name = name
        self.arguments = arguments
        self.new_id: str | None = None  # the id the new session gave the same call
        self.response: m.FunctionCallResponse | None = None


class AgentV1Policy(Policy):
    opening_types = frozenset({"Welcome", "SettingsApplied"})

    def __init__(self, config: Reconnect) -> None:
        super().__init__(config)
        # the agent reply under way (its ConversationText or AgentStartedSpeaking delivered,
        # no AgentAudioDone yet): [content, started, audio bytes]
        self._reply: list[Any] | None = None
        self.settings: m.Settings | None = None
        self.updates: list[Any] = []
        self.conversation: list[m.ContextMessage] = []
        self.open_turn: str | None = None  # the user's statement not yet answered
        self.calls: dict[str, _Call] = {}  # the open turn's client-side calls, by id
        self.held: list[Any] = []  # sent while the new session was not ready yet
        self.audio: deque[bytes] = deque()  # audio since the last user statement heard
        self.audio_bytes = 0
        self._user_speaking = False  # UserStartedSpeaking delivered, no statement since
        self._replaying_speech = False
        self.injected: list[Any] = []  # Inject* messages the server has not acted on yet
        self.max_audio = 0
        self.resumed = False
        self._skip: dict[type[Any], int] = {}
        self._asked_again: str | None = None
        self._generation = 0
        self._bytes_per_s = 0

    # -- what the application sends -------------------------------------------------------------

    def on_send(self, item: Any, connected: bool) -> Any:
        live = connected and not self.holding
        cls = type(item)
        if cls is bytes:
            self._keep_audio(item, connected)
            return item if live else None  # the new session gets it from the kept audio
        if cls is m.Settings and self.settings is None:
            self.settings = item
            self._bytes_per_s = _input_rate(item)
            self.max_audio = int(self.config.max_buffer_s * self._bytes_per_s)
            return item if live else None  # else: begin() sends it
        if cls in _ACKS:
            self.updates.append(item)  # begin() sends them all on a new connection
            if live:
                return item
            if connected:  # the new session is not ready: after the others
                self.held.append(item)  # its acknowledgement is the application's
            return None
        if cls is m.InjectUserMessage or cls is m.InjectAgentMessage:
            self.injected.append(item)  # sent again until the server acts on it
            return item if live else None
        if cls is m.FunctionCallResponse:
            call = self.calls.get(item.id or "")
            if call is not None:
                call.response = item
                if call.new_id is not None:
                    item = replace(item, id=call.new_id)
                elif call.generation != self._generation or not connected:
                    return None  # sent under the new id when the new session asks again
        if live:
            return item
        if connected:
            self.held.append(item)
        return None  # a KeepAlive, say, while no connection is up: not needed

    def check_room(self, pending: int) -> None:
        if self.forward is None:
            self._check_room(pending)

    def _check_room(self, pending: int) -> None:
        if (
            self.max_audio
            and self.audio_bytes + pending > self.max_audio
            and self.config.on_overflow == "error"
        ):
            raise BufferOverflowError(
                "the reconnect buffer is full: raise Reconnect(max_buffer_s=...) or "
                "use on_overflow='drop_oldest'"
            )

    @property
    def buffered_audio_s(self) -> float:
        """The user's statement in progress, held to be heard again after a drop."""
        return self.audio_bytes / self._bytes_per_s if self._bytes_per_s else 0.0

    def _keep_audio(self, data: bytes, connected: bool) -> None:
        """Keep the audio of the user's statement in progress (since the last one heard)."""
        audio = self.audio
        if self.max_audio and self.audio_bytes + len(data) > self.max_audio:
            if not connected:
                self._check_room(len(data))
            while audio and self.audio_bytes + len(data) > self.max_audio:
                self.audio_bytes -= len(audio.popleft())
        audio.append(data)
        self.audio_bytes += len(data)

    # -- a new connection -----------------------------------------------------------------------

    def begin(self, first: bool) -> list[Any]:
        if first or self.settings is None:
            return []
        self.resumed = True
        self.holding = True
        self._generation += 1
        self._skip = {m.Welcome: 1, m.SettingsApplied: 1}
        for update in self.updates:
            ack = _ACKS[type(update)]
            self._skip[ack] = self._skip.get(ack, 0) + 1
        for call in self.calls.values():
            call.new_id = None
        settings = self.settings
        agent = settings.agent
        if isinstance(agent, m.Agent):
            own = agent.context.messages if agent.context and agent.context.messages else []
            context = m.Context(messages=[*own, *self.conversation] or None)
            settings = replace(settings, agent=replace(agent, context=context, greeting=None))
        self.replayed_messages += 1 + len(self.updates)
        return [settings, *self.updates]

    def _ready(self) -> None:
        """``SettingsApplied`` on a new connection: send what waited."""
        self.holding = False
        out: list[Any] = []
        if self.open_turn is not None:
            self._asked_again = self.open_turn
            out.append(m.InjectUserMessage(content=self.open_turn))
            self.replayed_messages += 1
        out.extend(self.injected)
        self.replayed_messages += len(self.injected)
        if self._bytes_per_s:
            self.replayed_audio_s += self.audio_bytes / self._bytes_per_s
        out.extend(self.audio)  # the user's statement in progress, heard again
        self._replaying_speech = self._user_speaking and bool(self.audio)
        out.extend(self.held)
        self.held = []
        self.outbox.extend(out)

    # -- what the server sends -------------------------------------------------------------------

    def on_drop(self) -> list[Any]:
        """The connection dropped: a reply it cut is closed with ``AgentAudioCut`` (the new
        session does not speak it again: it is in the new session's context)."""
        reply, self._reply = self._reply, None
        if reply is None:
            return []
        return [m.AgentAudioCut(content=reply[0], started=reply[1], audio_bytes=reply[2])]

    def undelivered(self) -> str:
        if self.open_turn is not None:
            return f"the agent's answer to {self.open_turn!r}"
        if self._reply is not None:
            return "the rest of the agent's reply (its audio and AgentAudioDone)"
        return "the rest of the conversation"

    def on_message(self, message: Any) -> Any:
        cls = type(message)
        if cls is bytes:
            reply = self._reply
            if reply is not None:
                reply[2] += len(message)
            return message
        if cls is m.AgentStartedSpeaking:
            if self._reply is None:
                self._reply = ["", True, 0]
            else:
                self._reply[1] = True
            return message
        if cls is m.AgentAudioDone:
            self._reply = None
            return message
        skip = self._skip.get(cls)
        if skip:
            self._skip[cls] = skip - 1
            self.suppressed += 1
            if cls is m.SettingsApplied:
                self._ready()
            return None
        if cls is m.ConversationText:
            return self._statement(message)
        if cls is m.UserStartedSpeaking:
            if self._replaying_speech:  # the replayed audio's: the application had it
                self._replaying_speech = False
                self.suppressed += 1
                return None
            self._user_speaking = True
            return message
        if cls is m.History:
            if message.function_calls:
                self.conversation.append(m.ContextMessage.from_history(message))
            elif self._asked_again is not None and message.role == "user":
                self.suppressed += 1
                return None
            return message
        if cls is m.FunctionCallRequest:
            return self._requested(message)
        if cls is m.InjectionRefused:
            self._acted_on(m.InjectAgentMessage, None)
        return message

    def _acted_on(self, cls: type[Any], text: str | None) -> None:
        for i, item in enumerate(self.injected):
            if type(item) is cls and (
                text is None
                or text == (item.content if cls is m.InjectUserMessage else item.message)
            ):
                del self.injected[i]
                return

    def _acted_on_dynamic(self) -> None:
        for i, item in enumerate(self.injected):
            if type(item) is m.InjectAgentMessage and item.is_dynamic:
                del self.injected[i]
                return

    def _statement(self, message: m.ConversationText) -> Any:
        role = message.role
        if role == "user":
            if self._asked_again is not None and message.content == self._asked_again:
                self.suppressed += 1
                return None  # the open turn, asked again: the application has it
            self._acted_on(m.InjectUserMessage, message.content)
            self.audio.clear()  # that statement's audio is heard: not needed again
            self.audio_bytes = 0
            self._user_speaking = self._replaying_speech = False
            self.open_turn = message.content
            self.calls = {}
        elif role == "assistant":
            if self.open_turn is not None:
                self.conversation.append(m.ContextMessage(role="user", content=self.open_turn))
                self.open_turn = None
                self.calls = {}
            self._asked_again = None
            self._reply = [message.content, False, 0]
            self._acted_on(m.InjectAgentMessage, message.content)
            if message.conversational_behavior == "filler":  # a dynamic injection's line
                self._acted_on_dynamic()
            self.conversation.append(m.ContextMessage(role="assistant", content=message.content))
        return message

    def _requested(self, message: m.FunctionCallRequest) -> Any:
        fresh: list[m.FunctionCall] = []
        for fn in message.functions:
            if not fn.client_side:
                fresh.append(fn)
                continue
            old = next(
                (
                    c
                    for c in self.calls.values()
                    if c.new_id is None and c.name == fn.name and c.arguments == fn.arguments
                ),
                None,
            )
            if old is None:
                self.calls[fn.id] = _Call(fn.id, fn.name, fn.arguments, self._generation)
                fresh.append(fn)
                continue
            old.new_id = fn.id  # the same call again: answered once, by the application
            if old.response is not None:
                self.outbox.append(replace(old.response, id=fn.id))
        if len(fresh) == len(message.functions):
            return message
        if not fresh:
            self.suppressed += 1
            return None
        return replace(message, functions=fresh)


def _input_rate(settings: m.Settings) -> int:
    audio_in = settings.audio.input if settings.audio is not None else None
    if audio_in is None:
        return 2 * 24000
    return _ENCODING_BYTES.get(str(audio_in.encoding), 2) * int(audio_in.sample_rate)
