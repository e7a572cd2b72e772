"""Text -> Speak V1 -> audio -> Listen V1 -> text, all on the local server, through rxdeepgram.

* ``tone`` TTS -> ``scripted`` STT (always runs, sync and async clients): the tone engine's
  sentences are speech segments to the Listen channel's detector, so each sentence comes back
  as one final result holding the next line of the script.
* ``local`` TTS (espeak-ng) -> ``local`` STT (pocketsphinx), with the cold operator forms
  (``text.pipe(client.speak.v1.synthesize(...))``, ``audio.pipe(client.listen.v1.transcribe(
  ...))``): real speech, recognised for real. The word error rate over the sentences must stay
  at or under 25 %; measured 0-11 % (espeak's output varies a little from call to call).
  Skipped when pocketsphinx or espeakng-loader is missing.

The sentences are plain US-English ones that pocketsphinx's bundled model recognises from
espeak's default voice (``en-us+f2``; see :mod:`rxdeepgram.server.engines.espeak` for how
that voice was chosen); Speak audio is asked for at 16 kHz, the recogniser's rate. The figure
on everyday text is ``tests/test_local_roundtrip.py``'s and ``docs/accuracy.md``'s.
"""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest
import reactivex
from harness import Recorder
from reactivex import operators as ops

from rxdeepgram import DeepgramClient
from rxdeepgram._wer import word_error_rate
from rxdeepgram.messages import listen_v1
from rxdeepgram.server import DeepgramServer, ScriptedEngine

pytestmark = pytest.mark.timeout(240)  # bounds a stuck run only (pocketsphinx on a busy machine)

SPEAK: dict[str, Any] = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 16000}
LISTEN: dict[str, Any] = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
TAIL = bytes(16000)  # 0.5 s of silence after the speech, so the last segment ends by itself

SENTENCES = (
    "Please check my order status.",
    "I need to change my password.",
    "What is the weather like in New York?",
    "I want to cancel my subscription.",
    "Where is the nearest hospital?",
    "The train leaves at seven thirty.",
)
MAX_WER = 0.25


def chunks(audio: bytes, size: int = 3200) -> list[bytes]:
    return [audio[i : i + size] for i in range(0, len(audio), size)]


def final_transcripts(messages: list[Any]) -> list[str]:
    return [
        m.channel.alternatives[0].transcript
        for m in messages
        if isinstance(m, listen_v1.Results) and m.is_final and m.channel.alternatives[0].transcript
    ]


# --- tone -> scripted -------------------------------------------------------------------------


def test_tone_speech_is_segmented_by_sentence(h: Any) -> None:
    script = ["hello there", "how are you today", "goodbye"]
    with DeepgramServer(engine=ScriptedEngine(script, cycle=False), tts="tone") as srv:
        client = h.client(base_url=srv.url)
        spoken = Recorder()
        with h.connect(client, "speak.v1", **SPEAK) as speak:
            speak.messages.subscribe(spoken)
            speak.input.on_next("Hello there. How are you today? ")
            speak.input.on_next("Goodbye.")
        spoken.wait()
        assert spoken.completed
        audio = b"".join(item for item in spoken.items if type(item) is bytes)
        heard = Recorder()
        with h.connect(client, "listen.v1", punctuate=True, **LISTEN) as listen:
            listen.messages.subscribe(heard)
            for chunk in chunks(audio + TAIL):
                listen.input.on_next(chunk)
        heard.wait()
    assert heard.completed and heard.error is None
    assert final_transcripts(heard.items) == ["Hello there.", "How are you today.", "Goodbye."]
    speech_final = [m for m in heard.items if isinstance(m, listen_v1.Results) and m.speech_final]
    assert len(speech_final) == 3  # each sentence ended with its own pause


# --- espeak-ng -> pocketsphinx ------------------------------------------------------------------


def _available(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


@pytest.mark.skipif(
    not (_available("pocketsphinx") and _available("espeakng_loader")),
    reason="the local engines need pocketsphinx and espeakng-loader (rxdeepgram[local])",
)
def test_local_speech_round_trip_word_error_rate() -> None:
    with DeepgramServer(engine="local", tts="local") as srv:
        # The speech is sent faster than real time: pocketsphinx works through most of it after
        # the CloseStream, which took over 10 s on a loaded machine. The test checks what is
        # heard, not how fast: a generous close_timeout.
        client = DeepgramClient(base_url=srv.url, close_timeout=120.0)
        spoken = (
            reactivex.from_iterable([s + " " for s in SENTENCES])
            .pipe(client.speak.v1.synthesize(**SPEAK), ops.to_list())
            .run()
        )
        audio = b"".join(item for item in spoken if type(item) is bytes)
        assert len(audio) / 32000 > 2.0 * len(SENTENCES) * 0.8  # about 2 s per sentence
        heard = (
            reactivex.from_iterable(chunks(audio + TAIL))
            .pipe(client.listen.v1.transcribe(**LISTEN), ops.to_list())
            .run()
        )
    transcripts = final_transcripts(heard)
    hypothesis = " ".join(transcripts)
    reference = " ".join(SENTENCES)
    rate = word_error_rate(reference, hypothesis)
    print(f"round trip WER {rate:.1%}: {transcripts}")
    assert rate <= MAX_WER, (rate, transcripts)
    assert len(transcripts) >= len(SENTENCES) - 1  # sentences come back as their own results
