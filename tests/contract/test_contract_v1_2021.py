"""The final v1 revision's contract (integration-v1-2021.yaml, 2021-02) next to the seed's (D16-D19).

Field for field what changed between the revisions, everything else identical, and the reference server's
validation of the final revision agreeing with the contract's own request schema on generated bodies."""

from __future__ import annotations

from importlib import resources
from typing import Any

import jsonschema_rs
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from openapi_spec_validator import validate

from talon_harness.contracts.spec import CONTRACT_FILES, query_parameters
from talon_harness.refserver import validation
from talon_harness.strategies import edge_customer_sessions, invalid_session_bodies, new_customer_sessions

_PATHS = ("/v1/customer_profiles/{integrationId}", "/v1/customer_sessions/{customerSessionId}")
_CHANGED = {"NewCustomerSession", "CartItem", "CartItemAdjustment", "IntegrationState", "CustomerSession",
            "CustomerProfile", "Event", "ErrorSource"}
_ADDED = {"AudienceMembership", "Coupon", "Loyalty", "LoyaltyProgramLedgers", "LoyaltyProgramBalance", "Meta",
          "CouponRejectionReason", "ReferralRejectionReason"}


def _load(api: str) -> dict[str, Any]:
    with CONTRACT_FILES[api].open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


SEED, LATE = _load("v1"), _load("v1-2021")
S, S0 = LATE["components"]["schemas"], SEED["components"]["schemas"]


def test_both_documents_are_valid_openapi_and_shipped() -> None:
    validate(LATE)
    validate(SEED)
    shipped = resources.files("talon_harness.contracts") / "integration-v1-2021.yaml"
    assert yaml.safe_load(shipped.read_text(encoding="utf-8")) == LATE


def test_both_operations_are_deprecated_and_take_dry() -> None:
    dry = LATE["components"]["parameters"]["dry"]
    assert (dry["name"], dry["in"], dry["required"], dry["schema"], dry["x-decision"]) == (
        "dry", "query", False, {"type": "boolean"}, "D17")
    for path in _PATHS:
        op = LATE["paths"][path]["put"]
        assert op["deprecated"] is True
        assert {"$ref": "#/components/parameters/dry"} in op["parameters"]
        assert "deprecated" not in SEED["paths"][path]["put"]
    assert (query_parameters("v1-2021"), query_parameters("v1")) == (frozenset({"dry"}), frozenset())


def test_session_body_fields_of_the_final_revision() -> None:
    late, seed = S["NewCustomerSession"]["properties"], S0["NewCustomerSession"]["properties"]
    assert set(late) == set(seed) | {"identifiers"}
    assert late["identifiers"] == {
        "type": ["array", "null"], "maxItems": 5, "x-decision": "D19", "items": {"type": "string"},
        "description": late["identifiers"]["description"]}
    for code in ("coupon", "referral"):
        assert (late[code]["maxLength"], "maxLength" in seed[code]) == (100, False)
        assert S["CustomerSession"]["properties"][code]["maxLength"] == 100
    assert S["NewCustomerSession"]["additionalProperties"] is False


def test_adjustment_is_gone() -> None:
    assert "CartItemAdjustment" not in S and "CartItemAdjustment" in S0
    assert {k: v for k, v in S["CartItem"]["properties"]["adjustment"].items() if k != "description"} == {
        "type": "null"}
    assert "adjustment" not in S["CartItem"]["required"]


def test_optional_response_members_the_revision_added() -> None:
    assert set(S["IntegrationState"]["properties"]) - set(S0["IntegrationState"]["properties"]) == {"coupon", "loyalty"}
    assert S["IntegrationState"]["required"] == ["session", "profile", "event"]
    assert set(S["Event"]["properties"]) - set(S0["Event"]["properties"]) == {"meta"}
    assert set(S["CustomerSession"]["properties"]) - set(S0["CustomerSession"]["properties"]) == {"identifiers"}
    assert "identifiers" not in S["CustomerSession"]["required"]
    assert set(S["CustomerProfile"]["properties"]) - set(S0["CustomerProfile"]["properties"]) == {"audienceMemberships"}
    assert set(S0["CustomerProfile"]["required"]) - set(S["CustomerProfile"]["required"]) == {"loyaltyMemberships"}
    assert set(S["ErrorSource"]["properties"]) == {"pointer", "parameter", "line", "resource"}
    assert S["LoyaltyProgramBalance"]["required"] == [
        "currentBalance", "pendingBalance", "expiredBalance", "spentBalance", "tentativeCurrentBalance"]
    assert S["LoyaltyProgramLedgers"]["required"] == ["id", "title", "name", "ledger"]


def _rules(schema: Any) -> Any:
    """A schema without its prose (descriptions and decision tags)."""
    if isinstance(schema, dict):
        return {k: _rules(v) for k, v in schema.items() if k not in ("description", "x-decision")}
    return [_rules(v) for v in schema] if isinstance(schema, list) else schema


def test_everything_else_is_the_seed_contract() -> None:
    assert set(S) == (set(S0) - {"CartItemAdjustment"}) | _ADDED
    assert {n: S[n] for n in S0 if n not in _CHANGED} == {n: S0[n] for n in S0 if n not in _CHANGED}
    for name in _CHANGED - {"CartItemAdjustment"}:
        kept = set(S0[name]["properties"]) - {"adjustment", "coupon", "referral"}
        assert {k: _rules(S0[name]["properties"][k]) for k in kept} == {k: _rules(S[name]["properties"][k]) for k in kept}
    late, seed = LATE["components"]["responses"], SEED["components"]["responses"]
    assert set(late) == set(seed)
    assert {name for name in seed if _rules(late[name]) != _rules(seed[name])} == {"SessionState"}  # its example


_REQUEST = jsonschema_rs.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema",
                                        "components": LATE["components"],
                                        "$ref": "#/components/schemas/NewCustomerSession"})
_LATE_MEMBERS = st.fixed_dictionaries({}, optional={
    "identifiers": st.one_of(st.none(), st.lists(st.text(max_size=5), max_size=7), st.lists(st.integers(), max_size=2)),
    "coupon": st.one_of(st.text(min_size=95, max_size=105), st.integers()),
    "referral": st.text(min_size=98, max_size=102),
    "cartItems": st.lists(st.fixed_dictionaries(
        {"name": st.just("n"), "sku": st.just("s"), "quantity": st.just(1), "price": st.just(2.5)},
        optional={"adjustment": st.one_of(st.none(), st.just({"payFromLoyaltyProgram": 1, "pointPayment": 2}))}),
        max_size=3),
})
_BODIES = st.one_of(new_customer_sessions(), edge_customer_sessions(), invalid_session_bodies(), _LATE_MEMBERS).map(
    lambda b: b.body if hasattr(b, "body") else b).filter(lambda b: not isinstance(b, bytes))


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(_BODIES)
def test_server_validation_of_the_final_revision_agrees_with_its_contract(body: Any) -> None:
    errors = validation.validate_session(body, late=True)
    assert (errors == []) == _REQUEST.is_valid(body), errors
    full: list[Any] = []
    if isinstance(body, dict):
        for key, value in body.items():
            check = validation._SESSION_MEMBERS_2021.get(key)
            if check is None:
                full.append(key)
            elif value is not None:
                check(value, "/" + key, full)
    else:
        full.append("not an object")
    assert validation._session_ok(body, True) == (not full)  # the fast path says "valid" only when it is
