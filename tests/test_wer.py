"""Word error rate and the word normalisation behind it."""

from __future__ import annotations

import pytest

from rxdeepgram._wer import (
    WordErrors,
    normalize_words,
    number_to_words,
    word_error_rate,
    word_errors,
)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("Hello, World!", ["hello", "world"]),
        ("  ", []),
        ("", []),
        ("Don't stop—it's fine.", ["don't", "stop", "it's", "fine"]),
        ("I\u2019m \u2018quoted\u2019 here...", ["i'm", "quoted", "here"]),
        ("check-in (at) [the] desk?!", ["check", "in", "at", "the", "desk"]),
        ("'single quotes'", ["single", "quotes"]),
        ("A&B", ["a", "and", "b"]),
        ("50% more", ["fifty", "percent", "more"]),
        ("42", ["forty", "two"]),
        ("3.5", ["three", "point", "five"]),
        ("1,000 people", ["one", "thousand", "people"]),
        ("end. 7, then", ["end", "seven", "then"]),
        ("the 21st and 3rd and 12th", ["the", "twenty", "first", "and", "third", "and", "twelfth"]),
        ("90th", ["ninetieth"]),
        ("Café ÜBER", ["café", "über"]),
        ("snake_case", ["snake_case"]),
    ],
)
def test_normalize_words(text: str, words: list[str]) -> None:
    assert normalize_words(text) == words


@pytest.mark.parametrize(
    ("number", "spoken"),
    [
        (0, "zero"),
        (7, "seven"),
        (13, "thirteen"),
        (20, "twenty"),
        (99, "ninety nine"),
        (100, "one hundred"),
        (105, "one hundred five"),
        (1905, "one thousand nine hundred five"),
        (2_000_000, "two million"),
        (1_000_001, "one million one"),
        (12_345_678, "twelve million three hundred forty five thousand six hundred seventy eight"),
        (10**12, "one trillion"),
    ],
)
def test_number_to_words(number: int, spoken: str) -> None:
    assert " ".join(number_to_words(number)) == spoken


def test_number_to_words_rejects_negative() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        number_to_words(-1)


@pytest.mark.parametrize(
    ("reference", "hypothesis", "rate"),
    [
        ("the quick brown fox", "the quick brown fox", 0.0),
        ("The quick, brown fox!", "the QUICK brown fox", 0.0),
        ("it is 42", "it is forty two", 0.0),
        ("a b c d", "a x c d", 0.25),  # one substitution
        ("a b c d", "a c d", 0.25),  # one deletion
        ("a b c d", "a b b c d", 0.25),  # one insertion
        ("a b c d", "", 1.0),
        ("a b", "x y z w", 2.0),  # two substitutions, two insertions
        ("please check my order status", "please jaguar go der status", 0.6),
        ("", "", 0.0),
        ("", "something", 1.0),
        ("...", "", 0.0),
    ],
)
def test_word_error_rate(reference: str, hypothesis: str, rate: float) -> None:
    assert word_error_rate(reference, hypothesis) == pytest.approx(rate)


def test_word_errors_counts_each_kind() -> None:
    assert word_errors("a b c d e f g h", "a x c e f g h y z") == WordErrors(
        substitutions=1, deletions=1, insertions=2, reference_words=8
    )
    counts = word_errors("one two three", "one two three")
    assert counts == WordErrors(0, 0, 0, 3)
    assert counts.errors == 0
    assert counts.rate == 0.0


def test_word_errors_prefers_substitution_to_delete_plus_insert() -> None:
    errors = word_errors("a b c", "a z c")
    assert (errors.substitutions, errors.deletions, errors.insertions) == (1, 0, 0)
    assert errors.errors == 1
    # Two alignments cost 4 here (1 S + 1 D + 2 I, or 3 S + 1 I): substitutions win the tie.
    assert word_errors("a b c d e", "a x c e f g") == WordErrors(3, 0, 1, 5)


def test_word_error_rate_is_not_symmetric() -> None:
    assert word_error_rate("a b c d", "a b") == pytest.approx(0.5)
    assert word_error_rate("a b", "a b c d") == pytest.approx(1.0)
