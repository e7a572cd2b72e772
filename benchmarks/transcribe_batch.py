"""A batch of files through the local server: ``rxdeepgram transcribe`` against a hand-written
asyncio loop over the official deepgram-sdk, in the same run.

Run ``python benchmarks/transcribe_batch.py`` (200 files of 30 s, 3 rounds, ~4 min on two
cores), ``--quick`` (40 files of 10 s, 2 rounds) or add ``--json``. Progress goes to stderr.

Setup: ``--files`` WAV files of ``--seconds`` each (16 kHz mono linear16, speech-like bursts
of a tone between pauses, so the scripted engine finds utterances) are written to a temporary
folder once. One local server (``python -m rxdeepgram.server --deterministic``: the scripted
engine) runs in a subprocess for the whole run. When the machine has two or more CPUs the
server is pinned to one core and each client to another, so the client never competes with the
server it waits for.

Contenders, each a fresh subprocess sending every file as fast as the connection takes it with
``--concurrency`` streams at once (16 by default, the command's default for a remote server):

- **rxdeepgram**: ``rxdeepgram transcribe DIR --url URL --concurrency N --json -q``, the
  command as a user runs it (file discovery, WAV parsing, progress bookkeeping and JSON
  output included);
- **sdk**: a hand-written ``asyncio`` loop over deepgram-sdk's ``AsyncDeepgramClient`` (the
  way ``tests/test_sdk_interop.py`` talks to the local server): a semaphore of N, per file
  ``listen.v1.connect(...)``, a reader task collecting the final transcripts, ``send_media``
  of 100 ms chunks (the chunk rxdeepgram sends), ``send_close_stream``, then printing one JSON
  line per final result (this script run with ``--sdk-worker``).

Measured per run: **wall** time (process start to exit), **client CPU** (user + system of the
client process, from ``os.wait4``), **streams in flight** (established connections to the
server's port, sampled every 20 ms from ``/proc/net/tcp``: mean while any is open, and max),
and the number of final results (both must match: the same work was done). The contenders
run interleaved ``--rounds`` times, each round starting from a different one; the table gives
medians, the ratio rxdeepgram / sdk of the medians (below 1x: rxdeepgram costs less) and the
range of the ratios within a round. The wall time is mostly the server's (both contenders
wait for the same scripted server, which runs a VAD on every 10 ms of audio): client CPU is
the figure that compares the clients. Target: rxdeepgram's client CPU <= 1x the sdk loop's,
with the same number of final results (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import wave
from array import array
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import environment, markdown_table

RATE = 16000
TARGET_CPU_RATIO = 1.0
"""rxdeepgram's client CPU over the sdk loop's (medians): the command, with everything it does
on top, must cost no more than the bare hand-written loop."""


def make_files(folder: Path, count: int, seconds: float) -> None:
    """``count`` WAV files: 1.2 s tone bursts (varying pitch) between 0.8 s pauses."""
    folder.mkdir(parents=True, exist_ok=True)
    total = int(seconds * RATE)
    for n in range(count):
        samples = array("h", bytes(2 * total))
        position, burst = int(0.3 * RATE), 0
        while position < total - RATE:
            freq = 200 + 40 * ((n + burst) % 7)
            for i in range(min(int(1.2 * RATE), total - position)):
                samples[position + i] = int(6000 * math.sin(2 * math.pi * freq * i / RATE))
            position += int(2.0 * RATE)
            burst += 1
        with wave.open(str(folder / f"call{n:04d}.wav"), "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(2)
            out.setframerate(RATE)
            out.writeframes(samples.tobytes())


# -- the sdk contender (run in its own process) --------------------------------------------------


async def sdk_worker(folder: str, url: str, concurrency: int) -> None:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from deepgram import AsyncDeepgramClient
        from deepgram.environment import DeepgramClientEnvironment

    http = "http" + url.removeprefix("ws")
    env = DeepgramClientEnvironment(base=http, production=url, agent=url, agent_rest=http)
    client = AsyncDeepgramClient(api_key="benchmark", environment=env)
    semaphore = asyncio.Semaphore(concurrency)
    paths = sorted(Path(folder).glob("*.wav"))
    out = sys.stdout

    async def one(path: Path) -> None:
        async with semaphore:
            with wave.open(str(path), "rb") as wav:
                rate = wav.getframerate()
                data = wav.readframes(wav.getnframes())
            chunk = rate * 2 // 10
            async with client.listen.v1.connect(
                model="nova-3", encoding="linear16", sample_rate=str(rate)
            ) as socket:
                finals: list[Any] = []

                async def read() -> None:
                    async for message in socket:
                        if getattr(message, "type", "") == "Results" and message.is_final:
                            finals.append(message)

                reader = asyncio.create_task(read())
                for offset in range(0, len(data), chunk):
                    await socket.send_media(data[offset : offset + chunk])
                await socket.send_close_stream()
                await reader
            for message in finals:
                best = message.channel.alternatives[0]
                if best.transcript:
                    row = {"file": str(path), "start": message.start, "text": best.transcript}
                    out.write(json.dumps(row) + "\n")

    await asyncio.gather(*(one(p) for p in paths))


# -- measuring ----------------------------------------------------------------------------------


def _established(port: int) -> int:
    """Server-side established TCP connections on ``port`` (Linux ``/proc/net/tcp*``)."""
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as file:
                next(file)
                for line in file:
                    fields = line.split()
                    if fields[3] == "01" and int(fields[1].rsplit(":", 1)[1], 16) == port:
                        count += 1
        except OSError:
            continue
    return count


class Sampler(threading.Thread):
    """Samples the connections in flight every ``interval`` seconds until stopped."""

    def __init__(self, port: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.interval = interval
        self.samples: list[int] = []
        self.halt = threading.Event()

    def run(self) -> None:
        while not self.halt.wait(self.interval):
            self.samples.append(_established(self.port))

    def stop(self) -> tuple[float, int]:
        self.halt.set()
        self.join()
        busy = [s for s in self.samples if s]
        return (statistics.fmean(busy) if busy else 0.0), max(self.samples, default=0)


def _pin(cpu: int | None) -> Any:
    if cpu is None or not hasattr(os, "sched_setaffinity"):
        return None
    return lambda: os.sched_setaffinity(0, {cpu})


def run_contender(
    name: str, command: list[str], port: int, cpu: int | None
) -> dict[str, float | int | str]:
    sampler = Sampler(port)
    sampler.start()
    started = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_pin(cpu),
    )
    # wait4 gives the child's own rusage; read the pipes in threads so it never blocks on them
    outputs: dict[str, bytes] = {}
    readers = [
        threading.Thread(target=lambda k=k, f=f: outputs.__setitem__(k, f.read()))
        for k, f in (("out", proc.stdout), ("err", proc.stderr))
    ]
    for reader in readers:
        reader.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    for reader in readers:
        reader.join()
    mean_streams, max_streams = sampler.stop()
    if proc.returncode != 0:
        raise SystemExit(f"{name} failed ({proc.returncode}): {outputs['err'].decode()[-2000:]}")
    finals = sum(1 for line in outputs["out"].splitlines() if line.strip())
    return {
        "contender": name,
        "wall_s": wall,
        "cpu_s": usage.ru_utime + usage.ru_stime,
        "streams_mean": mean_streams,
        "streams_max": max_streams,
        "finals": finals,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="40 files of 10 s, 2 rounds")
    parser.add_argument("--json", action="store_true")
    parser.add_argument(
        "--sdk-worker", nargs=3, metavar=("DIR", "URL", "N"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.sdk_worker:
        folder, url, n = args.sdk_worker
        asyncio.run(sdk_worker(folder, url, int(n)))
        return 0
    if args.quick:
        args.files, args.seconds, args.rounds = 40, 10.0, 2

    cpus = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    server_cpu, client_cpu = (cpus[0], cpus[1]) if len(cpus) >= 2 else (None, None)
    scratch = Path(tempfile.mkdtemp(prefix="rxdeepgram-batch-"))
    try:
        folder = scratch / "calls"
        print(f"writing {args.files} files of {args.seconds:g} s ...", file=sys.stderr)
        make_files(folder, args.files, args.seconds)
        server = subprocess.Popen(
            [sys.executable, "-m", "rxdeepgram.server", "--deterministic", "--idle-timeout", "60"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            preexec_fn=_pin(server_cpu),
        )
        try:
            assert server.stdout is not None
            url = server.stdout.readline().strip()
            port = int(url.rsplit(":", 1)[1])
            commands = {
                "rxdeepgram": [
                    sys.executable, "-m", "rxdeepgram", "transcribe", str(folder),
                    "--url", url, "--concurrency", str(args.concurrency), "--json", "-q",
                ],
                "sdk": [
                    sys.executable, __file__, "--sdk-worker", str(folder), url,
                    str(args.concurrency),
                ],
            }  # fmt: skip
            names = list(commands)
            runs: list[dict[str, Any]] = []
            for round_ in range(args.rounds):
                order = names[round_ % 2 :] + names[: round_ % 2]
                for name in order:
                    print(f"round {round_ + 1}: {name} ...", file=sys.stderr)
                    result = run_contender(name, commands[name], port, client_cpu)
                    result["round"] = round_ + 1
                    runs.append(result)
                    print(f"  {result}", file=sys.stderr)
        finally:
            server.terminate()
            server.wait(10)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    def median(name: str, key: str) -> float:
        return statistics.median(float(r[key]) for r in runs if r["contender"] == name)

    finals = {name: {r["finals"] for r in runs if r["contender"] == name} for name in names}
    same_work = finals["rxdeepgram"] == finals["sdk"] and len(finals["sdk"]) == 1
    audio_h = args.files * args.seconds / 3600
    rows = []
    for name in names:
        rows.append(
            [
                name,
                f"{median(name, 'wall_s'):.1f} s",
                f"{audio_h * 3600 / median(name, 'wall_s'):.0f}x",
                f"{median(name, 'cpu_s'):.2f} s",
                f"{median(name, 'streams_mean'):.1f} / {median(name, 'streams_max'):.0f}",
                "/".join(str(f) for f in sorted(finals[name])),
            ]
        )
    ratios = {key: median("rxdeepgram", key) / median("sdk", key) for key in ("wall_s", "cpu_s")}
    per_round = {
        key: [
            float(a[key]) / float(b[key])
            for a in runs
            for b in runs
            if a["round"] == b["round"] and a["contender"] == "rxdeepgram" != b["contender"]
        ]
        for key in ("wall_s", "cpu_s")
    }

    def spread(key: str) -> str:
        values = per_round[key]
        return f"{ratios[key]:.2f}x ({min(values):.2f}-{max(values):.2f}x)"

    rows.append(
        [
            "rxdeepgram / sdk (per-round range)",
            spread("wall_s"),
            "",
            spread("cpu_s"),
            "",
            "same" if same_work else "DIFFERENT",
        ]
    )
    if args.json:
        document = {
            "environment": environment(["rxdeepgram", "deepgram-sdk", "websockets"]),
            "files": args.files,
            "seconds": args.seconds,
            "concurrency": args.concurrency,
            "runs": runs,
            "ratios": ratios,
            "ratios_per_round": per_round,
            "same_work": same_work,
            "target_met": same_work and ratios["cpu_s"] <= TARGET_CPU_RATIO,
        }
        print(json.dumps(document, indent=1))
    else:
        print(
            f"{args.files} files x {args.seconds:g} s ({audio_h:.2f} h of audio), "
            f"--concurrency {args.concurrency}, {args.rounds} rounds, medians:\n"
        )
        header = ["contender", "wall", "x real time", "client CPU", "streams mean / max", "finals"]
        print(markdown_table(header, rows))
    met = same_work and ratios["cpu_s"] <= TARGET_CPU_RATIO
    if not args.json:
        verdict = "met" if met else "MISSED"
        print(f"\ntarget: client CPU <= {TARGET_CPU_RATIO:g}x the sdk loop's, same work: {verdict}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
