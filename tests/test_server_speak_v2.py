"""The local server's /v2/speak channel (Flux TTS) against a real ``websockets`` client.

The ``tone`` engine's audio follows from the text alone, so each test knows which bytes and how
many milliseconds of audio a turn makes; a gated engine makes the mid-synthesis cases
deterministic. Helpers (``Seen``, ``until``...) are those of the Speak V1 server tests.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from test_server_speak_v1 import (
    WAIT,
    FailingEngine,
    GatedEngine,
    Seen,
    receive,
    until,
    until_closed,
)
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import InvalidStatus

from rxdeepgram.server import DeepgramServer, SpeakV2Handler
from rxdeepgram.server._pcm import encode_pcm16
from rxdeepgram.server.engines.tone import ToneTtsEngine
from rxdeepgram.server.speak_v1 import split_sentences

pytestmark = pytest.mark.timeout(30)

TONE = ToneTtsEngine()
BYTES_PER_MS = 48  # linear16 at 24 kHz


def expected(text: str, rate: int = 24000, encoding: str = "linear16", speed: float = 1.0) -> bytes:
    """The audio of one turn's ``text`` (synthesised sentence by sentence)."""
    sentences, tail = split_sentences(text)
    pcm = b"".join(TONE.synthesize(part, rate, speed) for part in [*sentences, tail] if part)
    return encode_pcm16(pcm, encoding)


def ms(text: str) -> float:
    return len(expected(text)) / BYTES_PER_MS


def speak(text: str) -> str:
    return json.dumps({"type": "Speak", "text": text})


def msg(kind: str, **fields: Any) -> str:
    return json.dumps({"type": kind, **fields})


FLUSH = msg("Flush")
CLOSE = msg("Close")


def interrupt(offset: int | None = None) -> str:
    if offset is None:
        return msg("Interrupt")
    return msg("Interrupt", playback_offset={"type": "time_ms", "value": offset})


@asynccontextmanager
async def opened(
    url: str, query: str = "model=flux-haley-en", **kwargs: Any
) -> AsyncIterator[ClientConnection]:
    """A socket on /v2/speak whose ``Connected`` was read and checked to come first."""
    async with connect(f"{url}/v2/speak?{query}", open_timeout=WAIT, **kwargs) as ws:
        first = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
        assert first["type"] == "Connected"
        yield ws


@pytest.fixture
async def server() -> AsyncIterator[DeepgramServer]:
    async with DeepgramServer() as srv:
        yield srv


def json_of(seen: Seen, kind: str) -> list[dict[str, Any]]:
    return [f for f in seen.frames if isinstance(f, dict) and f["type"] == kind]


# --- Connected and the handshake -------------------------------------------------------------


async def test_connected_comes_first_with_the_request_id(server: DeepgramServer) -> None:
    async with connect(f"{server.url}/v2/speak?model=flux-alexis-en") as ws:
        assert ws.response is not None
        request_id = ws.response.headers["dg-request-id"]
        first = json.loads(await asyncio.wait_for(ws.recv(), WAIT))
    assert first["type"] == "Connected"
    assert first["request_id"] == request_id
    assert first["model_name"] == "flux-alexis-en"
    assert isinstance(first["model_version"], str) and first["model_version"]
    assert len(first["model_uuids"]) == 1


@pytest.mark.parametrize(
    ("query", "option"),
    [
        ("encoding=linear16", "model"),
        ("model=aura-2-thalia-en", "model"),
        ("model=flux-general-en", "model"),
        ("model=flux-haley-en&speed=1.07", "speed"),
        ("model=flux-haley-en&speed=2", "speed"),
        ("model=flux-haley-en&expressivity=1.5", "expressivity"),
        ("model=flux-haley-en&encoding=mulaw&sample_rate=24000", "sample_rate"),
        ("model=flux-haley-en&encoding=mp3", "encoding"),
        ("model=flux-haley-en&bogus=1", "bogus"),
    ],
)
async def test_bad_options_are_refused_with_400(
    server: DeepgramServer, query: str, option: str
) -> None:
    with pytest.raises(InvalidStatus) as info:
        async with connect(f"{server.url}/v2/speak?{query}"):
            pass
    response = info.value.response
    assert response.status_code == 400
    assert option in response.headers["dg-error"]
    assert json.loads(response.body)["err_code"] == "Bad Request"


