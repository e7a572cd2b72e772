"""Microphone and speaker without a sound card: the missing-extra messages, and the adapters
between PortAudio-style callbacks and Rx, driven through fake streams (the modules' own seam:
``microphone(..., open_input)`` and ``Speaker(..., open_output)``)."""

from __future__ import annotations

import importlib.abc
import logging
import struct
import sys
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

import pytest

from rxdeepgram import ConnectionClosedOK
from rxdeepgram.audio import AudioFormat, Speaker, from_microphone, mulaw_encode, speaker
from rxdeepgram.audio._mic import microphone

L16 = AudioFormat("linear16", 16000)


def pcm(*samples: int) -> bytes:
    return struct.pack(f"<{len(samples)}h", *samples)


# --- the extra -----------------------------------------------------------------------------


def test_without_the_extra_the_error_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "sounddevice", None)  # makes `import sounddevice` fail
    with pytest.raises(ImportError, match=r'from_microphone\(\) needs the "mic" extra') as info:
        from_microphone()
    assert 'pip install "rxdeepgram[mic]"' in str(info.value)
    with pytest.raises(ImportError, match=r'speaker\(\) needs the "mic" extra'):
        speaker(L16)


class _NoPortAudio(importlib.abc.MetaPathFinder):
    def find_spec(
        self, name: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> None:
        if name == "sounddevice":
            raise OSError("PortAudio library not found")  # what sounddevice raises
        return None


def test_without_portaudio_the_error_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "sounddevice", raising=False)
    monkeypatch.setattr(sys, "meta_path", [_NoPortAudio(), *sys.meta_path])
    with pytest.raises(ImportError, match="needs the PortAudio library") as info:
        from_microphone()
    assert "PortAudio library not found" in str(info.value)
    assert "libportaudio2" in str(info.value)


# --- microphone ----------------------------------------------------------------------------


class FakeInput:
    """An input stream whose callbacks the test makes."""

    def __init__(
        self, fmt: AudioFormat, blocksize: int, device: Any, on_data: Callable[[bytes], bool]
    ) -> None:
        self.fmt, self.blocksize, self.device, self.on_data = fmt, blocksize, device, on_data
        self.calls: list[str] = []

    def start(self) -> None:
        self.calls.append("start")

    def stop(self) -> None:
        self.calls.append("stop")

    def close(self) -> None:
        self.calls.append("close")


class Opener:
    def __init__(self, fail: str | None = None) -> None:
        self.streams: list[FakeInput] = []
        self.fail = fail

    def __call__(
        self, fmt: AudioFormat, blocksize: int, device: Any, on_data: Callable[[bytes], bool]
    ) -> FakeInput:
        if self.fail == "open":
            raise OSError("Invalid sample rate")
        stream = FakeInput(fmt, blocksize, device, on_data)
        if self.fail == "start":
            stream.start = self._fail_start  # type: ignore[method-assign]
        self.streams.append(stream)
        return stream

    @staticmethod
    def _fail_start() -> None:
        raise OSError("Device unavailable")


def test_the_microphone_emits_each_block_and_stops_on_disposal() -> None:
    opener = Opener()
    source = microphone(L16, 20, "USB Mic", opener)
    assert source.format == L16 and source.duration is None
    assert opener.streams == []  # cold: nothing opens before subscribe
    seen: list[bytes] = []
    subscription = source.subscribe(seen.append)
    (stream,) = opener.streams
    assert (stream.fmt, stream.blocksize, stream.device, stream.calls) == (
        L16,
        320,
        "USB Mic",
        ["start"],
    )
    assert stream.on_data(pcm(1, 2)) is True
    assert stream.on_data(pcm(3, 4)) is True
    assert seen == [pcm(1, 2), pcm(3, 4)]
    subscription.dispose()
    assert stream.calls == ["start", "stop", "close"]
    assert stream.on_data(pcm(5, 6)) is False  # a late callback: nothing emitted
    assert seen == [pcm(1, 2), pcm(3, 4)]
    subscription.dispose()
    assert stream.calls == ["start", "stop", "close"]


