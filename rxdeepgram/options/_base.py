"""The machinery behind the typed connect options: one table per channel, three uses.

Each channel declares its options as a frozen dataclass (see :mod:`.listen_v1`,
:mod:`.listen_v2`, :mod:`.speak_v1`). The dataclass *is* the table: :func:`finalize` reads each
field's annotation (``bool``, ``int``, ``float``, ``str``, a ``Literal`` enum, ``list[...]`` for a
repeatable parameter, ``int | Literal[False]`` for ``endpointing``) and its metadata (ranges,
known values, per-item checks, written with :func:`meta`) once, at import, into a
:class:`Param` per field, exposed as ``FIELDS``. The same :class:`Param` objects then drive

* validation and coercion (``__post_init__``, so ``from_kwargs``, ``from_query`` and plain
  construction all run the same rules),
* encoding to the wire (``to_query`` / ``query_string``, README §4 of the protocol notes),
* parsing from the wire (``from_query``, for the local server), which is nothing more than
  handing the wire strings to the same coercion, because seed-style strings (``"true"``,
  ``"16000"``) are accepted from users anyway.

Equality and hashing compare what would be sent (``to_query()``), so ``endpointing=0`` and
``endpointing=False`` differ, and options holding lists are still hashable.
"""

from __future__ import annotations

import dataclasses
import difflib
import enum
import math
import numbers
import operator
import re
import types
import typing
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal
from types import MappingProxyType
from typing import Any, ClassVar, Literal, Self, TypeAlias, TypeVar
from urllib.parse import parse_qsl, urlencode

from ..errors import InvalidOptionError

__all__ = [
    "ExtraQuery",
    "OptionsBase",
    "Param",
    "ParamKind",
    "QueryScalar",
    "finalize",
    "format_number",
    "meta",
    "query_pairs",
]

QueryScalar: TypeAlias = str | int | float | bool
"""A value that can be written into a query string."""

ExtraQuery: TypeAlias = Mapping[str, QueryScalar | Sequence[QueryScalar] | None]
"""Parameters the library does not model: name -> value (or a sequence, sent as repeated keys).

After validation it holds wire strings only: ``str`` for one value, ``list[str]`` for several.
"""

ParamKind = Literal["bool", "int", "float", "str", "endpointing"]

_META_KEY = "rxdeepgram.option"
_INT_RE = re.compile(r"[+-]?[0-9]+")
_FLOAT_RE = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_BOOL_ALLOWED = (True, False)


def format_number(value: float) -> str:
    """Write a number the way Deepgram expects it in a URL: plain decimal, no exponent.

    Whole numbers lose their ``.0`` (``16000``, ``1``); other floats keep their shortest exact
    representation (``0.7``, ``0.00001``).
    """
    if isinstance(value, bool):
        raise TypeError("a bool is not a number here")
    if isinstance(value, numbers.Integral):
        return str(int(value))
    number = float(value)
    if not math.isfinite(number):
        raise ValueError(f"{number!r} cannot be written in a query string")
    if number.is_integer():
        return str(int(number))
    return format(Decimal(repr(number)), "f")


def _wire_scalar(value: object) -> str:
    """The wire text of a scalar (bool, number or string); ``TypeError`` for anything else."""
    if isinstance(value, enum.Enum):
        value = value.value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, numbers.Real):
        return format_number(float(value) if not isinstance(value, int) else value)
    raise TypeError(type(value).__name__)


def query_pairs(params: Mapping[str, object], *, option: str) -> list[tuple[str, str]]:
    """Query pairs of parameters sent as given (a channel without typed options, e.g. the
    agent): scalars as :data:`QueryScalar` text, sequences repeat their key, ``None`` is left
    out. A bad name or value raises :class:`~rxdeepgram.errors.InvalidOptionError` naming
    ``option``."""
    out: list[tuple[str, str]] = []
    for key, value in params.items():
        if not isinstance(key, str) or not key:
            raise InvalidOptionError(option, key, "parameter names must be non-empty strings")
        out.extend((key, text) for text in wire_values(option, key, value))
    return out


