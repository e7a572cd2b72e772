"""One agent connection: ``Welcome``, ``Settings`` first (then the parts start), the receive
loop with its idle timeout, and the dispatch of each client message to the part it concerns."""

from __future__ import annotations

import asyncio
import contextlib
from typing import TYPE_CHECKING

import msgspec
from websockets.exceptions import ConnectionClosed

from ...messages.agent_v1 import (
    Agent,
    CustomFromThinkProvider,
    CustomToThinkProvider,
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
    Welcome,
    decode_client,
)
from .._stt import receive
from ._base import Fatal, Link, internal, log, timeout_fatal
from ._calls import FunctionCalls
from ._conversation import Conversation
from ._listening import Listening
from ._speech import Speech
from ._state import AgentState, check_engines, check_settings, check_update

if TYPE_CHECKING:
    from .._channel import ServerSession
    from ._base import AgentOptions

__all__ = ["AgentSession"]


class AgentSession:
    """One agent connection: a receive loop (frames, speech detection, control messages) and a
    worker task that runs the queued turns (think, function calls, speech) one at a time."""

    def __init__(self, options: AgentOptions, session: ServerSession) -> None:
        self.options = options
        self.server = server = session.server
        self.link = link = Link(session.websocket, session.request_id)
        self.settings: Settings | None = None
        self.state = state = AgentState(link)
        self.speech = speech = Speech(link, options, server, state)
        self.calls = calls = FunctionCalls(link, options, state, speech)
        self.conversation = Conversation(link, options, server, state, speech, calls)
        self.listening = Listening(link, options, server, state, speech, calls, self.conversation)

    async def run(self) -> None:
        link = self.link
        try:
            await link.send(Welcome(request_id=link.request_id))
            await self._receive_loop()
        except Fatal as fatal:
            await link.fail(fatal)
        except ConnectionClosed:
            await self._drain()
        except Exception:
            log.exception("request %s: the agent failed", link.request_id)
            await link.fail(internal())
        finally:
            await self.conversation.stop()
            self.calls.close()
            await self.listening.close()

    async def _drain(self) -> None:
        """Show ``on_client_frame`` the frames still buffered when the connection closed (the
        client may close right after its last messages, before they were handled)."""
        if self.options.on_client_frame is None:
            return
        with contextlib.suppress(ConnectionClosed, TimeoutError):
            async with asyncio.timeout(1.0):
                while True:
                    self._observe(await self.link.ws.recv())

    def _observe(self, frame: str | bytes) -> None:
        observe = self.options.on_client_frame
        if observe is not None:
            try:
                observe(self.link.request_id, frame)
            except Exception:
                log.exception("request %s: on_client_frame raised", self.link.request_id)

    async def _receive_loop(self) -> None:
        idle = self.server.idle_timeout
        ws = self.link.ws
        while True:
            frame = await receive(ws, idle)
            if frame is None:
                raise timeout_fatal(idle)
            self._observe(frame)
            if isinstance(frame, bytes):
                if self.settings is None:
                    raise Fatal(
                        "NON_SETTINGS_MESSAGE_BEFORE_SETTINGS",
                        "Audio arrived before Settings: send Settings first.",
                    )
                await self.listening.on_audio(frame)
                continue
            try:
                message = decode_client(frame)
            except (msgspec.ValidationError, msgspec.DecodeError, RecursionError) as exc:
                raise Fatal(
                    "UNPARSABLE_CLIENT_MESSAGE",
                    f"A message from the client could not be parsed: {exc}",
                ) from None
            await self._on_message(message)

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
        await self.link.send(SettingsApplied())
        if too_long:
            await state.prompt_warning()
        await state.voice_prompt_warning()
        if agent.greeting:
            self.conversation.greet(agent.greeting)

    async def _on_message(self, message: object) -> None:
        if isinstance(message, Settings):
            if self.settings is not None:
                raise Fatal(
                    "SETTINGS_ALREADY_APPLIED", "Settings were already applied to this session."
                )
            await self._apply_settings(message)
            return
        if self.settings is None:
            kind = getattr(message, "type", type(message).__name__)
            raise Fatal(
                "NON_SETTINGS_MESSAGE_BEFORE_SETTINGS",
                f"{kind} arrived before Settings: send Settings first.",
            )
        if isinstance(message, KeepAlive):
            return
        link, state = self.link, self.state
        if isinstance(message, FunctionCallResponse):
            self.calls.answer(message)
        elif isinstance(message, InjectUserMessage):
            await self.conversation.user_said(message.content)
        elif isinstance(message, InjectAgentMessage):
            await self.conversation.inject_agent(message, user_busy=self.listening.user_busy)
        elif isinstance(message, UpdatePrompt):
            too_long = state.set_prompt(message.prompt)
            await link.send(PromptUpdated())
            if too_long:
                await state.prompt_warning()
        elif isinstance(message, UpdateThink):
            too_long = state.update_think(message)
            await link.send(ThinkUpdated())
            if too_long:
                await state.prompt_warning()
            await state.voice_prompt_warning()
        elif isinstance(message, UpdateSpeak):
            check_update(message)
            await link.send(SpeakUpdated())
        elif isinstance(message, UpdateListen):
            check_update(message)
            state.update_listen(message.listen.provider)
            await link.send(ListenUpdated())
        elif isinstance(message, ForceEndTurn):
            await self.listening.force_end_turn()
        elif isinstance(message, UpdateThinkLive):
            check_update(message)
            state.think_live = message.think_live
            await link.send(ThinkLiveUpdated())
        elif isinstance(message, CustomToThinkProvider):
            # The local think provider has no custom protocol: it hands the payload back.
            await link.send(CustomFromThinkProvider(content=message.content))
