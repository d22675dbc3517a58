"""Every valid, realistic and edge v2 body validates against integration-v2.yaml (with a format checker) and
the reference server (ASGI app in-process) answers it 200 with a body that the contract's 200 schema accepts;
the v2 request builder writes what the official SDK writes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talon_harness.strategies import (
    PROFILE,
    PROFILE_V2,
    SESSION,
    SESSION_V2,
    V2_PROFILE_RESPONSE_CONTENT,
    V2_SESSION_RESPONSE_CONTENT,
    Credentials,
    V2Request,
    build_put,
    operation_of_path,
    v2_edge_profile_requests,
    v2_edge_session_requests,
    v2_profile_queries,
    v2_realistic_profile_requests,
    v2_realistic_session_requests,
    v2_requests,
    v2_session_queries,
)

from ._v2_support import V2App, request_validator, response_validator

_IDS = iter(range(10**9))


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V2App]:
    made = V2App(tmp_path_factory.mktemp("v2-bodies") / "app.db")
    yield made
    made.close()


def _accepted(app: V2App, request: V2Request) -> dict[str, Any]:
    errors = [e.message for e in request_validator(request.operation).iter_errors(request.body)]
    assert not errors, (request, errors[:3])
    response = app.send(request.operation, f"fresh-{next(_IDS)}", request.body, request.query)
    assert response.status_code == 200, (request, response.text[:500])
    payload = response.json()
    assert response_validator(request.operation, 200).is_valid(payload), (request, payload)
    return payload


def _asked_members(request: V2Request, payload: dict[str, Any]) -> None:
    """D27/D30: exactly the asked members beyond the three required lists (customerProfile and referral may
    be left out: an anonymous session has no profile, an unknown code no referral)."""
    asked = set(request.body.get("responseContent") or [])
    extra = set(payload) - {"effects", "createdCoupons", "createdReferrals"}
    assert extra <= asked and asked - extra <= {"customerProfile", "referral"}, (asked, extra)


@given(v2_requests())
def test_valid_v2_requests_are_in_the_contract_and_accepted(app: V2App, request: V2Request) -> None:
    _asked_members(request, _accepted(app, request))


@given(st.one_of(v2_realistic_session_requests(), v2_edge_session_requests()), v2_session_queries())
@settings(max_examples=40)
def test_realistic_and_edge_session_requests_are_accepted(app: V2App, body: dict[str, Any], query: dict) -> None:
    request = V2Request(SESSION_V2, body, query)
    payload = _accepted(app, request)
    _asked_members(request, payload)
    if "customerSession" in payload:  # D31: the answer's totals are the cart's
        session = payload["customerSession"]
        assert session["total"] == session["cartItemTotal"] + session["additionalCostTotal"]


@given(st.booleans().flatmap(lambda run: st.tuples(
    st.one_of(v2_realistic_profile_requests(run_rule_engine=run), v2_edge_profile_requests(run_rule_engine=run)),
    v2_profile_queries(run_rule_engine=run))))
def test_realistic_and_edge_profile_requests_are_accepted(app: V2App, drawn: tuple[dict, dict]) -> None:
    request = V2Request(PROFILE_V2, *drawn)
    _asked_members(request, _accepted(app, request))


@given(st.one_of(v2_requests().map(lambda r: (r.operation, r.body)),
                 st.one_of(v2_realistic_session_requests(), v2_edge_session_requests()).map(lambda b: (SESSION_V2, b)),
                 st.one_of(v2_realistic_profile_requests(), v2_edge_profile_requests()).map(lambda b: (PROFILE_V2, b))))
def test_valid_bodies_are_what_the_official_sdk_can_send(drawn: tuple[str, dict]) -> None:
    """talon-one-sdk 26.2's strict request models (StrictStr, StrictInt, lengths, enums) accept every body."""
    from talon_one.models import CustomerProfileIntegrationRequestV2, IntegrationRequest

    operation, body = drawn
    (IntegrationRequest if operation == SESSION_V2 else CustomerProfileIntegrationRequestV2).from_dict(body)
    if operation == SESSION_V2:  # what the SDK would send back out: the same members, plus its default state
        sent = IntegrationRequest.from_dict(body).to_dict()["customerSession"]
        assert set(sent) - set(body["customerSession"]) <= {"state"} and "state" in sent


def test_edge_strategies_reach_every_response_content_value() -> None:
    seen: set[str] = set()

    @given(v2_edge_session_requests(), v2_edge_profile_requests())
    @settings(max_examples=60, database=None)
    def collect(session: dict, profile: dict) -> None:
        seen.update(session.get("responseContent", ()), profile.get("responseContent", ()))

    collect()
    assert seen == set(V2_SESSION_RESPONSE_CONTENT) | set(V2_PROFILE_RESPONSE_CONTENT)


def test_build_put_writes_v2_as_the_official_sdk_does() -> None:
    """Path, lowercase booleans, percent-encoded query values, API key only (D34), one builder for v1 and v2."""
    creds = Credentials(api_key="k", hmac_application_id=1, hmac_key="0123456789abcdef")
    put = build_put(SESSION_V2, "a/b c", {"customerSession": {}}, creds=creds,
                    query={"dry": True, "now": "2030-01-01T00:00:00.000000+0100"})
    assert put.path == "/v2/customer_sessions/a%2Fb%20c?dry=true&now=2030-01-01T00%3A00%3A00.000000%2B0100"
    assert put.headers == {"Content-Type": "application/json", "Authorization": "ApiKey-v1 k"}
    assert build_put(PROFILE_V2, "p", {}, query={"runRuleEngine": False}).path == "/v2/customer_profiles/p?runRuleEngine=false"
    assert build_put(PROFILE_V2, "p", {}, query={}).path == "/v2/customer_profiles/p"
    v1 = build_put(SESSION, "s", {}, creds=creds)
    assert set(v1.headers) == {"Content-Type", "Authorization", "Content-Signature"}  # v1 still signs
    hmac_only = build_put(SESSION_V2, "s", {}, creds=Credentials(hmac_application_id=1, hmac_key="0123456789abcdef"))
    assert hmac_only.headers == {"Content-Type": "application/json"}
    assert operation_of_path(put.path, api="v2") == SESSION_V2
    assert operation_of_path(put.path) is None and operation_of_path("/v1/customer_profiles/x") == PROFILE


def test_v2_key_rules_on_the_built_requests(tmp_path: Path) -> None:
    """D34 through the builder: the API key is accepted, HMAC-only credentials are not a v2 credential."""
    app = V2App(tmp_path / "auth.db")
    try:
        assert app.send(SESSION_V2, "s", {"customerSession": {}}).status_code == 200
        hmac_only = Credentials(hmac_application_id=1, hmac_key="0123456789abcdef")
        refused = app.send(SESSION_V2, "s", {"customerSession": {}}, creds=hmac_only)
        assert refused.status_code == 401 and refused.json()["StatusCode"] == 401
    finally:
        app.close()


def test_the_contract_validator_checks_formats() -> None:
    """Without a format checker a wrong date-time or UUID would pass, and the tests above would prove less."""
    item = {"sku": "a", "quantity": 1, "price": 1, "adjustmentEffectiveFrom": "yesterday"}
    assert not request_validator(SESSION_V2).is_valid({"customerSession": {"cartItems": [item]}})
    item = {"sku": "a", "quantity": 1, "price": 1, "adjustmentReferenceId": "not-a-uuid"}
    assert not request_validator(SESSION_V2).is_valid({"customerSession": {"cartItems": [item]}})
