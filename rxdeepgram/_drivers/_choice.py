"""The choice of transport (``ClientConfig.transport``): the one module that imports both
transports, above them and above :mod:`._common`, which they share."""

from __future__ import annotations

import importlib.util

from ..errors import ConfigurationError
from ._transport import Opener

__all__ = ["opener_for", "picows_available"]


def picows_available() -> bool:
    """Whether picows and our transport for it are installed (nothing is imported)."""
    return (
        importlib.util.find_spec("picows") is not None
        and importlib.util.find_spec(f"{__package__}._picows") is not None
    )


def opener_for(transport: str | None) -> Opener:
    """The ``Opener`` of ``ClientConfig.transport``: ``None`` is picows when it is installed,
    else websockets. Imports the chosen transport (and only it) on first use. Nothing is
    cached here (Python's own module cache makes a second call cost a few microseconds, once
    per connection), so what is installed is what is chosen."""
    if transport is None:
        transport = "picows" if picows_available() else "websockets"
    if transport == "picows":
        if importlib.util.find_spec("picows") is None:
            raise ConfigurationError(
                "transport='picows' needs picows: pip install 'rxdeepgram[fast]'"
            )
        from ._picows import open_picows

        return open_picows
    if transport == "websockets":
        from ._websockets import open_websockets

        return open_websockets
    raise ConfigurationError(
        f"transport must be 'websockets', 'picows' or None (automatic), got {transport!r}"
    )
