"""The linters the developers' guide asks for: ``ruff check`` and ``mypy`` report nothing on the packages.

mypy cannot follow setuptools' ``package-dir`` mapping (``talon_harness.contracts`` -> ``contracts/``), so the
test lays the five folders out under ``talon_harness/`` with symlinks, as the wheel does, and checks that
package with the configuration in ``pyproject.toml``. Each tool is skipped, saying so, only when it is not
installed (``pip install -e '.[test]'`` installs both).
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("contracts", "strategies", "loadtests", "refserver", "harness")


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is None:
        pytest.skip(f"{module} is not installed (pip install -e '.[test]')")


def test_ruff_reports_nothing() -> None:
    _require("ruff")
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise",
                             *PACKAGES, "package", "tests", "bench"],
                            check=False, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def _mapped_tree() -> Path:
    """``<tmp>/talon-harness-mypy-<hash of ROOT>/talon_harness/{contracts,...}`` -> the repository folders
    (a stable place, so mypy's cache there stays warm between runs)."""
    tree = Path(tempfile.gettempdir()) / f"talon-harness-mypy-{hashlib.sha1(str(ROOT).encode()).hexdigest()[:12]}"
    package = tree / "talon_harness"
    package.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(ROOT / "package" / "__init__.py", package / "__init__.py")
    for name in PACKAGES:
        link = package / name
        if not link.is_symlink() or Path(os.readlink(link)) != ROOT / name:
            if link.is_symlink():
                link.unlink()
            link.symlink_to(ROOT / name, target_is_directory=True)
    return tree


def test_mypy_reports_nothing() -> None:
    _require("mypy")
    tree = _mapped_tree()
    result = subprocess.run([sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
                             "--cache-dir", str(tree / ".mypy_cache"), "-p", "talon_harness"],
                            check=False, cwd=tree, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout + result.stderr
