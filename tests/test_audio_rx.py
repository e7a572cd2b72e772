"""The Rx side of rxdeepgram.audio: sources, pace and rechunk in virtual time, and the default
schedulers (a thread of their own in sync code, the loop in asyncio code)."""

from __future__ import annotations

import asyncio
import struct
import threading
import wave
from pathlib import Path
from typing import Any

import pytest
import reactivex
from hypothesis import given
from hypothesis import strategies as st
from reactivex import operators as ops
from reactivex.testing import ReactiveTest, TestScheduler
from reactivex.testing.recorded import Recorded

from rxdeepgram import ConnectionClosedOK
from rxdeepgram.audio import AudioFormat, AudioSource, from_bytes, from_wav, pace, rechunk

on_next = ReactiveTest.on_next
on_completed = ReactiveTest.on_completed
on_error = ReactiveTest.on_error

L16 = AudioFormat("linear16", 16000)  # 640 bytes per 20 ms


SUBSCRIBED = 200.0  # TestScheduler.start()'s default; virtual time is in seconds


def timeline(messages: list[Recorded[Any]]) -> list[tuple[float, str, Any]]:
    """Recorded messages as (ms after the subscription, kind, value or byte length)."""
    out: list[tuple[float, str, Any]] = []
    for m in messages:
        kind = m.value.kind
        value = m.value.value if kind == "N" else m.value.exception if kind == "E" else None
        if isinstance(value, bytes):
            value = len(value)
        out.append((round((m.time - SUBSCRIBED) * 1000, 3), kind, value))
    return out


def frames(n: int, size: int = 640) -> bytes:
    """``n`` chunks of ``size`` bytes, chunk ``i`` filled with byte ``i``."""
    return b"".join(bytes([i % 256]) * size for i in range(n))


def write_wav(path: Path, data: bytes, rate: int = 16000) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(data)


# --- sources in virtual time ---------------------------------------------------------------


def test_from_bytes_realtime_emits_a_chunk_every_20_ms() -> None:
    scheduler = TestScheduler()
    data = frames(5) + b"\x00" * 100  # five 20 ms chunks and a short one
    results = scheduler.start(lambda: from_bytes(data, L16))
    assert timeline(results.messages) == [
        (0.0, "N", 640),
        (20.0, "N", 640),
        (40.0, "N", 640),
        (60.0, "N", 640),
        (80.0, "N", 640),
        (100.0, "N", 100),
        (100.0, "C", None),
    ]
    assert b"".join(m.value.value for m in results.messages[:-1]) == data


def test_chunk_size_follows_chunk_ms_and_the_format() -> None:
    scheduler = TestScheduler()
    fmt = AudioFormat("mulaw", 8000)
    source = from_bytes(bytes(800), fmt, chunk_ms=50, scheduler=scheduler)
    results = scheduler.start(lambda: source)
    assert timeline(results.messages) == [
        (0.0, "N", 400),
        (50.0, "N", 400),
        (50.0, "C", None),
    ]


def test_disposal_stops_the_emission() -> None:
    scheduler = TestScheduler()
    results = scheduler.start(lambda: from_bytes(frames(50), L16), disposed=200.05)
    assert [t for t, _, _ in timeline(results.messages)] == [0.0, 20.0, 40.0]
    assert scheduler.clock < 200.2  # nothing was left scheduled


def test_take_stops_a_realtime_source() -> None:
    scheduler = TestScheduler()
    results = scheduler.start(lambda: from_bytes(frames(50), L16).pipe(ops.take(2)))
    assert timeline(results.messages) == [(0.0, "N", 640), (20.0, "N", 640), (20.0, "C", None)]


def test_not_realtime_emits_everything_at_once() -> None:
    scheduler = TestScheduler()
    results = scheduler.start(lambda: from_bytes(frames(3), L16, realtime=False))
    assert timeline(results.messages) == [
        (0.0, "N", 640),
        (0.0, "N", 640),
        (0.0, "N", 640),
        (0.0, "C", None),
    ]


