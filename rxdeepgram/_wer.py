"""Word error rate: how far a transcript is from a reference, counted in words.

Both texts are normalised first (:func:`normalize_words`) so that spelling choices which do not
change what was said do not count as errors: case, punctuation, hyphenation, curly apostrophes and
digits (``"42"`` and ``"forty two"`` are the same words). Then the word-level Levenshtein distance
(substitutions + deletions + insertions) is divided by the number of reference words.

Used by the tests and benchmarks of the local server's ``local`` (pocketsphinx) engine, and handy
for anyone comparing the transcripts of two engines.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

__all__ = ["WordErrors", "normalize_words", "number_to_words", "word_errors", "word_error_rate"]

_ONES = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["_", "_", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SCALES = ((10**12, "trillion"), (10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_ORDINAL_IRREGULAR = {
    "one": "first",
    "two": "second",
    "three": "third",
    "five": "fifth",
    "eight": "eighth",
    "nine": "ninth",
    "twelve": "twelfth",
}

# A number token: digits with optional thousands separators and decimals, or an ordinal.
_NUMBER = re.compile(r"^(\d{1,3}(?:,\d{3})+|\d+)(?:\.(\d+))?(st|nd|rd|th)?$")
# Anything that is neither a word character, an apostrophe nor a digit separator splits words.
_SEPARATORS = re.compile(r"[^\w'.,]+")
_SYMBOLS = {"%": " percent ", "&": " and ", "+": " plus ", "@": " at "}
_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "`": "'"})


def _below_thousand(n: int) -> list[str]:
    words: list[str] = []
    hundreds, rest = divmod(n, 100)
    if hundreds:
        words += [_ONES[hundreds], "hundred"]
    if rest >= 20:
        tens, ones = divmod(rest, 10)
        words.append(_TENS[tens])
        if ones:
            words.append(_ONES[ones])
    elif rest or not words:
        words.append(_ONES[rest])
    return words


def number_to_words(n: int) -> list[str]:
    """Spell a non-negative integer as spoken English words, e.g. ``1905`` ->
    ``["one", "thousand", "nine", "hundred", "five"]`` (no "and", as recognisers write it)."""
    if n < 0:
        raise ValueError(f"number_to_words needs a non-negative integer, got {n}")
    if n < 1000:
        return _below_thousand(n)
    words: list[str] = []
    for value, name in _SCALES:
        if n >= value:
            count, n = divmod(n, value)
            words += [*number_to_words(count), name]
    if n:
        words += _below_thousand(n)
    return words


def _ordinal(words: list[str]) -> list[str]:
    last = words[-1]
    if last in _ORDINAL_IRREGULAR:
        last = _ORDINAL_IRREGULAR[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return [*words[:-1], last]


def _spell_token(token: str) -> list[str]:
    match = _NUMBER.match(token)
    if match is None:
        return [token]
    integer, decimals, suffix = match.groups()
    words = number_to_words(int(integer.replace(",", "")))
    if decimals is not None:
        words += ["point", *(_ONES[int(d)] for d in decimals)]
    elif suffix is not None:
        words = _ordinal(words)
    return words


def normalize_words(text: str) -> list[str]:
    """The words of ``text`` as compared by :func:`word_error_rate`.

    Lower-cased; accents kept but Unicode normalised (NFKC); curly apostrophes made straight;
    punctuation and hyphens split words or are dropped (``"check-in,"`` -> ``check in``);
    apostrophes inside words kept (``don't``); numbers spelled out (``"42"`` -> ``forty two``,
    ``"3.5"`` -> ``three point five``, ``"21st"`` -> ``twenty first``, ``"1,000"`` ->
    ``one thousand``); ``%``, ``&``, ``+`` and ``@`` read as words.
    """
    text = unicodedata.normalize("NFKC", text).lower().translate(_APOSTROPHES)
    for symbol, spoken in _SYMBOLS.items():
        text = text.replace(symbol, spoken)
    words: list[str] = []
    for raw in _SEPARATORS.split(text):
        # Keep "." and "," only inside numbers ("3.5", "1,000"); elsewhere they end a word.
        for piece in re.split(r"(?<!\d)[.,]|[.,](?!\d)", raw):
            token = piece.strip("'_")
            if token:
                words += _spell_token(token)
    return words


class WordErrors(NamedTuple):
    """The word-level edit operations that turn a reference into a hypothesis."""

    substitutions: int
    deletions: int
    insertions: int
    reference_words: int

    @property
    def errors(self) -> int:
        """Substitutions + deletions + insertions."""
        return self.substitutions + self.deletions + self.insertions

    @property
    def rate(self) -> float:
        """``errors / reference_words``; for an empty reference 0.0 if nothing was inserted,
        else 1.0."""
        if self.reference_words == 0:
            return 0.0 if self.insertions == 0 else 1.0
        return self.errors / self.reference_words


def word_errors(reference: str, hypothesis: str) -> WordErrors:
    """Count the substitutions, deletions and insertions between the normalised words of
    ``reference`` and ``hypothesis`` along one minimum-cost alignment (each operation costs 1;
    among equal-cost alignments substitutions are preferred, then deletions)."""
    ref = normalize_words(reference)
    hyp = normalize_words(hypothesis)
    # Each cell holds (cost, substitutions, deletions, insertions) for ref[:i] -> hyp[:j].
    previous = [(j, 0, 0, j) for j in range(len(hyp) + 1)]
    for i, ref_word in enumerate(ref, start=1):
        current = [(i, 0, i, 0)]
        for j, hyp_word in enumerate(hyp, start=1):
            diag = previous[j - 1]
            if ref_word == hyp_word:
                best = diag
            else:
                sub = (diag[0] + 1, diag[1] + 1, diag[2], diag[3])
                up = previous[j]
                dele = (up[0] + 1, up[1], up[2] + 1, up[3])
                left = current[j - 1]
                ins = (left[0] + 1, left[1], left[2], left[3] + 1)
                best = min(sub, dele, ins, key=lambda cell: cell[0])
            current.append(best)
        previous = current
    _, substitutions, deletions, insertions = previous[-1]
    return WordErrors(substitutions, deletions, insertions, len(ref))


def word_error_rate(reference: str, hypothesis: str) -> float:
    """``(substitutions + deletions + insertions) / reference words`` after
    :func:`normalize_words`; 0.0 is a perfect transcript and the rate can exceed 1.0 when the
    hypothesis inserts words. An empty reference gives 0.0 for an empty hypothesis, else 1.0."""
    return word_errors(reference, hypothesis).rate
