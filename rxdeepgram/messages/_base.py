# mypy: disable-error-code="misc"
"""Bases shared by the channel modules: struct configs, ``Unknown`` and the decoder factory.

Conventions (see DESIGN.md, "Messages"):

* Every JSON message is a frozen ``msgspec.Struct`` tagged on ``type`` with its
  class name as the tag (override with ``tag="..."`` where the wire tag differs). ``.type`` is a
  read-only property returning the tag, so ``getattr(message, "type")`` works as in the seed SDK.
* Optional fields default to ``None`` and ``omit_defaults`` drops them on encode, so what we send
  carries only what the caller set, and a decoded fixture re-encodes to the same JSON.
* What the server sends (``ServerMessageBase`` / ``ServerStruct``) ignores unknown fields;
  what clients send (``ClientMessageBase`` / ``ClientStruct``) forbids them, so the local server
  rejects typos loudly and our own encoder can never emit a field the API would refuse.
* What the server sends is decoded leniently: the live service omits fields its spec marks
  required (an agent ``Error`` without ``code``, a Flux ``ConfigureFailure`` without
  ``request_id``), so every field of a server struct, nested ones included, has a default.
  A field the spec marks required defaults to its type's empty value (``""``, ``0``, ``0.0``,
  ``False``, ``[]`` or the nested struct with its own defaults) through a ``default_factory``,
  which ``omit_defaults`` never drops: a struct the local server builds still encodes every
  required field, and the types stay non-Optional. Optional fields default to ``None`` as
  above. So a server frame whose ``type`` is known decodes to its own struct whatever fields
  it lacks; a field that is present with the wrong type still makes it ``Unknown``, whose
  ``error`` names the field (e.g. ``Expected `float`, got `str` - at `$.start```).
  Client structs keep their required fields: ``decode_client`` stays strict.
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
    "no_items",
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


def no_items() -> list[Any]:
    """The default of a list field the server may omit: a new empty list.

    A function of its own, not ``list``: ``omit_defaults`` leaves out an empty list whose factory
    is ``list`` itself, and a message the local server builds must keep its ``"words": []``.
    Every other factory default (``str``, ``float``, ``int``, ``bool``, a struct class) is
    always encoded.
    """
    return []


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


_UNDECODABLE = (msgspec.DecodeError, msgspec.ValidationError, UnicodeEncodeError, RecursionError)
"""What decoding a text frame may raise: malformed JSON, a wrong shape or type, a lone surrogate
in a ``str``, or JSON nested deeper than the interpreter's recursion limit (msgspec raises
``RecursionError``, even while skipping an unknown field)."""


def _peek_type(frame: str | bytes) -> str:
    try:
        value = _type_only.decode(frame).type
    except _UNDECODABLE:
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
        except _UNDECODABLE as exc:
            return _unknown(frame, exc)

    return decode


def _unknown(frame: str, exc: BaseException) -> Unknown:
    kind = _peek_type(frame)
    log.debug("undecodable frame (type %r): %s", kind, exc)
    return Unknown(type=kind, raw=frame, error=str(exc) or type(exc).__name__)


def make_client_decoder(union: Any) -> Callable[[str | bytes], Any]:
    """Build the strict ``decode_client`` of a channel.

    Text frames must be one of the channel's client messages with no unknown field; anything
    else raises ``msgspec.ValidationError`` / ``msgspec.DecodeError`` naming the problem (JSON
    nested too deeply for the interpreter is a ``DecodeError`` too). Binary frames (audio) come
    back as ``bytes``.
    """
    decoder = msgspec.json.Decoder(union)
    decode_json = decoder.decode

    def decode_client(frame: str | bytes) -> Any:
        if isinstance(frame, (bytes, bytearray, memoryview)):
            return bytes(frame)
        try:
            return decode_json(frame)
        except RecursionError:
            raise msgspec.DecodeError("JSON is nested too deeply") from None

    return decode_client
