# mypy: disable-error-code="misc"
"""Bases shared by the four channel modules: struct configs, ``Unknown`` and the decoder factory.

Conventions (see DESIGN.md, "Messages"):

* Every JSON message is a frozen ``msgspec.Struct`` tagged on ``type`` with its
  class name as the tag (override with ``tag="..."`` where the wire tag differs). ``.type`` is a
  read-only property returning the tag, so ``getattr(message, "type")`` works as in the seed SDK.
* Optional fields default to ``None`` and ``omit_defaults`` drops them on encode, so what we send
  carries only what the caller set, and a decoded fixture re-encodes to the same JSON.
* What the server sends (``ServerMessageBase`` / ``ServerStruct``) ignores unknown fields;
  what clients send (``ClientMessageBase`` / ``ClientStruct``) forbids them, so the local server
  rejects typos loudly and our own encoder can never emit a field the API would refuse.
* Decoders are built once per module; a frame that does not decode becomes ``Unknown``.

Every module that declares structs starts with ``# mypy: disable-error-code="misc"``: mypy's
``dataclass_transform`` support reports each subclass of a frozen Struct that does not repeat
``frozen=True`` as "Non-frozen dataclass cannot inherit from a frozen dataclass", a false
positive (msgspec inherits the config); ``mypy.overrides`` in pyproject does not silence it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import msgspec

__all__ = [
    "ClientMessageBase",
    "ClientStruct",
    "MessageBase",
    "ServerMessageBase",
    "ServerStruct",
    "Unknown",
    "make_client_decoder",
    "make_server_decoder",
]

log = logging.getLogger("rxdeepgram.messages")


class MessageBase(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="type", tag=True
):
    """A JSON message of the wire protocol, tagged on ``type``."""

    @property
    def type(self) -> str:
        """The wire ``type`` tag of this message (e.g. ``"Results"``)."""
        tag = self.__struct_config__.tag
        assert isinstance(tag, str)
        return tag


class ServerMessageBase(MessageBase):
    """A message the server sends. Unknown fields are ignored (forward compatible)."""


class ClientMessageBase(MessageBase, forbid_unknown_fields=True):
    """A message the client sends. Unknown fields are an error when decoding."""


class ServerStruct(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A nested object inside a server message."""


class ClientStruct(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, forbid_unknown_fields=True
):
    """A nested object inside a client message."""


class Unknown(msgspec.Struct, frozen=True, kw_only=True):
    """A frame that did not decode to any known message of the channel.

    ``type`` is the frame's ``type`` value when it had one (``""`` otherwise), ``raw`` is the
    frame exactly as received and ``error`` says why it was not decoded.
    """

    type: str
    raw: str | bytes
    error: str


class _TypeOnly(msgspec.Struct):
    type: str = ""


_type_only = msgspec.json.Decoder(_TypeOnly)

M = TypeVar("M")


def _peek_type(frame: str | bytes) -> str:
    try:
        value = _type_only.decode(frame).type
    except (msgspec.DecodeError, msgspec.ValidationError, UnicodeEncodeError):
        return ""
    return value if isinstance(value, str) else ""


def make_server_decoder(union: Any) -> Callable[[str | bytes], Any]:
    """Build the forgiving ``decode`` of a channel from the union of its server structs.

    Text frames (``str``) decode to a struct or, if that fails, to :class:`Unknown`; binary frames
    (``bytes``) are audio and come back as the same object. It never raises.
    """
    decoder = msgspec.json.Decoder(union)
    decode_json = decoder.decode

    def decode(frame: str | bytes) -> Any:
        if not isinstance(frame, str):
            return frame  # a binary frame: audio, handed on as the very same object
        try:
            return decode_json(frame)
        except (msgspec.DecodeError, msgspec.ValidationError, UnicodeEncodeError) as exc:
            return _unknown(frame, exc)

    return decode


def _unknown(frame: str, exc: BaseException) -> Unknown:
    kind = _peek_type(frame)
    log.debug("undecodable frame (type %r): %s", kind, exc)
    return Unknown(type=kind, raw=frame, error=str(exc))


def make_client_decoder(union: Any) -> Callable[[str | bytes], Any]:
    """Build the strict ``decode_client`` of a channel.

    Text frames must be one of the channel's client messages with no unknown field; anything
    else raises ``msgspec.ValidationError`` / ``msgspec.DecodeError`` naming the problem.
    Binary frames (audio) come back as ``bytes``.
    """
    decoder = msgspec.json.Decoder(union)
    decode_json = decoder.decode

    def decode_client(frame: str | bytes) -> Any:
        if isinstance(frame, (bytes, bytearray, memoryview)):
            return bytes(frame)
        return decode_json(frame)

    return decode_client
