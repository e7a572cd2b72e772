"""The conversation: user statements (``ConversationText`` and ``History`` at once, the turn
queued), injected agent lines, and the worker that runs the queued turns one at a time: the
think step, the function calls it asks for, the reply."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import time
from collections import deque
from typing import TYPE_CHECKING, Literal

from websockets.exceptions import ConnectionClosed

from ...messages.agent_v1 import (
    AgentThinking,
    ConversationText,
    FrustrationDetected,
    History,
    InjectAgentMessage,
    InjectionRefused,
)
from ..think import CallResult, Message, ThinkReply, run_think
from ._base import DEFAULT_FRUSTRATION_MAX, DYNAMIC_LINE, FRUSTRATION_WORDS, internal, log

if TYPE_CHECKING:
    from .._channel import ServerSettings
    from ._base import AgentOptions, Link
    from ._calls import FunctionCalls
    from ._speech import Speech
    from ._state import AgentState

__all__ = ["Conversation"]


@dataclasses.dataclass(slots=True)
class _Job:
    """Work for the agent, done one at a time: a user turn or an agent statement."""

    kind: Literal["user", "agent"]
    text: str
    since: float  # perf_counter() when the turn ended (latencies count from here)
    behavior: str | None = None  # ConversationText.conversational_behavior of an agent line


class Conversation:
    """The turn queue and its worker task."""

    def __init__(
        self,
        link: Link,
        options: AgentOptions,
        server: ServerSettings,
        state: AgentState,
        speech: Speech,
        calls: FunctionCalls,
    ) -> None:
        self.link = link
        self.options = options
        self.server = server
        self.state = state
        self.speech = speech
        self.calls = calls
        self.frustrations = 0
        self.jobs: deque[_Job] = deque()
        self.wake = asyncio.Event()
        self.busy = False
        self.worker: asyncio.Task[None] | None = None

    # -- the queue ----------------------------------------------------------------------------

    def start(self) -> None:
        self.worker = asyncio.create_task(self._work(), name=f"agent-{self.link.request_id}")

    async def stop(self) -> None:
        worker, self.worker = self.worker, None
        if worker is not None and worker.done() and not worker.cancelled():
            worker.exception()  # it may have ended on the dropped socket: retrieved, quietly
        elif worker is not None and not worker.done():
            worker.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker

    def _enqueue(self, job: _Job, *, first: bool = False) -> None:
        if first:
            self.jobs.appendleft(job)
        else:
            self.jobs.append(job)
        self.wake.set()

    def greet(self, text: str) -> None:
        """Queue ``Settings``' ``greeting``."""
        self._enqueue(_Job("agent", text, time.perf_counter()))

    # -- what comes in ------------------------------------------------------------------------

    async def user_said(self, text: str) -> None:
        """A user statement (an utterance that ended, or ``InjectUserMessage``): its
        ``ConversationText`` and ``History`` go out now, before anything said after it, and its
        turn (think, reply) is queued. Sent by the worker instead, they came after the
        ``UserStartedSpeaking`` of the next utterance whenever the worker was busy or audio
        came faster than real time: two starts, then one transcript."""
        await self.link.send(
            ConversationText(role="user", content=text, conversational_behavior="default")
        )
        await self._frustration(text)
        if self.state.history_on:
            await self.link.send(History(role="user", content=text))
        self._enqueue(_Job("user", text, time.perf_counter()))

    async def _frustration(self, text: str) -> None:
        """Think Live's frustration detection, locally: a user statement with a word of
        frustration is one ``FrustrationDetected``, ``escalated`` from the provider's
        ``frustration_max_count`` on (0 turns the events off)."""
        live = self.state.think_live
        if live is None:
            return
        limit = live.provider.frustration_max_count
        if limit == 0 or not FRUSTRATION_WORDS.search(text):
            return
        self.frustrations += 1
        escalated = self.frustrations >= (DEFAULT_FRUSTRATION_MAX if limit is None else limit)
        await self.link.send(FrustrationDetected(count=self.frustrations, escalated=escalated))

    async def inject_agent(self, message: InjectAgentMessage, *, user_busy: bool) -> None:
        """``InjectAgentMessage``; ``user_busy``: the user is speaking."""
        behavior = message.behavior or "default"
        agent_busy = self.busy or bool(self.jobs)
        if message.is_dynamic:
            if self.state.think_live is None:
                await self.link.send(
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
            await self.link.send(
                InjectionRefused(
                    message="InjectAgentMessage was refused because the user is speaking."
                )
            )
        elif behavior == "default" and agent_busy:
            await self.link.send(
                InjectionRefused(
                    message="InjectAgentMessage was refused because the agent is mid-turn."
                )
            )
        elif behavior == "interrupt":
            self.speech.cut()
            self._enqueue(job, first=True)
        else:
            self._enqueue(job)

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
                        await self.speech.say(
                            job.text, since=job.since, ttt=0.0, behavior=job.behavior
                        )
                finally:
                    self.busy = False
        except ConnectionClosed:
            return
        except Exception:
            log.exception("request %s: the agent's turn failed", self.link.request_id)
            await self.link.fail(internal())

    async def _think(self, results: tuple[CallResult, ...]) -> ThinkReply | None:
        try:
            return await run_think(self.server.think, self.state.request(results))
        except Exception as exc:
            log.info("request %s: think step failed: %s", self.link.request_id, type(exc).__name__)
            await self.link.warn("THINK_REQUEST_FAILED", f"The think step failed: {exc}")
            return None

    async def _user_turn(self, job: _Job) -> None:
        # its ConversationText and History went out when it was said (``user_said``)
        self.state.history.append(Message("user", job.text))
        say = self.speech.say
        results: tuple[CallResult, ...] = ()
        tool_time = 0.0
        reply = await self._think(results)
        rounds = 0
        limit = self.options.max_think_rounds
        while reply is not None and reply.calls:
            rounds += 1
            if reply.thinking:
                await self.link.send(AgentThinking(content=reply.thinking))
            if reply.text:
                await say(reply.text, since=job.since, ttt=time.perf_counter() - job.since)
            if rounds > limit:
                await self.link.warn(
                    "THINK_REQUEST_FAILED",
                    f"The think step asked for functions more than {limit} times in one turn.",
                )
                return
            started = time.perf_counter()
            called = await self.calls.call(reply.calls, announced=bool(reply.text))
            if called is None:  # cancelled by the user speaking again: the turn is over
                return
            results += called
            tool_time += time.perf_counter() - started
            reply = await self._think(results)
        if reply is None:
            return
        if reply.thinking:
            await self.link.send(AgentThinking(content=reply.thinking))
        if reply.text:
            ttt = time.perf_counter() - job.since
            await say(reply.text, since=job.since, ttt=ttt, tool=tool_time or None)
