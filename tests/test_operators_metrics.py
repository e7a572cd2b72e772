"""time_to_first_byte() and final_transcript_latency() on the TestScheduler's clock."""

from __future__ import annotations

from typing import Any

import pytest
from reactivex.testing import ReactiveTest, TestScheduler

from rxdeepgram import InvalidOptionError
from rxdeepgram import operators as dgo
from rxdeepgram.messages import Unknown, listen_v1, listen_v2, speak_v1

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

_META = listen_v1.ResultsMetadata(
    request_id="r",
    model_info=listen_v1.ModelInfo(name="general-nova-3", version="1", arch="nova-3"),
    model_uuid="u",
)
SPEAK_METADATA = speak_v1.Metadata(
    request_id="r", model_name="aura-2-thalia-en", model_version="1", model_uuid="u"
)


def results(
    last_word_end: float | None,
    *,
    is_final: bool | None = True,
    speech_final: bool | None = True,
    from_finalize: bool | None = None,
) -> listen_v1.Results:
    words = (
        []
        if last_word_end is None
        else [
            listen_v1.Word(
                word="hi", start=last_word_end - 0.5, end=last_word_end - 0.3, confidence=1.0
            ),
            listen_v1.Word(
                word="there", start=last_word_end - 0.3, end=last_word_end, confidence=1
            ),
        ]
    )
    return listen_v1.Results(
        channel_index=[0, 1],
        duration=1.0,
        start=0.0,
        channel=listen_v1.Channel(
            alternatives=[
                listen_v1.Alternative(
                    transcript="hi there" if words else "", confidence=1.0, words=words
                )
            ]
        ),
        metadata=_META,
        is_final=is_final,
        speech_final=speech_final,
        from_finalize=from_finalize,
    )


def end_of_turn(ends: list[float | None], window_end: float = 9.0) -> listen_v2.TurnInfo:
    return listen_v2.TurnInfo(
        request_id="r",
        sequence_id=3,
        event="EndOfTurn",
        turn_index=0,
        audio_window_start=0.0,
        audio_window_end=window_end,
        transcript="Hi there.",
        words=[listen_v2.Word(word="w", confidence=1.0, end=e) for e in ends],
        end_of_turn_confidence=0.9,
    )


def values(messages: list[Any]) -> list[tuple[float, float]]:
    return [(m.time, m.value.value) for m in messages if m.value.kind == "N"]


# --- time_to_first_byte ----------------------------------------------------------------------


def test_time_to_first_audio_from_subscription() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, SPEAK_METADATA),
        on_next(220, Unknown(type="X", raw="{}", error="?")),
        on_next(235, b"\x00\x01"),
        on_next(240, b"\x02\x03"),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.time_to_first_byte()))
    assert observed.messages == [on_next(235, 35.0), on_completed(235)]
    assert xs.subscriptions == [subscribe(200, 235)]


@pytest.mark.parametrize(
    "response",
    [
        results(1.0, is_final=False, speech_final=None),
        end_of_turn([1.0]),
    ],
    ids=["listen-v1-results", "listen-v2-turninfo"],
)
def test_time_to_first_result_on_listen(response: Any) -> None:
    connected = listen_v2.Connected(request_id="r", sequence_id=0)
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(205, connected), on_next(250, response), on_completed(300)
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.time_to_first_byte()))
    assert observed.messages == [on_next(250, 50.0), on_completed(250)]


def test_since_starts_the_clock_at_its_first_item() -> None:
    scheduler = TestScheduler()
    sent = scheduler.create_hot_observable(on_next(220, "Hello"), on_next(240, " there"))
    xs = scheduler.create_hot_observable(
        on_next(210, b"stale audio before the request"),
        on_next(262, b"\x00"),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.time_to_first_byte(since=sent)))
    assert observed.messages == [on_next(262, 42.0), on_completed(262)]
    assert sent.subscriptions == [subscribe(200, 220)]  # only its first item is needed


