"""``rxdeepgram transcribe FILE``: a WAV file through Listen V1, final transcripts printed.

The file is sent as fast as the connection takes it (``--realtime``: at real time, as a live
source would be), with ``audio.pipe(client.listen.v1.transcribe(...))``. One line per final
transcript; ``--json`` gives one JSON object per result instead. On a terminal a live line shows
how far the transcription has got (and the interim transcript with ``--interim``).
"""

from __future__ import annotations

import argparse
from typing import Any

import reactivex.operators as ops

from ..audio import from_wav
from ..endpoint import add_endpoint_arguments, open_endpoint
from ..messages import listen_v1
from ._output import Console, drain

__all__ = ["add_parser", "run"]


def add_parser(commands: Any) -> None:
    """Register ``transcribe`` on the subcommand parsers."""
    parser: argparse.ArgumentParser = commands.add_parser(
        "transcribe",
        help="transcribe a WAV file with Listen V1",
        description=(
            "Stream a WAV file through Listen V1 and print its final transcripts, one per line."
        ),
    )
    parser.add_argument("file", help="a WAV file (16-bit PCM, float or G.711; any rate)")
    parser.add_argument("--model", default="nova-3", help="model (default: nova-3)")
    parser.add_argument("--language", default=None, help="language code, e.g. en-US")
    parser.add_argument(
        "--interim",
        action="store_true",
        help="ask for interim results too (shown live on a terminal, '~ ' lines otherwise)",
    )
    parser.add_argument(
        "--realtime",
        action="store_true",
        help="send at real time, as a live source would (default: as fast as possible)",
    )
    parser.add_argument(
        "--json", action="store_true", help="one JSON object per result, one per line"
    )
    add_endpoint_arguments(parser)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    """Transcribe ``args.file``; 0 when the stream ended normally."""
    console = Console(json_mode=args.json, min_interval=0.1)
    source = from_wav(args.file, chunk_ms=20 if args.realtime else 100, realtime=args.realtime)
    fmt = source.format
    total = source.duration or 0.0
    options: dict[str, Any] = {"model": args.model, "interim_results": args.interim}
    if args.language:
        options["language"] = args.language
    multichannel = fmt.channels > 1
    reached = 0.0  # seconds of audio transcribed so far

    def show(message: object) -> None:
        nonlocal reached
        if not isinstance(message, listen_v1.Results):
            return
        reached = max(reached, message.start + message.duration)
        best = message.channel.alternatives[0] if message.channel.alternatives else None
        text = best.transcript.strip() if best is not None else ""
        final = bool(message.is_final)
        channel = message.channel_index[0] if message.channel_index else 0
        if args.json:
            if best is not None and text and (final or args.interim):
                console.emit_json(_result_json(message, best, channel))
            console.live(_progress(reached, total))
            return
        prefix = f"[{channel}] " if multichannel else ""
        if text and final:
            console.line(prefix + text)
        elif text and args.interim:
            if console.interactive:
                console.live(f"{_progress(reached, total)}  ~ {prefix}{text}")
                return
            console.line(f"~ {prefix}{text}")
        console.live(_progress(reached, total))

    with open_endpoint(args) as endpoint:
        client = endpoint.client()
        transcribe = client.listen.v1.transcribe(**options, **fmt.options())
        console.live(_progress(0.0, total), force=True)
        drain(source.pipe(transcribe, ops.do_action(show)))
    console.end_live()
    return 0


def _progress(reached: float, total: float) -> str:
    if total <= 0:
        return f"[{reached:.1f} s]"
    return f"[{min(reached, total):.1f} / {total:.1f} s]"


def _result_json(
    message: listen_v1.Results, best: listen_v1.Alternative, channel: int
) -> dict[str, Any]:
    return {
        "is_final": bool(message.is_final),
        "speech_final": bool(message.speech_final),
        "channel": channel,
        "start": round(message.start, 3),
        "end": round(message.start + message.duration, 3),
        "transcript": best.transcript,
        "confidence": round(best.confidence, 4),
        "words": [
            {
                "word": w.punctuated_word or w.word,
                "start": round(w.start, 3),
                "end": round(w.end, 3),
                "confidence": round(w.confidence, 4),
            }
            for w in best.words
        ],
    }
