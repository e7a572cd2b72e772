"""Rx operators for speech: compose them with ``.pipe`` on a connection's ``messages``.

::

    from rxdeepgram import operators as dgo

    conn.messages.pipe(dgo.final_transcripts()).subscribe(print)
    conn.messages.pipe(dgo.utterances()).subscribe(lambda u: print(u.channel, u.text))
    llm_tokens.pipe(dgo.sentences()).subscribe(speak_conn.input)
    listen_conn.messages.pipe(dgo.clear_on_barge_in()).subscribe(speak_conn.input)
    listen_conn.messages.pipe(dgo.interrupt_on_barge_in(played_ms)).subscribe(tts_conn.input)
    agent.messages.pipe(dgo.function_calls(handler)).subscribe(agent.input.on_next)

This module is an index, as in reactivex: each function documents one operator (with a marble
diagram) and imports its implementation from a private module (``_transcripts``, ``_turns``,
``_audio``, ``_text``, ``_agent``, ``_metrics``) only when called. Every operator keeps its
state per subscription, so one operator object may be subscribed many times. Operators that
pick messages out of a stream ignore everything they do not use (other messages,
:class:`~rxdeepgram.messages.Unknown`, audio), and pass errors and completion on.

Marble legend: ``R(text)`` an interim Listen V1 ``Results``, ``F(text)`` a final one (``is_final``),
``SF(text)`` a final one with ``speech_final``, ``UE`` an ``UtteranceEnd``, ``b`` audio bytes,
``?`` any other message (or ``Unknown``), ``|`` completion, ``#`` an error.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from reactivex import Observable, abc

from ._types import FunctionHandler, Turn, TurnState, Utterance, UtteranceEndReason

if TYPE_CHECKING:
    import asyncio

    from ..messages import agent_v1, listen_v1, listen_v2, speak_v1, speak_v2

__all__ = [
    "FunctionHandler",
    "Turn",
    "TurnState",
    "Utterance",
    "UtteranceEndReason",
    "audio",
    "clear_on_barge_in",
    "final_transcript_latency",
    "final_transcripts",
    "function_calls",
    "interim_transcripts",
    "interrupt_on_barge_in",
    "sentences",
    "time_to_first_byte",
    "transcripts",
    "turns",
    "utterances",
    "words",
]


# --- transcripts ---------------------------------------------------------------------------


def transcripts() -> Callable[[Observable[object]], Observable[str]]:
    """Every non-empty transcript, interim and final.

    .. marble::
        :alt: transcripts

        --R(hi)--F(hi there)--F()--?--b--|
        [         transcripts()          ]
        --hi-----hi there----------------|

    The text of a Listen V1 ``Results`` is its first alternative's ``transcript``; a Listen V2
    ``TurnInfo`` contributes its ``transcript`` (everything said in the turn so far, so
    successive values repeat and grow). Empty and whitespace-only transcripts (silence) are
    dropped.
    """
    from ._transcripts import transcripts_

    return transcripts_()


def final_transcripts() -> Callable[[Observable[object]], Observable[str]]:
    """The non-empty transcripts that will not change again.

    .. marble::
        :alt: final_transcripts

        --R(hi)--F(hi there)--F()--SF(bye)--|
        [        final_transcripts()        ]
        ---------hi there----------bye------|

    Final means a Listen V1 ``Results`` with ``is_final: true`` (each covers only audio after
    the previous final one, so the values do not overlap), or a Listen V2 ``TurnInfo`` whose
    event is ``EndOfTurn`` (the whole turn). For whole utterances use :func:`utterances`.
    """
    from ._transcripts import final_transcripts_

    return final_transcripts_()


def interim_transcripts() -> Callable[[Observable[object]], Observable[str]]:
    """The non-empty transcripts that may still change (live captions).

    .. marble::
        :alt: interim_transcripts

        --R(hi)--R(hi the)--F(hi there)--|
        [     interim_transcripts()      ]
        --hi-----hi the------------------|

    Listen V1 ``Results`` without ``is_final``; Listen V2 ``TurnInfo`` of every event but
    ``EndOfTurn``.
    """
    from ._transcripts import interim_transcripts_

    return interim_transcripts_()


def words() -> Callable[[Observable[object]], Observable[listen_v1.Word | listen_v2.Word]]:
    """The words of final results, one by one, in order.

    .. marble::
        :alt: words

        --R(a b)--F(a b)--------SF(c)--|
        [            words()           ]
        ----------a--b----------c------|

    Listen V1: the first alternative's ``words`` of each ``is_final`` ``Results``
    (:class:`rxdeepgram.messages.listen_v1.Word`: ``word``, ``punctuated_word``, ``start``,
    ``end``, ``confidence``, ``speaker``...). Listen V2: the ``words`` of each ``EndOfTurn``
    (:class:`rxdeepgram.messages.listen_v2.Word`, whose ``start`` / ``end`` may be None), i.e.
    each turn's words once, when the turn is over; interim words are never emitted, so no word
    is emitted twice.
    """
    from ._transcripts import words_

    return words_()


def utterances() -> Callable[[Observable[object]], Observable[Utterance]]:
    """Listen V1 final results joined into whole :class:`Utterance` values, per channel.

    .. marble::
        :alt: utterances

        --F(I am)--R(fine)--SF(fine)--UE--F(so)--UE--F(bye)--|
        [                    utterances()                     ]
        ----------------------U1------------------U2---------U3|

        U1 = "I am fine" (speech_final), U2 = "so" (utterance_end), U3 = "bye" (stream_end)

    As listen-v1 §4 prescribes, the transcripts of ``is_final`` results are concatenated until
    one arrives with ``speech_final: true``. ``UtteranceEnd`` is the fallback when
    ``speech_final`` never comes (noisy audio): it closes the buffered text spoken before its
    ``last_word_end``; one that trails an utterance already closed by ``speech_final`` finds
    nothing and is ignored. A final result with ``from_finalize: true`` (the answer to
    ``Finalize``) also closes the utterance, and when the stream completes, text still
    buffered is emitted as a last utterance. ``Utterance.ended_by`` says which rule applied.

    Multichannel audio: results are grouped by ``channel_index[0]`` (and ``UtteranceEnd`` by
    ``channel[0]``), so interleaved channels never mix; ``Utterance.channel`` tells them apart.
    Results with empty transcripts add nothing but still close an utterance.
    """
    from ._transcripts import utterances_

    return utterances_()


# --- turns ---------------------------------------------------------------------------------


def turns(updates: bool = False) -> Callable[[Observable[object]], Observable[Turn]]:
    """Listen V2 (Flux) ``TurnInfo`` messages as :class:`Turn` values, one per event.

    .. marble::
        :alt: turns

        --Start--Update--Eager--Resumed--Update--Eager--End--|
        [                      turns()                        ]
        --st-------------ea-----re---------------ea-----en---|

        st / ea / re / en: Turn.state "started", "eager", "resumed", "ended"

    ``StartOfTurn`` -> ``"started"`` (stop playback), ``EagerEndOfTurn`` -> ``"eager"`` (start
    a reply speculatively), ``TurnResumed`` -> ``"resumed"`` (drop it), ``EndOfTurn`` ->
    ``"ended"`` (``Turn.final``; the transcript is settled). ``Update`` -> ``"updated"`` is
    emitted only with ``updates=True`` (about every 0.25 s of speech). Flux runs the turn state
    machine itself, so events are passed on in order, not re-validated. A turn left open when
    the stream completes (Flux sends no ``EndOfTurn`` after ``CloseStream``) is emitted as
    ``"ended"`` with ``trigger="stream_end"`` if it has a transcript.

    Args:
        updates: Also emit a ``Turn`` for each ``Update`` event.
    """
    from ._turns import turns_

    return turns_(updates)


# --- audio and playback --------------------------------------------------------------------


def audio() -> Callable[[Observable[object]], Observable[bytes]]:
    """Only the audio frames (``bytes``) of a Speak or Agent message stream.

    .. marble::
        :alt: audio

        --?--b1--b2--?--b3--|
        [      audio()      ]
        -----b1--b2-----b3--|

    Frames are the very objects received (no copy), in order.
    """
    from ._audio import audio_

    return audio_()


def clear_on_barge_in() -> Callable[[Observable[object]], Observable[speak_v1.Clear]]:
    """A Speak V1 ``Clear`` each time the user starts talking: pipe it into a Speak input.

    .. marble::
        :alt: clear_on_barge_in

        --?--SpeechStarted--R--F--?--UserStartedSpeaking--|
        [            clear_on_barge_in()                   ]
        -----Clear----------------------Clear--------------|

    ``listen_conn.messages.pipe(dgo.clear_on_barge_in()).subscribe(speak_conn.input)`` makes
    the Speak server drop queued text and unsent audio (it answers ``Cleared``) as soon as the
    listener hears the user, so the assistant stops talking over them. Stop local playback too:
    audio already received is the player's to discard.

    Triggers: Agent V1 ``UserStartedSpeaking``; Listen V1 ``SpeechStarted`` (needs
    ``vad_events=true``); Listen V2 ``TurnInfo`` ``StartOfTurn``, and ``TurnResumed`` (the user
    went on after an ``EagerEndOfTurn``, so a reply started speculatively must be dropped). The
    completion of the source completes the output, which completes (closes) a Speak input it is
    subscribed to; use ``.subscribe(on_next=speak_conn.input.on_next)`` to keep it open.
    """
    from ._audio import clear_on_barge_in_

    return clear_on_barge_in_()


def interrupt_on_barge_in(
    played_ms: Callable[[], float] | None = None,
) -> Callable[[Observable[object]], Observable[speak_v2.Interrupt]]:
    """A Speak V2 ``Interrupt`` each time the user starts talking: pipe it into a Speak V2
    input.

    .. marble::
        :alt: interrupt_on_barge_in

        --?--SpeechStarted--R--F--?--UserStartedSpeaking--|
        [        interrupt_on_barge_in(played_ms)          ]
        -----I(1200)--------------------I(5400)------------|

        I(n) = Interrupt with playback_offset n: played_ms() at that moment, rounded.

    ``listen_conn.messages.pipe(dgo.interrupt_on_barge_in(player.played_ms))
    .subscribe(on_next=speak_conn.input.on_next)`` cancels the active turn as soon as the
    listener hears the user; the server answers ``SpeechInterrupted`` with ``text_spoken`` (what
    the user heard, for the LLM's context) and ``text_remaining``. ``played_ms`` is called at
    each barge-in and returns how many milliseconds of the *session's* audio the player has
    played (Deepgram's playback offset); without it the ``Interrupt`` carries no offset and the
    server cannot tell what was heard. Stop local playback too: audio already received is the
    player's to discard. Triggers are those of :func:`clear_on_barge_in`.

    Raises:
        TypeError: ``played_ms`` is not callable.
    """
    from ._audio import interrupt_on_barge_in_

    return interrupt_on_barge_in_(played_ms)


# --- text to speech ------------------------------------------------------------------------


def sentences(
    max_flushes: int = 20,
    per: float = 60.0,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[str]], Observable[speak_v1.Speak | speak_v1.Flush]]:
    """An LLM token stream as sentence-sized Speak V1 ``Speak`` messages, each followed by a
    ``Flush``, within Deepgram's Flush rate limit.

    .. marble::
        :alt: sentences

        --"Hi"--". I'm"--" Dr. Lee."--" Bye"--|
        [    sentences(max_flushes=1, per=60)  ]
        ----------S1,F----------------S2------S3---F(at 60 s)|

        S1 = Speak("Hi. "), S2 = Speak("I'm Dr. Lee. "), S3 = Speak("Bye"); a Flush after S2
        would be the 2nd within 60 s, so it waits, and covers S3 too.

    Sentences end at a newline, or at ``.`` ``!`` ``?`` ``…`` followed by whitespace, except
    that a lone ``.`` after a common abbreviation (``Mr.``, ``Dr.``, ``vs.``...), an initial
    (``J.``), a dotted word (``e.g.``, ``U.S.``) or a list number at the start of a line
    (``1.``) does not end one; decimals (``3.5``) never split because a split needs whitespace.
    Text is cut, never changed: each ``Speak`` keeps the whitespace after its sentence, so the
    server's buffer never fuses two sentences; whitespace-only pieces are not sent. A ``Speak``
    carries at most 2,000 characters (Deepgram's limit): longer sentences, and text that
    accumulates without any sentence end, go out in pieces cut after whitespace.

    A ``Flush`` follows each sentence unless ``max_flushes`` were already sent in the last
    ``per`` seconds (Deepgram allows 20 per 60 s and ignores the excess): then the sentence is
    still spoken (its ``Speak`` goes out at once) and one Flush, covering every sentence spoken
    meanwhile, is sent as soon as the window allows. On completion the remaining text is spoken
    and flushed, then the output completes (after the deferred Flush, if one is waiting). On
    error, buffered text is dropped and the error passed on. The rate budget belongs to one
    subscription: for several replies on one Speak connection, feed them through one
    ``sentences()`` subscription (e.g. a Subject of tokens, each reply ending with ``"\\n"``).
    Deepgram's 2,400 characters per minute throughput limit is not enforced here.

    Args:
        max_flushes: At most this many ``Flush`` messages ...
        per: ... in any window of this many seconds.
        scheduler: Clock and timer for the rate limit; defaults to the subscription's
            scheduler, else reactivex's ``TimeoutScheduler``.

    Raises:
        InvalidOptionError: ``max_flushes`` < 1 or ``per`` <= 0.
    """
    from ._text import sentences_

    return sentences_(max_flushes, per, scheduler)


# --- voice agent ---------------------------------------------------------------------------


def function_calls(
    handler: FunctionHandler, *, loop: asyncio.AbstractEventLoop | None = None
) -> Callable[[Observable[object]], Observable[agent_v1.FunctionCallResponse]]:
    """Answer the agent's client-side function calls with ``handler``: pipe the result into the
    agent connection's input.

    .. marble::
        :alt: function_calls

        --?--FunctionCallRequest[a, b(server side)]--?--FunctionCallRequest[c]--|
        [                 function_calls(handler)                                ]
        -----FunctionCallResponse(a)--------------------FunctionCallResponse(c)--|

    ``agent.messages.pipe(dgo.function_calls(handler)).subscribe(agent.input.on_next)``.
    For each ``FunctionCallRequest`` item with ``client_side: true``, ``handler(name,
    arguments)`` is called with the parsed JSON arguments (a dict); its result becomes
    ``FunctionCallResponse(id=item.id, name=item.name, content=...)``: a ``str`` as is, anything
    else ``json.dumps``-ed (structs and dataclasses converted). Server-side items
    (``client_side: false``) are skipped: the server runs them.

    The handler may be synchronous (it runs on the thread delivering messages), ``async``
    (awaited on ``loop``, else on the asyncio loop of the thread delivering messages, which is
    the async client's loop, else on a worker thread's own loop) or return an Observable
    (its last item is the result). Async answers are sent when ready, possibly out of order.

    A failure is reported, never fatal: bad arguments, a handler that raises, a failed
    awaitable or Observable, or an unserialisable result each yield a response whose content is
    ``{"error": "<Type>: <message>"}``, and are logged on the ``rxdeepgram.operators`` logger
    (name and call id, never the arguments). A ``FunctionCallCancelled`` withdraws pending
    calls: their Observable is disposed or their awaitable cancelled, and no response is sent
    for them. The output completes once the source has completed and every call has been
    answered or withdrawn.

    Args:
        handler: ``handler(name, arguments) -> result | awaitable | Observable``.
        loop: The asyncio loop to run async handlers on.

    Raises:
        TypeError: ``handler`` is not callable.
    """
    from ._agent import function_calls_

    return function_calls_(handler, loop)


# --- metrics -------------------------------------------------------------------------------


def time_to_first_byte(
    since: Observable[object] | None = None, scheduler: abc.SchedulerBase | None = None
) -> Callable[[Observable[object]], Observable[float]]:
    """Seconds from subscription (or from ``since``'s first item) to the first response on a
    message stream; one value, then completion.

    .. marble::
        :alt: time_to_first_byte

        subscribe at t=0
        --?(Metadata)------b(t=0.35)--b--|
        [    time_to_first_byte()        ]
        -------------------0.35|

    A response is audio ``bytes`` (Speak, Agent), a Listen V1 ``Results`` or a Listen V2
    ``TurnInfo``. Subscribe when the request goes out, or pass ``since``: an Observable of what
    is sent (e.g. the token stream given to a Speak input) whose first item starts the clock;
    it must be hot or shared, since it is subscribed again. Responses before the start are
    ignored. If the stream completes first, the output completes empty.

    Args:
        since: Start the clock at this Observable's first item instead of at subscription.
        scheduler: The clock; defaults to the subscription's scheduler, else the wall clock.
    """
    from ._metrics import time_to_first_byte_

    return time_to_first_byte_(since, scheduler)


def final_transcript_latency(
    audio: Observable[object],
    *,
    sample_rate: int,
    channels: int = 1,
    sample_width: int = 2,
    every_final: bool = False,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[object]], Observable[float]]:
    """Seconds from *sending* the audio in which speech ended to *receiving* its final
    transcript, one value per utterance.

    .. marble::
        :alt: final_transcript_latency

        audio:    --b(0-1 s, sent t=1)--b(1-2 s, sent t=2)--b(2-3 s, sent t=3)--
        messages: --R------------------------------SF(last word ends 1.6 s, t=2.9)--|
        [   final_transcript_latency(audio, sample_rate=16000)   ]
        -------------------------------------------0.9--|

    ``audio`` is the raw PCM sent to the connection (hot or shared, e.g. published and
    connected after wiring, since it is subscribed again; non-``bytes`` items such as
    ``KeepAlive`` are skipped). Each chunk is stamped when it passes; a chunk ends at
    ``total bytes / (sample_rate * channels * sample_width)`` seconds of audio. For each
    Listen V1 final ``Results`` that ends an utterance (``speech_final`` or ``from_finalize``;
    every ``is_final`` one with ``every_final=True``) and has words, and each Listen V2
    ``EndOfTurn``, the speech end is the last word's ``end`` and the value is the result's
    arrival time minus the send time of the chunk holding that instant. It includes the
    endpointing wait, network and server time; it is only meaningful for audio sent in real
    time, and container headers or compressed encodings skew it.

    Args:
        audio: The audio chunks as sent.
        sample_rate: Samples per second of ``audio``.
        channels: Interleaved channels in ``audio``.
        sample_width: Bytes per sample (2 for linear16).
        every_final: Measure every final result, not only utterance ends.
        scheduler: The clock; defaults to the subscription's scheduler, else the wall clock.

    Raises:
        InvalidOptionError: ``sample_rate``, ``channels`` or ``sample_width`` is not a
            positive integer.
    """
    from ._metrics import final_transcript_latency_

    return final_transcript_latency_(
        audio,
        sample_rate=sample_rate,
        channels=channels,
        sample_width=sample_width,
        every_final=every_final,
        scheduler=scheduler,
    )
