"""Listen V1 end to end over real sockets: receive throughput, and CPU per real-time stream.

Run ``python benchmarks/listen_e2e.py`` (Markdown tables, ~5.5 min), ``--quick`` (~15 s)
or add ``--json``; ``--skip realtime`` runs the throughput part alone (~1.5 min). Progress
goes to stderr. The servers run in subprocesses of this script; when the machine has two or
more CPUs the server is pinned to one core and the client (this process) to another, so that
the server never competes with the client it serves.

rxdeepgram runs as several contenders in the same run: one per transport (``--transport
websockets picows``, both by default: ``rx-websockets``, ``rx-picows``), each also with
``connect(..., reconnect=True)`` (``rx-websockets+reconnect``...; ``--no-reconnect`` leaves
those out). A contender that cannot run (a transport not installed, a keyword not supported) is
reported as not run, and its targets as missed.

1. **Throughput**: messages/s from the server into the client. A *blaster* server (a bare
   asyncio protocol in its own process, no WebSocket library: ``RealtimeStub(blast=...)``)
   answers the client's first frame with ``--frames`` copies of a real Listen V1 ``Results``
   frame and a close frame (1000), pre-framed and written to the socket in one go, so that the
   server costs nothing per frame and the client alone sets the pace. The frame (``--frame``)
   is the compact JSON of ``examples/listen-v1/server/Results.interim.json`` (``interim``,
   588 bytes, the default: most messages of a live stream are interim results of this size,
   and it is where the cost around the decode weighs most) or of ``Results.json``
   (``results``, 1.4 KB, as in ``decode.py``). Each contender connects, sends one audio frame,
   counts messages until the stream ends; its rate is frames / (connect to end), and frames /
   the client process's CPU time over the same run (``time.process_time``: what the client
   spent, whatever its neighbours on a shared machine did meanwhile). Per client (asyncio,
   then sync):

   - **picows-typed**, *the floor*: a bare ``picows`` listener reading each text frame with
     picows' cheapest text accessor (``get_payload_as_utf8_text`` or
     ``get_payload_as_ascii_text``, timed at start-up, the faster wins) and decoding it to
     rxdeepgram's typed struct (``listen_v1.decode``), nothing else: the least any client
     delivering typed messages can spend on this machine. The same asyncio listener serves as
     the floor of the sync client;
   - **fair-typed**: a hand-written ``websockets`` client (``async for`` / ``for`` over the
     connection) decoding each frame with the same ``listen_v1.decode``;
   - **raw** (the raw websockets floor): the ``websockets`` loop decoding nothing;
   - **fair**: the ``websockets`` loop calling ``msgspec.json.decode`` per frame (plain dicts);
   - **raw-picows** (asyncio only): the ``picows`` listener reading each frame as ``str`` and
     nothing else;
   - **rx-...**: ``AsyncDeepgramClient`` / ``DeepgramClient(transport=...)``,
     ``listen.v1.connect(...)`` and one ``conn.messages`` subscriber counting the typed
     ``Results`` structs.

   After a warm-up run each, the contenders run interleaved ``--repeat`` times, each round
   starting from a different one; the tables give median rates and ratios of medians.
   Targets, both clients: rx-picows >= 0.75x the floor and >= 1.9x fair-typed (the same kind
   of client), checked on the wall-clock rates and on the rates per CPU-second; rx-websockets
   >= 0.8x raw, rx-picows >= 2.0x raw, and ``reconnect=True`` costs at most 1.1x (rate without
   over rate with in each round, the median of the rounds: see 2.).

2. **CPU per real-time stream**. N concurrent asyncio connections (100 and 500) each send
   16 kHz linear16 audio in 20 ms chunks (640 bytes) at real time for ``--seconds``, paced by
   one ticker on the event loop (an absolute 20 ms schedule; each tick sends one chunk on every
   stream); each contender runs ``--rounds`` (5) windows, interleaved, and its median window
   (by CPU per stream-second) stands for it. A stub server (a bare asyncio protocol, see
   ``RealtimeStub``) in its own process answers like Deepgram: a ``Results`` (the words of
   ``examples/listen-v1/server/Results.interim.json``) per 0.5 s of audio per stream, interim
   and final in turn, ``start``/``duration`` advancing with the audio (so that a resumable
   connection can drop the audio a final result covers), then ``Metadata`` and close 1000 on
   ``CloseStream``. (rxdeepgram's own server, scripted engine, spends ~3 ms of CPU per
   stream-second on its VAD: it could not serve 500 streams on one core, hence the stub.) The
   client process's CPU time (user + system, ``getrusage``) over the window, divided by the
   stream-seconds of audio sent, is the CPU cost per stream per second of audio; its inverse is
   how many real-time streams one core could carry. Contenders, same N, same run, in rotating
   order:

   - **floor**: plain ``websockets`` connections, but each chunk is a pre-built (masked) frame
     written straight to the socket's transport: a syscall per chunk and nothing else, the
     least any asyncio client can spend (reading included);
   - **baseline**: the same connections and ticker calling ``await ws.send(chunk)``, one reader
     task per connection decoding each message with ``msgspec.json.decode``: a hand-written
     websockets client without Rx;
   - **baseline-picows**: a hand-written picows client (``transport.send(BINARY, chunk)``, a
     listener decoding with ``msgspec.json.decode``), for reference;
   - **rx-...**: ``AsyncDeepgramClient(transport=...)`` connections, the ticker calling
     ``conn.input.on_next(chunk)``, one ``conn.messages`` subscriber per connection.

   Targets: rx-websockets carries >= 1,000 streams per core; rx-picows >= 1.8x the streams per
   core of the baseline; ``reconnect=True`` costs at most 1.1x the CPU. The ratio to the floor
   says whether a target is reachable at all on the machine at hand. The cost of
   ``reconnect=True`` is measured in pairs: an ``rx-...`` contender and its ``+reconnect``
   twin run back to back in every round (in turn first), and the figure is the median of the
   per-round ratios. Windows drift by ±10 % from one to the next on a shared VM, the same for
   every contender; a pair of adjacent windows shares the drift, so the ratio of a pair
   carries the difference between the two and little of the drift.

The exit status is 1 if a measured target fails. On Linux the server's CPU use is read from
``/proc`` and printed, to show that the server kept up. ``benchmarks/transport.py`` measures
the rest of the transport's targets (latency, memory, threads, import).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import functools
import gc
import hashlib
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import msgspec
from _util import environment, markdown_table
from decode import _RESULTS as RESULTS_FRAME
from websockets.asyncio.client import connect as async_connect
from websockets.sync.client import connect as sync_connect

from rxdeepgram import AsyncDeepgramClient, DeepgramClient
from rxdeepgram.messages import listen_v1

MIN_RAW_RATIO = 0.8
"""rxdeepgram's message rate must be at least this fraction of the raw floor's."""
MIN_STREAMS_PER_CORE = 1000
"""rxdeepgram must carry at least this many real-time streams per core."""
MIN_PICOWS_RAW_RATIO = 2.0
"""rxdeepgram on picows: at least this many times the raw websockets loop's message rate."""
MIN_PICOWS_REALTIME_GAIN = 1.8
"""rxdeepgram on picows: at least this many times the hand-written client's streams per core."""
MAX_RECONNECT_COST = 1.1
"""``reconnect=True`` may cost at most this factor (time per message, CPU per stream)."""
MIN_FLOOR_RATIO = 0.75
"""rxdeepgram on picows: at least this fraction of the floor's message rate (a bare picows
listener decoding each frame to the same typed struct), with either client."""
MIN_FAIR_TYPED_RATIO = 1.9
"""rxdeepgram on picows: at least this many times the message rate of a hand-written
``websockets`` client decoding each frame to the same typed struct (the same kind of client:
asyncio or sync)."""
TRANSPORTS = ("websockets", "picows")

