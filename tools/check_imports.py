"""Exit 1 when the project's modules import each other in a cycle (run by `make lint`).

The graph is read from the source with ``ast``, nothing is imported: every module under
schema/, resolvers/, domain/, adapters/ and app.py, with its imports at module level and inside
functions alike (a function-level import is a cycle that waits for the first call). Imports
under ``if TYPE_CHECKING:`` never run and are left out. An edge goes to the most specific
project module an import names (``from a.b import c`` is a.b.c when that is a module, else
a.b); parent packages are not edges of their own.

    python tools/check_imports.py        # one line per cycle, with where each import is
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("schema", "resolvers", "domain", "adapters")
SCRIPTS = ("app.py",)


@dataclass(frozen=True, slots=True)
class Edge:
    """One import: the module that imports, the one it imports, and where."""

    source: str
    target: str
    line: int


def module_files(root: Path) -> dict[str, Path]:
    """Every project module by its dotted name."""
    found = {Path(s).stem: root / s for s in SCRIPTS if (root / s).exists()}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            if "__pycache__" in path.parts:
                continue
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """The import statements that can run: anywhere but under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
        else:
            yield from _imports(node)


def _absolute(node: ast.ImportFrom, module: str, is_package: bool) -> str:
    """The module named by a (possibly relative) ``from ... import``."""
    if not node.level:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def _project_target(name: str, modules: dict[str, Path]) -> str | None:
    """The most specific project module ``name`` is, or lies in."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in modules:
            return candidate
    return None


def edges_of(module: str, path: Path, modules: dict[str, Path]) -> list[Edge]:
    """The imports of one module that lead to another project module."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[Edge] = []
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            base = _absolute(node, module, path.name == "__init__.py")
            names = [f"{base}.{alias.name}" if base else alias.name for alias in node.names]
        for name in names:
            target = _project_target(name, modules)
            if target is not None and target != module:
                found.append(Edge(module, target, node.lineno))
    return found


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components with more than one module, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(sorted(component))

    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10 * len(graph) + 100))
    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(components)


def shortest_cycle(start: str, graph: dict[str, set[str]], within: set[str]) -> list[str]:
    """A shortest path from ``start`` back to itself inside one component."""
    paths = {start: [start]}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(graph.get(node, set()) & within):
                if nxt == start:
                    return [*paths[node], start]
                if nxt not in paths:
                    paths[nxt] = [*paths[node], nxt]
                    following.append(nxt)
        frontier = following
    return [start]


def cycles(root: Path) -> list[str]:
    """One line per cycle: the modules in import order, each import with its line."""
    modules = module_files(root)
    edges = [e for name, path in modules.items() for e in edges_of(name, path, modules)]
    graph: dict[str, set[str]] = {name: set() for name in modules}
    first: dict[tuple[str, str], Edge] = {}
    for edge in edges:
        graph[edge.source].add(edge.target)
        first.setdefault((edge.source, edge.target), edge)
    report = []
    for component in strongly_connected(graph):
        path = shortest_cycle(component[0], graph, set(component))
        steps = [f"{a} (line {first[(a, b)].line})" for a, b in pairwise(path)]
        extra = f"; {len(component)} modules in this tangle" if len(component) > 2 else ""
        report.append(" -> ".join([*steps, path[-1]]) + extra)
    return report


def main() -> int:
    """Print every cycle and exit 1, or confirm there is none."""
    found = cycles(ROOT)
    for line in found:
        print(f"import cycle: {line}")
    if found:
        print(f"{len(found)} import cycle(s): break them (move the shared part, or pass it in)")
        return 1
    print("no import cycles")
    return 0


if __name__ == "__main__":
    sys.exit(main())
