"""Listen V1 resumable connections against the local server through a fault-injecting proxy.

The server's engine reads each word from the audio itself (a tone per word, see
``resume_util.py``), so audio replayed on a new connection gives the same words: the final
transcript of a stream cut ten times must equal the uncut one, word for word, with continuous
times. Every test runs with the sync and the async client.
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import CLIENTS
from faultproxy import FaultProxy
from harness import Recorder
from reactivex import operators as ops
from resume_util import WORDS, ToneWordEngine, read_wav, stream, wav_bytes, word_audio

from rxdeepgram import (
    AsyncConnection,
    AsyncDeepgramClient,
    AuthenticationError,
    BadRequestError,
    BufferOverflowError,
    CallbackError,
    ConfigurationError,
    Connection,
    ConnectionClosed,
    ConnectionClosedError,
    ConnectionState,
    EventType,
    InvalidInputError,
    RateLimitError,
    Reconnect,
)
from rxdeepgram.audio import AudioFormat, from_bytes
from rxdeepgram.messages import listen_v1 as m
from rxdeepgram.server import DeepgramServer

RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
FAST = Reconnect(backoff=0.02, max_backoff=0.2)
LONG = [i % len(WORDS) for i in range(50)]  # 32.45 s of audio
SHORT = [3, 1, 4, 1, 5, 9, 2, 6]
_CLEAN: dict[str, Recorder] = {}


@pytest.fixture(scope="module")
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ToneWordEngine()) as srv:
        yield srv


@pytest.fixture
def proxy(server: DeepgramServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", server.port) as px:
        yield px


def final_words(rec: Recorder) -> list[m.Word]:
    return [
        w
        for r in rec.items
        if isinstance(r, m.Results) and r.is_final
        for w in r.channel.alternatives[0].words
    ]


def when_open(conn: Any, fault: Callable[[], Any]) -> Callable[[], None]:
    """``fault`` once ``conn`` has a live inner connection (so each fault drops one): the
    reconnects after the earlier faults have all happened."""
    faults = [0]

    def run() -> None:
        deadline = time.monotonic() + 10
        while conn.stats.reconnects < faults[0] or conn.current_state.kind != "open":
            assert time.monotonic() < deadline, "never reconnected"
            time.sleep(0.002)
        faults[0] += 1
        fault()

    return run


def wait_reconnects(conn: Any, count: int) -> None:
    deadline = time.monotonic() + 10
    while conn.stats.reconnects < count or conn.current_state.kind != "open":
        assert time.monotonic() < deadline, "never reconnected"
        time.sleep(0.002)


def wait_until(done: Callable[[], bool], what: str = "condition") -> None:
    """Poll ``done`` (the 20 s bound only ends a failing test)."""
    deadline = time.monotonic() + 20
    while not done():
        assert time.monotonic() < deadline, f"{what} never happened"
        time.sleep(0.002)


def drops_at(conn: Any, proxy: FaultProxy, points: list[int]) -> dict[int, Any]:
    """Faults for ``stream``: a drop of an established connection after each frame index."""
    drop = when_open(conn, cut(proxy))
    return dict.fromkeys(points, drop)


def cut(proxy: FaultProxy) -> Callable[[], None]:
    def run() -> None:
        deadline = time.monotonic() + 10
        while proxy.cut() == 0:
            assert time.monotonic() < deadline, "no live connection to cut"
            time.sleep(0.002)

    return run


def transcribe(
    h: Any, url: str, audio: bytes, faults: Callable[[Any], dict[int, Any]] | None = None, **kw: Any
) -> tuple[Any, Recorder, list[ConnectionState]]:
    client = h.client(base_url=url, **kw.pop("client", {}))
    rec = Recorder()
    states: list[ConnectionState] = []
    with h.connect(client, "listen.v1", reconnect=kw.pop("reconnect", FAST), **RAW, **kw) as conn:
        conn.messages.subscribe(rec)
        conn.state.subscribe(states.append)
        stream(conn, audio, faults=faults(conn) if faults else None)
    rec.wait(30)
    return conn, rec, states


def test_ten_drops_in_a_30s_stream_lose_and_repeat_nothing(
    h: Any, server: DeepgramServer, proxy: FaultProxy
) -> None:
    audio = read_wav(wav_bytes(word_audio(LONG)))
    seconds = len(audio) / 32000
    assert seconds > 30
    if "clean" not in _CLEAN:  # the no-drop run, once (it is the same for every client)
        _CLEAN["clean"] = transcribe(h, server.url, audio)[1]
    clean = _CLEAN["clean"]
    rng = random.Random(9)
    drops = sorted(rng.sample(range(5, len(audio) // 3200 - 3), 10))
    conn, rec, states = transcribe(h, proxy.url, audio, lambda c: drops_at(c, proxy, drops))
    assert rec.completed and rec.error is None
    expected = [WORDS[i] for i in LONG]
    assert [w.word for w in final_words(clean)] == expected
    words = final_words(rec)
    assert [w.word for w in words] == expected  # 0 lost, 0 duplicated
    assert [t for w in words for t in (w.start, w.end)] == pytest.approx(
        [t for w in final_words(clean) for t in (w.start, w.end)], abs=0.011
    )
    times = [t for w in words for t in (w.start, w.end)]
    assert times == sorted(times)
    assert abs(words[-1].end - seconds) <= 0.5
    results = [r for r in rec.items if isinstance(r, m.Results) and r.is_final]
    starts = [r.start for r in results]
    assert starts == sorted(starts)
    assert conn.stats.reconnects == 10
    assert conn.stats.connections == 11
    assert conn.stats.replayed_audio_s > 0
    kinds = [s.kind for s in states]
    assert kinds == ["open"] + ["reconnecting", "open"] * 10 + ["closed"]
    causes = [s.cause for s in states if s.kind == "reconnecting"]
    assert all(isinstance(c, ConnectionClosedError) for c in causes)
    assert states[-1].cause is None
    meta = [x for x in rec.items if isinstance(x, m.Metadata)]
    assert len(meta) == 1
    assert meta[0].duration == pytest.approx(seconds, abs=0.01)


def test_a_stalled_peer_is_dropped_by_ping_timeout_and_resumed(h: Any, proxy: FaultProxy) -> None:
    audio = word_audio(SHORT)
    client = {"ping_interval": 0.1, "ping_timeout": 0.5, "close_timeout": 1.0}

    def stall(conn: Any) -> dict[int, Any]:
        def run() -> None:
            # A pong late on a loaded machine may drop a connection before the stall too (also
            # by ping timeout): what counts is that the stalled one is dropped and resumed.
            before = conn.stats.reconnects
            proxy.stall()  # forwards nothing, closes nothing: only the pings can tell
            deadline = time.monotonic() + 20
            while conn.stats.reconnects == before:
                assert time.monotonic() < deadline, "the stall was never detected"
                time.sleep(0.01)

        return {20: when_open(conn, run)}

    conn, rec, states = transcribe(h, proxy.url, audio, stall, client=client)
    assert rec.completed and rec.error is None
    assert [w.word for w in final_words(rec)] == [WORDS[i] for i in SHORT]
    causes = [s.cause for s in states if s.kind == "reconnecting"]
    assert causes, "never reconnected"
    assert all(isinstance(c, ConnectionClosedError) and c.code == 1011 for c in causes), causes
    assert conn.stats.reconnects == len(causes)


@pytest.mark.parametrize(("status", "error"), [(401, AuthenticationError), (400, BadRequestError)])
def test_a_4xx_handshake_during_reconnect_ends_the_stream_at_once(
    h: Any, proxy: FaultProxy, status: int, error: type[Exception]
) -> None:
    reported: list[CallbackError] = []
    client = h.client(base_url=proxy.url, on_callback_error=reported.append)
    rec = Recorder()
    states: list[ConnectionState] = []
    conn = h.open(client, "listen.v1", reconnect=FAST, **RAW)
    conn.messages.subscribe(rec)
    conn.state.subscribe(states.append)

    def raising(state: ConnectionState) -> None:
        if state.kind == "reconnecting":
            raise ValueError("a state subscriber's bug")

    conn.state.subscribe(raising)
    audio = word_audio(SHORT)
    proxy.refuse(status, count=5)
    stream(conn, audio[: 3200 * 10], faults={9: cut(proxy)})  # after the last frame
    rec.wait(10)
    assert isinstance(rec.error, error)
    assert rec.error.status == status  # type: ignore[attr-defined]
    assert proxy.refused == 1  # no further attempt
    assert conn.stats.failed_attempts == 1
    assert [s.kind for s in states] == ["open", "reconnecting", "closed"]
    assert states[-1].cause is rec.error
    late: list[object] = []  # a subscriber after the end: the last state, then completion
    conn.state.subscribe(late.append, on_completed=lambda: late.append("completed"))
    assert late == [states[-1], "completed"] and conn.current_state is states[-1]
    assert [(e.where, str(e.error)) for e in reported] == [
        ("state subscriber", "a state subscriber's bug")
    ]
    with pytest.raises(ConnectionClosed):
        conn.input.on_next(b"\x00\x00")


def test_429_with_retry_after_waits_then_resumes(h: Any, proxy: FaultProxy) -> None:
    audio = word_audio(SHORT)
    stamps: list[tuple[str, float]] = []

    def fault(conn: Any) -> dict[int, Any]:
        conn.state.subscribe(lambda s: stamps.append((s.kind, time.monotonic())))

        def refuse_then_cut() -> None:
            proxy.refuse(429, headers={"Retry-After": "1"})
            cut(proxy)()

        return {8: when_open(conn, refuse_then_cut)}

    conn, rec, states = transcribe(h, proxy.url, audio, fault)
    assert rec.completed and rec.error is None
    assert [w.word for w in final_words(rec)] == [WORDS[i] for i in SHORT]
    assert proxy.refused == 1
    reconnecting = [s for s in states if s.kind == "reconnecting"]
    assert [s.attempt for s in reconnecting] == [1, 2]
    limited = reconnecting[1].cause
    assert isinstance(limited, RateLimitError)
    assert limited.retry_after == 1.0
    # Retry-After honoured: the attempt after the 429 came no sooner than a second later.
    times = [t for kind, t in stamps if kind in ("reconnecting", "open")]
    assert times[-1] - times[-2] >= 0.95
    assert conn.stats.failed_attempts == 1
    assert conn.stats.reconnects == 1


@pytest.mark.parametrize(
    ("code", "reason", "resumed"),
    [(1012, "service restart", True), (1011, "NET-0001 idle", True), (1008, "DATA-0000", False)],
)
def test_close_codes_retried_or_not(
    h: Any, proxy: FaultProxy, code: int, reason: str, resumed: bool
) -> None:
    audio = word_audio(SHORT)
    if resumed:
        conn, rec, states = transcribe(
            h, proxy.url, audio, lambda c: {12: when_open(c, lambda: proxy.close(code, reason))}
        )
        assert rec.completed and rec.error is None
        assert [w.word for w in final_words(rec)] == [WORDS[i] for i in SHORT]
        assert conn.stats.reconnects == 1
        assert [s.kind for s in states] == ["open", "reconnecting", "open", "closed"]
        assert states[1].cause.code == code  # type: ignore[union-attr]
        return
    # Not retried: the close ends the stream. The fault comes after the last frame the test
    # sends, so no send races the close (a send after it raises, as asserted below).
    client = h.client(base_url=proxy.url)
    rec = Recorder()
    states: list[ConnectionState] = []
    conn = h.open(client, "listen.v1", reconnect=FAST, **RAW)
    conn.messages.subscribe(rec)
    conn.state.subscribe(states.append)
    stream(
        conn, audio[: 3200 * 13], faults={12: when_open(conn, lambda: proxy.close(code, reason))}
    )
    rec.wait(30)
    assert isinstance(rec.error, ConnectionClosedError)
    assert rec.error.code == code
    assert conn.stats.reconnects == 0
    assert [s.kind for s in states] == ["open", "closed"]
    with pytest.raises(ConnectionClosedError, match=str(code)):
        conn.input.on_next(audio[:3200])


def test_attempts_run_out_with_the_last_cause(h: Any, proxy: FaultProxy) -> None:
    client = h.client(base_url=proxy.url)
    rec = Recorder()
    conn = h.open(client, "listen.v1", reconnect=Reconnect(max_attempts=2, backoff=0.01), **RAW)
    conn.messages.subscribe(rec)
    proxy.refuse(503, count=3)
    conn.input.on_next(word_audio([1])[:3200])
    cut(proxy)()
    rec.wait(10)
    assert rec.error is not None
    assert getattr(rec.error, "status", None) == 503
    assert proxy.refused == 2
    assert conn.stats.failed_attempts == 2


def test_a_pending_finalize_and_closestream_are_sent_again(
    h: Any, server: DeepgramServer, proxy: FaultProxy
) -> None:
    # Speech with no silence after it: nothing is final until Finalize / CloseStream. The proxy
    # stalls the live connection before they are sent, so their answers cannot come back before
    # the cut: both are pending when the connection drops, whatever the machine's speed.
    audio = word_audio([7])[: 3200 * 3]
    client = h.client(base_url=proxy.url)
    rec = Recorder()
    conn = h.open(client, "listen.v1", reconnect=FAST, **RAW)
    conn.messages.subscribe(rec)
    drop = when_open(conn, cut(proxy))
    wait_reconnects(conn, 0)
    proxy.stall()
    for chunk in (audio[i : i + 3200] for i in range(0, len(audio), 3200)):
        conn.input.on_next(chunk)
    conn.input.on_next(m.Finalize())
    drop()
    wait_reconnects(conn, 1)
    assert conn.stats.replayed_messages == 1  # the unanswered Finalize was sent again
    # its answer, before the second stall: so the second cut finds only the CloseStream pending
    wait_until(
        lambda: any(isinstance(r, m.Results) and r.from_finalize for r in rec.items),
        "the answer to the Finalize sent again",
    )
    proxy.stall()
    sent = proxy.text_frames_sent()
    conn.input.on_next(word_audio([8]))
    conn.input.on_completed()
    # the cut only once the CloseStream is out (the graceful close may be queued behind the
    # audio): its answer is lost, so it is sent again
    wait_until(lambda: proxy.text_frames_sent() > sent, "the CloseStream on the wire")
    drop()
    rec.wait(10)
    assert rec.completed and rec.error is None
    finals = [r for r in rec.items if isinstance(r, m.Results) and r.is_final]
    assert [w.word for r in finals for w in r.channel.alternatives[0].words] == [
        WORDS[7],
        WORDS[8],
    ]
    assert finals[0].from_finalize is True
    assert [type(x).__name__ for x in rec.items].count("Metadata") == 1
    assert conn.stats.reconnects == 2
    # The CloseStream went out again after the second cut: without it the server would not have
    # sent the last final and the one Metadata, nor closed. It is sent again by the graceful
    # close itself, not from the replay log, so the replayed messages are still the Finalize.
    assert conn.stats.replayed_messages == 1


def test_bad_input_raises_at_the_caller_and_is_not_kept(h: Any, proxy: FaultProxy) -> None:
    client = h.client(base_url=proxy.url)
    conn = h.open(client, "listen.v1", reconnect=FAST, **RAW)
    with pytest.raises(InvalidInputError, match="Listen V1"):
        conn.input.on_next("not audio")
    with pytest.raises(InvalidInputError):
        conn.input.on_next(m.Results)
    conn.input.on_next(bytearray(word_audio([2])))
    h.close(conn)
    assert conn.closed and conn.end is None
    assert conn.stats.replayed_messages == 0


def test_reconnect_needs_raw_audio_and_a_valid_config(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    with pytest.raises(ConfigurationError, match="encoding"):
        client.listen.v1.connect(model="nova-3", reconnect=True)
    with pytest.raises(ConfigurationError, match="reconnect"):
        client.listen.v1.connect(reconnect="yes", **RAW)
    with pytest.raises(ConfigurationError, match="max_attempts"):
        Reconnect(max_attempts=0)
    with pytest.raises(ConfigurationError, match="on_overflow"):
        Reconnect(on_overflow="block")  # type: ignore[arg-type]


def test_off_by_default_a_drop_ends_the_stream(h: Any, proxy: FaultProxy) -> None:
    client = h.client(base_url=proxy.url)
    rec = Recorder()
    conn = h.open(client, "listen.v1", **RAW)
    conn.messages.subscribe(rec)
    conn.input.on_next(word_audio([1])[:3200])
    cut(proxy)()
    rec.wait(10)
    assert isinstance(rec.error, ConnectionClosedError)
    assert not hasattr(conn, "state")


def test_the_cold_operator_resumes(h: Any, proxy: FaultProxy) -> None:
    audio = word_audio(SHORT)
    client = h.client(base_url=proxy.url)
    rec = Recorder()
    done = threading.Event()

    def subscribe() -> Any:
        return (
            from_bytes(audio, AudioFormat("linear16", 16000), chunk_ms=100, realtime=False)
            .pipe(
                ops.do_action(on_next=lambda _: time.sleep(0.004)),
                client.listen.v1.transcribe(reconnect=FAST, **RAW),
                ops.finally_action(done.set),
            )
            .subscribe(rec)
        )

    # the first connection is cut once ~40 kB went through it: mid-stream (the audio is
    # ~166 kB), at a point the test fixes rather than a timer racing the stream
    proxy.arm("cut", after_bytes=40_000)
    if h.kind == "async":
        h.run(_call_async(subscribe))
    else:
        subscribe()
    rec.wait(20)
    assert rec.completed and rec.error is None
    assert [w.word for w in final_words(rec)] == [WORDS[i] for i in SHORT]
    assert proxy.connections == 2  # cut once, resumed once


async def _call_async(fn: Callable[[], Any]) -> Any:
    return fn()


def test_past_the_buffer_bound_input_raises_while_reconnecting(h: Any, proxy: FaultProxy) -> None:
    client = h.client(base_url=proxy.url)
    strict = Reconnect(
        max_attempts=1000, backoff=0.05, max_backoff=0.05, max_buffer_s=0.5, on_overflow="error"
    )
    conn = h.open(client, "listen.v1", reconnect=strict, **RAW)
    states: list[ConnectionState] = []
    conn.state.subscribe(states.append)
    proxy.refuse(503, count=1000)  # every reconnect attempt fails: it stays reconnecting
    cut(proxy)()
    deadline = time.monotonic() + 10
    while conn.current_state.kind != "reconnecting":
        assert time.monotonic() < deadline
        time.sleep(0.002)
    audio = word_audio([1])
    with pytest.raises(BufferOverflowError, match="max_buffer_s"):
        for _ in range(20):
            conn.input.on_next(audio[:3200])  # 100 ms each: the 6th does not fit
    assert any(s.kind == "reconnecting" for s in states)
    conn.input.on_error(RuntimeError("giving up"))
    h.wait(conn)
    assert isinstance(conn.end, RuntimeError)
    assert states[-1].kind == "closed"


@pytest.mark.parametrize(
    "h",
    [param for param in CLIENTS if param.values[0][1] == "websockets"],  # type: ignore[index]
    indirect=True,
)
def test_real_speech_through_drops_gives_the_same_transcript(h: Any) -> None:
    """The ``local`` engine (pocketsphinx) on real speech: what a replay re-recognises matches.
    pocketsphinx is CPU-heavy: it runs with both clients on one transport (websockets)."""
    pytest.importorskip("pocketsphinx", reason="the local engine comes with the local extra")
    gap = bytes(2 * round(0.6 * 16000))
    audio = b"".join(_clip(name) + gap for name in ("flight", "two_sentences", "order_status"))
    expected = [
        "i would like to book a flight to boston",
        "i need to change my password",
        "the meeting starts at ten in the morning",
        "please check my order status",
    ]
    with DeepgramServer(engine="local") as srv, FaultProxy("127.0.0.1", srv.port) as px:
        rng = random.Random(5)
        drops = sorted(rng.sample(range(3, len(audio) // 3200 - 3), 3))
        conn, rec, _ = transcribe(h, px.url, audio, lambda c: drops_at(c, px, drops))
    assert rec.completed and rec.error is None
    finals = [
        r.channel.alternatives[0].transcript
        for r in rec.items
        if isinstance(r, m.Results) and r.is_final and r.channel.alternatives[0].transcript
    ]
    assert finals == expected  # as the uncut stream gives (tests/test_engine_pocketsphinx.py)
    assert conn.stats.reconnects == 3
    times = [t for w in final_words(rec) for t in (w.start, w.end)]
    assert times == sorted(times)


def _clip(name: str) -> bytes:
    path = Path(__file__).parent / "data" / f"{name}.wav"
    return read_wav(path.read_bytes())


def test_the_seed_api_works_on_a_resumable_connection(h: Any, proxy: FaultProxy) -> None:
    client = h.client(base_url=proxy.url)
    conn = h.open(client, "listen.v1", reconnect=FAST, **RAW)
    assert isinstance(conn, AsyncConnection if h.kind == "async" else Connection)
    seen: list[Any] = []
    ends: list[Any] = []
    conn.on(EventType.MESSAGE, seen.append)
    conn.on(EventType.CLOSE, ends.append)
    audio = word_audio(SHORT[:3])
    conn.send_media(audio[: len(audio) // 2])
    when_open(conn, cut(proxy))()
    conn.send_media(audio[len(audio) // 2 :])
    conn.send_finalize()
    h.close(conn)
    # the handlers get what the connection held for them, as the seed's start_listening() does
    if h.kind == "sync":
        conn.start_listening()
    else:
        h.run(conn.start_listening())
    words = [
        w.word
        for r in seen
        if isinstance(r, m.Results) and r.is_final
        for w in r.channel.alternatives[0].words
    ]
    assert words == [WORDS[i] for i in SHORT[:3]]
    assert ends == [None]
    assert conn.request_id is not None and conn.stats.reconnects == 1


LOCK_FREE = "= input: audio from the loop thread goes lock-free"
LOCKED = "= input: another thread sent; every send takes the lock from now on"


def input_switches(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The resumable input's path switches logged so far (at DEBUG, on ``rxdeepgram``)."""
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("= input: ")]