def test_no_response_completes_empty_and_errors_pass_on() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, SPEAK_METADATA), on_completed(300))
    assert scheduler.start(lambda: xs.pipe(dgo.time_to_first_byte())).messages == [
        on_completed(300)
    ]

    error = ConnectionError("refused")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_error(230, error), on_next(240, b"x"))
    assert scheduler.start(lambda: xs.pipe(dgo.time_to_first_byte())).messages == [
        on_error(230, error)
    ]

    scheduler = TestScheduler()
    sent = scheduler.create_hot_observable(on_error(215, error))
    xs = scheduler.create_hot_observable(on_next(240, b"x"))
    observed = scheduler.start(lambda: xs.pipe(dgo.time_to_first_byte(since=sent)))
    assert observed.messages == [on_error(215, error)]
    assert xs.subscriptions == [subscribe(200, 215)]


def test_time_to_first_byte_disposal_and_per_subscription_clock() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(300, b"x"), on_completed(400))
    ttfb = xs.pipe(dgo.time_to_first_byte())
    late = scheduler.create_observer()
    scheduler.schedule_absolute(280, lambda *_: ttfb.subscribe(late, scheduler=scheduler))
    early = scheduler.start(lambda: ttfb, disposed=290)
    assert early.messages == []
    assert late.messages == [on_next(300, 20.0), on_completed(300)]
    assert xs.subscriptions == [subscribe(200, 290), subscribe(280, 300)]


# --- final_transcript_latency ----------------------------------------------------------------

# 10 bytes per second of audio: sample_rate=10, mono, 1 byte per sample.
RATE = {"sample_rate": 10, "sample_width": 1}
SECOND = b"\x00" * 10


def audio_each_10_ticks(scheduler: TestScheduler, seconds: int = 5) -> Any:
    """Second k of audio ([k, k+1) s) is sent at tick 210 + 10 k."""
    return scheduler.create_hot_observable(*[on_next(210 + 10 * k, SECOND) for k in range(seconds)])


def test_latency_from_the_chunk_holding_the_last_word_to_the_final_result() -> None:
    scheduler = TestScheduler()
    audio = audio_each_10_ticks(scheduler)
    xs = scheduler.create_hot_observable(
        on_next(225, results(1.2, is_final=False, speech_final=None)),  # interim: no
        on_next(227, results(1.2, speech_final=False)),  # final, not an utterance end: no
        on_next(229, results(1.6)),  # speech_final, speech ended at 1.6 s (sent at 220)
        on_next(246, results(3.0, speech_final=None, from_finalize=True)),  # 3.0 s: sent at 230
        on_next(250, results(None)),  # speech_final without words: nothing to measure
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.final_transcript_latency(audio, **RATE)))
    assert observed.messages == [on_next(229, 9.0), on_next(246, 16.0), on_completed(300)]
    assert audio.subscriptions == [subscribe(200, 300)]


def test_every_final_measures_each_final_result() -> None:
    scheduler = TestScheduler()
    audio = audio_each_10_ticks(scheduler)
    xs = scheduler.create_hot_observable(
        on_next(225, results(0.5, speech_final=False)),
        on_next(228, results(1.5, speech_final=None)),
        on_completed(300),
    )
    observed = scheduler.start(
        lambda: xs.pipe(dgo.final_transcript_latency(audio, every_final=True, **RATE))
    )
    assert values(observed.messages) == [(225, 15.0), (228, 8.0)]


def test_flux_end_of_turn_uses_the_last_timed_word_or_the_window() -> None:
    scheduler = TestScheduler()
    audio = audio_each_10_ticks(scheduler)
    xs = scheduler.create_hot_observable(
        on_next(235, end_of_turn([0.4, 2.5, None])),  # last timed word ends at 2.5: sent at 230
        on_next(255, end_of_turn([None], window_end=3.2)),  # no timings: window end, sent 240
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.final_transcript_latency(audio, **RATE)))
    assert values(observed.messages) == [(235, 5.0), (255, 15.0)]


