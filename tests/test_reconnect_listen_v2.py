"""Listen V2 (Flux) resumable connections through the fault-injecting proxy, both clients.

Turns of three tone-words (``resume_util.py``: the server reads each word from the audio) with
a second of silence between turns: the stream cut ten times must give the same turns as the
uncut one, each turn started and ended exactly once, with continuing indexes and times.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any

import pytest
from faultproxy import FaultProxy
from harness import Recorder
from resume_util import WORDS, ToneWordEngine, stream, word_audio
from test_reconnect_listen_v1 import FAST, drops_at

from rxdeepgram.messages import listen_v2 as m
from rxdeepgram.server import DeepgramServer

FLUX = {
    "model": "flux-general-en",
    "encoding": "linear16",
    "sample_rate": 16000,
    "eot_timeout_ms": 1000,
}
TURNS = [[(3 * t + k) % len(WORDS) for k in range(3)] for t in range(13)]
_CLEAN: dict[str, Recorder] = {}


def turn_audio(turns: list[list[int]]) -> bytes:
    last = len(turns) - 1
    return b"".join(
        word_audio(words, gap_s=0.3, tail_s=1.0 if t < last else 0.3)
        for t, words in enumerate(turns)
    )


@pytest.fixture(scope="module")
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ToneWordEngine()) as srv:
        yield srv


@pytest.fixture
def proxy(server: DeepgramServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", server.port) as px:
        yield px


def run(h: Any, url: str, audio: bytes, faults: Any = None) -> tuple[Any, Recorder]:
    client = h.client(base_url=url)
    rec = Recorder()
    with h.connect(client, "listen.v2", reconnect=FAST, **FLUX) as conn:
        conn.messages.subscribe(rec)
        stream(conn, audio, faults=faults(conn) if faults else None)
    rec.wait(30)
    return conn, rec


def turn_infos(rec: Recorder) -> list[m.TurnInfo]:
    return [x for x in rec.items if isinstance(x, m.TurnInfo)]


def test_ten_drops_give_the_same_turns_each_once(
    h: Any, server: DeepgramServer, proxy: FaultProxy
) -> None:
    audio = turn_audio(TURNS)
    seconds = len(audio) / 32000
    assert seconds > 30
    if "clean" not in _CLEAN:  # the no-drop run, once (it is the same for every client)
        _CLEAN["clean"] = run(h, server.url, audio)[1]
    clean = _CLEAN["clean"]
    rng = random.Random(11)
    drops = sorted(rng.sample(range(5, len(audio) // 3200 - 3), 10))
    conn, rec = run(h, proxy.url, audio, lambda c: drops_at(c, proxy, drops))
    assert rec.completed and rec.error is None
    assert conn.stats.reconnects == 10

    def summary(r: Recorder) -> list[tuple[str, int, str]]:
        return [
            (x.event, x.turn_index, x.transcript)
            for x in turn_infos(r)
            if x.event in ("StartOfTurn", "EndOfTurn")
        ]

    expected = [" ".join(WORDS[i] for i in words).capitalize() for words in TURNS]
    ends = [(t, s) for e, t, s in summary(clean) if e == "EndOfTurn"]
    assert ends == list(enumerate(expected[:-1]))
    assert summary(rec) == summary(clean)  # each turn started and ended once, same words
    infos = turn_infos(rec)
    assert infos[-1].event == "Update"  # CloseStream: the last turn's final words
    assert infos[-1].transcript == expected[-1]
    assert infos[-1].turn_index == len(TURNS) - 1
    # the turn the drop cut is resumed: its indexes never go back, its times neither
    indexes = [x.turn_index for x in infos]
    assert indexes == sorted(indexes)
    window_ends = [x.audio_window_end for x in infos]
    assert window_ends == sorted(window_ends)
    for x in infos:
        if x.event == "EndOfTurn":
            times = [t for w in x.words for t in (w.start, w.end)]
            assert times == sorted(times)
            assert times[0] >= x.audio_window_start
    clean_ends = [x for x in turn_infos(clean) if x.event == "EndOfTurn"]
    resumed_ends = [x for x in infos if x.event == "EndOfTurn"]
    assert [(x.audio_window_start, x.audio_window_end) for x in resumed_ends] == [
        (x.audio_window_start, x.audio_window_end) for x in clean_ends
    ]
    last_word = infos[-1].words[-1]
    assert last_word.end is not None and abs(last_word.end - seconds) <= 0.5
    sequence = [getattr(x, "sequence_id", None) for x in rec.items]
    assert sequence == list(range(len(sequence)))  # Connected once, then one by one
    assert [type(x).__name__ for x in rec.items].count("Connected") == 1