# examples/listen-v1/server/Results.interim.json
INTERIM_FRAME = (
    '{"type":"Results","channel_index":[0,1],"duration":1.04,"start":4.52,"is_final":false,'
    '"speech_final":false,"channel":{"alternatives":[{"transcript":"hello i\'d like",'
    '"confidence":0.97265625,"words":[{"word":"hello","start":4.64,"end":4.96,'
    '"confidence":0.9921875},{"word":"i\'d","start":5.04,"end":5.2,"confidence":0.96484375},'
    '{"word":"like","start":5.2,"end":5.56,"confidence":0.97265625}]}]},'
    '"metadata":{"request_id":"1b671712-4fe5-41e4-ac34-6de3810e33b1","model_info":'
    '{"name":"general-nova-3","version":"2025-07-31.0","arch":"nova-3"},'
    '"model_uuid":"350ac860-68dc-4399-84db-51fb933380ef"}}'
)
# examples/listen-v1/server/Metadata.json
METADATA_FRAME = (
    '{"type":"Metadata","transaction_key":"deprecated",'
    '"request_id":"1b671712-4fe5-41e4-ac34-6de3810e33b1",'
    '"sha256":"094f9a0da07b3c2dc8d868bc54191f1f3f0682dda78a609bd8c50eb79f0dc630",'
    '"created":"2026-07-22T18:04:11.512Z","duration":27.43,"channels":1}'
)

FRAMES = {"interim": INTERIM_FRAME, "results": RESULTS_FRAME}
"""The throughput part's frame (``--frame``): ``interim``, the 0.6 KB interim ``Results`` of
``Results.interim.json`` (the default: the size of most messages of a live stream, and the
case where the cost around the decode weighs most), or ``results``, the 1.4 KB final one of
``Results.json``."""

CHUNK_SECONDS = 0.02
CHUNK = bytes(640)  # 20 ms of 16 kHz linear16 (--chunk-ms); the stub server ignores it
BYTES_PER_SECOND = 32000  # 16 kHz linear16
INTERIM_EVERY = 16000  # bytes of audio (0.5 s) per Results
QUERY = "/v1/listen?encoding=linear16&model=nova-3&sample_rate=16000"
CONNECT_OPTIONS: dict[str, Any] = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
API_KEY = "benchmark-key"
RAW_HEADERS = {"Authorization": f"Token {API_KEY}"}
MAX_SIZE = 2**24
CLIENT_CPU = 0
SERVER_CPU = 1


# -- process setup ----------------------------------------------------------------------------


def progress(message: str) -> None:
    """A progress line on stderr (stdout holds the results)."""
    print(message, file=sys.stderr, flush=True)


def pin(cpu: int) -> bool:
    """Pin this process to ``cpu`` when the platform allows it and has more than one CPU."""
    setaffinity = getattr(os, "sched_setaffinity", None)
    if setaffinity is None or (os.cpu_count() or 1) < 2:
        return False
    try:
        setaffinity(0, {cpu})
    except OSError:
        return False
    return True


def raise_open_file_limit(wanted: int = 65536) -> int:
    """Raise the soft limit on open files towards ``wanted`` (capped by the hard limit)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        return target
    return soft


def cpu_seconds() -> float:
    """User + system CPU time of this process (every thread), in seconds."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def process_cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of another process from ``/proc`` (``None`` off Linux)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


# -- the servers (subprocess side) --------------------------------------------------------------


def frame_header(opcode: int, size: int, mask: bytes = b"") -> bytes:
    """The header of a final (unfragmented) WebSocket frame; masked when ``mask`` is given."""
    bit = 0x80 if mask else 0
    if size < 126:
        head = bytes([0x80 | opcode, bit | size])
    elif size < 1 << 16:
        head = bytes([0x80 | opcode, bit | 126]) + size.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, bit | 127]) + size.to_bytes(8, "big")
    return head + mask


def text_frame(payload: str) -> bytes:
    """An unmasked (server-to-client) WebSocket text frame carrying ``payload``."""
    data = payload.encode()
    return frame_header(0x1, len(data)) + data


def blast(frames: int, payload: str) -> bytes:
    """What the throughput part's server writes, in one go, when the client's first frame
    arrives: ``frames`` text frames carrying ``payload``, then a close frame (1000). Written
    by a bare asyncio protocol (``RealtimeStub(blast=...)``, no WebSocket library) in the
    server's own process: the server spends nothing per frame, the client alone sets the
    pace."""
    return text_frame(payload) * frames + frame_header(0x8, 2) + (1000).to_bytes(2, "big")