def wire_values(option: str, key: str, value: object) -> list[str]:
    """The query texts of one parameter sent as given: a scalar is one, a sequence repeats its
    key, ``None`` is none. A bad value raises :class:`~rxdeepgram.errors.InvalidOptionError`
    naming ``option``."""
    if value is None:
        return []
    items: Sequence[object]
    if isinstance(value, (str, bytes, bytearray)) or not isinstance(value, Sequence):
        items = [value]
    else:
        items = value
    try:
        return [_wire_scalar(item) for item in items]
    except (TypeError, ValueError):
        raise InvalidOptionError(
            option,
            {key: value},
            "values must be strings, finite numbers, bools or sequences of them",
        ) from None


def _suggest(word: str, candidates: Iterable[str]) -> str:
    """``"; did you mean 'x'?"`` for the closest candidate (ignoring case), or ``""``."""
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f"; did you mean {by_lower[close[0]]!r}?" if close else ""


@dataclasses.dataclass(frozen=True)
class _Meta:
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    known: tuple[str, ...] | None = None
    pattern: re.Pattern[str] | None = None
    pairs: bool = False
    check: Callable[[Any], str | None] | None = None


def meta(
    *,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    known: Sequence[str] | None = None,
    pattern: str | None = None,
    pairs: bool = False,
    check: Callable[[Any], str | None] | None = None,
) -> Mapping[str, object]:
    """Field metadata for an option: what its annotation cannot say.

    ``ge`` / ``gt`` / ``le`` bound a number. ``known`` lists the documented values of an *open*
    set (other values are accepted; close misspellings of known values are still suggested in
    errors); with ``pattern``, a value outside ``known`` must match the regular expression.
    ``pairs`` lets a repeatable ``key:value`` option take a mapping. ``check`` is called with
    each parsed value (each item, for a repeatable) and returns a problem or ``None``.
    """
    return {
        _META_KEY: _Meta(
            ge=ge,
            gt=gt,
            le=le,
            known=tuple(known) if known is not None else None,
            pattern=re.compile(pattern) if pattern is not None else None,
            pairs=pairs,
            check=check,
        )
    }