async def test_speed_is_refused_for_an_engine_without_it() -> None:
    async with DeepgramServer(tts=FailingEngine()) as srv:  # no supports_speed
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"{srv.url}/v2/speak?model=flux-haley-en&speed=1.1"):
                pass
    assert info.value.response.status_code == 400
    assert "speed" in info.value.response.headers["dg-error"]


# --- turns ------------------------------------------------------------------------------------


async def test_a_turn_speech_started_audio_flushed_audio_speech_metadata(
    server: DeepgramServer,
) -> None:
    text = "Sure, I can help. Let me look"
    async with opened(server.url) as ws:
        await ws.send(speak("Sure, I can "))
        await ws.send(speak("help. Let me look"))
        await ws.send(FLUSH)
        seen = await until(ws, "SpeechMetadata")
    # The complete sentence streams before the Flush; the tail's audio follows Flushed.
    assert seen.squeezed() == ["SpeechStarted", "audio", "Flushed", "audio", "SpeechMetadata"]
    started, flushed, meta = seen.frames[0], *json_of(seen, "Flushed"), seen.frames[-1]
    assert isinstance(started, dict) and isinstance(meta, dict)
    assert started["speech_id"].startswith("dg_sp_") and len(started["speech_id"]) == 18
    int(started["speech_id"][6:], 16)
    assert flushed["speech_id"] == meta["speech_id"] == started["speech_id"]
    assert seen.audio == expected(text)
    assert meta["audio_duration_ms"] == round(ms(text))
    assert meta["input_character_count"] == meta["billable_character_count"] == len(text)
    assert meta["controls_applied"] == {
        "pronunciations_applied": 0,
        "pronunciation_warnings": 0,
        "breaks_applied": 0,
    }
    assert all(len(chunk) <= 4800 for chunk in seen.chunks)


async def test_complete_sentences_stream_before_any_flush(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak("First one. And then"))
        seen = Seen()
        while len(seen.audio) < len(expected("First one. ")):
            await receive(ws, seen)
    assert seen.squeezed() == ["SpeechStarted", "audio"]
    assert seen.audio == expected("First one. ")


