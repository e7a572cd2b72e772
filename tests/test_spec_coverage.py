"""Every message and field of Deepgram's AsyncAPI spec has a counterpart in rxdeepgram.messages.

The walker reads ``../shared/spec/asyncapi.yml`` (never copied into the repo; the tests are
marked ``shared`` and run with ``pytest --shared``) and, for each of the
four channels, matches every JSON message (binary ones excepted) to the struct class carrying
its wire tag in the channel module's ``SERVER_MESSAGES`` / ``CLIENT_MESSAGES``. It then follows
the message schema recursively (``$ref``, nested objects, ``oneOf`` / ``anyOf`` variants,
arrays) alongside the struct's type annotations (``msgspec.inspect``: unions, lists, nested
structs) and lists every spec path that has no field. A second pass checks that scalar fields
have a compatible Python type (``integer`` -> ``int``, ``number`` -> ``float``, ...).

The spec's ``publish`` operation lists what the *server* sends and ``subscribe`` what the
*client* sends; the operations' summaries ("Server messages" / "Client messages") are what
this walker trusts.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

import msgspec
import msgspec.inspect as mi
import pytest
from conftest import SPEC, shared

CHANNELS = {
    "/v1/listen": ("listen_v1", "ListenV1"),
    "/v2/listen": ("listen_v2", "ListenV2"),
    "/v1/speak": ("speak_v1", "SpeakV1"),
    "/v2/speak": ("speak_v2", "SpeakV2"),
    "/v1/agent/converse": ("agent_v1", "AgentV1"),
}

_SEQUENCE_TYPES = (mi.ListType, mi.VarTupleType, mi.SetType, mi.FrozenSetType)
_STRING_TYPES = (mi.StrType, mi.UUIDType, mi.DateTimeType, mi.DateType, mi.TimeType, mi.EnumType)


# --- the walker ------------------------------------------------------------------------------


@dataclass
class Report:
    """What the walk found: spec paths with no field, and scalar type mismatches."""

    missing: list[str] = field(default_factory=list)
    mismatched: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class SpecMessage:
    """One JSON message of a channel, as the spec declares it."""

    direction: str  # "server" (server -> client) or "client" (client -> server)
    name: str  # the spec's message name, e.g. "ListenV2FatalError"
    tag: str  # the wire ``type``, e.g. "Error"
    payload: dict[str, Any]


class Walker:
    """Compares spec schemas with msgspec types. ``components`` is the spec's ``components``."""

    def __init__(self, components: dict[str, Any]) -> None:
        self.components = components

    # -- spec helpers --

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        """Follow ``$ref`` chains (``#/components/<section>/<name>``)."""
        seen: set[str] = set()
        while "$ref" in node:
            ref = node["$ref"]
            assert ref not in seen, f"$ref cycle at {ref}"
            seen.add(ref)
            prefix = "#/components/"
            assert ref.startswith(prefix), ref
            section, _, name = ref[len(prefix) :].partition("/")
            node = self.components[section][name]
        return node

    @staticmethod
    def ref_name(node: dict[str, Any]) -> str | None:
        ref = node.get("$ref")
        return ref.rsplit("/", 1)[-1] if isinstance(ref, str) else None

    def type_values(self, schema: dict[str, Any]) -> list[str]:
        """The ``enum`` values a message schema allows for its ``type`` property."""
        schema = self.resolve(schema)
        values: list[str] = []
        for variant in schema.get("oneOf", []) + schema.get("anyOf", []):
            values += self.type_values(variant)
        prop = schema.get("properties", {}).get("type")
        if prop is not None:
            values += [v for v in self.resolve(prop).get("enum", []) if v not in values]
        return values

    def wire_tag(self, name: str, prefix: str, payload: dict[str, Any]) -> str:
        """The ``type`` a message carries on the wire.

        A single enum value is the tag. Some spec messages share one enum listing several tags
        (``Finalize`` / ``CloseStream`` / ``KeepAlive``): the message name then says which.
        """
        values = self.type_values(payload)
        if len(values) == 1:
            return values[0]
        short = name.removeprefix(prefix)
        for candidate in (short, short.removeprefix("Send"), short.removeprefix("Receive")):
            if candidate in values:
                return candidate
        raise AssertionError(f"cannot tell the wire tag of {name} from {values}")

    def channel_messages(self, spec: dict[str, Any], channel: str) -> Iterator[SpecMessage]:
        """The JSON messages of ``channel``, binary ones left out."""
        prefix = CHANNELS[channel][1]
        for operation in ("publish", "subscribe"):
            op = spec["channels"][channel][operation]
            summary = op["summary"].lower()
            direction = "server" if summary.startswith("server") else "client"
            assert summary.startswith(direction), op["summary"]
            for ref in op["message"]["oneOf"]:
                message = self.resolve(ref)
                payload = self.resolve(message["payload"])
                if payload.get("format") == "binary":
                    continue
                name = message["name"]
                yield SpecMessage(direction, name, self.wire_tag(name, prefix, payload), payload)

    # -- msgspec helpers --

    @staticmethod
    def members(types: list[mi.Type]) -> list[mi.Type]:
        """Flatten unions (and ``Optional``)."""
        out: list[mi.Type] = []
        for t in types:
            if isinstance(t, mi.UnionType):
                out += Walker.members(list(t.types))
            else:
                out.append(t)
        return out

    # -- the walk --

    def walk(self, schema: dict[str, Any], types: list[mi.Type], path: str, report: Report) -> None:
        """Check ``schema`` (at spec ``path``) against the msgspec ``types`` that hold it."""
        node = self.resolve(schema)
        members = self.members(types)
        if any(isinstance(t, mi.AnyType) for t in members):
            return  # an ``Any`` field holds whatever the spec puts there
        variants = node.get("oneOf", []) + node.get("anyOf", [])
        for index, variant in enumerate(variants):
            label = self.ref_name(variant) or self.resolve(variant).get("title") or str(index)
            self.walk(variant, members, f"{path}<{label}>", report)
        if variants:
            return
        kind = node.get("type")
        if kind == "array" or "items" in node:
            items = [t.item_type for t in members if isinstance(t, _SEQUENCE_TYPES)]
            if not items:
                report.mismatched.append(f"{path}: array in the spec, not a list")
            if "items" in node:
                self.walk(node["items"], items, f"{path}[]", report)
            return
        properties: dict[str, Any] = node.get("properties") or {}
        if kind == "object" or properties:
            structs = [t for t in members if isinstance(t, mi.StructType)]
            if properties:
                self.walk_object(node, properties, structs, path, report)
            elif not structs and not any(isinstance(t, mi.DictType) for t in members):
                report.mismatched.append(f"{path}: object in the spec, not a dict or struct")
            return
        self.check_scalar(node, members, path, report)

    def walk_object(
        self,
        node: dict[str, Any],
        properties: dict[str, Any],
        structs: list[mi.StructType],
        path: str,
        report: Report,
    ) -> None:
        if not structs:
            report.missing += [f"{path}.{name}" for name in properties]
            return
        tag = self.type_values(node)
        tagged = [s for s in structs if s.tag_field == "type" and len(tag) == 1 and s.tag == tag[0]]
        candidates = tagged or structs

        def missing_of(struct: mi.StructType) -> list[str]:
            names = {f.encode_name for f in struct.fields}
            if struct.tag_field is not None:
                names.add(struct.tag_field)
            return [name for name in properties if name not in names]

        best = min(candidates, key=lambda s: len(missing_of(s)))
        fields = {f.encode_name: f for f in best.fields}
        for name, sub in properties.items():
            if name in fields:
                self.walk(sub, [fields[name].type], f"{path}.{name}", report)
            elif name != best.tag_field:
                report.missing.append(f"{path}.{name}")

    @staticmethod
    def check_scalar(
        node: dict[str, Any], members: list[mi.Type], path: str, report: Report
    ) -> None:
        kind = node.get("type")
        literals = [v for t in members if isinstance(t, mi.LiteralType) for v in t.values]
        if kind == "integer":
            ok = any(isinstance(t, mi.IntType) for t in members)
        elif kind == "number":
            ok = any(isinstance(t, mi.FloatType) for t in members)
        elif kind == "boolean":
            ok = any(isinstance(t, mi.BoolType) for t in members) or any(
                isinstance(v, bool) for v in literals
            )
        elif kind == "string":
            ok = any(isinstance(t, _STRING_TYPES) for t in members) or any(
                isinstance(v, str) for v in literals
            )
        else:
            return  # "Any type": nothing to check
        if not ok:
            report.mismatched.append(f"{path}: {kind} in the spec, typed {members}")

    def check_channel(self, spec: dict[str, Any], channel: str, module: ModuleType) -> Report:
        """Walk every JSON message of ``channel`` against ``module``'s message tuples."""
        report = Report()
        tuples = {"server": module.SERVER_MESSAGES, "client": module.CLIENT_MESSAGES}
        for message in self.channel_messages(spec, channel):
            by_tag = {cls.__struct_config__.tag: cls for cls in tuples[message.direction]}
            where = f"{channel} {message.direction} {message.tag}"
            cls = by_tag.get(message.tag)
            if cls is None:
                report.missing.append(f"{where} (spec message {message.name}): no struct")
                continue
            self.walk(message.payload, [mi.type_info(cls)], where, report)
        return report


