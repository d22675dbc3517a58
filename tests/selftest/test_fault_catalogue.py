"""The fault catalogue: every fault registered, documented, wired into the server, and named after a
rule the harness knows (check, probe, SLO metric or strategies' Invalid.breaks)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from talon_harness.contracts.apis import domain_checks
from talon_harness.harness.check import BUILTIN_CHECKS
from talon_harness.harness.probes import PROBES
from talon_harness.loadtests.gates import METRICS
from talon_harness.refserver import ServerConfig, Store, create_app
from talon_harness.refserver.fault_layer import LAYER_FAULTS, with_faults
from talon_harness.refserver.faults import FAULT_CLASSES, FAULTS, check_fault_names
from talon_harness.strategies.invalid import INVALID_RULES

from .fault_triggers import TRIGGERS, observe

KNOWN_RULES = set(domain_checks("v1")) | set(BUILTIN_CHECKS) | set(INVALID_RULES) | set(PROBES) | set(METRICS)


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
def test_fault_changes_the_servers_answer_to_its_trigger(name: str, tmp_path: Path) -> None:
    """Behavioural: the trigger of each fault, sent to the ASGI app in-process, gets a different answer
    (status, content type, JSON with timestamps masked), committed state (read by another connection),
    concurrent outcome or latency from the faulty app than from the correct one; two correct apps agree,
    so the difference is the fault's."""
    trigger = TRIGGERS[name]
    correct = observe(tmp_path / "correct.db", ServerConfig(), trigger)
    assert observe(tmp_path / "again.db", ServerConfig(), trigger) == correct, "the trigger is not deterministic"
    faulty = observe(tmp_path / "faulty.db", ServerConfig(faults=frozenset({name})), trigger)
    assert faulty != correct, f"fault {name} changes nothing the trigger can see: {correct!r:.400}"


def test_every_fault_has_a_trigger() -> None:
    assert set(TRIGGERS) == set(FAULTS)


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
