"""Every message and field deepgram-sdk 7's socket clients send or receive on the four
channels has a counterpart in ``rxdeepgram.messages`` (a systematic diff, kept as a test).

For each channel it walks the SDK's response union and the ``message`` parameter of every
``send_*`` method, matches each SDK model to the struct with the same wire ``type`` (or, for the
models that share one tag enum, the same name), then follows every field recursively (nested
models, unions of models matched on their ``type`` / ``version`` tag) and lists what has no
field. Fields the SDK never sends (``exclude=True``, e.g. the ``language_hint`` alias it
migrates to ``language_hints``) are left out. Skipped without deepgram-sdk 7.17 or later.
"""
# ruff: noqa: E402

from __future__ import annotations

import inspect
import types
import typing

import msgspec
import pytest

deepgram = pytest.importorskip("deepgram")
pydantic = pytest.importorskip("pydantic")
_version = tuple(int(p) for p in deepgram.__version__.split(".")[:2] if p.isdigit())
if _version < (7, 17):
    pytest.skip("needs deepgram-sdk 7.17 or later", allow_module_level=True)

from deepgram.agent.v1 import socket_client as a1
from deepgram.listen.v1 import socket_client as l1
from deepgram.listen.v2 import socket_client as l2
from deepgram.speak.v1 import socket_client as s1

from rxdeepgram.messages import agent_v1, listen_v1, listen_v2, speak_v1


def sdk_models(tp):
    out = []

    def walk(t):
        o = typing.get_origin(t)
        if o is typing.Annotated:
            walk(typing.get_args(t)[0])
            return
        if o in (typing.Union, types.UnionType, list, list, dict, tuple, typing.Sequence) or (
            o is not None and o is not typing.Literal
        ):
            for a in typing.get_args(t):
                walk(a)
            return
        if isinstance(t, type) and issubclass(t, pydantic.BaseModel):
            out.append(t)

    walk(tp)
    return out


def our_structs(tp):
    out = []

    def walk(t):
        o = typing.get_origin(t)
        if o is not None and o is not typing.Literal:
            for a in typing.get_args(t):
                walk(a)
            return
        if isinstance(t, type) and issubclass(t, msgspec.Struct):
            out.append(t)

    walk(tp)
    return out


def sdk_fields(m):
    hints = typing.get_type_hints(m, include_extras=True)
    res = {}
    for name, f in m.model_fields.items():
        if f.exclude:
            continue
        res[f.alias or name] = (hints.get(name, f.annotation), f)
    return res


def our_fields(cls):
    hints = typing.get_type_hints(cls, include_extras=True)
    res = {}
    for name, enc in zip(cls.__struct_fields__, cls.__struct_encode_fields__, strict=False):
        res[enc] = hints[name]
    cfg = cls.__struct_config__
    if cfg.tag_field:
        res[cfg.tag_field] = typing.Literal[cfg.tag]
    return res


def tagval(m, field):
    f = m.model_fields.get(field)
    if f is None:
        return None
    d = f.default
    if isinstance(d, str):
        return d
    ann = f.annotation
    lits = []

    def w(a):
        o = typing.get_origin(a)
        if o is typing.Literal:
            lits.extend(typing.get_args(a))
        elif o in (typing.Union, types.UnionType):
            for x in typing.get_args(a):
                w(x)

    w(ann)
    if not lits:
        return None
    return lits[0] if len(lits) == 1 else tuple(lits)


def match(sdk_m, ours, problems):
    if not ours:
        return []
    if len(ours) == 1:
        return ours
    for fld in ("type", "version"):
        t = tagval(sdk_m, fld)
        if t is None:
            continue
        tagged = [c for c in ours if c.__struct_config__.tag_field == fld]
        hits = [c for c in tagged if c.__struct_config__.tag == t]
        if hits:
            return hits
        if isinstance(t, tuple):
            hits = [c for c in tagged if sdk_m.__name__.endswith(c.__name__)]
            if hits:
                return hits
        if tagged:
            problems.append(
                f"NO VARIANT {fld}={t!r} ({sdk_m.__name__}) among {[c.__name__ for c in tagged]}"
            )
            return []
    return ours


