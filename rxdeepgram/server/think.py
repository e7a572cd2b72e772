"""The agent's *think* step: a pluggable Python callable in place of an LLM.

The local agent (``/v1/agent/converse``) hands every user turn to a :data:`Think` callable and
speaks what it answers. A think step sees a :class:`ThinkRequest` (the system prompt, the
conversation so far, the functions declared in ``Settings.agent.think.functions`` and, when it
asked for function calls, their results) and returns a :class:`ThinkReply`: text to say, function
calls to make, or both. After the calls the server asks again with the results filled in, until a
reply asks for no more calls. A plain ``str`` is accepted as a reply with text only.

Built-ins, selected by name with ``DeepgramServer(think="echo" | "rules")`` or
``python -m rxdeepgram.server --think rules``:

* ``echo`` — answers ``"You said: <what the user said>"``.
* ``rules`` (the default) — if the user's words name a declared function (a significant word of
  its name: ``get_weather`` matches "weather", ``check_order_status`` matches "order" or
  "status"), it calls that function with arguments taken from the words by simple rules (see
  :func:`extract_arguments`), then answers with the function's result (``get_weather`` returning
  ``{"temperature": 21}`` gives "Weather: temperature 21."); otherwise it echoes.

A callable may be sync or async. Sync callables run in a worker thread (they may block, e.g. on
an HTTP call to a real LLM) unless they carry ``blocking = False``, as the built-ins do::

    async def think(request: ThinkRequest) -> ThinkReply:
        if request.results:
            return ThinkReply(text=f"Done: {request.results[0].content}")
        return ThinkReply(calls=(Call("lookup", {"q": request.user_text}),))

    DeepgramServer(think=think)

Server-side functions (declared with an ``endpoint``) are not really called: the local server
never goes to the network. :func:`simulate_server_function` makes their canned result.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

__all__ = [
    "Call",
    "CallResult",
    "FunctionSpec",
    "Message",
    "Think",
    "ThinkReply",
    "ThinkRequest",
    "echo",
    "extract_arguments",
    "get_think",
    "rules",
    "run_think",
    "simulate_server_function",
    "think_names",
]


@dataclass(frozen=True, slots=True)
class Message:
    """One statement of the conversation."""

    role: Literal["user", "assistant"]
    content: str


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """A function declared in ``Settings.agent.think.functions``. ``client_side`` is true when it
    has no ``endpoint`` (the client runs it); ``parameters`` is its JSON Schema (may be empty)."""

    name: str
    description: str = ""
    parameters: Mapping[str, Any] = field(default_factory=dict)
    client_side: bool = True


@dataclass(frozen=True, slots=True)
class Call:
    """A function call the think step asks for."""

    name: str
    arguments: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class CallResult:
    """A call that was made for the current turn, with its result (``content``, usually JSON)."""

    id: str
    name: str
    arguments: Mapping[str, Any]
    content: str
    client_side: bool


@dataclass(frozen=True, slots=True)
class ThinkRequest:
    """What a think step sees for one user turn.

    ``messages`` is the conversation so far, oldest first, ending with the user's turn (seeded
    from ``Settings.agent.context``). ``results`` holds the calls already made for this turn
    (empty on the first request of a turn). ``provider`` / ``model`` name the think provider the
    client configured (informational: nothing is called).
    """

    messages: tuple[Message, ...]
    functions: tuple[FunctionSpec, ...] = ()
    prompt: str | None = None
    results: tuple[CallResult, ...] = ()
    provider: str = ""
    model: str = ""

    @property
    def user_text(self) -> str:
        """The latest user statement (``""`` if there is none)."""
        for message in reversed(self.messages):
            if message.role == "user":
                return message.content
        return ""

    def function(self, name: str) -> FunctionSpec | None:
        """The declared function called ``name``, if any."""
        for spec in self.functions:
            if spec.name == name:
                return spec
        return None


@dataclass(frozen=True, slots=True)
class ThinkReply:
    """What a think step answers: ``text`` to say and/or ``calls`` to make. ``thinking`` is
    reasoning the server reports as ``AgentThinking`` (not spoken)."""

    text: str | None = None
    calls: tuple[Call, ...] = ()
    thinking: str | None = None


ThinkResult: TypeAlias = ThinkReply | str
Think: TypeAlias = Callable[[ThinkRequest], ThinkResult | Awaitable[ThinkResult]]
"""A think step: ``ThinkRequest -> ThinkReply`` (or ``str``), sync or async."""


async def run_think(think: Think, request: ThinkRequest) -> ThinkReply:
    """Call ``think`` without blocking the event loop and normalise its answer."""
    if inspect.iscoroutinefunction(think) or not getattr(think, "blocking", True):
        result: Any = think(request)
    else:
        result = await asyncio.to_thread(think, request)
    if inspect.isawaitable(result):
        result = await result
    if isinstance(result, str):
        return ThinkReply(text=result)
    if not isinstance(result, ThinkReply):
        raise TypeError(f"a think step must return ThinkReply or str, got {type(result).__name__}")
    return result


# --- built-ins ------------------------------------------------------------------------------


def echo(request: ThinkRequest) -> ThinkReply:
    """Answer ``"You said: <the user's words>"``."""
    return ThinkReply(text=f"You said: {request.user_text}")


echo.blocking = False  # type: ignore[attr-defined]

# Words that say nothing about *which* function is meant ("get_weather" is about "weather").
_GENERIC = frozenset(
    (  # noqa: SIM905 - a word list reads better as text
        "get set check fetch find lookup look up the a an of for to by info information data "
        "current my do make create list show tell query search retrieve read update run call"
    ).split()
)
_LOCATION_PROPS = frozenset(
    {"location", "city", "place", "destination", "origin", "address", "country", "region", "town"}
)
_PLACE_WORDS = ("in", "at", "for", "near")
_WORD = re.compile(r"[A-Za-z0-9']+")
_CAMEL = re.compile(r"(?<=[a-z0-9])(?=[A-Z])")


def _singular(word: str) -> str:
    return word[:-1] if len(word) > 3 and word.endswith("s") and not word.endswith("ss") else word


def _name_words(name: str) -> list[str]:
    """The significant lower-case words of a function or property name."""
    words = [w.lower() for part in re.split(r"[^A-Za-z0-9]+", name) for w in _CAMEL.split(part)]
    words = [w for w in words if w]
    significant = [w for w in words if w not in _GENERIC]
    return significant or words


def _mentions(spec: FunctionSpec, words: set[str]) -> bool:
    return any(w in words or _singular(w) in words for w in _name_words(spec.name))


def _tokens(text: str) -> list[str]:
    return _WORD.findall(text)


_PLACE_END = frozenset(
    [
        "today",
        "tomorrow",
        "tonight",
        "now",
        "right",
        "please",
        "this",
        "next",
        "and",
        "or",
        "but",
        "then",
        "on",
        "at",
        "in",
        "for",
        "near",
        "with",
        "to",
        "from",
        "is",
        "are",
        "was",
        "will",
        "be",
        "the",
        "a",
        "an",
        "it",
        "there",
        "here",
    ]
)
"""Lower-case words that end a place name in an uncapitalised transcript."""


def _place_after(tokens: list[str]) -> str | None:
    """The place named after "in" / "at" / "for" / "near": the next word plus the capitalised
    words that follow it ("in New York" -> "New York"), or, in a transcript without capitals
    (as speech recognisers write it), up to two more words before a word such as "today" or
    "please" ("in new york today" -> "new york")."""
    lowered = [t.lower() for t in tokens]
    uncapitalised = all(t == t.lower() for t in tokens)
    for marker in _PLACE_WORDS:
        for i in range(len(tokens) - 2, -1, -1):
            if lowered[i] != marker:
                continue
            words = [tokens[i + 1]]
            for token in tokens[i + 2 :]:
                if uncapitalised:
                    if len(words) == 3 or token in _PLACE_END or not token.isalpha():
                        break
                elif not token[:1].isupper():
                    break
                words.append(token)
            return " ".join(words)
    return None


def _number(tokens: list[str]) -> str | None:
    for token in tokens:
        if token.isdigit():
            return token
    return None


def extract_arguments(spec: FunctionSpec, text: str) -> dict[str, Any]:
    """Arguments for ``spec`` taken from ``text`` by simple rules, one property at a time:

    * a property with an ``enum``: the first enum value the text names;
    * a place-like property (``location``, ``city``, ``destination``...): the words after "in" /
      "at" / "for" / "near";
    * a number (``integer`` / ``number`` type, or a name ending in ``id`` / ``number``): the
      first number in the text (an ``int`` for ``integer``, a ``float`` for ``number``, else
      the digits as written);
    * any other ``string`` property whose name the text mentions: the word after it.

    Properties the text says nothing about are left out.
    """
    properties = spec.parameters.get("properties") if isinstance(spec.parameters, Mapping) else None
    if not isinstance(properties, Mapping):
        return {}
    tokens = _tokens(text)
    lowered = [t.lower() for t in tokens]
    out: dict[str, Any] = {}
    for prop, schema in properties.items():
        schema = schema if isinstance(schema, Mapping) else {}
        kind = schema.get("type")
        enum = schema.get("enum")
        words = _name_words(prop)
        value: Any = None
        if isinstance(enum, list):
            for option in enum:
                if isinstance(option, str) and option.lower() in lowered:
                    value = option
                    break
        elif prop.lower() in _LOCATION_PROPS or any(w in _LOCATION_PROPS for w in words):
            value = _place_after(tokens)
        elif kind in ("integer", "number") or words[-1:] in (["id"], ["number"]):
            digits = _number(tokens)
            if digits is not None:
                value = int(digits) if kind == "integer" else digits
                value = float(digits) if kind == "number" else value
        elif kind in (None, "string"):
            for i, token in enumerate(lowered[:-1]):
                if token in words or _singular(token) in words:
                    value = tokens[i + 1]
                    break
        if value is not None:
            out[prop] = value
    return out


def _render(content: str) -> str:
    try:
        data = json.loads(content)
    except ValueError:
        return content
    if isinstance(data, Mapping):
        return ", ".join(f"{key} {_render_value(value)}" for key, value in data.items())
    return _render_value(data)


def _render_value(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(", ", ": "))


def rules(request: ThinkRequest) -> ThinkReply:
    """Call the declared function the user's words name, then answer with its result; else
    echo (see the module docstring)."""
    if request.results:
        parts = [f"{' '.join(_name_words(r.name))}: {_render(r.content)}" for r in request.results]
        text = "; ".join(parts)
        return ThinkReply(text=text[:1].upper() + text[1:] + ".")
    text = request.user_text
    words = {t.lower() for t in _tokens(text)} | {_singular(t.lower()) for t in _tokens(text)}
    for spec in request.functions:
        if _mentions(spec, words):
            arguments = extract_arguments(spec, text)
            shown = json.dumps(arguments, sort_keys=True)
            return ThinkReply(
                calls=(Call(spec.name, arguments),),
                thinking=f"The user asked about {' '.join(_name_words(spec.name))}: "
                f"calling {spec.name} with {shown}.",
            )
    return echo(request)


rules.blocking = False  # type: ignore[attr-defined]

_BUILTINS: dict[str, Think] = {"echo": echo, "rules": rules}


def think_names() -> tuple[str, ...]:
    """The names :func:`get_think` knows."""
    return tuple(sorted(_BUILTINS))


def get_think(think: str | Think) -> Think:
    """``think`` itself if callable, else the built-in of that name (``ValueError`` if unknown)."""
    if callable(think):
        return think
    found = _BUILTINS.get(think)
    if found is None:
        raise ValueError(f"unknown think step {think!r} (known: {', '.join(think_names())})")
    return found


def simulate_server_function(name: str, arguments: Mapping[str, Any]) -> str:
    """The canned result of a server-side function (one declared with an ``endpoint``): the
    arguments echoed with ``"result": "ok"``, as JSON text. Nothing is called."""
    return json.dumps({**arguments, "result": "ok"})
