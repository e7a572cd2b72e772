"""Speak V1 end to end: rxdeepgram's clients against the local server over real sockets.

Every test runs twice, with the sync client (threads) and the async client (asyncio), through
the harness in ``harness.py``. The server's ``tone`` engine makes audio that follows from the
text alone, so the tests know exactly which bytes must arrive.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from harness import Recorder

from rxdeepgram import ConnectionClosed, InvalidInputError
from rxdeepgram.messages import speak_v1
from rxdeepgram.messages.speak_v1 import Clear, Cleared, Flush, Flushed, Metadata, Speak, Warning
from rxdeepgram.server import DeepgramServer
from rxdeepgram.server._pcm import encode_pcm16
from rxdeepgram.server.engines.tone import ToneTtsEngine
from rxdeepgram.server.speak_v1 import FLUSH_LIMIT_CODE, split_sentences

pytestmark = pytest.mark.timeout(30)

KEY = "dg-speak-test-key-0007"
VOICE: dict[str, Any] = {"model": "aura-2-thalia-en", "encoding": "linear16", "sample_rate": 24000}
TONE = ToneTtsEngine()


def expected(text: str, rate: int = 24000, encoding: str = "linear16") -> bytes:
    sentences, tail = split_sentences(text)
    pcm = b"".join(TONE.synthesize(part, rate) for part in [*sentences, tail] if part)
    return encode_pcm16(pcm, encoding)


class Watcher(Recorder):
    """A Recorder that can also wait for a condition on what it has seen so far."""

    def __init__(self) -> None:
        super().__init__()
        self._changed = threading.Condition()

    def on_next(self, item: Any) -> None:
        with self._changed:
            super().on_next(item)
            self._changed.notify_all()

    def on_error(self, error: Exception) -> None:
        with self._changed:
            super().on_error(error)
            self._changed.notify_all()

    def on_completed(self) -> None:
        with self._changed:
            super().on_completed()
            self._changed.notify_all()

    def wait_for(self, done: Callable[[list[Any]], bool], timeout: float = 10.0) -> None:
        with self._changed:
            ok = self._changed.wait_for(lambda: done(self.items) or self.done.is_set(), timeout)
        assert ok and done(self.items), f"condition not met; saw {self.types()}"

    def count(self, cls: type) -> int:
        return sum(1 for item in self.items if type(item) is cls)

    def wait_count(self, cls: type, n: int = 1) -> None:
        self.wait_for(lambda items: sum(1 for item in items if type(item) is cls) >= n)

    @property
    def audio(self) -> bytes:
        return b"".join(item for item in self.items if type(item) is bytes)

    def squeezed(self) -> list[str]:
        out: list[str] = []
        for item in self.items:
            kind = "audio" if type(item) is bytes else type(item).__name__
            if not (kind == "audio" and out and out[-1] == "audio"):
                out.append(kind)
        return out


@pytest.fixture
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(api_key=KEY) as srv:
        yield srv


def test_text_in_audio_and_flushed_out(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    rec = Watcher()
    with h.connect(client, "speak.v1", **VOICE) as conn:
        conn.messages.subscribe(rec)
        conn.input.on_next("Hello there.")  # a plain str is sent as Speak
        conn.input.on_next(Speak(text=" How are you"))
        conn.input.on_next(Flush())
        rec.wait_count(Flushed)
        assert not rec.done.is_set()  # the connection stays open after a Flush
    rec.wait()
    assert rec.completed and rec.error is None
    # Leaving the block sent Flush + Close: a second Flushed, with no audio before it.
    assert rec.squeezed() == ["Metadata", "audio", "Flushed", "Flushed"]
    meta = rec.items[0]
    assert isinstance(meta, Metadata)
    assert meta.request_id == conn.request_id
    assert meta.model_name == "aura-2-thalia-en"
    assert rec.items[-2:] == [Flushed(sequence_id=0), Flushed(sequence_id=1)]
    assert rec.audio == expected("Hello there. How are you")
    assert all(type(item) is bytes for item in rec.items[1:-2])  # audio is plain bytes


def test_on_completed_flushes_closes_and_completes(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    conn = h.open(client, "speak.v1", **VOICE)
    rec = Watcher()
    conn.messages.subscribe(rec)
    conn.input.on_next("The last words")  # no sentence end: nothing is spoken yet
    conn.input.on_completed()  # Flush + Close -> the last audio, Flushed, close 1000
    h.wait(conn)
    rec.wait()
    assert rec.completed and rec.error is None
    assert rec.squeezed() == ["Metadata", "audio", "Flushed"]
    assert rec.audio == expected("The last words")
    assert conn.closed and conn.end is None
    with pytest.raises(ConnectionClosed):
        conn.input.on_next("too late")


def test_each_server_message_decodes_to_its_own_class(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    rec = Watcher()
    with h.connect(client, "speak.v1", **VOICE) as conn:
        conn.messages.subscribe(rec)
        conn.input.on_next("Clear me")
        conn.input.on_next(Clear())
        rec.wait_count(Cleared)
        for _ in range(21):  # the 21st Flush within a minute earns a Warning
            conn.input.on_next(Flush())
        rec.wait_count(Warning)
        rec.wait_count(Flushed, 20)
    rec.wait()
    assert rec.completed
    classes = {type(item) for item in rec.items}
    assert classes == {Metadata, Cleared, Flushed, Warning}  # nothing was spoken
    (cleared,) = [item for item in rec.items if isinstance(item, Cleared)]
    assert cleared == Cleared(sequence_id=0) and cleared.type == "Cleared"
    warnings = [item for item in rec.items if isinstance(item, Warning)]
    assert len(warnings) == 2  # the 21st Flush, and on_completed's Flush
    warning = warnings[0]
    assert warning.type == "Warning" and warning.code == FLUSH_LIMIT_CODE
    assert not isinstance(warning, Flushed) and not isinstance(cleared, Flushed)
    flushed = [item.sequence_id for item in rec.items if isinstance(item, Flushed)]
    assert flushed == list(range(20))  # on_completed's own Flush was over the limit too
    # Decoding the same frames directly gives the same classes.
    assert type(speak_v1.decode('{"type":"Cleared","sequence_id":3}')) is Cleared
    assert type(speak_v1.decode('{"type":"Flushed","sequence_id":3}')) is Flushed


def test_clear_drops_the_buffered_text(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    rec = Watcher()
    with h.connect(client, "speak.v1", **VOICE) as conn:
        conn.messages.subscribe(rec)
        conn.send_text("Never heard")
        conn.send_clear()
        rec.wait_count(Cleared)
        conn.send_text("Heard")
        conn.send_flush()
        rec.wait_count(Flushed)
    rec.wait()
    assert rec.squeezed() == ["Metadata", "Cleared", "audio", "Flushed", "Flushed"]
    assert rec.audio == expected("Heard")


def test_mulaw_at_8000_hz(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    rec = Watcher()
    with h.connect(client, "speak.v1", model="aura-2-thalia-en", encoding="mulaw") as conn:
        conn.messages.subscribe(rec)
        conn.input.on_next("One second of mu law")
    rec.wait()
    assert rec.completed
    assert rec.audio == expected("One second of mu law", 8000, "mulaw")
    chunks = [item for item in rec.items if type(item) is bytes]
    assert {len(c) for c in chunks[:-1]} == {800}  # 100 ms at 8,000 bytes per second


def test_bytes_are_refused_at_the_caller(h: Any, server: DeepgramServer) -> None:
    client = h.client(api_key=KEY, base_url=server.url)
    rec = Watcher()
    with h.connect(client, "speak.v1", **VOICE) as conn:
        conn.messages.subscribe(rec)
        with pytest.raises(InvalidInputError):
            conn.input.on_next(b"\x00\x01")
        with pytest.raises(InvalidInputError):
            conn.input.on_next(42)
        conn.input.on_next("Still fine")
    rec.wait()
    assert rec.completed and rec.error is None
    assert rec.audio == expected("Still fine")


def test_a_server_limit_is_refused_at_the_caller(h: Any, server: DeepgramServer) -> None:
    """Deepgram's 2,000 characters per Speak (past it the server closes 1009 ``BIG-0001``,
    see test_server_speak_v1.py) are checked before anything reaches the wire."""
    client = h.client(api_key=KEY, base_url=server.url)
    conn = h.open(client, "speak.v1", **VOICE)
    rec = Watcher()
    conn.messages.subscribe(rec)
    with pytest.raises(InvalidInputError, match="2001 characters"):
        conn.input.on_next("a" + " " * 1999 + "b")  # 2,001 characters in one Speak
    conn.input.on_next("a" + " " * 1998 + "b")  # 2,000: fine
    h.close(conn)
    rec.wait()
    assert rec.error is None
    assert rec.types()[0] == "Metadata"
    assert "Flushed" in rec.types()
