"""Flux TTS (Speak V2) cut off by the user: barge-in with Flux STT and ``Interrupt``.

The agent speaks a long reply through Speak V2 into a player that plays in real time. Meanwhile
the user (a WAV file, at real time, or the microphone) is heard by Flux (Listen V2); the moment
Flux says a turn started, ``interrupt_on_barge_in()`` sends Speak V2 an ``Interrupt`` carrying
how much the player has played, and the server answers with what the user heard and what they
did not, ready for the LLM's context::

    python examples/flux_tts_barge_in.py --local --wav tests/data/two_sentences.wav

Without ``--wav`` it listens to the microphone (the mic extra). Without ``--local`` or
``--url`` it talks to Deepgram (DEEPGRAM_API_KEY).
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import reactivex as rx
import reactivex.operators as ops

from rxdeepgram import DeepgramError
from rxdeepgram import operators as dgo
from rxdeepgram.audio import AudioFormat, from_bytes, from_microphone, from_wav
from rxdeepgram.endpoint import add_endpoint_arguments, open_endpoint
from rxdeepgram.messages import speak_v2 as tts

REPLY = (
    "Thanks for calling. Your order left our warehouse this morning, and it should arrive on "
    "Friday. While I have you, let me tell you about our loyalty program, which gives you "
    "free shipping on every order and early access to our seasonal sales. Members also get a "
    "birthday discount, a dedicated phone line with shorter waiting times, and invitations to "
    "our product previews. Joining takes a minute and there is no fee in the first year."
)
# Long on purpose: its synthesis (faster than real time) must still be under way when the user
# starts talking a second or so in, or there is nothing left to interrupt (NO_ACTIVE_SPEECH).
VOICE = AudioFormat("linear16", 24000)


class Player:
    """Plays what it is given at real time (here, silently): ``played_ms()`` is how much of
    the session's audio has been heard so far, what ``Interrupt`` needs."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._received_ms = 0.0
        self._start: float | None = None
        self._stopped_at: float | None = None

    def play(self, frame: bytes) -> None:
        with self._lock:
            if self._start is None:
                self._start = time.monotonic()
            self._received_ms += VOICE.duration(len(frame)) * 1000

    def played_ms(self) -> float:
        with self._lock:
            return self._stopped_at if self._stopped_at is not None else self._position()

    def stop(self) -> None:
        """Barge-in: stop at once; what was not played yet is dropped."""
        with self._lock:
            if self._stopped_at is None:
                self._stopped_at = self._position()

    def _position(self) -> float:
        if self._start is None:
            return 0.0
        return min(self._received_ms, (time.monotonic() - self._start) * 1000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--wav", metavar="FILE", help="the user: this WAV file, not the mic")
    add_endpoint_arguments(parser)
    args = parser.parse_args()
    started = time.monotonic()
    player = Player()
    done = threading.Event()
    speaking = threading.Event()  # the agent's first audio reached the player

    def say(text: str) -> None:
        print(f"{time.monotonic() - started:5.2f}s  {text}")

    def on_tts(message: object) -> None:
        if isinstance(message, bytes):
            player.play(message)
            speaking.set()
        elif isinstance(message, tts.SpeechStarted):
            say(f"agent: speaking ({message.speech_id})")
        elif isinstance(message, tts.SpeechInterrupted):
            say(f"agent: interrupted after {message.audio_played_ms} ms")
            say(f"  heard:     {message.text_spoken!r}")
            say(f"  not heard: {message.text_remaining!r}")
        elif isinstance(message, tts.SpeechMetadata):
            say("agent: finished without being interrupted")

    def on_turn(turn: dgo.Turn) -> None:
        if done.is_set():
            return  # only the first turn matters here
        if turn.state == "started":
            player.stop()  # stop the audio now; the Interrupt reconciles the text
            say("user: starts talking")
        elif turn.final:
            say(f"user: {turn.transcript!r}")
            done.set()

    try:
        if args.wav:  # a second after the agent is heard the user starts (the file at real
            # time), then silence
            wav = from_wav(args.wav)
            fmt = wav.format
            lead = from_bytes(bytes(fmt.bytes_for(1000)), fmt)
            tail = from_bytes(bytes(fmt.bytes_for(2500)), fmt)
            mic = rx.concat(lead, wav, tail)
        else:
            fmt = AudioFormat("linear16", 16000)
            mic = from_microphone(fmt)
        with open_endpoint(args) as endpoint:
            client = endpoint.client()
            with client.speak.v2.connect(model="flux-haley-en", **VOICE.options()) as agent:
                agent.messages.subscribe(on_tts)
                agent.input.on_next(REPLY)
                agent.input.on_next(tts.Flush())
                if args.wav:  # the file's user talks over the agent: once it is heard
                    speaking.wait(60)
                with client.listen.v2.connect(
                    model="flux-general-en", eot_timeout_ms=1500, **fmt.options()
                ) as user:
                    user.messages.pipe(dgo.turns()).subscribe(on_turn)
                    user.messages.pipe(dgo.interrupt_on_barge_in(player.played_ms)).subscribe(
                        on_next=agent.input.on_next
                    )
                    # the user's audio until their turn is over (then CloseStream)
                    mic.pipe(ops.take_while(lambda _: not done.is_set())).subscribe(user.input)
                    done.wait(60)
    except (DeepgramError, ImportError, OSError) as error:
        print(f"flux_tts_barge_in: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
