"""``sentences()``: an LLM token stream as sentence-sized Speak V1 ``Speak`` / ``Flush`` messages.

Sentence rule (see :func:`find_cut`): a sentence ends

* at a newline (the newline stays with the sentence), or
* after a run of ``.`` ``!`` ``?`` ``…`` (optionally followed by closing quotes or brackets)
  that is followed by whitespace; the first whitespace character stays with the sentence.
  Whitespace is required, so ``3.5``, ``example.com`` and ``v1.2`` never split, and a
  terminator at the very end of what has arrived so far waits for the next token.

A single ``.`` does not end a sentence when the word before it is

* a common abbreviation that is usually followed by more of the sentence (``Mr.``, ``Mrs.``,
  ``Dr.``, ``Prof.``, ``St.``, ``vs.``, ``approx.``, ``cf.``, ``al.``, ... see ``ABBREVIATIONS``),
* a single letter (initials: ``J. R. R. Tolkien``),
* a word with a dot inside (``e.g.``, ``i.e.``, ``a.m.``, ``U.S.``), or
* a number of up to three digits that starts a line (a list item: ``1. Buy milk``).

The price of the rule: a sentence that really ends with one of those (``... on Main St.``)
runs on into the next one. That costs one Flush, not a word.

Text is never altered, only cut: concatenating the ``Speak`` texts gives the input back, minus
whitespace-only pieces, which are not sent (``Speak`` needs text). Keeping the whitespace
matters because the server *appends* each ``Speak`` to its buffer: when a Flush is deferred,
two sentences meet in that buffer and must not fuse.
"""

from __future__ import annotations

import re
import threading
from collections import deque
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from reactivex import Observable, abc
from reactivex.disposable import CompositeDisposable, Disposable, SerialDisposable

from ..errors import InvalidOptionError
from ..messages import speak_v1
from ._util import choose_scheduler

__all__ = ["ABBREVIATIONS", "MAX_SPEAK_CHARS", "chunk_text", "find_cut", "sentences_"]

MAX_SPEAK_CHARS = 2000
"""Deepgram's limit on the ``text`` of one ``Speak`` message (2,001 is an error)."""

ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "mx", "dr", "prof", "sr", "jr", "st", "mt", "ft", "rev", "fr",
        "gen", "col", "capt", "cpt", "lt", "sgt", "cmdr", "hon", "gov", "sen", "rep", "pres",
        "vs", "approx", "appt", "apt", "dept", "fig", "figs", "eq", "vol", "ch", "pp", "cf",
        "al", "ca", "tel", "ext",
    }
)  # fmt: skip
"""Lower-case words that, followed by a single ``.``, do not end a sentence."""

# A newline, or a terminator run (with closing quotes/brackets) followed by whitespace.
_END = re.compile(r"\n|[.!?\u2026]+[\"'\u201d\u2019)\]}\u00bb]*(?=\s)")
_OPENERS = "\"'\u201c\u2018([{\u00ab"


Message = speak_v1.Speak | speak_v1.Flush


def _keeps_going(buffer: str, dot: int, at_line_start: bool) -> bool:
    """Whether the lone ``.`` at ``buffer[dot]`` leaves the sentence open."""
    head = buffer[:dot]
    start = dot
    while start > 0 and not head[start - 1].isspace():
        start -= 1
    word = head[start:].lstrip(_OPENERS)
    if not word:
        return False
    if word.lower() in ABBREVIATIONS or "." in word or (len(word) == 1 and word.isalpha()):
        return True
    if word.isdigit() and len(word) <= 3:  # "1. " opening a line is a list item
        line_start = head.rfind("\n", 0, start) + 1
        first_on_line = not head[line_start:start].strip()
        return first_on_line and (line_start > 0 or at_line_start)
    return False


def find_cut(buffer: str, at_line_start: bool = True) -> int | None:
    """The index just after the first sentence of ``buffer``, or None if no sentence is
    complete yet. ``at_line_start`` says whether ``buffer[0]`` begins a line (for list items)."""
    for match in _END.finditer(buffer):
        token = match.group()
        if token == "\n":
            return match.end()
        if token == "." and _keeps_going(buffer, match.start(), at_line_start):
            continue
        return match.end() + 1  # keep the first whitespace character with the sentence
    return None


