"""The v2 rules (contracts/domain/v2_*.py) and the v2 witness phase (contracts/v2_witness.py): the registry
holds for v2 as for v1 (every rule a decision, witnesses and faults; every v2 fault a rule or check), the
correct reference server passes the v2 witness phase over real loopback HTTP, and every v2 fault but the
performance one (the load's) fails it on the exact check its catalogue entry names."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from talon_harness.contracts.apis import rules_for, witness_judges, witness_table
from talon_harness.contracts.domain import NOT_APPLICABLE
from talon_harness.contracts.model import Exchange, Model
from talon_harness.contracts.v2_witness import V2_JUDGE_WITNESSES, V2_RULES, V2_WITNESSES
from talon_harness.contracts.witness import run_witnesses
from talon_harness.refserver import ServerProcess
from talon_harness.refserver.faults import FAULT_CLASSES, V2_FAULTS
from talon_harness.strategies.wire import Credentials

ROOT = Path(__file__).resolve().parents[2]
SECTIONS = set(re.findall(r"^#+ (D\d+)\b", (ROOT / "contracts" / "DECISIONS.md").read_text(encoding="utf-8"),
                          re.MULTILINE))
KEY = "h3-key"


def test_every_v2_rule_has_a_v2_decision_witnesses_and_faults_and_every_v2_fault_a_rule_or_check() -> None:
    assert rules_for("v2") is V2_RULES and len(V2_RULES) >= 10
    for name, rule in V2_RULES.items():
        assert rule.name == name and name.startswith("v2_") and rule.title and "\n" not in rule.title
        assert set(rule.decisions) <= SECTIONS and all(20 <= int(d[1:]) <= 36 for d in rule.decisions), name
        assert rule.witnesses and all(names and set(names) <= set(V2_WITNESSES) for names in rule.witnesses.values())
        assert rule.faults and all(V2_FAULTS[f].rule == name for f in rule.faults), name
    used = {w for r in V2_RULES.values() for names in r.witnesses.values() for w in names}
    used |= {w for claims in V2_JUDGE_WITNESSES.values() for names in claims.values() for w in names}
    assert used == set(V2_WITNESSES)
    for name, fault in V2_FAULTS.items():
        if fault.rule in V2_RULES:
            assert name in V2_RULES[fault.rule].faults, name
        else:
            assert fault.rule in V2_JUDGE_WITNESSES or fault.rule == "p95_ms", name
    assert len(V2_FAULTS) >= 20 and {f.fault_class for f in V2_FAULTS.values()} == set(FAULT_CLASSES)


def _exchange(session_id: str, body: dict[str, Any], answer: dict[str, Any], query: str = "") -> Exchange:
    return Exchange.of("PUT", f"http://127.0.0.1:9/v2/customer_sessions/{session_id}{query}", json.dumps(body),
                       {"Content-Type": "application/json"}, 200, answer)


def _session(count: int, state: str = "open", **extra: Any) -> dict[str, Any]:
    return {"integrationId": "x", "state": state, "profileId": "", "couponCodes": [], "referralCode": "",
            "cartItems": [], "additionalCosts": {}, "attributes": {}, "firstSession": True, "updateCount": count,
            "cartItemTotal": 0, "additionalCostTotal": 0, "total": 0, **extra}


def test_rules_need_the_session_the_model_knows_and_a_dry_call_teaches_it_nothing() -> None:
    model, sid = Model(fresh=True), "rules-unit-1"
    content = {"customerSession": {}, "responseContent": ["customerSession", "event"]}
    created = {"effects": [], "createdCoupons": [], "createdReferrals": [], "customerSession": _session(1),
               "event": {"type": "talon_session_created"}}
    first = model.observe(_exchange(sid, content, created))
    assert V2_RULES["v2_update_count"].judge(first) is None
    dry = {**created, "customerSession": _session(2), "event": {"type": "talon_session_updated"}}
    assert V2_RULES["v2_update_count"].judge(model.observe(_exchange(sid, content, dry, "?dry=true"))) is None
    # the write after the dry call: a server that stored the dry call answers 3 (v2_dry_writes)
    wrote = model.observe(_exchange(sid, content, {**dry, "customerSession": _session(3)}))
    violation = V2_RULES["v2_dry_persists_nothing"].judge(wrote)
    assert violation is not None and violation is not NOT_APPLICABLE
    assert V2_RULES["v2_update_count"].judge(wrote) is NOT_APPLICABLE  # the dry rule's to say
    unknown = model.observe(_exchange("rules-unit-2", {"customerSession": {"state": "closed"}},
                                      {"effects": [], "createdCoupons": [], "createdReferrals": []}))
    assert V2_RULES["v2_state_machine"].judge(unknown) is NOT_APPLICABLE  # never seen, no event: unknown


def _witness(fault: str) -> tuple[str, ...]:
    with ServerProcess(faults=[fault] if fault else [], quiet=True, api="v1-2021", api_key=KEY) as server:
        result = run_witnesses(server.base_url, credentials=Credentials(api_key=KEY), judges=witness_judges("v2"),
                               table=witness_table("v2"))
    assert result.error == "" and result.steps == sum(len(w.build("p")) for w in V2_WITNESSES.values())
    return result.failed_checks


def test_the_correct_server_passes_the_v2_witness_phase() -> None:
    assert _witness("") == ()


@pytest.mark.parametrize("fault", sorted(f for f, spec in V2_FAULTS.items() if spec.fault_class != "performance"))
def test_each_v2_fault_fails_the_v2_witness_phase_on_its_own_check(fault: str) -> None:
    assert V2_FAULTS[fault].rule in _witness(fault)
