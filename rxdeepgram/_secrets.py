"""Keeping credentials out of the wire's headers and out of everything a user can read.

Two jobs, done before and after the network:

* **Checks before dialling.** ``check_credential`` and ``check_headers`` refuse what cannot go
  into an HTTP header unchanged: a CR or LF (header injection: ``key\\r\\nX-Injected: yes``), NUL
  or another control character, a non-ASCII character; ``check_base_url`` refuses control
  characters, spaces and user info (``wss://user:key@host``) in ``base_url``. The
  ``ConfigurationError`` names the argument (and a header's name) and the position, never the
  value. Credentials are stripped of surrounding whitespace first: a key read from a file
  (``open("key.txt").read()``) ends with a newline, and no API key or token has whitespace at
  either end; whitespace inside one is refused. Header values are not stripped (a value is sent as
  given, so one that needs changing is refused instead).

* **Masking after.** :class:`Masker` masks secrets *by value* in text the library did not write
  itself (an error body or ``dg-error`` header a server echoed, an OS error, a proxy's status
  line, a close reason, a log record). A secret is looked for in the forms it can take on the
  wire: as given, percent-encoded (``quote``, ``quote_plus``) and base64 (standard and URL-safe,
  padding dropped). Plain text substitution of a short string would mangle unrelated words (a
  key ``k`` turned "not known" into "not ***nown"), so a form shorter than
  :data:`MIN_SUBSTRING` characters is masked only where it stands alone (not inside a longer run
  of the characters keys, tokens, base64 and URLs are made of). Header lines that carry
  credentials (``Authorization``, ``Proxy-Authorization``, ``Sec-WebSocket-Protocol``) are masked
  whatever their value. :func:`scrub` applies a masker to an exception: its message, its ``args``,
  its string attributes, and it cuts the ``__cause__`` / ``__context__`` chain where a linked
  exception would show a secret.
"""

from __future__ import annotations

import base64
import functools
import logging
import re
from collections.abc import Iterable, Mapping, MutableMapping
from typing import Any
from urllib.parse import quote, quote_plus, urlsplit

from .errors import ConfigurationError

__all__ = [
    "MASK",
    "MIN_SUBSTRING",
    "Masker",
    "RedactingLogger",
    "check_base_url",
    "check_credential",
    "check_header_value",
    "check_headers",
    "masker",
    "redact",
    "safe_url",
    "scrub",
    "secret_forms",
]

MASK = "***"

MIN_SUBSTRING = 8
"""A secret form at least this long is masked wherever it occurs; a shorter one only where it
stands alone (see the module docstring)."""

_WORD = "A-Za-z0-9._~+/=%-"
"""What keys, tokens, base64 and percent-encoded text are made of: a short secret inside a run
of these is part of something else."""

_HEADER_SECRET = re.compile(
    r"(?i)\b(authorization|sec-websocket-protocol|proxy-authorization)(\s*[:=]\s*)([^\r\n]*)"
)
_SCHEME_SECRET = re.compile(r"(?i)\b(token|bearer|basic)(\s+)([A-Za-z0-9._~+/=-]{16,})")
"""An authorization scheme followed by a credential-looking value (what an echoed header line
without its name looks like)."""

# -- before dialling ----------------------------------------------------------------------------

_TCHAR = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")


def _bad_char(value: str, *, allow_space: bool) -> int | None:
    """The index of the first character that cannot be sent in a header value, or ``None``."""
    for i, ch in enumerate(value):
        code = ord(ch)
        if code > 0x7E or code == 0x7F or (code < 0x20 and ch != "\t"):
            return i
        if not allow_space and ch in " \t":
            return i
    return None


def _describe(ch: str) -> str:
    names = {"\r": "a CR", "\n": "an LF", "\x00": "a NUL", " ": "a space", "\t": "a tab"}
    if ch in names:
        return names[ch]
    if ord(ch) > 0x7E:
        return "a non-ASCII character"
    return "a control character"


def check_credential(name: str, value: object) -> str:
    """``value`` stripped of surrounding whitespace; ``ConfigurationError`` (without the value)
    if it is not a non-empty string of visible ASCII characters."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{name} must be a string, got {type(value).__name__}")
    stripped = value.strip()
    if not stripped:
        raise ConfigurationError(f"{name} must be a non-empty string")
    bad = _bad_char(stripped, allow_space=False)
    if bad is not None:
        raise ConfigurationError(
            f"{name} contains {_describe(stripped[bad])} at position {bad} (after stripping "
            "surrounding whitespace): it cannot be sent in an HTTP header (the value is not shown)"
        )
    return stripped


def check_headers(headers: object, where: str) -> dict[str, str]:
    """A copy of ``headers`` after checking every name (an HTTP token) and value (no CR, LF or
    other control character, ASCII only); ``ConfigurationError`` names the header, not the
    value."""
    if headers is None:
        return {}
    if not isinstance(headers, Mapping):
        raise ConfigurationError(f"{where} must be a mapping of header name to value")
    out: dict[str, str] = {}
    for name, value in headers.items():
        if not isinstance(name, str) or not _TCHAR.fullmatch(name):
            shown = repr(name)[:60] if isinstance(name, str) else type(name).__name__
            raise ConfigurationError(f"{where}: {shown} is not a valid HTTP header name")
        out[name] = check_header_value(f"{where}[{name!r}]", value)
    return out


def check_header_value(where: str, value: object) -> str:
    """``value`` if it can be sent as a header value as given; else ``ConfigurationError``
    naming ``where`` (not the value)."""
    if not isinstance(value, str):
        raise ConfigurationError(f"{where} must be a string, got {type(value).__name__}")
    bad = _bad_char(value, allow_space=True)
    if bad is not None:
        raise ConfigurationError(
            f"{where} contains {_describe(value[bad])} at position {bad}: it cannot be sent in "
            "an HTTP header (the value is not shown)"
        )
    return value


def safe_url(url: str) -> str:
    """``url`` with any user info replaced by ``***`` (for messages)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return MASK
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{MASK}@{host}").geturl()


