"""The packages import each other in one direction only (see README, Layout)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("contracts", "strategies", "loadtests", "refserver", "harness")
ALLOWED = {
    "harness": {"contracts", "strategies", "loadtests", "refserver"},
    "contracts": {"strategies"},
    "loadtests": {"strategies"},
    "strategies": set(),
    "refserver": set(),
}


def _imported_packages(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(_package_of(alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(_package_of(node.module))
            if node.module == "talon_harness":
                found.update(alias.name for alias in node.names)
    return found & set(PACKAGES)


def _package_of(module: str) -> str:
    """``talon_harness.contracts.checks`` -> ``contracts``; a bare old name (``contracts.x``) counts too."""
    parts = module.split(".")
    return parts[1] if parts[0] == "talon_harness" and len(parts) > 1 else parts[0]


@pytest.mark.parametrize("package", PACKAGES)
def test_package_imports_only_what_the_layout_allows(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(bad)
        for path in sorted((ROOT / package).rglob("*.py"))
        if (bad := _imported_packages(path) - ALLOWED[package] - {package})
    }
    assert offenders == {}


#: Module-level values that are run state by nature: counters, pickers, locks, growing caches.
_STATEFUL_CALLS = frozenset({"count", "cycle", "Lock", "RLock", "OrderedDict", "defaultdict", "Counter", "deque"})
#: Every package is held to "no module-level run state".
_STATELESS = ("contracts", "strategies", "loadtests", "refserver", "harness")


def _module_state(path: Path) -> list[str]:
    """Module-level assignments of stateful objects, and ``global`` statements, in one file."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [f"{path.name}:{node.lineno} global {', '.join(node.names)}"
             for node in ast.walk(tree) if isinstance(node, ast.Global)]
    for node in tree.body:
        value = node.value if isinstance(node, (ast.Assign, ast.AnnAssign)) else None
        if "__all__" in ast.unparse(node).split("=")[0]:
            continue
        stateful = isinstance(value, (ast.Dict, ast.List)) and not (  # an empty container fills up at run time
            value.keys if isinstance(value, ast.Dict) else value.elts)
        if isinstance(value, ast.Call):
            func = value.func
            name = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
            stateful = (name in _STATEFUL_CALLS or (name in ("dict", "list", "set") and not value.args)
                        or (name[:1] == "_" and name[1:2].isupper()))  # a private class's instance: a run object
        if stateful:
            found.append(f"{path.name}:{node.lineno} {ast.unparse(node)[:80]}")
    return found


@pytest.mark.parametrize("package", _STATELESS)
def test_no_module_level_run_state(package: str) -> None:
    offenders = [hit for path in sorted((ROOT / package).rglob("*.py")) for hit in _module_state(path)]
    assert offenders == []
