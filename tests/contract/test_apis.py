"""contracts.apis: which rules judge which API, what the final v1 revision answers otherwise (D16-D19), and
which v2 refusals of schema-valid requests the decisions explain."""

from __future__ import annotations

import json
from typing import Any

import pytest

from talon_harness.contracts import judges, spec
from talon_harness.contracts.apis import (
    RULES_BY_API,
    all_rules,
    revision_difference,
    v2_domain_refusal,
    witness_judges,
)
from talon_harness.contracts.domain import RULES
from talon_harness.contracts.model import Exchange, Model, Observation
from talon_harness.contracts.v2_witness import V2_RULES
from talon_harness.strategies.wire import API_NAMES, API_QUERY_PARAMETERS

BASE = "http://127.0.0.1:1/v1/customer_sessions/"


def _observe(model: Model, url: str, body: dict[str, Any], status: int = 200, answer: Any = None) -> Observation:
    return model.observe(Exchange.of("PUT", url, json.dumps(body), {"Content-Type": "application/json"}, status,
                                     answer))


def test_v1_revisions_are_judged_by_every_rule_and_v2_by_the_v2_rules() -> None:
    assert RULES_BY_API["v1"] is RULES and RULES_BY_API["v1-2021"] is RULES and RULES_BY_API["v2"] is V2_RULES
    assert not set(RULES) & set(V2_RULES) and dict(all_rules()) == {**RULES, **V2_RULES}


def _closed_session(model: Model) -> None:
    session = {"integrationId": "s", "state": "closed", "profileId": "", "total": 0, "cartItems": []}
    _observe(model, BASE + "s", {"state": "closed"}, answer={"session": session, "event": {"id": 1}})


@pytest.mark.parametrize(("url", "body", "decision"), [
    (BASE + "s?dry=false", {}, "D17"),
    (BASE + "s", {"state": "open"}, "D18"),
    (BASE + "t", {"cartItems": [{"sku": "a", "quantity": 1, "price": 1, "adjustment": {}}]}, "D16"),
    (BASE + "t", {"coupon": "C" * 101}, "D19"),
    (BASE + "t", {"identifiers": ["d"]}, "D19"),
    (BASE + "t", {"coupon": "C" * 100, "state": "open"}, None),
])
def test_the_final_revision_differs_where_its_decisions_say(url: str, body: dict[str, Any],
                                                            decision: str | None) -> None:
    model = Model(fresh=True)
    _closed_session(model)
    obs = _observe(model, url, body)
    assert revision_difference("v1-2021", obs) == decision
    assert revision_difference("v1", obs) is None  # the seed's answers are what the v1 rules predict


@pytest.mark.parametrize(("errors", "explained"), [
    ([{"title": "Requires dry", "source": {"parameter": "now"}}], True),
    ([{"title": "Session closed", "source": {"pointer": "/customerSession/cartItems"}}], True),
    ([{"title": "Invalid type", "source": {"pointer": "/customerSession/cartItems/0/price"}}], True),
    ([{"title": "Invalid type", "source": {"pointer": "/customerSession/state"}}], False),
    ([{"title": "Requires dry"}, {"title": "Internal"}], False),
    ([], False),
])
def test_v2_refusals_the_decisions_explain(errors: list[dict[str, Any]], explained: bool) -> None:
    assert v2_domain_refusal(400, {"message": "m", "errors": errors}) is explained
    assert v2_domain_refusal(500, {"message": "m", "errors": errors}) is False


def test_the_final_revisions_witnesses_judge_answers_against_its_contract() -> None:
    assert witness_judges("v1") == judges.DEFAULT_JUDGES
    final = witness_judges("v1-2021")
    swapped = (judges.response_conformance, judges.domain_rules)
    assert len(final) == len(judges.DEFAULT_JUDGES) and not set(swapped) & set(final)
    assert [j for j in final if j in judges.DEFAULT_JUDGES] == [
        j for j in judges.DEFAULT_JUDGES if j not in swapped]


def test_the_model_learns_nothing_from_a_dry_run() -> None:
    model = Model(fresh=True)
    session = {"integrationId": "s", "state": "closed", "profileId": "", "total": 0, "cartItems": []}
    for dry in ("TRUE", "true"):
        _observe(model, BASE + f"s?dry={dry}", {"state": "closed"}, answer={"session": session, "event": {"id": 7}})
    assert model.session("s") is None  # D17: answered as the write would be, nothing stored
    _observe(model, BASE + "s?dry=false", {"state": "closed"}, answer={"session": session, "event": {"id": 7}})
    view = model.session("s")
    assert view is not None and view.state == "closed"


@pytest.mark.parametrize("api", API_NAMES)
def test_the_builders_query_parameters_are_those_each_contract_declares(api: str) -> None:
    """``strategies.wire.API_QUERY_PARAMETERS`` (what the probe and the builder send) is each contract's list."""
    assert API_QUERY_PARAMETERS[api] == spec.query_parameters(api)
