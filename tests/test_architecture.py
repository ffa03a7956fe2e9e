"""The layout's rules (docs/development.md "Layout"), checked on the code's own imports.

Imports written inside functions count too: an import moved into a function to dodge a cycle is
still a cycle."""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

import pytest

from integration.vtex.statuses import VtexStatus
from tests.conftest import PROJECT_ROOT

PACKAGES = ("erp_bridge", "integration", "vtex_sandbox", "bench")


@cache
def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (PROJECT_ROOT / package).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(PROJECT_ROOT).with_suffix("").parts)
            found[name.removesuffix(".__init__")] = path
    return found


def _resolve(name: str) -> str | None:
    known = modules()
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


@cache
def imports() -> dict[str, set[str]]:
    """Module → the project's modules it imports (a package's __init__ stands for the package)."""
    graph: dict[str, set[str]] = {}
    for module, path in modules().items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        targets: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parent = package
                    for _ in range(node.level - 1):
                        parent = parent.rpartition(".")[0]
                    base = f"{parent}.{node.module}" if node.module else parent
                names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                target = _resolve(name)
                # a module and its own package are one thing here
                if target and not (module.startswith(target + ".") or target.startswith(module + ".")):
                    targets.add(target)
        graph[module] = targets - {module}
    return graph


def _reaches(start: str, goal: str) -> list[str] | None:
    graph, seen, stack = imports(), set(), [(start, [start])]
    while stack:
        module, trail = stack.pop()
        for target in graph.get(module, ()):
            if target == goal:
                return [*trail, target]
            if target not in seen:
                seen.add(target)
                stack.append((target, [*trail, target]))
    return None


def test_no_module_imports_itself_through_others():
    loops = [trail for module in imports() if (trail := _reaches(module, module))]
    assert not loops, "import loops: " + "; ".join(" → ".join(trail) for trail in loops[:3])


@pytest.mark.parametrize(
    ("lower", "upper"),
    [
        ("integration.vtex", "integration.models"),  # the client knows no database
        ("integration.vtex", "integration.services"),
        ("integration.models", "integration.services"),  # models never call VTEX or the rules
        ("integration.models", "integration.vtex.client"),
        ("integration.infra", "integration.services"),
        ("integration.selectors", "integration.services"),  # reads stand below the rules
        ("integration.services.order_sync", "integration.services.outbox"),  # the bottom of the services
        ("integration.services.order_sync", "integration.services.intake"),
        ("integration.services.order_state", "integration.services.order_sync"),
        ("integration.services", "integration.admin"),  # interfaces call services, never the reverse
        ("integration.services", "integration.api"),
        ("vtex_sandbox", "integration"),  # the fake VTEX knows nothing of erp-bridge
    ],
)
def test_imports_run_downwards(lower, upper):
    offenders = {
        module: sorted(target for target in targets if target == upper or target.startswith(upper + "."))
        for module, targets in imports().items()
        if module == lower or module.startswith(lower + ".")
    }
    assert not {module: found for module, found in offenders.items() if found}


def test_the_rules_name_vtex_statuses_through_the_enumeration():
    """A status written as text in a service is a rule nobody finds by grepping VtexStatus."""
    statuses = {str(status) for status in VtexStatus}
    found = []
    for module, path in modules().items():
        if not module.startswith("integration.services."):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and node.value in statuses and not _is_field_name(module, node):
                found.append(f"{module}:{node.lineno} {node.value!r}")
    assert not found


def _is_field_name(module: str, node: ast.Constant) -> bool:
    """ "invoice" is also a model field (select_related, OuterRef, a JSON key of our own)."""
    return node.value == "invoice"
