"""A local server speaking Deepgram's real-time WebSocket protocol, for tests, demos and offline
development.

Run it with ``python -m rxdeepgram.server`` (prints its ``ws://`` URL first), use it from Python::

    from rxdeepgram.server import DeepgramServer, ScriptedEngine

    with DeepgramServer(engine=ScriptedEngine(["hello world"])) as srv:
        ...  # connect to f"{srv.url}/v1/listen?model=nova-3&encoding=linear16&sample_rate=16000"

or take the ``deepgram_server`` / ``deepgram_server_factory`` pytest fixtures, which the package
registers as a pytest plugin.

Channels: Listen V1 (``/v1/listen``), Listen V2 / Flux (``/v2/listen``, turn detection), Speak V1
(``/v1/speak``), Speak V2 / Flux TTS (``/v2/speak``, turns), the Voice Agent
(``/v1/agent/converse``, whose think step is a Python callable: :mod:`rxdeepgram.server.think`),
and the token grant (``POST /v1/auth/grant`` on the same port).
Speech-to-text engines: ``scripted`` (deterministic, the default) and ``local`` (pocketsphinx).
Text-to-speech engines: ``tone`` (deterministic, the default) and ``local`` (espeak-ng). The
``local`` engines come with the ``local`` extra.
"""

from __future__ import annotations

from ._app import DeepgramServer
from ._audio import AudioFormatError, VadConfig
from ._auth import ApiKeyAuth, AuthFailure, AuthHook, AuthRequest, Credential
from ._channel import ChannelHandler, ServerSession, ServerSettings
from ._tokens import TokenStore
from .agent_v1 import AgentV1Handler
from .engines import (
    RecognizedWord,
    ScriptedEngine,
    SttEngine,
    SttStream,
    TtsEngine,
    engine_names,
    get_engine,
    get_tts_engine,
    register_engine,
    tts_engine_names,
)
from .engines.tone import ToneTtsEngine
from .listen_v1 import ListenV1Handler
from .listen_v2 import ListenV2Handler
from .speak_v1 import SpeakV1Handler
from .speak_v2 import SpeakV2Handler
from .think import Think, ThinkReply, ThinkRequest

__all__ = [
    "AgentV1Handler",
    "ApiKeyAuth",
    "AudioFormatError",
    "AuthFailure",
    "AuthHook",
    "AuthRequest",
    "ChannelHandler",
    "Credential",
    "DeepgramServer",
    "ListenV1Handler",
    "ListenV2Handler",
    "RecognizedWord",
    "ScriptedEngine",
    "ServerSession",
    "ServerSettings",
    "SpeakV1Handler",
    "SpeakV2Handler",
    "SttEngine",
    "SttStream",
    "Think",
    "ThinkReply",
    "ThinkRequest",
    "TokenStore",
    "ToneTtsEngine",
    "TtsEngine",
    "VadConfig",
    "engine_names",
    "get_engine",
    "get_tts_engine",
    "register_engine",
    "tts_engine_names",
]
