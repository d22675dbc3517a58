"""The witness phase: every domain check names its witnesses, each witness fails on the catalogue fault of its
rule and passes on the correct server (the runner against a real refserver over loopback HTTP)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from talon_harness.contracts.apis import domain_checks
from talon_harness.contracts.violation import Violation
from talon_harness.contracts.witness import (
    DEFAULT_JUDGES,
    JUDGE_WITNESSES,
    READ_BACK_WITNESSES,
    RULE_WITNESSES,
    WITNESSES,
    Sent,
    run_witnesses,
)
from talon_harness.refserver import ServerConfig, ServerProcess, Store, create_app
from talon_harness.refserver.faults import FAULTS
from talon_harness.strategies.wire import Credentials

from .driver import serve

#: strategies.invalid rules (``Fault.rule`` of the validation-accept faults) are judged by invalid_body_rejected.
_INVALID_RULES = frozenset({"quantity_minimum", "session_unknown_field", "invalid_type", "cart_items_limit",
                            "attribute_depth_limit"})

#: fault -> exactly the checks its rule's witnesses fail with. Where it is not the rule's own check, the
#: fault breaks another rule first (an accepted closed->open is an illegal transition before it is a state).
CAUGHT_BY: dict[str, tuple[str, ...]] = {
    "error_pointer_relative": ("error_response_pointer", "illegal_transition_rejected", "invalid_body_rejected"),
    "quantity_zero_accepted": ("invalid_body_rejected", "response_schema_conformance"),
    "unknown_session_field_accepted": ("invalid_body_rejected",),
    "total_wrong_type_accepted": ("invalid_body_rejected", "response_schema_conformance"),
    "too_many_items_accepted": ("invalid_body_rejected",),
    "deep_attributes_accepted": ("invalid_body_rejected",),
    "attributes_replaced": ("attributes_merge",),
    "skip_session_state_machine": ("illegal_transition_rejected",),
    "closed_session_mutable": ("illegal_transition_rejected",),
    "retry_close_counted_twice": ("retry_counts_nothing_twice",),
    "cancel_keeps_total_sales": ("closed_sessions_bookkeeping",),
    "first_session_always_true": ("first_session_and_profile_autocreation",),
    "profile_not_autocreated": ("first_session_and_profile_autocreation",),
    "event_id_reused": ("event_id_strictly_increasing",),
    "close_event_type_updated": ("event_type",),
    "coupon_discount_missing": ("discounts_reflect_effects",),
    "path_id_lowercased": ("attributes_merge", "event_type", "path_id_echoed"),
    "other_session_overwritten": ("event_type", "session_fields_stored"),
}
#: faults of built-in checks the extra judges catch in the whole phase (stopping at the first failure).
CAUGHT_IN_PHASE: dict[str, tuple[str, ...]] = {
    "session_created_dropped": ("response_schema_conformance",),
    "event_id_as_string": ("event_id_strictly_increasing", "response_schema_conformance"),
    "undeclared_session_field": ("response_schema_conformance",),
    "text_plain_content_type": ("content_type_conformance",),
    "created_status_201": ("status_code_conformance",),
    "unicode_names_rejected": ("positive_data_acceptance",),
    "ids_with_spaces_rejected": ("positive_data_acceptance",),
    "long_ids_rejected": ("positive_data_acceptance",),
    "null_members_rejected": ("positive_data_acceptance",),
    "crash_on_nul": ("not_a_server_error", "status_code_conformance"),
    "crash_on_astral": ("not_a_server_error", "status_code_conformance"),
    "crash_on_1000_char_id": ("not_a_server_error", "status_code_conformance"),
    "crash_on_empty_cart": ("not_a_server_error", "status_code_conformance"),
    "crash_on_1000_items": ("not_a_server_error", "status_code_conformance"),
}

#: fault -> the request (probes counted) of the whole phase, on a fresh faulty server, that fails first. The phase is
#: deterministic, so these are exact; every semantic, validation and crash fault fails within 50 requests.
FIRST_FAILURE_AT: dict[str, int] = {
    "session_created_dropped": 1, "event_id_as_string": 1, "undeclared_session_field": 1,
    "text_plain_content_type": 1, "created_status_201": 1, "error_pointer_relative": 23, "quantity_zero_accepted": 46,
    "unknown_session_field_accepted": 47, "total_wrong_type_accepted": 33, "too_many_items_accepted": 48,
    "deep_attributes_accepted": 49, "unicode_names_rejected": 43, "ids_with_spaces_rejected": 37,
    "long_ids_rejected": 38, "null_members_rejected": 41, "crash_on_nul": 43, "crash_on_astral": 37,
    "crash_on_1000_char_id": 38, "crash_on_empty_cart": 42, "crash_on_1000_items": 44, "attributes_replaced": 14,
    "skip_session_state_machine": 23, "closed_session_mutable": 25, "retry_close_counted_twice": 12,
    "cancel_keeps_total_sales": 7, "first_session_always_true": 2, "profile_not_autocreated": 1, "event_id_reused": 2,
    "close_event_type_updated": 6, "coupon_discount_missing": 19, "path_id_lowercased": 1,
    "other_session_overwritten": 40,
}
#: requests of the phase on a correct server: 55 PUTs + one read-back per refusal of the READ_BACK_WITNESSES
PHASE_REQUESTS = 61


def _check_of(rule: str) -> str | None:
    return rule if rule in domain_checks("v1") else ("invalid_body_rejected" if rule in _INVALID_RULES else None)


def _witnesses_of(check: str) -> list[str]:
    return sorted({w for names in RULE_WITNESSES[check].values() for w in names})


@pytest.fixture(scope="module")
def correct_url() -> Iterator[str]:
    with ServerProcess(quiet=True) as server:
        yield server.base_url


def test_every_v1_domain_check_names_decisions_and_existing_witnesses() -> None:
    assert sorted(RULE_WITNESSES) == sorted(domain_checks("v1"))
    for check, decisions in RULE_WITNESSES.items():
        assert decisions, check
        for decision, names in decisions.items():
            assert names and set(names) <= set(WITNESSES), (check, decision, names)
    tables = (*RULE_WITNESSES.values(), *JUDGE_WITNESSES.values())
    used = {w for decisions in tables for names in decisions.values() for w in names}
    assert used == set(WITNESSES)
    assert set(JUDGE_WITNESSES) == {"not_a_server_error", "positive_data_acceptance", "status_code_conformance",
                                    "content_type_conformance", "response_schema_conformance"}


def test_every_catalogue_fault_of_a_domain_rule_is_expected_here() -> None:
    assert {n for n, f in FAULTS.items() if _check_of(f.rule)} == set(CAUGHT_BY)


def test_witnesses_are_deterministic_with_fresh_ids() -> None:
    for witness in WITNESSES.values():
        a, b, c = witness.build("WA"), witness.build("WA"), witness.build("WB")
        assert a == b and len(a) == len(c) and a
        assert all(s.entity_id.startswith("WA") for s in a) and all(s.entity_id.startswith("WB") for s in c)


def test_witness_phase_passes_on_correct_server(correct_url: str) -> None:
    result = run_witnesses(correct_url)
    assert result.error == "" and result.failures == (), [f.message for f in result.failures]
    assert list(result.witnesses) == list(WITNESSES)
    assert result.requests == PHASE_REQUESTS and result.steps == 55 and result.first_failure_request is None
    assert all(failed == 0 for _, failed in result.witnesses.values())


def _one_per(table: dict[str, tuple[str, ...]], key: Callable[[str], object]) -> list[object]:
    """``table``'s faults as params: the first of each ``key`` runs in CI, the others are ``slow``."""
    seen: set[object] = set()
    params = []
    for fault in sorted(table):
        first = key(fault) not in seen
        seen.add(key(fault))
        params.append(pytest.param(fault, marks=() if first else pytest.mark.slow))
    return params


