"""The contract document itself: valid OpenAPI 3.1, loadable by schemathesis, faithful to D1-D15."""

from __future__ import annotations

import re
import warnings

import jsonschema_rs
import pytest
import schemathesis
from openapi_spec_validator import validate

from talon_harness import contracts

MODELS = (
    "NewCustomerProfile", "NewCustomerSession", "CartItem", "CartItemAdjustment", "IntegrationState",
    "CustomerProfile", "CustomerSession", "Event", "LedgerEntry", "LoyaltyMembership", "ErrorResponse",
    "APIError", "ErrorSource", "Effect",
)


def test_contract_validates_with_openapi_spec_validator() -> None:
    validate(contracts.load_contract())


def test_schemathesis_loads_contract_without_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        schema = schemathesis.openapi.from_path(contracts.CONTRACT_FILE)
        labels = sorted(result.ok().label for result in schema.get_all_operations())
    assert labels == [
        "PUT /v1/customer_profiles/{integrationId}",
        "PUT /v1/customer_sessions/{customerSessionId}",
    ]
    assert [str(w.message) for w in caught] == []


def test_every_v1_model_is_declared() -> None:
    declared = contracts.load_contract()["components"]["schemas"]
    assert set(MODELS) <= set(declared)


def test_both_security_schemes_are_declared() -> None:
    schemes = contracts.load_contract()["components"]["securitySchemes"]
    assert schemes["api_key_v1"]["name"] == "Authorization"
    assert schemes["integration_auth"]["name"] == "Content-Signature"


@pytest.mark.parametrize("operation_id", contracts.OPERATIONS)
@pytest.mark.parametrize("status", [200, 400, 401, 413, 415])
def test_every_documented_response_has_a_compilable_schema(operation_id: str, status: int) -> None:
    jsonschema_rs.validator_for(contracts.response_schema(operation_id, status))


def test_profile_response_links_to_a_session_update_of_that_profile() -> None:
    _, _, op = contracts.operation("updateCustomerProfile")
    links = contracts.load_contract()["components"]["responses"]["ProfileState"]["links"]
    link = links["OpenSessionOfProfile"]
    assert op["responses"]["200"]["$ref"].endswith("/ProfileState")
    assert link["operationId"] == "updateCustomerSession"
    assert link["requestBody"]["profileId"] == "$response.body#/profile/integrationId"


def _decision_sections() -> list[str]:
    """Every ``## Dn`` heading of the shipped DECISIONS.md, in order (D16+ included as they are added)."""
    text = (contracts.CONTRACT_FILE.parent / "DECISIONS.md").read_text(encoding="utf-8")
    return re.findall(r"^## (D\d+)\b", text, flags=re.MULTILINE)


def test_every_decision_in_decisions_md_is_visible_in_the_document() -> None:
    sections = _decision_sections()
    assert sections[:15] == [f"D{n}" for n in range(1, 16)]  # the scan sees the document
    # every shipped contract (v1, v1-2021, v2): a decision is visible in the document it governs
    text = "\n".join(p.read_text(encoding="utf-8") for p in sorted(contracts.CONTRACT_FILE.parent.glob("*.yaml")))
    # word boundaries: "D1" is not satisfied by "D10".."D15"
    missing = [d for d in sections if not re.search(rf"\b{d}\b", text)]
    assert missing == []


@pytest.mark.parametrize(
    ("body", "valid"),
    [
        ({}, True),
        ({"state": "closed", "total": None}, True),
        ({"state": "reopened"}, False),
        ({"shippingCost": 4.95}, False),  # D3: closed model
        ({"cartItems": [{"name": "a", "sku": "b", "quantity": 1.0, "price": -1}]}, True),
        ({"cartItems": [{"name": "a", "sku": "b", "quantity": 0, "price": 1}]}, False),
        ({"cartItems": [{"name": "a", "sku": "b", "quantity": 1, "price": 1}] * 1001}, False),  # D13
        ({"attributes": {"k": [[[[[[[[[[1]]]]]]]]]]}}, True),  # depth 10
        ({"attributes": {"k": [[[[[[[[[[[1]]]]]]]]]]]}}, False),  # depth 11
    ],
)
def test_session_request_schema_follows_decisions(body: object, valid: bool) -> None:
    validator = jsonschema_rs.validator_for(contracts.request_schema("updateCustomerSession"))
    assert validator.is_valid(body) is valid


def test_profile_request_schema_is_open_at_top_level() -> None:  # D3
    validator = jsonschema_rs.validator_for(contracts.request_schema("updateCustomerProfile"))
    assert validator.is_valid({"advocateId": "x", "attributes": {"Name": "Jane", "Email": None}})


@pytest.mark.parametrize(
    ("entity_id", "valid"),
    [("C156902", True), ("a" * 1000, True), ("a" * 1001, False), ("", False), ("tab\tid", False),
     ("emoji 😀 / ✓", True), ("\u0085", False)],
)
def test_entity_id_schema_follows_d12(entity_id: str, valid: bool) -> None:
    schema = {**contracts.request_schema("updateCustomerSession"), "$ref": "#/components/schemas/EntityId"}
    assert jsonschema_rs.validator_for(schema).is_valid(entity_id) is valid
