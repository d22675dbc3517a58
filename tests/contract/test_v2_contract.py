"""contracts/integration-v2.yaml: a valid OpenAPI 3.1 document whose schemas are the official SDK's models
(talon-one-sdk 26.2) field for field, and which the reference server's v2 answers conform to (D20-D36)."""

from __future__ import annotations

import asyncio
import inspect
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml
from openapi_spec_validator import validate
from talon_one import models as sdk_models

from talon_harness.refserver import ServerConfig, Store, create_app

CONTRACT = Path(__file__).resolve().parents[2] / "contracts" / "integration-v2.yaml"
DOCUMENT = yaml.safe_load(CONTRACT.read_text(encoding="utf-8"))
SCHEMAS: dict[str, Any] = DOCUMENT["components"]["schemas"]
SESSION_OP = DOCUMENT["paths"]["/v2/customer_sessions/{customerSessionId}"]["put"]
PROFILE_OP = DOCUMENT["paths"]["/v2/customer_profiles/{integrationId}"]["put"]


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(DOCUMENT)
    assert DOCUMENT["openapi"] == "3.1.0"


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_each_schema_has_the_sdk_models_fields_and_required_set(name: str) -> None:
    model = getattr(sdk_models, name)
    fields = {info.alias or field: info for field, info in model.model_fields.items()}
    schema = SCHEMAS[name]
    assert set(schema["properties"]) == set(fields)
    assert set(schema.get("required", [])) == {alias for alias, info in fields.items() if info.is_required()}


def _sdk_enums(model: type) -> dict[str, set[str]]:
    """alias -> allowed values, read from the model's generated enum validators."""
    source = inspect.getsource(model)
    found = {}
    for field, body in re.findall(r"@field_validator\('(\w+)'\)\s+def \w+\(cls, value\):(.*?)(?=\n    @|\n    model_config)",
                                  source, re.DOTALL):
        values = re.search(r"set\(\[(.*?)\]\)", body, re.DOTALL)
        if values:
            alias = model.model_fields[field].alias or field
            found[alias] = {v.strip().strip("'") for v in values.group(1).split(",")}
    return found


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_enums_are_the_sdks(name: str) -> None:
    for alias, values in _sdk_enums(getattr(sdk_models, name)).items():
        prop = SCHEMAS[name]["properties"][alias]
        kind = prop.get("type")
        target = prop["items"] if kind == "array" or (isinstance(kind, list) and "array" in kind) else prop
        assert set(target["enum"]) - {None} == values


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_optional_members_are_nullable_as_in_the_sdk(name: str) -> None:
    """D21: the SDK's models take null for every optional member, and so does the server (null = omitted)."""
    schema = SCHEMAS[name]
    for alias, prop in schema["properties"].items():
        if alias in schema.get("required", []):
            continue
        kinds = prop["type"] if isinstance(prop.get("type"), list) else [prop.get("type")]
        any_type = prop.keys() <= {"description", "x-decision"}  # no type at all (the SDK's Any)
        assert any_type or "null" in kinds or {"type": "null"} in prop.get("anyOf", []), alias


def test_the_limits_the_server_enforces_are_in_the_contract() -> None:
    """D33: the SDK's constraints, as the contract states them."""
    session = SCHEMAS["NewCustomerSessionV2"]["properties"]
    assert session["identifiers"]["maxItems"] == 5 and session["loyaltyCards"]["maxItems"] == 1
    assert session["couponCodes"]["items"]["maxLength"] == 100 and session["referralCode"]["maxLength"] == 100
    assert (session["storeIntegrationId"]["minLength"], session["storeIntegrationId"]["maxLength"]) == (1, 1000)
    assert session["state"]["enum"] == ["open", "closed", "partially_returned", "cancelled", None]


def test_operations_statuses_parameters_and_auth() -> None:
    assert set(SESSION_OP["responses"]) == set(PROFILE_OP["responses"]) == {"200", "400", "401", "409"}
    assert [p["name"] for p in SESSION_OP["parameters"]] == ["customerSessionId", "dry", "now"]
    assert [p["name"] for p in PROFILE_OP["parameters"]] == ["integrationId", "runRuleEngine", "dry"]
    assert DOCUMENT["security"] == [{"api_key_v1": []}]
    assert DOCUMENT["components"]["securitySchemes"]["api_key_v1"]["name"] == "Authorization"


def _validator(operation: dict[str, Any], status: str) -> Any:
    ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
    return jsonschema_rs.Draft202012Validator(
        {"$ref": ref, "components": DOCUMENT["components"]}, validate_formats=True
    )


class App:
    """The reference app in-process (httpx.ASGITransport) on its own SQLite file."""

    def __init__(self, db: Path, config: ServerConfig) -> None:
        self.store = Store(db)
        self._app = create_app(self.store, config)

    def put(self, url: str, body: Any) -> httpx.Response:
        async def go() -> httpx.Response:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=self._app), base_url="http://ref") as http:
                return await http.put(url, json=body)

        return asyncio.run(go())


@pytest.fixture
def app(tmp_path: Path) -> Iterator[App]:
    made = App(tmp_path / "v2.db", ServerConfig())
    yield made
    made.store.close()


ALL = ["customerSession", "customerProfile", "coupons", "triggeredCampaigns", "referral", "loyalty", "event",
       "awardedGiveaways", "ruleFailureReasons", "previousReturns"]
SESSION_CALLS: list[tuple[str, dict[str, Any], str]] = [
    ("s1", {"customerSession": {"profileId": "p1", "couponCodes": ["SUMMER10", "X"], "referralCode": "FRIEND-BOB",
                                "cartItems": [{"sku": "a", "quantity": 2, "price": 3}],
                                "additionalCosts": {"shipping": {"price": 2}}, "storeIntegrationId": "st"},
            "responseContent": ALL}, "200"),
    ("s1", {"customerSession": {"state": "closed"}, "responseContent": ALL}, "200"),
    ("s1", {"customerSession": {"state": "cancelled"}, "responseContent": ALL}, "200"),
    ("s2", {"customerSession": {"profileId": ""}, "responseContent": ALL}, "200"),
    ("s3", {"customerSession": {"identifiers": list("abcdef")}}, "400"),
]


def test_session_answers_conform(app: App) -> None:
    for session_id, body, status in SESSION_CALLS:
        response = app.put(f"/v2/customer_sessions/{session_id}", body)
        assert str(response.status_code) == status
        _validator(SESSION_OP, status).validate(response.json())


@pytest.mark.parametrize(("query", "body", "status"), [
    ("?runRuleEngine=true", {"attributes": {"a": 1}, "audiencesChanges": {"adds": [1], "deletes": []},
                             "responseContent": ["customerProfile", "event", "loyalty", "triggeredCampaigns",
                                                 "awardedGiveaways", "ruleFailureReasons"]}, "200"),
    ("", {"attributes": {"a": 2}}, "200"),
    ("?dry=true", {}, "400"),
])
def test_profile_answers_conform(app: App, query: str, body: dict[str, Any], status: str) -> None:
    response = app.put(f"/v2/customer_profiles/p1{query}", body)
    assert str(response.status_code) == status
    _validator(PROFILE_OP, status).validate(response.json())


def test_unauthorized_conforms(tmp_path: Path) -> None:
    app = App(tmp_path / "auth.db", ServerConfig(api_key="k"))
    response = app.put("/v2/customer_sessions/u", {"customerSession": {}})
    app.store.close()
    assert response.status_code == 401
    _validator(SESSION_OP, "401").validate(response.json())
