"""``function_calls()``: answer the agent's client-side function calls with a handler.

For each ``FunctionCallRequest`` item with ``client_side: true`` the handler is called as
``handler(name, arguments)`` (``arguments`` parsed from the item's JSON text; ``""`` counts as
``{}``) and its result becomes a ``FunctionCallResponse(id, name, content)``: a ``str`` result
is sent as is, anything else as ``json.dumps(result)`` (msgspec structs and dataclasses are
converted first). Items with ``client_side: false`` are the server's to run and are skipped.

What the handler returns decides how it runs:

* a value: sent at once (the handler ran on the thread delivering messages, so keep it short);
* an Observable: its last item is the result (``None`` if it completes empty);
* any other awaitable (a coroutine from an ``async def`` handler, a Future): awaited on
  ``loop`` if given (thread-safely when it is not the current thread's loop), else on the
  asyncio loop running in the thread delivering the message (the async client's loop), else,
  with no loop anywhere, with ``asyncio.run`` on a worker thread. Results are sent as they
  finish, so async answers may come out of request order.

Failures never end the stream: invalid arguments, a handler that raises (or whose awaitable or
Observable fails) and a result that is not JSON serialisable are each answered with
``content = {"error": "<Type>: <message>"}`` so that the agent can tell the user, and logged on
``rxdeepgram.operators`` (with the function's name and call id, never its arguments).

A ``FunctionCallCancelled`` withdraws calls: a pending one (Observable or awaitable) is
disposed or cancelled and answered with nothing, as Deepgram asks ("send no
FunctionCallResponse for this id"); a call already answered is not affected. The
output completes when the source has completed and every pending call has answered; a source
error is passed on at once and drops pending calls, as does disposal (awaitables on a loop are
cancelled; a worker thread's result is discarded).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import itertools
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec
from reactivex import Observable, abc
from reactivex.disposable import Disposable, SingleAssignmentDisposable

from ..messages import agent_v1
from ._types import FunctionHandler
from ._util import log

__all__ = ["function_calls_"]

Response = agent_v1.FunctionCallResponse
_Future = asyncio.Future[Any] | concurrent.futures.Future[Any]


def _builtins(value: object) -> Any:
    try:
        return msgspec.to_builtins(value)
    except TypeError:
        raise TypeError(f"{type(value).__name__} is not JSON serialisable") from None


def _content(result: object) -> str:
    return result if isinstance(result, str) else json.dumps(result, default=_builtins)


def _arguments(text: str) -> dict[str, Any]:
    if not text.strip():
        return {}
    value = json.loads(text)
    if not isinstance(value, dict):
        raise ValueError(f"arguments must be a JSON object, got {type(value).__name__}")
    return value


def _describe(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


async def _await(awaitable: Awaitable[Any]) -> Any:
    return await awaitable


def _on_worker_thread(awaitable: Awaitable[Any]) -> concurrent.futures.Future[Any]:
    future: concurrent.futures.Future[Any] = concurrent.futures.Future()

    def run() -> None:
        if not future.set_running_or_notify_cancel():
            return
        try:
            future.set_result(asyncio.run(_await(awaitable)))
        except BaseException as exc:  # reported as the call's failure
            future.set_exception(exc)

    threading.Thread(target=run, name="rxdeepgram-function-call", daemon=True).start()
    return future


def _canceller(future: _Future) -> Callable[[], object]:
    """A thread-safe ``cancel`` for the future (an asyncio one is cancelled on its loop)."""
    if isinstance(future, concurrent.futures.Future):
        return future.cancel
    loop = future.get_loop()

    def cancel() -> None:
        with contextlib.suppress(RuntimeError):  # a closed loop: nothing left to cancel
            loop.call_soon_threadsafe(future.cancel)

    return cancel


def _start(awaitable: Awaitable[Any], loop: asyncio.AbstractEventLoop | None) -> _Future:
    try:
        running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    target = loop or running
    if target is None:
        return _on_worker_thread(awaitable)
    if target is running:
        return target.create_task(_await(awaitable))
    coroutine = _await(awaitable)
    try:
        return asyncio.run_coroutine_threadsafe(coroutine, target)
    except BaseException:
        coroutine.close()
        raise


def function_calls_(
    handler: FunctionHandler, loop: asyncio.AbstractEventLoop | None = None
) -> Callable[[Observable[object]], Observable[Response]]:
    if not callable(handler):
        raise TypeError(f"function_calls() needs a callable handler, got {type(handler).__name__}")

    def operator(source: Observable[object]) -> Observable[Response]:
        def subscribe(
            observer: abc.ObserverBase[Response], scheduler: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            lock = threading.RLock()
            pending: dict[int, Callable[[], object]] = {}  # call number -> cancel
            by_id: dict[str, int] = {}  # call id -> number, while pending
            withdrawn: set[int] = set()  # numbers a FunctionCallCancelled took back
            numbers = itertools.count()
            source_done = False
            stopped = False

            def finish(number: int | None, response: Response) -> None:
                nonlocal stopped
                with lock:
                    if number is not None:
                        pending.pop(number, None)
                        by_id.pop(response.id or "", None)
                        if number in withdrawn:
                            withdrawn.discard(number)
                            return
                    if stopped:
                        return
                    observer.on_next(response)
                    if source_done and not pending:
                        stopped = True
                        observer.on_completed()

            def withdraw(message: agent_v1.FunctionCallCancelled) -> None:
                nonlocal stopped
                cancels = []
                with lock:
                    for fn in message.functions:
                        number = by_id.pop(fn.id, None)
                        cancel = pending.pop(number, None) if number is not None else None
                        if cancel is not None and number is not None:
                            withdrawn.add(number)
                            cancels.append(cancel)
                    if cancels and source_done and not pending and not stopped:
                        stopped = True
                        observer.on_completed()
                for cancel in cancels:
                    cancel()

            def answer(item: agent_v1.FunctionCall, number: int | None, result: object) -> None:
                try:
                    content = _content(result)
                except (TypeError, ValueError) as exc:
                    fail(item, number, exc)
                    return
                finish(number, Response(id=item.id, name=item.name, content=content))

            def fail(item: agent_v1.FunctionCall, number: int | None, error: BaseException) -> None:
                log.error(
                    "function call %r (id %s) failed: %s",
                    item.name,
                    item.id,
                    _describe(error),
                    exc_info=error,
                )
                content = json.dumps({"error": _describe(error)})
                finish(number, Response(id=item.id, name=item.name, content=content))

            def track_observable(item: agent_v1.FunctionCall, result: Observable[object]) -> None:
                number = next(numbers)
                holder = SingleAssignmentDisposable()
                last: list[object] = [None]
                with lock:
                    pending[number] = holder.dispose
                    by_id[item.id] = number

                def on_next(value: object) -> None:
                    last[0] = value

                holder.disposable = result.subscribe(
                    on_next,
                    lambda error: fail(item, number, error),
                    lambda: answer(item, number, last[0]),
                    scheduler=scheduler,
                )

            def track_awaitable(item: agent_v1.FunctionCall, result: Awaitable[Any]) -> None:
                number = next(numbers)
                future = _start(result, loop)

                def done(finished: _Future) -> None:
                    with lock:
                        if number in withdrawn:  # a FunctionCallCancelled took it back
                            withdrawn.discard(number)
                            return
                    if finished.cancelled():
                        with lock:
                            if stopped:
                                return
                        fail(item, number, asyncio.CancelledError("the call was cancelled"))
                        return
                    error = finished.exception()
                    if error is not None:
                        fail(item, number, error)
                    else:
                        answer(item, number, finished.result())

                with lock:
                    pending[number] = _canceller(future)
                    by_id[item.id] = number
                # asyncio runs the callback on its loop; a concurrent Future at once if done.
                future.add_done_callback(done)

            def call(item: agent_v1.FunctionCall) -> None:
                try:
                    arguments = _arguments(item.arguments)
                    result = handler(item.name, arguments)
                except Exception as exc:
                    fail(item, None, exc)
                    return
                try:
                    if isinstance(result, Observable):
                        track_observable(item, result)
                    elif inspect.isawaitable(result):
                        track_awaitable(item, result)
                    else:
                        answer(item, None, result)
                except Exception as exc:  # e.g. the given loop is closed
                    if inspect.iscoroutine(result):
                        result.close()
                    fail(item, None, exc)

            def on_next(message: object) -> None:
                if isinstance(message, agent_v1.FunctionCallCancelled):
                    withdraw(message)
                    return
                if not isinstance(message, agent_v1.FunctionCallRequest):
                    return
                for item in message.functions:
                    if item.client_side:
                        call(item)

            def cancel_all() -> None:
                for cancel in list(pending.values()):
                    cancel()
                pending.clear()

            def on_error(error: Exception) -> None:
                nonlocal stopped
                with lock:
                    if stopped:
                        return
                    stopped = True
                    cancel_all()
                    observer.on_error(error)

            def on_completed() -> None:
                nonlocal source_done, stopped
                with lock:
                    source_done = True
                    if not stopped and not pending:
                        stopped = True
                        observer.on_completed()

            def dispose() -> None:
                nonlocal stopped
                with lock:
                    stopped = True
                    cancel_all()

            subscription = source.subscribe(on_next, on_error, on_completed, scheduler=scheduler)

            def unsubscribe() -> None:
                subscription.dispose()
                dispose()

            return Disposable(unsubscribe)

        return Observable(subscribe)

    return operator
