"""The shape of the code, read from the source: one owner per concept, imports that run one way.

Each rule here is one a change could quietly break: a second definition of the partition column, a
delta-rs table opened outside the lake, a deployment chosen outside ``resources.py``, Sail named outside the
engine, an import cycle (a function-level import counts), a test module importing another test module.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PACKAGE = REPO / "lakehouse"
TESTS = REPO / "lakehouse_tests"


def _sources(root: Path) -> dict[str, Path]:
    """Module name -> file of every Python module under ``root`` (a package is its ``__init__``)."""
    modules = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(REPO).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The modules of ``modules`` that ``name`` imports, anywhere in the file (function bodies too)."""
    imported = set()
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([base] if base else []))
            # ``from pkg import module`` imports the module; ``from pkg import name`` the package's face
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                imported.add(target)
    return imported


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for successor in sorted(graph[node]):
            if successor not in index:
                visit(successor)
                low[node] = min(low[node], low[successor])
            elif successor in on_stack:
                low[node] = min(low[node], index[successor])
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


def _lines_matching(pattern: str, root: Path, suffix: str = ".py") -> list[str]:
    regex = re.compile(pattern)
    return [
        f"{path.relative_to(REPO)}:{number}"
        for path in sorted(root.rglob(f"*{suffix}"))
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if regex.search(line)
    ]


def test_the_package_has_no_import_cycle():
    modules = _sources(PACKAGE)
    graph = {name: _imported_modules(name, path, modules) for name, path in modules.items()}
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_function_level_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_the_partition_column_is_named_once():
    named = _lines_matching(r"""["']_run_date["']""", PACKAGE)
    assert [entry.rsplit(":", 1)[0] for entry in named] == ["lakehouse/partitions.py"]


def test_delta_rs_tables_are_opened_by_the_lake_alone():
    opened = _lines_matching(r"DeltaTable\(|DeltaTable\.is_deltatable|write_deltalake\(", PACKAGE)
    assert {entry.rsplit(":", 1)[0] for entry in opened} == {"lakehouse/lake/resource.py"}


def test_the_deployment_is_chosen_in_resources_alone():
    choices = _lines_matching(r"(is|==) Deployment\.", PACKAGE)
    assert {entry.rsplit(":", 1)[0] for entry in choices} == {"lakehouse/resources.py"}


def test_sail_is_named_by_the_engine_and_the_services_alone():
    """pysail and its ``SAIL_*`` settings belong to ``lakehouse/engine/`` (the embedded server, the
    engine-shaped helpers) and ``lakehouse/services/`` (a local Sail cluster); everything else is Spark API
    that runs on Apache Spark too (docs/engines.md)."""
    named = _lines_matching(r"pysail|SAIL_", PACKAGE)
    outside = [entry for entry in named if not entry.startswith(("lakehouse/engine/", "lakehouse/services/"))]
    assert outside == []


def test_no_file_cites_a_document_outside_the_repository():
    cited = [
        entry
        for root, suffix in ((PACKAGE, ".py"), (TESTS, ".py"), (REPO / "docs", ".md"))
        for entry in _lines_matching(r"DESIGN\.md|STYLE\.md", root, suffix)
    ]
    assert cited == []


@pytest.mark.parametrize("layer", ["bronze", "silver", "gold"])
def test_every_layer_hands_out_its_definitions(layer):
    assert (PACKAGE / layer / "definitions.py").is_file()


def test_no_test_module_imports_another_test_module_or_a_conftest():
    modules = _sources(TESTS)
    offending = []
    for name, path in modules.items():
        for imported in _imported_modules(name, path, modules):
            leaf = imported.rpartition(".")[2]
            if leaf.startswith("test_") and imported in modules and modules[imported].name != "__init__.py":
                offending.append(f"{name} -> {imported}")
            elif leaf == "conftest":
                offending.append(f"{name} -> {imported}")
    assert offending == []
