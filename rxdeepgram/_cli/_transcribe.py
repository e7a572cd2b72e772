"""``rxdeepgram transcribe FILE...``: audio files through Listen V1, many streams at once.

::

    rxdeepgram transcribe call.wav --local                      # one line per final transcript
    rxdeepgram transcribe calls/ --out transcripts/ --format txt,srt --concurrency 32
    rxdeepgram transcribe 'calls/**/*.mp3' --json > results.jsonl
    rxdeepgram transcribe calls/ --out out/ --shard 3/8          # the third of eight machines
    rxdeepgram transcribe calls/ --out out/ --ray auto           # on the Ray cluster of this node

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

With ``--ray [ADDRESS]`` (the ``ray`` extra, imported only then) the inputs run on Ray worker
processes, each with one client and ``--concurrency`` streams, through the same code
(:mod:`._job`, driven by :mod:`._ray`; see :mod:`rxdeepgram.batch`); the driver prints the same
progress and summary, and each input's transcript lines when it finishes.

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
import os
import signal
import sys
from typing import Any

from .._client import AsyncDeepgramClient
from ..endpoint import add_endpoint_arguments, open_endpoint
from ._captions import FORMATS
from ._inputs import Input, assign_outputs, expand, parse_shard, shard
from ._job import Interrupted, Report, Settings, Transcriber
from ._output import CommandError, Console
from ._progress import Progress, summary

__all__ = ["add_parser", "default_concurrency", "run"]

REMOTE_CONCURRENCY = 16
"""Default parallel streams to Deepgram or a ``--url``: well inside Deepgram's concurrency
limits for streaming, enough to keep a fast link busy with files sent faster than real time."""


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
    ray = parser.add_argument_group("on a Ray cluster (the ray extra)")
    ray.add_argument(
        "--ray",
        nargs="?",
        const="",
        default=None,
        metavar="ADDRESS",
        help="run on Ray: on the cluster at ADDRESS (host:port, or auto), or "
        "without one on a local Ray instance started for the run; --concurrency is then per "
        "worker; with --local the server runs here and serves every worker",
    )
    ray.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="with --ray: worker processes, one client each (default: the cluster's CPUs)",
    )
    ray.add_argument(
        "--ship",
        action="store_true",
        help="with --ray: send each file's bytes to the workers (when they cannot see the "
        "paths; default: the workers read the paths themselves)",
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
    if args.ray is not None and args.ray != "auto" and ":" not in args.ray:
        if args.ray:  # `--ray calls/`: a file, not an address
            args.inputs.insert(0, args.ray)
        args.ray = ""
    if args.workers is not None and args.workers < 1:
        raise CommandError("--workers must be at least 1", status=2)
    if args.ray is None and (args.workers is not None or args.ship):
        raise CommandError("--workers and --ship go with --ray", status=2)
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
    if args.ray is not None:
        return _run_on_ray(args, inputs, formats)
    concurrency = args.concurrency or default_concurrency(bool(args.local))
    console = Console(json_mode=args.json)
    with open_endpoint(args) as endpoint:
        progress = Progress(sys.stderr, enabled=not args.quiet)
        client = endpoint.async_client()
        settings = Settings.from_args(
            args,
            formats=formats,
            decode=bool(args.decode or endpoint.local),
            prefix=len(inputs) > 1,
        )
        batch = Batch(
            client,
            inputs,
            settings,
            concurrency=concurrency,
            progress=progress,
            console=console,
        )
        try:
            return asyncio.run(batch.run())
        except asyncio.CancelledError:  # SIGTERM (see Batch.run)
            return 128 + signal.SIGTERM


def _run_on_ray(args: argparse.Namespace, inputs: list[Input], formats: tuple[str, ...]) -> int:
    """``--ray``: the same run on Ray workers (see :mod:`rxdeepgram.batch`)."""
    from ._batch import run as run_on_ray

    report = Report(Progress(sys.stderr, enabled=not args.quiet), Console(json_mode=args.json))

    def settings(local: bool) -> Settings:
        decode = bool(args.decode or local)
        return Settings.from_args(args, formats=formats, decode=decode, prefix=len(inputs) > 1)

    try:
        run_on_ray(
            inputs,
            args,
            settings,
            report,
            address=args.ray or None,
            workers=args.workers,
            streams=args.concurrency or default_concurrency(bool(args.local)),
            ship=bool(args.ship),
            num_cpus=None,
        )
    except Interrupted:  # SIGTERM (see _ray.run_on_ray)
        return 128 + signal.SIGTERM
    return finish(report)


def _formats(text: str) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(f.strip().lower() for f in text.split(",") if f.strip()))
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown or not chosen:
        raise CommandError(
            f"--format {text!r}: choose from {', '.join(FORMATS)} (comma-separated)", status=2
        )
    return chosen


class Batch:
    """One run over ``inputs`` in this process, with ``concurrency`` streams of ``client``
    (an :class:`~rxdeepgram.AsyncDeepgramClient`). :meth:`run` returns the exit status."""

    def __init__(
        self,
        client: AsyncDeepgramClient,
        inputs: list[Input],
        settings: Settings,
        *,
        concurrency: int,
        progress: Progress,
        console: Console,
    ) -> None:
        self.inputs = inputs
        self.settings = settings
        self.concurrency = concurrency
        self.progress = progress
        self.progress.counts.total = len(inputs)
        self.report = Report(progress, console)
        self.transcriber = Transcriber(client, settings, emit=self.report.emit)

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
        return finish(self.report)

    async def _worker(self, queue: asyncio.Queue[Input]) -> None:
        report = self.report
        while report.fatal is None:
            try:
                item = queue.get_nowait()
            except asyncio.QueueEmpty:
                return
            if self.settings.already_done(item):
                report.skipped(item)
                continue
            started = False

            def on_start() -> None:
                nonlocal started
                started = True
                report.started()

            try:
                outcome = await self.transcriber.one(item, on_start)
            finally:
                if started:
                    report.stopped()
            report.record(outcome)


def finish(report: Report) -> int:
    """Close the progress with the summary; the exit status (raises the run-wide refusal)."""
    counts = report.progress.counts
    if report.fatal is not None:
        report.progress.close(summary(counts, stopped=True))
        raise report.fatal
    report.progress.close(summary(counts))
    return 1 if counts.failed else 0
