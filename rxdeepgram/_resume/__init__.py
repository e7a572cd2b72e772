"""Resumable streams (``connect(..., reconnect=True)``): reconnect with replay and continuous
timestamps. ``_config`` holds the user's knobs and the retry rules, ``_policy`` and the channel
modules the Sans-I/O resume rules; the resumable connection is built in layers, one module
each: ``_core`` (shared state, ``state`` / ``stats``), ``_sending`` (the application's sends),
``_runner`` (the inner connections and the reconnects), ``_closing`` (close and abort), and
``_connection`` (the whole and its sync / async fronts). What they use of an inner connection is
``rxdeepgram._inner.InnerConnection``."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._config import ConnectionState, Reconnect, ResumeStats
from ._policy import Policy

__all__ = ["ConnectionState", "Reconnect", "ResumeStats", "policy_factory"]


def policy_factory(name: str, options: dict[str, Any], config: Reconnect) -> Callable[[], Policy]:
    """A maker of fresh policies for channel ``name`` (validates what it can now)."""
    if name == "listen.v1":
        from .listen_v1 import ListenV1Policy

        ListenV1Policy(config, options)  # raises now for audio it could not replay
        return lambda: ListenV1Policy(config, options)
    if name == "listen.v2":
        from .listen_v2 import ListenV2Policy

        ListenV2Policy(config, options)
        return lambda: ListenV2Policy(config, options)
    if name == "speak.v1":
        from .speak_v1 import SpeakV1Policy

        return lambda: SpeakV1Policy(config)
    if name == "speak.v2":
        from .speak_v2 import SpeakV2Policy

        return lambda: SpeakV2Policy(config)
    if name == "agent.v1":
        from .agent_v1 import AgentV1Policy

        return lambda: AgentV1Policy(config)
    return lambda: Policy(config)
