"""README.md and the documentation (``docs/**/*.md``) stay true: their Python snippets run
against the local server and do what they say.

Every ```python block of README.md and of every page under ``docs/`` runs, unless the line
before it is an HTML comment starting with ``<!-- not run:`` that says why. Each block runs
in its own process with ``DEEPGRAM_BASE_URL`` pointing at one local server (the ``local``
engines) and a scratch directory as the working directory (with ``tests/`` linked in for the
WAV clips), so the files a snippet writes (``reply.wav``, ``agent.wav``) never land in the
repository. What each block prints or writes is then checked against what the page promises,
by the heading it sits under (headings are keys of ``CHECKS``: a snippet moved from README to
a docs page keeps its check).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import wave
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from rxdeepgram.server import DeepgramServer

pytest.importorskip("pocketsphinx", reason="the README's snippets use the local engines")
pytest.importorskip("espeakng_loader", reason="the README's snippets use the local engines")

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("**/*.md"))]
"""README.md and every documentation page."""
BLOCK = re.compile(
    r"^#{1,6} (?P<heading>[^\n]+)$"
    r"|(?P<skip><!-- not run:[^\n]*-->\n)?```python\n(?P<code>.*?)```",
    re.S | re.M,
)


def blocks(pages: list[Path] = PAGES) -> list[tuple[str, str, str | None, str]]:
    """(page, heading, skip reason or None, code) for every python block, in order."""
    found: list[tuple[str, str, str | None, str]] = []
    for page in pages:
        heading = ""
        name = page.relative_to(ROOT).as_posix() if page.is_relative_to(ROOT) else page.name
        for match in BLOCK.finditer(page.read_text()):
            if match["heading"]:
                heading = match["heading"].strip()
            else:
                found.append((name, heading, match["skip"], match["code"]))
    return found


def wav_seconds(path: Path) -> float:
    with wave.open(str(path), "rb") as wav:
        return wav.getnframes() / wav.getframerate()


Check = Callable[[str, Path], None]


def _transcribe(out: str, _cwd: Path) -> None:
    assert "password" in out and "morning" in out, out


def _llm(_out: str, cwd: Path) -> None:
    assert wav_seconds(cwd / "reply.wav") > 1.0


def _flux_tts(out: str, _cwd: Path) -> None:
    assert re.search(r"^turn dg_sp_[0-9a-f]{12}: [1-9][0-9]* ms of audio$", out, re.M), out
    heard = re.search(r"^the user heard '(.+)', not '(.+)'$", out, re.M)
    assert heard is not None, out
    assert (heard[1] + heard[2]).startswith("It arrives on Friday."), out
    assert re.search(r"^session: [1-9][0-9]* ms played$", out, re.M), out


def _flux(out: str, _cwd: Path) -> None:
    assert re.search(r"reply now to: '.*order status", out, re.I), out


def _agent(out: str, cwd: Path) -> None:
    assert "user: please check my order status" in out, out
    assert re.search(r"assistant: .*shipped", out), out
    assert wav_seconds(cwd / "agent.wav") > 0.5


def _asyncio(out: str, _cwd: Path) -> None:
    assert "boston" in out.lower(), out


def _sdk7(out: str, _cwd: Path) -> None:
    match = re.search(r"(\d+) bytes of audio", out)
    assert match and int(match[1]) > 0, out


def _unmodelled(out: str, _cwd: Path) -> None:
    lines = out.split()
    assert lines and set(lines) == {"{}"}, out  # the local server sends nothing unmodelled


CHECKS: dict[str, Check] = {
    "Code written for deepgram-sdk 7": _sdk7,
    "What rxdeepgram does not model yet": _unmodelled,
    "Transcribe a file": _transcribe,
    "A taste: transcribe a file": _transcribe,
    "An LLM's tokens, spoken": _llm,
    "Flux TTS: one turn per reply, and barge-in": _flux_tts,
    "Flux turns: when may the agent reply?": _flux,
    "A voice agent whose function calls are answered by an Rx pipeline": _agent,
    "asyncio, threads and transports": _asyncio,
}
RUNNABLE = [(page, heading, code) for page, heading, skip, code in blocks() if skip is None]


@pytest.fixture(scope="module")
def server() -> Iterator[DeepgramServer]:
    with DeepgramServer(engine="local", tts="local") as srv:
        yield srv


def test_every_runnable_snippet_is_checked() -> None:
    assert sorted({heading for _, heading, _ in RUNNABLE}) == sorted(CHECKS)
    skipped = [heading for _, heading, skip, _ in blocks() if skip is not None]
    assert len(skipped) >= 1  # the microphone one, at least


def test_the_docs_pages_have_runnable_snippets() -> None:
    pages = {page for page, _, _ in RUNNABLE}
    assert "README.md" in pages
    assert len([page for page in pages if page.startswith("docs/")]) >= 5, pages


def test_a_block_is_found_under_any_heading_level(tmp_path: Path) -> None:
    page = tmp_path / "p.md"
    page.write_text(
        "# One\n```python\nx = 1\n```\n## Two\n<!-- not run: why -->\n```python\ny\n```\n"
    )
    found = blocks([page])
    assert [(h, skip is not None, code) for _, h, skip, code in found] == [
        ("One", False, "x = 1\n"),
        ("Two", True, "y\n"),
    ]


@pytest.mark.parametrize(
    ("page", "heading", "code"), RUNNABLE, ids=[f"{p}: {h}" for p, h, _ in RUNNABLE]
)
def test_readme_snippet(
    page: str, heading: str, code: str, server: DeepgramServer, tmp_path: Path
) -> None:
    (tmp_path / "tests").symlink_to(ROOT / "tests")
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEEPGRAM_")}
    env.update(DEEPGRAM_BASE_URL=server.url, DEEPGRAM_API_KEY="readme-test-key")
    done = subprocess.run(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    CHECKS[heading](done.stdout, tmp_path)