def chunk_text(text: str, limit: int = MAX_SPEAK_CHARS) -> Iterator[str]:
    """Cut ``text`` into pieces of at most ``limit`` characters, after whitespace where there
    is some (a single word longer than ``limit`` is cut hard)."""
    while len(text) > limit:
        cut = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit), text.rfind("\t", 0, limit))
        cut = cut + 1 if cut > 0 else limit
        yield text[:cut]
        text = text[cut:]
    yield text


def _check(max_flushes: int, per: float) -> None:
    if isinstance(max_flushes, bool) or not isinstance(max_flushes, int) or max_flushes < 1:
        raise InvalidOptionError("max_flushes", max_flushes, "must be an integer >= 1")
    from .._checks import check_seconds_option

    check_seconds_option("per", per)


def sentences_(
    max_flushes: int = 20,
    per: float = 60.0,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[str]], Observable[Message]]:
    _check(max_flushes, per)
    window = timedelta(seconds=per)

    def operator(source: Observable[str]) -> Observable[Message]:
        def subscribe(
            observer: abc.ObserverBase[Message], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            clock = choose_scheduler(scheduler, scheduler_)
            lock = threading.RLock()
            timer = SerialDisposable()
            flushed_at: deque[datetime] = deque(maxlen=max_flushes)
            buffer = ""
            at_line_start = True
            unflushed = False  # a Speak went out since the last Flush
            deferred = False  # a Flush waits for the rate window
            completing = False
            stopped = False

            def speak(text: str) -> None:
                nonlocal unflushed
                for piece in chunk_text(text):
                    if piece.strip():
                        observer.on_next(speak_v1.Speak(text=piece))
                        unflushed = True

            def flush_now(now: datetime) -> None:
                nonlocal unflushed
                observer.on_next(speak_v1.Flush())
                flushed_at.append(now)
                unflushed = False

            def request_flush() -> None:
                nonlocal deferred
                if deferred or not unflushed:
                    return  # coalesced into the deferred Flush
                now = clock.now
                if len(flushed_at) < max_flushes or now - flushed_at[0] >= window:
                    flush_now(now)
                    return
                deferred = True
                timer.disposable = clock.schedule_relative(flushed_at[0] + window - now, on_timer)

            def on_timer(_: abc.SchedulerBase, __: object = None) -> None:
                nonlocal deferred, stopped
                with lock:
                    if stopped:
                        return
                    deferred = False
                    if unflushed:
                        flush_now(clock.now)
                    if completing:
                        stopped = True
                        observer.on_completed()

            def on_next(token: str) -> None:
                nonlocal buffer, at_line_start
                with lock:
                    if stopped:
                        return
                    buffer += token
                    while (cut := find_cut(buffer, at_line_start)) is not None:
                        sentence, buffer = buffer[:cut], buffer[cut:]
                        at_line_start = sentence.endswith("\n")
                        speak(sentence)
                        request_flush()
                    if len(buffer) > MAX_SPEAK_CHARS:
                        *full, buffer = chunk_text(buffer)
                        at_line_start = False
                        for piece in full:
                            speak(piece)

            def on_error(error: Exception) -> None:
                nonlocal stopped
                with lock:
                    if stopped:
                        return
                    stopped = True
                    timer.dispose()
                    observer.on_error(error)

            def on_completed() -> None:
                nonlocal buffer, completing, stopped
                with lock:
                    if stopped:
                        return
                    speak(buffer)
                    buffer = ""
                    completing = True
                    request_flush()
                    if not deferred:
                        stopped = True
                        observer.on_completed()

            def on_dispose() -> None:
                nonlocal stopped
                with lock:
                    stopped = True

            subscription = source.subscribe(on_next, on_error, on_completed, scheduler=scheduler_)
            return CompositeDisposable(subscription, timer, Disposable(on_dispose))

        return Observable(subscribe)

    return operator
