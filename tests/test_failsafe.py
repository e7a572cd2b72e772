"""Every failure bounded and reported: never a hang, never a silent loss.

Against misbehaving peers on loopback (``badserver.py``: a server that opens and closes 1011, one
that stalls, one that never answers the handshake) and the fault-injecting proxy in front of the
real local server (``faultproxy.py``), on both clients and both transports (the ``h`` fixture).
Nothing is mocked; waits are on events (the stream's end, a state change) with generous
liveness bounds that only a hang would reach, and every timeout the library applies is set
small in the test (seconds at most).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from badserver import BadServer
from faultproxy import FaultProxy
from harness import Recorder
from resume_util import ToneWordEngine, stream, word_audio

from rxdeepgram import (
    BufferOverflowError,
    ConnectionClosedError,
    ConnectionState,
    DeepgramTimeoutError,
    InvalidInputError,
    Reconnect,
)
from rxdeepgram.messages import listen_v1 as m
from rxdeepgram.server import DeepgramServer

RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
CHANNELS = {
    "listen.v1": RAW,
    "listen.v2": {"model": "flux-general-en", "encoding": "linear16", "sample_rate": 16000},
    "speak.v1": {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 24000},
    "agent.v1": {},
}
LIVE = 20.0  # seconds: only a hang reaches this
SHORT = [3, 1, 4, 1, 5, 9, 2, 6]


@pytest.fixture
def bad() -> Iterator[BadServer]:
    with BadServer("close", 1011, "NET-0000") as srv:
        yield srv


@pytest.fixture(scope="module")
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ToneWordEngine()) as srv:
        yield srv


@pytest.fixture
def proxy(server: DeepgramServer) -> Iterator[FaultProxy]:
    with FaultProxy("127.0.0.1", server.port) as px:
        yield px


def watch_state(conn: Any, kind: str) -> threading.Event:
    """An Event set when ``conn.state`` first reaches ``kind``."""
    reached = threading.Event()

    def on_state(state: ConnectionState) -> None:
        if state.kind == kind:
            reached.set()

    conn.state.subscribe(on_state)
    return reached


def close_in_thread(h: Any, conn: Any) -> threading.Thread:
    """``close()`` (sync, or awaited on the harness loop) on a thread of its own: if it hangs,
    the join below times out and the test says so."""
    thread = threading.Thread(target=h.close, args=(conn,), daemon=True)
    thread.start()
    thread.join(LIVE)
    assert not thread.is_alive(), "close() hung"
    return thread


# -- 1. a server that accepts every handshake, then closes ------------------------------------


@pytest.mark.parametrize("channel", list(CHANNELS))
def test_connections_that_open_then_close_1011_are_failed_attempts(
    h: Any, bad: BadServer, channel: str
) -> None:
    client = h.client(base_url=bad.url)
    rec = Recorder()
    reconnect = Reconnect(max_attempts=3, backoff=0.01, max_backoff=0.02)
    conn = h.open(client, channel, reconnect=reconnect, **CHANNELS[channel])
    conn.messages.subscribe(rec)
    rec.wait(LIVE)
    assert not rec.completed
    error = rec.error
    assert isinstance(error, ConnectionClosedError)
    assert (error.code, error.reason) == (1011, "NET-0000")
    assert "gave up after 3 failed reconnect attempts" in str(error)
    assert "closed before any result" in str(error)
    assert isinstance(error.__cause__, ConnectionClosedError)
    assert conn.stats.failed_attempts == 3
    assert conn.stats.connections == 4  # the first one, then 3 attempts
    assert bad.handshakes == 4
    assert conn.current_state.kind == "closed"


def test_progress_starts_the_count_again(h: Any, proxy: FaultProxy) -> None:
    """Drops after results never exhaust the attempts: 5 drops with max_attempts=2."""
    client = h.client(base_url=proxy.url)
    rec = Recorder()
    reconnect = Reconnect(max_attempts=2, backoff=0.01, max_backoff=0.02)
    audio = word_audio(SHORT * 2)
    changed = threading.Condition()
    seen = {"finals": 0, "opened": 0}

    def on_message(x: Any) -> None:
        if isinstance(x, m.Results) and x.is_final:
            with changed:
                seen["finals"] += 1
                changed.notify_all()

    def on_state(state: ConnectionState) -> None:
        if state.kind == "open":
            with changed:
                seen["opened"] += 1
                changed.notify_all()

    def wait(key: str, above: int) -> None:
        with changed:
            assert changed.wait_for(lambda: seen[key] > above, LIVE), f"no {key}"

    with h.connect(client, "listen.v1", reconnect=reconnect, **RAW) as conn:
        conn.messages.subscribe(rec)
        conn.messages.subscribe(on_message)
        conn.state.subscribe(on_state)
        chunk = 3200
        drops = 0
        finals = 0
        for offset in range(0, len(audio), chunk):
            conn.input.on_next(audio[offset : offset + chunk])
            if drops < 5 and offset and offset % (chunk * 20) == 0:
                wait("finals", finals)  # a result on this connection: progress
                opened = seen["opened"]
                assert proxy.cut() == 1
                drops += 1
                wait("opened", opened)
                finals = seen["finals"]
    rec.wait(LIVE)
    assert rec.completed and rec.error is None
    assert drops == 5
    assert conn.stats.reconnects == 5
    assert conn.stats.failed_attempts == 0


@pytest.mark.parametrize("how", ["close", "with"])
def test_close_while_reconnecting_returns_within_close_timeout(
    h: Any, bad: BadServer, how: str
) -> None:
    client = h.client(base_url=bad.url, close_timeout=0.3)
    rec = Recorder()
    # many attempts, long backoff: without the close timer the stream would go on for minutes
    reconnect = Reconnect(max_attempts=1000, backoff=5.0, max_backoff=5.0)
    if how == "with":
        with h.connect(client, "listen.v1", reconnect=reconnect, **RAW) as conn:
            conn.messages.subscribe(rec)
            assert watch_state(conn, "reconnecting").wait(LIVE)
    else:
        conn = h.open(client, "listen.v1", reconnect=reconnect, **RAW)
        conn.messages.subscribe(rec)
        assert watch_state(conn, "reconnecting").wait(LIVE)
        close_in_thread(h, conn)
    rec.wait(LIVE)
    assert not rec.completed
    assert isinstance(rec.error, DeepgramTimeoutError)
    assert "reconnecting" in str(rec.error)
    assert "did not finish within 0.3 s" in str(rec.error)
    assert conn.current_state.kind == "closed"


def test_close_while_opening_returns_within_close_timeout(h: Any, bad: BadServer) -> None:
    """The reconnect attempt hangs in the handshake (a server that never answers it)."""
    client = h.client(base_url=bad.url, close_timeout=0.3, open_timeout=60.0)
    rec = Recorder()
    bad.then = ["close", "mute"]
    conn = h.open(client, "listen.v1", reconnect=Reconnect(backoff=0.0), **RAW)
    conn.messages.subscribe(rec)
    assert bad.wait_connections(2, LIVE)  # the reconnect attempt is in its handshake
    close_in_thread(h, conn)
    rec.wait(LIVE)
    assert isinstance(rec.error, DeepgramTimeoutError)
    assert bad.handshakes == 1


# -- 2. a close that could not drain is an error ------------------------------------------------


@pytest.mark.parametrize("reconnect", [False, True], ids=["plain", "resumable"])
def test_a_close_that_cannot_drain_says_what_was_not_delivered(
    h: Any, proxy: FaultProxy, reconnect: bool
) -> None:
    client = h.client(base_url=proxy.url, close_timeout=0.5, ping_interval=None)
    rec = Recorder()
    options: dict[str, Any] = dict(RAW)
    if reconnect:
        options["reconnect"] = Reconnect(backoff=0.05, max_backoff=0.1)
    with h.connect(client, "listen.v1", **options) as conn:
        conn.messages.subscribe(rec)
        stream(conn, word_audio(SHORT))
        # the server goes down (resumable: every reconnect is refused) or stalls (plain)
        if reconnect:
            proxy.down()
        else:
            proxy.stall()
    rec.wait(LIVE)
    assert not rec.completed, "a close that could not drain completed cleanly"
    error = rec.error
    assert isinstance(error, DeepgramTimeoutError)
    assert "did not finish within 0.5 s" in str(error)
    if reconnect:
        assert "the final results of the last" in str(error)
    else:
        assert "after CloseStream was not delivered" in str(error)
    assert conn.end is error


# -- 3. a dead peer is given up on at once --------------------------------------------------------


def test_a_peer_that_answers_no_ping_is_dropped_at_once(h: Any, proxy: FaultProxy) -> None:
    # close_timeout is long: the client must not wait it out for a peer that is gone
    client = h.client(base_url=proxy.url, ping_interval=0.1, ping_timeout=0.2, close_timeout=600)
    rec = Recorder()
    conn = h.open(client, "listen.v1", **RAW)
    conn.messages.subscribe(rec)
    conn.input.on_next(bytes(3200))
    proxy.stall()
    rec.wait(LIVE)
    error = rec.error
    assert isinstance(error, ConnectionClosedError)
    assert (error.code, error.reason) == (1011, "keepalive ping timeout")


def test_a_graceful_close_to_a_dead_peer_ends_without_a_second_wait(
    h: Any, proxy: FaultProxy
) -> None:
    """The close timer gives up on the peer: no second closing handshake follows it."""
    client = h.client(base_url=proxy.url, ping_interval=None, close_timeout=0.3)
    rec = Recorder()
    conn = h.open(client, "listen.v1", **RAW)
    conn.messages.subscribe(rec)
    conn.input.on_next(bytes(3200))
    proxy.stall()
    close_in_thread(h, conn)
    assert conn.closed
    assert isinstance(conn.end, DeepgramTimeoutError)


# -- 4. the send queue is bounded -----------------------------------------------------------------


@pytest.mark.parametrize("reconnect", [False, True], ids=["plain", "resumable"])
def test_audio_into_a_stalled_peer_is_refused_at_the_bound(h: Any, reconnect: bool) -> None:
    limit = 256 * 1024
    with BadServer("stall") as stalled:
        client = h.client(
            base_url=stalled.url, send_queue_bytes=limit, ping_interval=None, close_timeout=0.5
        )
        options: dict[str, Any] = dict(RAW)
        if reconnect:
            options["reconnect"] = Reconnect(on_overflow="error")
        conn = h.open(client, "listen.v1", **options)
        chunk = bytes(32 * 1024)
        taken = 0
        with pytest.raises(BufferOverflowError, match="send queue is full") as refused:
            while taken < 96 * 2**20:  # what the issue pushed; the bound stops it long before
                conn.input.on_next(chunk)
                taken += len(chunk)
        assert taken < 64 * 2**20  # kernel buffers and the queue, not 96 MB
        assert "was not taken" in str(refused.value)
        assert not conn.closed  # back-pressure, not a failure: the stream is still there
        with pytest.raises(BufferOverflowError):  # still full: still refused
            conn.input.on_next(chunk)
        if reconnect:
            if h.kind == "async":  # what was handed to the loop thread has been applied
                h.run(asyncio.sleep(0))
            # the refused chunks were not kept for replay either (16 kHz linear16: 32,000 B/s)
            assert conn.stats.buffered_audio_s == pytest.approx(taken / 32000, abs=1e-6)
        conn.input.on_error(RuntimeError("giving up"))
        h.wait(conn, LIVE)
        assert conn.closed


# -- 5. frame sizes are checked at the caller ------------------------------------------------------


@pytest.mark.parametrize("reconnect", [False, True], ids=["plain", "resumable"])
def test_a_50_mb_chunk_is_refused_at_the_caller(
    h: Any, server: DeepgramServer, reconnect: bool
) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    options: dict[str, Any] = dict(RAW)
    if reconnect:
        options["reconnect"] = Reconnect()
    with h.connect(client, "listen.v1", **options) as conn:
        conn.messages.subscribe(rec)
        with pytest.raises(BufferOverflowError, match="larger than the send queue"):
            conn.input.on_next(bytes(50 * 2**20))
        stream(conn, word_audio(SHORT))
    rec.wait(LIVE)
    assert rec.completed and rec.error is None  # the stream went on, unharmed


def test_a_big_chunk_is_sent_in_frames_the_server_takes(h: Any) -> None:
    """A server that closes with 1009 past 1 MiB still gets a 3 MiB chunk: as 1 MiB frames
    (whole, it would end the stream with 1009)."""
    size = 3 * 2**20 + 10
    with DeepgramServer(engine=ToneWordEngine(), max_message_size=2**20) as srv:
        client = h.client(base_url=srv.url)
        rec = Recorder()
        with h.connect(client, "listen.v1", **RAW) as conn:
            conn.messages.subscribe(rec)
            conn.input.on_next(bytes(size))
        rec.wait(LIVE)
    assert rec.completed and rec.error is None
    meta = [x for x in rec.items if isinstance(x, m.Metadata)]
    assert len(meta) == 1
    assert meta[0].duration == pytest.approx(size / 32000, abs=0.001)  # every byte arrived


def test_oversized_text_is_refused_at_the_caller(h: Any, server: DeepgramServer) -> None:
    from rxdeepgram.messages import agent_v1 as a
    from rxdeepgram.messages import speak_v1 as s

    client = h.client(base_url=server.url)
    with h.connect(client, "speak.v1", model="aura-2-thalia-en") as conn:
        with pytest.raises(InvalidInputError, match="2001 characters is over"):
            conn.input.on_next("x" * 2001)
        with pytest.raises(InvalidInputError, match="2001 characters is over"):
            conn.input.on_next(s.Speak(text="y" * 2001))
        conn.input.on_next("z" * 2000)  # the limit itself is fine
    with (
        h.connect(client, "agent.v1") as agent,
        pytest.raises(InvalidInputError, match="bytes of JSON"),
    ):
        agent.input.on_next(a.InjectUserMessage(content="w" * (2**20 + 1)))


# -- 7. an agent reply cut by a drop is reported, never left open --------------------------------


def _long_reply(request: Any) -> Any:
    from rxdeepgram.server.think import ThinkReply

    return ThinkReply(text=f"reply to {request.user_text}: " + "la " * 60)


_long_reply.blocking = False  # type: ignore[attr-defined]


def test_an_agent_reply_cut_by_a_drop_ends_with_agent_audio_cut(h: Any) -> None:
    from test_connection_agent_v1 import CharTts, Inbox
    from test_reconnect_listen_v1 import FAST, cut, when_open

    from rxdeepgram.messages import agent_v1 as a
    from rxdeepgram.server.agent_v1 import AgentV1Handler

    settings = a.Settings(
        audio=a.Audio(
            input=a.AudioInput(encoding="linear16", sample_rate=16000),
            output=a.AudioOutput(encoding="linear16", sample_rate=16000),
        ),
        agent=a.Agent(
            listen=a.ListenSettings(provider=a.ListenProviderV1(model="nova-3")),
            think=a.ThinkSettings(provider=a.OpenAiThinkProvider(model="gpt-4o-mini")),
            speak=a.SpeakSettings(provider=a.DeepgramSpeakProvider(model="aura-2-thalia-en")),
        ),
    )
    # paced at playback speed (about 1 s of audio per reply, 20 ms frames): a drop right
    # after the first audio frame lands in the middle of the reply
    handler = AgentV1Handler(realtime=True, lead=0.0, chunk_ms=20)
    with (
        DeepgramServer(
            tts=CharTts(), think=_long_reply, routes={"/v1/agent/converse": handler}
        ) as srv,
        FaultProxy("127.0.0.1", srv.port) as proxy,
    ):
        client = h.client(base_url=proxy.url)
        inbox = Inbox()
        conn = h.open(client, "agent.v1", reconnect=FAST)
        conn.messages.subscribe(inbox)
        conn.input.on_next(settings)
        inbox.wait_for(a.SettingsApplied)
        conn.input.on_next(a.InjectUserMessage(content="one"))
        inbox.wait_for(bytes)  # the reply is being spoken
        when_open(conn, cut(proxy))()
        (marker,) = inbox.wait_for(a.AgentAudioCut)
        conn.input.on_next(a.InjectUserMessage(content="two"))
        inbox.wait_for(a.AgentAudioDone)
        h.close(conn)
    items = list(inbox.items)
    first = CharTts.samples(_long_reply_text("one"), 16000) * 2  # bytes of the whole reply
    assert marker.content == _long_reply_text("one")
    assert marker.started is True
    assert 0 < marker.audio_bytes < first
    cut_at = items.index(marker)
    spoken = [x for x in items[:cut_at] if isinstance(x, bytes)]
    assert sum(map(len, spoken)) == marker.audio_bytes
    # every reply opened is closed once: AgentAudioDone, or AgentAudioCut for the one cut
    closes = [
        type(x).__name__
        for x in items
        if isinstance(x, (a.AgentStartedSpeaking, a.AgentAudioDone, a.AgentAudioCut))
    ]
    assert closes == [
        "AgentStartedSpeaking",
        "AgentAudioCut",
        "AgentStartedSpeaking",
        "AgentAudioDone",
    ]
    texts = [x.content for x in items if isinstance(x, a.ConversationText)]
    assert texts == ["one", _long_reply_text("one"), "two", _long_reply_text("two")]


def _long_reply_text(user_text: str) -> str:
    return (f"reply to {user_text}: " + "la " * 60).strip()


# -- 6. non-finite and negative numbers are refused where they are configured -------------------

INF, NAN = float("inf"), float("nan")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"backoff": INF, "max_backoff": INF}, "backoff"),
        ({"max_backoff": NAN}, "max_backoff"),
        ({"max_backoff": INF}, "max_backoff"),
        ({"backoff": -1.0}, "backoff"),
        ({"max_buffer_s": INF}, "max_buffer_s"),
        ({"jitter": NAN}, "jitter"),
        ({"max_attempts": 0}, "max_attempts"),
        ({"max_attempts": True}, "max_attempts"),
        ({"max_attempts": 2.0}, "max_attempts"),
    ],
)
def test_reconnect_refuses_non_finite_and_negative_numbers(
    kwargs: dict[str, Any], name: str
) -> None:
    from rxdeepgram import ConfigurationError

    with pytest.raises(ConfigurationError, match=f"Reconnect {name} must be"):
        Reconnect(**kwargs)


@pytest.mark.parametrize(
    "name",
    ["open_timeout", "close_timeout", "ping_interval", "ping_timeout", "send_queue_bytes"],
)
@pytest.mark.parametrize("value", [INF, NAN, -1.0, 0, True], ids=str)
def test_client_options_refuse_non_finite_and_negative_numbers(name: str, value: Any) -> None:
    from rxdeepgram import AsyncDeepgramClient, ConfigurationError, DeepgramClient

    for cls in (DeepgramClient, AsyncDeepgramClient):
        with pytest.raises(ConfigurationError, match=f"^{name} must be") as raised:
            cls(base_url="ws://127.0.0.1:9", **{name: value})
        assert repr(value) in str(raised.value)


@pytest.mark.parametrize("value", [INF, NAN, -1.0, 0.0])
def test_connect_options_refuse_non_finite_and_negative_numbers(value: float) -> None:
    from rxdeepgram import AsyncDeepgramClient, ConfigurationError, DeepgramClient

    for cls in (DeepgramClient, AsyncDeepgramClient):
        client = cls(base_url="ws://127.0.0.1:9")
        with pytest.raises(ConfigurationError, match="keepalive must be"):
            client.listen.v1.connect(keepalive=value, **RAW)
        with pytest.raises(ConfigurationError, match="Reconnect backoff must be"):
            client.listen.v1.connect(reconnect=Reconnect(backoff=value if value else -1), **RAW)


@pytest.mark.parametrize("value", [INF, NAN, -1.0, 0.0, True], ids=str)
def test_operators_taking_durations_refuse_non_finite_and_negative_numbers(value: Any) -> None:
    from rxdeepgram import InvalidOptionError
    from rxdeepgram import operators as dgo
    from rxdeepgram.audio import AudioFormat, from_bytes, rechunk

    fmt = AudioFormat("linear16", 16000)
    with pytest.raises(InvalidOptionError, match="per="):
        dgo.sentences(per=value)
    with pytest.raises(InvalidOptionError, match="ms="):
        rechunk(value, fmt)
    with pytest.raises(InvalidOptionError, match="ms="):
        from_bytes(bytes(640), fmt, chunk_ms=value)
