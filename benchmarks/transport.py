"""What the transport costs beyond throughput: latency, memory and threads per connection, import.

Run ``python benchmarks/transport.py`` (Markdown tables, ~1 min), ``--quick`` (~30 s) or
add ``--json``; ``--only latency memory threads import`` picks sections. Progress goes to stderr.
The servers are ``listen_e2e.py``'s stub server (a bare asyncio protocol answering like Listen
V1) in a subprocess, pinned to another core than the client when there are two or more.

1. **Latency**: frame arrival -> subscriber ``on_next``, p50/p99/max, at ``--streams`` (500) live
   streams: each sends 16 kHz audio in 20 ms chunks at real time (one ticker, as in
   ``listen_e2e.py``), the server answers an interim ``Results`` per 0.5 s of audio per stream.
   *Arrival* is when the client's transport starts reading the socket: the loop is a
   ``SelectorEventLoop`` subclass of this script (``StampingLoop``) that wraps every socket read
   callback registered with it (asyncio's transports and aiofastnet's, which picows uses, alike)
   and notes the time per file descriptor right before the callback runs. Each connection is
   opened alone, so the one file descriptor it adds to the loop's selector is its socket. The
   subscriber reads the clock in ``on_next`` and subtracts its socket's last arrival: what the
   transport, the frame parsing, the decoding to a struct and the hand-over cost, without the
   time the frame waited in the kernel while the loop was busy elsewhere. That wait is in the
   second figure, *server write -> on_next*: the server stamps each frame with its
   ``time.monotonic_ns()`` when it writes it (``CLOCK_MONOTONIC`` is system-wide), so this one
   includes the loop's queueing behind the ticker's burst of 500 sends (the application's load,
   not the library's). Contenders, same load, same run: rxdeepgram on each transport, and two
   hand-written references: a ``websockets`` client (a reader task per connection,
   ``msgspec.json.decode`` per message) and a ``picows`` listener (decoding in ``on_ws_frame``).
   Target: rxdeepgram p99 arrival -> on_next <= 0.5 ms, on both transports.

2. **Memory per open connection**: ``--connections`` (1,000) idle async connections, one
   subscriber each, to the stub server. Each contender runs in a fresh interpreter that first
   opens and closes 20 connections (lazy imports, caches), then opens the 1,000: the resident
   set growth (``/proc/self/statm``) divided by the count, and in a second fresh interpreter the
   Python allocations still alive (``tracemalloc``, which sees Python objects and ``PyMem``
   buffers, not the kernel's socket buffers). Target: rxdeepgram <= 40 KB per connection (RSS),
   both transports; raw ``websockets`` and ``picows`` connections are the references.

3. **Threads for 50 open sync connections**: a fresh interpreter imports everything, counts its
   threads (``/proc/self/status``, native threads; ``threading.active_count()`` elsewhere), opens
   50 ``DeepgramClient`` connections and counts again. Target: at most 2 more threads, both
   transports. ``websockets.sync`` (one thread per connection) is the reference.

4. **Import**: ``import rxdeepgram`` against ``import reactivex, websockets, msgspec``, each timed
   inside a fresh interpreter (``perf_counter_ns`` around the import statement only, so the
   interpreter's start-up does not dilute the ratio), ``--imports`` (21) of each, interleaved;
   median over median. Target <= 1.1x. The same runs check that ``import rxdeepgram`` loads
   neither picows nor the sync client's I/O thread machinery.

The exit status is 1 if a measured target fails.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import resource
import selectors
import statistics
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import msgspec
from _util import environment, markdown_table
from listen_e2e import (
    API_KEY,
    CHUNK,
    CHUNK_SECONDS,
    CLIENT_CPU,
    CONNECT_OPTIONS,
    MAX_SIZE,
    QUERY,
    RAW_HEADERS,
    ServerProcess,
    pin,
    progress,
    raise_open_file_limit,
)

TRANSPORTS = ("websockets", "picows")
MAX_P99_MS = 0.5
MAX_KB_PER_CONNECTION = 40.0
MAX_EXTRA_THREADS = 2
MAX_IMPORT_RATIO = 1.1
CLOSE_STREAM = b'{"type":"CloseStream"}'
RX_IMPORT = "import rxdeepgram"
DEPS_IMPORT = "import reactivex, websockets, msgspec"


# -- helpers ---------------------------------------------------------------------------------


def rss_bytes() -> int:
    """Resident set size of this process (Linux ``/proc``; else peak RSS from getrusage)."""
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def native_threads() -> int:
    """Threads of this process as the kernel counts them (``threading`` off Linux)."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Threads:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return threading.active_count()


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-quantile (0..1) of ``values``, nearest rank."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))]


