"""MkDocs hooks: ``<!-- marbles -->`` in a page becomes every operator's marble diagram, read
from the docstrings of ``rxdeepgram.operators`` (so the page cannot drift from the code)."""

from __future__ import annotations

import inspect
import re
from typing import Any

_MARBLE = re.compile(r"\.\. marble::\n(?:[ \t]+:[^\n]*\n)*\n((?:[ \t]+[^\n]*\n|\n)+)")


def marbles() -> str:
    from rxdeepgram import operators

    parts: list[str] = []
    for name in operators.__all__:
        function = getattr(operators, name)
        if not inspect.isfunction(function):
            continue
        doc = inspect.getdoc(function) or ""
        found = _MARBLE.findall(doc + "\n")
        summary = doc.split("\n\n", 1)[0].replace("\n", " ")
        parts.append(f"### `{name}()`\n\n`{name}{inspect.signature(function)}`\n\n{summary}\n")
        for block in found:
            lines = [line for line in block.rstrip().split("\n")]
            cut = min(len(x) - len(x.lstrip()) for x in lines if x.strip())
            parts.append("```text\n" + "\n".join(x[cut:] for x in lines) + "\n```\n")
        parts.append(f"Details: [`{name}` in the API reference](reference/operators.md).\n")
    return "\n".join(parts)


def on_page_markdown(markdown: str, page: Any, **kwargs: Any) -> str:
    if "<!-- marbles -->" in markdown:
        return markdown.replace("<!-- marbles -->", marbles())
    return markdown
