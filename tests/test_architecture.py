"""The layers hold: no import cycles between modules or between packages, and only recorder/cli.py imports click.

Read with ``ast`` from the sources, so every import counts: module level, function-local and ``TYPE_CHECKING``
ones alike (a cycle hidden in a function is still a cycle in the design). The checkout's folders are read under
the names the distribution installs them as (``analytics/`` is ``recorder.analytics``, ``migrations/`` is
``recorder.migrations``; see pyproject.toml).

``from package import name`` depends on the package's ``__init__`` only when ``name`` is not a submodule: importing
a submodule through its package is how Python spells "that module".

Package level: within every package, its direct children (subpackages and modules) must not import each other
in a circle. E.g. ``recorder.replay.x -> recorder.render.y`` and ``recorder.render.z -> recorder.replay.w`` make
the cycle replay <-> render, whatever the modules.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = {"recorder": "recorder", "analytics": "recorder.analytics", "migrations": "recorder.migrations"}


@dataclass(frozen=True)
class Module:
    name: str
    path: Path
    is_package: bool


@cache
def modules() -> dict[str, Module]:
    found: dict[str, Module] = {}
    for folder, dotted in FOLDERS.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT / folder).with_suffix("").parts)
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            name = ".".join([dotted, *parts])
            found[name] = Module(name, path, is_package)
    return found


def _imported(module: Module) -> Iterable[str]:
    """Every module ``module`` imports (project modules and third-party names alike), anywhere in its body."""
    package = module.name.split(".") if module.is_package else module.name.split(".")[:-1]
    known = modules()
    for node in ast.walk(ast.parse(module.path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            submodules = [f"{source}.{alias.name}" for alias in node.names if f"{source}.{alias.name}" in known]
            yield from submodules
            if len(submodules) < len(node.names):
                yield source


@cache
def graph() -> dict[str, frozenset[str]]:
    """module -> the project modules it imports (a submodule import resolves to the submodule)."""
    known = modules()
    edges: dict[str, frozenset[str]] = {}
    for name, module in known.items():
        targets = set()
        for imported in _imported(module):
            while imported and imported not in known:
                imported = imported.rpartition(".")[0]
            if imported and imported != name:
                targets.add(imported)
        edges[name] = frozenset(targets)
    return edges


def cycles(edges: dict[str, frozenset[str]]) -> list[list[str]]:
    """The strongly connected components with more than one member (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
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
    return sorted(found)


def package_graph() -> dict[str, frozenset[str]]:
    """Within each package, which of its direct children import which (``pkg:child -> pkg:child``)."""
    known = modules()
    packages = {name for name, module in known.items() if module.is_package}
    edges: dict[str, set[str]] = {}
    for source, targets in graph().items():
        for target in targets:
            a, b = source.split("."), target.split(".")
            common = 0
            while common < min(len(a), len(b)) and a[common] == b[common]:
                common += 1
            parent = ".".join(a[:common])
            if parent not in packages or common == len(a) or common == len(b):
                continue  # one is the other's package (its __init__): that is the module graph's business
            edges.setdefault(f"{parent}:{a[common]}", set()).add(f"{parent}:{b[common]}")
    return {node: frozenset(targets) for node, targets in edges.items()}




def test_the_graph_sees_function_local_and_type_checking_imports() -> None:
    edges = graph()
    assert "recorder.store" in edges["recorder.cli"]  # imported inside the command functions only
    assert len(modules()) > 80 and "recorder.analytics.projection" in modules()
    assert cycles({"a": frozenset({"b"}), "b": frozenset({"c"}), "c": frozenset({"a"}), "d": frozenset({"a"})}) \
        == [["a", "b", "c"]]


def test_no_import_cycle_between_modules() -> None:
    assert cycles(graph()) == []


def test_no_import_cycle_between_packages() -> None:
    assert cycles(package_graph()) == []



def test_only_the_cli_imports_click() -> None:
    importers = sorted(
        name for name, module in modules().items()
        if any(imported == "click" or imported.startswith("click.") for imported in _imported(module))
    )
    assert importers == ["recorder.cli"]


def test_nothing_imports_the_generic_name_analytics() -> None:
    """The distribution claims only ``recorder``: the checkout's analytics/ folder is ``recorder.analytics``. An
    ``import analytics`` would work in the checkout (the folder is on sys.path) and break in a wheel."""
    tests = ROOT / "tests"
    offenders = []
    for path in sorted([*(ROOT / "recorder").rglob("*.py"), *(ROOT / "analytics").rglob("*.py"), *tests.rglob("*.py")]):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            if any(n == "analytics" or n.startswith("analytics.") for n in names):
                offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []

