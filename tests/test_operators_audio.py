"""audio() and clear_on_barge_in(), in virtual time."""

from __future__ import annotations

from reactivex.testing import ReactiveTest, TestScheduler

from rxdeepgram import operators as dgo
from rxdeepgram.messages import Unknown, agent_v1, listen_v1, listen_v2, speak_v1

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe


def turn(event: str) -> listen_v2.TurnInfo:
    return listen_v2.TurnInfo(
        request_id="r",
        sequence_id=1,
        event=event,
        turn_index=0,
        audio_window_start=0.0,
        audio_window_end=1.0,
        transcript="",
        words=[],
        end_of_turn_confidence=0.1,
    )


def test_audio_keeps_only_the_frames_as_the_same_objects() -> None:
    frame_one, frame_two = b"\x01\x02", b"\x03\x04"
    metadata = speak_v1.Metadata(
        request_id="r", model_name="aura-2-thalia-en", model_version="1", model_uuid="u"
    )
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, metadata),
        on_next(220, frame_one),
        on_next(230, Unknown(type="X", raw="{}", error="?")),
        on_next(240, speak_v1.Flushed(sequence_id=0)),
        on_next(250, frame_two),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.audio()))
    assert observed.messages == [
        on_next(220, frame_one),
        on_next(250, frame_two),
        on_completed(300),
    ]
    assert observed.messages[0].value.value is frame_one


def test_audio_passes_errors_and_disposal() -> None:
    error = OSError("reset")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, b"a"), on_error(220, error))
    assert scheduler.start(lambda: xs.pipe(dgo.audio())).messages == [
        on_next(210, b"a"),
        on_error(220, error),
    ]
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, b"a"), on_next(260, b"b"))
    observed = scheduler.start(lambda: xs.pipe(dgo.audio()), disposed=250)
    assert observed.messages == [on_next(210, b"a")]
    assert xs.subscriptions == [subscribe(200, 250)]


def test_clear_on_every_kind_of_barge_in() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, agent_v1.UserStartedSpeaking()),
        on_next(220, agent_v1.AgentAudioDone()),
        on_next(230, listen_v1.SpeechStarted(channel=[0, 1], timestamp=1.5)),
        on_next(240, turn("StartOfTurn")),
        on_next(245, turn("Update")),
        on_next(250, turn("EagerEndOfTurn")),
        on_next(255, turn("TurnResumed")),
        on_next(260, turn("EndOfTurn")),
        on_next(270, b"audio"),
        on_next(280, Unknown(type="UserStartedSpeaking?", raw="{}", error="bad")),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.clear_on_barge_in()))
    assert observed.messages == [
        on_next(210, speak_v1.Clear()),
        on_next(230, speak_v1.Clear()),
        on_next(240, speak_v1.Clear()),
        on_next(255, speak_v1.Clear()),
        on_completed(300),
    ]
    assert all(isinstance(m.value.value, speak_v1.Clear) for m in observed.messages[:-1])


def test_clear_on_barge_in_passes_errors_and_disposal() -> None:
    error = RuntimeError("listener failed")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, agent_v1.UserStartedSpeaking()), on_error(220, error)
    )
    assert scheduler.start(lambda: xs.pipe(dgo.clear_on_barge_in())).messages == [
        on_next(210, speak_v1.Clear()),
        on_error(220, error),
    ]
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(260, agent_v1.UserStartedSpeaking()))
    observed = scheduler.start(lambda: xs.pipe(dgo.clear_on_barge_in()), disposed=250)
    assert observed.messages == []
    assert xs.subscriptions == [subscribe(200, 250)]
