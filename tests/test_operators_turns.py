"""turns(): Flux TurnInfo events as Turn values, in virtual time."""

from __future__ import annotations

from typing import Any

from conftest import EXAMPLES
from reactivex.testing import ReactiveTest, TestScheduler

from rxdeepgram import operators as dgo
from rxdeepgram.messages import Unknown, listen_v2
from rxdeepgram.operators import Turn

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


def info(
    event: str,
    transcript: str,
    index: int = 0,
    *,
    confidence: float = 0.5,
    trigger: str | None = None,
    end: float = 1.0,
) -> listen_v2.TurnInfo:
    return listen_v2.TurnInfo(
        request_id="r",
        sequence_id=1,
        event=event,
        turn_index=index,
        audio_window_start=0.0,
        audio_window_end=end,
        transcript=transcript,
        words=[listen_v2.Word(word=w, confidence=0.9) for w in transcript.split()],
        end_of_turn_confidence=confidence,
        trigger=trigger,
    )


def states(messages: list[Any]) -> list[tuple[int, int, str, str]]:
    return [
        (m.time, m.value.value.index, m.value.value.state, m.value.value.transcript)
        for m in messages
        if m.value.kind == "N"
    ]


def eager_turn_then_plain_turn() -> list[object]:
    return [
        on_next(210, info("StartOfTurn", "")),
        on_next(215, info("Update", "Hi")),
        on_next(220, info("EagerEndOfTurn", "Hi there", confidence=0.6)),
        on_next(225, info("TurnResumed", "Hi there I")),
        on_next(230, info("Update", "Hi there I need")),
        on_next(235, info("EagerEndOfTurn", "Hi there I need help.", confidence=0.65)),
        on_next(240, info("EndOfTurn", "Hi there I need help.", confidence=0.9, trigger="model")),
        on_next(250, info("StartOfTurn", "", index=1)),
        on_next(255, info("EndOfTurn", "Thanks.", index=1, trigger="timeout")),
        on_completed(300),
    ]


def test_turns_follow_the_flux_events_and_skip_updates_by_default() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(*eager_turn_then_plain_turn())
    observed = scheduler.start(lambda: xs.pipe(dgo.turns()))
    assert states(observed.messages) == [
        (210, 0, "started", ""),
        (220, 0, "eager", "Hi there"),
        (225, 0, "resumed", "Hi there I"),
        (235, 0, "eager", "Hi there I need help."),
        (240, 0, "ended", "Hi there I need help."),
        (250, 1, "started", ""),
        (255, 1, "ended", "Thanks."),
    ]
    assert observed.messages[-1] == on_completed(300)
    ended = observed.messages[4].value.value
    assert ended == Turn(
        index=0,
        state="ended",
        transcript="Hi there I need help.",
        words=[
            listen_v2.Word(word=w, confidence=0.9) for w in ["Hi", "there", "I", "need", "help."]
        ],
        confidence=0.9,
        start=0.0,
        end=1.0,
        trigger="model",
    )
    assert ended.final and not observed.messages[3].value.value.final
    assert observed.messages[6].value.value.trigger == "timeout"


def test_turns_with_updates_report_every_update() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(*eager_turn_then_plain_turn())
    observed = scheduler.start(lambda: xs.pipe(dgo.turns(updates=True)))
    assert [s for _, _, s, _ in states(observed.messages)] == [
        "started",
        "updated",
        "eager",
        "resumed",
        "updated",
        "eager",
        "ended",
        "started",
        "ended",
    ]


def test_other_messages_unknown_and_new_events_are_ignored() -> None:
    connected = listen_v2.Connected(request_id="r", sequence_id=0)
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(205, connected),
        on_next(210, Unknown(type="Mystery", raw="{}", error="unknown")),
        on_next(215, info("SomethingNew", "x")),
        on_next(220, b"\x00"),
        on_next(230, info("StartOfTurn", "")),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.turns()))
    assert states(observed.messages) == [(230, 0, "started", "")]


def test_an_open_turn_is_ended_when_the_stream_completes_after_close_stream() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, info("StartOfTurn", "")),
        on_next(220, info("Update", "last words", end=2.0)),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.turns()))
    assert states(observed.messages) == [(210, 0, "started", ""), (300, 0, "ended", "last words")]
    closing = observed.messages[1].value.value
    assert (closing.trigger, closing.end, closing.final) == ("stream_end", 2.0, True)
    assert observed.messages[-1] == on_completed(300)


def test_no_stream_end_turn_when_the_turn_ended_or_said_nothing_or_errored() -> None:
    for tail in (
        [on_next(220, info("EndOfTurn", "done"))],
        [on_next(220, info("Update", "  "))],
    ):
        scheduler = TestScheduler()
        xs = scheduler.create_hot_observable(
            on_next(210, info("StartOfTurn", "")), *tail, on_completed(300)
        )
        observed = scheduler.start(lambda xs=xs: xs.pipe(dgo.turns()))
        assert "stream_end" not in [
            m.value.value.trigger for m in observed.messages if m.value.kind == "N"
        ]
        assert observed.messages[-1] == on_completed(300)

    error = ConnectionError("gone")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, info("Update", "half")), on_error(220, error))
    observed = scheduler.start(lambda: xs.pipe(dgo.turns()))
    assert observed.messages == [on_error(220, error)]


def test_turns_dispose_and_keep_state_per_subscription() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, info("StartOfTurn", "")),
        on_next(220, info("Update", "first subscriber only")),
        on_next(260, info("StartOfTurn", "", index=1)),
        on_completed(300),
    )
    turns = xs.pipe(dgo.turns())
    late = scheduler.create_observer()
    scheduler.schedule_absolute(250, lambda *_: turns.subscribe(late))
    early = scheduler.start(lambda: turns, disposed=280)
    # the early subscriber was disposed before completion, so it never closes turn 1
    assert states(early.messages) == [(210, 0, "started", ""), (260, 1, "started", "")]
    # the late one never saw turn 0 and closes nothing (turn 1 said nothing)
    assert states(late.messages) == [(260, 1, "started", "")]
    assert late.messages[-1] == on_completed(300)
    assert xs.subscriptions == [subscribe(200, 280), subscribe(250, 300)]


def test_turns_of_the_protocol_fixture_turn() -> None:
    names = ["StartOfTurn", "Update", "EagerEndOfTurn", "TurnResumed", None]
    folder = EXAMPLES / "listen-v2" / "server"
    stream = [
        listen_v2.decode((folder / (f"TurnInfo.{n}.json" if n else "TurnInfo.json")).read_text())
        for n in names
    ]
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        *[on_next(210 + i, m) for i, m in enumerate(stream)], on_completed(300)
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.turns()))
    assert [m.value.value.state for m in observed.messages[:-1]] == [
        "started",
        "eager",
        "resumed",
        "ended",
    ]
    last = stream[-1]
    assert isinstance(last, listen_v2.TurnInfo)
    assert observed.messages[-2].value.value.transcript == last.transcript
