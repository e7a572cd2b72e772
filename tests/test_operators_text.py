"""sentences(): tokens -> Speak / Flush, the sentence rule and the Flush rate limit, virtually."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import reactivex
from hypothesis import given, settings
from hypothesis import strategies as st
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler

from rxdeepgram import InvalidOptionError
from rxdeepgram import operators as dgo
from rxdeepgram.messages import speak_v1

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error
subscribe = ReactiveTest.subscribe

Speak = speak_v1.Speak
Flush = speak_v1.Flush


def run_tokens(tokens: list[str], **options: Any) -> list[Any]:
    """Tokens at 210, 211, ...; completion one tick after the last (before 1000, when
    ``TestScheduler.start`` disposes). Returns the recorded messages."""
    assert len(tokens) < 780
    scheduler = TestScheduler()
    events = [on_next(210 + i, t) for i, t in enumerate(tokens)]
    xs = scheduler.create_hot_observable(*events, on_completed(210 + len(tokens)))
    return scheduler.start(lambda: xs.pipe(dgo.sentences(**options))).messages


def spoken(messages: list[Any]) -> list[str]:
    """The Speak texts, with "|" for each Flush."""
    out = []
    for m in messages:
        if m.value.kind == "N":
            out.append(m.value.value.text if isinstance(m.value.value, Speak) else "|")
    return out


def sentences_of(text: str, **options: Any) -> list[str]:
    return spoken(run_tokens(list(text), **options))


# --- the sentence rule ---------------------------------------------------------------------


def test_each_sentence_is_spoken_then_flushed_and_the_rest_on_completion() -> None:
    messages = run_tokens(["Hello", " world.", " How", " are you?", " Fine"])
    assert messages == [
        on_next(212, Speak(text="Hello world. ")),
        on_next(212, Flush()),
        on_next(214, Speak(text="How are you? ")),
        on_next(214, Flush()),
        on_next(215, Speak(text="Fine")),
        on_next(215, Flush()),
        on_completed(215),
    ]


def test_a_terminator_at_the_end_of_a_token_waits_for_the_next_one() -> None:
    assert spoken(run_tokens(["It costs 3.", "5 euros. Ok"])) == [
        "It costs 3.5 euros. ",
        "|",
        "Ok",
        "|",
    ]
    assert spoken(run_tokens(["Hi.", " There"])) == ["Hi. ", "|", "There", "|"]


def test_abbreviations_initials_dotted_words_and_decimals_do_not_split() -> None:
    text = (
        "Mr. Smith paid 3.5 dollars, e.g. in cash, at 9 a.m. today. "
        "Then J. R. R. Tolkien met Dr. Who (approx. twice) vs. me. Done"
    )
    assert sentences_of(text) == [
        "Mr. Smith paid 3.5 dollars, e.g. in cash, at 9 a.m. today. ",
        "|",
        "Then J. R. R. Tolkien met Dr. Who (approx. twice) vs. me. ",
        "|",
        "Done",
        "|",
    ]


def test_exclamations_questions_ellipses_and_closing_quotes_split() -> None:
    text = 'He said "stop!" Then?! Wait... "Go." (Really.) End'
    assert [s for s in sentences_of(text) if s != "|"] == [
        'He said "stop!" ',
        "Then?! ",
        "Wait... ",
        '"Go." ',
        "(Really.) ",
        "End",
    ]


def test_newlines_and_numbered_lists() -> None:
    text = "Steps:\n1. Buy milk.\n2. Pay 3. Then go.\n\n10. Rest\nBye!"
    assert sentences_of(text) == [
        "Steps:\n",
        "|",
        "1. Buy milk.\n",
        "|",
        "2. Pay 3. ",
        "|",
        "Then go.\n",
        "|",
        "10. Rest\n",
        "|",
        "Bye!",
        "|",
    ]


def test_whitespace_only_pieces_and_empty_streams_send_nothing() -> None:
    assert run_tokens([]) == [on_completed(210)]
    assert run_tokens(["  ", "\n", " "]) == [on_completed(213)]


def test_whitespace_between_sentences_is_kept_or_dropped_never_fused() -> None:
    # "Hi.  \n\n Yo": "Hi. " is a sentence, " \n" and "\n" are whitespace-only (not sent),
    # and " Yo" keeps its leading space, so nothing fuses in the server's buffer.
    assert spoken(run_tokens(["Hi.", "  \n\n ", "Yo"])) == ["Hi. ", "|", " Yo", "|"]


# --- the 2,000 character cap ---------------------------------------------------------------


def test_long_sentences_are_cut_after_whitespace_into_speaks_of_at_most_2000() -> None:
    text = " ".join(f"word{i:04d}" for i in range(500)) + "."  # 4,500 characters, one sentence
    messages = run_tokens([text, " Next."])
    texts = [m.value.value.text for m in messages[:-1] if isinstance(m.value.value, Speak)]
    assert all(0 < len(t) <= 2000 for t in texts)
    assert "".join(texts) == text + " Next."
    assert all(t.endswith(" ") for t in texts[:-1])
    kinds = spoken(messages)
    assert kinds.count("|") == 2  # one Flush per sentence, none between the pieces


def test_text_without_sentence_ends_is_spoken_before_it_exceeds_the_cap() -> None:
    words = ["blah "] * 500  # 2,500 characters, never a sentence end
    messages = run_tokens(words)
    speaks = [(m.time, m.value.value.text) for m in messages[:-1] if m.value.value != Flush()]
    assert messages[-1] == on_completed(210 + len(words))
    assert speaks[0][0] < 210 + len(words)  # spoken before completion
    assert all(len(t) <= 2000 for _, t in speaks)
    assert "".join(t for _, t in speaks) == "".join(words)
    assert [m.value.value for m in messages[:-1]].count(Flush()) == 1


def test_a_word_longer_than_the_cap_is_cut_hard() -> None:
    messages = run_tokens(["x" * 4100])
    texts = [m.value.value.text for m in messages[:-1] if isinstance(m.value.value, Speak)]
    assert [len(t) for t in texts] == [2000, 2000, 100]


# --- the Flush rate limit ------------------------------------------------------------------


def test_flushes_beyond_the_rate_are_deferred_and_coalesced() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, "One. "),
        on_next(220, "Two. "),
        on_next(230, "Three. "),
        on_next(240, "Four. "),
        on_next(320, "Five. "),
        on_next(330, "Six. "),
        on_completed(340),
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.sentences(max_flushes=2, per=100)))
    assert observed.messages == [
        on_next(210, Speak(text="One. ")),
        on_next(210, Flush()),
        on_next(220, Speak(text="Two. ")),
        on_next(220, Flush()),
        on_next(230, Speak(text="Three. ")),  # 3rd flush in 100 s: deferred to 210 + 100
        on_next(240, Speak(text="Four. ")),  # coalesced into the deferred one
        on_next(310, Flush()),
        on_next(320, Speak(text="Five. ")),  # 220 has left the window: allowed
        on_next(320, Flush()),
        on_next(330, Speak(text="Six. ")),  # window holds 310, 320: deferred to 410
        on_next(410, Flush()),
        on_completed(410),  # completion waits for the deferred Flush
    ]
    flush_times = [
        m.time for m in observed.messages if m.value.kind == "N" and m.value.value == Flush()
    ]
    for i, t in enumerate(flush_times):
        assert len([u for u in flush_times[: i + 1] if u > t - 100]) <= 2


def test_completion_flushes_the_rest_once_the_window_allows() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, "Aa. "), on_next(220, "tail without end"), on_completed(230)
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.sentences(max_flushes=1, per=60)))
    assert observed.messages == [
        on_next(210, Speak(text="Aa. ")),
        on_next(210, Flush()),
        on_next(230, Speak(text="tail without end")),
        on_next(270, Flush()),
        on_completed(270),
    ]


def test_an_error_drops_the_buffer_and_the_deferred_flush() -> None:
    error = RuntimeError("llm failed")
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, "Aa. "), on_next(220, "Bb. half"), on_error(230, error)
    )
    observed = scheduler.start(lambda: xs.pipe(dgo.sentences(max_flushes=1, per=60)))
    assert observed.messages == [
        on_next(210, Speak(text="Aa. ")),
        on_next(210, Flush()),
        on_next(220, Speak(text="Bb. ")),
        on_error(230, error),
    ]


def test_disposal_cancels_the_deferred_flush() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(on_next(210, "Aa. "), on_next(220, "Bb. "))
    observed = scheduler.start(lambda: xs.pipe(dgo.sentences(max_flushes=1, per=60)), disposed=250)
    assert observed.messages == [
        on_next(210, Speak(text="Aa. ")),
        on_next(210, Flush()),
        on_next(220, Speak(text="Bb. ")),
    ]
    assert xs.subscriptions == [subscribe(200, 250)]


def test_each_subscription_has_its_own_budget_and_buffer() -> None:
    scheduler = TestScheduler()
    xs = scheduler.create_hot_observable(
        on_next(210, "First half"), on_next(260, " second. "), on_next(270, "Then. ")
    )
    shared = xs.pipe(dgo.sentences(max_flushes=1, per=1000))
    late = scheduler.create_observer()
    scheduler.schedule_absolute(250, lambda *_: shared.subscribe(late))
    early = scheduler.start(lambda: shared, disposed=500)
    assert spoken(early.messages) == ["First half second. ", "|", "Then. "]
    assert spoken(late.messages) == [" second. ", "|", "Then. "]


def test_the_scheduler_argument_is_the_clock() -> None:
    clock = TestScheduler()
    clock.advance_to(1000)
    out = (
        reactivex.from_iterable(["Aa. ", "Bb. ", "C"])
        .pipe(dgo.sentences(max_flushes=5, per=60, scheduler=clock), ops.to_list())
        .run()
    )
    assert out == [
        Speak(text="Aa. "),
        Flush(),
        Speak(text="Bb. "),
        Flush(),
        Speak(text="C"),
        Flush(),
    ]


def test_without_a_scheduler_it_runs_on_the_wall_clock() -> None:
    out = reactivex.from_iterable(["Hi. ", "Bye"]).pipe(dgo.sentences(), ops.to_list()).run()
    assert out == [Speak(text="Hi. "), Flush(), Speak(text="Bye"), Flush()]


@pytest.mark.parametrize(
    ("options", "option"),
    [
        ({"max_flushes": 0}, "max_flushes"),
        ({"max_flushes": 2.5}, "max_flushes"),
        ({"max_flushes": True}, "max_flushes"),
        ({"per": 0}, "per"),
        ({"per": -1.0}, "per"),
    ],
)
def test_bad_options_fail_when_the_operator_is_built(options: dict[str, Any], option: str) -> None:
    with pytest.raises(InvalidOptionError) as caught:
        dgo.sentences(**options)
    assert caught.value.option == option


# --- properties ----------------------------------------------------------------------------

_ALPHABET = st.sampled_from(
    ["a", "b", " ", " ", ".", "!", "?", "\n", "3", "Mr", "e.g", '"', ")", "x" * 7, "…"]
)


@settings(max_examples=150, deadline=None)
@given(pieces=st.lists(_ALPHABET, max_size=60), cuts=st.lists(st.integers(0, 300), max_size=8))
def test_speak_texts_do_not_depend_on_token_boundaries(pieces: list[str], cuts: list[int]) -> None:
    text = "".join(pieces)
    bounds = sorted({min(c, len(text)) for c in cuts} | {0, len(text)})
    tokens = [text[a:b] for a, b in itertools.pairwise(bounds) if b > a]
    by_char = sentences_of(text)
    by_token = spoken(run_tokens(tokens))
    assert by_token == by_char
    speaks = [t for t in by_char if t != "|"]
    assert all(t.strip() and len(t) <= 2000 for t in speaks)
    assert "".join(speaks).split() == text.split()
    if speaks:
        assert by_char[-1] == "|"  # the end of the stream is always flushed