# --- the real spec -----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    yaml = pytest.importorskip("yaml")
    with SPEC.open(encoding="utf-8") as f:
        loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available
        loaded: dict[str, Any] = yaml.load(f, Loader=loader)
    return loaded


def channel_module(channel: str) -> ModuleType:
    name = CHANNELS[channel][0]
    try:
        return importlib.import_module(f"rxdeepgram.messages.{name}")
    except ModuleNotFoundError as exc:
        if exc.name != f"rxdeepgram.messages.{name}":
            raise
        pytest.skip(f"rxdeepgram/messages/{name}.py does not exist yet")


@shared
@pytest.mark.parametrize("channel", list(CHANNELS))
def test_every_spec_message_and_field_has_a_counterpart(spec: dict[str, Any], channel: str) -> None:
    module = channel_module(channel)
    report = Walker(spec["components"]).check_channel(spec, channel, module)
    assert report.missing == [], "spec paths without a field:\n  " + "\n  ".join(report.missing)


@shared
@pytest.mark.parametrize("channel", list(CHANNELS))
def test_scalar_fields_have_compatible_types(spec: dict[str, Any], channel: str) -> None:
    module = channel_module(channel)
    report = Walker(spec["components"]).check_channel(spec, channel, module)
    assert report.mismatched == [], "type mismatches:\n  " + "\n  ".join(report.mismatched)


