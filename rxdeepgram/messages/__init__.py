"""The wire messages of Deepgram's five WebSocket channels, as frozen msgspec structs.

One module per channel: :mod:`.listen_v1`, :mod:`.listen_v2`, :mod:`.speak_v1`, :mod:`.speak_v2`,
:mod:`.agent_v1`.
Each has ``ServerMessage`` / ``ClientMessage`` unions, a forgiving ``decode`` for what clients
receive and a strict ``decode_client`` for what the local server receives. :func:`encode` is the
one encoder, for every message of every channel and direction.

What ``decode`` accepts: a text frame whose ``type`` is one of the channel's server messages
decodes to that struct even when fields are missing (the live service omits some the spec marks
required): a missing field reads as ``None`` if it is optional, else as its type's empty value
(``""``, ``0``, ``0.0``, ``False``, ``[]``, a nested struct of such defaults). Unknown fields are
ignored. A field present with the wrong type, an unknown ``type``, or text that is not a JSON
object becomes :class:`Unknown` with the reason in ``error``. Binary frames come back as the
same ``bytes``. ``decode`` never raises.
"""

from __future__ import annotations

import msgspec

from ._base import (
    ClientMessageBase,
    MessageBase,
    RawFrame,
    ServerMessageBase,
    Unknown,
    encode_with_extra,
    unmodelled,
)

__all__ = [
    "ClientMessageBase",
    "MessageBase",
    "RawFrame",
    "ServerMessageBase",
    "Unknown",
    "encode",
    "unmodelled",
]

_encoder = msgspec.json.Encoder()
_encode = _encode_plain = _encoder.encode  # the session's fast path (no with_extra fields)


def encode(message: MessageBase) -> bytes:
    """Serialise a message to the JSON text the wire expects (unset optional fields omitted).

    Fields added with :meth:`ClientMessageBase.with_extra` are merged in. The result is UTF-8
    bytes; send it as a *text* frame. A string that UTF-8 cannot encode (a lone surrogate such as
    ``"\\ud800"``, left by a bad decode or a split emoji) raises
    :class:`~rxdeepgram.errors.InvalidMessageError` naming the field.
    """
    try:
        if message._extra_ is None:
            return _encode(message)
        return encode_with_extra(message, _encoder)
    except UnicodeEncodeError as exc:
        error = _unencodable(message, exc)
    raise error


def _unencodable(message: MessageBase, exc: UnicodeEncodeError) -> Exception:
    from ..errors import InvalidMessageError

    where = _surrogate_path(message, "") or type(message).__name__
    char = exc.object[exc.start] if isinstance(exc.object, str) else "?"
    return InvalidMessageError(
        where,
        f"contains U+{ord(char):04X} (a lone surrogate) at position {exc.start}: "
        "text must be valid Unicode (UTF-8 cannot encode it)",
    )


def _surrogate_path(value: object, path: str) -> str | None:
    """The dotted path of the first string in ``value`` that UTF-8 cannot encode."""
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path
        return None
    if isinstance(value, msgspec.Struct):
        for name in value.__struct_fields__:
            found = _surrogate_path(getattr(value, name), f"{path}.{name}" if path else name)
            if found is not None:
                return found
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _surrogate_path(key, f"{path}[{key!r}]") or _surrogate_path(
                item, f"{path}[{key!r}]"
            )
            if found is not None:
                return found
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            found = _surrogate_path(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None