#: CI runs one fault per domain check (its witnesses fail on it); the rest of the catalogue is ``slow``
@pytest.mark.parametrize("fault", _one_per(CAUGHT_BY, lambda fault: _check_of(FAULTS[fault].rule)))
def test_rule_witnesses_fail_on_the_rules_fault(fault: str, correct_url: str) -> None:
    check = _check_of(FAULTS[fault].rule)
    assert check is not None
    names = _witnesses_of(check)
    with ServerProcess(faults=[fault], quiet=True) as server:
        url = server.base_url
        broken = run_witnesses(url, names=names)
    assert broken.error == "" and broken.failed_checks == CAUGHT_BY[fault], [f.message for f in broken.failures]
    failure = broken.failures[0]
    assert failure.witness in names and f"[{failure.check}]" in failure.message
    assert failure.url.startswith(url) and failure.method == "PUT"
    clean = run_witnesses(correct_url, names=names)
    assert clean.failures == () and clean.error == ""


def test_the_first_failure_table_covers_every_witnessed_fault() -> None:
    witnessed = {n for n, f in FAULTS.items() if f.fault_class in ("semantics", "validation", "crash")}
    assert witnessed <= set(FIRST_FAILURE_AT) and set(CAUGHT_BY) | set(CAUGHT_IN_PHASE) == set(FIRST_FAILURE_AT)
    assert set(CAUGHT_BY).isdisjoint(CAUGHT_IN_PHASE)


