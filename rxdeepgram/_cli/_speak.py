"""``rxdeepgram speak TEXT -o FILE.wav``: text through Speak V1 (or V2) into a WAV file.

``text.pipe(client.speak.v1.synthesize(...))`` (``client.speak.v2`` for a Flux voice,
``--model flux-...``: the text is one turn), the audio frames kept with
``operators.audio()`` and written as they arrive by ``audio.to_wav``; the time to the first
audio byte is measured with ``operators.time_to_first_byte``. ``TEXT`` may be ``-`` (standard
input); text longer than Deepgram's 2,000 characters per ``Speak`` is cut at whitespace.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any

import reactivex as rx
import reactivex.operators as ops
from reactivex.subject import Subject

from .. import operators as dgo
from ..audio import AudioFormat, to_wav
from ..endpoint import add_endpoint_arguments, open_endpoint
from ._output import CommandError, Console, drain

__all__ = ["add_parser", "run", "split_text"]

MAX_SPEAK_CHARS = 2000
"""Deepgram's limit on the text of one ``Speak`` message."""


def add_parser(commands: Any) -> None:
    """Register ``speak`` on the subcommand parsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "speak",
        help="synthesize text into a WAV file with Speak V1 (or V2 for a flux-* voice)",
        description="Send TEXT to Speak V1 (an Aura voice) or Speak V2 (a Flux voice, "
        "--model flux-...) and write the audio to a WAV file (linear16).",
    )
    parser.add_argument("text", metavar="TEXT", help="what to say ('-': read standard input)")
    parser.add_argument(
        "-o", "--output", required=True, metavar="FILE.wav", help="the WAV file to write"
    )
    parser.add_argument(
        "--model",
        default="aura-2-thalia-en",
        help="voice: aura-... (Speak V1) or flux-... (Speak V2) (default: aura-2-thalia-en)",
    )
    parser.add_argument(
        "--sample-rate",
        type=int,
        default=24000,
        metavar="HZ",
        help="sample rate: 8000, 16000, 24000, 32000 or 48000 (default: 24000)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    add_endpoint_arguments(parser)
    parser.set_defaults(run=run)


def split_text(text: str, limit: int = MAX_SPEAK_CHARS) -> list[str]:
    """``text`` in pieces of at most ``limit`` characters, cut after whitespace where there is
    some (never inside a word unless a word is longer than ``limit``); nothing is lost:
    ``"".join(split_text(t)) == t``."""
    pieces: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind(" ", 0, limit), text.rfind("\n", 0, limit)) + 1
        if cut <= 0:
            cut = limit
        pieces.append(text[:cut])
        text = text[cut:]
    if text:
        pieces.append(text)
    return pieces


def run(args: argparse.Namespace) -> int:
    """Write the audio of ``args.text`` to ``args.output``."""
    console = Console(json_mode=args.json, min_interval=0.1)
    text: str = sys.stdin.read() if args.text == "-" else args.text
    if not text.strip():
        raise CommandError("nothing to say: TEXT is empty", status=2)
    fmt = AudioFormat("linear16", args.sample_rate)
    written = 0
    first_byte: list[float] = []

    def count(chunk: bytes) -> None:
        nonlocal written
        written += len(chunk)
        console.live(f"received {fmt.duration(written):.1f} s of audio")

    with open_endpoint(args) as endpoint:
        # Built (and its options validated) before the file is created.
        # The connection closes once all the audio is sent: a long text may take a while.
        client = endpoint.client(close_timeout=30.0 + len(text) / 50)
        flux = args.model.startswith("flux-")
        channel = client.speak.v2 if flux else client.speak.v1
        synthesize = channel.synthesize(model=args.model, **fmt.options())
        sent: Subject[str] = Subject()

        def audio_and_ttfb(messages: rx.Observable[Any]) -> rx.Observable[bytes]:
            ttfb = messages.pipe(
                dgo.time_to_first_byte(since=sent),
                ops.do_action(first_byte.append),
                ops.ignore_elements(),
            )
            return rx.merge(ttfb, messages.pipe(dgo.audio()))

        audio = rx.from_iterable(split_text(text)).pipe(
            ops.do_action(sent.on_next), synthesize, ops.publish(audio_and_ttfb)
        )
        sink = to_wav(args.output, fmt)
        try:
            drain(audio.pipe(ops.do_action(count), ops.do(sink)))
            if not written:
                raise CommandError(f"{channel.spec.name} returned no audio")
        except BaseException:
            sink.close()
            with contextlib.suppress(OSError):
                os.unlink(args.output)
            raise
    console.end_live()
    seconds = fmt.duration(written)
    ttfb_ms = round(first_byte[0] * 1000, 1) if first_byte else None
    if args.json:
        console.emit_json(
            {
                "output": str(args.output),
                "seconds": round(seconds, 3),
                "bytes": written,
                "encoding": fmt.encoding,
                "sample_rate": fmt.sample_rate,
                "model": args.model,
                "first_byte_ms": ttfb_ms,
            }
        )
    else:
        after = f"; first audio after {ttfb_ms:.0f} ms" if ttfb_ms is not None else ""
        console.line(f"wrote {args.output}: {seconds:.2f} s, {written:,} bytes of {fmt}{after}")
    return 0
