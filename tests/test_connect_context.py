"""``connect()`` returns a context manager, not a connection: using it as a connection fails at
the first attribute read with a message that shows the two right forms; both forms work."""

from __future__ import annotations

import asyncio

import pytest

from rxdeepgram import AsyncDeepgramClient, DeepgramClient
from rxdeepgram.server import DeepgramServer, ScriptedEngine

NAMES = ["input", "messages", "raw", "close", "request_id", "send_media", "on", "start_listening"]


@pytest.mark.parametrize("name", NAMES)
def test_sync_context_used_as_a_connection_says_how(name: str) -> None:
    client = DeepgramClient(api_key="k", base_url="ws://127.0.0.1:9")
    context = client.listen.v1.connect(model="nova-3")
    with pytest.raises(AttributeError) as caught:
        getattr(context, name)
    text = str(caught.value)
    assert f"no attribute {name!r}" in text
    assert "with client.listen.v1.connect(...) as conn:" in text
    assert ".open()" in text


@pytest.mark.parametrize("name", NAMES)
def test_async_context_used_as_a_connection_says_how(name: str) -> None:
    client = AsyncDeepgramClient(api_key="k", base_url="ws://127.0.0.1:9")
    context = client.speak.v1.connect(model="aura-2-thalia-en")
    with pytest.raises(AttributeError) as caught:
        getattr(context, name)
    text = str(caught.value)
    assert "async with client.listen.v1.connect(...) as conn:" in text
    assert "conn = await client.listen.v1.connect(...)" in text


def test_private_names_stay_plain_attribute_errors() -> None:
    client = DeepgramClient(api_key="k", base_url="ws://127.0.0.1:9")
    context = client.listen.v1.connect(model="nova-3")
    with pytest.raises(AttributeError) as caught:
        context.__reduce_foo__  # noqa: B018
    assert "with" not in str(caught.value)
    assert not hasattr(context, "_missing")


def test_both_sync_forms_open_a_connection() -> None:
    with DeepgramServer(engine=ScriptedEngine(["hi"])) as srv:
        client = DeepgramClient(api_key="k", base_url=srv.url)
        conn = client.listen.v1.connect(model="nova-3").open()
        assert conn.request_id
        conn.close()
        assert conn.wait(10)
        with client.listen.v1.connect(model="nova-3") as conn2:
            assert conn2.request_id


def test_both_async_forms_open_a_connection() -> None:
    async def main(url: str) -> None:
        client = AsyncDeepgramClient(api_key="k", base_url=url)
        conn = await client.listen.v1.connect(model="nova-3")
        assert conn.request_id
        await conn.close()
        async with client.listen.v1.connect(model="nova-3") as conn2:
            assert conn2.request_id

    with DeepgramServer(engine=ScriptedEngine(["hi"])) as srv:
        asyncio.run(main(srv.url))


@pytest.mark.parametrize("name", ["Connection", "AsyncConnection"])
def test_help_shows_every_public_attribute(name: str) -> None:
    """``help(rxdeepgram.Connection)`` documents the attributes set in ``__init__`` too."""
    import pydoc

    import rxdeepgram

    text = pydoc.render_doc(getattr(rxdeepgram, name), renderer=pydoc.plaintext)
    for attribute in ("messages", "input", "raw", "url", "request_id", "response_headers"):
        assert f"{attribute}: " in text, attribute
    for attribute in ("state", "stats", "closed", "end"):
        assert f"{attribute}: " in text or f"{attribute}\n" in text, attribute


def test_the_package_docstring_says_connect_returns_a_context_manager() -> None:
    import rxdeepgram

    doc = rxdeepgram.__doc__ or ""
    assert "returns a context manager" in doc
    assert "with client.listen.v1.connect(" in doc


@pytest.mark.parametrize("name", ["Connection", "AsyncConnection"])
def test_help_shows_the_seed_methods(name: str) -> None:
    """The seed SDK's methods live in a mixin (``_seed_api.py``); ``help()`` still lists them,
    the per-message aliases included."""
    import pydoc
    import re

    import rxdeepgram

    text = pydoc.render_doc(getattr(rxdeepgram, name), renderer=pydoc.plaintext)
    listed = set(re.findall(r"^ \|  (?:async )?(\w+)(?:\(| = )", text, re.M))
    seed = {"on", "start_listening", "send_media", "send_message", "send_raw", "send_close"}
    seed |= {"send_settings", "send_keep_alive", "send_finalize", "send_interrupt", "send_speak"}
    assert seed <= listed, seed - listed
    assert "Methods inherited from rxdeepgram._seed_api.SeedAPI" in text


def test_the_api_reference_reads_the_docstrings_written_once() -> None:
    """The connections' attribute docstring is written once and assigned to ``__doc__``, and
    each channel's ``decode`` is built by ``messages._base.Codec``: griffe cannot read either
    from the source, so the docs' griffe extension takes them from the imported objects."""
    import sys
    from pathlib import Path

    griffe = pytest.importorskip("griffe", reason="the docs extra builds the API reference")
    root = Path(__file__).resolve().parent.parent
    sys.path.insert(0, str(root / "docs"))
    try:
        import _griffe_rst
    finally:
        sys.path.remove(str(root / "docs"))
    extensions = griffe.load_extensions(_griffe_rst.RstToMarkdown)
    package = griffe.load("rxdeepgram", search_paths=[str(root)], extensions=extensions)
    for name in ("Connection", "AsyncConnection"):
        doc = package[f"_connection.{name}"].docstring
        assert doc is not None, name
        assert "Attributes:" in doc.value and "response_headers:" in doc.value, name
    for channel in ("listen_v1", "listen_v2", "speak_v1", "speak_v2", "agent_v1"):
        for function in ("decode", "decode_client"):
            doc = package[f"messages.{channel}.{function}"].docstring
            assert doc is not None and doc.value.startswith("Decode a frame"), (channel, function)
