"""One input of a transcription batch, wherever the batch runs.

``rxdeepgram transcribe`` runs its inputs in this process (:class:`._transcribe.Batch`) or on a
Ray cluster (:mod:`._ray`); both use the pieces here, so an input is opened, streamed, written
and reported the same way:

* :class:`Settings` is what a run does with every input (model, options, output folder and
  formats...). It is plain data, so it travels to a Ray worker as it is.
* :class:`Transcriber` transcribes one :class:`~._inputs.Input` with one
  :class:`~rxdeepgram.AsyncDeepgramClient` (many at once on one event loop), writes its outputs
  atomically and returns an :class:`Outcome`. The lines it prints (transcripts, or JSON
  objects) go to an ``emit`` callback as they arrive, or, with none (a Ray worker), are kept in
  the outcome for the driver to print.
* :class:`Report` is the driver's side: progress counts, the lines above the bar, the
  transcripts on standard output, the first run-wide refusal. It takes outcomes from either.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from .._client import AsyncDeepgramClient
from ..errors import (
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    ConnectionClosedError,
    DeepgramError,
    InvalidOptionError,
    RateLimitError,
    ServiceUnavailableError,
)
from ..messages import listen_v1
from ._captions import FileTranscript, Segment, TimedWord, render, write_atomic
from ._inputs import STDIN, Input
from ._media import Media, MediaError, open_media
from ._output import Console
from ._progress import Progress

__all__ = ["Emit", "Interrupted", "Outcome", "Report", "Settings", "Transcriber"]

FATAL = (AuthenticationError, BadRequestError, ConfigurationError, InvalidOptionError)
"""Errors that every input would hit the same way: the run stops (exit 2)."""
RETRIED = (RateLimitError, ServiceUnavailableError)
"""Handshake answers worth waiting for (429, 5xx): retried with backoff."""

Emit = Callable[[Literal["line", "json"], Any], None]
"""Where a stream's output goes: ``("line", text)`` or ``("json", document)``."""


class Interrupted(BaseException):
    """SIGTERM stopped a run that waits on other processes (exit status 143)."""


@dataclass(frozen=True)
class Settings:
    """What a run does with every input (plain data: it is sent to Ray workers as it is)."""

    model: str = "nova-3"
    language: str | None = None
    smart_format: bool = False
    interim: bool = False
    realtime: bool = False
    json: bool = False
    out: str | None = None
    formats: tuple[str, ...] = ("txt",)
    overwrite: bool = False
    decode: bool = False
    retries: int = 3
    prefix: bool = False
    """Prefix text lines with the input's label (when there are several inputs)."""
    echo: bool = True
    """Emit output lines (transcripts, JSON objects); off for the library, which returns the
    transcripts instead."""

    @classmethod
    def from_args(
        cls, args: argparse.Namespace, *, formats: tuple[str, ...], decode: bool, prefix: bool
    ) -> Settings:
        return cls(
            model=args.model,
            language=args.language,
            smart_format=bool(args.smart_format),
            interim=bool(args.interim),
            realtime=bool(args.realtime),
            json=bool(args.json),
            out=args.out,
            formats=formats,
            overwrite=bool(args.overwrite),
            decode=decode,
            retries=args.retries,
            prefix=prefix,
        )

    def outputs(self, item: Input) -> list[str]:
        """The files ``item`` writes (none without ``out``)."""
        if self.out is None:
            return []
        return [os.path.join(self.out, f"{item.output_stem}.{fmt}") for fmt in self.formats]

    def already_done(self, item: Input) -> bool:
        """Whether every output of ``item`` exists (and ``overwrite`` is off): skip it."""
        outputs = self.outputs(item)
        return bool(outputs) and not self.overwrite and all(map(os.path.exists, outputs))

    def options(self, media: Media) -> dict[str, Any]:
        """The Listen V1 connect options for ``media``."""
        options: dict[str, Any] = {"model": self.model, **media.options}
        if self.interim:
            options["interim_results"] = True
        if self.language:
            options["language"] = self.language
        if self.smart_format:
            options["smart_format"] = True
        return options


