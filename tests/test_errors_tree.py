"""The error tree drawn in the documentation is the tree of the classes.

Every drawing of the tree (the ``rxdeepgram.errors`` docstring, README, ``docs/*.md``: any block
whose first line is ``DeepgramError`` followed by box-drawing lines) is parsed into
(class, parent) pairs, which must be exactly the classes' own: each drawn class exists in
``rxdeepgram.errors``, sits under its nearest ``DeepgramError`` base, and every error class the
module exports is drawn.
"""

from __future__ import annotations

import inspect
from pathlib import Path

import pytest

import rxdeepgram
from rxdeepgram import errors

ROOT = Path(__file__).resolve().parent.parent


def drawings(text: str) -> list[list[str]]:
    """Every tree drawing in ``text``: its lines, the root ``DeepgramError`` first."""
    found: list[list[str]] = []
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "DeepgramError" and i + 1 < len(lines) and "──" in lines[i + 1]:
            block = [line]
            for following in lines[i + 1 :]:
                if "──" not in following:
                    break
                block.append(following)
            found.append(block)
    return found


def parse(block: list[str]) -> dict[str, str]:
    """class name -> parent name, from the box-drawing lines (depth = column of the branch)."""
    root_column = len(block[0]) - len(block[0].lstrip())
    stack: list[tuple[int, str]] = [(root_column - 1, "DeepgramError")]
    parents: dict[str, str] = {}
    for line in block[1:]:
        column = min(i for i in (line.find("├──"), line.find("└──")) if i >= 0)
        name = line[column + 3 :].split()[0]
        while stack and stack[-1][0] >= column:
            stack.pop()
        assert stack, f"bad indentation: {line!r}"
        parents[name] = stack[-1][1]
        stack.append((column, name))
    return parents


def actual() -> dict[str, str]:
    """class name -> the name of its nearest DeepgramError base, for every exported error."""
    tree: dict[str, str] = {}
    for name in errors.__all__:
        cls = getattr(errors, name)
        if cls is errors.DeepgramError:
            continue
        base = next(b for b in cls.__mro__[1:] if issubclass(b, errors.DeepgramError))
        tree[name] = base.__name__
    return tree


def sources() -> list[tuple[str, str]]:
    found = [("rxdeepgram.errors", inspect.getdoc(errors) or "")]
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("**/*.md"))]:
        if path.is_file():
            found.append((path.relative_to(ROOT).as_posix(), path.read_text()))
    return found


def test_the_module_docstring_draws_the_tree() -> None:
    assert len(drawings(inspect.getdoc(errors) or "")) == 1


def test_the_docs_draw_the_tree() -> None:
    drawn = [name for name, text in sources()[1:] if drawings(text)]
    assert "docs/errors.md" in drawn, drawn


@pytest.mark.parametrize(("where", "text"), sources(), ids=[name for name, _ in sources()])
def test_every_drawing_is_the_class_tree(where: str, text: str) -> None:
    for block in drawings(text):
        assert parse(block) == actual(), where


def test_a_refused_handshake_is_a_connect_error() -> None:
    """Code that catches ConnectError ("could not connect") sees every rejected handshake."""
    for status in (400, 401, 403, 404, 429, 500, 503):
        error = errors.HandshakeError.for_status(status)
        assert isinstance(error, errors.ConnectError)
        assert isinstance(error, ConnectionError)
        assert str(error) == f"handshake rejected with HTTP {status}: no detail given"
    assert rxdeepgram.HandshakeError is errors.HandshakeError


def test_the_parser_sees_a_wrong_parent() -> None:
    block = [
        "DeepgramError",
        "├── ConnectError",
        "├── HandshakeError",
    ]
    assert parse(block) == {"ConnectError": "DeepgramError", "HandshakeError": "DeepgramError"}
    nested = ["DeepgramError", "├── ConnectError", "│   └── HandshakeError", "└── ServerError"]
    assert parse(nested) == {
        "ConnectError": "DeepgramError",
        "HandshakeError": "ConnectError",
        "ServerError": "DeepgramError",
    }