def test_the_microphone_stops_quietly_when_its_connection_has_closed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    opener = Opener()
    seen: list[bytes] = []

    def sink(chunk: bytes) -> None:
        if seen:
            raise ConnectionClosedOK(1000, message="Listen V1 connection is closing")
        seen.append(chunk)

    microphone(L16, 20, None, opener).subscribe(sink)
    (stream,) = opener.streams
    with caplog.at_level(logging.DEBUG, logger="rxdeepgram.audio"):
        assert stream.on_data(pcm(1)) is True
        assert stream.on_data(pcm(2)) is False  # capture stops
        assert stream.on_data(pcm(3)) is False
    assert seen == [pcm(1)]
    assert [r.levelname for r in caplog.records] == ["DEBUG"]  # no traceback for this


def test_each_subscription_opens_its_own_stream() -> None:
    opener = Opener()
    source = microphone(L16, 20, None, opener)
    first: list[bytes] = []
    second: list[bytes] = []
    source.subscribe(first.append)
    source.subscribe(second.append)
    assert len(opener.streams) == 2
    opener.streams[1].on_data(pcm(9))
    assert (first, second) == ([], [pcm(9)])


def test_a_g711_microphone_captures_16_bit_and_encodes() -> None:
    opener = Opener()
    fmt = AudioFormat("mulaw", 8000)
    seen: list[bytes] = []
    microphone(fmt, 20, None, opener).subscribe(seen.append)
    (stream,) = opener.streams
    assert (stream.fmt, stream.blocksize) == (AudioFormat("linear16", 8000), 160)
    stream.on_data(pcm(0, 1000, -1000))
    assert seen == [mulaw_encode(pcm(0, 1000, -1000))] == [b"\xff\xce\x4e"]


@pytest.mark.parametrize(
    ("fail", "message"), [("open", "Invalid sample"), ("start", "unavailable")]
)
def test_a_device_that_cannot_open_is_an_on_error(fail: str, message: str) -> None:
    opener = Opener(fail)
    errors: list[Exception] = []
    microphone(L16, 20, None, opener).subscribe(on_error=errors.append)
    assert len(errors) == 1 and message in str(errors[0])
    if fail == "start":
        assert opener.streams[0].calls == ["stop", "close"]


def test_an_observer_that_raises_stops_capture(caplog: pytest.LogCaptureFixture) -> None:
    opener = Opener()

    def broken(_: bytes) -> None:
        raise RuntimeError("connection closed")

    microphone(L16, 20, None, opener).subscribe(broken)
    with caplog.at_level(logging.ERROR, logger="rxdeepgram.audio"):
        assert opener.streams[0].on_data(pcm(1)) is False
    assert "capture stopped" in caplog.text
    assert opener.streams[0].on_data(pcm(2)) is False


# --- speaker -------------------------------------------------------------------------------


class FakeOutput:
    """An output stream the test drives: ``pull(n)`` is one callback asking for n bytes."""

    def __init__(
        self,
        fmt: AudioFormat,
        device: Any,
        fill: Callable[[Any], bool],
        finished: Callable[[], None],
    ) -> None:
        self.fmt, self.device, self._fill, self._finished = fmt, device, fill, finished
        self.calls: list[str] = []
        self.active = False

    def start(self) -> None:
        self.calls.append("start")
        self.active = True

    def close(self) -> None:
        self.calls.append("close")
        self.active = False

    def pull(self, nbytes: int) -> tuple[bytes, bool]:
        assert self.active
        buffer = bytearray(b"\xaa" * nbytes)  # garbage the callback must overwrite
        more = self._fill(buffer)
        if not more:  # PortAudio plays this last block, stops, then says it finished
            self.active = False
            self._finished()
        return bytes(buffer), more


