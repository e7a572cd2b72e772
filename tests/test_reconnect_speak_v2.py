"""Speak V2 resumable connections through the fault-injecting proxy, both clients on both
transports: a drop in the middle of a turn costs no audio and repeats none; turn ids, the speed
set with ``Configure``, the session's audio clock and its totals carry on as if nothing
happened."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from faultproxy import FaultProxy
from harness import Recorder
from test_reconnect_listen_v1 import FAST, cut, when_open

from rxdeepgram.messages import speak_v2 as m
from rxdeepgram.server import DeepgramServer
from rxdeepgram.server.engines.tone import ToneTtsEngine

pytestmark = pytest.mark.timeout(60)

TURNS = [
    "The first reply is here. It has two sentences.",
    "A second reply follows it. It is a little longer than the first one was.",
    "And the third closes the session.",
]


class PacedTone(ToneTtsEngine):
    """The tone engine, taking 0.2 s per sentence: a reply's sentences arrive apart, so a cut
    after the first audio of a reply lands in the middle of that reply."""

    blocking = True

    def synthesize(self, text: str, sample_rate: int, speed: float = 1.0) -> bytes:
        time.sleep(0.2)
        return super().synthesize(text, sample_rate, speed)


@pytest.fixture(scope="module")
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(tts=PacedTone()) as srv:  # deterministic audio
        yield srv


@pytest.fixture
def proxy(server: DeepgramServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", server.port) as px:
        yield px


class Turns(Recorder):
    """Records messages; ``in_second_turn`` is set at the first audio frame after the first
    turn's ``SpeechMetadata``."""

    def __init__(self) -> None:
        super().__init__()
        self.finished = 0
        self.in_second_turn = threading.Event()

    def on_next(self, item: Any) -> None:
        super().on_next(item)
        if isinstance(item, m.SpeechMetadata):
            self.finished += 1
        elif isinstance(item, bytes) and self.finished == 1:
            self.in_second_turn.set()


def audio_of(rec: Recorder) -> bytes:
    return b"".join(x for x in rec.items if isinstance(x, bytes))


def of(rec: Recorder, cls: type) -> list[Any]:
    return [x for x in rec.items if type(x) is cls]


def session(
    h: Any,
    url: str,
    fault: Callable[[Any, Turns], None] | None = None,
    configure: float | None = None,
) -> tuple[Any, Turns]:
    client = h.client(base_url=url)
    rec = Turns()
    with h.connect(client, "speak.v2", reconnect=FAST, model="flux-haley-en") as conn:
        conn.messages.subscribe(rec)
        if configure is not None:
            conn.input.on_next(m.Configure(speed=configure))
        for text in TURNS:
            conn.input.on_next(text)
            conn.input.on_next(m.Flush())
        if fault is not None:
            fault(conn, rec)
    rec.wait(30)
    return conn, rec


def drops(proxy: FaultProxy, n: int) -> Callable[[Any, Turns], None]:
    def fault(conn: Any, rec: Turns) -> None:
        assert rec.in_second_turn.wait(10)  # in the middle of the second reply's audio
        drop = when_open(conn, cut(proxy))
        for _ in range(n):
            drop()

    return fault


@pytest.mark.parametrize("n", [1, 3])
def test_a_drop_mid_turn_costs_and_repeats_no_audio(
    h: Any, server: DeepgramServer, proxy: FaultProxy, n: int
) -> None:
    _, clean = session(h, server.url, configure=1.2)
    assert clean.completed and clean.error is None
    proxy.delay_s = 0.002  # and audio trickles in
    conn, rec = session(h, proxy.url, drops(proxy, n), configure=1.2)
    assert rec.completed and rec.error is None
    assert conn.stats.reconnects == n
    assert conn.stats.replayed_messages >= 3  # at least the Configure, the reply and its Flush
    assert audio_of(rec) == audio_of(clean)  # every reply's audio, once, at speed 1.2
    # One Connected, one answer to the Configure, and per turn one SpeechStarted, one Flushed
    # and one SpeechMetadata, all with the same speech_id.
    assert len(of(rec, m.Connected)) == 1
    assert [x.applied.speed for x in of(rec, m.ConfigureSuccess)] == [1.2]
    started = [x.speech_id for x in of(rec, m.SpeechStarted)]
    assert len(started) == len(set(started)) == 3
    assert [x.speech_id for x in of(rec, m.Flushed)] == started
    assert [x.speech_id for x in of(rec, m.SpeechMetadata)] == started
    assert [x.audio_duration_ms for x in of(rec, m.SpeechMetadata)] == [
        x.audio_duration_ms for x in of(clean, m.SpeechMetadata)
    ]
    (total,) = of(rec, m.SessionMetadata)
    (expected,) = of(clean, m.SessionMetadata)
    assert total.total_input_character_count == expected.total_input_character_count
    assert total.total_billable_character_count == expected.total_billable_character_count
    # The server counts whole milliseconds per turn: the turns finished before a drop add
    # their rounded durations, so the total may differ by up to half a millisecond per turn.
    assert abs(total.total_audio_duration_ms - expected.total_audio_duration_ms) <= 1
    assert type(rec.items[-1]) is m.SessionMetadata


