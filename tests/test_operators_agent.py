"""function_calls(): sync, Observable and async handlers; failures reported, never fatal."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import threading
from typing import Any

import pytest
import reactivex
from conftest import EXAMPLES
from reactivex import operators as ops
from reactivex.subject import Subject
from reactivex.testing import ReactiveTest, TestScheduler

from rxdeepgram import operators as dgo
from rxdeepgram.messages import Unknown, agent_v1

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

Response = agent_v1.FunctionCallResponse


def call(
    id: str, name: str, arguments: Any = None, client_side: bool = True
) -> agent_v1.FunctionCall:
    text = arguments if isinstance(arguments, str) else json.dumps(arguments or {})
    return agent_v1.FunctionCall(id=id, name=name, arguments=text, client_side=client_side)


def request(*items: agent_v1.FunctionCall) -> agent_v1.FunctionCallRequest:
    return agent_v1.FunctionCallRequest(functions=list(items))


def lookup(name: str, arguments: dict[str, Any]) -> Any:
    if name == "order_status":
        return {"order": arguments["order_id"], "status": "shipped"}
    if name == "greeting":
        return f"hello {arguments.get('who', 'you')}"
    raise LookupError(f"no function {name}")


def error_of(response: Response) -> str:
    content = json.loads(response.content)
    assert set(content) == {"error"}
    return str(content["error"])


# --- synchronous handlers --------------------------------------------------------------------


def test_client_side_items_are_answered_and_server_side_ones_skipped() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, agent_v1.Welcome(request_id="r")),
        on_next(
            220,
            request(
                call("c1", "order_status", {"order_id": "4572"}),
                call("s1", "server_thing", {}, client_side=False),
                call("c2", "greeting", {"who": "Ada"}),
            ),
        ),
        on_next(230, Unknown(type="FunctionCallRequest", raw="{}", error="bad")),
        on_next(240, b"\x00\x00"),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.function_calls(lookup)))
    assert observed.messages == [
        on_next(
            220,
            Response(
                id="c1", name="order_status", content='{"order": "4572", "status": "shipped"}'
            ),
        ),
        on_next(220, Response(id="c2", name="greeting", content="hello Ada")),
        on_completed(300),
    ]


def test_handler_failures_become_error_responses_and_are_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def handler(name: str, arguments: dict[str, Any]) -> Any:
        if name == "explode":
            raise ValueError("boom")
        if name == "unserialisable":
            return object()
        return arguments

    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(
            210,
            request(
                call("1", "explode", {"secret": "s3cr3t"}),
                call("2", "bad_json", "{not json"),
                call("3", "not_an_object", "[1, 2]"),
                call("4", "unserialisable"),
                call("5", "no_arguments", ""),
            ),
        ),
        on_completed(300),
    )
    with caplog.at_level(logging.ERROR, logger="rxdeepgram.operators"):
        observed = scheduler.start(lambda: xs.pipe(dgo.function_calls(handler)))
    responses = [m.value.value for m in observed.messages[:-1]]
    assert [r.id for r in responses] == ["1", "2", "3", "4", "5"]
    assert error_of(responses[0]) == "ValueError: boom"
    assert error_of(responses[1]).startswith("JSONDecodeError: ")
    assert error_of(responses[2]) == "ValueError: arguments must be a JSON object, got list"
    assert error_of(responses[3]) == "TypeError: object is not JSON serialisable"
    assert responses[4] == Response(id="5", name="no_arguments", content="{}")
    assert observed.messages[-1] == on_completed(300)
    logged = [r for r in caplog.records if r.name == "rxdeepgram.operators"]
    assert len(logged) == 4
    assert "'explode' (id 1) failed: ValueError: boom" in logged[0].getMessage()
    assert all("s3cr3t" not in r.getMessage() for r in logged)


def test_structs_dataclasses_and_none_are_sent_as_json() -> None:
    @dataclasses.dataclass
    class Weather:
        city: str
        celsius: float

    results: dict[str, Any] = {
        "dc": Weather("Oslo", 3.5),
        "struct": agent_v1.AudioInput(encoding="linear16", sample_rate=16000),
        "none": None,
        "number": 42,
    }
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, request(*(call(n, n) for n in results))), on_completed(300)
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.function_calls(lambda name, _: results[name])))
    assert [json.loads(m.value.value.content) for m in observed.messages[:-1]] == [
        {"city": "Oslo", "celsius": 3.5},
        {"encoding": "linear16", "sample_rate": 16000},
        None,
        42,
    ]


def test_source_errors_pass_on_and_disposal_stops_answers() -> None:
    error = ConnectionError("closed 1011")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, request(call("1", "greeting"))), on_error(220, error)
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.function_calls(lookup)))
    assert observed.messages == [
        on_next(210, Response(id="1", name="greeting", content="hello you")),
        on_error(220, error),
    ]

    calls: list[str] = []
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, request(call("1", "greeting"))),
        on_next(260, request(call("2", "greeting"))),
    )
    observed = scheduler.start(
        lambda: xs.pipe(dgo.function_calls(lambda n, a: calls.append(n) or "ok")),
        disposed=250,
    )
    assert observed.messages == [on_next(210, Response(id="1", name="greeting", content="ok"))]
    assert calls == ["greeting"]
    assert xs.subscriptions == [subscribe(200, 250)]


def test_each_subscription_calls_the_handler() -> None:
    calls: list[str] = []

    def handler(name: str, arguments: dict[str, Any]) -> str:
        calls.append(name)
        return "done"

    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(260, request(call("1", "f"))), on_completed(300))
    answers = xs.pipe(dgo.function_calls(handler))
    other = scheduler.create_observer()
    scheduler.schedule_absolute(250, lambda *_: answers.subscribe(other))
    first = scheduler.start(lambda: answers)
    assert calls == ["f", "f"]
    assert first.messages == other.messages


def test_a_handler_must_be_callable() -> None:
    with pytest.raises(TypeError, match="callable"):
        dgo.function_calls("not a function")  # type: ignore[arg-type]


def test_the_protocol_fixture_request() -> None:
    folder = EXAMPLES / "agent-v1" / "server"
    client_side = agent_v1.decode((folder / "FunctionCallRequest.json").read_text())
    server_side = agent_v1.decode((folder / "FunctionCallRequest.server_side.json").read_text())
    assert isinstance(client_side, agent_v1.FunctionCallRequest)
    seen: list[tuple[str, dict[str, Any]]] = []
    out = (
        reactivex.from_iterable([server_side, client_side])
        .pipe(
            dgo.function_calls(lambda name, args: seen.append((name, args)) or "ok"),
            ops.to_list(),
        )
        .run()
    )
    item = client_side.functions[0]
    assert seen == [(item.name, json.loads(item.arguments))]
    assert out == [Response(id=item.id, name=item.name, content="ok")]


# --- Observable handlers ---------------------------------------------------------------------


def test_an_observable_result_answers_with_its_last_item_when_it_completes() -> None:
    scheduler = TestScheduler()

    def handler(name: str, arguments: dict[str, Any]) -> Any:
        if name == "slow":
            return scheduler.create_cold_observable(
                on_next(10, "partial"), on_next(30, {"rows": 2}), on_completed(40)
            )
        if name == "failing":
            return scheduler.create_cold_observable(on_error(5, RuntimeError("db down")))
        return reactivex.empty()

    xs = scheduler.create_hot_observable(
        on_next(210, request(call("1", "slow"), call("2", "failing"), call("3", "empty"))),
        on_completed(220),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.function_calls(handler)))
    assert observed.messages == [
        on_next(210, Response(id="3", name="empty", content="null")),
        on_next(
            215,
            Response(
                id="2", name="failing", content=json.dumps({"error": "RuntimeError: db down"})
            ),
        ),
        on_next(250, Response(id="1", name="slow", content='{"rows": 2}')),
        on_completed(250),  # the source completed at 220; the last answer came at 250
    ]


def test_disposal_unsubscribes_pending_observable_results() -> None:
    scheduler = TestScheduler()
    pending = scheduler.create_cold_observable(on_next(100, "late"), on_completed(100))
    xs = scheduler.create_hot_observable(on_next(210, request(call("1", "slow"))))
    observed = scheduler.start(
        lambda: xs.pipe(dgo.function_calls(lambda n, a: pending)), disposed=250
    )
    assert observed.messages == []
    assert pending.subscriptions == [subscribe(210, 250)]


# --- async handlers --------------------------------------------------------------------------


async def test_async_handlers_run_on_the_running_loop_and_answer_when_done() -> None:
    loop = asyncio.get_running_loop()
    release = asyncio.Event()
    threads: list[int] = []

    async def handler(name: str, arguments: dict[str, Any]) -> Any:
        threads.append(threading.get_ident())
        if name == "wait":
            await release.wait()
            return {"waited": True}
        if name == "fail":
            raise PermissionError("not allowed")
        return "quick"

    source: Subject[object] = Subject()
    got: list[Response] = []
    finished = loop.create_future()
    source.pipe(dgo.function_calls(handler)).subscribe(
        got.append, finished.set_exception, lambda: finished.set_result(None)
    )
    source.on_next(request(call("1", "wait"), call("2", "quick"), call("3", "fail")))
    source.on_completed()
    for _ in range(100):  # let the loop run the quick calls and their callbacks
        if len(got) == 2:
            break
        await asyncio.sleep(0)
    assert [r.id for r in got] == ["2", "3"]  # answered out of order, as they finish
    assert not finished.done()  # "wait" is still pending
    release.set()
    await asyncio.wait_for(finished, 5)
    assert got[0] == Response(id="2", name="quick", content="quick")
    assert error_of(got[1]) == "PermissionError: not allowed"
    assert got[2] == Response(id="1", name="wait", content='{"waited": true}')
    assert threads == [threading.get_ident()] * 3


async def test_disposal_cancels_pending_async_calls() -> None:
    started, cancelled = asyncio.Event(), asyncio.Event()

    async def handler(name: str, arguments: dict[str, Any]) -> str:
        started.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            cancelled.set()
            raise
        return "never"

    source: Subject[object] = Subject()
    got: list[Response] = []
    subscription = source.pipe(dgo.function_calls(handler)).subscribe(got.append)
    source.on_next(request(call("1", "forever")))
    await asyncio.wait_for(started.wait(), 5)
    subscription.dispose()
    await asyncio.wait_for(cancelled.wait(), 5)
    assert got == []


async def test_async_handlers_run_on_the_given_loop_from_another_thread() -> None:
    loop = asyncio.get_running_loop()
    threads: list[int] = []
    answered: asyncio.Future[Response] = loop.create_future()

    async def handler(name: str, arguments: dict[str, Any]) -> int:
        threads.append(threading.get_ident())
        return int(arguments["n"]) * 2

    def deliver() -> None:  # a reader thread, as with the sync client
        reactivex.of(request(call("1", "double", {"n": 21}))).pipe(
            dgo.function_calls(handler, loop=loop)
        ).subscribe(lambda r: loop.call_soon_threadsafe(answered.set_result, r))

    thread = threading.Thread(target=deliver)
    thread.start()
    response = await asyncio.wait_for(answered, 5)
    thread.join(5)
    assert response == Response(id="1", name="double", content="42")
    assert threads == [threading.get_ident()]


def test_async_handlers_without_any_loop_run_on_a_worker_thread() -> None:
    done = threading.Event()
    got: list[Response] = []

    async def handler(name: str, arguments: dict[str, Any]) -> str:
        await asyncio.sleep(0)
        return f"{name} on {threading.current_thread().name}"

    reactivex.of(request(call("1", "work"))).pipe(dgo.function_calls(handler)).subscribe(
        got.append, on_completed=done.set
    )
    assert done.wait(5)
    assert got == [Response(id="1", name="work", content="work on rxdeepgram-function-call")]


def test_a_closed_loop_is_reported_as_the_calls_failure() -> None:
    closed = asyncio.new_event_loop()
    closed.close()

    async def handler(name: str, arguments: dict[str, Any]) -> str:
        return "unreachable"

    out = (
        reactivex.of(request(call("1", "f")))
        .pipe(dgo.function_calls(handler, loop=closed), ops.to_list())
        .run()
    )
    assert [r.id for r in out] == ["1"]
    assert error_of(out[0]) == "RuntimeError: Event loop is closed"


# --- FunctionCallCancelled -------------------------------------------------------------------


def cancelled(*ids: str) -> agent_v1.FunctionCallCancelled:
    return agent_v1.FunctionCallCancelled(
        functions=[agent_v1.CancelledFunction(id=i, name="slow") for i in ids]
    )


def test_a_cancelled_call_is_disposed_and_never_answered() -> None:
    scheduler = TestScheduler()
    slow = scheduler.create_cold_observable(on_next(50, {"rows": 1}), on_completed(50))
    xs = scheduler.create_hot_observable(
        on_next(210, request(call("1", "slow"), call("2", "slow"))),
        on_next(230, cancelled("1", "unknown-id")),  # an id never asked for is ignored
        on_next(240, cancelled("2")),
        on_completed(250),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.function_calls(lambda n, a: slow)))
    assert observed.messages == [on_completed(250)]
    assert slow.subscriptions == [subscribe(210, 230), subscribe(210, 240)]


def test_a_cancelled_call_no_longer_holds_the_completion_back() -> None:
    scheduler = TestScheduler()
    slow = scheduler.create_cold_observable(on_next(100, "late"), on_completed(100))
    xs = scheduler.create_hot_observable(
        on_next(210, request(call("1", "slow"), call("2", "quick"))),
        on_next(220, cancelled("1")),
        on_completed(230),  # without the cancellation the output would wait until 310
    )
    observed = scheduler.start(
        lambda: xs.pipe(
            dgo.function_calls(lambda n, a: slow if n == "slow" else reactivex.of("done"))
        )
    )
    assert observed.messages == [
        on_next(210, Response(id="2", name="quick", content="done")),
        on_completed(230),
    ]


def test_a_call_answered_before_its_cancellation_keeps_its_answer() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, request(call("1", "greeting", {"who": "Ann"}))),
        on_next(220, cancelled("1")),
        on_completed(230),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.function_calls(lookup)))
    assert observed.messages == [
        on_next(210, Response(id="1", name="greeting", content="hello Ann")),
        on_completed(230),
    ]


def test_a_cancelled_awaitable_is_cancelled_and_never_answered() -> None:
    answers: list[Response] = []
    started = threading.Event()

    async def main() -> None:
        loop = asyncio.get_running_loop()
        gate: asyncio.Future[None] = loop.create_future()

        async def handler(name: str, arguments: dict[str, Any]) -> str:
            started.set()
            await gate  # never set: only a cancellation ends it
            return "late"

        source: Subject[object] = Subject()
        done = asyncio.Event()
        source.pipe(dgo.function_calls(handler)).subscribe(answers.append, on_completed=done.set)
        source.on_next(request(call("1", "slow")))
        await asyncio.sleep(0)
        source.on_next(cancelled("1"))
        source.on_completed()
        await asyncio.wait_for(done.wait(), 5)
        await asyncio.sleep(0)  # the task's cancellation runs its done callback
        assert gate.cancelled() or not gate.done()

    asyncio.run(main())
    assert started.is_set()
    assert answers == []
