"""Listen V1 end to end: rxdeepgram's clients against the local server over real sockets.

Every test runs twice, with the sync client (threads) and the async client (asyncio), through
the harness in ``harness.py``.
"""

from __future__ import annotations

import array
import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from audio_util import chunks, concat, pcm16, silence, tone
from harness import Recorder
from reactivex import operators as ops

from rxdeepgram import (
    AuthenticationError,
    BadRequestError,
    CallbackError,
    ConnectionClosed,
    ConnectionClosedError,
    DeepgramClient,
    InvalidInputError,
    InvalidOptionError,
)
from rxdeepgram.audio import AudioFormat, from_bytes
from rxdeepgram.messages import listen_v1, speak_v1
from rxdeepgram.server import DeepgramServer, ScriptedEngine

KEY = "dg-secret-key-for-tests-4242"
RAW = {"encoding": "linear16", "sample_rate": 16000}

SPEECH_AUDIO = pcm16(concat(tone(0.8), silence(0.6), tone(0.8), silence(1.2)))


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(["hello world", "how are you"])) as srv:
        yield srv


def send_all(conn: Any, audio: bytes, size: int = 3200) -> None:
    for chunk in chunks(audio, size):
        conn.input.on_next(chunk)


def finals(rec: Recorder) -> list[str]:
    return [
        m.channel.alternatives[0].transcript
        for m in rec.items
        if isinstance(m, listen_v1.Results) and m.is_final and m.channel.alternatives[0].transcript
    ]


