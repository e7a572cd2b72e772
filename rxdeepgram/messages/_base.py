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
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Generic, Self, TypeVar, get_args

import msgspec

__all__ = [
    "RawFrame",
    "ClientMessageBase",
    "ClientStruct",
    "Codec",
    "MessageBase",
    "ServerMessageBase",
    "ServerStruct",
    "Unknown",
    "make_client_decoder",
    "make_server_decoder",
    "no_items",
    "unmodelled",
]

log = logging.getLogger("rxdeepgram.messages")


class MessageBase(
    msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True, tag_field="type", tag=True
):
    """A JSON message of the wire protocol, tagged on ``type``."""

    _extra_: ClassVar[Mapping[str, Any] | None] = None
    """Fields the library does not model, merged in when encoded (see
    :meth:`ClientMessageBase.with_extra`); ``None`` on every other message."""

    @property
    def type(self) -> str:
        """The wire ``type`` tag of this message (e.g. ``"Results"``)."""
        tag = self.__struct_config__.tag
        assert isinstance(tag, str)
        return tag


class ServerMessageBase(MessageBase):
    """A message the server sends. Unknown fields are ignored (forward compatible)."""


class ClientMessageBase(MessageBase, forbid_unknown_fields=True, dict=True):
    """A message the client sends. Unknown fields are an error when decoding.

    :meth:`with_extra` adds fields the library does not model (yet), sent as given.
    """

    def with_extra(self, fields: Mapping[str, Any]) -> Self:
        """A copy of this message that is sent with ``fields`` merged into its JSON.

        For what Deepgram accepts before rxdeepgram models it: the message stays typed (and
        validated as usual); ``fields`` are deep-merged at encode time, so a nested object is
        reached by nesting, e.g. ``settings.with_extra({"agent": {"think": {"provider":
        {"new_knob": 1}}}})`` puts ``new_knob`` beside the provider's modelled fields. A key the
        message already sends with a value that is not an object, or ``type``, raises
        :class:`~rxdeepgram.errors.InvalidInputError` (set a modelled field on the struct
        itself). Values must be JSON-encodable. Calling it again merges more fields in.
        Messages without extra fields encode exactly as before (one attribute check more).
        """
        from ..errors import InvalidInputError

        if not isinstance(fields, Mapping):
            raise InvalidInputError(
                f"with_extra() takes a mapping of field name to value, got {type(fields).__name__}"
            )
        merged = _plain(self._extra_ or {}, "with_extra()")  # a copy: the original keeps its own
        _deep_merge(merged, _plain(fields, "with_extra()"), "", replace=True)
        copy = msgspec.structs.replace(self)
        copy.__dict__["_extra_"] = merged
        _merge_into(self, merged)  # a conflict raises now, at the caller
        return copy


def _plain(value: Mapping[str, Any], where: str) -> dict[str, Any]:
    """``value`` as JSON builtins (a deep copy), or ``InvalidInputError`` naming the problem."""
    from ..errors import InvalidInputError

    try:
        plain = msgspec.json.decode(msgspec.json.encode(value))
    except (TypeError, ValueError, msgspec.EncodeError, OverflowError) as exc:
        raise InvalidInputError(f"{where}: not JSON-encodable: {exc}") from None
    if not isinstance(plain, dict):
        raise InvalidInputError(f"{where}: expected a JSON object")
    return plain


def _deep_merge(
    into: dict[str, Any], extra: Mapping[str, Any], path: str, *, replace: bool
) -> None:
    from ..errors import InvalidInputError

    for key, value in extra.items():
        if not isinstance(key, str):
            raise InvalidInputError(f"extra field names must be strings, got {key!r}")
        where = f"{path}.{key}" if path else key
        if where == "type" and not replace:
            raise InvalidInputError("extra fields cannot change the message's type")
        have = into.get(key)
        if isinstance(have, dict) and isinstance(value, dict):
            _deep_merge(have, value, where, replace=replace)
        elif key in into and not replace:
            raise InvalidInputError(
                f"extra field {where!r} is already sent by the message: set it on the struct"
            )
        else:
            into[key] = value


def _merge_into(message: MessageBase, extra: Mapping[str, Any]) -> dict[str, Any]:
    """The message's JSON object with ``extra`` deep-merged in."""
    obj: dict[str, Any] = msgspec.to_builtins(message)
    _deep_merge(obj, extra, "", replace=False)
    return obj


def encode_with_extra(message: MessageBase, encoder: msgspec.json.Encoder) -> bytes:
    """Encode a message that carries extra fields (:meth:`ClientMessageBase.with_extra`)."""
    extra = message._extra_
    assert extra is not None
    return encoder.encode(_merge_into(message, extra))


