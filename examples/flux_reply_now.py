"""Flux (Listen V2) turns driving a "reply now" signal.

A voice agent should answer when the user's turn is over, not at every pause. Flux says so
with ``EndOfTurn``; with ``--eager`` it also says ``EagerEndOfTurn`` early (start preparing a
reply) and ``TurnResumed`` when the user goes on (drop it)::

    python examples/flux_reply_now.py --local --wav tests/data/flight.wav
    python examples/flux_reply_now.py --local --wav tests/data/flight.wav --eager

Without ``--wav`` it listens to the microphone (the mic extra). Without ``--local`` or
``--url`` it talks to Deepgram (DEEPGRAM_API_KEY).
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import reactivex as rx
import reactivex.operators as ops

from rxdeepgram import DeepgramError
from rxdeepgram import operators as dgo
from rxdeepgram.audio import AudioFormat, from_bytes, from_microphone, from_wav
from rxdeepgram.endpoint import add_endpoint_arguments, open_endpoint
from rxdeepgram.operators import Turn

SIGNALS = {
    "started": "user speaking   -> stop talking",
    "eager": "probably done   -> prepare a reply",
    "resumed": "user went on    -> drop that reply",
    "ended": "turn over       -> REPLY NOW",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wav", metavar="FILE", help="play this WAV file instead of the microphone"
    )
    parser.add_argument("--eager", action="store_true", help="ask for EagerEndOfTurn")
    add_endpoint_arguments(parser)
    args = parser.parse_args()
    options: dict[str, Any] = {"model": "flux-general-en", "eot_timeout_ms": 1500}
    if args.eager:
        options["eager_eot_threshold"] = 0.5
    started = time.monotonic()

    def show(turn: Turn) -> None:
        said = f": {turn.transcript!r}" if turn.transcript else ""
        said += f" ({turn.trigger})" if turn.trigger else ""
        print(f"{time.monotonic() - started:5.2f}s  turn {turn.index} {SIGNALS[turn.state]}{said}")

    try:
        if args.wav:  # the file at real time, then silence, as a microphone left open would
            wav = from_wav(args.wav)
            silence = from_bytes(bytes(wav.format.bytes_for(2500)), wav.format)
            fmt, mic = wav.format, rx.concat(wav, silence)
        else:
            fmt = AudioFormat("linear16", 16000)
            mic = from_microphone(fmt)
        with open_endpoint(args) as endpoint:
            client = endpoint.client()
            replies = mic.pipe(
                client.listen.v2.transcribe(**options, **fmt.options()),
                dgo.turns(),
                ops.do_action(show),
                ops.filter(lambda turn: turn.final),  # the "reply now" signal
                ops.count(),
            ).run()
    except (DeepgramError, ImportError, OSError) as error:
        print(f"flux_reply_now: {error}", file=sys.stderr)
        return 2
    print(f"{replies} reply signal(s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