def test_a_conversation_arrives_in_protocol_order(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    rec = Recorder()
    with h.connect(
        client,
        "listen.v1",
        model="nova-3",
        interim_results=True,
        vad_events=True,
        utterance_end_ms=1000,
        punctuate=True,
        **RAW,
    ) as conn:
        conn.messages.subscribe(rec)
        send_all(conn, SPEECH_AUDIO)
    rec.wait()
    assert rec.completed and rec.error is None
    types = rec.types()
    assert types[0] == "SpeechStarted"
    assert types[-1] == "Metadata"
    assert "UtteranceEnd" in types
    assert finals(rec) == ["Hello world.", "How are you."]
    speech_final = [m for m in rec.items if isinstance(m, listen_v1.Results) and m.speech_final]
    assert len(speech_final) == 2
    interim = [m for m in rec.items if isinstance(m, listen_v1.Results) and not m.is_final]
    assert interim, "interim results were asked for"
    meta = rec.items[-1]
    assert isinstance(meta, listen_v1.Metadata)
    assert meta.request_id == conn.request_id
    assert meta.duration == pytest.approx(len(SPEECH_AUDIO) / 32000)


def test_the_last_words_arrive_after_on_completed(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    conn = h.open(client, "listen.v1", model="nova-3", **RAW)
    rec = Recorder()
    conn.messages.subscribe(rec)
    send_all(conn, pcm16(tone(0.9)))  # speech with no trailing silence: nothing final yet
    conn.input.on_completed()  # CloseStream -> remaining results -> Metadata -> completion
    h.wait(conn)
    rec.wait()
    assert rec.completed
    assert finals(rec) == ["hello world"]
    assert rec.types()[-2:] == ["Results", "Metadata"]
    with pytest.raises(ConnectionClosed):
        conn.input.on_next(b"\x00\x00")


def test_every_early_subscriber_sees_every_message(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    first, second = Recorder(), Recorder()
    with h.connect(client, "listen.v1", model="nova-3", interim_results=True, **RAW) as conn:
        conn.messages.subscribe(first)
        conn.messages.subscribe(second)
        send_all(conn, SPEECH_AUDIO)
    first.wait()
    second.wait()
    assert first.items == second.items
    assert len(first.items) > 4


def test_raw_frames_are_the_undecoded_text(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        conn.raw.subscribe(rec)
        send_all(conn, SPEECH_AUDIO)
    rec.wait()
    assert all(isinstance(f, str) for f in rec.items)
    decoded = [listen_v1.decode(f) for f in rec.items]
    assert [type(m).__name__ for m in decoded][-1] == "Metadata"


def test_raw_subscribed_mid_stream_gets_every_frame_from_then_on(
    h: Any, server: DeepgramServer
) -> None:
    """Frames go to ``raw`` only while someone listens there (the window closes at the first
    send): a subscriber arriving later gets every frame from then on, in order, the same
    frames ``messages`` decodes."""
    client = h.client(base_url=server.url)
    messages, raw = Recorder(), Recorder()
    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        conn.messages.subscribe(messages)
        conn.input.on_next(pcm16(silence(0.1)))  # the first send closes the replay windows
        conn.raw.subscribe(raw)
        send_all(conn, SPEECH_AUDIO)
    messages.wait()
    raw.wait()
    assert raw.items and all(isinstance(f, str) for f in raw.items)
    assert [listen_v1.decode(f) for f in raw.items] == messages.items[-len(raw.items) :]
    assert type(messages.items[-1]).__name__ == "Metadata"


def test_finalize_flushes_with_from_finalize(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        conn.messages.subscribe(rec)
        send_all(conn, pcm16(tone(0.7)))
        conn.input.on_next(listen_v1.Finalize())
    rec.wait()
    flushed = [m for m in rec.items if isinstance(m, listen_v1.Results) and m.from_finalize]
    assert [m.channel.alternatives[0].transcript for m in flushed] == ["hello world"]


def test_seed_send_methods_work_on_the_same_core(h: Any, server: DeepgramServer) -> None:
    from rxdeepgram.compat import ListenV1ControlMessage, ListenV1MediaMessage

    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        conn.messages.subscribe(rec)
        conn.send_media(ListenV1MediaMessage(data=pcm16(tone(0.7))))
        conn.send_control(ListenV1ControlMessage(type="KeepAlive"))
        conn.send_finalize()
        conn.send_media(pcm16(silence(0.2)))
        conn.send_close_stream()
        with pytest.raises(ConnectionClosed, match="nothing more can be sent"):
            conn.send_media(pcm16(silence(0.1)))
    rec.wait()
    assert rec.completed
    assert finals(rec) == ["hello world"]


def test_idle_past_the_server_timeout_stays_open_thanks_to_keepalive(h: Any) -> None:
    with DeepgramServer(engine=ScriptedEngine(["still here"]), idle_timeout=0.6) as srv:
        client = h.client(base_url=srv.url)
        rec = Recorder()
        with h.connect(client, "listen.v1", model="nova-3", keepalive=0.2, **RAW) as conn:
            conn.messages.subscribe(rec)
            send_all(conn, pcm16(silence(0.2)))
            assert not rec.done.wait(1.5), "closed while idle despite KeepAlive"
            send_all(conn, pcm16(concat(tone(0.7), silence(0.5))))
        rec.wait()
    assert rec.completed, rec.error
    assert finals(rec) == ["still here"]


def test_idle_without_keepalive_ends_with_net_0001(h: Any) -> None:
    with DeepgramServer(idle_timeout=0.3) as srv:
        client = h.client(base_url=srv.url)
        conn = h.open(client, "listen.v1", model="nova-3", keepalive=False, **RAW)
        rec = Recorder()
        conn.messages.subscribe(rec)
        rec.wait()
    assert isinstance(rec.error, ConnectionClosedError)
    assert rec.error.code == 1011
    assert rec.error.dg_code == "NET-0001"
    with pytest.raises(ConnectionClosedError, match="NET-0001"):
        conn.input.on_next(b"\x00\x00")


def test_a_wrong_key_is_a_typed_401(h: Any) -> None:
    with DeepgramServer(api_key=KEY) as srv:
        client = h.client(api_key="not-the-key", base_url=srv.url)
        with (
            pytest.raises(AuthenticationError) as info,
            h.connect(client, "listen.v1", model="nova-3"),
        ):
            pass
    err = info.value
    assert err.status == 401
    assert err.dg_error
    assert err.request_id
    assert "not-the-key" not in str(err) and "not-the-key" not in repr(err)


def test_a_rejected_option_is_a_typed_400(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    # extra_query skips the client's validation, so the server is the one that refuses it.
    with (
        pytest.raises(BadRequestError) as info,
        h.connect(client, "listen.v1", model="nova-3", extra_query={"no_such_option": "1"}),
    ):
        pass
    assert info.value.status == 400
    assert "no_such_option" in (info.value.dg_error or "")
    assert info.value.request_id


def test_invalid_options_fail_before_any_network_io(h: Any) -> None:
    client = h.client(base_url="ws://127.0.0.1:9")  # nothing listens there
    with pytest.raises(InvalidOptionError, match="encoding"):
        h.open(client, "listen.v1", model="nova-3", encoding="mp9", sample_rate=16000)
    with pytest.raises(InvalidOptionError, match="model"):
        h.open(client, "listen.v1")


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("some text", "str is not audio"),
        (None, "None is not audio"),
        ([0, 1, 2], "list is not accepted"),
        (array.array("h", [0, 1]), "array is not accepted"),
        (speak_v1.Flush(), "Flush is a speak_v1 message"),
    ],
)
def test_bad_input_raises_at_the_caller(
    h: Any, server: DeepgramServer, bad: object, needle: str
) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        conn.messages.subscribe(rec)
        with pytest.raises(InvalidInputError, match=needle):
            conn.input.on_next(bad)
        send_all(conn, SPEECH_AUDIO)  # the connection is unharmed
    rec.wait()
    assert rec.completed and finals(rec) == ["hello world", "how are you"]


def test_a_raising_subscriber_does_not_kill_the_socket(h: Any, server: DeepgramServer) -> None:
    reported: list[CallbackError] = []
    client = h.client(base_url=server.url, on_callback_error=reported.append)
    rec = Recorder()

    def explode(message: object) -> None:
        raise RuntimeError("user bug")

    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        conn.messages.subscribe(explode)
        conn.messages.subscribe(rec)
        send_all(conn, SPEECH_AUDIO)
    rec.wait()
    assert rec.completed
    assert finals(rec) == ["hello world", "how are you"]
    assert len(reported) == len(rec.items)
    assert all(isinstance(e.error, RuntimeError) for e in reported)


def test_input_on_error_aborts_with_that_error(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    conn = h.open(client, "listen.v1", model="nova-3", **RAW)
    rec = Recorder()
    conn.messages.subscribe(rec)
    send_all(conn, pcm16(tone(0.3)))
    boom = OSError("microphone unplugged")
    conn.input.on_error(boom)
    rec.wait()
    assert rec.error is boom
    with pytest.raises(ConnectionClosed):
        conn.input.on_next(b"\x00\x00")


def test_audio_from_many_threads_is_accepted(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        conn.messages.subscribe(rec)
        quiet = pcm16(silence(0.1))

        def feed() -> None:
            for _ in range(20):
                conn.input.on_next(quiet)

        threads = [threading.Thread(target=feed) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    rec.wait()
    meta = rec.items[-1]
    assert isinstance(meta, listen_v1.Metadata)
    assert meta.duration == pytest.approx(8.0)  # 4 threads x 20 x 0.1 s, nothing lost


def test_a_live_source_stops_quietly_when_the_block_is_left(
    h: Any, server: DeepgramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The README's microphone story: a realtime source still feeding conn.input when the
    # ``with`` block ends. The close goes through, the source stops, no thread dies.
    crashed: list[BaseException | None] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: crashed.append(args.exc_value))
    client = h.client(base_url=server.url)
    rec = Recorder()
    sent: list[int] = []
    source = from_bytes(pcm16(silence(30.0)), AudioFormat("linear16", 16000))
    with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
        conn.messages.subscribe(rec)
        source.pipe(ops.do_action(lambda chunk: sent.append(len(chunk)))).subscribe(conn.input)
        for _ in range(100):
            if len(sent) >= 5:
                break
            threading.Event().wait(0.02)
    rec.wait()
    assert rec.completed and isinstance(rec.items[-1], listen_v1.Metadata)
    threading.Event().wait(0.1)  # the source meets the closed input within a chunk
    stopped_at = len(sent)
    threading.Event().wait(0.1)  # five more chunks' time
    assert len(sent) == stopped_at  # the source stopped at its first refused chunk
    assert crashed == []


def test_the_key_is_in_no_log_record(h: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    for name in ("websockets", "websockets.client", "rxdeepgram", "rxdeepgram.websockets"):
        logging.getLogger(name).setLevel(logging.DEBUG)
    with DeepgramServer(api_key=KEY) as srv:
        client = h.client(api_key=KEY, base_url=srv.url)
        rec = Recorder()
        with h.connect(client, "listen.v1", model="nova-3", **RAW) as conn:
            conn.messages.subscribe(rec)
            send_all(conn, SPEECH_AUDIO)
        rec.wait()
        bad = h.client(api_key=KEY + "-wrong", base_url=srv.url)
        with pytest.raises(AuthenticationError), h.connect(bad, "listen.v1", model="nova-3"):
            pass
        assert KEY not in repr(client) and KEY not in str(client.config)
        assert KEY not in repr(conn)
    if h.transport == "websockets":  # picows logs no headers
        assert any("Authorization" in r.getMessage() for r in caplog.records), (
            "the test must see websockets' header logging to prove it is redacted"
        )
    for record in caplog.records:
        text = record.getMessage() + repr(record.args)
        assert KEY not in text, f"key leaked in {record.name}: {text}"


def test_access_tokens_go_as_bearer() -> None:
    client = DeepgramClient(access_token="tok-123", base_url="ws://127.0.0.1:1")
    assert client.config.request_headers() == {"Authorization": "Bearer tok-123"}
    assert "tok-123" not in repr(client)
    key_client = DeepgramClient(api_key="key-123", base_url="ws://127.0.0.1:1")
    assert key_client.config.request_headers() == {"Authorization": "Token key-123"}