@dataclass
class Outcome:
    """What became of one input: ``done`` (``transcript`` holds its final results), ``failed``
    (``message`` says why; the run goes on) or ``fatal`` (``error``, a refusal every input
    would hit: the run stops). ``emitted`` holds its output lines when nobody printed them as
    they came (a Ray worker); ``worker`` is the id of the process that transcribed it."""

    label: str
    status: Literal["done", "failed", "fatal"]
    message: str = ""
    transcript: FileTranscript | None = None
    error: DeepgramError | None = None
    emitted: list[tuple[Literal["line", "json"], Any]] = field(default_factory=list)
    worker: int | None = None

    @property
    def seconds(self) -> float:
        """Seconds of audio transcribed."""
        return (self.transcript.duration or 0.0) if self.transcript is not None else 0.0


@dataclass
class _Stream:
    """What one stream has received."""

    item: Input
    result: FileTranscript
    emit: Emit
    errors: list[Exception] = field(default_factory=list)


class Transcriber:
    """Transcribes inputs one stream each with ``client``; :meth:`one` may run many times at
    once on the client's event loop. ``emit`` gets the output lines as they arrive (``None``:
    they are kept in each :class:`Outcome`)."""

    def __init__(
        self, client: AsyncDeepgramClient, settings: Settings, *, emit: Emit | None = None
    ) -> None:
        self.client = client
        self.settings = settings
        self.emit = emit

    async def one(self, item: Input, on_start: Callable[[], None] | None = None) -> Outcome:
        """Transcribe ``item`` and write its outputs; ``on_start`` is called when its stream
        is about to open (not for an input known to be bad)."""
        if item.problem is not None:
            return Outcome(item.label, "failed", item.problem)
        if on_start is not None:
            on_start()
        kept: list[tuple[Literal["line", "json"], Any]] = []
        emit: Emit = self.emit or (lambda kind, value: kept.append((kind, value)))
        try:
            stream = await self._transcribe(item, emit)
        except MediaError as exc:
            return Outcome(item.label, "failed", str(exc))
        except FATAL as exc:
            return Outcome(item.label, "fatal", str(exc), error=exc)
        except DeepgramError as exc:
            return Outcome(item.label, "failed", f"{item.label}: {type(exc).__name__}: {exc}")
        outputs = self.settings.outputs(item)
        if outputs:
            result = stream.result
            texts = [(path, render(result, path.rsplit(".", 1)[1])) for path in outputs]
            try:
                await asyncio.to_thread(_write_all, texts)
            except OSError as exc:
                message = f"{item.label}: cannot write the output: {exc}"
                return Outcome(item.label, "failed", message)
        return Outcome(item.label, "done", transcript=stream.result, emitted=kept)

    async def _transcribe(self, item: Input, emit: Emit) -> _Stream:
        with contextlib.ExitStack() as stack:
            path = item.path
            if item.data is not None or path == STDIN:  # to a file: WAV parsing and FFmpeg want one
                scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="rxdeepgram-"))
                path = os.path.join(scratch, "input")
                await asyncio.to_thread(_spool, path, item.data)
            decode = self.settings.decode
            media = await asyncio.to_thread(open_media, path, item.label, decode=decode)
            try:
                return await self._stream(item, media, emit)
            except ConnectionClosedError as exc:
                if media.kind == "wav" or media.options or "DATA-0000" not in str(exc):
                    raise
                raise MediaError(  # a container sent as it is to a server that cannot read it
                    f"{item.label}: {type(exc).__name__}: {exc} (to decode the {media.kind} "
                    "file here first, pass --decode)"
                ) from None
            finally:
                media.close()

    async def _stream(self, item: Input, media: Media, emit: Emit) -> _Stream:
        """One connection for ``item``; a handshake refused with 429 / 5xx is retried with
        backoff (nothing has been sent then). ``async with`` closes gracefully, or aborts
        the connection when the body raises (Ctrl-C included)."""
        options = self.settings.options(media)
        retries = self.settings.retries
        delay = 1.0
        for attempt in range(retries + 1):
            stream = _Stream(item, FileTranscript(item.label, duration=media.duration), emit)
            opened = False
            try:
                async with self.client.listen.v1.connect(**options) as conn:
                    opened = True
                    conn.messages.subscribe(
                        on_next=functools.partial(self._on_message, stream),
                        on_error=stream.errors.append,
                    )
                    await self._send(conn, media)
                    await conn.wait()
            except RETRIED:
                if opened or attempt == retries:
                    raise
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
                continue
            if stream.errors:
                raise stream.errors[0]
            return stream
        raise AssertionError("unreachable")  # pragma: no cover

    async def _send(self, conn: Any, media: Media) -> None:
        loop = asyncio.get_running_loop()
        realtime = self.settings.realtime
        per_second = media.bytes_per_second
        chunk = per_second // 10 if per_second else 32 * 1024  # 100 ms, or 32 KiB as it is
        if realtime and per_second:
            chunk = per_second // 50  # 20 ms
        started = loop.time()
        sent = 0
        while True:
            block = await asyncio.to_thread(media.read, media.block_bytes)
            if not block:
                break
            for offset in range(0, len(block), chunk):
                try:
                    conn.input.on_next(block[offset : offset + chunk])
                except DeepgramError:  # closed by the server: its reason is in the messages
                    return
                sent += min(chunk, len(block) - offset)
                if realtime and per_second:
                    ahead = started + sent / per_second - loop.time()
                    if ahead > 0:
                        await asyncio.sleep(ahead)
            await asyncio.sleep(0)  # let the other streams send too
        with contextlib.suppress(DeepgramError):  # closed meanwhile: the messages say why
            conn.input.on_completed()  # CloseStream: the last results, Metadata, close

    def _on_message(self, stream: _Stream, message: object) -> None:
        if isinstance(message, listen_v1.Metadata):
            result = stream.result
            result.request_id = message.request_id or None
            if result.duration is None and message.duration:
                result.duration = float(message.duration)
            return
        if not isinstance(message, listen_v1.Results):
            return
        alternatives = message.channel.alternatives if message.channel else []
        best = alternatives[0] if alternatives else None
        if best is None:
            return
        settings = self.settings
        text = best.transcript.strip()
        final = bool(message.is_final)
        channel = message.channel_index[0] if message.channel_index else 0
        segment = Segment(
            start=message.start,
            end=message.start + message.duration,
            transcript=text,
            confidence=best.confidence,
            words=tuple(
                TimedWord(w.punctuated_word or w.word, w.start, w.end, w.confidence)
                for w in best.words
            ),
            channel=channel,
        )
        if final and text:
            stream.result.segments.append(segment)
        if not settings.echo or (settings.out is not None and not settings.json):
            return
        if settings.json:
            if text and (final or settings.interim):
                document = {"file": stream.item.label, "is_final": final}
                document["speech_final"] = bool(message.speech_final)
                document.update(segment.as_json())
                stream.emit("json", document)
            return
        prefix = f"{stream.item.label}: " if settings.prefix else ""
        if text and final:
            stream.emit("line", prefix + text)
        elif text and settings.interim:
            stream.emit("line", f"~ {prefix}{text}")


