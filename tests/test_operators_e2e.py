"""The operators on a real connection: sync client, local server, scripted engine."""

from __future__ import annotations

import threading
from typing import Any

from audio_util import chunks, concat, pcm16, silence, tone

from rxdeepgram import DeepgramClient
from rxdeepgram import operators as dgo
from rxdeepgram.server import DeepgramServer, ScriptedEngine

RAW = {"encoding": "linear16", "sample_rate": 16000}
SPEECH = pcm16(concat(tone(0.8), silence(0.6), tone(0.8), silence(1.2)))


class Collect:
    def __init__(self) -> None:
        self.items: list[Any] = []
        self.done = threading.Event()
        self.error: Exception | None = None

    def on_next(self, value: Any) -> None:
        self.items.append(value)

    def on_error(self, error: Exception) -> None:
        self.error = error
        self.done.set()

    def on_completed(self) -> None:
        self.done.set()


def test_utterances_transcripts_and_latency_from_the_local_server() -> None:
    with DeepgramServer(engine=ScriptedEngine(["hello world", "how are you"])) as server:
        client = DeepgramClient(api_key="unused", base_url=server.url)
        utterances, finals, ttfb = Collect(), Collect(), Collect()
        with client.listen.v1.connect(
            model="nova-3", interim_results=True, utterance_end_ms=1000, punctuate=True, **RAW
        ) as conn:
            conn.messages.pipe(dgo.utterances()).subscribe(
                utterances.on_next, utterances.on_error, utterances.on_completed
            )
            conn.messages.pipe(dgo.final_transcripts()).subscribe(
                finals.on_next, finals.on_error, finals.on_completed
            )
            conn.messages.pipe(dgo.time_to_first_byte()).subscribe(
                ttfb.on_next, ttfb.on_error, ttfb.on_completed
            )
            for chunk in chunks(SPEECH, 3200):
                conn.input.on_next(chunk)
        for collected in (utterances, finals, ttfb):
            assert collected.done.wait(10) and collected.error is None
    assert finals.items == ["Hello world.", "How are you."]
    assert [(u.text, u.ended_by) for u in utterances.items] == [
        ("Hello world.", "speech_final"),
        ("How are you.", "speech_final"),
    ]
    first, second = utterances.items
    assert 0.0 <= first.start < first.end <= second.start < second.end <= len(SPEECH) / 32000
    assert len(ttfb.items) == 1 and 0.0 < ttfb.items[0] < 10.0
