"""Every invalid v2 request breaks exactly the rule it is tagged with: integration-v2.yaml refuses the body
where ``contract_rejects`` says so (and accepts it where the rule is a decision beyond the SDK's schemas), and
the reference server (in-process) answers the tagged status with exactly one APIError carrying the tagged
title and pointer (or parameter), in the contract's error model for that status, and writes nothing."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hypothesis import given, settings

from talon_harness.strategies import (
    PROFILE_V2,
    SESSION_V2,
    V2_PROFILE_RULES,
    V2_SESSION_RULES,
    V2Invalid,
    v2_invalid_examples,
    v2_invalid_profile_requests,
    v2_invalid_session_requests,
)

from ._v2_support import V2App, request_validator, response_validator

CASES = [(SESSION_V2, rule) for rule in V2_SESSION_RULES] + [(PROFILE_V2, rule) for rule in V2_PROFILE_RULES]


def _strategy(operation: str, rule: str):  # type: ignore[no-untyped-def]
    factory = v2_invalid_session_requests if operation == SESSION_V2 else v2_invalid_profile_requests
    return factory(rules=[rule])


def _case_id(case: tuple[str, str]) -> str:
    return f"{'session' if case[0] == SESSION_V2 else 'profile'}-{case[1]}"


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[V2App]:
    made = V2App(tmp_path_factory.mktemp("v2-invalid") / "app.db")
    yield made
    made.close()


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_invalid_v2_requests_are_refused_with_the_tagged_reason(case: tuple[str, str], app: V2App) -> None:
    @given(_strategy(*case))
    @settings(max_examples=12)
    def check(invalid: V2Invalid) -> None:
        assert (invalid.operation, invalid.breaks) == case
        if isinstance(invalid.body, bytes):
            assert not invalid.contract_rejects  # not a JSON document: nothing for the schema to judge
        else:
            schema_ok = request_validator(invalid.operation).is_valid(invalid.body)
            assert schema_ok is not invalid.contract_rejects, (invalid.breaks, invalid.title, repr(invalid.body)[:300])
        before = app.store.counts()
        response = app.send(invalid.operation, "invalid", invalid.body, invalid.query, content_type=invalid.content_type)
        evidence = f"{invalid.breaks} {invalid.query} {invalid.body!r:.200} -> {response.status_code} {response.text[:300]}"
        assert response.status_code == invalid.status, evidence
        payload = response.json()
        if invalid.status in (400, 401):  # the statuses integration-v2.yaml documents (besides 200 and 409)
            assert response_validator(invalid.operation, invalid.status).is_valid(payload), evidence
        source = {"parameter": invalid.parameter} if invalid.parameter is not None else {"pointer": invalid.pointer}
        assert [(e["title"], e["source"]) for e in payload["errors"]] == [(invalid.title, source)], evidence
        # D24: the profile 400 is ErrorResponseWithStatus, the session 400 ErrorResponse
        with_status = invalid.operation == PROFILE_V2 and invalid.status == 400
        assert payload.get("StatusCode") == (400 if with_status else None), evidence
        assert app.store.counts() == before, evidence

    check()


def test_rules_are_selectable_and_unknown_rules_refused() -> None:
    with pytest.raises(ValueError, match="v2 session rules must be a non-empty subset"):
        v2_invalid_session_requests(rules=["nope"])
    with pytest.raises(ValueError, match="v2 profile rules must be a non-empty subset"):
        v2_invalid_profile_requests(rules=[])


@pytest.mark.parametrize(("operation", "rules"), [(SESSION_V2, V2_SESSION_RULES), (PROFILE_V2, V2_PROFILE_RULES)])
def test_invalid_examples_are_seeded_round_robin_pools(operation: str, rules: tuple[str, ...], app: V2App) -> None:
    pool = v2_invalid_examples(operation, seed=3)
    assert pool == v2_invalid_examples(operation, seed=3) != v2_invalid_examples(operation, seed=4)
    assert [e.breaks for e in pool[:len(rules)]] == list(rules)  # one of each rule first, in rule order
    json_pool = v2_invalid_examples(operation, seed=3, json_only=True)
    assert json_pool and all(not isinstance(e.body, bytes) and e.status == 400 for e in json_pool)
    assert {e.breaks for e in json_pool} == set(rules) - {"malformed_json", "content_type", "body_size_limit"}
    for invalid in json_pool:  # each is refused exactly as tagged
        response = app.send(operation, "pool", invalid.body, invalid.query)
        source = {"parameter": invalid.parameter} if invalid.parameter is not None else {"pointer": invalid.pointer}
        assert [(e["title"], e["source"]) for e in response.json()["errors"]] == [(invalid.title, source)]
    with pytest.raises(ValueError, match="operation must be"):
        v2_invalid_examples("updateCustomerSession")