@dataclasses.dataclass(frozen=True)
class Param:
    """One query parameter of a channel: how it is parsed, checked and written.

    Built from the options dataclass at import (see :func:`finalize`); also usable on its own
    for parameters outside the dataclass (``PASSTHROUGH``).
    """

    name: str
    kind: ParamKind
    required: bool = False
    repeatable: bool = False
    choices: tuple[str | int, ...] | None = None
    """The closed set of allowed values (from a ``Literal`` annotation), if any."""
    known: tuple[str, ...] | None = None
    """The documented values of an open set (see :func:`meta`)."""
    pattern: re.Pattern[str] | None = None
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    pairs: bool = False
    check: Callable[[Any], str | None] | None = None

    # -- errors ------------------------------------------------------------------------------

    def _error(
        self, value: object, problem: str, allowed: Sequence[object] | None = None
    ) -> InvalidOptionError:
        return InvalidOptionError(self.name, value, problem, allowed)

    @property
    def allowed(self) -> tuple[object, ...] | None:
        """What an error lists as allowed: the enum, the known values, or ``None``."""
        if self.kind == "bool":
            return _BOOL_ALLOWED
        if self.choices is not None:
            return self.choices
        if self.known is not None and self.pattern is not None:
            return self.known
        return None

    def describe_range(self) -> str:
        """``">= 1"``, ``"between 0.3 and 0.9"``... or ``""`` when unbounded."""
        low = self.ge if self.ge is not None else self.gt
        if low is not None and self.le is not None:
            return f"between {format_number(low)} and {format_number(self.le)}"
        if self.ge is not None:
            return f">= {format_number(self.ge)}"
        if self.gt is not None:
            return f"> {format_number(self.gt)}"
        if self.le is not None:
            return f"<= {format_number(self.le)}"
        return ""

    # -- parsing -----------------------------------------------------------------------------

    def coerce(self, value: object) -> Any:
        """Validate ``value`` (a Python value or its wire string) and return the typed value.

        ``None`` means unset (an error for a required option). A repeatable option takes one
        value or a sequence (a mapping too, for ``pairs``) and returns a ``list`` (``None`` when
        empty). Raises :class:`~rxdeepgram.errors.InvalidOptionError`.
        """
        if value is None:
            if self.required:
                raise self._error(None, "is required", self.allowed)
            return None
        if not self.repeatable:
            return self._item(value)
        items: list[object]
        if isinstance(value, Mapping):
            if not self.pairs:
                raise self._error(value, "expected a value or a list of values, not a mapping")
            items = [self._pair(value, key, item) for key, item in value.items()]
        elif isinstance(value, (str, bytes, bytearray)) or not isinstance(value, Sequence):
            items = [value]
        else:
            items = list(value)
        parsed = [self._item(item) for item in items]
        return parsed or None

    def _pair(self, whole: object, key: object, value: object) -> str:
        if not isinstance(key, str) or not key:
            raise self._error(whole, f"mapping keys must be non-empty strings, got {key!r}")
        try:
            return f"{key}:{_wire_scalar(value)}"
        except (TypeError, ValueError):
            raise self._error(
                whole, f"mapping values must be strings, numbers or bools, got {value!r}"
            ) from None

    def _item(self, value: object) -> Any:
        if isinstance(value, enum.Enum):
            value = value.value
        parsed: Any
        if self.kind == "bool":
            parsed = self._parse_bool(value)
        elif self.kind == "int":
            parsed = self._parse_int(value)
        elif self.kind == "float":
            parsed = self._parse_float(value)
        elif self.kind == "endpointing":
            if value is False or value == "false":
                return False
            if value is True or value == "true":
                raise self._error(
                    value, "give a number of milliseconds (an int >= 0) or False to disable"
                )
            parsed = self._parse_int(value)
        else:
            parsed = self._parse_str(value)
        if self.choices is not None and parsed not in self.choices:
            hint = "" if self.kind == "int" else _suggest(parsed, map(str, self.choices))
            raise self._error(value, f"not an allowed value{hint}", self.choices)
        if (
            self.pattern is not None
            and self.known is not None
            and parsed not in self.known
            and not self.pattern.fullmatch(parsed)
        ):
            hint = _suggest(parsed, self.known)
            shape = self.pattern.pattern
            raise self._error(
                value, f"not a known value nor shaped like one ({shape}){hint}", self.known
            )
        if isinstance(parsed, (int, float)) and not isinstance(parsed, bool):
            self._check_range(value, parsed)
        if self.check is not None:
            trouble = self.check(parsed)
            if trouble is not None:
                raise self._error(value, trouble, self.allowed)
        return parsed

    def _check_range(self, value: object, number: float) -> None:
        if (
            (self.ge is not None and number < self.ge)
            or (self.gt is not None and number <= self.gt)
            or (self.le is not None and number > self.le)
        ):
            raise self._error(value, f"must be {self.describe_range()}")

    def _parse_bool(self, value: object) -> bool:
        if isinstance(value, bool):
            return value
        if value == "true":
            return True
        if value == "false":
            return False
        raise self._error(
            value, "expected a bool (True / False, or the strings 'true' / 'false')", _BOOL_ALLOWED
        )

    def _parse_int(self, value: object) -> int:
        if isinstance(value, str):
            if _INT_RE.fullmatch(value):
                return int(value)
        elif not isinstance(value, bool) and isinstance(value, numbers.Integral):
            return operator.index(value)
        bounds = self.describe_range()
        raise self._error(value, "expected an integer" + (f" {bounds}" if bounds else ""), None)

    def _parse_float(self, value: object) -> float:
        number: float | None = None
        if isinstance(value, str):
            if _FLOAT_RE.fullmatch(value):
                number = float(value)
        elif not isinstance(value, bool) and isinstance(value, numbers.Real):
            number = float(value)
        if number is None or not math.isfinite(number):
            bounds = self.describe_range()
            raise self._error(value, "expected a number" + (f" {bounds}" if bounds else ""))
        return number

    def _parse_str(self, value: object) -> str:
        if isinstance(value, bool) and self.choices is not None:
            wire = "true" if value else "false"
            if wire in self.choices:
                return wire
        if not isinstance(value, str):
            raise self._error(value, "expected a string", self.allowed)
        if not value:
            raise self._error(value, "must not be empty", self.allowed)
        return value

    # -- writing -----------------------------------------------------------------------------

    def encode(self, value: Any) -> list[str]:
        """The wire strings for a validated value (one per repeated key)."""
        if value is None:
            return []
        if self.repeatable:
            return [_wire_scalar(item) for item in value]
        return [_wire_scalar(value)]


# --- building the table from the dataclass ------------------------------------------------


def _strip_optional(tp: Any) -> Any:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = tuple(a for a in typing.get_args(tp) if a is not type(None))
        if len(args) == 1:
            return args[0]
        return typing.Union[args]  # noqa: UP007  (rebuilding a union from a tuple at runtime)
    return tp


def _kind_of(name: str, tp: Any) -> tuple[ParamKind, tuple[str | int, ...] | None]:
    if tp is bool:
        return "bool", None
    if tp is int:
        return "int", None
    if tp is float:
        return "float", None
    if tp is str:
        return "str", None
    origin = typing.get_origin(tp)
    if origin is Literal:
        values: tuple[Any, ...] = typing.get_args(tp)
        if all(isinstance(v, str) for v in values):
            return "str", values
        if all(isinstance(v, int) and not isinstance(v, bool) for v in values):
            return "int", values
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        if len(args) == 2 and int in args:
            other = args[0] if args[1] is int else args[1]
            if typing.get_origin(other) is Literal and typing.get_args(other) == (False,):
                return "endpointing", None
    raise TypeError(f"option {name!r}: unsupported annotation {tp!r}")


def _param_of(field: dataclasses.Field[Any], tp: Any) -> Param:
    tp = _strip_optional(tp)
    repeatable = typing.get_origin(tp) is list
    if repeatable:
        (tp,) = typing.get_args(tp)
    kind, choices = _kind_of(field.name, tp)
    extra = field.metadata.get(_META_KEY, _Meta())
    assert isinstance(extra, _Meta)
    required = field.default is dataclasses.MISSING and field.default_factory is dataclasses.MISSING
    return Param(
        name=field.name,
        kind=kind,
        required=required,
        repeatable=repeatable,
        choices=choices,
        known=extra.known,
        pattern=extra.pattern,
        ge=extra.ge,
        gt=extra.gt,
        le=extra.le,
        pairs=extra.pairs,
        check=extra.check,
    )


_O = TypeVar("_O", bound="OptionsBase")


def finalize(cls: type[_O]) -> type[_O]:
    """Class decorator (outermost, above ``@dataclass``): build ``cls.FIELDS`` from the fields."""
    hints = typing.get_type_hints(cls)
    params = {
        f.name: _param_of(f, hints[f.name])
        for f in dataclasses.fields(cls)
        if f.name != "extra_query"
    }
    overlap = set(params) & set(cls.PASSTHROUGH)
    if overlap:
        raise TypeError(f"{cls.__name__}: PASSTHROUGH repeats fields {sorted(overlap)}")
    cls.FIELDS = MappingProxyType(params)
    return cls


