"""The witness phase of ``check --api v2``: a fixed sequence for every v2 decision a rule checks, and its judges.

:data:`V2_WITNESSES` is the v2 table ``contracts.witness.run_witnesses`` sends (``table=``): every session
call asks for ``customerSession``, ``customerProfile`` and ``event`` (D27), so the v2 model
(``contracts.domain.v2_model``) knows every session the phase creates. Ids are fresh each run (the phase's
prefix); codes come from ``strategies.catalogue`` (the reference server's default rule set). :data:`V2_JUDGES`
judge each answer: the v2 rules (:data:`V2_RULES`), no 5xx, a valid call accepted, a call that must be refused
refused (``negative_data_rejection``), and the answer as integration-v2.yaml documents it.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import jsonschema_rs

from talon_harness.contracts import judges
from talon_harness.contracts.domain import Rule, v2_effects, v2_sessions
from talon_harness.contracts.domain.v2_model import v2_call
from talon_harness.contracts.sequences import Step, Witness
from talon_harness.contracts.spec import operation, response_schema
from talon_harness.contracts.violation import Violation
from talon_harness.strategies.catalogue import ACCEPTED_COUPONS, ACCEPTED_REFERRALS, REJECTED_COUPONS
from talon_harness.strategies.wire import PROFILE_V2, SESSION_V2

__all__ = ["V2_JUDGES", "V2_JUDGE_WITNESSES", "V2_RULES", "V2_WITNESSES"]

#: Every v2 domain rule by name, in report order.
V2_RULES: Mapping[str, Rule] = MappingProxyType({r.name: r for family in (v2_sessions, v2_effects)
                                                 for r in family.RULES})
_CONTENT = ["customerSession", "customerProfile", "event"]
_COUPON, _REFERRAL = ACCEPTED_COUPONS[2], ACCEPTED_REFERRALS[0]


def _put(step: str, session_id: str, session: dict[str, Any], status: int = 200, **query: Any) -> Step:
    return Step(step, SESSION_V2, session_id, {"customerSession": session, "responseContent": _CONTENT}, status,
                query=MappingProxyType(query))


def _first_sessions(p: str) -> tuple[Step, ...]:
    profile = f"{p}-prof"  # never upserted: the first session creates it (D32)
    return (_put("open_first_session", f"{p}-s1", {"profileId": profile}),
            _put("open_second_session", f"{p}-s2", {"profileId": profile}),
            _put("open_anonymous_session", f"{p}-s3", {"profileId": ""}))


def _totals(p: str) -> tuple[Step, ...]:
    s = f"{p}-s"
    item = {"sku": "sku-1", "quantity": 3, "price": 2.5, "additionalCosts": {"wrapping": {"price": 0.5}}}
    return (_put("open_with_cart", s, {"cartItems": [item], "additionalCosts": {"shipping": {"price": 4}}}),
            _put("unicode_sku", s, {"cartItems": [{"sku": "Käse-ß-€", "quantity": 2, "price": 1}]}),
            _put("empty_cart", s, {"cartItems": []}),
            _put("retry_empty_cart", s, {"cartItems": []}))


def _codes(p: str) -> tuple[Step, ...]:
    s = f"{p}-s"
    return (_put("codes", s, {"couponCodes": [_COUPON, _COUPON, REJECTED_COUPONS[0]], "referralCode": _REFERRAL}),
            _put("clear_codes", s, {"couponCodes": [], "referralCode": ""}))


def _close_then_cancel(p: str) -> tuple[Step, ...]:
    s = f"{p}-s"
    cart = [{"sku": "sku-1", "quantity": 1, "price": 40}]
    return (_put("open_with_coupon", s, {"profileId": f"{p}-prof", "couponCodes": [_COUPON], "cartItems": cart}),
            _put("close", s, {"state": "closed"}),
            _put("touch_closed", s, {}),
            _put("sdk_open_with_change", s, {"state": "open", "attributes": {"late": 1}}, 400),
            _put("change_closed", s, {"couponCodes": [REJECTED_COUPONS[0]]}, 400),
            _put("cancel", s, {"state": "cancelled"}),
            _put("close_cancelled", s, {"state": "closed"}, 400))


def _cancel_open(p: str) -> tuple[Step, ...]:
    s = f"{p}-s"
    return (_put("open_with_coupon", s, {"couponCodes": [_COUPON]}), _put("cancel_open", s, {"state": "cancelled"}))


def _dry(p: str) -> tuple[Step, ...]:
    s, t = f"{p}-s", f"{p}-t"
    return (_put("open", s, {}), _put("dry_update", s, {"attributes": {"preview": True}}, dry=True),
            _put("update", s, {}), _put("dry_create", t, {"state": "closed"}, dry=True), _put("create", t, {}))


def _invalid(p: str) -> tuple[Step, ...]:
    return (Step("unknown_member", SESSION_V2, f"{p}-s", {"customerSession": {"coupon": _COUPON}}, 400),
            Step("profile_update", PROFILE_V2, f"{p}-prof", {"attributes": {"tier": "gold"}}))


def _witnesses(*items: Witness) -> Mapping[str, Witness]:
    return MappingProxyType({w.name: w for w in items})


#: Every v2 witness, in the order the phase sends them.
V2_WITNESSES: Mapping[str, Witness] = _witnesses(
    Witness("v2_first_sessions", "a profile's first and second session (unknown profileId), an anonymous one",
            _first_sessions),
    Witness("v2_totals", "a cart with quantities and item and session costs, a unicode sku, an empty cart twice",
            _totals),
    Witness("v2_codes", "a repeated known coupon, an unknown one and a referral, then [] and \"\"", _codes),
    Witness("v2_close_then_cancel", "open with a coupon, close, touch, the SDK's open with a change, a change, "
            "cancel, cancelled->closed", _close_then_cancel),
    Witness("v2_cancel_open", "open with a coupon, cancel", _cancel_open),
    Witness("v2_dry", "a dry update between two updates, a dry creation then the creation", _dry),
    Witness("v2_invalid", "an unknown session member (D21), a profile update", _invalid),
)

#: The built-in checks the v2 judges stand in for, and the witnesses that exercise them.
V2_JUDGE_WITNESSES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "not_a_server_error": {"an empty cart, an anonymous session asking for its profile": ("v2_totals",
                                                                                          "v2_first_sessions")},
    "positive_data_acceptance": {"a unicode sku is accepted": ("v2_totals",)},
    "negative_data_rejection": {"D21 an unknown member is refused": ("v2_invalid",)},
    "status_code_conformance": {"every answer has a documented status": ("v2_invalid", "v2_first_sessions")},
    "response_schema_conformance": {"answers match integration-v2.yaml": ("v2_first_sessions", "v2_totals")},
})


def domain_rules(sent: judges.Sent) -> list[Violation]:
    """Every v2 rule on the answer."""
    return [v for rule in V2_RULES.values() if isinstance(v := rule.judge(sent.observation), Violation)]


def expected_rejection(sent: judges.Sent) -> list[Violation]:
    """``negative_data_rejection``: a call the decisions refuse (expected 400) was accepted."""
    x = sent.observation.exchange
    if sent.step.expect_status != 400 or not 200 <= x.status < 300:
        return []
    return [judges._built_in(sent, "negative_data_rejection", f"a call D21/D22 refuse ({sent.step.step}) was "
                             f"accepted", "400")]


@functools.cache
def _validator(operation_id: str, status: int) -> Any:
    return jsonschema_rs.validator_for(response_schema(operation_id, status, "v2"))


def response_conformance(sent: judges.Sent) -> list[Violation]:
    """The answer as integration-v2.yaml documents it: a documented status, JSON, valid against its schema."""
    x = sent.observation.exchange
    op = v2_call(sent.observation).operation
    if op is None:
        return []
    where = f"{x.method} {x.url[:200]} -> {x.status}"
    documented = operation(op, "v2")[2]["responses"]
    if str(x.status) not in documented:
        return [judges._built_in(sent, "status_code_conformance", f"undocumented status: {where}",
                                 ", ".join(documented))]
    if sent.content_type.split(";")[0].strip().lower() != "application/json":
        return [judges._built_in(sent, "content_type_conformance", f"not application/json: {where}",
                                 "application/json")]
    errors = list(_validator(op, x.status).iter_errors(x.response))
    if errors:
        shown = "; ".join(f"{'/'.join(map(str, e.instance_path))}: {e.message[:160]}" for e in errors[:3])
        return [judges._built_in(sent, "response_schema_conformance", f"{where}: {shown}", f"the {x.status} schema")]
    return []


#: The v2 witness phase's judges.
V2_JUDGES: tuple[judges.Judge, ...] = (domain_rules, judges.server_errors, judges.expected_acceptance,
                                       expected_rejection, response_conformance)
