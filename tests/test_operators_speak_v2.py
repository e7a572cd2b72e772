"""interrupt_on_barge_in(), in virtual time: a Speak V2 ``Interrupt`` per barge-in."""

from __future__ import annotations

import pytest
from reactivex.testing import ReactiveTest, TestScheduler
from test_operators_audio import turn

from rxdeepgram import operators as dgo
from rxdeepgram.messages import Unknown, agent_v1, listen_v1, speak_v2

on_next = ReactiveTest.on_next
on_error = ReactiveTest.on_error
on_completed = ReactiveTest.on_completed
subscribe = ReactiveTest.subscribe


def barge_ins(scheduler: TestScheduler) -> object:
    return scheduler.create_hot_observable(
        on_next(210, agent_v1.UserStartedSpeaking()),
        on_next(220, agent_v1.AgentAudioDone()),
        on_next(230, listen_v1.SpeechStarted(channel=[0], timestamp=1.5)),
        on_next(240, turn("StartOfTurn")),
        on_next(245, turn("Update")),
        on_next(255, turn("TurnResumed")),
        on_next(270, b"audio"),
        on_next(280, Unknown(type="StartOfTurn", raw="{}", error="bad")),
        on_completed(300),
    )


def test_an_interrupt_with_the_playback_offset_at_each_barge_in() -> None:
    scheduler = TestScheduler()
    xs = barge_ins(scheduler)
    # The player's position, read at each barge-in: 10 ms per virtual tick.
    played = dgo.interrupt_on_barge_in(lambda: scheduler.clock * 10 + 0.4)
    observed = scheduler.start(lambda: xs.pipe(played))  # type: ignore[attr-defined]
    assert observed.messages == [
        on_next(210, speak_v2.Interrupt.at(2100)),
        on_next(230, speak_v2.Interrupt.at(2300)),
        on_next(240, speak_v2.Interrupt.at(2400)),
        on_next(255, speak_v2.Interrupt.at(2550)),
        on_completed(300),
    ]


def test_without_a_player_the_interrupt_has_no_offset() -> None:
    scheduler = TestScheduler()
    xs = barge_ins(scheduler)
    observed = scheduler.start(lambda: xs.pipe(dgo.interrupt_on_barge_in()))  # type: ignore[attr-defined]
    assert [m.value.value for m in observed.messages[:-1]] == [speak_v2.Interrupt()] * 4


def test_errors_disposal_and_a_bad_player() -> None:
    error = RuntimeError("listener failed")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, agent_v1.UserStartedSpeaking()), on_error(220, error)
    )
    assert scheduler.start(lambda: xs.pipe(dgo.interrupt_on_barge_in())).messages == [
        on_next(210, speak_v2.Interrupt()),
        on_error(220, error),
    ]
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(260, agent_v1.UserStartedSpeaking()))
    observed = scheduler.start(lambda: xs.pipe(dgo.interrupt_on_barge_in()), disposed=250)
    assert observed.messages == []
    assert xs.subscriptions == [subscribe(200, 250)]
    # A player that fails errors the stream (the listener goes on unaffected).
    failure = ValueError("no player")

    def broken() -> float:
        raise failure

    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, agent_v1.UserStartedSpeaking()))
    observed = scheduler.start(lambda: xs.pipe(dgo.interrupt_on_barge_in(broken)))
    assert observed.messages == [on_error(210, failure)]
    with pytest.raises(TypeError, match="played_ms"):
        dgo.interrupt_on_barge_in(1200)  # type: ignore[arg-type]
