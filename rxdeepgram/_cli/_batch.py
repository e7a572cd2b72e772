"""The batch on Ray behind :mod:`rxdeepgram.batch` (its public face, documented there) and
``rxdeepgram transcribe --ray``: it lives with the command's job machinery, which it drives."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from ..endpoint import open_endpoint
from ..errors import ConfigurationError
from ._captions import FORMATS
from ._inputs import Input, assign_outputs, expand
from ._job import Outcome, Report, Settings
from ._progress import Counts, Progress

__all__ = ["BatchResult", "Counts", "Outcome", "transcribe_on_ray"]

AudioInput = str | os.PathLike[str] | bytes | tuple[str, bytes]
"""A path (a file, a folder walked for audio files, a glob pattern), audio bytes, or
``(name, bytes)`` (the name labels it and names its outputs)."""


@dataclass
class BatchResult:
    """What :func:`transcribe_on_ray` did: the counts (done, skipped, failed, audio seconds,
    elapsed) and one :class:`Outcome` per input transcribed or failed (in the order they
    finished; an input skipped as already done has none). ``ok``: nothing failed."""

    counts: Counts
    outcomes: list[Outcome] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.counts.failed == 0


def transcribe_on_ray(
    inputs: Iterable[AudioInput],
    *,
    address: str | None = None,
    base_url: str | None = None,
    api_key: str | None = None,
    local: bool = False,
    out: str | os.PathLike[str] | None = None,
    formats: Sequence[str] = ("txt",),
    overwrite: bool = False,
    workers: int | None = None,
    streams: int = 16,
    ship: bool = False,
    model: str = "nova-3",
    language: str | None = None,
    smart_format: bool = False,
    realtime: bool = False,
    decode: bool = False,
    retries: int = 3,
    num_cpus: int | None = None,
    progress: TextIO | None = None,
    on_outcome: Callable[[Outcome], None] | None = None,
) -> BatchResult:
    """Transcribe ``inputs`` with Listen V1 on a Ray cluster (see the module docstring).

    Connections go to ``base_url`` (default: Deepgram, with ``api_key`` or
    ``DEEPGRAM_API_KEY``), or with ``local=True`` to a local server started on this machine and
    served to every worker. ``workers`` (default: the cluster's CPUs) actors run ``streams``
    streams each. With ``out``, each input's transcript is written there in ``formats``
    (``txt``, ``json``, ``srt``, ``vtt``) and inputs already done are skipped (``overwrite``
    redoes them). ``progress``: a stream for the progress lines (as the command prints them);
    ``on_outcome`` is called in this process for each input as it finishes.

    Raises the refusal every input would hit (bad credentials, an option the server rejects:
    a :class:`~rxdeepgram.errors.DeepgramError`), after stopping the run at the first.
    """
    chosen = tuple(dict.fromkeys(f.lower() for f in formats))
    if not chosen or any(f not in FORMATS for f in chosen):
        raise ValueError(f"formats must be some of {', '.join(FORMATS)}, got {formats!r}")
    if streams < 1:
        raise ValueError(f"streams must be at least 1, got {streams}")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    items = _inputs(inputs)
    if not items:
        raise ValueError("no audio inputs")
    folder = os.fspath(out) if out is not None else None
    report = Report(
        Progress(progress or sys.stderr, enabled=progress is not None, interactive=False),
        None,
    )
    result = BatchResult(report.progress.counts)

    def record(item: Input, outcome: Outcome) -> None:
        result.outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(outcome)

    def settings(is_local: bool) -> Settings:
        return Settings(
            model=model,
            language=language,
            smart_format=smart_format,
            realtime=realtime,
            out=folder,
            formats=chosen,
            overwrite=overwrite,
            decode=decode or is_local,
            retries=retries,
            echo=False,
        )

    where = argparse.Namespace(local=local, url=base_url, api_key=api_key)
    run(
        items,
        where,
        settings,
        report,
        address=address,
        workers=workers,
        streams=streams,
        ship=ship,
        num_cpus=num_cpus,
        on_outcome=record,
    )
    report.progress.close(_summary(report))
    if report.fatal is not None:
        raise report.fatal
    return result


def _summary(report: Report) -> str:
    from ._progress import summary

    return summary(report.progress.counts, stopped=report.fatal is not None)


def _inputs(inputs: Iterable[AudioInput]) -> list[Input]:
    items: list[Input] = []
    paths: list[str] = []

    def flush() -> None:
        items.extend(expand(paths))
        paths.clear()

    for n, value in enumerate(inputs):
        if isinstance(value, bytes | bytearray | memoryview):
            flush()
            name = f"input{n}"
            items.append(Input(f"<bytes {n}>", name, name, data=bytes(value)))
        elif isinstance(value, tuple):
            flush()
            name, data = value
            if not isinstance(name, str) or not isinstance(data, bytes | bytearray | memoryview):
                raise TypeError(f"an input tuple is (name, bytes), got {value!r:.60}")
            items.append(Input(f"<bytes {n}>", name, name, data=bytes(data)))
        elif isinstance(value, str | os.PathLike):
            paths.append(os.fspath(value))
        else:
            raise TypeError(
                f"an input is a path, bytes or (name, bytes), got {type(value).__name__}"
            )
    flush()
    assign_outputs(items)
    return items


def run(
    items: Sequence[Input],
    where: argparse.Namespace,
    settings: Callable[[bool], Settings],
    report: Report,
    *,
    address: str | None,
    workers: int | None,
    streams: int,
    ship: bool,
    num_cpus: int | None,
    on_outcome: Callable[[Input, Outcome], None] | None = None,
) -> None:
    """The driver shared by :func:`transcribe_on_ray` and ``rxdeepgram transcribe --ray``:
    joins or starts Ray, opens the endpoint (``where``: ``local``, ``url``, ``api_key``; a
    local server listens on this node's address as the workers see it), and runs ``items``."""
    key = where.api_key or os.environ.get("DEEPGRAM_API_KEY")
    if not (where.local or where.url or key):
        raise ConfigurationError(
            "no Deepgram API key: set DEEPGRAM_API_KEY or pass an api key; "
            "or a URL for another server, or local to start a local one"
        )
    address = address or os.environ.get("RAY_ADDRESS") or None  # as ray.init() reads it
    if not address and "ray" not in sys.modules:
        # A local instance: on the loopback interface (Ray's switch for it; it otherwise binds
        # the machine's address), with no usage statistics sent anywhere.
        os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    try:
        from . import _ray
    except ImportError as exc:
        raise ConfigurationError(
            f"Ray is not installed ({exc}): pip install 'rxdeepgram[ray]'"
        ) from None
    cpus = num_cpus or workers or os.cpu_count() or 1
    with (
        _ray.connect(address, num_cpus=cpus) as node_ip,
        open_endpoint(where, host=node_ip) as endpoint,
    ):
        report.progress.restart()  # the time to join Ray and start a server is not the run's
        _ray.run_on_ray(
            items,
            settings(endpoint.local),
            report,
            base_url=endpoint.base_url,
            api_key=endpoint.api_key,
            workers=workers or max(1, int(_ray.cluster_cpus())),
            streams=streams,
            ship=ship,
            on_outcome=on_outcome,
        )
