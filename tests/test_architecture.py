"""The architecture's rules, checked on the import graph of the product's own packages.

Every `import` and `from ... import` of every module counts, at any depth (a lazy import
inside a function is still a dependency). `from package import submodule` is an edge to the
submodule. docs/ARCHITECTURE.md draws the same layers.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PRODUCT = ("ace_cli", "ace_model", "captioner", "dataengine")
OUTSIDE_TESTS = (*PRODUCT, "benchmark", "pipelines", "tools")

# dataengine's parts from the ground up: a part may import its own modules and those of
# parts on lower layers, never a part on its own layer or above (so the stage families
# of one layer stay out of each other's internals).
LAYERS = (
    {"schema", "params", "machine", "storage", "fonts", "bundled", "open_clip_model"},
    {"stage"},
    {"source", "registry"},
    {"sinks"},
    {"sources"},
    {"synth"},
    {"mine", "instruct", "quality"},
    {"recipe", "chain"},
    {"executors"},
    {"runner"},
    {"corpus"},
    {"audit", "export"},
    {"review"},
    {"commands"},
)
LAYER_OF = {part: rank for rank, parts in enumerate(LAYERS) for part in parts}


def module_files(packages=PRODUCT, root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of `packages` under `root`."""
    found = {}
    for package in packages:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            found[name] = path
    return found


def imported_names(path: Path, module: str) -> set[str]:
    """Every name `path` imports, dotted in full: `from a import b` gives a.b, which is the
    module a.b where there is one, else the name b of module a."""
    names = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> the product modules it imports (the submodule where one is named)."""
    graph = defaultdict(set)
    for module, path in modules.items():
        for name in imported_names(path, module):
            target = _known(name, modules)
            if target and target != module:
                graph[module].add(target)
    return graph


def _known(name: str, modules) -> str | None:
    """The product module `name` is, or is in; None for another package's."""
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one node (Tarjan's algorithm)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

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
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def part_of(module: str) -> str | None:
    """dataengine.mine.source -> "mine"; dataengine.schema -> "schema"."""
    parts = module.split(".")
    return parts[1] if parts[0] == "dataengine" and len(parts) > 1 else None


def layer_violations(graph: dict[str, set[str]]) -> list[str]:
    bad = []
    for module, targets in sorted(graph.items()):
        here = part_of(module)
        for target in sorted(targets):
            there = part_of(target)
            if here is None or there is None or here == there:
                continue
            if LAYER_OF[there] >= LAYER_OF[here]:
                bad.append(f"{module} -> {target} ({here} may not import {there})")
    return bad


def external_imports(modules: dict[str, Path], top: str) -> list[str]:
    """(module, name) pairs where a module imports package `top` or one of its modules."""
    hits = []
    for module, path in modules.items():
        for name in imported_names(path, module):
            if name == top or name.startswith(f"{top}."):
                hits.append(f"{module} imports {name}")
    return sorted(set(hits))


@pytest.fixture(scope="module")
def modules():
    return module_files()


@pytest.fixture(scope="module")
def graph(modules):
    return import_graph(modules)


def test_no_module_imports_itself_back(graph):
    assert cycles(graph) == []


def test_no_two_parts_of_the_engine_import_each_other(graph):
    parts = defaultdict(set)
    for module, targets in graph.items():
        for target in targets:
            a, b = part_of(module), part_of(target)
            if a and b and a != b:
                parts[a].add(b)
    assert cycles(parts) == []


def test_every_part_of_the_engine_is_on_a_layer(modules):
    parts = {part_of(m) for m in modules if part_of(m)}
    assert parts == set(LAYER_OF)


def test_each_part_imports_only_the_layers_below_it(graph):
    assert layer_violations(graph) == []


def test_the_engine_never_imports_the_model_or_the_command(modules):
    engine = {m: p for m, p in modules.items() if m.startswith("dataengine")}
    for top in ("ace_model", "ace_cli", "captioner"):
        assert external_imports(engine, top) == []


def test_only_the_executors_import_ray(modules):
    outside = {m: p for m, p in modules.items() if not m.startswith("dataengine.executors")}
    assert external_imports(outside, "ray") == []


def test_nothing_outside_the_tests_imports_them():
    everything = module_files(OUTSIDE_TESTS)
    assert external_imports(everything, "tests") == []


def test_no_test_module_imports_another():
    tests = module_files(("tests",))
    modules = {m: p for m, p in tests.items() if p.name.startswith("test_")}
    hits = [
        f"{m} imports {name}"
        for m, p in tests.items()
        for name in imported_names(p, m)
        if _known(name, tests) in modules and _known(name, tests) != m
    ]
    assert hits == []


# ------------------------------------------------------------------------------------------
# The checks themselves catch what they are for
# ------------------------------------------------------------------------------------------


def write(root: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return module_files(("dataengine",), root)


def test_the_checks_find_a_cycle_a_layer_broken_and_ray_outside(tmp_path):
    modules = write(
        tmp_path,
        {
            "dataengine/__init__.py": "",
            "dataengine/schema.py": "from dataengine import stage\n",
            "dataengine/stage.py": "import dataengine.schema\n",
            "dataengine/mine/__init__.py": "",
            "dataengine/mine/a.py": "def f():\n    from dataengine.quality import b\n",
            "dataengine/quality/__init__.py": "",
            "dataengine/quality/b.py": "import ray.data\n",
        },
    )
    graph = import_graph(modules)
    assert cycles(graph) == [["dataengine.schema", "dataengine.stage"]]
    assert "dataengine.mine.a -> dataengine.quality.b (mine may not import quality)" in (
        layer_violations(graph)
    )
    assert external_imports(modules, "ray") == ["dataengine.quality.b imports ray.data"]