def _unmask(data: bytes, mask: bytes) -> bytes:
    size = len(data)
    key = (mask * (size // 4 + 1))[:size]
    return (int.from_bytes(data, "big") ^ int.from_bytes(key, "big")).to_bytes(size, "big")


_WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
_METADATA_AND_CLOSE = text_frame(METADATA_FRAME) + frame_header(0x8, 2) + (1000).to_bytes(2, "big")
_REQUEST_ID = "1b671712-4fe5-41e4-ac34-6de3810e33b1"
_RESULTS_TEMPLATE = (
    INTERIM_FRAME.replace('"duration":1.04,"start":4.52,"is_final":false', "\0")
    .replace(_REQUEST_ID, "\1")
    .replace("%", "%%")
    .replace("\0", '"duration":%.2f,"start":%.2f,"is_final":%s')
    .replace("\1", "%s")
    .encode()
)


def results_frame(start: float, end: float, final: bool, stamp: bool) -> bytes:
    """A Listen V1 ``Results`` frame covering ``start``-``end`` s of the stream's audio (the
    interim fixture's words and metadata); with ``stamp``, ``metadata.request_id`` is the
    server's ``time.monotonic_ns()`` at the time of writing, zero-padded to the UUID's 36
    characters (``CLOCK_MONOTONIC`` is system-wide on Linux: the client may subtract it from
    its own clock)."""
    request_id = b"%036d" % time.monotonic_ns() if stamp else _REQUEST_ID.encode()
    payload = _RESULTS_TEMPLATE % (end - start, start, b"true" if final else b"false", request_id)
    return frame_header(0x1, len(payload)) + payload


class RealtimeStub(asyncio.Protocol):
    """Deepgram-like answers at a tiny cost per frame, so that one core serves 1,000+ streams:
    a Results per 0.5 s of audio (interim and final in turn, times advancing with the audio),
    Metadata and close 1000 on CloseStream.

    A bare asyncio protocol: it answers the upgrade itself, then parses the client's frames
    just enough (length, mask, opcode) to count audio bytes and spot ``CloseStream``; pings
    get pongs, a close frame gets a close frame. A ``websockets`` server doing the same used
    ~90 % of its core at 500 streams (25,000 audio frames/s); this one ~30 %."""

    def __init__(self, *, stamp: bool = False, blast: bytes | None = None) -> None:
        self.transport: asyncio.Transport | None = None
        self.stamp = stamp
        self.blast = blast
        self.buffer = bytearray()
        self.upgraded = False
        self.closing = False
        self.audio = 0
        self.due = INTERIM_EVERY
        self.results = 0
        self.final_end = 0.0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        if not self.upgraded and not self._upgrade():
            return
        transport = self.transport
        assert transport is not None
        pos, size = 0, len(buffer)
        while size - pos >= 2:
            first, second = buffer[pos], buffer[pos + 1]
            length, header = second & 0x7F, 2
            if length == 126:
                if size - pos < 4:
                    break
                length, header = int.from_bytes(buffer[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if size - pos < 10:
                    break
                length, header = int.from_bytes(buffer[pos + 2 : pos + 10], "big"), 10
            if second & 0x80:
                header += 4
            if size - pos < header + length:
                break
            opcode = first & 0x0F
            if opcode == 0x2 and self.blast is not None:
                # The throughput part's blaster: the client's first frame is answered with
                # every frame of the run and the close frame, pre-framed, in one write.
                if not self.closing:
                    self.closing = True
                    transport.write(self.blast)
            elif opcode == 0x2:
                self.audio += length
                while self.audio >= self.due and not self.closing:
                    # Every other one final: an interim result per 0.5 s of audio, a final
                    # one per second, with times that advance like Deepgram's.
                    self.results += 1
                    end = self.due / BYTES_PER_SECOND
                    final = self.results % 2 == 0
                    transport.write(results_frame(self.final_end, end, final, self.stamp))
                    if final:
                        self.final_end = end
                    self.due += INTERIM_EVERY
            elif opcode in (0x1, 0x8, 0x9):
                mask = bytes(buffer[pos + header - 4 : pos + header])
                payload = _unmask(bytes(buffer[pos + header : pos + header + length]), mask)
                if opcode == 0x9:
                    transport.write(frame_header(0xA, length) + payload)
                elif opcode == 0x8:
                    if not self.closing:
                        transport.write(frame_header(0x8, 2) + (1000).to_bytes(2, "big"))
                    transport.close()
                    return
                elif b'"CloseStream"' in payload and not self.closing:
                    self.closing = True
                    transport.write(_METADATA_AND_CLOSE)
            pos += header + length
        del buffer[:pos]

    def _upgrade(self) -> bool:
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return False
        head = bytes(self.buffer[:end]).decode("latin-1")
        del self.buffer[: end + 4]
        key = ""
        for line in head.split("\r\n")[1:]:
            name, _, value = line.partition(":")
            if name.strip().lower() == "sec-websocket-key":
                key = value.strip()
        accept = base64.b64encode(hashlib.sha1(key.encode() + _WS_GUID).digest()).decode()
        assert self.transport is not None
        self.transport.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n"
                f"dg-request-id: {uuid.uuid4()}\r\n\r\n"
            ).encode()
        )
        self.upgraded = True
        return True


async def run_server(mode: str, frames: int, payload: str) -> None:
    """Serve until stdin closes; the first line printed is ``PORT <n>``."""
    loop = asyncio.get_running_loop()
    if mode == "blast":
        blob = blast(frames, payload)
        server = await loop.create_server(lambda: RealtimeStub(blast=blob), "127.0.0.1", 0)
    else:
        stamp = mode == "stamped"
        server = await loop.create_server(
            lambda: RealtimeStub(stamp=stamp), "127.0.0.1", 0, backlog=4096
        )
    async with server:
        port = server.sockets[0].getsockname()[1]
        print(f"PORT {port}", flush=True)
        await loop.run_in_executor(None, sys.stdin.read)


class ServerProcess:
    """A server of this script in a subprocess; ``with`` starts and stops it."""

    def __init__(
        self, mode: str, frames: int = 0, *, pin: bool = True, frame: str = "interim"
    ) -> None:
        self.mode = mode
        self.frames = frames
        self.frame = frame
        self.pin = pin
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def __enter__(self) -> ServerProcess:
        cmd = [sys.executable, os.path.abspath(__file__), "--serve", self.mode]
        cmd += ["--frames", str(self.frames), "--frame", self.frame]
        cmd += ["--no-pin"] if not self.pin else []
        self.proc = proc = subprocess.Popen(
            cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line.startswith("PORT "):
            self.__exit__(None, None, None)
            raise SystemExit(f"the {self.mode} server did not start (got {line!r})")
        self.url = f"ws://127.0.0.1:{int(line.split()[1])}"
        return self

    def cpu(self) -> float | None:
        """The server's CPU seconds so far (``None`` off Linux)."""
        return None if self.proc is None else process_cpu_seconds(self.proc.pid)

    def __exit__(self, *exc: object) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        try:
            assert proc.stdin is not None
            proc.stdin.close()
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        finally:
            if proc.stdout is not None:
                proc.stdout.close()


# -- 1. throughput ------------------------------------------------------------------------------


class Counter:
    """A subscriber counting messages and keeping the last one."""

    __slots__ = ("count", "last")

    def __init__(self) -> None:
        self.count = 0
        self.last: object = None

    def on_next(self, message: object) -> None:
        self.count += 1
        self.last = message


def rx_contender(transport: str, reconnect: bool) -> str:
    """The name of an rxdeepgram contender: ``rx-picows``, ``rx-websockets+reconnect``..."""
    return f"rx-{transport}" + ("+reconnect" if reconnect else "")


def rx_setup(name: str) -> tuple[str, dict[str, Any]]:
    """The transport and the ``connect()`` keywords of an rxdeepgram contender."""
    transport, _, extra = name[3:].partition("+")
    options = dict(CONNECT_OPTIONS)
    if extra == "reconnect":
        options["reconnect"] = True
    return transport, options


PARSERS: dict[str, Callable[[str | bytes], Any] | None] = {
    "raw": None,
    "fair": msgspec.json.decode,
    "fair-typed": listen_v1.decode,
}
"""What the hand-written ``websockets`` clients do with each frame: nothing (``raw``), parse
it to dicts (``fair``), decode it to rxdeepgram's typed struct (``fair-typed``)."""


async def async_raw(url: str, parse: Callable[[str | bytes], Any] | None) -> tuple[int, float]:
    start = time.perf_counter()
    count = 0
    async with async_connect(
        url + QUERY, additional_headers=RAW_HEADERS, compression=None, max_size=MAX_SIZE
    ) as ws:
        await ws.send(CHUNK)
        if parse is not None:
            async for frame in ws:
                parse(frame)
                count += 1
        else:
            async for _ in ws:
                count += 1
        elapsed = time.perf_counter() - start
    return count, elapsed


def cheapest_text_accessor(payload: str, rounds: int = 9) -> Callable[[Any], str]:
    """picows' accessor that turns a frame's payload into ``str`` the fastest, of
    ``get_payload_as_utf8_text`` and ``get_payload_as_ascii_text`` (the same copy into a new
    ``str``; only the check differs), timed on ``payload`` with each then decoded by
    ``listen_v1.decode``, interleaved, the better median wins. The floor uses it."""
    from picows import WSFrame, WSMsgType
    from picows.picows import _make_test_ws_frame

    frame = _make_test_ws_frame(WSMsgType.TEXT, payload.encode(), True, False)
    decode = listen_v1.decode
    accessors: dict[str, Callable[[Any], str]] = {
        "get_payload_as_utf8_text": WSFrame.get_payload_as_utf8_text,
        "get_payload_as_ascii_text": WSFrame.get_payload_as_ascii_text,
    }
    samples: dict[str, list[int]] = {name: [] for name in accessors}
    for i in range(rounds):
        for name in sorted(accessors, reverse=bool(i % 2)):
            get = accessors[name]
            t0 = time.perf_counter_ns()
            for _ in range(2000):
                decode(get(frame))
            samples[name].append(time.perf_counter_ns() - t0)
    best = min(accessors, key=lambda name: statistics.median(samples[name]))
    return accessors[best]


TEXT_ACCESSOR: Callable[[Any], str] | None = None
"""The floor's accessor: set by ``main`` with :func:`cheapest_text_accessor` (``None``:
``get_payload_as_utf8_text``)."""


async def async_raw_picows(url: str, typed: bool) -> tuple[int, float]:
    """picows' own receive path: a listener counting text frames (each read as ``str``, as
    websockets' recv loop hands them over), the close frame answered. With ``typed``, each
    frame is read with the cheapest text accessor (``TEXT_ACCESSOR``) and decoded to
    rxdeepgram's typed struct (``listen_v1.decode``) and nothing else: the floor, the least
    any picows-based client delivering typed messages can spend."""
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    text, close = WSMsgType.TEXT, WSMsgType.CLOSE
    decode = listen_v1.decode
    get_text = TEXT_ACCESSOR or WSFrame.get_payload_as_utf8_text
    start = time.perf_counter()

    class Listener(WSListener):
        count = 0

        def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
            msg_type = frame.msg_type
            if msg_type is text:
                if typed:
                    decode(get_text(frame))
                else:
                    frame.get_payload_as_utf8_text()
                self.count += 1
            elif msg_type is close:
                transport.send_close(frame.get_close_code())
                transport.disconnect()

    transport, listener = await ws_connect(
        Listener, url + QUERY, extra_headers=RAW_HEADERS, max_frame_size=MAX_SIZE
    )
    assert isinstance(listener, Listener)
    transport.send(WSMsgType.BINARY, CHUNK)
    await transport.wait_disconnected()
    return listener.count, time.perf_counter() - start


async def async_rx(url: str, name: str) -> tuple[int, float]:
    transport, options = rx_setup(name)
    start = time.perf_counter()
    client = AsyncDeepgramClient(api_key=API_KEY, base_url=url, transport=transport)
    counter = Counter()
    async with client.listen.v1.connect(**options) as conn:
        conn.messages.subscribe(counter.on_next)
        conn.input.on_next(CHUNK)
        await conn.wait()
        elapsed = time.perf_counter() - start
    if not isinstance(counter.last, listen_v1.Results) or conn.end is not None:
        raise SystemExit(f"{name} (async) ended with {conn.end!r}, last {counter.last!r}")
    return counter.count, elapsed


def sync_raw(url: str, parse: Callable[[str | bytes], Any] | None) -> tuple[int, float]:
    start = time.perf_counter()
    count = 0
    with sync_connect(
        url + QUERY, additional_headers=RAW_HEADERS, compression=None, max_size=MAX_SIZE
    ) as ws:
        ws.send(CHUNK)
        if parse is not None:
            for frame in ws:
                parse(frame)
                count += 1
        else:
            for _ in ws:
                count += 1
        elapsed = time.perf_counter() - start
    return count, elapsed


def sync_rx(url: str, name: str) -> tuple[int, float]:
    transport, options = rx_setup(name)
    start = time.perf_counter()
    client = DeepgramClient(api_key=API_KEY, base_url=url, transport=transport)
    counter = Counter()
    with client.listen.v1.connect(**options) as conn:
        conn.messages.subscribe(counter.on_next)
        conn.input.on_next(CHUNK)
        conn.wait()
        elapsed = time.perf_counter() - start
    if not isinstance(counter.last, listen_v1.Results) or conn.end is not None:
        raise SystemExit(f"{name} (sync) ended with {conn.end!r}, last {counter.last!r}")
    return counter.count, elapsed


@dataclass
class Check:
    """One target: the figure measured, the bound, and whether it holds."""

    section: str
    figure: str
    value: float | None
    target: str
    ok: bool
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "section": self.section,
            "figure": self.figure,
            "value": None if self.value is None else round(self.value, 3),
            "target": self.target,
            "met": self.ok,
            "note": self.note,
        }


def ratio_check(
    section: str,
    figure: str,
    value: float | None,
    bound: float,
    *,
    at_least: bool,
    missing: str = "",
) -> Check:
    """A check of ``value`` against ``bound`` (a ratio); ``None`` means not measured."""
    target = (">= " if at_least else "<= ") + f"{bound:g}x"
    if value is None:
        return Check(section, figure, None, target, False, f"not measured: {missing}")
    ok = value >= bound if at_least else value <= bound
    return Check(section, figure, value, target, ok)


@dataclass
class Throughput:
    """Message rates of one client kind (asyncio or sync), every sample kept."""

    client: str
    frames: int
    contenders: tuple[str, ...]
    rates: dict[str, list[float]] = field(default_factory=dict)
    cpu_rates: dict[str, list[float]] = field(default_factory=dict)
    """Messages per second of the client process's CPU time (user + system, every thread,
    ``time.process_time``) over the same run: what the client spent, whatever else the machine
    was doing (on a shared machine the wall-clock rates move with the neighbours' load)."""
    errors: dict[str, str] = field(default_factory=dict)

    def median(self, name: str, cpu: bool = False) -> float | None:
        rates = (self.cpu_rates if cpu else self.rates).get(name)
        return statistics.median(rates) if rates else None

    def ratio(self, name: str, over: str, cpu: bool = False) -> float | None:
        a, b = self.median(name, cpu), self.median(over, cpu)
        return None if a is None or b is None else a / b

    def checks(self, transports: list[str], reconnect: bool) -> list[Check]:
        section = f"messages/s, {self.client}"
        checks = []
        for transport in transports:
            name = rx_contender(transport, False)
            bound = MIN_RAW_RATIO if transport == "websockets" else MIN_PICOWS_RAW_RATIO
            checks.append(
                ratio_check(
                    section,
                    f"{name} / raw websockets loop",
                    self.ratio(name, "raw"),
                    bound,
                    at_least=True,
                    missing=self.errors.get(name, ""),
                )
            )
            if transport == "picows":
                for over, bound in (
                    ("picows-typed", MIN_FLOOR_RATIO),
                    ("fair-typed", MIN_FAIR_TYPED_RATIO),
                ):
                    for cpu in (False, True):
                        checks.append(
                            ratio_check(
                                section,
                                f"{name} / {over}" + (" (per CPU-second)" if cpu else ""),
                                self.ratio(name, over, cpu),
                                bound,
                                at_least=True,
                                missing=self.errors.get(name, "") or self.errors.get(over, ""),
                            )
                        )
            if reconnect:
                with_it = rx_contender(transport, True)
                checks.append(
                    ratio_check(
                        section,
                        f"cost of reconnect=True ({name} / {with_it}, median per round)",
                        self.reconnect_cost(name, with_it),
                        MAX_RECONNECT_COST,
                        at_least=False,
                        missing=self.errors.get(with_it, "") or self.errors.get(name, ""),
                    )
                )
        return checks

    def paired(self, name: str, with_it: str) -> list[float]:
        """``name``'s rate over ``with_it``'s, per round (both ran in every kept round)."""
        a, b = self.rates.get(name, []), self.rates.get(with_it, [])
        return [x / y for x, y in zip(a, b, strict=False)]

    def reconnect_cost(self, name: str, with_it: str) -> float | None:
        """The median of the per-round ratios: the drift between rounds cancels (see the
        real-time part)."""
        ratios = self.paired(name, with_it)
        return statistics.median(ratios) if ratios else None

    def as_dict(self) -> dict[str, Any]:
        def summary(table: dict[str, list[float]]) -> dict[str, Any]:
            return {
                name: {
                    "median": round(statistics.median(samples)),
                    "min": round(min(samples)),
                    "max": round(max(samples)),
                    "samples": [round(r) for r in samples],
                }
                for name, samples in table.items()
                if samples
            }

        return {
            "client": self.client,
            "frames_per_run": self.frames,
            "messages_per_s": summary(self.rates),
            "messages_per_cpu_s": summary(self.cpu_rates),
            "reconnect_cost_per_round": {
                name: [round(r, 3) for r in self.paired(name.removesuffix("+reconnect"), name)]
                for name in self.rates
                if name.endswith("+reconnect")
            },
            "unavailable": self.errors,
        }


def _rounds(names: tuple[str, ...], repeat: int) -> Iterator[tuple[str, ...]]:
    """The warm-up round, then ``repeat`` rounds, each starting from a different contender."""
    yield names
    for i in range(repeat):
        k = i % len(names)
        yield names[k:] + names[:k]


def _record(
    result: Throughput, name: str, count: int, elapsed: float, cpu: float, *, keep: bool
) -> None:
    if count != result.frames:
        raise SystemExit(f"{result.client} {name}: got {count} of {result.frames} messages")
    if keep:
        result.rates.setdefault(name, []).append(count / elapsed)
        result.cpu_rates.setdefault(name, []).append(count / cpu)


def _unavailable(result: Throughput, name: str, exc: Exception) -> None:
    result.errors[name] = f"{type(exc).__name__}: {exc}"
    progress(f"  {result.client} {name} cannot run: {result.errors[name]}")


async def throughput_async(url: str, frames: int, repeat: int, rx: list[str]) -> Throughput:
    names = ("raw", "raw-picows", "fair", "fair-typed", "picows-typed", *rx)
    result = Throughput("asyncio", frames, names)
    runs: dict[str, Callable[[], Awaitable[tuple[int, float]]]] = {
        name: functools.partial(async_raw, url, parse) for name, parse in PARSERS.items()
    }
    runs["raw-picows"] = lambda: async_raw_picows(url, False)
    runs["picows-typed"] = lambda: async_raw_picows(url, True)
    for name in rx:
        runs[name] = functools.partial(async_rx, url, name)
    for index, order in enumerate(_rounds(names, repeat)):
        for name in order:
            if name in result.errors:
                continue
            gc.collect()
            cpu = time.process_time()
            try:
                count, elapsed = await runs[name]()
                cpu = time.process_time() - cpu
            except Exception as exc:
                if index:
                    raise
                _unavailable(result, name, exc)
                continue
            _record(result, name, count, elapsed, cpu, keep=index > 0)
    return result


def throughput_sync(url: str, frames: int, repeat: int, rx: list[str]) -> Throughput:
    names = ("raw", "fair", "fair-typed", "picows-typed", *rx)
    result = Throughput("sync", frames, names)
    runs: dict[str, Callable[[], tuple[int, float]]] = {
        name: functools.partial(sync_raw, url, parse) for name, parse in PARSERS.items()
    }
    # The floor is the floor whatever the client: the same asyncio picows listener.
    runs["picows-typed"] = lambda: asyncio.run(async_raw_picows(url, True))
    for name in rx:
        runs[name] = functools.partial(sync_rx, url, name)
    for index, order in enumerate(_rounds(names, repeat)):
        for name in order:
            if name in result.errors:
                continue
            gc.collect()
            cpu = time.process_time()
            try:
                count, elapsed = runs[name]()
                cpu = time.process_time() - cpu
            except Exception as exc:
                if index:
                    raise
                _unavailable(result, name, exc)
                continue
            _record(result, name, count, elapsed, cpu, keep=index > 0)
    return result


# -- 2. CPU per real-time stream ----------------------------------------------------------------


@dataclass
class Realtime:
    """One window of N real-time streams with one contender."""

    contender: str
    streams: int
    ticks: int
    cpu_s: float
    wall_s: float
    server_cpu_s: float | None
    messages: int
    max_lag_ms: float
    mean_lag_ms: float

    @property
    def stream_seconds(self) -> float:
        return self.streams * self.ticks * CHUNK_SECONDS

    @property
    def cpu_per_stream_second(self) -> float:
        """CPU-seconds the client spends per stream per second of audio."""
        return self.cpu_s / self.stream_seconds

    @property
    def streams_per_core(self) -> float:
        return 1.0 / self.cpu_per_stream_second

    def as_dict(self) -> dict[str, Any]:
        return {
            "contender": self.contender,
            "streams": self.streams,
            "audio_seconds_per_stream": round(self.ticks * CHUNK_SECONDS, 2),
            "client_cpu_s": round(self.cpu_s, 4),
            "wall_s": round(self.wall_s, 3),
            "client_cpu_utilisation": round(self.cpu_s / self.wall_s, 3),
            "server_cpu_s": None if self.server_cpu_s is None else round(self.server_cpu_s, 3),
            "cpu_ms_per_stream_second": round(1000 * self.cpu_per_stream_second, 4),
            "streams_per_core": round(self.streams_per_core),
            "messages_received": self.messages,
            "max_tick_lag_ms": round(self.max_lag_ms, 2),
            "mean_tick_lag_ms": round(self.mean_lag_ms, 3),
        }


async def _gather_limited(factories: list[Callable[[], Awaitable[Any]]], limit: int) -> list[Any]:
    """Run the coroutine factories with at most ``limit`` at a time (connection storms)."""
    gate = asyncio.Semaphore(limit)

    async def one(factory: Callable[[], Awaitable[Any]]) -> Any:
        async with gate:
            return await factory()

    return await asyncio.gather(*(one(f) for f in factories))


async def _paced_window(
    server: ServerProcess, send_all: Callable[[], Awaitable[None] | None], ticks: int
) -> tuple[float, float, float | None, list[float]]:
    """Call ``send_all`` every chunk (20 ms by default) for ``ticks`` ticks; CPU, wall, server
    CPU and lags."""
    loop = asyncio.get_running_loop()
    lags: list[float] = []
    gc.collect()
    await asyncio.sleep(0.1)  # let connection setup settle
    server_start = server.cpu()
    cpu_start = cpu_seconds()
    t0 = loop.time()
    for k in range(ticks):
        target = t0 + k * CHUNK_SECONDS
        # Always yield, even when late: readers and writers run between ticks, as they would
        # in any real client, instead of the ticker hogging the loop while it catches up.
        await asyncio.sleep(max(0.0, target - loop.time()))
        lags.append(loop.time() - target)
        pending = send_all()
        if pending is not None:
            await pending
    end = t0 + ticks * CHUNK_SECONDS
    delay = end - loop.time()
    if delay > 0:
        await asyncio.sleep(delay)
    wall = loop.time() - t0
    cpu = cpu_seconds() - cpu_start
    server_end = server.cpu()
    server_cpu = None if server_start is None or server_end is None else server_end - server_start
    return cpu, wall, server_cpu, lags


async def realtime_rx(server: ServerProcess, streams: int, ticks: int, name: str) -> Realtime:
    transport, options = rx_setup(name)
    client = AsyncDeepgramClient(api_key=API_KEY, base_url=server.url, transport=transport)
    counters = [Counter() for _ in range(streams)]
    conns = await _gather_limited(
        [lambda: client.listen.v1.connect(**options) for _ in range(streams)], 64
    )
    for conn, counter in zip(conns, counters, strict=True):
        conn.messages.subscribe(counter.on_next)
    inputs = [conn.input for conn in conns]

    def send_all() -> None:
        for sink in inputs:
            sink.on_next(CHUNK)

    before = sum(c.count for c in counters)
    cpu, wall, server_cpu, lags = await _paced_window(server, send_all, ticks)
    received = sum(c.count for c in counters) - before
    for sink in inputs:
        sink.on_completed()
    await asyncio.wait_for(asyncio.gather(*(conn.wait() for conn in conns)), 60)
    failed = [conn.end for conn in conns if conn.end is not None]
    if failed:
        raise SystemExit(f"{name}: {len(failed)} streams failed, e.g. {failed[0]!r}")
    return Realtime(
        name,
        streams,
        ticks,
        cpu,
        wall,
        server_cpu,
        received,
        1000 * max(lags),
        1000 * statistics.fmean(lags),
    )


async def realtime_picows(server: ServerProcess, streams: int, ticks: int) -> Realtime:
    """A hand-written picows client: ``transport.send(BINARY, chunk)`` per tick, a listener
    decoding each message with ``msgspec.json.decode``."""
    from picows import WSFrame, WSListener, WSMsgType, WSTransport, ws_connect

    counts = [0] * streams
    parse = msgspec.json.decode
    text, close = WSMsgType.TEXT, WSMsgType.CLOSE

    def listener(index: int) -> Callable[[], WSListener]:
        class Listener(WSListener):
            def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
                if frame.msg_type == text:
                    parse(frame.get_payload_as_memoryview())
                    counts[index] += 1
                elif frame.msg_type == close:
                    transport.send_close(frame.get_close_code())
                    transport.disconnect()

        return Listener

    async def one(index: int) -> WSTransport:
        transport, _ = await ws_connect(
            listener(index), server.url + QUERY, extra_headers=RAW_HEADERS, max_frame_size=MAX_SIZE
        )
        return transport

    transports = await _gather_limited([functools.partial(one, i) for i in range(streams)], 64)
    binary = WSMsgType.BINARY

    def send_all() -> None:
        for transport in transports:
            transport.send(binary, CHUNK)

    before = sum(counts)
    cpu, wall, server_cpu, lags = await _paced_window(server, send_all, ticks)
    received = sum(counts) - before
    for transport in transports:
        transport.send(WSMsgType.TEXT, b'{"type":"CloseStream"}')
    await asyncio.wait_for(
        asyncio.gather(*(transport.wait_disconnected() for transport in transports)), 60
    )
    return Realtime(
        "baseline-picows",
        streams,
        ticks,
        cpu,
        wall,
        server_cpu,
        received,
        1000 * max(lags),
        1000 * statistics.fmean(lags),
    )


def masked_binary_frame(payload: bytes, mask: bytes = b"\x37\xfa\x21\x3d") -> bytes:
    """A client-to-server binary frame with a fixed mask key (for the transport floor only:
    real clients draw a fresh key per frame)."""
    return frame_header(0x2, len(payload), mask) + _unmask(payload, mask)


async def realtime_raw(server: ServerProcess, streams: int, ticks: int, *, floor: bool) -> Realtime:
    """The hand-written baseline (``await ws.send(chunk)``) or, with ``floor``, the transport
    floor (a pre-framed chunk written straight to each socket's transport)."""
    sockets = await _gather_limited(
        [
            lambda: async_connect(
                server.url + QUERY,
                additional_headers=RAW_HEADERS,
                compression=None,
                max_size=MAX_SIZE,
            )
            for _ in range(streams)
        ],
        64,
    )
    counts = [0] * streams
    parse = msgspec.json.decode

    async def reader(index: int, ws: Any) -> None:
        async for frame in ws:
            parse(frame)
            counts[index] += 1

    readers = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(sockets)]

    async def send_all() -> None:
        for ws in sockets:
            await ws.send(CHUNK)

    frame = masked_binary_frame(CHUNK)
    transports = [ws.transport for ws in sockets]

    def write_all() -> None:
        for transport in transports:
            transport.write(frame)

    before = sum(counts)
    cpu, wall, server_cpu, lags = await _paced_window(
        server, write_all if floor else send_all, ticks
    )
    received = sum(counts) - before
    close_stream = '{"type":"CloseStream"}'
    for ws in sockets:
        await ws.send(close_stream)
    await asyncio.wait_for(asyncio.gather(*readers), 60)
    for ws in sockets:
        await ws.close()
    return Realtime(
        "floor" if floor else "baseline",
        streams,
        ticks,
        cpu,
        wall,
        server_cpu,
        received,
        1000 * max(lags),
        1000 * statistics.fmean(lags),
    )


@dataclass
class RealtimeSet:
    """Every contender at one N."""

    streams: int
    runs: dict[str, Realtime] = field(default_factory=dict)
    """Each contender's median window."""
    samples: dict[str, list[float]] = field(default_factory=dict)
    """Each contender's CPU ms per stream-second, every window."""
    paired: dict[str, list[float]] = field(default_factory=dict)
    """Per ``+reconnect`` contender: its CPU per stream-second over its plain twin's, one
    ratio per round (the two windows of a round run back to back)."""
    errors: dict[str, str] = field(default_factory=dict)

    def reconnect_cost(self, transport: str) -> float | None:
        """The median of the per-round ratios of ``rx-<transport>+reconnect`` to
        ``rx-<transport>``: window-to-window drift (±10 % on a shared VM) cancels within a
        round, where a ratio of medians would carry it."""
        ratios = self.paired.get(rx_contender(transport, True))
        return statistics.median(ratios) if ratios else None

    def cpu_ratio(self, name: str, over: str) -> float | None:
        """``name``'s CPU per stream-second over ``over``'s (lower is better)."""
        a, b = self.runs.get(name), self.runs.get(over)
        if a is None or b is None:
            return None
        return a.cpu_per_stream_second / b.cpu_per_stream_second

    def checks(self, transports: list[str], reconnect: bool) -> list[Check]:
        section = f"real time, {self.streams} streams"
        checks = []
        rx_ws = self.runs.get("rx-websockets")
        if "websockets" in transports:
            value = None if rx_ws is None else rx_ws.streams_per_core
            ok = value is not None and value >= MIN_STREAMS_PER_CORE
            missing = self.errors.get("rx-websockets", "")
            note = "" if value is not None else f"not measured: {missing}"
            checks.append(
                Check(
                    section,
                    "rx-websockets streams per core",
                    value,
                    f">= {MIN_STREAMS_PER_CORE:,}",
                    ok,
                    note,
                )
            )
        if "picows" in transports:
            gain = self.cpu_ratio("baseline", "rx-picows")
            checks.append(
                ratio_check(
                    section,
                    "streams per core, rx-picows / hand-written websockets client",
                    gain,
                    MIN_PICOWS_REALTIME_GAIN,
                    at_least=True,
                    missing=self.errors.get("rx-picows", ""),
                )
            )
        if reconnect:
            for transport in transports:
                name, with_it = rx_contender(transport, False), rx_contender(transport, True)
                checks.append(
                    ratio_check(
                        section,
                        f"CPU cost of reconnect=True ({with_it} / {name}, median per round)",
                        self.reconnect_cost(transport),
                        MAX_RECONNECT_COST,
                        at_least=False,
                        missing=self.errors.get(with_it, "") or self.errors.get(name, ""),
                    )
                )
        return checks

    def as_dict(self) -> dict[str, Any]:
        return {
            "streams": self.streams,
            "runs": {name: run.as_dict() for name, run in self.runs.items()},
            "cpu_ms_per_stream_second_samples": self.samples,
            "reconnect_cost_per_round": {
                name: [round(r, 3) for r in ratios] for name, ratios in self.paired.items()
            },
            "cpu_over_baseline": {
                name: round(ratio, 3)
                for name in self.runs
                if (ratio := self.cpu_ratio(name, "baseline")) is not None
            },
            "unavailable": self.errors,
        }


async def realtime(
    server: ServerProcess, sizes: list[int], seconds: float, rx: list[str], rounds: int
) -> list[RealtimeSet]:
    """Every contender ``rounds`` times at each N, interleaved (each round starts from another
    contender); each contender's window with the median CPU per stream-second (the lower of
    the two middle ones for an even count) stands for it. An rxdeepgram contender and its
    ``+reconnect`` twin run back to back, in turn first, so that each round gives one ratio
    of the two (``RealtimeSet.paired``)."""
    ticks = max(1, round(seconds / CHUNK_SECONDS))
    groups: list[tuple[str, ...]] = [("floor",), ("baseline",), ("baseline-picows",)]
    for name in rx:
        if name.endswith("+reconnect") and (name[: -len("+reconnect")],) in groups:
            groups[groups.index((name[: -len("+reconnect")],))] += (name,)
        else:
            groups.append((name,))
    names = [name for group in groups for name in group]
    sets = []
    for index, streams in enumerate(sizes):
        result = RealtimeSet(streams)
        windows: dict[str, list[Realtime]] = {}
        for round_ in range(rounds):
            k = (index + round_) % len(groups)
            order = [
                name
                for group in groups[k:] + groups[:k]
                for name in (group[::-1] if round_ % 2 else group)
            ]
            this_round: dict[str, Realtime] = {}
            for name in order:
                if name in result.errors:
                    continue
                progress(
                    f"real time: {streams} streams, {name}, {ticks * CHUNK_SECONDS:g} s "
                    f"(round {round_ + 1} of {rounds})"
                )
                try:
                    if name.startswith("rx-"):
                        run = await realtime_rx(server, streams, ticks, name)
                    elif name == "baseline-picows":
                        run = await realtime_picows(server, streams, ticks)
                    else:
                        run = await realtime_raw(server, streams, ticks, floor=name == "floor")
                except Exception as exc:
                    result.errors[name] = f"{type(exc).__name__}: {exc}"
                    progress(f"  {name} cannot run: {result.errors[name]}")
                    await asyncio.sleep(1)
                    continue
                windows.setdefault(name, []).append(run)
                this_round[name] = run
            for name, run in this_round.items():
                twin = this_round.get(name.removesuffix("+reconnect"))
                if name.endswith("+reconnect") and twin is not None:
                    ratio = run.cpu_per_stream_second / twin.cpu_per_stream_second
                    result.paired.setdefault(name, []).append(ratio)
        for name in names:
            if name in windows:
                ordered = sorted(windows[name], key=lambda r: r.cpu_per_stream_second)
                result.runs[name] = ordered[(len(ordered) - 1) // 2]
                result.samples[name] = [
                    round(1000 * r.cpu_per_stream_second, 4) for r in windows[name]
                ]
        sets.append(result)
    return sets


# -- report ---------------------------------------------------------------------------------------


def _rate(value: float) -> str:
    return f"{value:,.0f}"


def _x(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def throughput_table(result: Throughput, cpu: bool = False) -> str:
    rows = []
    picows = "raw-picows" in result.contenders
    for name in result.contenders:
        rate = result.median(name, cpu)
        if rate is None:
            rows.append([name, "not run", "", "", "", "", result.errors.get(name, "")[:60]])
            continue
        rows.append(
            [
                name,
                _rate(rate),
                _x(result.ratio(name, "picows-typed", cpu)),
                _x(result.ratio(name, "fair-typed", cpu)),
                _x(result.ratio(name, "raw", cpu)),
                _x(result.ratio(name, "fair", cpu)),
                _x(result.ratio(name, "raw-picows", cpu)) if picows else "",
            ]
        )
    header = [
        "contender",
        "msg per CPU-s" if cpu else "msg/s",
        "/ floor",
        "/ fair-typed",
        "/ raw websockets",
        "/ fair",
        "/ raw picows",
    ]
    return markdown_table(header, rows)


def realtime_table(result: RealtimeSet) -> str:
    rows = []
    for name, run in result.runs.items():
        rows.append(
            [
                name,
                f"{1000 * run.cpu_per_stream_second:.3f}",
                _rate(run.streams_per_core),
                _x(result.cpu_ratio(name, "baseline")),
                _x(result.cpu_ratio(name, "floor")),
                f"{run.cpu_s / run.wall_s:.0%}",
                f"{run.mean_lag_ms:.2f} / {run.max_lag_ms:.0f}",
            ]
        )
    for name, error in result.errors.items():
        rows.append([name, "not run", "", "", "", "", error[:60]])
    header = [
        "contender",
        "CPU ms per stream-s",
        "streams per core",
        "CPU / baseline",
        "CPU / floor",
        "client CPU",
        "tick lag ms (mean / max)",
    ]
    return markdown_table(header, rows)


def checks_table(checks: list[Check]) -> str:
    rows = []
    for c in checks:
        if c.value is None:
            value = "n/a"
        elif c.target.endswith("x"):
            value = f"{c.value:.2f}x"
        else:
            value = _rate(c.value)
        verdict = "met" if c.ok else "MISSED"
        rows.append(
            [c.section, c.figure, value, c.target, verdict + (f" ({c.note})" if c.note else "")]
        )
    return markdown_table(["section", "figure", "measured", "target", "verdict"], rows)


def report(
    throughput: list[Throughput],
    sets: list[RealtimeSet],
    checks: list[Check],
    frames: int,
    frame_bytes: int,
    repeat: int,
    seconds: float,
    env: dict[str, str],
    pinned: bool,
    load_before: float | None,
) -> str:
    """The Markdown report: the tables, per-run details and where the numbers come from."""
    lines = []
    accessor = TEXT_ACCESSOR.__name__ if TEXT_ACCESSOR else "n/a"
    for result in throughput:
        lines += [
            f"Throughput, {result.client} client: messages/s into one subscriber "
            f"({frames:,} Results frames of {frame_bytes:,} bytes per run, median of {repeat})",
            "",
            throughput_table(result),
            "",
            f"The same, messages per second of the client process's CPU time ({result.client}):",
            "",
            throughput_table(result, cpu=True),
            "",
        ]
    lines += [
        "raw: a websockets recv loop; fair: the same with msgspec.json.decode per frame; "
        "fair-typed: the same with listen_v1.decode (typed Results) per frame; raw-picows: a "
        "picows listener reading each frame as str; picows-typed, the floor: the same reading "
        f"each frame with {accessor} (the cheaper accessor here) and decoding it "
        "with listen_v1.decode, nothing else: the ceiling of a picows client delivering typed "
        "messages.",
        "",
    ]
    for group in sets:
        lines += [
            f"CPU per real-time stream, {group.streams} streams ({seconds:g} s of 16 kHz "
            f"linear16 in {CHUNK_SECONDS * 1000:g} ms chunks; each contender's median window)",
            "",
            realtime_table(group),
            "",
        ]
        for name, ratios in group.paired.items():
            lines.append(
                f"- {group.streams} streams, {name} over {name.removesuffix('+reconnect')}, "
                "per round: " + ", ".join(f"{r:.2f}" for r in ratios)
            )
        for r in group.runs.values():
            server = "n/a" if r.server_cpu_s is None else f"{r.server_cpu_s / r.wall_s:.0%}"
            lines.append(
                f"- {r.streams} streams, {r.contender}: server {server} of a core, "
                f"{r.messages:,} messages received"
                + (
                    " (the ticker fell behind real time: client saturated or machine busy)"
                    if r.mean_lag_ms > 1000 * CHUNK_SECONDS
                    else ""
                )
            )
        lines.append("")
    load = "n/a" if load_before is None else f"{load_before:.2f}"
    where = "client and server pinned to one core each" if pinned else "not pinned"
    lines += [
        "Targets",
        "",
        checks_table(checks),
        "",
        f"{env['python']} on {env['machine']} ({env['cpus']} CPUs, load average {load} before "
        f"the run, {where}); websockets {env['websockets']}, picows {env['picows']}, msgspec "
        f"{env['msgspec']}, reactivex {env['reactivex']}.",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark (or, with the hidden ``--serve``, one of its servers)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--quick", action="store_true", help="a shorter run (under a minute)")
    parser.add_argument("--frames", type=int, help="messages per throughput run")
    parser.add_argument("--repeat", type=int, help="throughput samples per contender")
    parser.add_argument("--seconds", type=float, help="audio seconds per real-time window")
    parser.add_argument("--rounds", type=int, help="real-time windows per contender (5)")
    parser.add_argument(
        "--streams", type=int, nargs="+", help="concurrent streams (default: 100 500)"
    )
    parser.add_argument(
        "--transport",
        nargs="+",
        choices=TRANSPORTS,
        default=list(TRANSPORTS),
        help="rxdeepgram transports to run (default: both)",
    )
    parser.add_argument(
        "--no-reconnect",
        action="store_true",
        help="leave out the rxdeepgram rows with connect(..., reconnect=True)",
    )
    parser.add_argument(
        "--skip",
        nargs="+",
        choices=["throughput", "sync", "realtime"],
        default=[],
        help="sections to leave out",
    )
    parser.add_argument(
        "--no-pin", action="store_true", help="do not pin the client and the server to cores"
    )
    parser.add_argument(
        "--chunk-ms",
        type=int,
        default=20,
        metavar="MS",
        help="audio per send in the real-time runs, in ms (20; Deepgram suggests 20-100)",
    )
    parser.add_argument(
        "--frame",
        choices=sorted(FRAMES),
        default="interim",
        help="the throughput part's Results frame: interim (0.6 KB, default) or results (1.4 KB)",
    )
    parser.add_argument("--serve", choices=["blast", "realtime", "stamped"], help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if not 10 <= args.chunk_ms <= 250:
        parser.error("--chunk-ms must be between 10 and 250")
    global CHUNK, CHUNK_SECONDS, TEXT_ACCESSOR
    CHUNK_SECONDS = args.chunk_ms / 1000
    CHUNK = bytes(32 * args.chunk_ms)  # 16 kHz, 16-bit mono

    if args.serve:
        if not args.no_pin:
            pin(SERVER_CPU)
        raise_open_file_limit()
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(run_server(args.serve, args.frames or 0, FRAMES[args.frame]))
        return 0

    frames = args.frames or (8_000 if args.quick else 30_000)
    repeat = args.repeat or (2 if args.quick else 5)
    seconds = args.seconds or (1.0 if args.quick else 4.0)
    rounds = args.rounds or (1 if args.quick else 5)
    sizes = args.streams or ([100] if args.quick else [100, 500])
    if frames < 1 or repeat < 1 or seconds <= 0 or rounds < 1 or min(sizes) < 1:
        parser.error("--frames, --repeat, --seconds and --streams must be positive")
    transports = [t for t in TRANSPORTS if t in args.transport]
    reconnect = not args.no_reconnect
    kinds = (False, True) if reconnect else (False,)
    rx = [rx_contender(t, with_it) for t in transports for with_it in kinds]

    pinned = not args.no_pin and pin(CLIENT_CPU)
    load_before = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    nofile = raise_open_file_limit()
    if nofile != resource.RLIM_INFINITY and nofile < 2 * max(sizes) + 64:
        parser.error(f"the open-file limit ({nofile}) is too low for {max(sizes)} streams")

    started = time.perf_counter()
    throughput: list[Throughput] = []
    payload = FRAMES[args.frame]
    if "throughput" not in args.skip:
        with contextlib.suppress(ImportError):  # no picows: its contenders do not run
            TEXT_ACCESSOR = cheapest_text_accessor(payload)
            progress(f"the floor reads frames with {TEXT_ACCESSOR.__name__}")
        with ServerProcess("blast", frames, pin=pinned, frame=args.frame) as blast:
            progress(f"throughput, asyncio client: {repeat + 1} rounds of {frames:,} messages")
            throughput.append(asyncio.run(throughput_async(blast.url, frames, repeat, rx)))
            if "sync" not in args.skip:
                progress(f"throughput, sync client: {repeat + 1} rounds of {frames:,} messages")
                throughput.append(throughput_sync(blast.url, frames, repeat, rx))
    sets: list[RealtimeSet] = []
    if "realtime" not in args.skip:
        with ServerProcess("realtime", pin=pinned) as stub:
            sets = asyncio.run(realtime(stub, sizes, seconds, rx, rounds))
    duration = time.perf_counter() - started

    checks = [c for t in throughput for c in t.checks(transports, reconnect)]
    checks += [c for s in sets for c in s.checks(transports, reconnect)]
    ok = all(c.ok for c in checks)
    env = environment(["websockets", "picows", "msgspec", "reactivex"])
    if args.json:
        document = {
            "benchmark": "listen_e2e",
            "targets": {
                "rx_websockets_over_raw_min": MIN_RAW_RATIO,
                "rx_picows_over_raw_min": MIN_PICOWS_RAW_RATIO,
                "rx_websockets_streams_per_core_min": MIN_STREAMS_PER_CORE,
                "rx_picows_streams_per_core_over_baseline_min": MIN_PICOWS_REALTIME_GAIN,
                "reconnect_cost_max": MAX_RECONNECT_COST,
                "rx_picows_over_floor_min": MIN_FLOOR_RATIO,
                "rx_picows_over_fair_typed_min": MIN_FAIR_TYPED_RATIO,
            },
            "frame": {"name": args.frame, "bytes": len(payload.encode())},
            "floor_text_accessor": TEXT_ACCESSOR.__name__ if TEXT_ACCESSOR else None,
            "pinned": pinned,
            "load_average_1min_before": load_before,
            "throughput": [t.as_dict() for t in throughput],
            "realtime": [r.as_dict() for r in sets],
            "checks": [c.as_dict() for c in checks],
            "seconds": round(duration, 1),
            "environment": env,
            "all_targets_met": ok,
        }
        print(json.dumps(document, indent=2))
    else:
        print(
            report(
                throughput,
                sets,
                checks,
                frames,
                len(payload.encode()),
                repeat,
                seconds,
                env,
                pinned,
                load_before,
            )
        )
        verdict = "All measured targets met." if ok else "Some targets MISSED."
        print(f"{duration:.0f} s. {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
