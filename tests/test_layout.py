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
