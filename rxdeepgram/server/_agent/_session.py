"""One agent connection on the server's stream skeleton (:mod:`.._stream`: the receive loop with
its idle timeout, decode errors, the fatal end): ``Welcome``, ``Settings`` first (then the parts
start), and the dispatch of each client message to the part it concerns."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

from websockets.exceptions import ConnectionClosed

from ...messages.agent_v1 import (
    Agent,
    CustomFromThinkProvider,
    CustomToThinkProvider,
    Error,
    ForceEndTurn,
    FunctionCallResponse,
    InjectAgentMessage,
    InjectUserMessage,
    KeepAlive,
    ListenUpdated,
    PromptUpdated,
    Settings,
    SettingsApplied,
    SpeakUpdated,
    ThinkLiveUpdated,
    ThinkUpdated,
    UpdateListen,
    UpdatePrompt,
    UpdateSpeak,
    UpdateThink,
    UpdateThinkLive,
    Warning,
    Welcome,
    decode_client,
)
from .._stream import ServerStream, StreamFatal
from ._base import fatal, internal, log, timeout_fatal
from ._calls import FunctionCalls
from ._conversation import Conversation
from ._listening import Listening
from ._speech import Speech
from ._state import AgentState, check_engines, check_settings, check_update

if TYPE_CHECKING:
    from ...messages import MessageBase
    from .._channel import ServerSession
    from ._base import AgentOptions

__all__ = ["AgentSession"]


class AgentSession(ServerStream):
    """One agent connection: the receive loop (frames, speech detection, control messages) of
    the stream skeleton, and a worker task that runs the queued turns (think, function calls,
    speech) one at a time. The parts share it as their :class:`~._base.Link`."""

    name = "agent"

    def __init__(self, options: AgentOptions, session: ServerSession) -> None:
        super().__init__(session.websocket, session.request_id)
        self.options = options
        self.server = server = session.server
        self.settings: Settings | None = None
        self.state = state = AgentState(self)
        self.speech = speech = Speech(self, options, server, state)
        self.calls = calls = FunctionCalls(self, options, state, speech)
        self.conversation = Conversation(self, options, server, state, speech, calls)
        self.listening = Listening(self, options, server, state, speech, calls, self.conversation)

    # -- the skeleton's hooks -----------------------------------------------------------------

    async def open(self) -> None:
        await self.send(Welcome(request_id=self.request_id))

    async def disconnected(self) -> None:
        """Show ``on_client_frame`` the frames still buffered when the connection closed (the
        client may close right after its last messages, before they were handled)."""
        if self.options.on_client_frame is None:
            return
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            async with asyncio.timeout(1.0):
                while True:
                    self.received(await self.ws.recv())

    async def shutdown(self) -> None:
        await self.conversation.stop()
        self.calls.close()
        await self.listening.close()

    def internal_error(self) -> StreamFatal:
        return internal()

    def error_message(self, fatal: StreamFatal) -> MessageBase:
        return Error(description=fatal.description, code=fatal.error_code)

    def idle_fatal(self, idle_timeout: float) -> StreamFatal:
        return timeout_fatal(idle_timeout)

    def decode(self, frame: str) -> object:
        return decode_client(frame)

    def decode_fatal(self, exc: Exception) -> StreamFatal:
        return fatal(
            "UNPARSABLE_CLIENT_MESSAGE", f"A message from the client could not be parsed: {exc}"
        )

    def received(self, frame: str | bytes) -> None:
        observe = self.options.on_client_frame
        if observe is not None:
            try:
                observe(self.request_id, frame)
            except Exception:
                log.exception("request %s: on_client_frame raised", self.request_id)

    async def on_binary(self, data: bytes) -> bool:
        if self.settings is None:
            raise fatal(
                "NON_SETTINGS_MESSAGE_BEFORE_SETTINGS",
                "Audio arrived before Settings: send Settings first.",
            )
        await self.listening.on_audio(data)
        return False

    async def warn(self, code: str, description: str) -> None:
        await self.send(Warning(description=description, code=code))

    # -- the agent's messages -----------------------------------------------------------------

    async def _apply_settings(self, settings: Settings) -> None:
        fmt, output = check_settings(settings)
        self.speech.output = output
        agent = settings.agent if isinstance(settings.agent, Agent) else Agent()
        check_engines(agent, self.server)
        state = self.state
        too_long = state.adopt(settings, agent)
        await self.listening.start(fmt)
        self.settings = settings
        self.conversation.start()
        await self.send(SettingsApplied())
        if too_long:
            await state.prompt_warning()
        await state.voice_prompt_warning()
        if agent.greeting:
            self.conversation.greet(agent.greeting)

    async def on_message(self, message: object) -> bool:
        if isinstance(message, Settings):
            if self.settings is not None:
                raise fatal(
                    "SETTINGS_ALREADY_APPLIED", "Settings were already applied to this session."
                )
            await self._apply_settings(message)
        else:
            await self._on_control(message)
        return False

    async def _on_control(self, message: object) -> None:
        if self.settings is None:
            kind = getattr(message, "type", type(message).__name__)
            raise fatal(
                "NON_SETTINGS_MESSAGE_BEFORE_SETTINGS",
                f"{kind} arrived before Settings: send Settings first.",
            )
        if isinstance(message, KeepAlive):
            return
        state = self.state
        if isinstance(message, FunctionCallResponse):
            self.calls.answer(message)
        elif isinstance(message, InjectUserMessage):
            await self.conversation.user_said(message.content)
        elif isinstance(message, InjectAgentMessage):
            await self.conversation.inject_agent(message, user_busy=self.listening.user_busy)
        elif isinstance(message, UpdatePrompt):
            too_long = state.set_prompt(message.prompt)
            await self.send(PromptUpdated())
            if too_long:
                await state.prompt_warning()
        elif isinstance(message, UpdateThink):
            too_long = state.update_think(message)
            await self.send(ThinkUpdated())
            if too_long:
                await state.prompt_warning()
            await state.voice_prompt_warning()
        elif isinstance(message, UpdateSpeak):
            check_update(message)
            await self.send(SpeakUpdated())
        elif isinstance(message, UpdateListen):
            check_update(message)
            state.update_listen(message.listen.provider)
            await self.send(ListenUpdated())
        elif isinstance(message, ForceEndTurn):
            await self.listening.force_end_turn()
        elif isinstance(message, UpdateThinkLive):
            check_update(message)
            state.think_live = message.think_live
            await self.send(ThinkLiveUpdated())
        elif isinstance(message, CustomToThinkProvider):
            # The local think provider has no custom protocol: it hands the payload back.
            await self.send(CustomFromThinkProvider(content=message.content))
