"""The Sans-I/O resume rules, without sockets: what is kept, replayed, shifted, suppressed."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from rxdeepgram import BufferOverflowError, Reconnect
from rxdeepgram._resume._config import is_retryable, retry_delay
from rxdeepgram._resume._policy import AudioLog
from rxdeepgram._resume.listen_v1 import ListenV1Policy
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
from rxdeepgram.messages import listen_v1 as m

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
    assert strict.dropped == 3200


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
