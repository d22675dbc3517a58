"""Every decision the code or the contract cites (``D<n>``) is stated in ``contracts/DECISIONS.md``, which
ships inside the package and is what the contract points to."""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("contracts", "strategies", "loadtests", "refserver", "harness")
_CITED = re.compile(r"\bD(\d+)\b")
_SECTION = re.compile(r"^## D(\d+) \S", re.MULTILINE)


def _decisions() -> str:
    return (resources.files("talon_harness.contracts") / "DECISIONS.md").read_text(encoding="utf-8")


def _cited() -> dict[int, list[str]]:
    found: dict[int, list[str]] = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*")):
            if path.suffix in (".py", ".yaml", ".yml") and path.is_file():
                for number in _CITED.findall(path.read_text(encoding="utf-8")):
                    found.setdefault(int(number), []).append(str(path.relative_to(ROOT)))
    return found


def test_every_cited_decision_has_a_section() -> None:
    sections = {int(n) for n in _SECTION.findall(_decisions())}
    cited = _cited()
    assert len(cited) >= 15 and sum(map(len, cited.values())) > 100  # the scan sees the code
    missing = {f"D{n}": sorted(set(where))[:3] for n, where in cited.items() if n not in sections}
    assert missing == {}


def test_sections_are_numbered_once_each_in_order() -> None:
    numbers = [int(n) for n in _SECTION.findall(_decisions())]
    assert numbers[:15] == list(range(1, 16))  # the seed's D1-D15; later ones (D16+) follow in order
    assert numbers == sorted(set(numbers))


def test_contract_points_to_the_shipped_document() -> None:
    contract = yaml.safe_load((ROOT / "contracts" / "integration-v1.yaml").read_text(encoding="utf-8"))
    assert contract["info"]["x-decisions-source"].startswith("DECISIONS.md")
    assert "shared/" not in (ROOT / "contracts" / "integration-v1.yaml").read_text(encoding="utf-8")
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "*.md" in pyproject["tool"]["setuptools"]["package-data"]["talon_harness.contracts"]
