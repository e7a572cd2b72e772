"""Batch transcription on a Ray cluster: :func:`transcribe_on_ray` (the ``ray`` extra).

::

    from rxdeepgram.batch import transcribe_on_ray

    result = transcribe_on_ray(["calls/"], out="transcripts/", formats=("txt", "srt"))
    print(result.counts.done, "done,", result.counts.failed, "failed")

The same work as ``rxdeepgram transcribe --out DIR`` (which runs it with ``--ray [ADDRESS]``),
spread over Ray workers: each worker is one process holding one
:class:`~rxdeepgram.AsyncDeepgramClient` with ``streams`` streams at once. Outputs are written by
the workers exactly as the command writes them (same names, formats, atomic writes); inputs whose
outputs all exist are skipped, so a run that stopped resumes; a bad input is reported and
skipped; a worker that dies is restarted by Ray and its inputs in flight are retried, with no
input counted twice and no output duplicated or left half-written.

``ray`` is imported only when :func:`transcribe_on_ray` runs: ``import rxdeepgram`` and
``rxdeepgram transcribe`` without ``--ray`` never import it. Install it with
``pip install 'rxdeepgram[ray]'`` (on every node of the cluster).

Where it runs: on the cluster at ``address`` (``"auto"``, ``"host:6379"``; default: the
``RAY_ADDRESS`` environment variable, as Ray reads it), on
the one this process already joined (``ray.init`` called before), or else on a local instance
started for the call with ``num_cpus`` CPUs (default: ``workers``, else the machine's cores), no
dashboard and no usage statistics, on the loopback interface. Paths must be readable by every
node (a shared file system), unless ``ship=True`` sends each file's bytes from here; ``bytes``
inputs always travel.
"""

from __future__ import annotations

from ._cli._batch import BatchResult, Counts, Outcome, transcribe_on_ray

__all__ = ["BatchResult", "Counts", "Outcome", "transcribe_on_ray"]