@shared
@pytest.mark.parametrize("channel", list(CHANNELS))
def test_the_walk_covers_every_json_message(spec: dict[str, Any], channel: str) -> None:
    """The walker sees the channel's JSON messages (with the README's counts) in both
    directions, and every tag is unique per direction."""
    messages = list(Walker(spec["components"]).channel_messages(spec, channel))
    counts = {d: len([m for m in messages if m.direction == d]) for d in ("server", "client")}
    expected = {
        "/v1/listen": {"server": 4, "client": 3},
        "/v2/listen": {"server": 5, "client": 2},
        "/v1/speak": {"server": 4, "client": 4},
        "/v2/speak": {"server": 7, "client": 3},
        "/v1/agent/converse": {"server": 18, "client": 9},
    }[channel]
    assert counts == expected
    for direction in ("server", "client"):
        tags = [m.tag for m in messages if m.direction == direction]
        assert len(tags) == len(set(tags)), tags


@shared
def test_wire_tags_of_shared_enums_and_renamed_messages(spec: dict[str, Any]) -> None:
    walker = Walker(spec["components"])
    tags = {
        (channel, m.name): m.tag
        for channel in CHANNELS
        for m in walker.channel_messages(spec, channel)
    }
    assert tags["/v1/listen", "ListenV1KeepAlive"] == "KeepAlive"
    assert tags["/v1/speak", "SpeakV1Cleared"] == "Cleared"
    assert tags["/v1/speak", "SpeakV1Text"] == "Speak"
    assert tags["/v2/listen", "ListenV2FatalError"] == "Error"
    assert tags["/v1/agent/converse", "AgentV1SendFunctionCallResponse"] == "FunctionCallResponse"
    assert tags["/v1/agent/converse", "AgentV1History"] == "History"


# --- the walker itself, on a small synthetic spec ------------------------------------------


SYNTHETIC: dict[str, Any] = {
    "schemas": {
        "Tag": {"type": "string", "enum": ["Order"]},
        "Order": {
            "type": "object",
            "properties": {
                "type": {"$ref": "#/components/schemas/Tag"},
                "count": {"type": "integer"},
                "price": {"type": "number"},
                "lines": {"type": "array", "items": {"$ref": "#/components/schemas/Line"}},
                "payment": {
                    "oneOf": [
                        {"$ref": "#/components/schemas/Card"},
                        {"$ref": "#/components/schemas/Bank"},
                        {"type": "string"},
                    ]
                },
                "meta": {"description": "Any type"},
            },
            "required": ["type"],
        },
        "Line": {
            "type": "object",
            "properties": {"sku": {"type": "string"}, "qty": {"type": "integer"}},
        },
        "Card": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["card"]},
                "number": {"type": "string"},
                "holder": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "born": {"type": "integer"}},
                },
            },
        },
        "Bank": {
            "type": "object",
            "properties": {
                "type": {"type": "string", "enum": ["bank"]},
                "iban": {"type": "string"},
            },
        },
    }
}