async def test_a_flush_with_no_active_turn_is_a_warning(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(FLUSH)
        first = await until(ws, "Warning")
        await ws.send(speak("Hi"))
        await ws.send(FLUSH)
        await until(ws, "SpeechMetadata")
        await ws.send(FLUSH)  # the turn is over: no active turn again
        second = await until(ws, "Warning")
    assert [f["code"] for f in json_of(first, "Warning") + json_of(second, "Warning")] == [
        "NO_ACTIVE_SPEECH",
        "NO_ACTIVE_SPEECH",
    ]


async def test_a_speak_after_flush_queues_a_pending_turn(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak("One. Two"))
        await ws.send(FLUSH)
        await ws.send(speak("Three"))
        await ws.send(FLUSH)
        seen = Seen()
        while len(json_of(seen, "SpeechMetadata")) < 2:
            await receive(ws, seen)
    assert seen.squeezed() == [
        "SpeechStarted",
        "audio",
        "Flushed",
        "audio",
        "SpeechMetadata",
        "SpeechStarted",
        "Flushed",
        "audio",
        "SpeechMetadata",
    ]
    ids = [f["speech_id"] for f in seen.frames if isinstance(f, dict)]
    assert ids[0] == ids[1] == ids[2] != ids[3]
    assert ids[3] == ids[4] == ids[5]
    assert seen.audio == expected("One. Two") + expected("Three")


async def test_a_turn_with_nothing_to_say(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak("..."))
        await ws.send(FLUSH)
        seen = await until(ws, "SpeechMetadata")
    assert seen.squeezed() == ["SpeechStarted", "Flushed", "Warning", "SpeechMetadata"]
    assert json_of(seen, "Warning")[0]["code"] == "NO_SYNTHESIZABLE_TEXT"
    assert json_of(seen, "SpeechMetadata")[0]["audio_duration_ms"] == 0


@pytest.mark.parametrize(
    ("encoding", "rate"), [("linear16", 16000), ("mulaw", 8000), ("alaw", 16000)]
)
async def test_encodings_and_sample_rates(server: DeepgramServer, encoding: str, rate: int) -> None:
    query = f"model=flux-haley-en&encoding={encoding}&sample_rate={rate}"
    async with opened(server.url, query) as ws:
        await ws.send(speak("Encoded words"))
        await ws.send(FLUSH)
        seen = await until(ws, "SpeechMetadata")
    assert seen.audio == expected("Encoded words", rate, encoding)


# --- Interrupt ---------------------------------------------------------------------------------


async def test_interrupt_before_any_audio_is_ignored(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(interrupt(100))
        seen = await until(ws, "Warning")
    assert json_of(seen, "Warning")[0]["code"] == "NO_AUDIO_GENERATED"


async def test_interrupt_with_an_offset_splits_the_text(server: DeepgramServer) -> None:
    first, second, tail = "One two three. ", "Four five six. ", "Seven"
    async with opened(server.url) as ws:
        await ws.send(speak(first + second + tail))  # no Flush: the turn stays active
        seen = Seen()
        while len(seen.audio) < len(expected(first + second)):
            await receive(ws, seen)
        # The user heard the first sentence and the word "Four" (not "five").
        played = round(ms(first) + TONE.duration("Four ") * 1000) + 5
        await ws.send(interrupt(played))
        answer = await until(ws, "SpeechInterrupted")
        await ws.send(CLOSE)
        end = await until_closed(ws)
    assert answer.squeezed() == ["SpeechInterrupted"]
    frame = answer.frames[0]
    assert isinstance(frame, dict)
    assert frame["audio_played_ms"] == played
    assert frame["text_spoken"] == first + "Four "
    assert frame["text_remaining"] == "five six. Seven"
    meta = frame["metadata"]
    assert meta["speech_id"] == seen.frames[0]["speech_id"]  # type: ignore[index]
    assert meta["audio_duration_ms"] == played  # the turn started at 0
    assert meta["input_character_count"] == len(first + second + tail)
    # No audio and no SpeechMetadata of the interrupted turn after SpeechInterrupted; the
    # session total is rebased onto what was played.
    assert end.squeezed() == ["SessionMetadata"]
    assert end.frames[0] == {
        "type": "SessionMetadata",
        "total_audio_duration_ms": played,
        "total_input_character_count": len(first + second + tail),
        "total_billable_character_count": len(first + second + tail),
    }
    assert ws.close_code == 1000


async def test_interrupt_without_an_offset(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak("Long sentence here. More"))
        seen = Seen()
        while len(seen.audio) < len(expected("Long sentence here. ")):
            await receive(ws, seen)
        await ws.send(interrupt())
        answer = await until(ws, "SpeechInterrupted")
    frame = answer.frames[-1]
    assert isinstance(frame, dict)
    assert frame["audio_played_ms"] == round(ms("Long sentence here. "))
    assert "text_spoken" not in frame and "text_remaining" not in frame
    assert frame["metadata"]["audio_duration_ms"] == round(ms("Long sentence here. "))


async def test_interrupt_offsets_must_advance(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak("First turn speaks. On"))
        await until(ws, "SpeechStarted")
        seen = Seen()
        while len(seen.audio) < len(expected("First turn speaks. ")):
            await receive(ws, seen)
        await ws.send(interrupt(500))
        await until(ws, "SpeechInterrupted")
        await ws.send(speak("Second turn. On"))
        seen = Seen()
        while len(seen.audio) < len(expected("Second turn. ")):
            await receive(ws, seen)
        await ws.send(interrupt(500))  # not past the previous position
        refused = await until(ws, "Warning")
        await ws.send(interrupt(10**7))  # past anything generated
        beyond = await until(ws, "Warning")
        await ws.send(interrupt(900))
        accepted = await until(ws, "SpeechInterrupted")
    assert json_of(refused, "Warning")[0]["code"] == "INVALID_INTERRUPT_OFFSET"
    assert json_of(beyond, "Warning")[0]["code"] == "INVALID_INTERRUPT_OFFSET"
    assert json_of(accepted, "SpeechInterrupted")[0]["audio_played_ms"] == 900


async def test_interrupt_with_no_active_turn_is_a_warning(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak("Done."))
        await ws.send(FLUSH)
        await until(ws, "SpeechMetadata")
        await ws.send(interrupt())
        seen = await until(ws, "Warning")
    assert json_of(seen, "Warning")[0]["code"] == "NO_ACTIVE_SPEECH"


async def test_interrupt_while_synthesising_drops_the_rest_and_keeps_pending_turns() -> None:
    engine = GatedEngine()
    async with DeepgramServer(tts=engine) as srv, opened(srv.url) as ws:
        await ws.send(speak("Warm up."))
        await ws.send(FLUSH)
        engine.gate.set()
        await until(ws, "SpeechMetadata")
        engine.gate.clear()
        engine.started.clear()
        await ws.send(speak("Active turn. Never heard"))
        await ws.send(FLUSH)
        await ws.send(speak("Pending turn"))
        await ws.send(FLUSH)
        assert await asyncio.to_thread(engine.started.wait, WAIT)  # "Active turn. " in synthesis
        await ws.send(interrupt())
        answer = await until(ws, "SpeechInterrupted")
        engine.gate.set()  # the interrupted synthesis finishes; its audio must not be sent
        rest = await until(ws, "SpeechMetadata")
    assert answer.squeezed() == ["SpeechStarted", "SpeechInterrupted"]
    assert rest.frames[0]["type"] == "SpeechStarted"  # type: ignore[index]
    assert rest.squeezed() == ["SpeechStarted", "Flushed", "audio", "SpeechMetadata"]
    assert rest.audio == expected("Pending turn")
    assert engine.calls == ["Warm up.", "Active turn. ", "Pending turn"]


# --- Configure ---------------------------------------------------------------------------------


async def test_configure_speed(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(msg("Configure"))
        unset = await until(ws, "ConfigureSuccess")
        await ws.send(msg("Configure", speed=1.6))
        out_of_range = await until(ws, "ConfigureFailure")
        await ws.send(msg("Configure", speed=1.07))
        off_step = await until(ws, "ConfigureFailure")
        await ws.send(msg("Configure", speed=1.5))
        applied = await until(ws, "ConfigureSuccess")
        await ws.send(speak("Faster words"))
        await ws.send(FLUSH)
        turn = await until(ws, "SpeechMetadata")
    assert unset.frames == [{"type": "ConfigureSuccess", "applied": {}}]
    failure = out_of_range.frames[0]
    assert isinstance(failure, dict)
    assert (failure["code"], failure["field"], failure["value"]) == (
        "SPEED_OUT_OF_RANGE",
        "speed",
        1.6,
    )
    assert off_step.frames[0]["code"] == "SPEED_INCREMENT_INVALID"  # type: ignore[index]
    assert applied.frames == [{"type": "ConfigureSuccess", "applied": {"speed": 1.5}}]
    assert turn.audio == expected("Faster words", speed=1.5)


async def test_configure_echoes_the_query_speed(server: DeepgramServer) -> None:
    async with opened(server.url, "model=flux-haley-en&speed=0.8") as ws:
        await ws.send(msg("Configure"))
        seen = await until(ws, "ConfigureSuccess")
    assert seen.frames == [{"type": "ConfigureSuccess", "applied": {"speed": 0.8}}]


async def test_configure_speed_not_supported_by_the_engine() -> None:
    engine = GatedEngine()  # no supports_speed
    async with DeepgramServer(tts=engine) as srv, opened(srv.url) as ws:
        await ws.send(msg("Configure", speed=1.1))
        seen = await until(ws, "ConfigureFailure")
    frame = seen.frames[0]
    assert isinstance(frame, dict)
    assert frame["code"] == "SPEED_NOT_SUPPORTED" and frame["field"] == "speed"
    assert "value" not in frame


# --- Close ---------------------------------------------------------------------------------------


async def test_close_finishes_the_open_turn_then_session_metadata(
    server: DeepgramServer,
) -> None:
    async with opened(server.url) as ws:
        await ws.send(speak("A flushed turn."))
        await ws.send(FLUSH)
        await ws.send(speak("An open turn"))
        await ws.send(CLOSE)
        await ws.send(speak("ignored after Close"))
        seen = await until_closed(ws)
    assert ws.close_code == 1000
    assert seen.squeezed() == [
        "SpeechStarted",
        "Flushed",
        "audio",
        "SpeechMetadata",
        "SpeechStarted",
        "audio",
        "SpeechMetadata",  # no Flushed: no Flush asked for one
        "SessionMetadata",
    ]
    total = ms("A flushed turn.") + ms("An open turn")
    assert seen.frames[-1] == {
        "type": "SessionMetadata",
        "total_audio_duration_ms": round(total),
        "total_input_character_count": len("A flushed turn.An open turn"),
        "total_billable_character_count": len("A flushed turn.An open turn"),
    }


async def test_close_on_an_idle_session(server: DeepgramServer) -> None:
    async with opened(server.url) as ws:
        await ws.send(CLOSE)
        seen = await until_closed(ws)
    assert seen.frames == [
        {
            "type": "SessionMetadata",
            "total_audio_duration_ms": 0,
            "total_input_character_count": 0,
            "total_billable_character_count": 0,
        }
    ]
    assert ws.close_code == 1000


# --- errors and timeouts ------------------------------------------------------------------------


async def fatal(ws: ClientConnection) -> tuple[dict[str, Any], int | None, str]:
    seen = await until_closed(ws)
    error = json_of(seen, "Error")
    assert len(error) == 1 and seen.frames[-1] is error[0], seen.types
    return error[0], ws.close_code, ws.close_reason or ""


@pytest.mark.parametrize(
    ("frame", "code", "close"),
    [
        (b"\x00\x01", "MESSAGE-0000", 1003),
        ("{not json", "MESSAGE-0000", 1003),
        (msg("Clear"), "DATA-0000", 1008),
        (msg("Speak"), "DATA-0000", 1008),
        (msg("Flush", extra=1), "DATA-0000", 1008),
        (msg("Interrupt", playback_offset={"type": "frames", "value": 1}), "DATA-0000", 1008),
        (speak("Wait {pause:500ms} here"), "DATA-0002", 1008),
        (speak("x" * 70000), "BIG-0000", 1009),
    ],
)
async def test_errors_are_an_error_message_then_the_close(
    server: DeepgramServer, frame: str | bytes, code: str, close: int
) -> None:
    async with opened(server.url) as ws:
        await ws.send(frame)
        error, close_code, reason = await fatal(ws)
    assert error["code"] == code and error["description"]
    assert close_code == close
    assert reason.startswith(code)


async def test_an_engine_failure_is_net_0000() -> None:
    async with DeepgramServer(tts=FailingEngine()) as srv, opened(srv.url) as ws:
        await ws.send(speak("Break."))
        await ws.send(FLUSH)
        error, close_code, _ = await fatal(ws)
    assert (error["code"], close_code) == ("NET-0000", 1011)


async def test_an_idle_client_gets_net_0004() -> None:
    handler = SpeakV2Handler(idle_timeout=0.3)
    async with (
        DeepgramServer(routes={"/v2/speak": handler}) as srv,
        opened(srv.url, ping_interval=None) as ws,
    ):
        error, close_code, _ = await fatal(ws)
    assert (error["code"], close_code) == ("NET-0004", 1011)


async def test_client_pings_keep_an_idle_session_open() -> None:
    handler = SpeakV2Handler(idle_timeout=0.5)
    async with (
        DeepgramServer(routes={"/v2/speak": handler}) as srv,
        opened(srv.url, ping_interval=0.1) as ws,
    ):
        await asyncio.sleep(1.5)  # three idle windows, bridged by the pings
        await ws.send(CLOSE)
        seen = await until_closed(ws)
    assert seen.squeezed() == ["SessionMetadata"]
    assert ws.close_code == 1000


async def test_the_session_time_limit_is_net_0003() -> None:
    handler = SpeakV2Handler(max_duration=0.3)
    async with (
        DeepgramServer(routes={"/v2/speak": handler}) as srv,
        opened(srv.url) as ws,
    ):
        error, close_code, _ = await fatal(ws)
    assert (error["code"], close_code) == ("NET-0003", 1011)


async def test_a_voice_the_engine_cannot_speak_is_refused() -> None:
    pytest.importorskip("espeakng_loader", reason="the local (espeak-ng) engine")
    async with DeepgramServer(tts="local") as srv:
        with pytest.raises(InvalidStatus) as info:
            async with connect(f"{srv.url}/v2/speak?model=flux-haley-de"):
                pass
        async with opened(srv.url, "model=flux-haley-en") as ws:  # English it speaks
            await ws.send(speak("Hello"))
            await ws.send(FLUSH)
            seen = await until(ws, "SpeechMetadata")
    assert info.value.response.status_code == 400
    assert "model" in info.value.response.headers["dg-error"]
    assert len(seen.audio) > 24000  # at least half a second of real speech


# --- inline controls -------------------------------------------------------------------------

CONTROL = '{"word": "tomato", "pronounce": "t@meItoU"}'


async def test_a_pronunciation_control_is_said_as_its_word_and_counted(
    server: DeepgramServer,
) -> None:
    text = f"I like {CONTROL} soup"
    async with opened(server.url) as ws:
        await ws.send(speak(text))
        await ws.send(FLUSH)
        seen = await until(ws, "SpeechMetadata")
    meta = json_of(seen, "SpeechMetadata")[0]
    assert meta["controls_applied"]["pronunciations_applied"] == 1
    assert meta["input_character_count"] == len(text)
    assert meta["billable_character_count"] == len("I like tomato soup")
    assert seen.audio == expected("I like tomato soup")


async def test_a_pronunciation_control_with_speed_is_data_0002(server: DeepgramServer) -> None:
    async with opened(server.url, "model=flux-haley-en&speed=1.1") as ws:
        await ws.send(speak(f"I like {CONTROL}"))
        error, close_code, _ = await fatal(ws)
    assert (error["code"], close_code) == ("DATA-0002", 1008)


class GatedSpeedEngine(GatedEngine):
    supports_speed = True

    def synthesize(self, text: str, sample_rate: int, speed: float = 1.0) -> bytes:  # type: ignore[override]
        return super().synthesize(text, sample_rate)


async def test_speed_with_a_queued_pronunciation_control_is_refused() -> None:
    engine = GatedSpeedEngine()
    async with DeepgramServer(tts=engine) as srv, opened(srv.url) as ws:
        await ws.send(speak("The active turn."))
        await ws.send(FLUSH)
        assert await asyncio.to_thread(engine.started.wait, WAIT)  # still being synthesised
        await ws.send(speak(f"A queued {CONTROL}"))  # a pending turn, with a control
        await ws.send(msg("Configure", speed=1.1))
        refused = await until(ws, "ConfigureFailure")
        engine.gate.set()
        await ws.send(FLUSH)
        seen = Seen()
        while len(json_of(seen, "SpeechMetadata")) < 2:
            await receive(ws, seen)
        await ws.send(msg("Configure", speed=1.1))  # nothing queued now
        accepted = await until(ws, "ConfigureSuccess")
    failure = json_of(refused, "ConfigureFailure")[0]
    assert (failure["code"], failure["field"], failure["value"]) == (
        "CONTROL_COMBINATION_INVALID",
        "speed",
        1.1,
    )
    assert json_of(accepted, "ConfigureSuccess")[0]["applied"] == {"speed": 1.1}