def compare(path, sdk_m, ours, problems, seen):
    key = (path, sdk_m)
    if key in seen:
        return
    seen.add(key)
    cands = match(sdk_m, ours, problems)
    if not cands:
        problems.append(f"{path}: no struct for {sdk_m.__name__}")
        return
    of = {}
    for c in cands:
        of.update(our_fields(c))
    for name, (ann, _f) in sdk_fields(sdk_m).items():
        p = f"{path}.{name}"
        if name not in of:
            problems.append(f"{p}: MISSING ({ann})")
            continue
        sub = sdk_models(ann)
        if sub:
            mine = our_structs(of[name])
            if not mine:
                problems.append(
                    f"{p}: SDK has object(s) {[s.__name__ for s in sub]}, ours is {of[name]}"
                )
                continue
            for s in sub:
                compare(p, s, mine, problems, seen)


CHANS = [
    ("listen_v1", l1, listen_v1, "V1SocketClientResponse"),
    ("listen_v2", l2, listen_v2, "V2SocketClientResponse"),
    ("speak_v1", s1, speak_v1, "V1SocketClientResponse"),
    ("agent_v1", a1, agent_v1, "V1SocketClientResponse"),
]


def diff(only: str) -> list[str]:
    """The SDK's messages and fields with no counterpart, for one channel."""
    problems: list[str] = []
    seen: set[object] = set()
    for name, sc, mod, resp in CHANS:
        if name != only:
            continue
        server = sdk_models(getattr(sc, resp))
        for m in server:
            tag = tagval(m, "type")
            tags = tag if isinstance(tag, tuple) else (tag,)
            ours = [c for c in mod.SERVER_MESSAGES if c.__struct_config__.tag in tags]
            if not ours:
                problems.append(f"{name} server {tag} ({m.__name__}): NO MESSAGE")
                continue
            compare(f"{name}<-{tag}", m, ours, problems, seen)
        cls = sc.V1SocketClient if hasattr(sc, "V1SocketClient") else sc.V2SocketClient
        for meth_name, meth in inspect.getmembers(cls, inspect.isfunction):
            if not meth_name.startswith("send_"):
                continue
            hints = typing.get_type_hints(meth)
            ann = hints.get("message")
            if ann is None:
                continue
            for m in sdk_models(ann):
                tag = tagval(m, "type")
                tags = tag if isinstance(tag, tuple) else (tag,)
                ours = [c for c in mod.CLIENT_MESSAGES if c.__struct_config__.tag in tags]
                if not ours:
                    problems.append(f"{name} client {tag} ({m.__name__}, {meth_name}): NO MESSAGE")
                    continue
                compare(f"{name}->{tag}", m, ours, problems, seen)
    return problems


@pytest.mark.parametrize("channel", ["listen_v1", "listen_v2", "speak_v1", "agent_v1"])
def test_every_sdk7_message_and_field_has_a_counterpart(channel: str) -> None:
    assert diff(channel) == []


def test_the_diff_reports_a_missing_message_and_a_missing_field(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    servers = tuple(c for c in agent_v1.SERVER_MESSAGES if c is not agent_v1.FrustrationDetected)
    monkeypatch.setattr(agent_v1, "SERVER_MESSAGES", servers)
    original = our_fields

    def without_expressivity(cls: type) -> dict[str, object]:
        fields = original(cls)
        if cls is agent_v1.DeepgramSpeakProvider:
            fields.pop("expressivity")
        return fields

    monkeypatch.setitem(globals(), "our_fields", without_expressivity)
    problems = diff("agent_v1")
    assert any("FrustrationDetected" in p and "NO MESSAGE" in p for p in problems)
    assert any("speak.provider.expressivity: MISSING" in p for p in problems)


# --- connect() options ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("sdk_client", "options_name"),
    [
        ("deepgram.listen.v1.client:V1Client", "ListenV1Options"),
        ("deepgram.listen.v2.client:V2Client", "ListenV2Options"),
        ("deepgram.speak.v1.client:V1Client", "SpeakV1Options"),
        ("deepgram.agent.v1.client:V1Client", None),
    ],
)
def test_every_sdk7_connect_parameter_is_an_option(
    sdk_client: str, options_name: str | None
) -> None:
    """What SDK 7's ``connect(...)`` takes, ``client.<channel>.connect(...)`` takes too: a typed
    option (or one passed through as given), or ``authorization`` / ``request_options``."""
    import importlib

    from rxdeepgram import options as rx_options

    module, _, name = sdk_client.partition(":")
    params = set(
        inspect.signature(getattr(importlib.import_module(module), name).connect).parameters
    )
    params -= {"self", "authorization", "request_options"}  # connect()'s own keywords
    known: set[str] = set()
    if options_name is not None:
        cls = getattr(rx_options, options_name)
        known = set(cls.FIELDS) | set(cls.PASSTHROUGH)
    assert params - known == set()