def test_not_realtime_without_a_scheduler_is_synchronous() -> None:
    seen: list[bytes] = []
    done: list[bool] = []
    from_bytes(frames(4), L16, realtime=False).subscribe(
        seen.append, on_completed=lambda: done.append(True)
    )
    assert [c[0] for c in seen] == [0, 1, 2, 3]
    assert done == [True]
    firsts: list[bytes] = []
    from_bytes(frames(1000), L16, realtime=False).pipe(ops.take(2)).subscribe(firsts.append)
    assert len(firsts) == 2


def test_a_source_is_cold() -> None:
    scheduler = TestScheduler()
    source = from_bytes(frames(2), L16, scheduler=scheduler)
    first = scheduler.create_observer()
    second = scheduler.create_observer()
    scheduler.schedule_absolute(200.0, lambda *_: source.subscribe(first))
    scheduler.schedule_absolute(201.0, lambda *_: source.subscribe(second))
    scheduler.start()
    assert [t for t, _, _ in timeline(first.messages)] == [0.0, 20.0, 20.0]
    assert [t for t, _, _ in timeline(second.messages)] == [1000.0, 1020.0, 1020.0]


def test_an_empty_source_completes_at_once() -> None:
    scheduler = TestScheduler()
    results = scheduler.start(lambda: from_bytes(b"", L16))
    assert timeline(results.messages) == [(0.0, "C", None)]


def test_from_bytes_knows_its_format_and_duration() -> None:
    source = from_bytes(bytes(16000), L16)
    assert isinstance(source, AudioSource)
    assert (source.format, source.duration) == (L16, 0.5)
    assert repr(source) == "<AudioSource linear16 16000 Hz mono, 0.500 s>"


def test_an_observer_that_raises_stops_the_source() -> None:
    calls: list[int] = []

    def fail(chunk: bytes) -> None:
        calls.append(len(chunk))
        raise RuntimeError("observer broke")

    with pytest.raises(RuntimeError, match="observer broke"):
        from_bytes(frames(5), L16, realtime=False).subscribe(fail)
    assert calls == [640]


class ClosedSink:
    """An observer like ``conn.input`` once its connection has ended: ``on_next`` raises."""

    def __init__(self, accept: int) -> None:
        self.accept = accept
        self.chunks = 0
        self.refused = 0

    def on_next(self, chunk: bytes) -> None:
        if self.chunks == self.accept:
            self.refused += 1
            raise ConnectionClosedOK(1000, message="Listen V1 connection is closing")
        self.chunks += 1


def test_a_source_feeding_a_closed_connection_stops_quietly() -> None:
    # A realtime source piped into conn.input when the connection ends (the ``with`` block
    # left, the server closed): it stops, and nothing is raised into the scheduler.
    scheduler = TestScheduler()
    sink = ClosedSink(accept=3)
    from_bytes(frames(10), L16).subscribe(sink.on_next, scheduler=scheduler)
    scheduler.advance_by(1.0)
    assert (sink.chunks, sink.refused) == (3, 1)


def test_pace_feeding_a_closed_connection_stops_quietly_and_disposes_its_source() -> None:
    scheduler = TestScheduler()
    sink = ClosedSink(accept=2)
    upstream = scheduler.create_hot_observable(
        *(on_next(200.1 + i * 0.001, b"x" * 640) for i in range(6))
    )
    upstream.pipe(pace(L16)).subscribe(sink.on_next, scheduler=scheduler)
    scheduler.advance_to(201.0)
    assert (sink.chunks, sink.refused) == (2, 1)
    assert [(s.subscribe, s.unsubscribe) for s in upstream.subscriptions] == [(0.0, 200.14)]


# --- from_wav ------------------------------------------------------------------------------


