"""The fault catalogue: every fault registered, documented, wired into the server, and named after a
rule the harness knows (check, probe, SLO metric or strategies' Invalid.breaks)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from talon_harness.contracts.checks import DOMAIN_CHECKS
from talon_harness.harness.check import BUILTIN_CHECKS
from talon_harness.harness.probes import PROBES
from talon_harness.loadtests.gates import METRICS
from talon_harness.refserver import ServerConfig, Store, create_app
from talon_harness.refserver.fault_layer import LAYER_FAULTS, with_faults
from talon_harness.refserver.faults import FAULT_CLASSES, FAULTS, SUPPRESSED_ERRORS, check_fault_names
from talon_harness.strategies.invalid import INVALID_RULES

REFSERVER = Path(__file__).resolve().parents[2] / "refserver"
KNOWN_RULES = set(DOMAIN_CHECKS) | set(BUILTIN_CHECKS) | set(INVALID_RULES) | set(PROBES) | set(METRICS)


def test_catalogue_has_at_least_25_documented_faults_in_every_class() -> None:
    assert len(FAULTS) >= 25
    for name, fault in FAULTS.items():
        assert fault.name == name
        assert fault.fault_class in FAULT_CLASSES
        assert fault.description.strip() and fault.rule
    assert {f.fault_class for f in FAULTS.values()} == set(FAULT_CLASSES)


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_rule_names_a_check_probe_slo_or_invalid_rule(name: str) -> None:
    assert FAULTS[name].rule in KNOWN_RULES, f"{name}: rule {FAULTS[name].rule!r} is used nowhere else"


def test_probe_names_are_the_rules_of_the_faults_they_catch() -> None:
    assert {"acknowledged_write_durable", "concurrent_closes_all_counted"} <= {f.rule for f in FAULTS.values()}


@pytest.mark.parametrize("name", sorted(FAULTS))
def test_fault_is_consulted_by_the_server(name: str) -> None:
    sources = "".join(p.read_text() for p in REFSERVER.glob("*.py") if p.name != "faults.py")
    acted_on = f'"{name}"' in sources or name in SUPPRESSED_ERRORS
    assert acted_on, f"fault {name} is catalogued but nothing in refserver/ acts on it"


def test_layer_faults_are_catalogued() -> None:
    assert LAYER_FAULTS <= FAULTS.keys()


def test_unknown_fault_name_is_rejected_listing_valid_ones() -> None:
    with pytest.raises(ValueError, match="valid faults: .*crash_on_nul"):
        ServerConfig(faults=frozenset({"no_such_fault"}))
    assert check_fault_names(["crash_on_nul"]) == frozenset({"crash_on_nul"})


def test_no_faults_means_the_plain_app() -> None:
    with tempfile.TemporaryDirectory() as tmp, Store(os.path.join(tmp, "x.db")) as store:
        sentinel = object()
        assert with_faults(sentinel, store, ServerConfig()) is sentinel  # type: ignore[arg-type]
        assert create_app(store, ServerConfig()).__name__ == "app"
        assert create_app(store, ServerConfig(faults=frozenset({"crash_on_nul"}))).__name__ == "faulty"
