"""Invalid v2 requests, each a valid request broken in ONE named way, with the reason the server must give.

A ``V2Invalid`` says where to send it (``operation``, ``query``, ``content_type``) and what a server following
D21-D33 answers: ``status`` (400; 413/415 for the raw payload rules) with exactly one APIError whose ``title``
is ``title`` and whose ``source`` is ``{"pointer": pointer}`` or ``{"parameter": parameter}`` (a query
parameter or Content-Type); nothing is written.
``contract_rejects`` says whether integration-v2.yaml's request schema alone refuses the body: the SDK's
schemas are open and know neither the reference server's closed objects (D21), its price rule, nor the
D33 limits that the SDK states only in prose, so those rules are decisions, not schema. Invalid requests
never depend on server state: send them to any id.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies._v2_raw import V2Invalid, raw_rules_v2
from talon_harness.strategies.bodies import json_texts
from talon_harness.strategies.types import json_pointer
from talon_harness.strategies.v2_bodies import (
    V2_MAX_CART_ITEMS,
    V2_MAX_CODE_LENGTH,
    V2_MAX_IDENTIFIERS,
    V2_MAX_STORE_ID_LENGTH,
    V2_MAX_TOTAL_QUANTITY,
    V2_SESSION_FIELDS,
    v2_cart_items,
    v2_future_nows,
    v2_profile_requests,
    v2_session_requests,
)
from talon_harness.strategies.wire import PROFILE_V2, SESSION_V2

__all__ = [
    "V2_INVALID_RULES",
    "V2_PROFILE_RULES",
    "V2_SESSION_RULES",
    "V2Invalid",
    "v2_invalid_profile_requests",
    "v2_invalid_requests",
    "v2_invalid_session_requests",
]


_S = "customerSession"
_BASE = v2_session_requests(max_items=2)
_ITEMS = st.lists(v2_cart_items(max_quantity=5), min_size=1, max_size=3)
_WRONG: dict[str, tuple[Any, ...]] = {
    "string": (0, 1.5, True, [], {}, ["x"]), "number": ("1", True, [], {}, [1]),
    "integer": (1.5, "1", True, [], {}), "object": ("x", 1, True, [], [{}]), "array": ("x", 1, True, {}),
}
_SESSION_TYPES = {
    "profileId": "string", "storeIntegrationId": "string", "evaluableCampaignIds": "array",
    "couponCodes": "array", "referralCode": "string", "loyaltyCards": "array", "state": "string",
    "cartItems": "array", "additionalCosts": "object", "identifiers": "array", "attributes": "object",
}
_ITEM_TYPES = {"sku": "string", "quantity": "integer", "price": "number", "name": "string", "weight": "number",
               "attributes": "object", "additionalCosts": "object", "catalogItemID": "integer", "product": "object"}
_Mutate = Callable[[st.DrawFn, dict[str, Any]], tuple[tuple[str | int, ...], str]]
_ItemMutate = Callable[[st.DrawFn, dict[str, Any]], tuple[tuple[str, ...], str]]


def _session_rule(rule: str, mutate: _Mutate, *, contract: bool) -> st.SearchStrategy[V2Invalid]:
    """A valid IntegrationRequest whose customerSession *mutate* breaks (returns pointer parts and title)."""

    @st.composite
    def build(draw: st.DrawFn) -> V2Invalid:
        body = draw(_BASE)
        parts, title = mutate(draw, body[_S])
        return V2Invalid(SESSION_V2, body, rule, title, json_pointer(_S, *parts), contract_rejects=contract)

    return build()


def _item_rule(rule: str, mutate: _ItemMutate, *, contract: bool) -> st.SearchStrategy[V2Invalid]:
    """As ``_session_rule``, breaking one cart item of a 1-3 item cart."""

    def on_item(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
        items = draw(_ITEMS)
        index = draw(st.integers(0, len(items) - 1))
        parts, title = mutate(draw, items[index])
        session["cartItems"] = items
        return ("cartItems", index, *parts), title

    return _session_rule(rule, on_item, contract=contract)


def _wrong_type_top(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    key = draw(st.sampled_from(sorted(_SESSION_TYPES)))
    session[key] = draw(st.sampled_from(_WRONG[_SESSION_TYPES[key]]))
    return (key,), "Invalid type"


def _wrong_type_item(draw: st.DrawFn, item: dict[str, Any]) -> tuple[tuple[str, ...], str]:
    key = draw(st.sampled_from(sorted(_ITEM_TYPES)))
    item[key] = draw(st.sampled_from(_WRONG[_ITEM_TYPES[key]] + ((None,) if key in ("sku", "quantity") else ())))
    return (key,), "Invalid type"


def _setter(key: str, values: st.SearchStrategy[Any], title: str, *index: int) -> _Mutate:
    def mutate(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
        session[key] = draw(values)
        return (key, *index), title

    return mutate


def _item_setter(key: str, values: st.SearchStrategy[Any], title: str) -> _ItemMutate:
    def mutate(draw: st.DrawFn, item: dict[str, Any]) -> tuple[tuple[str, ...], str]:
        item[key] = draw(values)
        return (key,), title

    return mutate


def _drop(keys: tuple[str, ...]) -> _ItemMutate:
    def mutate(draw: st.DrawFn, item: dict[str, Any]) -> tuple[tuple[str, ...], str]:
        key = draw(st.sampled_from(keys))
        del item[key]
        return (key,), "Required"

    return mutate


def _unknown_member(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    key = draw(st.one_of(
        st.sampled_from(("coupon", "referral", "total", "couponCode", "State", "a/b", "~x", "")),
        json_texts(min_size=1, max_size=10),
    ).filter(lambda k: k not in V2_SESSION_FIELDS))
    session[key] = draw(st.one_of(st.none(), st.booleans(), st.integers(), json_texts(max_size=5)))
    return (key,), "Unknown field"


def _bad_cost_name(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    name = draw(st.sampled_from(("1shipping", "ship-cost", "", " shipping", "_x", "a/b", "versand kosten")))
    session["additionalCosts"] = {name: {"price": 1.0}}
    return ("additionalCosts", name), "Invalid value"


def _cost_without_price(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    session["additionalCosts"] = {"shipping": {}}
    return ("additionalCosts", "shipping", "price"), "Required"


def _too_many_units(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    extra = draw(st.integers(1, 5))
    session["cartItems"] = [{"sku": "a", "quantity": V2_MAX_TOTAL_QUANTITY, "price": 1},
                            {"sku": "b", "quantity": extra, "price": 1}]
    return ("cartItems",), "Too many units"


def _too_many_items(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    count = draw(st.integers(V2_MAX_CART_ITEMS + 1, V2_MAX_CART_ITEMS + 5))
    session["cartItems"] = [{"sku": f"S{i}", "quantity": 1, "price": 1} for i in range(count)]
    return ("cartItems",), "Too many items"


def _too_deep(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


def _deep_attribute(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    key = draw(st.sampled_from(("deep", "a/b", "~", "")))
    session["attributes"] = {key: _too_deep(draw(st.integers(11, 40)))}
    return ("attributes", key), "Nested too deeply"


def _non_finite_totals(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    session.pop("additionalCosts", None)
    if draw(st.booleans()):
        session["cartItems"] = [{"sku": "a", "quantity": 1, "price": 1e308}, {"sku": "b", "quantity": 2, "price": 1e308}]
        return ("cartItems",), "Out of range"
    session["cartItems"] = []
    session["additionalCosts"] = {"shipping": {"price": 1e308}, "express": {"price": 1.7e308}}
    return ("additionalCosts",), "Out of range"


def _long_code(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    code = draw(st.sampled_from(("C", "é", "😀"))) * draw(st.integers(V2_MAX_CODE_LENGTH + 1, 120))
    if draw(st.booleans()):
        session["referralCode"] = code
        return ("referralCode",), "Too long"
    session["couponCodes"] = ["SUMMER10", code]
    return ("couponCodes", 1), "Too long"


def _store_length(draw: st.DrawFn, session: dict[str, Any]) -> tuple[tuple[str | int, ...], str]:
    if draw(st.booleans()):
        session["storeIntegrationId"] = ""
        return ("storeIntegrationId",), "Too short"
    session["storeIntegrationId"] = "s" * draw(st.integers(V2_MAX_STORE_ID_LENGTH + 1, V2_MAX_STORE_ID_LENGTH + 9))
    return ("storeIntegrationId",), "Too long"


@st.composite
def _wrapper(draw: st.DrawFn) -> V2Invalid:
    """Rules on the IntegrationRequest wrapper itself."""
    body = draw(_BASE)
    kind = draw(st.sampled_from(("missing", "session_type", "content_type", "content_enum", "unknown", "not_object")))
    if kind == "missing":
        del body[_S]
        return V2Invalid(SESSION_V2, body, "wrapper", "Required", "/customerSession")
    if kind == "session_type":
        body[_S] = draw(st.sampled_from(_WRONG["object"] + (None,)))
        return V2Invalid(SESSION_V2, body, "wrapper", "Invalid type", "/customerSession")
    if kind == "content_type":
        body["responseContent"] = draw(st.sampled_from(_WRONG["array"]))
        return V2Invalid(SESSION_V2, body, "wrapper", "Invalid type", "/responseContent")
    if kind == "content_enum":
        body["responseContent"] = ["customerSession", draw(st.sampled_from(("return", "Coupons", "session", "")))]
        return V2Invalid(SESSION_V2, body, "wrapper", "Invalid value", "/responseContent/1")
    if kind == "unknown":
        key = draw(st.sampled_from(("total", "profileId", "dry", "customer_session")))
        body[key] = 1
        return V2Invalid(SESSION_V2, body, "wrapper", "Unknown field", json_pointer(key), contract_rejects=False)
    value = draw(st.sampled_from(([], [{}], "x", 0, 1.5, True)))
    return V2Invalid(SESSION_V2, value, "wrapper", "Invalid type", "")


def _query_rule(operation: str, valid_body: st.SearchStrategy[Any], query: st.SearchStrategy[tuple[dict[str, Any],
                str, str]]) -> st.SearchStrategy[V2Invalid]:
    return st.builds(lambda body, q: V2Invalid(operation, body, "query_parameter", q[2], parameter=q[1], query=q[0],
                                               contract_rejects=False), valid_body, query)


_SESSION_QUERIES = st.one_of(
    st.sampled_from(("yes", "1", "TRUE", "", "null")).map(lambda v: ({"dry": v}, "dry", "Invalid value")),
    v2_future_nows().map(lambda now: ({"now": now}, "now", "Requires dry")),
    v2_future_nows().map(lambda now: ({"dry": False, "now": now}, "now", "Requires dry")),
    st.sampled_from(("2020-01-01T00:00:00Z", "2001-09-09T01:46:40.000000+0000", "1970-01-01T00:00:00")).map(
        lambda past: ({"dry": True, "now": past}, "now", "Not in the future")),
    st.sampled_from(("tomorrow", "2030-01-01", "2030-13-01T00:00:00Z", "2030-01-01T25:00:00Z", "")).map(
        lambda bad: ({"dry": True, "now": bad}, "now", "Invalid value")),
)
_PROFILE_QUERIES = st.one_of(
    st.sampled_from(("yes", "1", "True", "")).map(lambda v: ({"runRuleEngine": v}, "runRuleEngine", "Invalid value")),
    st.sampled_from(({"dry": True}, {"runRuleEngine": False, "dry": True})).map(
        lambda q: (q, "dry", "Requires runRuleEngine")),
    st.sampled_from(("no", "0")).map(lambda v: ({"runRuleEngine": True, "dry": v}, "dry", "Invalid value")),
)


def _session_rules() -> dict[str, st.SearchStrategy[V2Invalid]]:
    return {
        "wrapper": _wrapper(),
        "invalid_type": _session_rule("invalid_type", _wrong_type_top, contract=True),
        "item_invalid_type": _item_rule("item_invalid_type", _wrong_type_item, contract=True),
        "item_required": _item_rule("item_required", _drop(("sku", "quantity")), contract=True),
        "item_price_required": _item_rule("item_price_required", _drop(("price",)), contract=False),
        "quantity_minimum": _item_rule("quantity_minimum", _item_setter(
            "quantity", st.sampled_from((0, -1, -(2**31))), "Below minimum"), contract=True),
        "sku_min_length": _item_rule("sku_min_length", _item_setter("sku", st.just(""), "Too short"), contract=True),
        "item_unknown_field": _item_rule("item_unknown_field", _item_setter(
            "adjustment", st.just({"payFromLoyaltyProgram": 1, "pointPayment": 1}), "Unknown field"), contract=False),
        "state_enum": _session_rule("state_enum", _setter(
            "state", st.sampled_from(("", "OPEN", "Closed", "canceled", "reopened", "partiallyReturned")),
            "Invalid value"), contract=True),
        "code_max_length": _session_rule("code_max_length", _long_code, contract=True),
        "identifiers_limit": _session_rule("identifiers_limit", _setter(
            "identifiers", st.integers(V2_MAX_IDENTIFIERS + 1, 9).map(lambda n: [f"i{k}" for k in range(n)]),
            "Too many items"), contract=True),
        "loyalty_cards_limit": _session_rule("loyalty_cards_limit", _setter(
            "loyaltyCards", st.just(["card-1", "card-2"]), "Too many items"), contract=True),
        "loyalty_card_pattern": _session_rule("loyalty_card_pattern", _setter(
            "loyaltyCards", st.sampled_from(("abc", "has space", "x" * 109, "ümlaut", "a.b.c")).map(lambda c: [c]),
            "Invalid value", 0), contract=False),
        "store_id_length": _session_rule("store_id_length", _store_length, contract=True),
        "unknown_field": _session_rule("unknown_field", _unknown_member, contract=False),
        "cost_name_pattern": _session_rule("cost_name_pattern", _bad_cost_name, contract=False),
        "cost_required": _session_rule("cost_required", _cost_without_price, contract=True),
        "cart_items_limit": _session_rule("cart_items_limit", _too_many_items, contract=False),
        "quantity_sum_limit": _session_rule("quantity_sum_limit", _too_many_units, contract=False),
        "attribute_depth_limit": _session_rule("attribute_depth_limit", _deep_attribute, contract=False),
        "totals_out_of_range": _session_rule("totals_out_of_range", _non_finite_totals, contract=False),
        "query_parameter": _query_rule(SESSION_V2, _BASE, _SESSION_QUERIES),
        **raw_rules_v2(SESSION_V2, _BASE),
    }


_PROFILE_KINDS = {
    "profile_invalid_type": ("attributes", "audiences", "not_object"),
    "profile_required": ("audiences_required",),
    "profile_response_content_enum": ("content_enum",),
    "profile_attribute_depth_limit": ("deep",),
}


def _profile_body_rule(rule: str) -> st.SearchStrategy[V2Invalid]:
    """A valid profile body (sent with runRuleEngine=true) broken in one of the ways *rule* names."""

    @st.composite
    def build(draw: st.DrawFn) -> V2Invalid:
        body = draw(v2_profile_requests(run_rule_engine=True))
        kind = draw(st.sampled_from(_PROFILE_KINDS[rule]))
        pointer, title, contract = "/attributes", "Invalid type", True
        if kind == "attributes":
            body["attributes"] = draw(st.sampled_from(_WRONG["object"]))
        elif kind == "audiences":
            body["audiencesChanges"] = {"adds": draw(st.sampled_from(_WRONG["array"])), "deletes": []}
            pointer = "/audiencesChanges/adds"
        elif kind == "not_object":
            body, pointer = draw(st.sampled_from(([], "x", 0, True))), ""
        elif kind == "audiences_required":
            member = draw(st.sampled_from(("adds", "deletes")))
            body["audiencesChanges"] = {"adds": [1], "deletes": [2]}
            del body["audiencesChanges"][member]
            pointer, title = "/audiencesChanges/" + member, "Required"
        elif kind == "content_enum":
            body["responseContent"] = [draw(st.sampled_from(("coupons", "customerSession", "referral", "return")))]
            pointer, title = "/responseContent/0", "Invalid value"
        else:
            body["attributes"] = {"deep": _too_deep(draw(st.integers(11, 40)))}
            pointer, title, contract = "/attributes/deep", "Nested too deeply", False
        return V2Invalid(PROFILE_V2, body, rule, title, pointer, query={"runRuleEngine": True},
                         contract_rejects=contract)

    return build()


@st.composite
def _content_without_engine(draw: st.DrawFn) -> V2Invalid:
    body = draw(v2_profile_requests(run_rule_engine=False))
    body["responseContent"] = [draw(st.sampled_from(("customerProfile", "event", "loyalty")))]
    query = draw(st.sampled_from(({}, {"runRuleEngine": False})))
    return V2Invalid(PROFILE_V2, body, "response_content_without_rule_engine", "Requires runRuleEngine",
                     "/responseContent", query=query, contract_rejects=False)


def _profile_rules() -> dict[str, st.SearchStrategy[V2Invalid]]:
    return {
        **{rule: _profile_body_rule(rule) for rule in _PROFILE_KINDS},
        "response_content_without_rule_engine": _content_without_engine(),
        "query_parameter": _query_rule(PROFILE_V2, v2_profile_requests(run_rule_engine=False), _PROFILE_QUERIES),
        **raw_rules_v2(PROFILE_V2, v2_profile_requests(run_rule_engine=False)),
    }


V2_SESSION_RULES: tuple[str, ...] = tuple(_session_rules())
V2_PROFILE_RULES: tuple[str, ...] = tuple(_profile_rules())
V2_INVALID_RULES: tuple[str, ...] = tuple(dict.fromkeys(V2_SESSION_RULES + V2_PROFILE_RULES))


def _select(available: dict[str, st.SearchStrategy[V2Invalid]], rules: Sequence[str] | None,
            what: str) -> st.SearchStrategy[V2Invalid]:
    chosen = tuple(available) if rules is None else tuple(rules)
    if not chosen or any(r not in available for r in chosen):
        raise ValueError(f"{what} rules must be a non-empty subset of {tuple(available)}; got {chosen!r}")
    return st.one_of([available[r] for r in chosen])


def v2_invalid_session_requests(*, rules: Sequence[str] | None = None) -> st.SearchStrategy[V2Invalid]:
    """Invalid updateCustomerSessionV2 requests breaking one of *rules* (default: all V2_SESSION_RULES).

    Always exactly one problem, ``operation == SESSION_V2`` and one expected APIError (status 400 but for the
    raw 413/415 rules). Sometimes:
    a wrong wrapper (no customerSession, wrong types, unknown responseContent value or member, a non-object
    body); a wrong JSON type at a session or cart item member (null for sku/quantity); missing sku, quantity
    or price; quantity < 1; empty sku; an unknown state; codes over 100 code points; 6+ identifiers; 2 loyalty
    cards or a card outside ``^[A-Za-z0-9_-]{4,108}$``; store ids of 0 or 1001+ chars; unknown members (D21),
    including v1's ``coupon``/``total`` and CartItem's removed ``adjustment``; cost names outside
    ``^[A-Za-z]\\w*$`` or a cost without price; 1001+ items; quantities summing past 10000; 11+ deep attributes;
    totals that overflow (D31); bad ``dry``/``now`` (value, ``now`` without dry, in the past, not a date-time;
    D28, D29); malformed JSON, a valid body under a non-JSON or missing Content-Type (415), a body over 1 MiB
    (413). Never a request whose refusal depends on stored state."""
    return _select(_session_rules(), rules, "v2 session")


def v2_invalid_profile_requests(*, rules: Sequence[str] | None = None) -> st.SearchStrategy[V2Invalid]:
    """Invalid updateCustomerProfileV2 requests breaking one of *rules* (default: all V2_PROFILE_RULES).

    Always exactly one problem and ``operation == PROFILE_V2``; status 400 (the body then also carries
    ``StatusCode``, D24) but for the raw 413/415 rules. Sometimes: wrong types (attributes,
    audiencesChanges.adds, a non-object body);
    audiencesChanges without adds or deletes; a session-only responseContent value; 11+ deep attributes;
    ``responseContent`` without ``runRuleEngine=true`` (D30); bad ``runRuleEngine``/``dry`` values, ``dry=true``
    without the rule engine; the raw payloads of ``v2_invalid_session_requests``. Never an unknown top-level
    member (the profile body is open, D21)."""
    return _select(_profile_rules(), rules, "v2 profile")


def v2_invalid_requests() -> st.SearchStrategy[V2Invalid]:
    """Invalid requests for either v2 operation; ``V2Invalid.operation`` says where to send each."""
    return st.one_of(v2_invalid_profile_requests(), v2_invalid_session_requests())
