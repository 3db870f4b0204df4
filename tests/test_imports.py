"""The import graph of our own packages, read from the source (AST), not by importing:
no circles between modules, dq_tasks (the ground floor) never imports harness_ext, and every
import of one of our modules names one that exists (mypy's ignore_missing_imports would hide a
moved module)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("harness_ext", "dq_tasks")


def _modules() -> dict[str, Path]:
    mods = {}
    for pkg in PACKAGES:
        for f in (REPO / pkg).rglob("*.py"):
            parts = f.relative_to(REPO).with_suffix("").parts
            mods[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = f
    return mods


def _imports(path: Path) -> list[tuple[str, list[str]]]:
    """(module, imported names) for every absolute import in the file, lazy ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [(a.name, []) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.module, [a.name for a in node.names]))
    return found


def _graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {m: set() for m in mods}
    for name, path in mods.items():
        for module, names in _imports(path):
            # `from pkg import submodule` imports the submodule (every import runs pkg/__init__)
            targets = [f"{module}.{n}" if f"{module}.{n}" in mods else module for n in names] or [module]
            graph[name] |= {t for t in targets if t in mods and t != name}
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_no_import_circles() -> None:
    assert _cycles(_graph()) == []


def test_scan_finds_a_circle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_ground_floor_never_imports_harness_ext() -> None:
    offenders = [
        m for m, deps in _graph().items() if m.startswith("dq_tasks") and any(d.startswith("harness_ext") for d in deps)
    ]
    assert offenders == []


def test_every_internal_import_exists() -> None:
    mods = _modules()
    missing = []
    for name, path in mods.items():
        for module, names in _imports(path):
            if not module.startswith(PACKAGES):
                continue
            if module not in mods:
                missing.append(f"{name}: {module}")
                continue
            source = mods[module].read_text()
            for n in names:  # a submodule, or a name the module defines or imports
                if f"{module}.{n}" not in mods and n != "*" and n not in source:
                    missing.append(f"{name}: {module}.{n}")
    assert missing == []
