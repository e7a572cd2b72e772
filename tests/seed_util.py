"""Running the seed SDK reference's snippets on rxdeepgram: porting them (the edits a user
makes), executing them, and (with ``pytest --shared``) finding them in the reference
(``../shared/seed/websocket-reference.md``) to check that the tests' embedded copies are the
seed's."""

from __future__ import annotations

import re
import threading
from typing import Any

from conftest import SEED

from rxdeepgram.server import DeepgramServer


def seed_snippet(section: str, heading: str) -> str:
    """The first ``python`` code block under ``#### <heading>`` in ``## <section>`` of the seed
    reference."""
    text = SEED.read_text()
    start = text.index(f"## {section}\n")
    end = text.find("\n## ", start + 1)
    body = text[start : end if end >= 0 else len(text)]
    under = body[body.index(f"#### {heading}\n") :]
    match = re.search(r"```python\n(.*?)```", under, re.S)
    assert match is not None, f"no python block under {section} / {heading}"
    return match.group(1)


def port(seed: str) -> str:
    """What a user changes to run a seed snippet on rxdeepgram against the local server: the
    ``deepgram`` imports, and ``base_url=srv.url`` beside the API key."""
    text = seed.replace("from deepgram import ", "from rxdeepgram import ")
    text = re.sub(r"from deepgram(\.\w+)+ import ", "from rxdeepgram.compat import ", text)
    assert text.count('    api_key="YOUR_API_KEY",\n)') == 1
    text = text.replace(
        '    api_key="YOUR_API_KEY",\n)', '    api_key="YOUR_API_KEY",\n    base_url=srv.url,\n)'
    )
    assert "deepgram." not in text.replace("rxdeepgram", "")
    return text


class Printed:
    """Stands in for ``print`` in a snippet's globals (thread-safe)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._lock = threading.Lock()

    def __call__(self, *args: Any, **kwargs: Any) -> None:
        with self._lock:
            self.lines.append(" ".join(str(a) for a in args))


def run_snippet(snippet: str, srv: DeepgramServer, audio_bytes: bytes | None = None) -> list[str]:
    """Execute ``snippet`` with ``srv``, ``threading`` (the sync snippets use it without
    importing it) and ``audio_bytes`` defined; return what it printed."""
    printed = Printed()
    namespace: dict[str, Any] = {
        "__name__": "seed_snippet",
        "srv": srv,
        "threading": threading,
        "print": printed,
    }
    if audio_bytes is not None:
        namespace["audio_bytes"] = audio_bytes
    exec(compile(snippet, "<seed snippet>", "exec"), namespace)
    return printed.lines
