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


# -- packages: a one-way house (lmeval/ -> model/, the adapter on the core) -----------------

# No package-level circle is allowed (the trace record and stage names sit below both model/
# and rundir.py; the JSON-safe value helper is io.py's, below compare/ and view/).
KNOWN_PACKAGE_CIRCLES: list[list[str]] = []


def _unit(module: str, mods: dict[str, Path]) -> str:
    """A module's package: harness_ext.<sub> for a subpackage's modules, dq_tasks for the ground
    floor; a top-level module of harness_ext (errors, io, rundir, ...) is a unit of its own."""
    parts = module.split(".")
    if parts[0] == "dq_tasks":
        return "dq_tasks"
    sub = ".".join(parts[:2])
    if len(parts) > 1 and sub in mods and mods[sub].name == "__init__.py":
        return sub
    return module


def _package_graph() -> dict[str, set[str]]:
    mods = _modules()
    graph: dict[str, set[str]] = {}
    for module, deps in _graph().items():
        unit = _unit(module, mods)
        graph.setdefault(unit, set())
        graph[unit] |= {_unit(d, mods) for d in deps} - {unit}
    return graph


def test_no_package_circles() -> None:
    assert sorted(_cycles(_package_graph())) == sorted(KNOWN_PACKAGE_CIRCLES)


def test_adapter_depends_on_the_core_one_way() -> None:
    graph = _package_graph()
    assert "harness_ext.model" in graph["harness_ext.lmeval"]
    assert "harness_ext.lmeval" not in graph["harness_ext.model"]


def test_core_imports_no_lm_eval() -> None:
    """model/ is the core: lm-eval's types (Instance, LM, its registry) reach it only through the
    protocols of model/backends.py, which the adapter implements. Lazy imports count too."""
    offenders = [
        f"{name}: {module}"
        for name, path in _modules().items()
        if name.startswith("harness_ext.model")
        for module, _ in _imports(path)
        if module.split(".")[0] == "lm_eval" or module.startswith("harness_ext.lmeval")
    ]
    assert offenders == []


def test_package_units() -> None:
    pkg = REPO / "harness_ext"
    mods = {
        "harness_ext.p": pkg / "p" / "__init__.py",
        "harness_ext.p.a": pkg / "p" / "a.py",
        "harness_ext.io": pkg / "io.py",
    }
    assert _unit("harness_ext.p.a", mods) == _unit("harness_ext.p", mods) == "harness_ext.p"
    assert _unit("harness_ext.io", mods) == "harness_ext.io"
    assert _unit("dq_tasks.prompting", mods) == "dq_tasks"
