"""A griffe extension for the API reference: the docstrings are written for ``help()`` (plain
text with a few reStructuredText habits), the reference renders them as Markdown. This turns
those habits into Markdown before mkdocstrings renders them:

* ``.. marble::`` blocks (the operators' marble diagrams) and ``::`` literal blocks become
  fenced code blocks, so the diagrams keep their columns;
* ``:class:`~rxdeepgram.X``` and the other Sphinx roles become code spans (``X``).

A class whose docstring is built at import time (``__doc__ = ... + _ATTRIBUTES``, so that a
text shared by several classes is written once), and a module's function built by a factory
(``decode = _codec.decode`` in the message modules), have no docstring griffe can read from the
source: for those the extension takes the one ``help()`` shows, from the imported object (so
the build imports ``rxdeepgram``: build from a checkout with that checkout first on the path, as
``.ci/run`` does with its editable install, or with ``PYTHONPATH=$PWD``).
"""

from __future__ import annotations

import inspect
import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:class|func|meth|attr|data|mod|exc|obj):`~?([^`]+)`")


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def convert(text: str) -> str:
    """The Markdown form of a docstring written in plain text / reST habits."""
    text = _ROLE.sub(lambda m: "``" + m.group(1).rsplit(".", 1)[-1] + "``", text)
    lines = text.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        marble = stripped.startswith(".. marble::")
        literal = stripped.endswith("::") and not marble
        if not (marble or literal):
            out.append(line)
            i += 1
            continue
        base = _indent(line)
        if literal:
            head = line.rstrip()[:-2].rstrip()
            if head.strip():
                out.append(head + ":")
        i += 1
        block: list[str] = []
        while i < len(lines) and (not lines[i].strip() or _indent(lines[i]) > base):
            block.append(lines[i])
            i += 1
        if marble:  # drop the directive's options (":alt: ...")
            block = [b for b in block if not b.strip().startswith(":")]
        while block and not block[0].strip():
            block.pop(0)
        trailing = 0
        while block and not block[-1].strip():
            block.pop()
            trailing += 1
        if not block:
            continue
        cut = min(_indent(b) for b in block if b.strip())
        pad = " " * base
        out.append("")
        out.append(pad + "```text")
        out.extend(pad + b[cut:] if b.strip() else "" for b in block)
        out.append(pad + "```")
        out.extend([""] * max(trailing, 1))
    return "\n".join(out)


def runtime_docstring(obj: griffe.Object) -> str | None:
    """The docstring a class was given at import time (its own, not one it inherits), or the
    docstring of the function a module attribute holds."""
    if obj.is_alias:  # an import: its target is visited on its own
        return None
    module_attribute = obj.is_attribute and obj.parent is not None and obj.parent.is_module
    if not (obj.is_class or module_attribute):
        return None
    try:
        value = griffe.dynamic_import(obj.path)
    except ImportError:  # defined for type checkers only (``if TYPE_CHECKING:``)
        return None
    if obj.is_class:
        doc = vars(value).get("__doc__")
    else:
        doc = value.__doc__ if inspect.isfunction(value) else None
    return inspect.cleandoc(doc) if isinstance(doc, str) else None


class RstToMarkdown(griffe.Extension):
    """Rewrite every docstring with :func:`convert`; take a class's docstring from the imported
    class where the source has none (:func:`runtime_docstring`)."""

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        if obj.docstring is None:
            doc = runtime_docstring(obj)
            if doc:
                obj.docstring = griffe.Docstring(doc, parent=obj)
        if obj.docstring is not None:
            obj.docstring.value = convert(obj.docstring.value)