def make_speaker(fmt: AudioFormat = L16) -> tuple[Speaker, FakeOutput]:
    streams: list[FakeOutput] = []

    def open_output(
        fmt: AudioFormat, device: Any, fill: Callable[[Any], bool], finished: Callable[[], None]
    ) -> FakeOutput:
        streams.append(FakeOutput(fmt, device, fill, finished))
        return streams[-1]

    spk = Speaker(fmt, "Headphones", open_output)
    return spk, streams[0]


def test_the_speaker_plays_the_queue_then_silence() -> None:
    spk, stream = make_speaker()
    assert (stream.fmt, stream.device, stream.calls) == (L16, "Headphones", ["start"])
    assert stream.pull(4) == (bytes(4), True)  # nothing queued: silence
    spk.on_next(pcm(1, 2, 3))
    spk.on_next(pcm(4))
    assert spk.pending == 4 / 16000
    assert stream.pull(6) == (pcm(1, 2, 3), True)
    assert stream.pull(6) == (pcm(4) + bytes(4), True)  # underrun: padded with silence
    assert spk.pending == 0 and not spk.finished


def test_partial_frames_wait_for_their_rest() -> None:
    spk, stream = make_speaker(AudioFormat("linear16", 16000, 2))
    spk.on_next(pcm(1, 2) + b"\x03")
    assert stream.pull(8) == (pcm(1, 2) + bytes(4), True)
    spk.on_next(b"\x00" + pcm(4))
    assert stream.pull(4) == (pcm(3, 4), True)


def test_completion_plays_out_the_queue_then_finishes() -> None:
    spk, stream = make_speaker()
    spk.on_next(pcm(*range(1, 6)))
    spk.on_completed()
    spk.on_next(pcm(99))  # after completion: ignored
    assert stream.pull(4) == (pcm(1, 2), True)
    assert stream.pull(4) == (pcm(3, 4), True)
    assert stream.pull(4) == (pcm(5, 0), False)  # the last block, then stop
    assert spk.wait(5) and spk.finished
    assert stream.calls == ["start", "close"]
    assert repr(spk) == "<Speaker linear16 16000 Hz mono, finished>"


def test_clear_drops_the_queue_for_barge_in() -> None:
    spk, stream = make_speaker()
    spk.on_next(pcm(*range(1, 100)))
    assert stream.pull(4) == (pcm(1, 2), True)
    spk.clear()
    assert spk.pending == 0
    assert stream.pull(4) == (bytes(4), True)
    spk.on_next(pcm(7))
    assert stream.pull(2) == (pcm(7), True)  # playback goes on with what comes next


def test_an_error_stops_playback_at_once() -> None:
    spk, stream = make_speaker()
    spk.on_next(pcm(1, 2, 3))
    boom = RuntimeError("boom")
    spk.on_error(boom)
    assert spk.error is boom
    assert stream.pull(4) == (bytes(4), False)
    assert spk.wait(5)


def test_close_stops_now() -> None:
    spk, stream = make_speaker()
    spk.on_next(pcm(1, 2, 3))
    spk.close()
    assert spk.finished and stream.calls == ["start", "close"]
    spk.close()
    assert stream.calls == ["start", "close"]
    assert spk.wait(0)


def test_a_g711_speaker_decodes_for_the_sound_card() -> None:
    spk, stream = make_speaker(AudioFormat("alaw", 8000))
    assert stream.fmt == AudioFormat("linear16", 8000)
    spk.on_next(b"\xd5\x55\xaa")
    assert stream.pull(6) == (pcm(8, -8, 32256), True)


def test_wait_times_out_while_playing() -> None:
    spk, _ = make_speaker()
    assert spk.wait(0.01) is False
    assert repr(spk) == "<Speaker linear16 16000 Hz mono, playing>"


def test_a_stream_that_cannot_start_is_closed_and_raises() -> None:
    closed: list[bool] = []

    class Broken:
        def start(self) -> None:
            raise OSError("Device unavailable")

        def close(self) -> None:
            closed.append(True)

    with pytest.raises(OSError, match="Device unavailable"):
        Speaker(L16, None, lambda *_: Broken())
    assert closed == [True]
