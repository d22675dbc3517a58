"""The reference server answers every valid, realistic and edge body with 200 and a response the
contract accepts, for every kind of id (sent through ``strategies.wire``, rotating auth schemes)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given

from talon_harness.strategies import (
    PROFILE,
    SESSION,
    edge_customer_profiles,
    edge_customer_sessions,
    new_customer_profiles,
    new_customer_sessions,
    profile_ids,
    realistic_customer_profiles,
    realistic_customer_sessions,
    session_ids,
)

PROFILE_FAMILIES = {
    "valid": new_customer_profiles(),
    "realistic": realistic_customer_profiles(),
    "edge": edge_customer_profiles(),
}
SESSION_FAMILIES = {
    "valid": new_customer_sessions(),
    "realistic": realistic_customer_sessions(),
    "edge": edge_customer_sessions(),
}


def _assert_ok(response, validator, evidence: str) -> dict[str, Any]:
    assert response.status_code == 200, f"{evidence} -> {response.status_code} {response.text[:400]}"
    payload = response.json()
    errors = [f"{e.json_path}: {e.message[:150]}" for e in validator.iter_errors(payload)]
    assert not errors, f"{evidence}: response breaks the contract: {errors}"
    return payload


@pytest.mark.parametrize("family", sorted(PROFILE_FAMILIES))
def test_valid_profile_bodies_accepted_by_server(family: str, send, fresh, response_validators: dict) -> None:
    @given(profile_ids(), PROFILE_FAMILIES[family])
    def check(profile_id: str, body: dict[str, Any]) -> None:
        entity_id = fresh(profile_id)
        response = send(PROFILE, entity_id, body)
        payload = _assert_ok(
            response, response_validators[(PROFILE, 200)], f"PUT profile {entity_id!r:.80} {body!r:.300}"
        )
        assert payload["profile"]["integrationId"] == entity_id

    check()


@pytest.mark.parametrize("family", sorted(SESSION_FAMILIES))
def test_valid_session_bodies_accepted_by_server(family: str, send, fresh, response_validators: dict) -> None:
    """Each body goes to a fresh session id; a non-empty profileId is made fresh too, because closing
    sessions accumulates ``totalSales`` on a profile (two closed 1e308 totals would overflow, D6)."""

    @given(session_ids(), SESSION_FAMILIES[family])
    def check(session_id: str, body: dict[str, Any]) -> None:
        entity_id = fresh(session_id)
        if body.get("profileId"):
            body = {**body, "profileId": fresh(body["profileId"])}
        response = send(SESSION, entity_id, body)
        payload = _assert_ok(
            response, response_validators[(SESSION, 200)], f"PUT session {entity_id!r:.80} {body!r:.300}"
        )
        assert payload["session"]["integrationId"] == entity_id
        assert payload["session"]["state"] == (body.get("state") or "open")

    check()