def run_probe(args: list[str]) -> dict[str, Any]:
    """Run this script in a fresh interpreter with ``--probe ...``; its JSON answer."""
    cmd = [sys.executable, os.path.abspath(__file__), *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"probe {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    answer: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return answer


# -- opening connections, per contender ------------------------------------------------------
#
# Every opener returns an object with ``close()`` (a coroutine) after connecting one client to
# ``url`` and subscribing ``on_message`` (called with each message: a struct for rxdeepgram,
# the decoded dict for the references) and a ``send(chunk)`` for the ticker.


class Opened:
    """One open connection of any contender."""

    __slots__ = ("close", "send")

    def __init__(
        self,
        send: Callable[[bytes], Awaitable[None] | None],
        close: Callable[[], Awaitable[None]],
    ) -> None:
        self.send = send
        self.close = close


async def open_rx(
    transport: str, url: str, on_message: Callable[[Any], None], client: Any = None
) -> Opened:
    from rxdeepgram import AsyncDeepgramClient

    if client is None:
        client = AsyncDeepgramClient(api_key=API_KEY, base_url=url, transport=transport)
    conn = await client.listen.v1.connect(**CONNECT_OPTIONS)
    conn.messages.subscribe(on_message)
    sink = conn.input

    async def close() -> None:
        sink.on_completed()
        await asyncio.wait_for(conn.wait(), 30)

    return Opened(sink.on_next, close)


async def open_raw_websockets(url: str, on_message: Callable[[Any], None]) -> Opened:
    from websockets.asyncio.client import connect

    ws = await connect(
        url + QUERY, additional_headers=RAW_HEADERS, compression=None, max_size=MAX_SIZE
    )
    parse = msgspec.json.decode

    async def reader() -> None:
        async for frame in ws:
            on_message(parse(frame))

    task = asyncio.create_task(reader())

    async def close() -> None:
        await ws.send(CLOSE_STREAM.decode())
        await asyncio.wait_for(task, 30)
        await ws.close()

    return Opened(ws.send, close)  # the ticker awaits each send, as a hand-written client does


_PICOWS_LISTENER: Any = None


def picows_listener() -> Any:
    """A picows listener class decoding each text message with msgspec (made once)."""
    global _PICOWS_LISTENER
    if _PICOWS_LISTENER is None:
        from picows import WSFrame, WSListener, WSMsgType, WSTransport

        parse = msgspec.json.decode
        text, close = WSMsgType.TEXT, WSMsgType.CLOSE

        class Listener(WSListener):
            def __init__(self, on_message: Callable[[Any], None]) -> None:
                super().__init__()
                self.on_message = on_message

            def on_ws_frame(self, transport: WSTransport, frame: WSFrame) -> None:
                if frame.msg_type == text:
                    self.on_message(parse(frame.get_payload_as_memoryview()))
                elif frame.msg_type == close:
                    transport.send_close(frame.get_close_code())
                    transport.disconnect()

        _PICOWS_LISTENER = Listener
    return _PICOWS_LISTENER


async def open_raw_picows(url: str, on_message: Callable[[Any], None]) -> Opened:
    from picows import WSMsgType, ws_connect

    listener = picows_listener()
    transport, _ = await ws_connect(
        lambda: listener(on_message),
        url + QUERY,
        extra_headers=RAW_HEADERS,
        max_frame_size=MAX_SIZE,
    )
    binary = WSMsgType.BINARY

    def send(chunk: bytes) -> None:
        transport.send(binary, chunk)

    async def close() -> None:
        transport.send(WSMsgType.TEXT, CLOSE_STREAM)
        await asyncio.wait_for(transport.wait_disconnected(), 30)

    return Opened(send, close)


CONTENDERS = ("rx-websockets", "rx-picows", "raw-websockets", "raw-picows")


def opener(name: str) -> Callable[[str, Callable[[Any], None]], Awaitable[Opened]]:
    """The coroutine function opening one connection of contender ``name``."""
    if name.startswith("rx-"):
        transport = name[3:]
        from rxdeepgram import AsyncDeepgramClient

        clients: dict[str, Any] = {}

        def rx(url: str, on_message: Callable[[Any], None]) -> Awaitable[Opened]:
            if url not in clients:
                clients[url] = AsyncDeepgramClient(
                    api_key=API_KEY, base_url=url, transport=transport
                )
            return open_rx(transport, url, on_message, clients[url])

        return rx
    if name == "raw-websockets":
        return open_raw_websockets
    if name == "raw-picows":
        return open_raw_picows
    raise ValueError(f"unknown contender {name!r}")


# -- 1. latency ------------------------------------------------------------------------------


class StampingLoop(asyncio.SelectorEventLoop):
    """An asyncio selector loop noting when it starts each socket's read callback.

    Both asyncio's own socket transports (which ``websockets`` uses) and aiofastnet's (which
    ``picows`` uses when installed) register their read callback through ``_add_reader``
    (``add_reader`` delegates to it): the wrapper notes the time, per file descriptor, right
    before the transport reads the socket. That is the frame's arrival as far as the client's
    code can know, after any wait behind other callbacks of the same loop iteration.
    """

    def __init__(self) -> None:
        self.arrival: dict[int, int] = {}
        super().__init__()

    def _add_reader(self, fd: Any, callback: Callable[..., object], *args: Any) -> Any:
        arrival = self.arrival
        clock = time.monotonic_ns
        number = fd if isinstance(fd, int) else fd.fileno()

        def stamped(*a: Any) -> None:
            arrival[number] = clock()
            callback(*a)

        return super()._add_reader(fd, stamped, *args)  # type: ignore[misc]

    def readers(self) -> set[int]:
        """The file descriptors registered for reading."""
        selector: selectors.BaseSelector = self._selector  # type: ignore[attr-defined]
        return {key.fd for key in selector.get_map().values() if key.events & selectors.EVENT_READ}


@dataclass
class Latency:
    contender: str
    streams: int
    seconds: float
    arrival_ns: list[int] = field(default_factory=list)
    written_ns: list[int] = field(default_factory=list)

    def quantiles(self, values: list[int]) -> dict[str, float]:
        ms = [v / 1e6 for v in values]
        return {
            "p50_ms": round(percentile(ms, 0.5), 4),
            "p99_ms": round(percentile(ms, 0.99), 4),
            "max_ms": round(max(ms), 4),
        }

    @property
    def p99_ms(self) -> float:
        return percentile(self.arrival_ns, 0.99) / 1e6

    @property
    def is_rx(self) -> bool:
        return self.contender.startswith("rx-")

    @property
    def ok(self) -> bool:
        return not self.is_rx or self.p99_ms <= MAX_P99_MS

    def as_dict(self) -> dict[str, Any]:
        return {
            "contender": self.contender,
            "streams": self.streams,
            "seconds": self.seconds,
            "messages": len(self.arrival_ns),
            "arrival_to_on_next": self.quantiles(self.arrival_ns),
            "write_to_on_next": self.quantiles(self.written_ns),
            "target_met": self.ok if self.is_rx else None,
        }


def _request_id(message: Any) -> str:
    if isinstance(message, dict):
        return str(message["metadata"]["request_id"])
    return str(message.metadata.request_id)


async def latency_run(name: str, url: str, streams: int, seconds: float) -> Latency:
    loop = asyncio.get_running_loop()
    assert isinstance(loop, StampingLoop)
    result = Latency(name, streams, seconds)
    recording = False
    arrival_ns, written_ns = result.arrival_ns, result.written_ns
    arrival = loop.arrival
    clock = time.monotonic_ns

    def subscriber(fd_box: list[int]) -> Callable[[Any], None]:
        def on_next(message: Any) -> None:
            now = clock()
            if recording and fd_box:
                arrival_ns.append(now - arrival[fd_box[0]])
                written_ns.append(now - int(_request_id(message)))

        return on_next

    open_one = opener(name)
    conns: list[Opened] = []
    for _ in range(streams):
        before = loop.readers()
        box: list[int] = []
        conns.append(await open_one(url, subscriber(box)))
        added = loop.readers() - before
        if len(added) != 1:
            raise SystemExit(f"{name}: cannot tell the socket of a connection ({added})")
        box.append(added.pop())
    sends = [c.send for c in conns]
    gc.collect()
    await asyncio.sleep(0.2)
    ticks = max(1, round(seconds / CHUNK_SECONDS))
    t0 = loop.time()
    recording = True
    for k in range(ticks):
        await asyncio.sleep(max(0.0, t0 + k * CHUNK_SECONDS - loop.time()))
        for send in sends:
            pending = send(CHUNK)
            if pending is not None:
                await pending
    await asyncio.sleep(0.1)
    recording = False
    await asyncio.gather(*(c.close() for c in conns))
    if not arrival_ns:
        raise SystemExit(f"{name}: no message received")
    return result


def latency(streams: int, seconds: float, contenders: list[str]) -> list[Latency]:
    results = []
    with ServerProcess("stamped") as server:
        for name in contenders:
            progress(f"latency: {name}, {streams} streams, {seconds:g} s")
            with asyncio.Runner(loop_factory=StampingLoop) as runner:
                results.append(runner.run(latency_run(name, server.url, streams, seconds)))
    return results


# -- 2. memory per connection ----------------------------------------------------------------


async def memory_probe(name: str, url: str, count: int, traced: bool) -> dict[str, Any]:
    open_one = opener(name)

    def ignore(message: Any) -> None:
        pass

    warm = [await open_one(url, ignore) for _ in range(20)]
    await asyncio.gather(*(c.close() for c in warm))
    del warm
    await asyncio.sleep(0.1)
    gc.collect()
    if traced:
        tracemalloc.start()
    rss0 = rss_bytes()
    conns = []
    for _ in range(count):
        conns.append(await open_one(url, ignore))
    await asyncio.sleep(0.3)
    gc.collect()
    rss1 = rss_bytes()
    traced_bytes = tracemalloc.get_traced_memory()[0] if traced else None
    answer = {
        "contender": name,
        "connections": count,
        "rss_bytes_per_connection": (rss1 - rss0) / count,
        "traced_bytes_per_connection": None if traced_bytes is None else traced_bytes / count,
        "picows_loaded": "picows" in sys.modules,
    }
    if traced:
        tracemalloc.stop()
    await asyncio.gather(*(c.close() for c in conns))
    return answer


@dataclass
class Memory:
    contender: str
    connections: int
    rss_kb: float
    traced_kb: float
    picows_loaded: bool

    @property
    def is_rx(self) -> bool:
        return self.contender.startswith("rx-")

    @property
    def ok(self) -> bool:
        return not self.is_rx or self.rss_kb <= MAX_KB_PER_CONNECTION

    def as_dict(self) -> dict[str, Any]:
        return {
            "contender": self.contender,
            "connections": self.connections,
            "rss_kb_per_connection": round(self.rss_kb, 2),
            "traced_kb_per_connection": round(self.traced_kb, 2),
            "picows_loaded": self.picows_loaded,
            "target_met": self.ok if self.is_rx else None,
        }


def memory(count: int, contenders: list[str]) -> list[Memory]:
    results = []
    with ServerProcess("realtime") as server:
        for name in contenders:
            progress(f"memory: {name}, {count} connections (RSS, then tracemalloc)")
            base = ["--probe", "memory", "--contender", name, "--url", server.url]
            base += ["--connections", str(count)]
            rss = run_probe(base)
            traced = run_probe([*base, "--traced"])
            results.append(
                Memory(
                    name,
                    count,
                    rss["rss_bytes_per_connection"] / 1024,
                    traced["traced_bytes_per_connection"] / 1024,
                    rss["picows_loaded"],
                )
            )
    return results


# -- 3. threads ------------------------------------------------------------------------------


def threads_probe(name: str, url: str, count: int) -> dict[str, Any]:
    if name.startswith("rx-"):
        from rxdeepgram import DeepgramClient

        before = native_threads()
        client = DeepgramClient(api_key=API_KEY, base_url=url, transport=name[3:])
        conns = [client.listen.v1.connect(**CONNECT_OPTIONS).open() for _ in range(count)]
        for conn in conns:
            conn.messages.subscribe(lambda message: None)
        time.sleep(0.2)
        during = native_threads()
        for conn in conns:
            conn.input.on_completed()
        for conn in conns:
            conn.wait(30)
    else:
        from websockets.sync.client import connect

        before = native_threads()
        sockets = [
            connect(url + QUERY, additional_headers=RAW_HEADERS, compression=None)
            for _ in range(count)
        ]
        time.sleep(0.2)
        during = native_threads()
        for ws in sockets:
            ws.close()
    time.sleep(0.2)
    return {
        "contender": name,
        "connections": count,
        "threads_before": before,
        "threads_open": during,
        "threads_after_close": native_threads(),
        "picows_loaded": "picows" in sys.modules,
    }


@dataclass
class Threads:
    contender: str
    connections: int
    before: int
    open: int
    after: int

    @property
    def extra(self) -> int:
        return self.open - self.before

    @property
    def is_rx(self) -> bool:
        return self.contender.startswith("rx-")

    @property
    def ok(self) -> bool:
        return not self.is_rx or self.extra <= MAX_EXTRA_THREADS

    def as_dict(self) -> dict[str, Any]:
        return {
            "contender": self.contender,
            "connections": self.connections,
            "threads_before": self.before,
            "threads_open": self.open,
            "threads_after_close": self.after,
            "extra_threads": self.extra,
            "target_met": self.ok if self.is_rx else None,
        }


SYNC_CONTENDERS = ("rx-websockets", "rx-picows", "raw-websockets-sync")


def threads(count: int) -> list[Threads]:
    results = []
    with ServerProcess("realtime") as server:
        for name in SYNC_CONTENDERS:
            progress(f"threads: {name}, {count} sync connections")
            answer = run_probe(
                [
                    *("--probe", "threads", "--contender", name),
                    *("--url", server.url, "--connections", str(count)),
                ]
            )
            results.append(
                Threads(
                    name,
                    count,
                    answer["threads_before"],
                    answer["threads_open"],
                    answer["threads_after_close"],
                )
            )
    return results


# -- 4. import -------------------------------------------------------------------------------

_IMPORT_PROBE = (
    "import time, sys\n"
    "t = time.perf_counter_ns()\n"
    "{statement}\n"
    "t = time.perf_counter_ns() - t\n"
    "import json\n"
    "print(json.dumps([t, 'picows' in sys.modules, 'threading' in sys.modules,"
    " len(sys.modules)]))\n"
)


@dataclass
class Imports:
    rx_ns: list[int]
    deps_ns: list[int]
    picows_loaded: bool
    threading_loaded: bool
    modules: tuple[int, int]

    @property
    def ratio(self) -> float:
        return statistics.median(self.rx_ns) / statistics.median(self.deps_ns)

    @property
    def ok(self) -> bool:
        return self.ratio <= MAX_IMPORT_RATIO

    def as_dict(self) -> dict[str, Any]:
        return {
            "rx_statement": RX_IMPORT,
            "deps_statement": DEPS_IMPORT,
            "rx_median_ms": round(statistics.median(self.rx_ns) / 1e6, 2),
            "deps_median_ms": round(statistics.median(self.deps_ns) / 1e6, 2),
            "rx_samples_ms": [round(t / 1e6, 2) for t in self.rx_ns],
            "deps_samples_ms": [round(t / 1e6, 2) for t in self.deps_ns],
            "ratio": round(self.ratio, 3),
            "picows_loaded_by_import": self.picows_loaded,
            "threading_loaded_by_import": self.threading_loaded,
            "modules_loaded": {"rxdeepgram": self.modules[0], "deps": self.modules[1]},
            "target_met": self.ok,
        }


def imports(count: int) -> Imports:
    progress(f"import: {count} fresh interpreters each")
    times: dict[str, list[int]] = {RX_IMPORT: [], DEPS_IMPORT: []}
    flags: dict[str, list[Any]] = {}
    order = [RX_IMPORT, DEPS_IMPORT]
    for i in range(count + 1):  # the first round warms the disk cache and the .pyc files
        for statement in order if i % 2 == 0 else order[::-1]:
            done = subprocess.run(
                [sys.executable, "-c", _IMPORT_PROBE.format(statement=statement)],
                capture_output=True,
                text=True,
                check=True,
            )
            ns, picows, threading_, modules = json.loads(done.stdout)
            flags[statement] = [picows, threading_, modules]
            if i:
                times[statement].append(ns)
    return Imports(
        times[RX_IMPORT],
        times[DEPS_IMPORT],
        flags[RX_IMPORT][0],
        flags[RX_IMPORT][1] and not flags[DEPS_IMPORT][1],
        (flags[RX_IMPORT][2], flags[DEPS_IMPORT][2]),
    )


# -- report ----------------------------------------------------------------------------------


def _verdict(ok: bool | None) -> str:
    return "reference" if ok is None else ("met" if ok else "MISSED")


def report(
    lat: list[Latency],
    mem: list[Memory],
    thr: list[Threads],
    imp: Imports | None,
    env: dict[str, str],
    load: float | None,
) -> str:
    lines: list[str] = []
    if lat:
        rows = []
        for r in lat:
            a, w = r.quantiles(r.arrival_ns), r.quantiles(r.written_ns)
            rows.append(
                [
                    r.contender,
                    f"{len(r.arrival_ns):,}",
                    f"{a['p50_ms']:.3f} / {a['p99_ms']:.3f} / {a['max_ms']:.2f}",
                    f"{w['p50_ms']:.3f} / {w['p99_ms']:.3f} / {w['max_ms']:.2f}",
                    _verdict(r.ok if r.is_rx else None),
                ]
            )
        lines += [
            f"Latency at {lat[0].streams} live streams ({lat[0].seconds:g} s, 20 ms chunks)",
            "",
            markdown_table(
                [
                    "contender",
                    "messages",
                    "arrival -> on_next ms (p50 / p99 / max)",
                    "server write -> on_next ms (p50 / p99 / max)",
                    f"p99 <= {MAX_P99_MS:g} ms",
                ],
                rows,
            ),
            "",
        ]
    if mem:
        rows = [
            [
                m.contender,
                f"{m.connections:,}",
                f"{m.rss_kb:.1f}",
                f"{m.traced_kb:.1f}",
                "yes" if m.picows_loaded else "no",
                _verdict(m.ok if m.is_rx else None),
            ]
            for m in mem
        ]
        lines += [
            "Memory per open async connection",
            "",
            markdown_table(
                [
                    "contender",
                    "connections",
                    "RSS KB/conn",
                    "tracemalloc KB/conn",
                    "picows loaded",
                    f"<= {MAX_KB_PER_CONNECTION:g} KB",
                ],
                rows,
            ),
            "",
        ]
    if thr:
        rows = [
            [
                t.contender,
                str(t.connections),
                str(t.before),
                str(t.open),
                str(t.after),
                f"+{t.extra}",
                _verdict(t.ok if t.is_rx else None),
            ]
            for t in thr
        ]
        lines += [
            "Threads for open sync connections",
            "",
            markdown_table(
                [
                    "contender",
                    "connections",
                    "before",
                    "open",
                    "after close",
                    "extra",
                    f"<= {MAX_EXTRA_THREADS} extra",
                ],
                rows,
            ),
            "",
        ]
    if imp is not None:
        d = imp.as_dict()
        lines += [
            "Import (fresh interpreters, import statement only)",
            "",
            markdown_table(
                ["statement", "median ms", "modules", "ratio", f"<= {MAX_IMPORT_RATIO:g}x"],
                [
                    [
                        f"`{RX_IMPORT}`",
                        f"{d['rx_median_ms']:.1f}",
                        str(imp.modules[0]),
                        f"{imp.ratio:.2f}x",
                        _verdict(imp.ok),
                    ],
                    [f"`{DEPS_IMPORT}`", f"{d['deps_median_ms']:.1f}", str(imp.modules[1]), "", ""],
                ],
            ),
            "",
            f"`import rxdeepgram` loads picows: {'yes' if imp.picows_loaded else 'no'}; "
            "loads `threading` beyond its dependencies: "
            f"{'yes' if imp.threading_loaded else 'no'}.",
            "",
        ]
    loadtxt = "n/a" if load is None else f"{load:.2f}"
    lines.append(
        f"{env['python']} on {env['machine']} ({env['cpus']} CPUs, load average {loadtxt} before "
        f"the run); websockets {env['websockets']}, picows {env['picows']}, msgspec "
        f"{env['msgspec']}, reactivex {env['reactivex']}."
    )
    return "\n".join(lines)


SECTIONS = ("latency", "memory", "threads", "import")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print machine-readable results")
    parser.add_argument("--quick", action="store_true", help="a shorter run (under a minute)")
    parser.add_argument("--only", nargs="+", choices=SECTIONS, help="run only these sections")
    parser.add_argument("--streams", type=int, help="live streams for the latency (500)")
    parser.add_argument("--seconds", type=float, help="latency window per contender (s)")
    parser.add_argument("--connections", type=int, help="connections for the memory (1000)")
    parser.add_argument("--imports", type=int, help="fresh interpreters per import (21)")
    parser.add_argument(
        "--contenders", nargs="+", choices=CONTENDERS, help="latency/memory contenders"
    )
    parser.add_argument("--probe", choices=["memory", "threads"], help=argparse.SUPPRESS)
    parser.add_argument("--contender", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--traced", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    raise_open_file_limit()

    if args.probe:
        pin(CLIENT_CPU)
        if args.probe == "memory":
            answer = asyncio.run(
                memory_probe(args.contender, args.url, args.connections, args.traced)
            )
        else:
            answer = threads_probe(args.contender, args.url, args.connections)
        print(json.dumps(answer))
        return 0

    sections = args.only or list(SECTIONS)
    contenders = args.contenders or list(CONTENDERS)
    streams = args.streams or 500
    seconds = args.seconds or (2.0 if args.quick else 5.0)
    connections = args.connections or (300 if args.quick else 1000)
    import_count = args.imports or (7 if args.quick else 21)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    started = time.perf_counter()

    imp = imports(import_count) if "import" in sections else None
    pin(CLIENT_CPU)
    thr = threads(50) if "threads" in sections else []
    mem = memory(connections, contenders) if "memory" in sections else []
    lat = latency(streams, seconds, contenders) if "latency" in sections else []
    duration = time.perf_counter() - started

    checks = [r.ok for r in lat] + [m.ok for m in mem] + [t.ok for t in thr]
    checks += [imp.ok] if imp else []
    ok = all(checks)
    env = environment(["websockets", "picows", "msgspec", "reactivex"])
    if args.json:
        print(
            json.dumps(
                {
                    "benchmark": "transport",
                    "targets": {
                        "latency_p99_ms_max": MAX_P99_MS,
                        "kb_per_connection_max": MAX_KB_PER_CONNECTION,
                        "extra_threads_max": MAX_EXTRA_THREADS,
                        "import_ratio_max": MAX_IMPORT_RATIO,
                    },
                    "load_average_1min_before": load,
                    "latency": [r.as_dict() for r in lat],
                    "memory": [m.as_dict() for m in mem],
                    "threads": [t.as_dict() for t in thr],
                    "import": None if imp is None else imp.as_dict(),
                    "seconds": round(duration, 1),
                    "environment": env,
                    "all_targets_met": ok,
                },
                indent=2,
            )
        )
    else:
        print(report(lat, mem, thr, imp, env, load))
        verdict = "All measured targets met." if ok else "Some targets MISSED."
        print(f"{duration:.0f} s. {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