def test_chunk_boundaries_multichannel_and_non_audio_items() -> None:
    scheduler = TestScheduler()
    # stereo 16-bit at 10 Hz: 40 bytes per second
    audio = scheduler.create_hot_observable(
        on_next(210, b"\x00" * 40),
        on_next(215, speak_v1.Flush()),  # not audio: skipped
        on_next(220, bytearray(40)),
        on_next(230, memoryview(b"\x00" * 40)),
    )
    xs = scheduler.create_hot_observable(
        on_next(240, results(1.0)),  # exactly the end of the first second: its chunk, 210
        on_next(241, results(2.01)),  # just into the third second: 230
        on_next(242, results(3.5)),  # not sent yet: skipped
        on_completed(300),
    )
    observed = scheduler.start(
        lambda: xs.pipe(
            dgo.final_transcript_latency(audio, sample_rate=10, channels=2, sample_width=2)
        )
    )
    assert values(observed.messages) == [(240, 30.0), (241, 11.0)]


def test_latency_errors_completion_and_disposal() -> None:
    error = OSError("mic unplugged")
    scheduler = TestScheduler()
    audio = scheduler.create_hot_observable(on_next(210, SECOND), on_error(220, error))
    xs = scheduler.create_hot_observable(on_next(230, results(0.5)), on_completed(300))
    observed = scheduler.start(lambda: xs.pipe(dgo.final_transcript_latency(audio, **RATE)))
    assert observed.messages == [on_error(220, error)]
    assert xs.subscriptions == [subscribe(200, 220)]

    scheduler = TestScheduler()
    audio = scheduler.create_hot_observable(on_next(210, SECOND), on_completed(215))
    xs = scheduler.create_hot_observable(on_next(230, results(0.5)), on_error(240, error))
    observed = scheduler.start(lambda: xs.pipe(dgo.final_transcript_latency(audio, **RATE)))
    assert observed.messages == [on_next(230, 20.0), on_error(240, error)]

    scheduler = TestScheduler()
    audio = audio_each_10_ticks(scheduler)
    xs = scheduler.create_hot_observable(on_next(260, results(0.5)))
    observed = scheduler.start(
        lambda: xs.pipe(dgo.final_transcript_latency(audio, **RATE)), disposed=250
    )
    assert observed.messages == []
    assert audio.subscriptions == [subscribe(200, 250)]
    assert xs.subscriptions == [subscribe(200, 250)]


def test_latency_state_is_per_subscription() -> None:
    scheduler = TestScheduler()
    audio = audio_each_10_ticks(scheduler)
    xs = scheduler.create_hot_observable(on_next(255, results(0.5)), on_completed(300))
    latency = xs.pipe(dgo.final_transcript_latency(audio, **RATE))
    late = scheduler.create_observer()
    scheduler.schedule_absolute(225, lambda *_: latency.subscribe(late, scheduler=scheduler))
    early = scheduler.start(lambda: latency)
    # the early subscription counted every chunk: 0.5 s was sent at 210
    assert values(early.messages) == [(255, 45.0)]
    # the late one began counting at the chunk sent at 230, which it takes for second 0
    assert values(late.messages) == [(255, 25.0)]


@pytest.mark.parametrize(
    "options",
    [
        {"sample_rate": 0},
        {"sample_rate": 16000.0},
        {"sample_rate": 16000, "channels": 0},
        {"sample_rate": 16000, "sample_width": True},
    ],
)
def test_bad_audio_format_fails_when_the_operator_is_built(options: dict[str, Any]) -> None:
    scheduler = TestScheduler()
    with pytest.raises(InvalidOptionError):
        dgo.final_transcript_latency(scheduler.create_hot_observable(), **options)
