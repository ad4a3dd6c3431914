"""No import circle anywhere in the tree: not at the top of a module, not hidden inside a function or behind TYPE_CHECKING.

An import moved into a function to dodge a circle still means two modules that need each
other; the fix is a module both can depend on.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _modules() -> dict[str, Path]:
    found = {}
    # ils/cli.py is the link to cli.py; batch/ and tools/ are installed as ils.batch and ils.tools.
    for path in [*ROOT.glob("ils/**/*.py"), *ROOT.glob("batch/*.py"), *ROOT.glob("tools/**/*.py")]:
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[0] in ("tools", "batch"):
            parts = ["ils", *parts]
        if parts[-1] == "__init__":
            parts.pop()
        found[".".join(parts)] = path
    return found


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph = {}
    for name, path in modules.items():
        wanted = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                for alias in node.names:  # `from ils.infra import db` imports the module ils.infra.db
                    submodule = f"{node.module}.{alias.name}"
                    wanted.add(submodule if submodule in modules else node.module)
            elif isinstance(node, ast.Import):
                wanted.update(alias.name for alias in node.names)
        graph[name] = {m for m in wanted if m in modules and m != name and not name.startswith(m + ".")}
    return graph


def _circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    circles = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                visit(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            component = []
            while True:
                other = stack.pop()
                component.append(other)
                if other == module:
                    break
            if len(component) > 1:
                circles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return circles


def test_no_two_modules_import_each_other_even_indirectly():
    assert _circles(_graph()) == []


def test_the_check_finds_a_circle_when_there_is_one():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