@pytest.mark.parametrize(
    "transport",
    [pytest.param(c.values[0][1], id=c.values[0][1], marks=c.marks) for c in CLIENTS[1::2]],
)
def test_audio_sent_on_the_loop_thread_resumes_then_another_thread_joins(
    transport: str, proxy: FaultProxy, caplog: pytest.LogCaptureFixture
) -> None:
    """The async client's own thread sends without a lock (the loop thread owns the
    connection's state); when another thread sends too, what it sends is checked at once and
    handed to the loop thread in order, which takes the lock from then on. Drops on both
    sides of the switch: the transcript is whole, no word twice."""
    words = [i % len(WORDS) for i in range(16)]
    audio = word_audio(words)
    chunks = [audio[i : i + 3200] for i in range(0, len(audio), 3200)]
    half = len(chunks) // 2
    rec = Recorder()

    async def reconnected(conn: Any, count: int) -> None:
        deadline = time.monotonic() + 10
        while conn.stats.reconnects < count or conn.current_state.kind != "open":
            assert time.monotonic() < deadline, "never reconnected"
            await asyncio.sleep(0.002)

    async def run() -> tuple[Any, list[bool]]:
        client = AsyncDeepgramClient(api_key="test-key", base_url=proxy.url, transport=transport)
        switches: list[list[str]] = []  # the path switches logged by each point
        async with client.listen.v1.connect(reconnect=FAST, **RAW) as conn:
            conn.messages.subscribe(rec)
            for i, chunk in enumerate(chunks[:half]):
                conn.input.on_next(chunk)
                if i == 0:
                    switches.append(input_switches(caplog))
                if i in (4, 11):
                    cut(proxy)()
                    await reconnected(conn, 1 if i == 4 else 2)
                await asyncio.sleep(0.004)

            def the_rest() -> None:  # another thread: an audio callback, say
                for i, chunk in enumerate(chunks[half:]):
                    conn.input.on_next(chunk)
                    if i == 6:
                        when_open(conn, cut(proxy))()
                    time.sleep(0.004)

            switches.append(input_switches(caplog))
            await asyncio.to_thread(the_rest)
            switches.append(input_switches(caplog))
            with pytest.raises(InvalidInputError):
                conn.input.on_next(12345)  # still checked at the caller
        return conn, switches

    with caplog.at_level(logging.DEBUG, logger="rxdeepgram"), asyncio.Runner() as runner:
        conn, switches = runner.run(run())
    rec.wait(30)
    assert rec.completed and rec.error is None
    # on after the first send (the windows closed), still on through two drops on the loop
    # thread (nothing turns it off but the close, the end or a send from another thread),
    # then handed over once to the lock
    assert switches == [[LOCK_FREE], [LOCK_FREE], [LOCK_FREE, LOCKED]]
    assert [w.word for w in final_words(rec)] == [WORDS[i] for i in words]
    times = [t for w in final_words(rec) for t in (w.start, w.end)]
    assert times == sorted(times)
    assert conn.stats.reconnects == 3


