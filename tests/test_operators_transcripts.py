"""transcripts / final_transcripts / interim_transcripts / words / utterances, in virtual time."""

from __future__ import annotations

import json
from typing import Any

import msgspec
import pytest
from conftest import EXAMPLES
from reactivex import Observable
from reactivex.testing import ReactiveTest, TestScheduler

from rxdeepgram import operators as dgo
from rxdeepgram.messages import Unknown, listen_v1, listen_v2
from rxdeepgram.operators import Utterance

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

_META = listen_v1.ResultsMetadata(
    request_id="r",
    model_info=listen_v1.ModelInfo(name="general-nova-3", version="1", arch="nova-3"),
    model_uuid="u",
)


def word(text: str, start: float, end: float) -> listen_v1.Word:
    return listen_v1.Word(
        word=text.lower().strip(".,?!"), start=start, end=end, confidence=0.9, punctuated_word=text
    )


def results(
    text: str,
    *,
    start: float = 0.0,
    duration: float = 1.0,
    is_final: bool | None = None,
    speech_final: bool | None = None,
    from_finalize: bool | None = None,
    channel: int = 0,
    channels: int = 1,
    timed: bool = True,
) -> listen_v1.Results:
    """A Results whose words share its window evenly (or have none when ``timed`` is False)."""
    tokens = text.split()
    step = duration / max(len(tokens), 1)
    words = [
        word(t, round(start + i * step, 3), round(start + (i + 1) * step, 3))
        for i, t in enumerate(tokens)
    ]
    return listen_v1.Results(
        channel_index=[channel, channels],
        duration=duration,
        start=start,
        channel=listen_v1.Channel(
            alternatives=[
                listen_v1.Alternative(transcript=text, confidence=0.9, words=words if timed else [])
            ]
        ),
        metadata=_META,
        is_final=is_final,
        speech_final=speech_final,
        from_finalize=from_finalize,
    )


def turn_info(event: str, transcript: str, index: int = 0) -> listen_v2.TurnInfo:
    return listen_v2.TurnInfo(
        request_id="r",
        sequence_id=1,
        event=event,
        turn_index=index,
        audio_window_start=0.0,
        audio_window_end=1.0,
        transcript=transcript,
        words=[listen_v2.Word(word=w, confidence=0.9) for w in transcript.split()],
        end_of_turn_confidence=0.5,
    )


def utterance_end(last_word_end: float, channel: int = 0, channels: int = 1) -> Any:
    return listen_v1.UtteranceEnd(channel=[channel, channels], last_word_end=last_word_end)


UNKNOWN = Unknown(type="Novel", raw='{"type":"Novel"}', error="unknown type")
METADATA = listen_v1.Metadata(
    request_id="r", sha256="0" * 64, created="2024-01-01T00:00:00Z", duration=1.0, channels=1
)


# --- transcripts ---------------------------------------------------------------------------


def test_transcripts_emit_every_non_empty_text_and_skip_the_rest() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(150, results("too early")),
        on_next(210, results("hello")),
        on_next(220, results("hello world", is_final=True)),
        on_next(230, results("", is_final=True)),
        on_next(240, results("   ", is_final=True)),
        on_next(250, UNKNOWN),
        on_next(260, b"\x00\x01"),
        on_next(270, METADATA),
        on_next(280, utterance_end(1.0)),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.transcripts()))
    assert observed.messages == [
        on_next(210, "hello"),
        on_next(220, "hello world"),
        on_completed(300),
    ]
    assert xs.subscriptions == [subscribe(200, 300)]


def test_final_and_interim_transcripts_split_on_is_final() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("hel")),
        on_next(220, results("hello", is_final=False)),
        on_next(230, results("hello there", is_final=True)),
        on_next(240, results("bye", is_final=True, speech_final=True)),
        on_completed(300),
    )
    finals = scheduler.start(lambda: xs.pipe(dgo.final_transcripts()))
    assert finals.messages == [
        on_next(230, "hello there"),
        on_next(240, "bye"),
        on_completed(300),
    ]

    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("hel")),
        on_next(220, results("hello", is_final=False)),
        on_next(230, results("hello there", is_final=True)),
        on_completed(300),
    )
    interims = scheduler.start(lambda: xs.pipe(dgo.interim_transcripts()))
    assert interims.messages == [on_next(210, "hel"), on_next(220, "hello"), on_completed(300)]


