"""The rule registry (``contracts.domain``): every rule declared once and tied to its decision, witnesses and
catalogue faults; importing it registers nothing with schemathesis; the same registry judges everywhere."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from talon_harness.contracts.apis import all_rules
from talon_harness.contracts.domain import NOT_APPLICABLE, RULES, judge
from talon_harness.contracts.model import Exchange, Model
from talon_harness.contracts.sequences import JUDGE_WITNESSES, WITNESSES
from talon_harness.contracts.violation import Violation
from talon_harness.refserver.faults import FAULTS
from talon_harness.strategies.invalid import INVALID_RULES

ROOT = Path(__file__).resolve().parents[2]
DECISIONS = (ROOT / "contracts" / "DECISIONS.md").read_text(encoding="utf-8")
SECTIONS = set(re.findall(r"^#+ (D\d+)\b", DECISIONS, re.MULTILINE))
#: Rules no catalogue fault breaks yet (tests/contract/test_checks_catch.py breaks them with a response mutation);
#: the test below fails as soon as one gets a fault, so the list can only shrink.
WITHOUT_CATALOGUE_FAULT = {"failed_request_changes_nothing", "effects_well_formed"}


def test_every_rule_has_a_decision_section_a_title_and_existing_witnesses() -> None:
    assert len(SECTIONS) >= 15
    for name, rule in RULES.items():
        assert rule.name == name and rule.title and "\n" not in rule.title
        assert set(rule.decisions) <= SECTIONS, (name, rule.decisions)
        assert rule.witnesses and all(names and set(names) <= set(WITNESSES) for names in rule.witnesses.values())
    used = {w for r in RULES.values() for names in r.witnesses.values() for w in names}
    used |= {w for claims in JUDGE_WITNESSES.values() for names in claims.values() for w in names}
    assert used == set(WITNESSES)


def test_every_rule_names_the_catalogue_faults_that_break_it_and_every_fault_a_rule() -> None:
    for name, rule in RULES.items():
        assert bool(rule.faults) is (name not in WITHOUT_CATALOGUE_FAULT), name
        for fault in rule.faults:  # a fault of a domain rule, or of the strategies.invalid rule it refuses
            assert FAULTS[fault].rule in RULES or (name == "invalid_body_rejected" and FAULTS[fault].rule in INVALID_RULES)
    for name, fault in FAULTS.items():  # a catalogue fault of a domain rule is named by that rule
        if fault.rule in RULES:
            assert name in RULES[fault.rule].faults, name
        if fault.rule in INVALID_RULES:
            assert name in RULES["invalid_body_rejected"].faults, name
    claimed = {f for r in RULES.values() for f in r.faults}
    assert claimed == {n for n, f in FAULTS.items() if f.rule in RULES or f.rule in INVALID_RULES}


def test_importing_the_rules_registers_no_schemathesis_check() -> None:
    code = ("import sys, talon_harness.contracts.checks, talon_harness.contracts.domain, "
            "talon_harness.contracts.witness, talon_harness.contracts.traffic; "
            "print('schemathesis' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == "False"
    code = ("from schemathesis.checks import CHECKS; before = set(CHECKS.get_all_names()); "
            "import talon_harness.contracts.hooks as h; "
            "print(sorted(set(CHECKS.get_all_names()) - before))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120)
    assert out.stdout.strip() == str(sorted([*all_rules(), "matches_reference"]))  # v1's and v2's rules


def test_a_rule_is_a_plain_function_of_an_observation() -> None:
    model = Model(fresh=True)
    body = {"session": {"integrationId": "s1", "state": "open", "profileId": "", "firstSession": True,
                        "cartItems": [], "attributes": {}, "coupon": "", "referral": "", "total": 0, "discounts": {}},
            "profile": None, "event": {"id": 1, "type": "talon_session_updated", "effects": [], "sessionId": "s1",
                                       "profileId": ""}}
    obs = model.observe(Exchange.of("PUT", "http://h/v1/customer_sessions/s1", b"{}", {}, 200, body))
    found = judge(obs)
    assert [v.rule for v in found] == ["event_type"]
    violation = found[0]
    assert isinstance(violation, Violation) and violation.decision == "D10"
    assert violation.summary == "the event does not describe the call" and violation.url.endswith("/s1")
    assert violation.text().startswith("[event_type] the event does not describe the call\n  sent:     PUT ")
    assert RULES["invalid_body_rejected"].judge(obs) is NOT_APPLICABLE  # no invalid tag on this observation
    assert RULES["failed_request_changes_nothing"].judge(obs) is NOT_APPLICABLE  # accepted, and no read-back
    assert Violation.from_json(violation.to_json()) == violation
