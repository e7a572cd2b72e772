"""A WAV file through Listen V1, with filter and map on the transcript stream.

Prints each final transcript with its time span, keeps only those above a confidence, and
spots keywords::

    python examples/wav_transcripts.py tests/data/two_sentences.wav --local --keyword password

Without ``--local`` or ``--url`` it talks to Deepgram (DEEPGRAM_API_KEY).
"""

from __future__ import annotations

import argparse
import sys

import reactivex.operators as ops

from rxdeepgram import DeepgramError
from rxdeepgram.audio import from_wav
from rxdeepgram.endpoint import add_endpoint_arguments, open_endpoint
from rxdeepgram.messages import listen_v1


def is_final_result(message: object) -> bool:
    return isinstance(message, listen_v1.Results) and bool(message.is_final)


def to_line(result: listen_v1.Results) -> tuple[str, float]:
    best = result.channel.alternatives[0]
    end = result.start + result.duration
    return f"[{result.start:6.2f}s - {end:6.2f}s] {best.transcript}", best.confidence


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("wav", help="a WAV file")
    parser.add_argument("--keyword", action="append", default=[], help="words to spot")
    parser.add_argument("--min-confidence", type=float, default=0.5, metavar="C")
    add_endpoint_arguments(parser)
    args = parser.parse_args()
    keywords = {k.lower() for k in args.keyword}

    def spot(line: str) -> str:
        found = sorted(word for word in keywords if word in line.lower())
        return f"   <- {', '.join(found)}" if found else ""

    try:
        source = from_wav(args.wav, realtime=False)  # a file: send as fast as it is accepted
        with open_endpoint(args) as endpoint:
            # A file goes faster than real time: the server may still be transcribing most of
            # it after the CloseStream (a slow or busy one for longer than the default 10 s).
            client = endpoint.client(close_timeout=60.0)
            lines = source.pipe(
                client.listen.v1.transcribe(
                    model="nova-3", smart_format=True, **source.format.options()
                ),
                ops.filter(is_final_result),
                ops.filter(lambda r: bool(r.channel.alternatives[0].transcript)),
                ops.map(to_line),
                ops.filter(lambda line: line[1] >= args.min_confidence),
                ops.map(lambda line: line[0] + spot(line[0])),
                ops.do_action(print),  # as each one arrives
                ops.count(),
            ).run()
    except (DeepgramError, OSError, ValueError) as error:
        print(f"wav_transcripts: {error}", file=sys.stderr)
        return 2
    print(f"{lines} transcript(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
