"""Function calls the think step asks for: one ``FunctionCallRequest``; server-side calls
answered at once with the handler's ``server_function``; client-side calls waiting for the
client's ``FunctionCallResponse`` (Think Live's filler lines meanwhile), withdrawn with
``FunctionCallCancelled`` when the user speaks again; then ``History {function_calls}``."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ...messages.agent_v1 import (
    CancelledFunction,
    FunctionCall,
    FunctionCallCancelled,
    FunctionCallRequest,
    FunctionCallResponse,
    History,
    HistoryFunctionCall,
)
from ..think import Call, CallResult
from ._base import FILLER_LINE, log

if TYPE_CHECKING:
    from ._base import AgentOptions, Link
    from ._speech import Speech
    from ._state import AgentState

__all__ = ["FunctionCalls"]

_CANCELLED: Any = object()
"""The answer of a client-side call that ``FunctionCallCancelled`` withdrew."""


class FunctionCalls:
    """The calls of one turn at a time, and the client-side ones still waiting for answers."""

    def __init__(self, link: Link, options: AgentOptions, state: AgentState, speech: Speech):
        self.link = link
        self.options = options
        self.state = state
        self.speech = speech
        self.pending: dict[str, tuple[str, asyncio.Future[str]]] = {}

    async def call(
        self, calls: tuple[Call, ...], *, announced: bool = False
    ) -> tuple[CallResult, ...] | None:
        """Make ``calls``; their results, or ``None`` when the user's speaking again withdrew
        them (the turn is over). ``announced``: the reply already said something."""
        link, state = self.link, self.state
        loop = asyncio.get_running_loop()
        items: list[FunctionCall] = []
        for call in calls:
            spec = next((f for f in state.functions if f.name == call.name), None)
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
        await link.send(FunctionCallRequest(functions=items))
        contents: dict[str, str] = {}
        for item, call in zip(items, calls, strict=True):
            if item.client_side:
                continue
            try:
                content = self.options.server_function(call.name, call.arguments)
            except Exception as exc:
                await link.warn("FUNCTION_CALL_FAILED", f"{call.name} failed: {exc}")
                content = json.dumps({"error": str(exc)})
            contents[item.id] = content
            await link.send(FunctionCallResponse(id=item.id, name=item.name, content=content))
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
        if state.history_on:
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
            await link.send(History(function_calls=records))
        return results

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
        if self.state.think_live is None:
            return
        names = {item.name for item in items if item.client_side}
        settings = [f for f in self.state.function_settings() if f.name in names]
        initial = any(f.initial_agent_filler for f in settings) and not announced
        more = max((f.agent_filler_max_count or 0 for f in settings), default=0)
        interval = max((f.agent_filler_interval_ms or 0 for f in settings), default=0) / 1000
        waiting = list(futures.values())
        say = self.speech.say

        def answered() -> bool:
            return all(f.done() for f in waiting)

        if initial and not answered():
            await say(FILLER_LINE, since=time.perf_counter(), ttt=0.0, behavior="filler")
        for _ in range(more):
            if answered():
                return
            await asyncio.wait(waiting, timeout=interval)
            if answered():
                return
            await say(FILLER_LINE, since=time.perf_counter(), ttt=0.0, behavior="filler")

    def answer(self, message: FunctionCallResponse) -> None:
        """The client's ``FunctionCallResponse``: matched by ``id``, else by ``name``; one for
        no waiting call is ignored."""
        key = message.id
        if key is None:
            key = next((k for k, (n, _) in self.pending.items() if n == message.name), None)
        entry = self.pending.pop(key, None) if key is not None else None
        if entry is None:
            log.info("request %s: FunctionCallResponse for no pending call", self.link.request_id)
            return
        future = entry[1]
        if not future.done():
            future.set_result(message.content)

    async def cancel(self) -> None:
        """The user speaks again while client-side calls wait for their answers: the turn
        they were made for is over. Calls of functions with ``defer_until_eot`` are kept (they
        waited for the turn to be confirmed); the others are ``FunctionCallCancelled`` and
        their turn ends without a reply."""
        deferred = {f.name for f in self.state.function_settings() if f.defer_until_eot}
        gone = [(k, v) for k, v in self.pending.items() if v[0] not in deferred]
        if not gone:
            return
        for key, _ in gone:
            del self.pending[key]
        await self.link.send(
            FunctionCallCancelled(
                functions=[CancelledFunction(id=key, name=name) for key, (name, _) in gone]
            )
        )
        for _, (_, future) in gone:
            if not future.done():
                future.set_result(_CANCELLED)

    def close(self) -> None:
        """The connection is over: nothing waits any more."""
        for _, future in self.pending.values():
            future.cancel()
        self.pending.clear()
