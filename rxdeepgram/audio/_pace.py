"""The :func:`pace` operator: audio chunks no faster than real time."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta

from reactivex import Observable, abc
from reactivex.disposable import (
    CompositeDisposable,
    Disposable,
    MultipleAssignmentDisposable,
    SingleAssignmentDisposable,
)

from ..errors import ConnectionClosed
from ._format import AudioFormat
from ._scheduling import pick_scheduler

__all__ = ["pace"]


def pace(
    fmt: AudioFormat,
    realtime: bool = True,
    scheduler: abc.SchedulerBase | None = None,
) -> Callable[[Observable[bytes]], Observable[bytes]]:
    """Emit audio chunks no faster than real time.

    Each chunk lasts ``fmt.duration(len(chunk))``. A chunk goes out when it arrives or when the
    audio emitted before it has had time to play, whichever is later: a burst is spread out at
    real time, a chunk arriving after a gap goes out at once (no catching up faster than real
    time after a stall). Completion waits for the queued chunks; errors pass at once, dropping
    them. ``realtime=False`` makes it the identity (handy to switch pacing off).

    ::

        source:  [abc]|           (three 20 ms chunks at once, then completion)
        pace:    a-b-c|           (20 ms apart; completes with the last)

    Chunks are emitted on ``scheduler``, else the one given to ``subscribe``, else the running
    asyncio loop's, else a daemon thread of the subscription's own (see ``from_wav``).
    """

    def operator(source: Observable[bytes]) -> Observable[bytes]:
        if not realtime:
            return source

        def subscribe(
            observer: abc.ObserverBase[bytes], scheduler_: abc.SchedulerBase | None = None
        ) -> abc.DisposableBase:
            sched, owned = pick_scheduler(scheduler, scheduler_)
            lock = threading.RLock()  # guards the state below
            gate = threading.RLock()  # serialises calls to the observer (Rx grammar)
            queue: deque[bytes] = deque()
            # Multiple, not Serial: with a scheduler that runs actions at once, an older
            # assignment may land after a newer one and must not cancel it. Cancelling is only
            # an optimisation: `stopped` guards every emission.
            timer = MultipleAssignmentDisposable()
            upstream = SingleAssignmentDisposable()
            clock: datetime | None = None  # when the audio emitted so far has played
            due = sched.now  # when the scheduled emission is due
            busy = False  # an emission is scheduled
            completed = False
            stopped = False

            def release() -> None:
                nonlocal stopped
                with lock:
                    stopped = True
                    queue.clear()
                timer.dispose()
                if owned is not None:
                    owned.dispose()

            def schedule_next() -> None:
                # Called under the lock with a non-empty queue and no emission scheduled.
                nonlocal busy, due
                busy = True
                now = sched.now
                if clock is None or clock <= now:
                    due = now
                    timer.disposable = sched.schedule(emit)
                else:
                    due = clock
                    timer.disposable = sched.schedule_absolute(clock, emit)

            def emit(_: abc.SchedulerBase, __: object = None) -> None:
                nonlocal clock, busy
                with lock:
                    if stopped or not queue:
                        busy = False
                        return
                    chunk = queue.popleft()
                    # From the time the chunk was due, not the time the timer fired: a late
                    # timer must not make the stream drift behind real time.
                    clock = due + timedelta(seconds=fmt.duration(len(chunk)))
                with gate:
                    if stopped:
                        return
                    try:
                        observer.on_next(chunk)
                    except ConnectionClosed:  # the connection it fed has ended: stop quietly
                        release()
                        upstream.dispose()
                        return
                with lock:
                    if stopped:
                        return
                    if queue:
                        schedule_next()
                        return
                    busy = False
                    done = completed
                if done:
                    release()
                    with gate:
                        observer.on_completed()

            def on_next(chunk: bytes) -> None:
                with lock:
                    if stopped:
                        return
                    queue.append(chunk)
                    if not busy:
                        schedule_next()

            def on_error(error: Exception) -> None:
                release()
                with gate:
                    observer.on_error(error)

            def on_completed() -> None:
                nonlocal completed
                with lock:
                    if stopped:
                        return
                    completed = True
                    done = not busy and not queue
                if done:
                    release()
                    with gate:
                        observer.on_completed()

            upstream.disposable = source.subscribe(
                on_next, on_error, on_completed, scheduler=scheduler_
            )
            return CompositeDisposable(upstream, Disposable(release))

        return Observable(subscribe)

    return operator
