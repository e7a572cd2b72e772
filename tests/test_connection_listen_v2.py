"""Listen V2 (Flux) end to end: rxdeepgram's clients against the local server over real sockets.

Every test runs twice, with the sync client (threads) and the async client (asyncio), through
the harness in ``harness.py``. Audio is synthetic (tone = speech) and the words are scripted.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from audio_util import chunks, concat, pcm16, silence, tone
from harness import Recorder

from rxdeepgram import (
    BadRequestError,
    ConnectionClosed,
    InvalidInputError,
    InvalidOptionError,
    ServerError,
)
from rxdeepgram.compat import EventType, ListenV2ControlMessage, ListenV2MediaMessage
from rxdeepgram.messages import listen_v1, listen_v2
from rxdeepgram.server import DeepgramServer, ScriptedEngine

pytestmark = pytest.mark.timeout(30)

FLUX: dict[str, Any] = {"model": "flux-general-en", "encoding": "linear16", "sample_rate": 16000}
SCRIPT = ["Hello there.", "How are you?", "Fine thanks."]
QUICK = {**FLUX, "eot_timeout_ms": 1000}
"""End-of-turn confidence reaches 0.7 after 0.7 s of silence (instead of 3.5 s)."""


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine=ScriptedEngine(SCRIPT)) as srv:
        yield srv


def send_all(conn: Any, audio: bytes, size: int = 3200) -> None:
    for chunk in chunks(audio, size):
        conn.input.on_next(chunk)


def turn_events(rec: Recorder) -> list[tuple[str, int, str]]:
    return [
        (m.event, m.turn_index, m.transcript)
        for m in rec.items
        if isinstance(m, listen_v2.TurnInfo) and m.event != "Update"
    ]


def test_a_conversation_with_eager_end_of_turn(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    # Default thresholds: eager at 2.5 s of silence, end of turn at 3.5 s (0.5 / 0.7 x 5 s).
    audio = pcm16(concat(tone(1.0), silence(3.0), tone(0.8), silence(3.6), tone(0.5)))
    with h.connect(
        client,
        "listen.v2",
        model="flux-general-en",
        encoding="linear16",
        sample_rate=16000,
        eager_eot_threshold=0.5,
    ) as conn:
        conn.messages.subscribe(rec)
        send_all(conn, audio)
    rec.wait()
    assert rec.completed and rec.error is None
    first = rec.items[0]
    assert isinstance(first, listen_v2.Connected)
    assert (first.sequence_id, first.request_id) == (0, conn.request_id)
    assert [m.sequence_id for m in rec.items] == list(range(len(rec.items)))
    assert turn_events(rec) == [
        ("StartOfTurn", 0, ""),
        ("EagerEndOfTurn", 0, "Hello there."),
        ("TurnResumed", 0, "Hello there."),
        ("EagerEndOfTurn", 0, "Hello there. How are you?"),
        ("EndOfTurn", 0, "Hello there. How are you?"),
        ("StartOfTurn", 1, ""),
    ]
    end = next(m for m in rec.items if getattr(m, "event", "") == "EndOfTurn")
    assert end.trigger == "model" and end.end_of_turn_confidence == 0.7
    assert end.audio_window_end == pytest.approx(4.8 + 3.5)
    assert [w.word for w in end.words] == ["Hello", "there.", "How", "are", "you?"]
    last = rec.items[-1]  # CloseStream: a trailing Update, no EndOfTurn, then completion
    assert isinstance(last, listen_v2.TurnInfo)
    assert (last.event, last.turn_index, last.transcript) == ("Update", 1, "Fine thanks.")


def test_a_subscriber_right_after_connect_sees_connected(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    conn = h.open(client, "listen.v2", **FLUX)
    rec = Recorder()
    conn.messages.subscribe(rec)
    conn.input.on_completed()
    h.wait(conn)
    rec.wait()
    assert rec.completed and rec.error is None
    assert [type(m) for m in rec.items] == [listen_v2.Connected]
    assert conn.end is None


def test_configure_is_answered_by_configure_success(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v2", **FLUX) as conn:
        conn.messages.subscribe(rec)
        conn.input.on_next(
            listen_v2.Configure(
                thresholds=listen_v2.Thresholds(eager_eot_threshold=0.4, eot_timeout_ms=800),
                keyterms=["rxdeepgram"],
            )
        )
        conn.input.on_next(listen_v2.Configure(thresholds=listen_v2.Thresholds(eot_threshold=0.2)))
        send_all(conn, pcm16(concat(tone(0.6), silence(1.0))))
    rec.wait()
    assert rec.completed
    success, failure = rec.items[1], rec.items[2]
    assert isinstance(success, listen_v2.ConfigureSuccess)
    assert success.thresholds == listen_v2.AppliedThresholds(
        eager_eot_threshold=0.4, eot_threshold=0.7, eot_timeout_ms=800
    )
    assert success.keyterms == ["rxdeepgram"]
    assert isinstance(failure, listen_v2.ConfigureFailure)
    assert failure.code == "INVALID_CONFIGURE" and "eot_threshold" in (failure.description or "")
    # The accepted thresholds are in force: eager at 0.4 x 800 ms, end at 0.7 x 800 ms.
    assert [e for e, _, _ in turn_events(rec)] == ["StartOfTurn", "EagerEndOfTurn", "EndOfTurn"]


def test_on_completed_closes_with_trailing_updates_and_completes(
    h: Any, server: DeepgramServer
) -> None:
    client = h.client(base_url=server.url)
    conn = h.open(client, "listen.v2", **FLUX)
    rec = Recorder()
    conn.messages.subscribe(rec)
    send_all(conn, pcm16(tone(1.0)))  # still speaking: no end of turn yet
    conn.input.on_completed()  # CloseStream -> trailing Update -> close without status (1005)
    h.wait(conn)
    rec.wait()
    assert rec.completed and rec.error is None and conn.end is None
    last = rec.items[-1]
    assert isinstance(last, listen_v2.TurnInfo)
    assert (last.event, last.transcript) == ("Update", "Hello there.")
    assert "EndOfTurn" not in [getattr(m, "event", None) for m in rec.items]
    with pytest.raises(ConnectionClosed):
        conn.input.on_next(b"\x00\x00")


def test_force_end_turn_ends_the_turn_now(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v2", **FLUX) as conn:
        conn.messages.subscribe(rec)
        send_all(conn, pcm16(tone(0.9)))
        conn.input.on_next(listen_v2.ForceEndTurn())
        conn.send_force_end_turn()  # nothing active any more: a Warning
    rec.wait()
    assert rec.completed
    end = next(m for m in rec.items if getattr(m, "event", "") == "EndOfTurn")
    assert (end.trigger, end.transcript) == ("manual", "Hello there.")
    warning = rec.items[-1]
    assert isinstance(warning, listen_v2.Warning)
    assert warning.code == "FORCE_END_TURN_NO_ACTIVE_TURN"


def test_a_server_error_ends_messages_with_server_error(h: Any) -> None:
    with DeepgramServer(idle_timeout=0.3) as srv:
        client = h.client(base_url=srv.url)
        conn = h.open(client, "listen.v2", **FLUX)
        rec = Recorder()
        conn.messages.subscribe(rec)
        rec.wait()
        h.wait(conn)
    error = rec.error
    assert isinstance(error, ServerError)
    assert error.code == "CLIENT_MESSAGE_TIMEOUT"
    assert "0.3 s" in error.description
    assert isinstance(error.message, listen_v2.Error)
    assert rec.items[-1] is error.message  # the Error itself is delivered first
    assert conn.end is error
    with pytest.raises(ConnectionClosed):
        conn.input.on_next(b"\x00\x00")


def test_undecodable_audio_is_a_server_error(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    conn = h.open(client, "listen.v2", model="flux-general-en", encoding="opus", sample_rate=48000)
    rec = Recorder()
    conn.messages.subscribe(rec)
    conn.input.on_next(b"OggS" + bytes(100))
    rec.wait()
    assert isinstance(rec.error, ServerError)
    assert rec.error.code == "UNSUPPORTED_AUDIO_FORMAT"
    assert "opus" in rec.error.description
    assert [type(m) for m in rec.items] == [listen_v2.Connected, listen_v2.Error]


@pytest.mark.parametrize(
    ("bad", "needle"),
    [
        ("some text", "str is not audio"),
        (None, "None is not audio"),
        (listen_v1.KeepAlive(), "KeepAlive is a listen_v1 message"),
        (listen_v1.Finalize(), "Finalize is a listen_v1 message"),
        (ListenV2ControlMessage(type="KeepAlive"), "not a control message of this channel"),
    ],
)
def test_bad_input_raises_invalid_input_error(
    h: Any, server: DeepgramServer, bad: object, needle: str
) -> None:
    client = h.client(base_url=server.url)
    rec = Recorder()
    with h.connect(client, "listen.v2", **QUICK) as conn:
        conn.messages.subscribe(rec)
        with pytest.raises(InvalidInputError, match=needle):
            conn.input.on_next(bad)
        send_all(conn, pcm16(concat(tone(0.5), silence(1.0))))  # the connection is unharmed
    rec.wait()
    assert rec.completed
    assert ("EndOfTurn", 0, "Hello there.") in turn_events(rec)


def test_invalid_options_fail_before_any_network_io(h: Any) -> None:
    client = h.client(base_url="ws://127.0.0.1:9")  # nothing listens there
    with pytest.raises(InvalidOptionError, match="language_hint"):
        h.open(client, "listen.v2", **FLUX, language_hint="en")
    with pytest.raises(InvalidOptionError, match="encoding"):
        h.open(client, "listen.v2", model="flux-general-en", sample_rate=16000)


def test_the_server_refuses_what_the_client_lets_through(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    # The default eot_threshold (0.7) is below this eager threshold: the client cannot know the
    # server's default, the server refuses it.
    with (
        pytest.raises(BadRequestError) as info,
        h.connect(client, "listen.v2", **FLUX, eager_eot_threshold=0.8),
    ):
        pass
    assert info.value.status == 400
    assert "eager_eot_threshold" in (info.value.dg_error or "")
    assert info.value.request_id


def test_the_seed_api_sees_the_whole_session(h: Any, server: DeepgramServer) -> None:
    client = h.client(base_url=server.url)
    seen: list[str] = []
    closed: list[object] = []
    done = threading.Event()
    with h.connect(client, "listen.v2", **QUICK) as conn:
        conn.on(EventType.MESSAGE, lambda m: seen.append(getattr(m, "event", m.type)))
        conn.on(EventType.CLOSE, lambda end: (closed.append(end), done.set()))
        conn.send_media(ListenV2MediaMessage(data=pcm16(concat(tone(0.5), silence(1.0)))))
        conn.send_control(ListenV2ControlMessage(type="CloseStream"))
        # as the seed does: the handlers get what the connection held for them, OPEN first
        if h.kind == "sync":
            conn.start_listening()
        else:
            h.run(conn.start_listening())
    assert done.wait(10)
    assert closed == [None]
    assert seen[0] == "Connected"
    assert [e for e in seen if e not in ("Update",)] == ["Connected", "StartOfTurn", "EndOfTurn"]
