"""Every valid, realistic and edge body (and every id) is what the contract says it is."""

from __future__ import annotations

from typing import Any

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from talon_harness.contracts import load_contract
from talon_harness.strategies import (
    PROFILE,
    SESSION,
    edge_cart_items,
    edge_customer_profiles,
    edge_customer_sessions,
    entity_ids,
    invalid_ids,
    new_customer_profiles,
    new_customer_sessions,
    realistic_customer_profiles,
    realistic_customer_sessions,
)
from talon_harness.strategies.bodies import cart_items
from talon_harness.strategies.realistic import realistic_carts

VALID_PROFILES = {
    "valid": new_customer_profiles(),
    "realistic": realistic_customer_profiles(),
    "edge": edge_customer_profiles(),
}
VALID_SESSIONS = {
    "valid": new_customer_sessions(),
    "realistic": realistic_customer_sessions(),
    "edge": edge_customer_sessions(),
    "valid_items": st.lists(cart_items(), min_size=1, max_size=5).map(lambda items: {"cartItems": items}),
    "edge_items": st.lists(edge_cart_items(), min_size=1, max_size=5).map(lambda items: {"cartItems": items}),
    "realistic_carts": realistic_carts().map(lambda items: {"cartItems": items}),
}


def _id_validator() -> jsonschema.protocols.Validator:
    contract = load_contract()
    schema = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        **contract["components"]["schemas"]["EntityId"],
    }
    return jsonschema.Draft202012Validator(schema)


def _assert_valid(validator: jsonschema.protocols.Validator, body: Any) -> None:
    errors = [f"{e.json_path}: {e.message[:200]}" for e in validator.iter_errors(body)]
    assert not errors, errors


@pytest.mark.parametrize("family", sorted(VALID_PROFILES))
def test_profile_bodies_validate_against_contract(family: str, request_validators: dict) -> None:
    @given(VALID_PROFILES[family])
    def check(body: dict[str, Any]) -> None:
        _assert_valid(request_validators[PROFILE], body)

    check()


@pytest.mark.parametrize("family", sorted(VALID_SESSIONS))
def test_session_bodies_validate_against_contract(family: str, request_validators: dict) -> None:
    @given(VALID_SESSIONS[family])
    def check(body: dict[str, Any]) -> None:
        _assert_valid(request_validators[SESSION], body)

    check()


def test_entity_ids_validate_against_contract_entity_id() -> None:
    validator = _id_validator()

    @given(entity_ids())
    def check(entity_id: str) -> None:
        _assert_valid(validator, entity_id)

    check()


def test_invalid_ids_fail_contract_entity_id() -> None:
    # jsonschema_rs: ECMA-262 `$` (end of string). Python's `re`, which the jsonschema package uses, also
    # lets `$` match before a final "\n", so it takes "\n" for a valid id although the pattern refuses it.
    validator = jsonschema_rs.validator_for(_id_validator().schema)

    @given(invalid_ids())
    def check(entity_id: str) -> None:
        assert not validator.is_valid(entity_id), repr(entity_id[:50])

    check()
