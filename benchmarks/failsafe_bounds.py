"""How long each failure takes to be reported (README "Reliability", the table of bounds).

Runs the cases of ``tests/test_failsafe.py`` with the library's *default* settings (or the ones
named) against the same misbehaving peers on loopback, on both clients and both transports, and
prints the seconds each took (wall clock, one run each unless said). Not a test: the numbers
depend on the machine; the bounds they illustrate are the configured timeouts.

    python benchmarks/failsafe_bounds.py [--quick]   # --quick: skips the 30 s default give-up
"""

from __future__ import annotations

import argparse
import asyncio
import resource
import statistics
import sys
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from badserver import BadServer
from faultproxy import FaultProxy
from resume_util import ToneWordEngine, word_audio

from rxdeepgram import (
    AsyncDeepgramClient,
    BufferOverflowError,
    DeepgramClient,
    Reconnect,
)
from rxdeepgram.messages import listen_v1 as m
from rxdeepgram.server import DeepgramServer

RAW = {"model": "nova-3", "encoding": "linear16", "sample_rate": 16000}
COMBOS = [(k, t) for t in ("websockets", "picows") for k in ("sync", "async")]


def run(kind: str, transport: str, body: Any, **client: Any) -> Any:
    """``body(client, connect)`` with the sync client, or ``await body(...)`` with the async
    one; ``connect(**kw)`` opens a Listen V1 connection."""
    if kind == "sync":
        c = DeepgramClient(transport=transport, **client)
        return body(c, lambda **kw: c.listen.v1.connect(**RAW, **kw).open())

    async def main() -> Any:
        c = AsyncDeepgramClient(transport=transport, **client)

        async def connect(**kw: Any) -> Any:
            return await c.listen.v1.connect(**RAW, **kw)

        return await body(c, connect)

    return asyncio.run(main())


def ended(conn: Any) -> threading.Event:
    done = threading.Event()
    conn.messages.subscribe(on_error=lambda e: done.set(), on_completed=done.set)
    return done


async def wait_event(event: threading.Event, timeout: float = 300.0) -> None:
    await asyncio.to_thread(event.wait, timeout)


def give_up_1011(kind: str, transport: str) -> str:
    """A server that opens and closes 1011 at once: until the stream errors (default
    Reconnect: 8 attempts, backoff 0.25 s doubling to 8 s)."""
    with BadServer("close") as bad:

        def sync(c: Any, connect: Any) -> str:
            t0 = time.perf_counter()
            conn = connect(reconnect=True)
            ended(conn).wait(300)
            return f"{time.perf_counter() - t0:.1f} s, {bad.handshakes} connections"

        async def async_(c: Any, connect: Any) -> str:
            t0 = time.perf_counter()
            conn = await connect(reconnect=True)
            await wait_event(ended(conn))
            return f"{time.perf_counter() - t0:.1f} s, {bad.handshakes} connections"

        return str(run(kind, transport, sync if kind == "sync" else async_, base_url=bad.url))


def close_while_reconnecting(kind: str, transport: str) -> str:
    """close() while reconnecting to the 1011 server (default close_timeout 10 s)."""
    with BadServer("close") as bad:

        def sync(c: Any, connect: Any) -> float:
            conn = connect(reconnect=Reconnect(max_attempts=1000, max_backoff=1.0))
            while conn.current_state.kind != "reconnecting":
                time.sleep(0.01)
            t0 = time.perf_counter()
            conn.close()
            return time.perf_counter() - t0

        async def async_(c: Any, connect: Any) -> float:
            conn = await connect(reconnect=Reconnect(max_attempts=1000, max_backoff=1.0))
            while conn.current_state.kind != "reconnecting":
                await asyncio.sleep(0.01)
            t0 = time.perf_counter()
            await conn.close()
            return time.perf_counter() - t0

        took = run(kind, transport, sync if kind == "sync" else async_, base_url=bad.url)
        return f"{took:.2f} s"


def close_server_down(kind: str, transport: str, server: DeepgramServer) -> str:
    """Leave ``with`` after the server went down (resumable, defaults): until the stream
    errors with what was not delivered."""
    audio = word_audio([3, 1, 4, 1, 5])
    with FaultProxy("127.0.0.1", server.port) as proxy:

        def sync(c: Any, connect: Any) -> str:
            conn = connect(reconnect=True)
            for i in range(0, len(audio), 3200):
                conn.input.on_next(audio[i : i + 3200])
            proxy.down()
            t0 = time.perf_counter()
            conn.close()
            return f"{time.perf_counter() - t0:.2f} s -> {type(conn.end).__name__}"

        async def async_(c: Any, connect: Any) -> str:
            conn = await connect(reconnect=True)
            for i in range(0, len(audio), 3200):
                conn.input.on_next(audio[i : i + 3200])
            proxy.down()
            t0 = time.perf_counter()
            await conn.close()
            return f"{time.perf_counter() - t0:.2f} s -> {type(conn.end).__name__}"

        return str(run(kind, transport, sync if kind == "sync" else async_, base_url=proxy.url))