class RawFrame:
    """A frame sent exactly as given, for what the library does not model: a JSON object
    (``dict``, or ``str`` holding one) as a text frame, or ``bytes`` as a binary frame.

    ``conn.send_raw(...)`` builds one; ``conn.input.on_next(RawFrame(...))`` works too. The
    check is done here, at the caller: a ``dict`` must be JSON-encodable, a ``str`` must parse
    to a JSON object. ``type`` is the object's ``type`` (``""`` for a binary frame or none).
    """

    __slots__ = ("data", "text", "type")

    def __init__(self, message: Mapping[str, Any] | str | bytes | bytearray | memoryview) -> None:
        from ..errors import InvalidInputError

        kind: object = None
        if isinstance(message, (bytes, bytearray, memoryview)):
            self.data = bytes(message)
            self.text = False
        elif isinstance(message, str):
            try:
                obj = msgspec.json.decode(message)
            except (msgspec.DecodeError, RecursionError, UnicodeEncodeError) as exc:
                raise InvalidInputError(f"send_raw: the str is not JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise InvalidInputError(
                    f"send_raw: the str must hold a JSON object, not {type(obj).__name__}"
                )
            self.data = message.encode()
            self.text = True
            kind = obj.get("type")
        elif isinstance(message, Mapping):
            try:
                self.data = _raw_encoder.encode(message)
            except (TypeError, ValueError, msgspec.EncodeError, OverflowError) as exc:
                raise InvalidInputError(
                    f"send_raw: the object is not JSON-encodable: {exc}"
                ) from None
            self.text = True
            kind = message.get("type")
        else:
            raise InvalidInputError(
                "send_raw takes a dict, a str holding a JSON object, or bytes; "
                f"got {type(message).__name__}"
            )
        self.type = kind if isinstance(kind, str) else ""

    def __repr__(self) -> str:
        what = "text" if self.text else "binary"
        return f"RawFrame({what}, {len(self.data)} bytes, type={self.type!r})"


_raw_encoder = msgspec.json.Encoder()


def unmodelled(message: object, frame: str | bytes) -> dict[str, Any]:
    """The fields of a received ``frame`` that its decoded ``message`` does not model.

    Server structs ignore fields they do not know (so that a new field never breaks a
    stream); they stay in the frame, which ``conn.raw`` delivers just before the struct. This
    returns them as a nested dict, e.g. ``{"new_flag": True, "channel": {"alternatives":
    [{"new_score": 0.3}]}}``: objects are compared field by field, lists item by item. ``{}``
    when everything is modelled (or the frame is not a JSON object).
    """
    if not isinstance(frame, (str, bytes)) or isinstance(message, (bytes, Unknown)):
        return {}
    try:
        obj = msgspec.json.decode(frame)
    except (msgspec.DecodeError, RecursionError):
        return {}
    diff = _unmodelled(message, obj)
    return diff if isinstance(diff, dict) else {}


def _unmodelled(model: object, value: Any) -> Any:
    if isinstance(model, msgspec.Struct) and isinstance(value, dict):
        fields = {f.encode_name: f.name for f in msgspec.structs.fields(model)}
        tag_field = model.__struct_config__.tag_field
        out: dict[str, Any] = {}
        for key, item in value.items():
            if key == tag_field:
                continue
            name = fields.get(key)
            if name is None:
                out[key] = item
                continue
            sub = _unmodelled(getattr(model, name), item)
            if sub:
                out[key] = sub
        return out
    if isinstance(model, list) and isinstance(value, list):
        items = [_unmodelled(m, v) for m, v in zip(model, value, strict=False)]
        return items if any(items) else None
    if isinstance(model, dict) and isinstance(value, dict):
        return None  # a free-form mapping (``extra``, ``search`` hits): modelled as a whole
    return None


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

    The function returned becomes the channel module's public ``decode`` itself (:class:`Codec`
    names and documents it), not wrapped in another: it runs once per message of every
    connection, and a Python call costs about a tenth of decoding a small frame.
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


SM = TypeVar("SM")
CM = TypeVar("CM")


_DECODE_DOC = """Decode a frame the client received. Never raises: text that is not a known message
    becomes :class:`Unknown`; a binary frame (audio, on the channels that send it) comes back as
    the same ``bytes`` object."""

_DECODE_CLIENT_DOC = """Decode a frame the server received, strictly (unknown types and fields raise
    ``msgspec.ValidationError``). A binary frame (audio, on the channels that take it) comes
    back as ``bytes``."""


class Codec(Generic[SM, CM]):
    """A channel's message tuples and its two decoders, from the unions of its server and client
    structs: ``Codec[ServerMessage, ClientMessage](ServerMessage, ClientMessage, __name__)``.

    A channel module takes its ``SERVER_MESSAGES``, ``CLIENT_MESSAGES``, ``decode`` and
    ``decode_client`` from here: the functions :func:`make_server_decoder` /
    :func:`make_client_decoder` build (no wrapper around them: ``decode`` runs once per message
    of every connection), named after the module, documented, and typed by the class's
    parameters.
    """

    __slots__ = ("client_messages", "decode", "decode_client", "server_messages")

    def __init__(self, server: Any, client: Any, module: str) -> None:
        self.server_messages: tuple[type[ServerMessageBase], ...] = get_args(server)
        self.client_messages: tuple[type[ClientMessageBase], ...] = get_args(client)
        self.decode: Callable[[str | bytes], SM | Unknown | bytes] = _in_module(
            make_server_decoder(server), module, _DECODE_DOC
        )
        self.decode_client: Callable[[str | bytes], CM | bytes] = _in_module(
            make_client_decoder(client), module, _DECODE_CLIENT_DOC
        )


def _in_module(function: Callable[[str | bytes], Any], module: str, doc: str) -> Any:
    """``function`` as the channel module's own (``help()``, the API reference): named after
    the module, documented by ``doc``. Not wrapped in another function: it is the one that runs
    for every message."""
    function.__module__ = module
    function.__qualname__ = function.__name__
    function.__doc__ = doc
    return function