def test_flux_end_of_turn_is_final_and_other_events_interim() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, turn_info("StartOfTurn", "")),
        on_next(220, turn_info("Update", "Hi")),
        on_next(230, turn_info("EndOfTurn", "Hi there.")),
        on_completed(300),
    )
    finals = scheduler.start(lambda: xs.pipe(dgo.final_transcripts()))
    assert finals.messages == [on_next(230, "Hi there."), on_completed(300)]

    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, turn_info("StartOfTurn", "")),
        on_next(220, turn_info("Update", "Hi")),
        on_next(230, turn_info("EndOfTurn", "Hi there.")),
        on_completed(300),
    )
    everything = scheduler.start(lambda: xs.pipe(dgo.transcripts()))
    assert everything.messages == [
        on_next(220, "Hi"),
        on_next(230, "Hi there."),
        on_completed(300),
    ]


def test_results_without_alternatives_are_skipped() -> None:
    empty = msgspec.structs.replace(
        results("x", is_final=True), channel=listen_v1.Channel(alternatives=[])
    )
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, empty), on_completed(300))
    assert scheduler.start(lambda: xs.pipe(dgo.transcripts())).messages == [on_completed(300)]
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, empty), on_completed(300))
    assert scheduler.start(lambda: xs.pipe(dgo.words())).messages == [on_completed(300)]


def test_transcripts_pass_errors_on_and_stop_at_disposal() -> None:
    error = RuntimeError("socket gone")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("a")), on_error(220, error), on_next(230, results("b"))
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.transcripts()))
    assert observed.messages == [on_next(210, "a"), on_error(220, error)]

    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("a")), on_next(260, results("b")), on_completed(300)
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.transcripts()), disposed=250)
    assert observed.messages == [on_next(210, "a")]
    assert xs.subscriptions == [subscribe(200, 250)]


def test_transcripts_of_the_protocol_fixtures() -> None:
    def load(name: str) -> Any:
        return listen_v1.decode((EXAMPLES / "listen-v1" / "server" / name).read_text())

    stream = [
        load(n)
        for n in (
            "SpeechStarted.json",
            "Results.interim.json",
            "Results.json",
            "UtteranceEnd.json",
            "Results.empty.json",
            "Metadata.json",
        )
    ]
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        *[on_next(210 + i, m) for i, m in enumerate(stream)], on_completed(300)
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.final_transcripts()))
    expected = json.loads((EXAMPLES / "listen-v1/server/Results.json").read_text())
    text = expected["channel"]["alternatives"][0]["transcript"]
    assert observed.messages == [on_next(212, text), on_completed(300)]


# --- words ---------------------------------------------------------------------------------


def test_words_emits_final_words_once_each_for_v1_and_v2() -> None:
    interim = results("hello there", duration=1.0)
    final = results("hello there", duration=1.0, is_final=True)
    turn_end = turn_info("EndOfTurn", "Hi again.", index=0)
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, interim),
        on_next(220, final),
        on_next(230, turn_info("Update", "Hi")),
        on_next(240, turn_end),
        on_next(250, UNKNOWN),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.words()))
    v1_words = final.channel.alternatives[0].words
    assert observed.messages == [
        on_next(220, v1_words[0]),
        on_next(220, v1_words[1]),
        on_next(240, turn_end.words[0]),
        on_next(240, turn_end.words[1]),
        on_completed(300),
    ]


# --- utterances ----------------------------------------------------------------------------


def test_utterance_joins_finals_until_speech_final_and_ignores_a_trailing_utterance_end() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("I", start=0.0, duration=0.5)),
        on_next(220, results("I am", start=0.0, duration=1.0, is_final=True)),
        on_next(230, results("fine", start=1.0, duration=0.5)),
        on_next(240, results("fine thanks", start=1.0, duration=1.0, is_final=True)),
        on_next(250, results("", start=2.0, duration=0.5, is_final=True, speech_final=True)),
        on_next(260, utterance_end(2.0)),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.utterances()))
    assert len(observed.messages) == 2
    first = observed.messages[0]
    assert first.time == 250
    utterance = first.value.value
    assert isinstance(utterance, Utterance)
    assert utterance.text == "I am fine thanks"
    assert [w.punctuated_word for w in utterance.words] == ["I", "am", "fine", "thanks"]
    assert (utterance.start, utterance.end) == (0.0, 2.0)
    assert (utterance.channel, utterance.ended_by) == (0, "speech_final")
    assert observed.messages[1] == on_completed(300)


