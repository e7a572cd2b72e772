"""No import circles in the package, counting imports inside functions and under
``TYPE_CHECKING`` (ARCHITECTURE.md). CI also runs ``lint-imports`` for the layers themselves;
this check needs nothing but ``ast`` and runs with the test suite."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "rxdeepgram"


def _modules(package: Path) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for path in package.rglob("*.py"):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _targets(module: str, is_package: bool, node: ast.ImportFrom | ast.Import) -> list[str]:
    if isinstance(node, ast.Import):
        return [alias.name for alias in node.names]
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level:
        base = base[: len(base) - (node.level - 1)]
        prefix = ".".join(base + ([node.module] if node.module else []))
    else:
        prefix = node.module or ""
    # ``from pkg import name`` imports pkg.name when that is a module, else pkg
    return [f"{prefix}.{alias.name}" for alias in node.names] + [prefix]


def import_graph(package: Path) -> dict[str, set[str]]:
    """Module -> the package's modules it imports, from every import statement anywhere in it
    (module level, inside functions and classes, under ``if TYPE_CHECKING:``)."""
    modules = _modules(package)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        is_package = path.name == "__init__.py"
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not isinstance(node, ast.Import | ast.ImportFrom):
                continue
            candidates = _targets(name, is_package, node)
            hits = [c for c in candidates if c in modules]
            if isinstance(node, ast.ImportFrom):
                # the named submodules when there are any, else the module named by ``from``
                named = [c for c in hits if c != candidates[-1]]
                hits = named or hits
            graph[name].update(hit for hit in hits if hit != name)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_package_has_no_import_circles() -> None:
    graph = import_graph(PACKAGE)
    assert len(graph) > 100  # the whole package was read
    assert cycles(graph) == []


@pytest.mark.parametrize(
    ("a_text", "b_text"),
    [
        ("from . import b\n", "from . import a\n"),
        ("def f():\n    from .b import x\n", "from .a import y\n"),
        (
            "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from .b import x\n",
            "class C:\n    def m(self):\n        import pkg.a\n",
        ),
    ],
    ids=["module-level", "inside-a-function", "type-checking-and-method"],
)
def test_the_checker_finds_a_circle(tmp_path: Path, a_text: str, b_text: str) -> None:
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text(a_text)
    (package / "b.py").write_text(b_text)
    (package / "c.py").write_text("from .a import z\n")
    assert cycles(import_graph(package)) == [["pkg.a", "pkg.b"]]
