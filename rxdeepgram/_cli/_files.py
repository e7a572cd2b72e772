"""``rxdeepgram transcribe FILE`` and ``rxdeepgram speak TEXT -o FILE``."""

from __future__ import annotations

import argparse
import threading
from typing import Any

import reactivex.operators as ops

from .. import operators as dgo
from ..audio import AudioFormat, from_wav, to_wav
from ..endpoint import add_endpoint_arguments, open_endpoint
from ..errors import DeepgramError
from ..messages import listen_v1
from ._output import Console

__all__ = ["add_parsers"]


def add_parsers(commands: Any) -> None:
    """Register ``transcribe`` and ``speak``."""
    transcribe: argparse.ArgumentParser = commands.add_parser(
        "transcribe",
        help="transcribe a WAV file with Listen V1",
        description="Stream a WAV file through Listen V1 and print its final transcripts.",
    )
    transcribe.add_argument("file", help="a WAV file (PCM, float or G.711)")
    transcribe.add_argument("--model", default="nova-3", help="model (nova-3)")
    transcribe.add_argument("--language", default=None, help="language code, e.g. en-US")
    transcribe.add_argument(
        "--interim", action="store_true", help="also print interim results (marked '~')"
    )
    transcribe.add_argument(
        "--realtime", action="store_true", help="send at real time, as a live source would"
    )
    transcribe.add_argument(
        "--json", action="store_true", help="one JSON object per result, per line"
    )
    add_endpoint_arguments(transcribe)
    transcribe.set_defaults(run=run_transcribe)

    speak: argparse.ArgumentParser = commands.add_parser(
        "speak",
        help="synthesize text to a WAV file with Speak V1",
        description="Send TEXT to Speak V1 and write the audio to a WAV file.",
    )
    speak.add_argument("text", help="what to say")
    speak.add_argument("-o", "--output", required=True, metavar="FILE", help="WAV file to write")
    speak.add_argument("--model", default="aura-2-thalia-en", help="voice (aura-2-thalia-en)")
    speak.add_argument(
        "--sample-rate", type=int, default=24000, help="linear16 sample rate in Hz (24000)"
    )
    speak.add_argument("--json", action="store_true", help="print one JSON object")
    add_endpoint_arguments(speak)
    speak.set_defaults(run=run_speak)


def run_transcribe(args: argparse.Namespace) -> int:
    """Print the file's final transcripts (JSON lines with ``--json``)."""
    console = Console(json_mode=args.json)
    source = from_wav(args.file, realtime=args.realtime)
    fmt = source.format
    total = 0
    sent = 0

    def progress(chunk: bytes) -> None:
        nonlocal sent
        sent += len(chunk)
        console.live(f"sent {fmt.duration(sent):.1f} s / {fmt.duration(total):.1f} s")

    def on_result(message: object) -> None:
        if not isinstance(message, listen_v1.Results) or not message.channel.alternatives:
            return
        best = message.channel.alternatives[0]
        if not best.transcript:
            return
        final = bool(message.is_final)
        if args.json and (final or args.interim):
            console.emit_json(
                {
                    "is_final": final,
                    "transcript": best.transcript,
                    "confidence": best.confidence,
                    "start": round(message.start, 3),
                    "end": round(message.start + message.duration, 3),
                    "channel": message.channel_index[0] if message.channel_index else 0,
                }
            )
        elif final:
            console.line(best.transcript)
        elif args.interim:
            console.line(f"~ {best.transcript}")

    from ..audio import read_wav

    total = len(read_wav(args.file)[1])
    options: dict[str, Any] = {"model": args.model, "interim_results": bool(args.interim)}
    if args.language:
        options["language"] = args.language
    with open_endpoint(args) as endpoint:
        client = endpoint.client()
        source.pipe(
            ops.do_action(progress),
            client.listen.v1.transcribe(**options, **fmt.options()),
            ops.do_action(on_result),
        ).run()
    console.end_live()
    return 0


def run_speak(args: argparse.Namespace) -> int:
    """Write the audio of ``args.text`` to ``args.output``."""
    console = Console(json_mode=args.json)
    if not args.text.strip():
        raise DeepgramError("nothing to say: TEXT is empty")
    fmt = AudioFormat("linear16", args.sample_rate)
    written = 0
    done = threading.Event()

    def count(chunk: bytes) -> None:
        nonlocal written
        written += len(chunk)
        console.live(f"received {fmt.duration(written):.1f} s of audio")

    with open_endpoint(args) as endpoint:
        client = endpoint.client()
        import reactivex as rx

        rx.just(args.text).pipe(
            client.speak.v1.synthesize(model=args.model, **fmt.options()),
            dgo.audio(),
            ops.do_action(count),
            ops.do(to_wav(args.output, fmt)),
            ops.finally_action(done.set),
        ).run()
    console.end_live()
    seconds = fmt.duration(written)
    if args.json:
        console.emit_json(
            {"output": args.output, "bytes": written, "seconds": round(seconds, 3), **_fmt(fmt)}
        )
    else:
        console.line(f"wrote {args.output}: {seconds:.2f} s, {written:,} bytes of audio ({fmt})")
    return 0


def _fmt(fmt: AudioFormat) -> dict[str, Any]:
    return {"encoding": fmt.encoding, "sample_rate": fmt.sample_rate}