def received_ms(rec: Turns, turn: int) -> float:
    """Milliseconds of audio of turn ``turn`` (0-based) received (linear16, 24 kHz)."""
    finished = 0
    size = 0
    for item in list(rec.items):
        if isinstance(item, m.SpeechMetadata):
            finished += 1
        elif isinstance(item, bytes) and finished == turn:
            size += len(item)
    return size / 48


def wait_until(done: Callable[[], bool]) -> None:
    pause = threading.Event()
    for _ in range(2000):
        if done():
            return
        pause.wait(0.005)
    raise AssertionError("condition not met in 10 s")


def test_an_interrupt_after_a_drop_keeps_the_session_clock(
    h: Any, server: DeepgramServer, proxy: FaultProxy
) -> None:
    def run(url: str, drop: bool) -> Turns:
        client = h.client(base_url=url)
        rec = Turns()
        with h.connect(client, "speak.v2", reconnect=FAST, model="flux-haley-en") as conn:
            conn.messages.subscribe(rec)
            conn.input.on_next(TURNS[0])
            conn.input.on_next(m.Flush())
            conn.input.on_next(TURNS[1])  # no Flush: the second reply stays active
            assert rec.in_second_turn.wait(10)
            if drop:
                when_open(conn, cut(proxy))()
            wait_until(lambda: received_ms(rec, 1) >= 2000)
            first = of(rec, m.SpeechMetadata)[0].audio_duration_ms
            # The user heard the first reply and 2 s of the second, on the session's clock.
            conn.input.on_next(m.Interrupt.at(first + 2000))
            wait_until(lambda: bool(of(rec, m.SpeechInterrupted)))
        rec.wait(20)
        assert rec.completed and rec.error is None
        return rec

    clean = run(server.url, False)
    proxy.delay_s = 0.002
    dropped = run(proxy.url, True)
    (a,) = of(clean, m.SpeechInterrupted)
    (b,) = of(dropped, m.SpeechInterrupted)
    assert b.audio_played_ms == a.audio_played_ms
    assert (b.text_spoken, b.text_remaining) == (a.text_spoken, a.text_remaining)
    assert b.text_spoken and b.text_remaining
    assert b.metadata.speech_id == of(dropped, m.SpeechStarted)[1].speech_id
    assert b.metadata.audio_duration_ms == a.metadata.audio_duration_ms == 2000
    assert of(dropped, m.SessionMetadata) == of(clean, m.SessionMetadata)
    assert len(of(dropped, m.SpeechStarted)) == 2


def test_an_interrupt_sent_while_down_waits_for_the_resumed_audio() -> None:
    from rxdeepgram._resume import Reconnect
    from rxdeepgram._resume.speak_v2 import SpeakV2Policy

    policy = SpeakV2Policy(Reconnect())
    assert policy.begin(True) == []
    policy.on_send(m.Speak(text="One. Two."), True)
    policy.on_send(m.Flush(), True)
    assert policy.on_message(m.SpeechStarted(speech_id="dg_sp_000000000001")) is not None
    assert policy.on_message(b"\x00" * 96) == b"\x00" * 96  # 2 ms delivered
    assert policy.on_send(m.Interrupt.at(1), False) == m.Interrupt.at(1)  # down: kept
    replay = policy.begin(False)
    assert replay == [m.Speak(text="One. Two."), m.Flush()]  # the Interrupt is not sent yet
    assert policy.on_message(m.SpeechStarted(speech_id="dg_sp_000000000002")) is None
    assert policy.on_message(b"\x00" * 48) is None and policy.outbox == []
    assert policy.on_message(b"\x00" * 48) is None  # the application has had this far
    assert policy.outbox == [m.Interrupt.at(1)]
    answer = m.SpeechInterrupted(
        audio_played_ms=1, metadata=m.TurnMetadata(speech_id="dg_sp_000000000002")
    )
    out = policy.on_message(answer)
    assert isinstance(out, m.SpeechInterrupted)
    assert out.metadata.speech_id == "dg_sp_000000000001"  # the id the application knows
    assert policy.interrupts == deque() and not policy.turns
