"""The library's floors: no import circles, and no import that climbs.

Every ``import`` statement of every module of ``pgm``, ``models`` and ``inference`` is
read from its source (imports inside functions count: a lazy import that climbs is still
a dependency on a higher floor). An import names a module; importing ``a.b.c`` also runs
the packages ``a`` and ``a.b`` (their ``__init__``), so those count as dependencies too.

* **Floors.** Data flows one way, ``pgm`` ← ``models`` ← ``inference``, and inside
  ``inference`` kernels and estimators sit below trainers, trainers below the families,
  the families below the pictures, the demo and the command line (:data:`FLOORS`). A
  module may import its own floor and the floors below.
* **No circles**, on any floor: the graph of modules is acyclic (leaving out only a
  submodule's import of its own package, which is already being imported when the
  submodule runs).
"""

from __future__ import annotations

import ast
from pathlib import Path

import networkx as nx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pgm", "models", "inference")

#: Floors from the bottom; a module belongs to the longest prefix listed (``inference``
#: itself, the package that re-exports everything, is the top).
FLOORS = [
    ["pgm"],
    ["models"],
    ["inference.threads", "inference.classes", "inference.checkpoint", "inference.mcmc", "inference.distributed"],
    ["inference.backends"],
    ["inference.partition", "inference.training"],
    ["inference.variational", "inference.evaluation"],
    ["inference.learning", "inference.directed", "inference.programs", "inference.export"],
    ["inference.dbn", "inference.posterior", "inference.convdbn"],
    ["inference.autoencoders", "inference.autoregressive", "inference.adversarial", "inference.sequences"],
    ["inference.families"],
    ["inference.pictures", "inference.demo"],
    ["inference.cli"],
    ["inference"],
]


def _modules() -> dict[str, Path]:
    out = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            out[".".join(parts)] = path
    return out


def _resolve(module: str, node: ast.ImportFrom, is_package: bool) -> str:
    if node.level == 0:
        return node.module
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _imports(module: str, path: Path, known: set) -> set[str]:
    """The library modules ``module`` imports (and the packages that run on the way)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    is_package = path.name == "__init__.py"
    named = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            target = _resolve(module, node, is_package)
            named.add(target)
            named.update(f"{target}.{alias.name}" for alias in node.names)  # a submodule imported by name
    out = set()
    for name in named:
        parts = name.split(".")
        for i in range(1, len(parts) + 1):
            prefix = ".".join(parts[:i])
            if prefix in known:
                out.add(prefix)
    out.discard(module)
    return out


def _floor(module: str) -> int:
    best, level = -1, None
    for i, names in enumerate(FLOORS):
        for name in names:
            if (module == name or module.startswith(name + ".")) and len(name) > best:
                best, level = len(name), i
    assert level is not None, f"{module} is on no floor: add its package to FLOORS"
    return level


@pytest.fixture(scope="module")
def graph():
    modules = _modules()
    g = nx.DiGraph()
    for module, path in modules.items():
        g.add_node(module)
        for target in _imports(module, path, set(modules)):
            g.add_edge(module, target)
    return g


def test_every_module_is_on_a_floor(graph):
    for module in graph.nodes:
        _floor(module)


def test_no_import_climbs(graph):
    climbing = sorted(f"{a} (floor {_floor(a)}) imports {b} (floor {_floor(b)})"
                      for a, b in graph.edges if _floor(b) > _floor(a) and not a.startswith(b + "."))
    assert not climbing, "imports that climb:\n" + "\n".join(climbing)


def test_no_import_circles(graph):
    # a submodule importing its own package runs nothing new: the package is being imported already
    g = graph.copy()
    g.remove_edges_from([(a, b) for a, b in graph.edges if a.startswith(b + ".")])
    cycles = list(nx.simple_cycles(g))
    shown = "\n".join(" -> ".join([*c, c[0]]) for c in sorted(cycles, key=len)[:10])
    assert not cycles, f"{len(cycles)} import circles, the shortest:\n{shown}"


def test_the_checks_read_real_imports(graph):
    """The graph is not empty by accident: known edges are there."""
    assert graph.has_edge("inference.learning.fit", "inference.training")
    assert graph.has_edge("inference.training", "inference.training.loop")
    assert graph.has_edge("inference.families.dispatch", "inference.families.protocol")
    assert graph.has_edge("models.energy.rbm", "pgm")
