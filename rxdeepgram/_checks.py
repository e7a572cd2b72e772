"""Checks of configured numbers: every duration, count and size a user configures goes through
one of these, so ``inf``, ``nan``, negative numbers and booleans are refused where they are
given, with an error naming the option (``ConfigurationError`` for client and connection
settings, ``InvalidOptionError`` for operator arguments).
"""

from __future__ import annotations

import math

from .errors import ConfigurationError, InvalidOptionError

__all__ = ["check_count", "check_seconds", "check_seconds_option"]


def _number(value: object) -> float | None:
    """``value`` as a float if it is a real, finite number (not a bool), else ``None``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def check_seconds(name: str, value: object, *, zero: bool = False) -> float:
    """A duration in seconds: finite, ``> 0`` (``>= 0`` with ``zero``). Raises
    :class:`ConfigurationError` naming ``name``."""
    number = _number(value)
    if number is None or number < 0 or (number == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise ConfigurationError(
            f"{name} must be a finite number of seconds {bound}, got {value!r}"
        )
    return number


def check_count(name: str, value: object, *, minimum: int = 1) -> int:
    """A count or size: an ``int`` (not a bool) ``>= minimum``. Raises
    :class:`ConfigurationError` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return value


def check_seconds_option(name: str, value: object, *, zero: bool = False) -> float:
    """:func:`check_seconds` for an operator's argument: raises :class:`InvalidOptionError`."""
    number = _number(value)
    if number is None or number < 0 or (number == 0 and not zero):
        bound = ">= 0" if zero else "> 0"
        raise InvalidOptionError(name, value, f"must be a finite number of seconds {bound}")
    return number