def test_from_wav_streams_the_file_at_real_time(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    data = frames(3)
    write_wav(path, data)
    source = from_wav(path)
    assert (source.format, source.duration) == (L16, 0.06)
    scheduler = TestScheduler()
    results = scheduler.start(lambda: source)
    assert timeline(results.messages) == [
        (0.0, "N", 640),
        (20.0, "N", 640),
        (40.0, "N", 640),
        (40.0, "C", None),
    ]
    assert b"".join(m.value.value for m in results.messages[:-1]) == data


def test_from_wav_converts_and_chunks_24_bit_stereo(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(3)
        w.setframerate(8000)
        w.writeframes(b"\x00\x34\x12" * 2 * 400)  # 50 ms of 0x1234 in both channels
    source = from_wav(path, chunk_ms=20, realtime=False)
    assert source.format == AudioFormat("linear16", 8000, 2)
    chunks: list[bytes] = []
    source.subscribe(chunks.append)
    assert [len(c) for c in chunks] == [640, 640, 320]
    assert set(struct.unpack(f"<{800}h", b"".join(chunks))) == {0x1234}


def test_from_wav_raises_at_the_call_for_a_missing_or_bad_file(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        from_wav(tmp_path / "missing.wav")
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"not a wav file at all")
    with pytest.raises(ValueError, match="not a WAV file"):
        from_wav(bad)


def test_from_wav_reports_a_file_gone_or_changed_since_with_on_error(tmp_path: Path) -> None:
    path = tmp_path / "a.wav"
    write_wav(path, frames(2))
    source = from_wav(path, realtime=False)
    write_wav(path, frames(2), rate=8000)
    errors: list[Exception] = []
    source.subscribe(on_error=errors.append)
    assert len(errors) == 1 and isinstance(errors[0], ValueError)
    assert "now holds linear16 8000 Hz mono, not linear16 16000 Hz mono" in str(errors[0])
    path.unlink()
    source.subscribe(on_error=errors.append)
    assert isinstance(errors[1], FileNotFoundError)


# --- pace ----------------------------------------------------------------------------------


def test_pace_spreads_a_burst_at_real_time() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(
        on_next(200.1, b"a" * 640),
        on_next(200.1, b"b" * 320),  # 10 ms
        on_next(200.1, b"c" * 640),
        on_completed(200.1),
    )
    results = scheduler.start(lambda: source.pipe(pace(L16)))
    assert timeline(results.messages) == [
        (100.0, "N", 640),
        (120.0, "N", 320),
        (130.0, "N", 640),
        (130.0, "C", None),
    ]


def test_pace_lets_chunks_through_when_they_come_slower_than_real_time() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(
        on_next(200.1, b"a" * 640),
        on_next(200.15, b"b" * 640),
        on_next(200.155, b"c" * 640),  # before b has played: waits until 1.17
        on_next(200.5, b"d" * 640),  # after a gap: no catching up
        on_next(200.5, b"e" * 640),
        on_completed(200.6),
    )
    results = scheduler.start(lambda: source.pipe(pace(L16)))
    assert timeline(results.messages) == [
        (100.0, "N", 640),
        (150.0, "N", 640),
        (170.0, "N", 640),
        (500.0, "N", 640),
        (520.0, "N", 640),
        (600.0, "C", None),
    ]


def test_pace_passes_errors_at_once() -> None:
    scheduler = TestScheduler()
    boom = RuntimeError("boom")
    source = scheduler.create_hot_observable(
        on_next(200.1, b"a" * 640), on_next(200.1, b"b" * 640), on_error(200.1, boom)
    )
    results = scheduler.start(lambda: source.pipe(pace(L16)))
    assert timeline(results.messages) == [(100.0, "E", boom)]


def test_pace_disposal_drops_the_queue() -> None:
    scheduler = TestScheduler()
    source = scheduler.create_hot_observable(*(on_next(200.1, bytes(640)) for _ in range(10)))
    results = scheduler.start(lambda: source.pipe(pace(L16)), disposed=200.15)
    assert [t for t, _, _ in timeline(results.messages)] == [100.0, 120.0, 140.0]


def test_pace_off_is_the_identity() -> None:
    source = reactivex.of(b"a", b"b")
    assert pace(L16, realtime=False)(source) is source


def test_pace_uses_the_scheduler_given() -> None:
    scheduler = TestScheduler()
    source = from_bytes(frames(3), L16, realtime=False, scheduler=scheduler)
    paced = source.pipe(pace(L16, scheduler=scheduler))
    results = scheduler.start(lambda: paced)
    assert [t for t, _, _ in timeline(results.messages)] == [0.0, 20.0, 40.0, 40.0]


# --- rechunk -------------------------------------------------------------------------------


def test_rechunk_makes_exact_chunks_and_flushes_the_rest() -> None:
    out: list[bytes] = []
    data = bytes(range(256)) * 10
    pieces = [data[:1], data[1:700], data[700:701], data[701:2000], data[2000:]]
    reactivex.from_iterable(pieces).pipe(rechunk(20, L16)).subscribe(out.append)
    assert [len(c) for c in out] == [640, 640, 640, 640 - 640 + 2560 - 1920]
    assert b"".join(out) == data


@given(
    sizes=st.lists(st.integers(min_value=0, max_value=2000), max_size=30),
    ms=st.sampled_from([10, 20, 25, 100]),
)
def test_rechunk_is_exact_for_any_input_chunking(sizes: list[int], ms: int) -> None:
    data = bytes(i % 251 for i in range(sum(sizes)))
    pieces, offset = [], 0
    for size in sizes:
        pieces.append(data[offset : offset + size])
        offset += size
    out: list[bytes] = []
    reactivex.from_iterable(pieces).pipe(rechunk(ms, L16)).subscribe(out.append)
    size = L16.bytes_for(ms)
    assert b"".join(out) == data
    assert all(len(c) == size for c in out[:-1])
    assert not out or 0 < len(out[-1]) <= size


def test_rechunk_passes_errors_and_drops_the_rest() -> None:
    events: list[object] = []
    boom = ValueError("bad")
    source = reactivex.concat(reactivex.of(bytes(700)), reactivex.throw(boom))
    source.pipe(rechunk(20, L16)).subscribe(lambda c: events.append(len(c)), events.append)
    assert events == [640, boom]


# --- default schedulers (real time, short) -------------------------------------------------


def test_in_sync_code_a_realtime_source_runs_on_a_thread_of_its_own() -> None:
    done = threading.Event()
    threads: set[str] = set()
    chunks: list[bytes] = []

    def record(chunk: bytes) -> None:
        threads.add(threading.current_thread().name)
        chunks.append(chunk)

    from_bytes(frames(4), L16).subscribe(record, on_completed=done.set)
    assert done.wait(5)
    assert len(chunks) == 4
    assert threads == {"rxdeepgram-audio"}


async def test_in_asyncio_code_a_realtime_source_runs_on_the_loop() -> None:
    loop = asyncio.get_running_loop()
    finished: asyncio.Future[None] = loop.create_future()
    seen: list[tuple[int, bool]] = []
    start = loop.time()

    def record(chunk: bytes) -> None:
        seen.append((len(chunk), threading.current_thread() is threading.main_thread()))

    source = from_bytes(frames(5), L16).pipe(rechunk(40, L16), pace(L16))
    source.subscribe(record, on_completed=lambda: finished.set_result(None))
    assert seen == []  # nothing synchronous: the loop runs it
    await asyncio.wait_for(finished, 5)
    assert seen == [(1280, True), (1280, True), (640, True)]
    assert loop.time() - start >= 0.075  # 100 ms of audio, the last chunk at 80 ms


def test_disposing_a_realtime_source_ends_its_thread() -> None:
    started = threading.Event()
    subscription = from_bytes(frames(500), L16).subscribe(lambda _: started.set())
    assert started.wait(5)
    subscription.dispose()
    workers = [t for t in threading.enumerate() if t.name == "rxdeepgram-audio"]
    for worker in workers:
        worker.join(5)
    assert not any(t.is_alive() for t in workers)
