"""The package's layers: no import cycle anywhere; importing chaosgan leaves matplotlib alone."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import connected_components

import chaosgan

ROOT = Path(chaosgan.__file__).parent

# Cycles being removed elsewhere would be named here, so that nothing else hides behind them
# (identify/fit.py <-> identify/jaya.py was, until fit.py was split by job).
KNOWN_CYCLES: list[set[str]] = []


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    """Every chaosgan module -> the chaosgan modules it imports, at the top or inside functions
    (a lazy import is still a dependency). ``from pkg import name`` counts as importing
    ``pkg.name`` when that is a module, else ``pkg``; a submodule importing its own parent
    package (``from chaosgan import __version__``) is the normal package pattern, not an edge."""
    modules = {module_name(p): p for p in ROOT.rglob("*.py")}
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text())):
            targets = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                    base = f"{base}.{node.module}" if node.module else base
                for alias in node.names:
                    full = f"{base}.{alias.name}"
                    targets.append(full if full in modules else base)
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name and not name.startswith(target + "."):
                    graph[name].add(target)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[set[str]]:
    """Strongly connected components with more than one module (scipy's Tarjan)."""
    names = sorted(graph)
    index = {n: i for i, n in enumerate(names)}
    rows = [index[a] for a in names for _ in graph[a]]
    cols = [index[b] for a in names for b in graph[a]]
    adjacency = csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(names), len(names)))
    _, labels = connected_components(adjacency, directed=True, connection="strong")
    groups: dict[int, set[str]] = {}
    for name, label in zip(names, labels, strict=True):
        groups.setdefault(label, set()).add(name)
    return [g for g in groups.values() if len(g) > 1]


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [{"a", "b", "c"}]
    assert cycles({"a": {"b"}, "b": set()}) == []


def test_no_import_cycles_in_the_package():
    graph = import_graph()
    assert "chaosgan.evaluate.scorecard" in graph["chaosgan.evaluate.report"]  # edges are found
    found = [c for c in cycles(graph) if c not in KNOWN_CYCLES]
    assert found == [], f"import cycles: {found}"


def test_importing_everything_leaves_the_matplotlib_backend_alone():
    """No module calls matplotlib.use() or imports pyplot at import time (object API only)."""
    modules = sorted(import_graph())
    code = (
        "import importlib, sys, matplotlib\n"
        "matplotlib.use('svg')\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        "assert matplotlib.get_backend() == 'svg', matplotlib.get_backend()\n"
        "assert 'matplotlib.pyplot' not in sys.modules\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-2000:]
