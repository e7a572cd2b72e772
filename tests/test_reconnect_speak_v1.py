"""Speak V1 resumable connections through the fault-injecting proxy, both clients: a drop
between ``Speak`` and ``Flushed`` must cost no audio and repeat none."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import reactivex
from faultproxy import FaultProxy
from harness import Recorder
from test_reconnect_listen_v1 import FAST, cut, wait_reconnects, when_open

from rxdeepgram.messages import speak_v1 as m
from rxdeepgram.server import DeepgramServer

SENTENCES = [
    "The first sentence is here.",
    "A second one follows it, a little longer than the first.",
    "And the third closes the stream.",
]


@pytest.fixture(scope="module")
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer() as srv:  # the deterministic "tone" TTS engine
        yield srv


@pytest.fixture
def proxy(server: DeepgramServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", server.port) as px:
        yield px


class Audio(Recorder):
    """Records messages; sets ``some_audio`` at the first audio frame and ``mid_sentence`` at
    the first one after a ``Flushed``."""

    def __init__(self) -> None:
        super().__init__()
        self.flushed = 0
        self.mid_sentence = threading.Event()
        self.some_audio = threading.Event()

    def on_next(self, item: Any) -> None:
        super().on_next(item)
        if isinstance(item, m.Flushed):
            self.flushed += 1
        elif isinstance(item, bytes):
            self.some_audio.set()
            if self.flushed == 1:
                self.mid_sentence.set()


def speak(h: Any, url: str, fault: Any = None) -> tuple[Any, Audio]:
    client = h.client(base_url=url)
    rec = Audio()
    with h.connect(client, "speak.v1", reconnect=FAST, model="aura-2-thalia-en") as conn:
        conn.messages.subscribe(rec)
        for sentence in SENTENCES:
            conn.input.on_next(sentence)
            conn.input.on_next(m.Flush())
        if fault is not None:
            fault(conn, rec)
    rec.wait(20)
    return conn, rec


def audio_of(rec: Recorder) -> bytes:
    return b"".join(x for x in rec.items if isinstance(x, bytes))


@pytest.mark.parametrize("drops", [1, 3])
def test_a_drop_between_speak_and_flushed_costs_and_repeats_no_audio(
    h: Any, server: DeepgramServer, proxy: FaultProxy, drops: int
) -> None:
    _, clean = speak(h, server.url)
    assert clean.completed and clean.error is None
    proxy.delay_s = 0.002  # audio trickles in, so the cuts land mid-stream

    def fault(conn: Any, rec: Audio) -> None:
        assert rec.mid_sentence.wait(10)  # in the middle of the second sentence's audio
        drop = when_open(conn, cut(proxy))
        for _ in range(drops):
            drop()

    conn, rec = speak(h, proxy.url, fault)
    assert rec.completed and rec.error is None
    assert conn.stats.reconnects == drops
    assert conn.stats.replayed_messages >= 2  # at least the second sentence and its Flush
    assert audio_of(rec) == audio_of(clean)  # every sentence's audio, exactly once
    flushed = [x.sequence_id for x in rec.items if isinstance(x, m.Flushed)]
    assert flushed == [x.sequence_id for x in clean.items if isinstance(x, m.Flushed)]
    assert flushed[:3] == [0, 1, 2]
    assert [type(x).__name__ for x in rec.items].count("Metadata") == 1


def test_clear_is_acknowledged_once_across_a_drop(h: Any, proxy: FaultProxy) -> None:
    client = h.client(base_url=proxy.url)
    rec = Recorder()
    conn = h.open(client, "speak.v1", reconnect=FAST, model="aura-2-thalia-en")
    conn.messages.subscribe(rec)
    wait_reconnects(conn, 0)
    proxy.mute()  # the answers are lost: the cut comes before any of them
    conn.input.on_next("This text is cleared before it is spoken")
    conn.input.on_next(m.Flush())
    conn.input.on_next(m.Clear())
    cut(proxy)()
    conn.input.on_next("Then this.")
    conn.input.on_next(m.Flush())
    h.close(conn)
    rec.wait(10)
    assert rec.completed and rec.error is None
    kinds = [type(x).__name__ for x in rec.items if not isinstance(x, bytes)]
    assert kinds.count("Cleared") == 1
    flushed = [x.sequence_id for x in rec.items if isinstance(x, m.Flushed)]
    assert flushed[:2] == [0, 1]
    assert conn.stats.reconnects == 1
    # the path was taken: the text, Flush and Clear were unanswered, so sent again (what was
    # sent during the reconnect, if anything, counts too)
    assert conn.stats.replayed_messages >= 3


def test_the_cold_operator_resumes(h: Any, server: DeepgramServer, proxy: FaultProxy) -> None:
    def synthesize(url: str, fault: Any = None) -> Audio:
        client = h.client(base_url=url)
        rec = Audio()
        pipeline = reactivex.from_iterable(SENTENCES).pipe(
            client.speak.v1.synthesize(reconnect=FAST, model="aura-2-thalia-en")
        )
        if h.kind == "async":
            h.run(_subscribe(pipeline, rec))
        else:
            pipeline.subscribe(rec)
        if fault is not None:
            assert rec.some_audio.wait(10)
            fault()
        rec.wait(20)
        return rec

    clean = synthesize(server.url)
    proxy.delay_s = 0.002
    rec = synthesize(proxy.url, cut(proxy))
    assert rec.completed and rec.error is None
    assert audio_of(rec) == audio_of(clean)
    assert proxy.connections >= 2


async def _subscribe(pipeline: Any, observer: Any) -> None:
    pipeline.subscribe(observer)
