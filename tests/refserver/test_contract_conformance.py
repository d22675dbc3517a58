"""The server's 200 and error bodies validate against the lead's contract (contracts/integration-v1.yaml):
IntegrationState for 200, ErrorResponse for errors. The YAML is read as data (refs resolved through a
`referencing` Registry), so this test does not depend on the contracts package's code."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from .conftest import profile_url, session_url

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "integration-v1.yaml"
URI = "urn:talon-harness:integration-v1"

@pytest.fixture(scope="module")
def validator_for():
    document = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
    registry = Registry().with_resource(
        URI, Resource.from_contents(document, default_specification=DRAFT202012)
    )

    def make(name: str) -> jsonschema.Draft202012Validator:
        return jsonschema.Draft202012Validator(
            {"$ref": f"{URI}#/components/schemas/{name}"},
            registry=registry,
            format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER,
        )

    return make


ITEM = {
    "name": "Shoe",
    "sku": "SKU-1",
    "quantity": 2,
    "price": 9.5,
    "category": "shoes",
    "position": 1,
    "attributes": {"colour": "red"},
    "adjustment": {"payFromLoyaltyProgram": 1, "pointPayment": 3},
}


def _states(client: httpx.Client, uid: str) -> list[dict[str, Any]]:
    calls = [
        (profile_url(f"p-{uid}"), {"attributes": {"tier": "gold"}}),
        (profile_url(f"p-{uid}"), {}),
        (session_url(f"anon-{uid}"), {}),
        (
            session_url(f"s-{uid}"),
            {
                "profileId": f"p-{uid}",
                "coupon": "SUMMER10",
                "referral": "NOPE",
                "cartItems": [ITEM],
                "total": 19,
                "attributes": {"a": [1, {"b": None}]},
            },
        ),
        (session_url(f"s-{uid}"), {"state": "closed"}),
        (session_url(f"s-{uid}"), {"state": "cancelled"}),
        (session_url(f"big-{uid}"), {"profileId": f"q-{uid}", "total": 2**70, "state": "closed"}),
    ]
    responses = [client.put(url, json=body) for url, body in calls]
    assert [r.status_code for r in responses] == [200] * len(calls)
    return [r.json() for r in responses]


def test_200_responses_validate_against_integration_state(
    client: httpx.Client, uid: str, validator_for
) -> None:
    validator = validator_for("IntegrationState")
    for state in _states(client, uid):
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(state)]
        assert errors == [], state


def test_error_responses_validate_against_error_response(
    client: httpx.Client, uid: str, validator_for
) -> None:
    validator = validator_for("ErrorResponse")
    responses = [
        client.put(session_url(uid), json={"foo": 1, "cartItems": [{}]}),
        client.put(session_url(uid), content=b"{", headers={"content-type": "application/json"}),
        client.put(session_url(uid), content=b"{}", headers={"content-type": "text/plain"}),
        client.get(session_url(uid)),
        client.put("/nope", json={}),
        client.put(session_url("x" * 1001), json={}),
    ]
    assert [r.status_code for r in responses] == [400, 400, 415, 405, 404, 400]
    for response in responses:
        errors = [e.message for e in validator.iter_errors(response.json())]
        assert errors == [], response.text


def test_the_validator_rejects_a_date_time_in_the_wrong_format(
    client: httpx.Client, uid: str, validator_for
) -> None:
    """The format checker is live (rfc3339-validator installed): a space for the "T" and no offset fail."""
    state = _states(client, uid)[3]
    created = state["session"]["created"]
    assert validator_for("IntegrationState").is_valid(state)
    state["session"]["created"] = created.replace("T", " ").removesuffix("Z")
    errors = _leaf_errors(validator_for("IntegrationState").iter_errors(state))
    assert [e for e in errors if e[0] == "format"] == [("format", ["session", "created"], "date-time")]


def _leaf_errors(errors: Iterable[jsonschema.ValidationError]) -> list[tuple[str, list[Any], Any]]:
    """(keyword, path, schema value) of every error, through oneOf/anyOf contexts."""
    found: list[tuple[str, list[Any], Any]] = []
    for error in errors:
        found.append((str(error.validator), list(error.absolute_path), error.validator_value))
        found.extend(_leaf_errors(error.context or []))
    return found
