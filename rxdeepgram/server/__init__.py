"""A local server speaking Deepgram's real-time WebSocket protocol, for tests, demos and offline
development.

Run it with ``python -m rxdeepgram.server`` (prints its ``ws://`` URL first), use it from Python::

    from rxdeepgram.server import DeepgramServer, ScriptedEngine

    with DeepgramServer(engine=ScriptedEngine(["hello world"])) as srv:
        ...  # connect to f"{srv.url}/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000"

or take the ``deepgram_server`` / ``deepgram_server_factory`` pytest fixtures, which the package
registers as a pytest plugin.

Channels: Listen V1 (``/v1/listen``). Engines: ``scripted`` (deterministic, the default) and
``local`` (pocketsphinx, with the ``local`` extra).
"""

from __future__ import annotations

from ._app import ChannelHandler, DeepgramServer, Session
from ._audio import AudioFormatError, VadConfig
from ._auth import ApiKeyAuth, AuthFailure, AuthHook, AuthRequest, Credential
from .engines import (
    RecognizedWord,
    ScriptedEngine,
    SttEngine,
    SttStream,
    engine_names,
    get_engine,
    register_engine,
)
from .listen_v1 import ListenV1Handler

__all__ = [
    "ApiKeyAuth",
    "AudioFormatError",
    "AuthFailure",
    "AuthHook",
    "AuthRequest",
    "ChannelHandler",
    "Credential",
    "DeepgramServer",
    "ListenV1Handler",
    "RecognizedWord",
    "ScriptedEngine",
    "Session",
    "SttEngine",
    "SttStream",
    "VadConfig",
    "engine_names",
    "get_engine",
    "register_engine",
]