def check_base_url(url: str) -> None:
    """Refuse control characters, spaces, non-ASCII and user info in ``base_url``."""
    bad = _bad_char(url, allow_space=False)
    if bad is not None:
        raise ConfigurationError(
            f"base_url contains {_describe(url[bad])} at position {bad} (the value is not shown)"
        )
    if "@" in urlsplit(url).netloc:
        raise ConfigurationError(
            f"base_url must not carry credentials (user info, as in {safe_url(url)}): "
            "pass api_key= or access_token="
        )


# -- after --------------------------------------------------------------------------------------


def secret_forms(secret: str) -> set[str]:
    """``secret`` as given, percent-encoded and base64-encoded (standard and URL-safe): on its
    own, and inside a longer base64 text (at each of the three byte alignments, the characters
    that depend on the secret's bytes alone, when there are at least ``MIN_SUBSTRING``)."""
    raw = secret.encode("utf-8", "surrogatepass")
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret)}
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        forms.add(encode(raw).decode().rstrip("="))
        for shift in range(3):  # ``shift`` bytes of something else before the secret
            text = encode(bytes(shift) + raw).decode()
            core = text[-(-8 * shift // 6) : (8 * (shift + len(raw))) // 6]
            if len(core) >= MIN_SUBSTRING:
                forms.add(core)
    return {f for f in forms if f}


class Masker:
    """Masks a fixed set of secrets (see the module docstring). Immutable; cheap to apply."""

    __slots__ = ("_long", "_short")

    def __init__(self, secrets: Iterable[str]) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= secret_forms(secret)
        ordered = sorted(forms, key=len, reverse=True)  # the longest form first
        long = [re.escape(f) for f in ordered if len(f) >= MIN_SUBSTRING]
        short = [re.escape(f) for f in ordered if len(f) < MIN_SUBSTRING]
        self._long = re.compile("|".join(long)) if long else None
        self._short = (
            re.compile(f"(?<![{_WORD}])(?:{'|'.join(short)})(?![{_WORD}])") if short else None
        )

    def mask(self, text: str) -> str:
        text = _HEADER_SECRET.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
        text = _SCHEME_SECRET.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
        if self._long is not None:
            text = self._long.sub(MASK, text)
        if self._short is not None:
            text = self._short.sub(MASK, text)
        return text

    def __repr__(self) -> str:
        return "<Masker>"


@functools.lru_cache(maxsize=64)
def masker(secrets: tuple[str, ...]) -> Masker:
    """The (cached) :class:`Masker` of ``secrets``."""
    return Masker(secrets)


def _text_of(exc: BaseException) -> str:
    parts = [str(exc), repr(exc)]
    for value in vars(exc).values() if hasattr(exc, "__dict__") else ():
        if isinstance(value, str):
            parts.append(value)
    return "\n".join(parts)


def scrub(exc: BaseException, secrets: tuple[str, ...]) -> BaseException:
    """Mask ``secrets`` in ``exc`` (its ``args`` and string attributes, in place) and cut its
    ``__cause__`` / ``__context__`` chain at the first linked exception that would show one.
    Returns ``exc``."""
    if not secrets:
        return exc
    m = masker(secrets)
    exc.args = tuple(m.mask(a) if isinstance(a, str) else a for a in exc.args)
    if hasattr(exc, "__dict__"):
        for key, value in list(vars(exc).items()):
            if isinstance(value, str):
                setattr(exc, key, m.mask(value))
    link: BaseException = exc
    seen = {id(exc)}
    while True:
        nxt = link.__cause__ or link.__context__
        if nxt is None or id(nxt) in seen:
            break
        seen.add(id(nxt))
        text = _text_of(nxt)
        if m.mask(text) != text:
            link.__cause__ = None
            link.__context__ = None
            link.__suppress_context__ = True
            break
        link = nxt
    return exc


def redact(text: str, secrets: tuple[str, ...] = ()) -> str:
    """Mask credential-bearing header values and every known secret inside ``text`` (by value,
    in its plain, percent-encoded and base64 forms: see the module's docstring)."""
    return masker(tuple(secrets)).mask(text)


class RedactingLogger(logging.LoggerAdapter[logging.Logger]):
    """The logger handed to ``websockets``: its debug output shows request headers, so every
    record is rendered and stripped of credentials before it reaches a handler."""

    def __init__(self, logger: logging.Logger, secrets: tuple[str, ...]) -> None:
        super().__init__(logger, {})
        self._secrets = secrets

    def log(self, level: int, msg: object, *args: object, **kwargs: Any) -> None:
        if not self.isEnabledFor(level):
            return
        text = str(msg) % args if args else str(msg)
        kwargs.setdefault("stacklevel", 2)
        self.logger.log(level, "%s", redact(text, self._secrets), **kwargs)

    def process(
        self, msg: Any, kwargs: MutableMapping[str, Any]
    ) -> tuple[Any, MutableMapping[str, Any]]:
        return msg, kwargs