class Report:
    """The driver's account of a run: :class:`Progress` counts and lines, output on the
    :class:`Console` (none: output lines are dropped), and the first run-wide refusal
    (:attr:`fatal`)."""

    def __init__(self, progress: Progress, console: Console | None) -> None:
        self.progress = progress
        self.console = console
        self.fatal: DeepgramError | None = None

    def emit(self, kind: Literal["line", "json"], value: Any) -> None:
        """Print one output line (above the progress bar)."""
        if self.console is None:
            return
        write = self.console.emit_json if kind == "json" else self.console.line
        self.progress.above(functools.partial(write, value))

    def skipped(self, item: Input) -> None:
        self.progress.counts.skipped += 1
        self.progress.event(f"skipped {item.label}: already done")

    def started(self) -> None:
        self.progress.counts.in_flight += 1
        self.progress.tick()

    def stopped(self) -> None:
        self.progress.counts.in_flight -= 1

    def record(self, outcome: Outcome) -> None:
        """Count ``outcome`` and print what it has to say (its kept lines first)."""
        for kind, value in outcome.emitted:
            self.emit(kind, value)
        counts = self.progress.counts
        if outcome.status == "fatal":
            if self.fatal is None:
                self.fatal = outcome.error
            return
        if outcome.status == "failed":
            counts.failed += 1
            self.progress.line(f"rxdeepgram: error: {outcome.message}")
            return
        counts.done += 1
        counts.audio_seconds += outcome.seconds
        self.progress.event(f"done {outcome.label}: {outcome.seconds:.1f} s of audio")


def _spool(path: str, data: bytes | None) -> None:
    with open(path, "wb") as file:
        if data is None:
            shutil.copyfileobj(sys.stdin.buffer, file)
        else:
            file.write(data)


def _write_all(texts: list[tuple[str, str]]) -> None:
    for path, text in texts:
        write_atomic(path, text)