def _order_types(*, drop: str = "", qty: type = int) -> type[msgspec.Struct]:
    """Build ``Order`` and its nested structs, leaving out the field named ``drop``."""

    def struct(name: str, fields: dict[str, Any], **config: Any) -> type[msgspec.Struct]:
        kept = [(k, v, msgspec.field(default=None)) for k, v in fields.items() if k != drop]
        return msgspec.defstruct(name, kept, kw_only=True, **config)

    holder = struct("Holder", {"name": str | None, "born": int | None})
    card = struct(
        "Card", {"number": str | None, "holder": holder | None}, tag="card", tag_field="type"
    )
    bank = struct("Bank", {"iban": str | None}, tag="bank", tag_field="type")
    line = struct("Line", {"sku": str | None, "qty": qty | None})
    return struct(
        "Order",
        {
            "count": int | None,
            "price": float | None,
            "lines": list[line] | None,
            "payment": card | bank | str | None,
            "meta": Any,
        },
        tag="Order",
        tag_field="type",
    )


def _walk_order(cls: type[msgspec.Struct]) -> Report:
    report = Report()
    walker = Walker(SYNTHETIC)
    walker.walk({"$ref": "#/components/schemas/Order"}, [mi.type_info(cls)], "Order", report)
    return report


def test_walker_passes_a_complete_model() -> None:
    assert _walk_order(_order_types()) == Report()


@pytest.mark.parametrize(
    ("drop", "path"),
    [
        ("count", "Order.count"),
        ("lines", "Order.lines"),
        ("qty", "Order.lines[].qty"),
        ("iban", "Order.payment<Bank>.iban"),
        ("holder", "Order.payment<Card>.holder"),
        ("born", "Order.payment<Card>.holder.born"),
        ("meta", "Order.meta"),
    ],
)
def test_walker_reports_a_removed_field(drop: str, path: str) -> None:
    assert _walk_order(_order_types(drop=drop)).missing == [path]


def test_walker_reports_every_field_of_an_unmodelled_object() -> None:
    cls = msgspec.defstruct(
        "Order",
        [("lines", list[dict[str, Any]], [])],
        kw_only=True,
        tag="Order",
        tag_field="type",
    )
    report = _walk_order(cls)
    assert report.missing == [
        "Order.count",
        "Order.price",
        "Order.lines[].sku",
        "Order.lines[].qty",
        "Order.payment",
        "Order.meta",
    ]


def test_walker_reports_an_integer_typed_as_float() -> None:
    report = _walk_order(_order_types(qty=float))
    assert report.missing == []
    assert len(report.mismatched) == 1
    assert report.mismatched[0].startswith("Order.lines[].qty: integer in the spec")


@shared
def test_walker_reports_a_missing_struct_and_fields_of_a_real_message(spec: dict[str, Any]) -> None:
    """Against the real spec: a Listen V2 module whose TurnInfo words lack ``start`` and which
    has no ``ConfigureFailure`` is reported path by path."""
    from rxdeepgram.messages import listen_v2

    word = msgspec.defstruct(
        "Word", [("word", str), ("confidence", float), ("end", float | None, None)], kw_only=True
    )
    turn_info = msgspec.defstruct(
        "TurnInfo",
        [("words", list[word])],
        bases=(listen_v2.TurnInfo,),
        tag="TurnInfo",
        kw_only=True,
    )

    class Fake:
        SERVER_MESSAGES = tuple(
            turn_info if c is listen_v2.TurnInfo else c
            for c in listen_v2.SERVER_MESSAGES
            if c is not listen_v2.ConfigureFailure
        )
        CLIENT_MESSAGES = listen_v2.CLIENT_MESSAGES

    report = Walker(spec["components"]).check_channel(spec, "/v2/listen", Fake)
    assert report.missing == [
        "/v2/listen server TurnInfo.words[].start",
        "/v2/listen server ConfigureFailure (spec message ListenV2ConfigureFailure): no struct",
    ]
