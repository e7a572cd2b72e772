"""The Sans-I/O resume rules, without sockets: what is kept, replayed, shifted, suppressed."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from rxdeepgram import BufferOverflowError, Reconnect
from rxdeepgram._resume._config import is_retryable, retry_delay
from rxdeepgram._resume._policy import AudioLog
from rxdeepgram._resume.agent_v1 import AgentV1Policy
from rxdeepgram._resume.listen_v1 import ListenV1Policy
from rxdeepgram._resume.listen_v2 import ListenV2Policy
from rxdeepgram._resume.speak_v1 import SpeakV1Policy
from rxdeepgram.errors import (
    AuthenticationError,
    BadRequestError,
    ConnectError,
    ConnectionClosedError,
    ConnectionClosedOK,
    DeepgramTimeoutError,
    HandshakeError,
    RateLimitError,
    ServerError,
    ServiceUnavailableError,
)
from rxdeepgram.messages import agent_v1 as ag
from rxdeepgram.messages import listen_v1 as m
from rxdeepgram.messages import listen_v2 as v2
from rxdeepgram.messages import speak_v1 as sp

RAW = {"encoding": "linear16", "sample_rate": 16000}
SECOND = 32000  # bytes of one second of linear16 mono at 16 kHz


def results(start: float, duration: float, words: list[tuple[float, float]], final: bool) -> Any:
    return msgspec.convert(
        {
            "type": "Results",
            "channel_index": [0, 1],
            "duration": duration,
            "start": start,
            "is_final": final,
            "channel": {
                "alternatives": [
                    {
                        "transcript": "x",
                        "confidence": 1.0,
                        "words": [
                            {"word": "x", "start": s, "end": e, "confidence": 1.0} for s, e in words
                        ],
                    }
                ]
            },
            "metadata": {
                "request_id": "r",
                "model_uuid": "u",
                "model_info": {"name": "n", "version": "v", "arch": "a"},
            },
        },
        m.Results,
    )


def test_the_log_keeps_audio_after_the_boundary_and_cuts_the_first_chunk() -> None:
    log = AudioLog(SECOND, 2, max_s=10, overflow="drop_oldest")
    for k in range(10):
        log.add_audio(bytes([k]) * 3200, connected=True)  # 100 ms each
    log.add_control(m.Finalize())
    log.confirm(log.position(0.25))
    start, items = log.replay()
    assert start == 8000
    assert items[0] == bytes([2]) * 1600  # the chunk holding 0.25 s, from 0.25 s on
    assert items[1:8] == [bytes([k]) * 3200 for k in range(3, 10)]
    assert items[-1] == m.Finalize()
    log.confirm(log.total)
    assert log.replay() == (32000, [])  # the Finalize sat at the end: covered


def test_overflow_drops_the_oldest_or_raises_while_disconnected() -> None:
    log = AudioLog(SECOND, 2, max_s=0.5, overflow="drop_oldest")
    for _ in range(8):
        log.add_audio(b"\x01" * 3200, connected=False)
    start, items = log.replay()
    assert sum(len(i) for i in items) <= 16000
    assert log.dropped == start == 8 * 3200 - 16000
    strict = AudioLog(SECOND, 2, max_s=0.5, overflow="error")
    for _ in range(5):
        strict.add_audio(b"\x01" * 3200, connected=False)
    with pytest.raises(BufferOverflowError, match="max_buffer_s"):
        strict.add_audio(b"\x01" * 3200, connected=False)
    strict.add_audio(b"\x01" * 3200, connected=True)  # the server has it: drop the oldest
    assert strict.dropped == 3200 + 1600  # and a tenth of the buffer more, for the next ones
    start, items = strict.replay()
    assert sum(len(i) for i in items) == strict.total - start <= 16000


def test_listen_v1_shifts_every_time_after_a_replay_and_nothing_before() -> None:
    policy = ListenV1Policy(Reconnect(), dict(RAW))
    assert policy.begin(first=True) == []
    for _ in range(30):
        policy.on_send(b"\x00" * 3200, connected=True)  # 3 s
    first = results(0.0, 1.5, [(0.2, 0.6)], final=True)
    assert policy.on_message(first) is first  # no shift: the very same struct
    policy.on_send(m.Finalize(), connected=True)
    items = policy.begin(first=False)  # reconnect: replay from 1.5 s
    assert sum(len(i) for i in items if isinstance(i, bytes)) == round(1.5 * SECOND)
    assert items[-1] == m.Finalize()
    assert policy.replayed_audio_s == pytest.approx(1.5)
    again = policy.on_message(results(0.0, 1.0, [(0.1, 0.5)], final=True))
    assert again.start == pytest.approx(1.5)
    word = again.channel.alternatives[0].words[0]
    assert (word.start, word.end) == pytest.approx((1.6, 2.0))
    started = m.SpeechStarted(channel=[0, 1], timestamp=0.1)
    assert policy.on_message(started).timestamp == pytest.approx(1.6)
    assert policy.on_message(started) is None  # the replay's duplicate
    end = m.UtteranceEnd(channel=[0, 1], last_word_end=0.5)
    assert policy.on_message(end).last_word_end == pytest.approx(2.0)
    assert policy.on_message(end) is None
    assert policy.suppressed == 2


def test_listen_v1_resends_the_last_configure_and_hides_its_ack() -> None:
    policy = ListenV1Policy(Reconnect(), dict(RAW))
    policy.begin(first=True)
    configure = m.Configure(keyterms=["rx"])
    policy.on_send(configure, connected=True)
    ack = m.ConfigureSuccess(keyterms=["rx"])
    assert policy.on_message(ack) is ack
    assert policy.begin(first=False)[0] == configure
    assert policy.on_message(ack) is None
    assert policy.on_message(ack) is ack


def test_which_failures_are_retried() -> None:
    assert is_retryable(ConnectionClosedError(1006), opening=False)
    assert is_retryable(ConnectionClosedError(None), opening=False)
    assert is_retryable(ConnectionClosedError(1011, "NET-0001"), opening=False)
    assert is_retryable(ConnectionClosedError(1012), opening=False)
    assert is_retryable(ConnectionClosedError(4000, "NET-0000 net"), opening=False)
    assert not is_retryable(ConnectionClosedError(1008, "DATA-0000"), opening=False)
    assert not is_retryable(ConnectionClosedOK(1000), opening=False)
    assert not is_retryable(ServerError("x", "y"), opening=False)
    assert not is_retryable(DeepgramTimeoutError("close"), opening=False)
    assert is_retryable(DeepgramTimeoutError("open"), opening=True)
    assert is_retryable(ConnectError("refused"), opening=True)
    assert is_retryable(RateLimitError(429), opening=True)
    assert is_retryable(ServiceUnavailableError(503), opening=True)
    assert not is_retryable(AuthenticationError(401), opening=True)
    assert not is_retryable(BadRequestError(400), opening=True)
    assert not is_retryable(HandshakeError(404), opening=True)


def test_backoff_doubles_with_jitter_and_honours_retry_after() -> None:
    config = Reconnect(backoff=0.5, max_backoff=3, jitter=0.2)
    delays = [retry_delay(config, k, None) for k in (1, 2, 3, 4, 5)]
    for got, base in zip(delays, (0.5, 1, 2, 3, 3), strict=True):
        assert base <= got <= base * 1.2
    limited = HandshakeError.for_status(429, retry_after="7")
    assert isinstance(limited, RateLimitError)
    assert limited.retry_after == 7.0
    assert retry_delay(config, 1, limited) == 7.0
    assert HandshakeError.for_status(429, retry_after="Wed, 21 Oct 2015").retry_after is None


def test_reconnect_defaults_are_the_documented_ones() -> None:
    assert Reconnect() == Reconnect(
        max_attempts=8,
        backoff=0.25,
        max_backoff=8.0,
        jitter=0.25,
        max_buffer_s=60.0,
        on_overflow="drop_oldest",
    )
    assert Reconnect.coerce(True) == Reconnect()
    assert Reconnect.coerce(False) is None
    assert Reconnect.coerce(None) is None


def turn(event: str, index: int, start: float, end: float, seq: int, words: int = 1) -> Any:
    return v2.TurnInfo(
        event=event,
        turn_index=index,
        audio_window_start=start,
        audio_window_end=end,
        sequence_id=seq,
        transcript="x",
        words=[v2.Word(word="x", start=start + 0.1, end=start + 0.3) for _ in range(words)],
    )


def test_listen_v2_continues_turns_and_hides_what_the_replay_repeats() -> None:
    policy = ListenV2Policy(Reconnect(), {"encoding": "linear16", "sample_rate": 16000})
    policy.begin(first=True)
    for _ in range(40):
        policy.on_send(b"\x00" * 3200, connected=True)  # 4 s
    assert policy.on_message(v2.Connected(sequence_id=0)) is not None
    for message in (
        turn("StartOfTurn", 0, 0.0, 0.2, 1),
        turn("EndOfTurn", 0, 0.0, 1.5, 2),
        turn("StartOfTurn", 1, 1.5, 2.0, 3),
        turn("Update", 1, 1.5, 2.5, 4),
    ):
        assert policy.on_message(message) is message  # no rebuild before a drop
    items = policy.begin(first=False)  # the drop: replay from 1.5 s, turn 1 heard again
    assert sum(len(i) for i in items) == round(2.5 * SECOND)
    assert policy.on_message(v2.Connected(sequence_id=0)) is None
    assert policy.on_message(turn("StartOfTurn", 0, 0.0, 0.5, 1)) is None  # turn 1 again
    assert policy.on_message(turn("Update", 0, 0.0, 1.0, 2)) is None  # 2.5 s: already seen
    update = policy.on_message(turn("Update", 0, 0.0, 1.25, 3))
    assert (update.turn_index, update.sequence_id) == (1, 5)
    assert (update.audio_window_start, update.audio_window_end) == pytest.approx((1.5, 2.75))
    assert update.words[0].start == pytest.approx(1.6)
    end = policy.on_message(turn("EndOfTurn", 0, 0.0, 2.0, 4))
    assert (end.event, end.turn_index, end.sequence_id) == ("EndOfTurn", 1, 6)
    assert policy.suppressed == 3


def test_speak_v1_replays_unflushed_text_and_cuts_delivered_audio() -> None:
    policy = SpeakV1Policy(Reconnect())
    policy.begin(first=True)
    for text in ("One.", "Two.", "Three."):
        policy.on_send(sp.Speak(text=text), connected=True)
        policy.on_send(sp.Flush(), connected=True)
    assert policy.on_message(b"a" * 10) == b"a" * 10
    assert policy.on_message(sp.Flushed(sequence_id=0)).sequence_id == 0
    assert policy.on_message(b"b" * 6) == b"b" * 6  # half of "Two." delivered
    items = policy.begin(first=False)
    assert items == [sp.Speak(text="Two."), sp.Flush(), sp.Speak(text="Three."), sp.Flush()]
    assert policy.on_message(sp.Metadata()) is None
    assert policy.on_message(b"b" * 4) is None  # the new session's first bytes: already had
    assert policy.on_message(b"b" * 4 + b"c" * 2) == b"b" * 2 + b"c" * 2
    assert policy.on_message(sp.Flushed(sequence_id=0)).sequence_id == 1
    policy.on_close()
    assert policy.begin(first=False) == [sp.Speak(text="Three."), sp.Flush()]  # close not kept


def test_agent_v1_resends_settings_with_the_conversation_and_holds_until_applied() -> None:
    settings = ag.Settings(
        audio=ag.Audio(input=ag.AudioInput(encoding="linear16", sample_rate=16000)),
        agent=ag.Agent(greeting="Hi."),
    )
    policy = AgentV1Policy(Reconnect())
    policy.begin(first=True)
    assert policy.on_send(settings, connected=True) is settings
    policy.on_message(ag.ConversationText(role="assistant", content="Hi."))
    policy.on_send(ag.InjectUserMessage(content="I am Ada"), connected=True)
    policy.on_message(ag.ConversationText(role="user", content="I am Ada"))
    policy.on_message(ag.ConversationText(role="assistant", content="Hello Ada"))
    policy.on_message(ag.ConversationText(role="user", content="look it up"))
    policy.on_message(
        ag.FunctionCallRequest(
            functions=[ag.FunctionCall(id="a1", name="lookup", arguments="{}", client_side=True)]
        )
    )
    answer = ag.FunctionCallResponse(id="a1", name="lookup", content="42")
    assert policy.on_send(answer, connected=False) is None  # dropped: kept for the new session
    assert policy.on_send(b"\x00" * 320, connected=False) is None
    [again] = policy.begin(first=False)
    assert again.agent.greeting is None
    assert [(c.role, c.content) for c in again.agent.context.messages] == [
        ("assistant", "Hi."),
        ("user", "I am Ada"),
        ("assistant", "Hello Ada"),
    ]
    assert policy.on_send(b"\x01" * 320, connected=True) is None  # held until SettingsApplied
    assert policy.on_message(ag.Welcome()) is None
    assert policy.on_message(ag.SettingsApplied()) is None
    assert policy.outbox == [
        ag.InjectUserMessage(content="look it up"),  # the open turn, asked again
        b"\x00" * 320,
        b"\x01" * 320,
    ]
    policy.outbox.clear()
    assert policy.on_message(ag.ConversationText(role="user", content="look it up")) is None
    request = ag.FunctionCallRequest(
        functions=[ag.FunctionCall(id="b2", name="lookup", arguments="{}", client_side=True)]
    )
    assert policy.on_message(request) is None  # asked once already
    assert policy.outbox == [ag.FunctionCallResponse(id="b2", name="lookup", content="42")]


def test_buffered_audio_is_what_no_final_covers_as_of_the_last_send() -> None:
    """``ResumeStats.buffered_audio_s``: the audio held for a replay; a final result lets go of
    what it covers once audio is sent again (the log is told on the audio path)."""
    policy = ListenV1Policy(Reconnect(), dict(RAW))
    policy.begin(first=True)
    assert policy.buffered_audio_s == 0.0
    for _ in range(30):
        policy.on_send(b"\x00" * 3200, connected=True)  # 3 s
    assert policy.buffered_audio_s == pytest.approx(3.0)
    policy.on_message(results(0.0, 2.0, [(0.2, 1.8)], final=True))
    policy.on_send(b"\x00" * 3200, connected=True)  # +0.1 s, and the final is confirmed
    assert policy.buffered_audio_s == pytest.approx(1.1)


def test_agent_buffers_the_statement_in_progress() -> None:
    policy = AgentV1Policy(Reconnect())
    policy.begin(first=True)
    assert policy.buffered_audio_s == 0.0  # no Settings yet: no rate to count in
    policy.on_send(
        ag.Settings(
            audio=ag.Audio(input=ag.AudioInput(encoding="linear16", sample_rate=16000)),
            agent=ag.Agent(),
        ),
        connected=True,
    )
    for _ in range(10):
        policy.on_send(b"\x00" * 3200, connected=True)  # 1 s at 32,000 B/s
    assert policy.buffered_audio_s == pytest.approx(1.0)
    policy.on_message(ag.ConversationText(role="user", content="hello"))  # heard: let go
    assert policy.buffered_audio_s == 0.0
