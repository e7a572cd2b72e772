"""Live captions: microphone -> Listen V1 -> the terminal.

Interim results overwrite the current line; each final result gets a line of its own, with
the time it was spoken::

    python examples/mic_captions.py --local            # needs the mic extra (sounddevice)
    python examples/mic_captions.py --local --wav tests/data/two_sentences.wav

``--wav FILE`` plays a WAV file at real time in place of the microphone (as CI does: it has
no sound card). Without ``--local`` or ``--url`` it talks to Deepgram (DEEPGRAM_API_KEY).
"""

from __future__ import annotations

import argparse
import sys
import threading

from rxdeepgram import DeepgramError
from rxdeepgram import operators as dgo
from rxdeepgram.audio import AudioFormat, AudioSource, from_microphone, from_wav
from rxdeepgram.endpoint import add_endpoint_arguments, open_endpoint


def captions(source: AudioSource, endpoint_args: argparse.Namespace) -> None:
    tty = sys.stdout.isatty()
    with open_endpoint(endpoint_args) as endpoint:
        client = endpoint.client()
        options = {"model": "nova-3", "interim_results": True, "smart_format": True}
        with client.listen.v1.connect(**options, **source.format.options()) as conn:
            done = threading.Event()
            if tty:  # interim results only make sense where a line can be overwritten
                conn.messages.pipe(dgo.interim_transcripts()).subscribe(
                    lambda text: print(f"\r  {text}\x1b[K", end="", flush=True)
                )
            conn.messages.pipe(dgo.utterances()).subscribe(
                lambda u: print(
                    f"\r[{u.start:6.2f}s] {u.text}\x1b[K" if tty else f"[{u.start:6.2f}s] {u.text}",
                    flush=True,
                ),
                on_completed=done.set,
                on_error=lambda error: done.set(),
            )
            # The audio goes straight into the connection's input: completion (end of the
            # file, or Ctrl-C on the microphone) sends CloseStream and the last results follow.
            subscription = source.subscribe(conn.input)
            try:
                done.wait()
            except KeyboardInterrupt:
                subscription.dispose()
                conn.input.on_completed()
                done.wait(10)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--wav", metavar="FILE", help="play this WAV file instead of the microphone"
    )
    add_endpoint_arguments(parser)
    args = parser.parse_args()
    try:
        # A WAV file plays at real time, like a microphone.
        mic = from_wav(args.wav) if args.wav else from_microphone(AudioFormat("linear16", 16000))
        captions(mic, args)
    except (DeepgramError, ImportError, OSError) as error:
        print(f"mic_captions: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