@pytest.mark.parametrize("fault", sorted(FIRST_FAILURE_AT))
def test_every_witnessed_fault_fails_the_phase_within_50_requests(fault: str, tmp_path: Path) -> None:
    """A real run of the whole phase (stopping at the first failure) against a fresh reference app with the
    fault, over loopback HTTP (uvicorn in a thread): it fails at exactly the request the table names, which
    is at most the 50th, with exactly the checks expected (the judges' faults) or the rule's own check."""
    store = Store(tmp_path / "faulty.db")
    try:
        with serve(create_app(store, ServerConfig(faults=frozenset({fault})))) as url:
            result = run_witnesses(url, stop_at_first_failure=True)
    finally:
        store.close()
    messages = [f.message for f in result.failures]
    assert result.error == "" and result.first_failure_request == FIRST_FAILURE_AT[fault] <= 50, messages
    assert result.first_failure_request < PHASE_REQUESTS
    if fault in CAUGHT_IN_PHASE:
        assert result.failed_checks == CAUGHT_IN_PHASE[fault], messages
        assert FAULTS[fault].rule in result.failed_checks and FAULTS[fault].rule in JUDGE_WITNESSES
    else:
        assert set(result.failed_checks) <= set(CAUGHT_BY[fault]) | set(JUDGE_WITNESSES), messages


def test_only_the_read_back_witnesses_read_back(correct_url: str) -> None:
    assert READ_BACK_WITNESSES == {"rejected_change", "illegal_transitions"}
    result = run_witnesses(correct_url, names=["invalid_bodies", "rejected_change"])
    assert result.witnesses == {"rejected_change": (5, 0), "invalid_bodies": (16, 0)}


def test_judges_are_pluggable(correct_url: str) -> None:
    seen: list[Sent] = []

    def oracle(sent: Sent) -> list[Violation]:
        seen.append(sent)
        return [Violation("matches_reference", "", "differs")] if sent.step.step == "close_session" else []

    result = run_witnesses(correct_url, judges=(*DEFAULT_JUDGES, oracle), names=["close_then_cancel"])
    assert [f.check for f in result.failures] == ["matches_reference"]
    assert result.failures[0].step == "close_session" and len(seen) == 4
    assert run_witnesses(correct_url, judges=(), names=["invalid_bodies"]).failures == ()


def test_excluded_checks_do_not_fail_the_phase() -> None:
    with ServerProcess(faults=["cancel_keeps_total_sales"], quiet=True) as server:
        excluded = run_witnesses(server.base_url, names=["close_then_cancel"], exclude=["closed_sessions_bookkeeping"])
        other = run_witnesses(server.base_url, names=["close_then_cancel"], only=["event_type"])
        chosen = run_witnesses(server.base_url, names=["close_then_cancel"], only=["closed_sessions_bookkeeping"])
    assert excluded.failures == () and other.failures == ()
    assert chosen.failed_checks == ("closed_sessions_bookkeeping",)


def test_credentials_are_sent_signed() -> None:
    creds = Credentials(api_key="witness-key-42", hmac_application_id=3, hmac_key="0123456789abcdef")
    with ServerProcess(api_key="witness-key-42", hmac_key="0123456789abcdef", application_id=3,
                       quiet=True) as server:
        good = run_witnesses(server.base_url, credentials=creds, names=["retry"])
        unsigned = run_witnesses(server.base_url, names=["retry"], stop_at_first_failure=True)
    assert good.failures == () and good.requests == 5
    assert unsigned.failed_checks == ("positive_data_acceptance",)  # 401 for a call that must succeed


def test_unreachable_target_is_an_error_not_a_pass() -> None:
    result = run_witnesses("http://127.0.0.1:9", timeout=2)
    assert result.requests == 0 and result.failures == () and result.error.startswith("witness first_sessions")
