"""Import structure: the core and the embedded default never import torch (deployments can skip
it), and no module of the package imports, directly or through others, a module that imports it
back (cycles make import order matter and hide what depends on what)."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "alphapose"

#: the core path: what `alphapose run` with the embedded default imports
CORE = ("alphapose", "alphapose.cli", "alphapose.pipeline", "alphapose.stages",
        "alphapose.threaded", "alphapose.runner", "alphapose.formats", "alphapose.writers",
        "alphapose.render", "alphapose.colors", "alphapose.overlays", "alphapose.nms",
        "alphapose.sources", "alphapose.skeletons", "alphapose.modes", "alphapose.distributed",
        "alphapose.detection.blaze", "alphapose.detection.fused", "alphapose.estimators.blaze",
        "alphapose.evaluate", "alphapose.tracking", "alphapose.smoothing", "alphapose.view")


def test_core_modules_do_not_import_torch() -> None:
    code = f"import sys; import {', '.join(CORE)}; print('torch' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == "False"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Module -> the package modules it imports: at the top and inside functions (a lazy import
    still makes a cycle), not under ``if TYPE_CHECKING:`` (never run)."""
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        found: set[str] = set()

        def visit(node: ast.AST, package: str = package, found: set[str] = found) -> None:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                    continue
                if isinstance(child, ast.Import):
                    found.update(alias.name for alias in child.names)
                elif isinstance(child, ast.ImportFrom):
                    base = child.module or ""
                    if child.level:
                        parts = package.split(".")[:len(package.split(".")) - child.level + 1]
                        base = ".".join(parts + ([child.module] if child.module else []))
                    found.add(base)
                    found.update(f"{base}.{alias.name}" for alias in child.names)
                visit(child)

        visit(ast.parse(path.read_text(encoding="utf-8")))
        graph[name] = {m for m in found if m in modules and m != name}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def strong(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                strong(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph)))
    for v in sorted(graph):
        if v not in index:
            strong(v)
    return found


def test_the_package_has_no_import_cycle() -> None:
    graph = import_graph()
    assert len(graph) > 50 and "alphapose.threaded" in graph["alphapose.pipeline"]
    assert cycles(graph) == []


@pytest.mark.parametrize("edges,expected", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]),
    ({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"d"} - {"d"}}, [["a", "b", "c"]]),
], ids=["chain", "pair", "triangle"])
def test_cycle_finder(edges: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(edges) == expected


def test_a_lazy_import_back_is_found(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # the graph sees imports inside functions: the way the old threaded run imported the
    # pipeline that imported it
    package = tmp_path / "alphapose"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from alphapose.b import f\n")
    (package / "b.py").write_text("def f():\n    from alphapose import a\n    return a\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                  "    from alphapose import a\n")
    monkeypatch.setattr(sys.modules[__name__], "PACKAGE", package)
    graph = import_graph()
    assert graph["alphapose.c"] == set()
    assert cycles(graph) == [["alphapose.a", "alphapose.b"]]
