"""``rxdeepgram transcribe FILE...``: audio files through Listen V1, many streams at once.

::

    rxdeepgram transcribe call.wav --local                      # one line per final transcript
    rxdeepgram transcribe calls/ --out transcripts/ --format txt,srt --concurrency 32
    rxdeepgram transcribe 'calls/**/*.mp3' --json > results.jsonl
    rxdeepgram transcribe calls/ --out out/ --shard 3/8          # the third of eight machines

Inputs: files, directories (walked for audio names), glob patterns and ``-`` (standard input);
see :mod:`._inputs`. Each input is one Listen V1 stream over the library's asyncio client
(``AsyncDeepgramClient``, ``client.listen.v1.connect``), sent as fast as the connection takes it
(``--realtime``: at real time); ``--concurrency`` streams run at once. WAV is sent as raw samples;
MP3, FLAC, Ogg, WebM, M4A... go to Deepgram untouched and are decoded here for the local server
(see :mod:`._media`, which also says why the client decodes).

Output: without ``--out``, one line per final transcript on standard output (``file: text``
when there are several inputs), or with ``--json`` one JSON object per result (with its
``file``). With ``--out DIR``: one file per input and format (``txt``, ``json``, ``srt``,
``vtt``; see :mod:`._captions`), written atomically; an input whose outputs all exist is
skipped (``--overwrite`` redoes it), so an interrupted run resumes where it stopped.

Progress goes to standard error: a live bar on a terminal, plain lines elsewhere (see
:mod:`._progress`). A bad input (missing, empty, unreadable, not audio, refused by the server)
is reported there and skipped; the run goes on.

Exit status: 0 when every input was transcribed (or already done); 1 when some failed;
2 for a usage error or a refusal that would fail every input (no API key, bad credentials, an
option the server rejects with 400; the run stops at the first); 130 on Ctrl-C (143 on
SIGTERM), which stops the streams at once and keeps every output already written (no partial
file is left).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import os
import shutil
import signal
import sys
import tempfile
from dataclasses import dataclass, field
from typing import Any

from .._client import AsyncDeepgramClient
from ..endpoint import add_endpoint_arguments, open_endpoint
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
from ._captions import FORMATS, FileTranscript, Segment, TimedWord, render, write_atomic
from ._inputs import STDIN, Input, assign_outputs, expand, parse_shard, shard
from ._media import Media, MediaError, open_media
from ._output import CommandError, Console
from ._progress import Progress, summary

__all__ = ["add_parser", "default_concurrency", "run"]

REMOTE_CONCURRENCY = 16
"""Default parallel streams to Deepgram or a ``--url``: well inside Deepgram's concurrency
limits for streaming, enough to keep a fast link busy with files sent faster than real time."""

_FATAL = (AuthenticationError, BadRequestError, ConfigurationError, InvalidOptionError)
"""Errors that every input would hit the same way: the run stops (exit 2)."""
_RETRIED = (RateLimitError, ServiceUnavailableError)
"""Handshake answers worth waiting for (429, 5xx): retried with backoff."""


def default_concurrency(local: bool) -> int:
    """Parallel streams when ``--concurrency`` is not given: :data:`REMOTE_CONCURRENCY`, or for
    ``--local`` (whose server shares this machine) twice the number of cores."""
    return max(2, 2 * (os.cpu_count() or 1)) if local else REMOTE_CONCURRENCY


def add_parser(commands: Any) -> None:
    """Register ``transcribe`` on the subcommand parsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "transcribe",
        help="transcribe audio files with Listen V1, many at once",
        description=(
            "Stream audio files through Listen V1 and print or write their transcripts. "
            "Exit status: 0 all done, 1 some inputs failed, 2 usage or run-wide error "
            "(bad key, option refused), 130 interrupted."
        ),
    )
    parser.add_argument(
        "inputs",
        nargs="+",
        metavar="FILE",
        help="audio files, directories (walked for audio files), glob patterns, '-' for "
        "standard input. WAV is sent as raw samples; MP3, FLAC, Ogg, WebM, M4A... as they are "
        "(decoded first for --local)",
    )
    parser.add_argument("--model", default="nova-3", help="model (default: nova-3)")
    parser.add_argument("--language", default=None, help="language code, e.g. en-US")
    parser.add_argument(
        "--smart-format", action="store_true", help="ask for smart formatting (punctuation...)"
    )
    parser.add_argument(
        "--interim",
        action="store_true",
        help="ask for interim results too ('~ ' lines, or is_final=false objects with --json)",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="send at real time, as a live source would (default: as fast as possible)",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per result on standard output"
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        default=None,
        help="write one transcript file per input and format into DIR; inputs whose outputs "
        "exist are skipped (an interrupted run resumes)",
    )
    parser.add_argument(
        "--format",
        default="txt",
        metavar="FMT[,FMT]",
        help=f"formats written with --out: {', '.join(FORMATS)} (default: txt)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="with --out: redo inputs already done"
    )
    parser.add_argument(
        "--concurrency",
        type=int,
        default=None,
        metavar="N",
        help=f"streams at once (default: {REMOTE_CONCURRENCY}; with --local twice the cores)",
    )
    parser.add_argument(
        "--shard",
        default=None,
        metavar="K/N",
        help="work on the K-th of N disjoint parts of the inputs (split by a hash of each "
        "path: run one command per part, on any machines, with the same arguments)",
    )
    parser.add_argument(
        "--decode",
        action="store_true",
        help="decode compressed audio to PCM here before sending (always with --local; needs "
        "the decode extra, PyAV); default: send it untouched, Deepgram detects the container",
    )
    parser.add_argument(
        "--retries",
        type=int,
        default=3,
        metavar="N",
        help="retries of a stream refused with 429 or 5xx, with backoff (default: 3)",
    )
    parser.add_argument(
        "-q", "--quiet", action="store_true", help="no progress and no summary (errors only)"
    )
    add_endpoint_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Transcribe ``args.inputs``; returns the exit status."""
    formats = _formats(args.format)
    if args.concurrency is not None and args.concurrency < 1:
        raise CommandError("--concurrency must be at least 1", status=2)
    if args.retries < 0:
        raise CommandError("--retries must not be negative", status=2)
    if args.out is not None and os.path.exists(args.out) and not os.path.isdir(args.out):
        raise CommandError(f"--out {args.out}: not a directory", status=2)
    inputs = expand(args.inputs)
    if not inputs:
        raise CommandError(f"no audio files in {' '.join(args.inputs)}", status=2)
    assign_outputs(inputs)  # before sharding: every shard names outputs alike
    if args.shard is not None:
        try:
            k, n = parse_shard(args.shard)
        except ValueError as exc:
            raise CommandError(str(exc), status=2) from None
        inputs = shard(inputs, k, n)
    concurrency = args.concurrency or default_concurrency(bool(args.local))
    with open_endpoint(args) as endpoint:
        client = endpoint.async_client()
        batch = Batch(
            client,
            inputs,
            args,
            formats=formats,
            decode=bool(args.decode or endpoint.local),
            concurrency=concurrency,
        )
        try:
            return asyncio.run(batch.run())
        except asyncio.CancelledError:  # SIGTERM (see Batch.run)
            return 128 + signal.SIGTERM


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise CommandError(
            f"--format {text!r}: choose from {', '.join(FORMATS)} (comma-separated)", status=2
        )
    return chosen


@dataclass
class _Stream:
    """What one stream has received."""

    item: Input
    result: FileTranscript
    errors: list[Exception] = field(default_factory=list)


class Batch:
    """One run over ``inputs`` with ``concurrency`` streams of ``client`` (an
    :class:`~rxdeepgram.AsyncDeepgramClient`). :meth:`run` returns the exit status."""

    def __init__(
        self,
        client: AsyncDeepgramClient,
        inputs: list[Input],
        args: argparse.Namespace,
        *,
        formats: tuple[str, ...],
        decode: bool,
        concurrency: int,
        progress: Progress | None = None,
        console: Console | None = None,
    ) -> None:
        self.client = client
        self.inputs = inputs
        self.args = args
        self.formats = formats
        self.decode = decode
        self.concurrency = concurrency
        self.console = console or Console(json_mode=args.json)
        self.progress = progress or Progress(sys.stderr, enabled=not args.quiet)
        self.progress.counts.total = len(inputs)
        self.prefix = len(inputs) > 1
        self.fatal: DeepgramError | None = None

    # -- the run -------------------------------------------------------------------------------

    async def run(self) -> int:
        queue: asyncio.Queue[Input] = asyncio.Queue()
        for item in self.inputs:
            queue.put_nowait(item)
        workers = [
            asyncio.create_task(self._worker(queue))
            for _ in range(min(self.concurrency, len(self.inputs)))
        ]
        self.progress.tick(force=True)
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
            if task is not None:  # SIGTERM stops the run as Ctrl-C does (exit status 143)
                loop.add_signal_handler(signal.SIGTERM, task.cancel)
        try:
            await asyncio.gather(*workers)
        except asyncio.CancelledError:  # Ctrl-C (asyncio.run cancels this task) or SIGTERM
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            self.progress.close(summary(self.progress.counts, interrupted=True))
            raise
        except BaseException:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        counts = self.progress.counts
        if self.fatal is not None:
            self.progress.close(summary(counts, stopped=True))
            raise self.fatal
        self.progress.close(summary(counts))
        return 1 if counts.failed else 0

    async def _worker(self, queue: asyncio.Queue[Input]) -> None:
        while self.fatal is None:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            await self._one(item)

    def _outputs(self, item: Input) -> list[str]:
        if self.args.out is None:
            return []
        return [os.path.join(self.args.out, f"{item.output_stem}.{fmt}") for fmt in self.formats]

    async def _one(self, item: Input) -> None:
        counts = self.progress.counts
        if item.problem is not None:
            self._failed(item.problem)
            return
        outputs = self._outputs(item)
        if outputs and not self.args.overwrite and all(map(os.path.exists, outputs)):
            counts.skipped += 1
            self.progress.event(f"skipped {item.label}: already done")
            return
        counts.in_flight += 1
        self.progress.tick()
        try:
            stream = await self._transcribe(item)
        except MediaError as exc:
            self._failed(str(exc))
            return
        except _FATAL as exc:
            if self.fatal is None:
                self.fatal = exc
            return
        except DeepgramError as exc:
            self._failed(f"{item.label}: {type(exc).__name__}: {exc}")
            return
        finally:
            counts.in_flight -= 1
        if outputs:
            result = stream.result
            texts = [(path, render(result, path.rsplit(".", 1)[1])) for path in outputs]
            try:
                await asyncio.to_thread(_write_all, texts)
            except OSError as exc:
                self._failed(f"{item.label}: cannot write the output: {exc}")
                return
        counts.done += 1
        counts.audio_seconds += stream.result.duration or 0.0
        seconds = stream.result.duration or 0.0
        self.progress.event(f"done {item.label}: {seconds:.1f} s of audio")

    def _failed(self, message: str) -> None:
        self.progress.counts.failed += 1
        self.progress.line(f"rxdeepgram: error: {message}")

    # -- one stream ----------------------------------------------------------------------------

    async def _transcribe(self, item: Input) -> _Stream:
        with contextlib.ExitStack() as stack:
            path = item.path
            if path == STDIN:  # spooled to a file: WAV parsing and FFmpeg want one
                scratch = stack.enter_context(tempfile.TemporaryDirectory(prefix="rxdeepgram-"))
                path = os.path.join(scratch, "stdin")
                await asyncio.to_thread(_save_stdin, path)
            media = await asyncio.to_thread(open_media, path, item.label, decode=self.decode)
            try:
                return await self._stream(item, media)
            except ConnectionClosedError as exc:
                if media.kind == "wav" or media.options or "DATA-0000" not in str(exc):
                    raise
                raise MediaError(  # a container sent as it is to a server that cannot read it
                    f"{item.label}: {type(exc).__name__}: {exc} (to decode the {media.kind} "
                    "file here first, pass --decode)"
                ) from None
            finally:
                media.close()

    def _options(self, media: Media) -> dict[str, Any]:
        args = self.args
        options: dict[str, Any] = {"model": args.model, **media.options}
        if args.interim:
            options["interim_results"] = True
        if args.language:
            options["language"] = args.language
        if args.smart_format:
            options["smart_format"] = True
        return options

    async def _stream(self, item: Input, media: Media) -> _Stream:
        """One connection for ``item``; a handshake refused with 429 / 5xx is retried with
        backoff (nothing has been sent then). ``async with`` closes gracefully, or aborts
        the connection when the body raises (Ctrl-C included)."""
        options = self._options(media)
        delay = 1.0
        for attempt in range(self.args.retries + 1):
            stream = _Stream(item, FileTranscript(item.label, duration=media.duration))
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
            except _RETRIED:
                if opened or attempt == self.args.retries:
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
        per_second = media.bytes_per_second
        chunk = per_second // 10 if per_second else 32 * 1024  # 100 ms, or 32 KiB as it is
        if self.args.realtime and per_second:
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
                if self.args.realtime and per_second:
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
        if self.args.out is not None and not self.args.json:
            return
        if self.args.json:
            if text and (final or self.args.interim):
                document = {"file": stream.item.label, "is_final": final}
                document["speech_final"] = bool(message.speech_final)
                document.update(segment.as_json())
                self.progress.above(functools.partial(self.console.emit_json, document))
            return
        prefix = f"{stream.item.label}: " if self.prefix else ""
        if text and final:
            self.progress.above(functools.partial(self.console.line, prefix + text))
        elif text and self.args.interim:
            self.progress.above(functools.partial(self.console.line, f"~ {prefix}{text}"))


def _save_stdin(path: str) -> None:
    with open(path, "wb") as file:
        shutil.copyfileobj(sys.stdin.buffer, file)


def _write_all(texts: list[tuple[str, str]]) -> None:
    for path, text in texts:
        write_atomic(path, text)
