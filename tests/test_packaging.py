"""The wheel installs exactly one top-level import name, ``talon_harness``, and it works from anywhere."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--disable-pip-version-check",
                    "-w", str(out), str(ROOT)], check=True, capture_output=True, timeout=300)
    (found,) = out.glob("talon_harness-*.whl")
    return found


def test_wheel_has_one_top_level_name_and_its_data(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    top = {n.split("/")[0] for n in names if not n.split("/")[0].endswith(".dist-info")}
    assert top == {"talon_harness"}
    assert "talon_harness/contracts/integration-v1.yaml" in names
    assert "talon_harness/contracts/DECISIONS.md" in names


def test_wheel_holds_every_package_and_data_file_of_the_tree(wheel: Path) -> None:
    """Every folder with an ``__init__.py`` and every file beside the modules (contracts, templates) ships:
    a subpackage missing from pyproject's explicit ``packages`` list installs as a ModuleNotFoundError."""
    names = set(zipfile.ZipFile(wheel).namelist())
    expected = {f"talon_harness/{path.relative_to(ROOT).as_posix()}"
                for folder in ("contracts", "strategies", "loadtests", "refserver", "harness")
                for path in (ROOT / folder).rglob("*")
                if path.is_file() and "__pycache__" not in path.parts
                and (path.suffix in (".py", ".j2") or folder == "contracts" and path.suffix in (".yaml", ".md"))}
    assert sorted(expected - names) == []


def test_installed_wheel_imports_only_under_talon_harness(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--disable-pip-version-check",
                    "--target", str(site), str(wheel)], check=True, capture_output=True, timeout=300)
    assert sorted(p.name for p in site.iterdir() if not p.name.endswith(".dist-info")) == ["bin", "talon_harness"]
    script = (
        "import importlib.util, sys\n"
        "import talon_harness.harness.cli, talon_harness.contracts.spec as spec\n"
        "assert spec.CONTRACT_FILE.exists(), spec.CONTRACT_FILE\n"
        "print(sorted(n for n in ('contracts', 'strategies', 'loadtests', 'refserver', 'harness')"
        " if importlib.util.find_spec(n)))\n"
        "print(talon_harness.harness.cli.__file__)\n"
    )
    out = subprocess.run([sys.executable, "-I", "-c", f"import sys; sys.path.insert(0, {str(site)!r}); {script}"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
    assert out.returncode == 0, out.stderr
    old_names, cli_file = out.stdout.splitlines()
    assert old_names == "[]"
    assert cli_file.startswith(str(site))
