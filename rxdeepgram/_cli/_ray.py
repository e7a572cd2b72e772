"""A transcription batch on a Ray cluster (the ``ray`` extra); imported only when used.

The driver (this process) expands the inputs, skips those already done, and hands each of the
rest to one of ``workers`` Ray actors. Each actor is one process holding one
:class:`~rxdeepgram.AsyncDeepgramClient` on its event loop and runs up to ``streams`` inputs at
once through the same :class:`._job.Transcriber` as the single-process command: it opens the
input, streams it, writes its outputs (atomically: a temporary file renamed over the output)
and returns an :class:`._job.Outcome`. The driver gives each actor ``streams`` inputs and a few
more to queue (so a stream that ends starts the next input without a round trip to the driver),
tops it up as its inputs finish, and reports every outcome through the same
:class:`._job.Report` (progress, transcripts on standard output, summary).

Why actors rather than Ray Data or plain tasks: the work is I/O-bound (waiting for the
service), so what matters per process is many streams on one event loop with one client,
which an async actor is; a task per input would start a client per input and run one stream
per CPU slot. Ray Data's ``map_batches`` with an actor class would also hold a client per
actor, but it schedules by blocks and hides which input finished when, where the command
reports per input and feeds actors as streams free up.

Failures: an input that fails (bad audio, a refusal for that stream) comes back as a failed
outcome and the run goes on, as in one process. A worker process that dies (killed, its node
lost) is restarted by Ray (``max_restarts``) and the inputs it had in flight are submitted
again (``max_task_retries``): an input may then be transcribed twice, but its outputs are
written by atomic rename, so each output file is whole and there is one per input, and the
driver counts and prints each input once (the outcome of the one call that returned). Past
:data:`WORKER_RESTARTS` the worker is given up: its inputs in flight fail, and the others go to
the workers left.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import ray
import ray.exceptions

from .._client import AsyncDeepgramClient
from ._inputs import STDIN, Input
from ._job import Interrupted, Outcome, Report, Settings, Transcriber
from ._progress import summary

__all__ = ["WORKER_RESTARTS", "Worker", "cluster_cpus", "connect", "run_on_ray"]

WORKER_RESTARTS = 4
"""How many times Ray restarts a worker that died (and retries its inputs in flight)."""


class _Secret:
    """The API key on its way to the workers: its ``repr`` (in any Ray error) shows nothing."""

    __slots__ = ("value",)

    def __init__(self, value: str) -> None:
        self.value = value

    def __repr__(self) -> str:
        return "_Secret(***)"

    def __reduce__(self) -> tuple[Any, ...]:
        return (_Secret, (self.value,))


class Worker:
    """One Ray actor: one client, many streams on its event loop (see the module docstring)."""

    def __init__(self, settings: Settings, base_url: str | None, api_key: _Secret | None) -> None:
        self._settings = settings
        self._base_url = base_url
        self._api_key = api_key
        self._transcriber: Transcriber | None = None

    async def transcribe(self, item: Input) -> Outcome:
        if self._transcriber is None:  # made on the actor's event loop, once
            key = self._api_key.value if self._api_key is not None else None
            client = AsyncDeepgramClient(key, base_url=self._base_url)
            self._transcriber = Transcriber(client, self._settings)
        outcome = await self._transcriber.one(item)
        outcome.worker = os.getpid()
        return outcome


@contextlib.contextmanager
def connect(address: str | None, *, num_cpus: int | None, quiet: bool = True) -> Iterator[str]:
    """Attach to the Ray cluster at ``address``, or (``None``) to the one this process already
    joined, or else start a local instance with ``num_cpus`` CPUs, no dashboard and no usage
    statistics, on the loopback interface; yields the address of this node as the workers
    reach it (where ``--local`` serves its server). Disconnects (and stops a local instance)
    on exit, unless the process had joined already."""
    if ray.is_initialized():
        yield _node_ip()
        return
    options: dict[str, Any] = {
        "log_to_driver": False,
        "logging_level": logging.ERROR if quiet else logging.INFO,
    }
    if address:
        ray.init(address=address, **options)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False, **options)
    try:
        yield _node_ip()
    finally:
        ray.shutdown()


def _node_ip() -> str:
    return str(ray.util.get_node_ip_address())  # type: ignore[no-untyped-call]


def cluster_cpus() -> float:
    resources = ray.cluster_resources()  # type: ignore[no-untyped-call]
    return float(resources.get("CPU", 1.0))


@dataclass
class _Slot:
    actor: Any
    in_flight: int = 0
    alive: bool = True


def run_on_ray(
    inputs: Sequence[Input],
    settings: Settings,
    report: Report,
    *,
    base_url: str | None,
    api_key: str | None,
    workers: int,
    streams: int,
    ship: bool = False,
    on_outcome: Callable[[Input, Outcome], None] | None = None,
) -> None:
    """Run ``inputs`` on ``workers`` actors of ``streams`` streams each, recording every outcome
    in ``report`` (the driver's progress and output) and passing it to ``on_outcome``. Stops
    early when an outcome is a refusal every input would hit (``report.fatal``). ``ship``:
    read each file here and send its bytes (for workers that cannot see the paths)."""
    counts = report.progress.counts
    counts.total = len(inputs)

    def done(item: Input, outcome: Outcome) -> None:
        report.record(outcome)
        if on_outcome is not None:
            on_outcome(item, outcome)

    todo: list[Input] = []
    for item in inputs:
        if settings.already_done(item):
            report.skipped(item)
        elif item.problem is not None:
            done(item, Outcome(item.label, "failed", item.problem))
        else:
            todo.append(item)
    todo.reverse()  # popped from the end: inputs start in their order
    if not todo:
        return
    workers = max(1, min(workers, len(todo)))
    cpus = min(1.0, cluster_cpus() / workers)
    actor_class: Any = ray.remote(Worker)
    slots = [
        _Slot(
            actor_class.options(
                num_cpus=cpus,
                max_restarts=WORKER_RESTARTS,
                max_task_retries=WORKER_RESTARTS,
                max_concurrency=streams,
                scheduling_strategy="SPREAD",
            ).remote(settings, base_url, _Secret(api_key) if api_key is not None else None)
        )
        for _ in range(workers)
    ]
    pending: dict[Any, tuple[_Slot, Input]] = {}
    # Each actor runs `streams` inputs at once and holds a few more in its queue, so that a
    # stream that ends starts the next input at once, without a round trip to the driver.
    queued = streams + max(1, streams // 4)

    def feed() -> None:
        for slot in slots:
            while slot.alive and slot.in_flight < queued and todo and report.fatal is None:
                item = todo.pop()
                try:
                    item = _load(item, ship)
                except OSError as exc:
                    message = f"{item.label}: cannot read: {exc.strerror or exc}"
                    done(item, Outcome(item.label, "failed", message))
                    continue
                pending[slot.actor.transcribe.remote(item)] = (slot, item)
                slot.in_flight += 1
        counts.in_flight = sum(min(slot.in_flight, streams) for slot in slots)

    # SIGTERM only raises a flag, checked between waits: an exception raised from a signal
    # handler inside Ray's Cython ``wait`` comes out as a ``SystemError``, not as itself.
    terminated: list[int] = []
    previous = signal.getsignal(signal.SIGTERM)
    with contextlib.suppress(ValueError):  # not the main thread: no SIGTERM handling
        signal.signal(signal.SIGTERM, lambda signum, frame: terminated.append(signum))
    try:
        feed()
        report.progress.tick(force=True)
        while pending:
            ready, rest = ray.wait(list(pending), num_returns=1, timeout=0.2)
            if terminated:
                raise Interrupted()
            if ready and rest:  # and every other one that is ready too
                ready += ray.wait(rest, num_returns=len(rest), timeout=0)[0]
            for ref in ready:
                slot, item = pending.pop(ref)
                slot.in_flight -= 1
                try:
                    outcome: Outcome = ray.get(ref)
                except ray.exceptions.RayActorError as exc:  # restarted too often: given up
                    slot.alive = False
                    message = f"{item.label}: Ray worker lost: {_line(exc, first=True)}"
                    outcome = Outcome(item.label, "failed", message)
                except ray.exceptions.RayError as exc:  # raised in the worker: its last line
                    outcome = Outcome(item.label, "failed", f"{item.label}: {_line(exc)}")
                done(item, outcome)
            if report.fatal is not None:
                _cancel(pending)
                break
            if todo and not any(slot.alive for slot in slots):
                while todo:
                    item = todo.pop()
                    done(item, Outcome(item.label, "failed", f"{item.label}: no Ray worker left"))
            feed()
            report.progress.tick()
    except (KeyboardInterrupt, Interrupted):
        _cancel(pending)
        report.progress.close(summary(counts, interrupted=True))
        raise
    finally:
        with contextlib.suppress(ValueError, TypeError):  # None: not set from Python
            signal.signal(signal.SIGTERM, previous)
        for slot in slots:
            with contextlib.suppress(Exception):
                ray.kill(slot.actor)
        counts.in_flight = 0


def _line(exc: BaseException, *, first: bool = False) -> str:
    """One line of a Ray error (they span many: a traceback, the cause last)."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    return lines[0] if first else lines[-1]


def _load(item: Input, ship: bool) -> Input:
    """``item`` with its bytes when they must travel: standard input always, files if
    ``ship``."""
    if item.data is not None or not (ship or item.path == STDIN):
        return item
    if item.path == STDIN:
        data = sys.stdin.buffer.read()
    else:
        with open(item.path, "rb") as file:
            data = file.read()
    return Input(item.path, item.label, item.key, None, item.output_stem, data)


def _cancel(pending: dict[Any, Any]) -> None:
    for ref in pending:
        with contextlib.suppress(Exception):
            ray.cancel(ref)
    with contextlib.suppress(Exception):
        ray.wait(list(pending), num_returns=len(pending), timeout=5)
    pending.clear()