def test_utterance_end_closes_an_utterance_when_speech_final_never_comes() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("noisy street", start=0.0, duration=1.0, is_final=True)),
        on_next(220, results("call", start=1.0, duration=0.4, is_final=True)),
        on_next(230, utterance_end(1.4)),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.utterances()))
    assert observed.messages == [
        on_next(
            230,
            Utterance(
                text="noisy street call",
                words=[word("noisy", 0.0, 0.5), word("street", 0.5, 1.0), word("call", 1.0, 1.4)],
                start=0.0,
                end=1.4,
                channel=0,
                ended_by="utterance_end",
            ),
        ),
        on_completed(300),
    ]


def test_a_late_utterance_end_leaves_the_next_utterance_alone() -> None:
    """speech_final closed "hello"; the next words arrive before the UtteranceEnd that refers to
    the gap after "hello" (last_word_end 1.0): they must wait for their own end."""
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("hello", start=0.0, duration=1.0, is_final=True, speech_final=True)),
        on_next(220, results("next one", start=2.5, duration=1.0, is_final=True)),
        on_next(230, utterance_end(1.0)),
        on_next(240, results("here", start=3.5, duration=0.5, is_final=True, speech_final=True)),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.utterances()))
    texts = [(m.time, m.value.value.text, m.value.value.ended_by) for m in observed.messages[:-1]]
    assert texts == [(210, "hello", "speech_final"), (240, "next one here", "speech_final")]
    assert observed.messages[-1] == on_completed(300)


def test_from_finalize_and_stream_end_close_utterances() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("push to talk", start=0.0, is_final=True, from_finalize=True)),
        on_next(220, results("trailing words", start=5.0, is_final=True)),
        on_next(230, results("still interim", start=6.0)),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.utterances()))
    got = [(m.time, m.value.value.text, m.value.value.ended_by) for m in observed.messages[:-1]]
    assert got == [(210, "push to talk", "finalize"), (300, "trailing words", "stream_end")]
    assert observed.messages[-1] == on_completed(300)


def test_utterances_group_interleaved_channels() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("left one", start=0.0, is_final=True, channel=0, channels=2)),
        on_next(220, results("right one", start=0.0, is_final=True, channel=1, channels=2)),
        on_next(230, results("left two", start=1.0, is_final=True, channel=0, channels=2)),
        on_next(
            240,
            results(
                "right two", start=1.0, is_final=True, speech_final=True, channel=1, channels=2
            ),
        ),
        on_next(250, utterance_end(2.0, channel=0, channels=2)),
        on_next(260, utterance_end(2.0, channel=1, channels=2)),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.utterances()))
    got = [(m.time, m.value.value.channel, m.value.value.text) for m in observed.messages[:-1]]
    assert got == [(240, 1, "right one right two"), (250, 0, "left one left two")]


def test_utterances_without_word_timings_use_the_result_window() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("a b", start=1.0, duration=2.0, is_final=True, timed=False)),
        on_next(220, utterance_end(2.5)),
        on_completed(300),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.utterances()))
    utterance = observed.messages[0].value.value
    assert (utterance.text, utterance.words, utterance.start, utterance.end) == (
        "a b",
        [],
        1.0,
        3.0,
    )


def test_utterances_drop_buffered_text_on_error() -> None:
    error = ValueError("closed 1011")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("half said", is_final=True)),
        on_error(220, error),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.utterances()))
    assert observed.messages == [on_error(220, error)]


def test_utterances_keep_state_per_subscription() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, results("before", start=0.0, is_final=True)),
        on_next(260, results("after", start=1.0, is_final=True, speech_final=True)),
        on_completed(300),
    )
    shared: Observable[Utterance] = xs.pipe(dgo.utterances())
    late = scheduler.create_observer()
    scheduler.schedule_absolute(250, lambda *_: shared.subscribe(late))
    early = scheduler.start(lambda: shared)
    assert [m.value.value.text for m in early.messages[:-1]] == ["before after"]
    assert [m.value.value.text for m in late.messages[:-1]] == ["after"]
    assert late.messages[-1] == on_completed(300)


def test_utterance_end_with_nothing_buffered_is_ignored() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, utterance_end(1.0)), on_completed(300))
    assert scheduler.start(lambda: xs.pipe(dgo.utterances())).messages == [on_completed(300)]


@pytest.mark.parametrize("op", [dgo.transcripts, dgo.words, dgo.utterances])
def test_operators_are_reusable_objects(op: Any) -> None:
    operator = op()
    for _ in range(2):
        scheduler = TestScheduler()
        xs = scheduler.create_hot_observable(
            on_next(210, results("ok", is_final=True, speech_final=True)), on_completed(300)
        )
        observed = scheduler.start(lambda xs=xs: xs.pipe(operator))
        assert len(observed.messages) >= 2
        assert observed.messages[-1] == on_completed(300)
