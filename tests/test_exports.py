"""The public surface: curated, sorted ``__all__`` lists, light imports, typed package."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import rxdeepgram

PUBLIC_MODULES = [
    "rxdeepgram",
    "rxdeepgram.errors",
    "rxdeepgram.compat",
    "rxdeepgram.messages",
    "rxdeepgram.messages.listen_v1",
    "rxdeepgram.messages.listen_v2",
    "rxdeepgram.messages.speak_v1",
    "rxdeepgram.messages.speak_v2",
    "rxdeepgram.messages.agent_v1",
    "rxdeepgram.options",
    "rxdeepgram.server",
    "rxdeepgram.operators",
    "rxdeepgram.audio",
    "rxdeepgram.endpoint",
    "rxdeepgram.batch",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_unique_and_resolvable(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert exported == sorted(exported), f"{name}.__all__ is not sorted"
    assert len(exported) == len(set(exported)), f"{name}.__all__ has duplicates"
    missing = [n for n in exported if not hasattr(module, n)]
    assert missing == [], f"{name}.__all__ names what the module lacks: {missing}"


def test_the_top_level_exports_the_clients_and_every_error() -> None:
    from rxdeepgram import errors

    for name in errors.__all__:
        assert getattr(rxdeepgram, name) is getattr(errors, name)
    assert issubclass(rxdeepgram.InvalidOptionError, ValueError)
    assert issubclass(rxdeepgram.InvalidInputError, TypeError)
    for name in ("DeepgramClient", "AsyncDeepgramClient", "EventType", "GrantedToken", "Unknown"):
        assert name in rxdeepgram.__all__


def test_every_error_is_a_deepgram_error() -> None:
    from rxdeepgram import errors

    for name in errors.__all__:
        assert issubclass(getattr(errors, name), errors.DeepgramError)


def test_import_is_light() -> None:
    code = (
        "import sys, rxdeepgram\n"
        "heavy = ['pocketsphinx', 'espeakng_loader', 'sounddevice', 'deepgram', 'numpy',"
        " 'rxdeepgram.server', 'rxdeepgram.options', 'rxdeepgram.messages.agent_v1',"
        " 'websockets.sync', 'websockets.asyncio']\n"
        "print([m for m in heavy if m in sys.modules])\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "[]"


def test_the_package_is_typed() -> None:
    assert (Path(rxdeepgram.__file__).parent / "py.typed").is_file()