def stalled_peer(kind: str, transport: str, server: DeepgramServer, ping: float) -> str:
    """A peer that stalls (forwards nothing, closes nothing): from the stall to the stream's
    end, with ``ping_interval = ping_timeout = ping``."""
    with FaultProxy("127.0.0.1", server.port) as proxy:

        def sync(c: Any, connect: Any) -> float:
            conn = connect()
            conn.input.on_next(bytes(3200))
            done = ended(conn)
            proxy.stall()
            t0 = time.perf_counter()
            done.wait(300)
            return time.perf_counter() - t0

        async def async_(c: Any, connect: Any) -> float:
            conn = await connect()
            conn.input.on_next(bytes(3200))
            done = ended(conn)
            proxy.stall()
            t0 = time.perf_counter()
            await wait_event(done)
            return time.perf_counter() - t0

        took = run(
            kind,
            transport,
            sync if kind == "sync" else async_,
            base_url=proxy.url,
            ping_interval=ping,
            ping_timeout=ping,
        )
        return f"{took:.2f} s"


def queue_bound(kind: str, transport: str) -> str:
    """Push up to 96 MB of audio into a stalled peer (default send_queue_bytes, 16 MiB): what
    was taken before BufferOverflowError, and how much the process grew (max RSS)."""
    with BadServer("stall") as stalled:
        before = _rss_mib()
        grew = [0.0]

        def push(conn: Any) -> int:
            taken = 0
            try:
                while taken < 96 * 2**20:
                    chunk = b"\x01" * (64 * 1024)  # a new, written buffer each time (a mic)
                    conn.input.on_next(chunk)
                    taken += len(chunk)
            except BufferOverflowError:
                pass
            grew[0] = _rss_mib() - before  # while the queue is full, before the abort
            return taken

        def sync(c: Any, connect: Any) -> int:
            conn = connect()
            taken = push(conn)
            conn._abort(None, hard=True)
            return taken

        async def async_(c: Any, connect: Any) -> int:
            conn = await connect()
            taken = await asyncio.to_thread(push, conn)
            conn._abort(None, hard=True)
            return taken

        taken = run(
            kind,
            transport,
            sync if kind == "sync" else async_,
            base_url=stalled.url,
            ping_interval=None,
        )
        return f"taken {taken / 2**20:.1f} MiB, then refused; RSS +{grew[0]:.0f} MiB"


def _rss_mib() -> float:
    """The process's resident memory now (Linux)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * resource.getpagesize() / 2**20


def last_final_after_cuts(kind: str, transport: str, server: DeepgramServer, runs: int) -> str:
    """20 cuts in a stream of 50 tone words (32 s of audio, sent 25x faster than real time):
    from the last audio chunk to the last final result (median and max of ``runs``)."""
    delays = [_cut_run(kind, transport, server, seed) for seed in range(runs)]
    return f"median {statistics.median(delays):.2f} s, max {max(delays):.2f} s ({runs} runs)"


def _cut_run(kind: str, transport: str, server: DeepgramServer, seed: int) -> float:
    import random

    audio = word_audio([i % 26 for i in range(50)])
    chunks = [audio[i : i + 3200] for i in range(0, len(audio), 3200)]
    cuts = set(random.Random(seed).sample(range(5, len(chunks)), 20))
    last = [0.0]

    def on_message(x: Any) -> None:
        if isinstance(x, m.Results) and x.is_final:
            last[0] = time.perf_counter()

    with FaultProxy("127.0.0.1", server.port) as proxy:

        def send(conn: Any) -> float:
            for i, chunk in enumerate(chunks):
                conn.input.on_next(chunk)
                if i in cuts:
                    proxy.cut()
                time.sleep(0.004)
            return time.perf_counter()

        def sync(c: Any, connect: Any) -> float:
            conn = connect(reconnect=True)
            conn.messages.subscribe(on_message)
            t_end = send(conn)
            conn.close()
            return last[0] - t_end

        async def async_(c: Any, connect: Any) -> float:
            conn = await connect(reconnect=True)
            conn.messages.subscribe(on_message)
            t_end = await asyncio.to_thread(send, conn)
            await conn.close()
            return last[0] - t_end

        took: float = run(kind, transport, sync if kind == "sync" else async_, base_url=proxy.url)
        return took


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    with DeepgramServer(engine=ToneWordEngine()) as server:
        for kind, transport in COMBOS:
            label = f"{kind}/{transport}"
            if not args.quick and transport == "websockets":
                print(label, "1011 server, default Reconnect:", give_up_1011(kind, transport))
            print(label, "close() while reconnecting:", close_while_reconnecting(kind, transport))
            print(label, "close(), server down:", close_server_down(kind, transport, server))
            print(label, "stalled peer, 2 s pings:", stalled_peer(kind, transport, server, 2.0))
            print(label, "96 MB into a stalled peer:", queue_bound(kind, transport))
            print(
                label,
                "20 cuts, audio end -> last final:",
                last_final_after_cuts(kind, transport, server, 4),
            )
            sys.stdout.flush()


if __name__ == "__main__":
    main()
