"""The model and the pure rules behind the domain checks, on hand-built exchanges (no server needed)."""

from __future__ import annotations

from typing import Any

import pytest

from talon_harness.contracts import rules
from talon_harness.contracts.model import Exchange, Model, entity_of, merge_attributes, valid_id

BASE = "http://127.0.0.1:1"


def _session(sid: str, body: bytes, status: int = 200, **session: Any) -> Exchange:
    response: Any = None
    if status == 200:
        stored = {"integrationId": sid, "state": "open", "total": 0, "profileId": "", "firstSession": True,
                  "cartItems": [], "attributes": {}, "coupon": "", "referral": "", **session}
        response = {"session": stored, "profile": None, "event": {"id": 1, "type": "talon_session_created"}}
    return Exchange.of("PUT", f"{BASE}/v1/customer_sessions/{sid}", body, {"Content-Type": "application/json"},
                       status, response)


def test_entity_of_routes_on_the_raw_path_like_the_server() -> None:
    assert entity_of(f"{BASE}/v1/customer_sessions/a%2Fb") == ("updateCustomerSession", "a/b")
    assert entity_of(f"{BASE}/v1/customer_profiles/%C3%A9") == ("updateCustomerProfile", "é")
    assert entity_of(f"{BASE}/v1/customer_profiles/a/b") == ("updateCustomerProfile", None)
    assert entity_of(f"{BASE}/v1/customer_profiles/%FF") == ("updateCustomerProfile", None)
    assert entity_of(f"{BASE}/v2/other") == (None, None)


def test_valid_id_follows_d12() -> None:
    assert valid_id("x" * 1000) and valid_id(" ") and valid_id("😀")
    assert not valid_id("") and not valid_id("x" * 1001) and not valid_id("a\x00") and not valid_id("\x85")


def test_merge_attributes_keeps_stored_keys_and_ignores_nulls() -> None:
    assert merge_attributes({"a": 1, "b": 2}, {"b": None, "c": 3}) == {"a": 1, "b": 2, "c": 3}


@pytest.mark.parametrize(("pointer", "ok"), [
    ("", True), ("/state", True), ("/cartItems/0/sku", True), ("/cartItems/0/missing", True),
    ("/cartItems/1", False), ("/cartItems/01", False), ("/a~1b", True), ("/nope/deeper", False), ("state", False),
])
def test_pointer_resolves_names_a_member_or_a_missing_member(pointer: str, ok: bool) -> None:
    document = {"state": "open", "cartItems": [{"sku": "x"}], "a/b": 1}
    assert rules.pointer_resolves(pointer, document) is ok


def test_model_learns_only_from_accepted_calls_and_judges_transitions() -> None:
    model = Model(fresh=True)
    model.observe(_session("s", b'{"state":"closed"}', state="closed"))
    rejected = model.observe(_session("s", b'{"state":"open"}', status=400))
    assert rejected.before_session is not None and rejected.before_session.state == "closed"
    assert rules.illegal_reason(rejected) == ("illegal transition closed -> open", {"/state"})
    assert model.session("s").state == "closed"  # type: ignore[union-attr]
    retry = model.observe(_session("s", b'{"state":"closed"}', state="closed"))
    assert rules.is_retry(retry) and rules.illegal_reason(retry) is None
    change = model.observe(_session("s", b'{"total":5}', status=400))
    assert rules.illegal_reason(change) == ("change to a closed session (total)", {"/total"})


def test_unseen_ids_are_unknown_unless_the_server_started_empty() -> None:
    assert Model(fresh=False).observe(_session("n", b"{}")).existed is None
    assert Model(fresh=True).observe(_session("n", b"{}")).existed is False


def test_schema_valid_rejects_what_the_server_must_reject() -> None:
    model = Model()
    assert rules.schema_valid(model.observe(_session("s", b'{"state":"open"}')))
    assert not rules.schema_valid(model.observe(_session("s", b'{"state":"open","state":"closed"}', 400)))
    assert not rules.schema_valid(model.observe(_session("s", b'{"total":1e400}', 400)))
    assert not rules.schema_valid(model.observe(_session("s", b'{"bogus":1}', 400)))


def test_a_closed_session_repeating_its_cart_with_nulls_and_integral_floats_is_no_change() -> None:
    model = Model(fresh=True)
    stored_item = {"name": "n", "sku": "s", "quantity": 2, "price": 1.5, "attributes": {"a": 1}}
    model.observe(_session("s", b"{}", state="closed", cartItems=[stored_item]))
    repeat = model.observe(_session(
        "s", b'{"cartItems":[{"name":"n","sku":"s","quantity":2.0,"price":1.5,"width":null,'
             b'"attributes":{"a":1,"b":null}}]}', status=200, state="closed", cartItems=[stored_item]))
    assert rules.changed_fields(repeat) == []
    flipped = model.observe(_session("s", b'{"cartItems":[{"name":"n","sku":"s","quantity":2,"price":1.5,'
                                          b'"attributes":{"a":true}}]}', status=400))
    assert rules.changed_fields(flipped) == ["cartItems"]


def test_a_bounded_model_forgets_the_older_half_and_then_claims_less() -> None:
    m = Model(fresh=True, max_entities=4)
    for i in range(5):
        stored = {"integrationId": f"s{i}", "state": "open", "total": 0, "profileId": "", "firstSession": True,
                  "cartItems": [], "attributes": {}, "coupon": "", "referral": ""}
        m.observe(Exchange.of("PUT", f"{BASE}/v1/customer_sessions/s{i}", b"{}", {"Content-Type": "application/json"},
                              200, {"session": stored, "profile": None,
                                    "event": {"id": i + 1, "type": "talon_session_created"}}))
    assert (m.forgotten, m.fresh) == (2, False)
    assert m.session("s1") is None and m.session("s2") is not None
    later = m.observe(_session("s0", b"{}", status=400))
    assert later.existed is None  # forgotten: unknown, no longer "known absent"
    assert 1 not in later.seen_event_ids and 5 in later.seen_event_ids
    assert m.observe(_session("s4", b"{}", status=400)).existed is True