@pytest.mark.parametrize(
    "transport",
    [pytest.param(c.values[0][1], id=c.values[0][1], marks=c.marks) for c in CLIENTS[1::2]],
)
def test_a_closestream_sent_on_the_loop_thread_ends_the_lock_free_path(
    transport: str, proxy: FaultProxy
) -> None:
    """Audio after a ``CloseStream`` sent through ``input`` raises at the caller, on the loop
    thread too (where audio skips the lock), and never reaches the wire."""
    audio = word_audio(SHORT[:2])
    rec = Recorder()

    async def run() -> None:
        client = AsyncDeepgramClient(api_key="test-key", base_url=proxy.url, transport=transport)
        conn = await client.listen.v1.connect(reconnect=FAST, **RAW)
        conn.messages.subscribe(rec)
        conn.input.on_next(audio)
        conn.input.on_next(m.CloseStream())
        with pytest.raises(ConnectionClosed, match="closing"):
            conn.input.on_next(audio[:3200])
        await asyncio.wait_for(conn.wait(), 20)

    with asyncio.Runner() as runner:
        runner.run(run())
    rec.wait(30)
    assert rec.completed and rec.error is None
    assert [w.word for w in final_words(rec)] == [WORDS[i] for i in SHORT[:2]]
    metadata = [r for r in rec.items if isinstance(r, m.Metadata)]
    assert len(metadata) == 1  # the audio refused after the close never reached the server
    assert metadata[0].duration == pytest.approx(len(audio) / 32000, abs=0.02)