# --- the options base class ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True, kw_only=True, eq=False, repr=False)
class OptionsBase:
    """Base of ``ListenV1Options``, ``ListenV2Options`` and ``SpeakV1Options``.

    Every instance is valid: construction coerces and checks each field, ``extra_query`` and
    the cross-field rules, raising :class:`~rxdeepgram.errors.InvalidOptionError`.
    ``dataclasses.replace(opts, ...)`` therefore validates too.
    """

    CHANNEL: ClassVar[str] = ""
    """Human name of the channel (``"Listen V1"``), used in messages."""
    FIELDS: ClassVar[Mapping[str, Param]] = MappingProxyType({})
    """The channel's query parameters, in the order they are written."""
    PASSTHROUGH: ClassVar[Mapping[str, Param]] = MappingProxyType({})
    """Parameters outside the current spec that are still accepted as keywords (validated,
    then carried in ``extra_query``), e.g. the seed SDK's ``filler_words`` on Listen V1."""

    extra_query: ExtraQuery | None = None
    """Parameters the library does not know yet, sent as given (after the known ones)."""

    # -- validation --------------------------------------------------------------------------

    def __post_init__(self) -> None:
        cls = type(self)
        for name, param in cls.FIELDS.items():
            raw = getattr(self, name)
            value = param.coerce(raw)
            if value is not raw:
                object.__setattr__(self, name, value)
        object.__setattr__(self, "extra_query", self._normalize_extra(self.extra_query))
        self._check()

    def _check(self) -> None:
        """Cross-field rules of the channel; overridden where there are some."""

    @classmethod
    def _normalize_extra(cls, extra: object) -> dict[str, str | list[str]] | None:
        if extra is None:
            return None
        if not isinstance(extra, Mapping):
            raise InvalidOptionError(
                "extra_query", extra, "expected a mapping of parameter name to value"
            )
        out: dict[str, str | list[str]] = {}
        for key, value in extra.items():
            if not isinstance(key, str) or not key:
                raise InvalidOptionError(
                    "extra_query", key, "parameter names must be non-empty strings"
                )
            if key in cls.FIELDS:
                raise InvalidOptionError(
                    "extra_query",
                    key,
                    f"{key!r} is a known {cls.CHANNEL} option; pass it as {key}=... "
                    "instead of through extra_query",
                )
            passthrough = cls.PASSTHROUGH.get(key)
            wire: list[str]
            if passthrough is not None:
                wire = passthrough.encode(passthrough.coerce(value))
            else:
                wire = wire_values("extra_query", key, value)
            if len(wire) == 1:
                out[key] = wire[0]
            elif wire:
                out[key] = wire
        return out or None

    # -- constructors ------------------------------------------------------------------------

    @classmethod
    def _unknown(cls, name: str, value: object, what: str) -> InvalidOptionError:
        hint = _suggest(name, [*cls.FIELDS, *cls.PASSTHROUGH])
        return InvalidOptionError(
            name,
            value,
            f"unknown {cls.CHANNEL} {what}{hint} (to send a parameter the library does not "
            f"know yet, use extra_query={{{name!r}: ...}})",
            sorted([*cls.FIELDS, *cls.PASSTHROUGH]),
        )

    @classmethod
    def _build(cls, fields: dict[str, Any], extra: dict[str, Any]) -> Self:
        for name, param in cls.FIELDS.items():
            if param.required:
                fields.setdefault(name, None)
        return cls(**fields, extra_query=extra or None)

    @classmethod
    def from_kwargs(cls, **kwargs: Any) -> Self:
        """Validate and coerce what a user passes to ``connect(...)``.

        Python values and the seed SDK's strings are both accepted (``interim_results=True`` or
        ``"true"``, ``sample_rate=16000`` or ``"16000"``); repeatable options take one value or
        a list; ``None`` means unset. An unknown keyword raises
        :class:`~rxdeepgram.errors.InvalidOptionError` with the closest known name.
        """
        extra_arg = kwargs.pop("extra_query", None)
        if extra_arg is not None and not isinstance(extra_arg, Mapping):
            raise InvalidOptionError(
                "extra_query", extra_arg, "expected a mapping of parameter name to value"
            )
        extra: dict[str, Any] = dict(extra_arg) if extra_arg is not None else {}
        fields: dict[str, Any] = {}
        for name, value in kwargs.items():
            if name in cls.FIELDS:
                fields[name] = value
            elif name in cls.PASSTHROUGH:
                if value is None:
                    continue
                if name in extra:
                    raise InvalidOptionError(
                        name, value, "given both as a keyword and in extra_query"
                    )
                extra[name] = value
            else:
                raise cls._unknown(name, value, "option")
        return cls._build(fields, extra)

    @classmethod
    def from_query(cls, pairs: Iterable[tuple[str, str]], *, strict: bool = True) -> Self:
        """Parse decoded query pairs (as the local server receives them) with the same rules.

        A repeatable parameter may repeat its key; any other parameter given twice is an error.
        Unknown keys raise :class:`~rxdeepgram.errors.InvalidOptionError` when ``strict``, and
        are kept in ``extra_query`` otherwise.
        """
        grouped: dict[str, list[str]] = {}
        for key, value in pairs:
            grouped.setdefault(key, []).append(value)
        fields: dict[str, Any] = {}
        extra: dict[str, Any] = {}
        for key, values in grouped.items():
            param = cls.FIELDS.get(key)
            if param is None:
                if strict and key not in cls.PASSTHROUGH:
                    raise cls._unknown(key, values[0], "query parameter")
                extra[key] = values if len(values) > 1 else values[0]
            elif param.repeatable:
                fields[key] = values
            elif len(values) > 1:
                raise InvalidOptionError(
                    key, values, f"given {len(values)} times; it takes a single value"
                )
            else:
                fields[key] = values[0]
        return cls._build(fields, extra)

    @classmethod
    def from_query_string(cls, query: str, *, strict: bool = True) -> Self:
        """:meth:`from_query` on an encoded query string (a leading ``?`` is allowed)."""
        pairs = parse_qsl(query.removeprefix("?"), keep_blank_values=True)
        return cls.from_query(pairs, strict=strict)

    # -- output ------------------------------------------------------------------------------

    def to_query(self) -> list[tuple[str, str]]:
        """The query pairs to send, in table order then ``extra_query`` order.

        Unset options are omitted, bools are ``true`` / ``false``, lists repeat their key,
        numbers are plain decimals (``16000``, ``0.7``), ``endpointing=False`` is ``false``.
        """
        out: list[tuple[str, str]] = []
        for name, param in type(self).FIELDS.items():
            out.extend((name, text) for text in param.encode(getattr(self, name)))
        if self.extra_query:
            for key, value in self.extra_query.items():
                if isinstance(value, str):
                    out.append((key, value))
                else:  # normalised by __post_init__: a list of wire strings
                    out.extend((key, item) for item in typing.cast(list[str], value))
        return out

    def query_string(self) -> str:
        """The percent-encoded query (``application/x-www-form-urlencoded``), without ``?``.

        Spaces become ``+`` and colons ``%3A``, as in the protocol notes' worked example.
        """
        return urlencode(self.to_query())

    def to_dict(self) -> dict[str, Any]:
        """The options that are set, as typed Python values (``extra_query`` included if set)."""
        out = {
            name: getattr(self, name)
            for name in type(self).FIELDS
            if getattr(self, name) is not None
        }
        if self.extra_query:
            out["extra_query"] = dict(self.extra_query)
        return out

    # -- dunder ------------------------------------------------------------------------------

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        assert isinstance(other, OptionsBase)
        return self.to_query() == other.to_query()

    def __hash__(self) -> int:
        return hash((type(self), tuple(self.to_query())))

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value!r}" for name, value in self.to_dict().items())
        return f"{type(self).__name__}({shown})"
