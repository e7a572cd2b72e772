"""An LLM-like token stream -> sentences -> Speak V1 -> a WAV file.

The tokens arrive a few at a time, as from a chat model; ``sentences()`` cuts them into
sentence-sized ``Speak`` messages, each followed by a ``Flush`` (never more than Deepgram's
Flush rate limit allows), so the first sentence is spoken while the rest is still being
"generated"::

    python examples/llm_to_speech.py --local -o reply.wav

Without ``--local`` or ``--url`` it talks to Deepgram (DEEPGRAM_API_KEY).
"""

from __future__ import annotations

import argparse
import re
import sys
import time

import reactivex as rx
import reactivex.operators as ops

from rxdeepgram import DeepgramError
from rxdeepgram import operators as dgo
from rxdeepgram.audio import AudioFormat, to_wav
from rxdeepgram.endpoint import add_endpoint_arguments, open_endpoint
from rxdeepgram.messages import speak_v1

REPLY = (
    "Thanks for calling. Your order left our warehouse this morning. "
    "It should arrive on Friday. Is there anything else I can help with?"
)


def fake_llm(text: str, gap: float) -> rx.Observable[str]:
    """``text`` as a stream of word-sized tokens, ``gap`` seconds apart."""
    tokens = re.findall(r"\s*\S+", text)
    return rx.interval(gap).pipe(ops.take(len(tokens)), ops.map(lambda i: tokens[i]))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-o", "--output", default="reply.wav", help="WAV file (reply.wav)")
    parser.add_argument("--gap", type=float, default=0.03, help="seconds between tokens")
    add_endpoint_arguments(parser)
    args = parser.parse_args()
    fmt = AudioFormat("linear16", 24000)
    started = time.monotonic()

    def show(message: speak_v1.Speak | speak_v1.Flush) -> None:
        if isinstance(message, speak_v1.Speak):
            print(f"{time.monotonic() - started:5.2f}s  speak: {message.text.strip()}")

    try:
        with open_endpoint(args) as endpoint:
            client = endpoint.client()
            audio_bytes = (
                fake_llm(REPLY, args.gap)
                .pipe(
                    dgo.sentences(),
                    ops.do_action(show),
                    client.speak.v1.synthesize(model="aura-2-thalia-en", **fmt.options()),
                    dgo.audio(),
                    ops.do(to_wav(args.output, fmt)),
                    ops.map(len),
                    ops.sum(),
                )
                .run()
            )
    except (DeepgramError, OSError) as error:
        print(f"llm_to_speech: {error}", file=sys.stderr)
        return 2
    print(f"wrote {args.output}: {fmt.duration(audio_bytes):.2f} s of audio")
    return 0


if __name__ == "__main__":
    sys.exit(main())
