"""Realistic and edge v2 bodies: what a shop on the official SDK sends, and bodies at the v2 limits.

Same guarantees as ``v2_bodies``: every body validates against integration-v2.yaml and is accepted (200) on
a fresh id (session bodies with any ``v2_session_queries`` query; profile bodies made for
``runRuleEngine=true`` carry ``responseContent``, the others never do, D30).
"""

from __future__ import annotations

import hashlib
from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies._shop import cart_item_for
from talon_harness.strategies.catalogue import PRODUCTS
from talon_harness.strategies.edges import EDGE_STRINGS, deep_attribute_values
from talon_harness.strategies.ids import MAX_ID_LENGTH, edge_ids, realistic_ids
from talon_harness.strategies.realistic import (
    coupon_codes,
    realistic_carts,
    realistic_profile_attributes,
    referral_codes,
)
from talon_harness.strategies.v2_bodies import (
    V2_MAX_CART_ITEMS,
    V2_MAX_CODE_LENGTH,
    V2_MAX_IDENTIFIERS,
    V2_MAX_STORE_ID_LENGTH,
    V2_MAX_TOTAL_QUANTITY,
    V2_PROFILE_RESPONSE_CONTENT,
    V2_SESSION_RESPONSE_CONTENT,
)

__all__ = [
    "V2_SHIPPING_COSTS",
    "V2_STORES",
    "v2_edge_profile_requests",
    "v2_edge_session_requests",
    "v2_realistic_identifiers",
    "v2_realistic_profile_requests",
    "v2_realistic_session_requests",
]

V2_STORES: tuple[str, ...] = ("store-berlin-01", "store-paris-02", "web-eu", "app-ios")
#: Session additional costs a shop defines in the Campaign Manager (names per D21), with their prices.
V2_SHIPPING_COSTS: tuple[dict[str, dict[str, float]], ...] = (
    {"shipping": {"price": 4.95}}, {"shipping": {"price": 0.0}}, {"express": {"price": 9.9}},
    {"shipping": {"price": 4.95}, "giftWrap": {"price": 2.5}},
)
_ASKED = (
    ("customerSession",), ("customerSession", "customerProfile"), ("customerSession", "coupons", "referral"),
    ("triggeredCampaigns", "event"), ("loyalty",),
)


def v2_realistic_identifiers() -> st.SearchStrategy[str]:
    """Session identifiers as the SDK recommends them: the SHA-256 hex of a device's IPv4 address (64 chars)."""
    return st.ip_addresses(v=4).map(lambda ip: hashlib.sha256(str(ip).encode()).hexdigest())


@st.composite
def v2_realistic_session_requests(draw: st.DrawFn) -> dict[str, Any]:
    """IntegrationRequest bodies a shop sends for a fresh session: a 1-20 item catalogue cart, a realistic or
    anonymous (``""``) profileId, sometimes 1-2 catalogue coupon codes (accepted or not) and a referral code,
    a shipping cost, 1-2 hashed-IP identifiers, a ``LC-`` loyalty card, a store, ShippingMethod/Channel
    attributes, and the ``responseContent`` a checkout page asks for; state open (mostly) or closed, always
    written out (the SDK sends ``"state": "open"`` by default). Never null, never an unknown member."""
    session: dict[str, Any] = {
        "profileId": draw(st.one_of(st.just(""), realistic_ids())),
        "cartItems": draw(realistic_carts()),
        "state": draw(st.sampled_from(("open", "open", "closed"))),
    }
    if draw(st.booleans()):
        session["couponCodes"] = draw(st.lists(coupon_codes(), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        session["referralCode"] = draw(referral_codes())
    if draw(st.booleans()):
        session["additionalCosts"] = draw(st.sampled_from(V2_SHIPPING_COSTS))
    if draw(st.booleans()):
        session["identifiers"] = draw(st.lists(v2_realistic_identifiers(), min_size=1, max_size=2, unique=True))
    if draw(st.booleans()):
        session["loyaltyCards"] = [f"LC-{draw(st.integers(0, 999_999)):06d}"]
    if draw(st.booleans()):
        session["storeIntegrationId"] = draw(st.sampled_from(V2_STORES))
    if draw(st.booleans()):
        session["attributes"] = {"ShippingMethod": draw(st.sampled_from(("standard", "express", "pickup"))),
                                 "Channel": draw(st.sampled_from(("web", "app", "store")))}
    body: dict[str, Any] = {"customerSession": session}
    if draw(st.booleans()):
        body["responseContent"] = list(draw(st.sampled_from(_ASKED)))
    return body


@st.composite
def v2_realistic_profile_requests(draw: st.DrawFn, run_rule_engine: bool = True) -> dict[str, Any]:
    """CustomerProfileIntegrationRequestV2 bodies a shop sends: ``realistic_profile_attributes``, sometimes an
    audience change (join 1-2 of audiences 1-20, leave one), and, with *run_rule_engine*, sometimes
    ``["customerProfile"]`` or ``["customerProfile", "loyalty"]`` as responseContent. Always valid."""
    body: dict[str, Any] = {"attributes": draw(realistic_profile_attributes())}
    if draw(st.booleans()):
        adds = draw(st.lists(st.integers(1, 20), min_size=1, max_size=2, unique=True))
        body["audiencesChanges"] = {"adds": adds, "deletes": draw(st.lists(st.integers(21, 30), max_size=1))}
    if run_rule_engine and draw(st.booleans()):
        body["responseContent"] = draw(st.sampled_from((["customerProfile"], ["customerProfile", "loyalty"])))
    return body


def _astral(count: int) -> str:
    return "😀" * count


def _limit_sessions() -> list[dict[str, Any]]:
    """Sessions exactly at each D33 limit, and at the smallest values the contract allows."""
    unit = [{"sku": f"SKU-{i}", "quantity": V2_MAX_TOTAL_QUANTITY // V2_MAX_CART_ITEMS, "price": 1.5}
            for i in range(V2_MAX_CART_ITEMS)]
    return [
        {},
        {"state": "open"},  # what the official SDK sends for an empty session
        {"identifiers": [f"id-{i}" for i in range(V2_MAX_IDENTIFIERS)]},
        {"couponCodes": ["C" * V2_MAX_CODE_LENGTH, _astral(V2_MAX_CODE_LENGTH), ""], "referralCode": "R" * 100},
        {"referralCode": _astral(V2_MAX_CODE_LENGTH)},
        {"loyaltyCards": ["a" * 108]}, {"loyaltyCards": ["ab-_"]}, {"loyaltyCards": []},
        {"storeIntegrationId": "s"}, {"storeIntegrationId": "😀" * V2_MAX_STORE_ID_LENGTH},
        {"cartItems": unit},
        {"cartItems": [{"sku": "bulk", "quantity": V2_MAX_TOTAL_QUANTITY, "price": 0.01}]},
        {"couponCodes": [], "referralCode": "", "identifiers": [], "cartItems": [], "additionalCosts": {},
         "attributes": {}},
        {"couponCodes": ["SUMMER10", "SUMMER10", "VIP25"], "referralCode": "FRIEND-BOB"},  # repeats: one effect
        {"profileId": "", "state": "closed"},
        {"profileId": "x" * MAX_ID_LENGTH},
        {"additionalCosts": {"a": {"price": 0}, "A_1": {"price": -0.0}, "x" * 200: {"price": 5e-324}}},
        {"evaluableCampaignIds": [0, 2**31 - 1, 2**53]},
    ]


def _extreme_carts() -> st.SearchStrategy[dict[str, Any]]:
    """One item at an IEEE 754 extreme price (totals stay finite: a single term) and an edge-string sku."""
    prices = st.sampled_from((1.7976931348623157e308, -1.7976931348623157e308, 5e-324, -0.0, 0, 2**63, -(2**63)))
    return st.builds(
        lambda price, sku, deep: {"cartItems": [{"sku": sku, "quantity": 1, "price": price,
                                                 "attributes": {"deep": deep}}]},
        prices, st.sampled_from(EDGE_STRINGS), deep_attribute_values(),
    )


def _catalogue_with_item_costs() -> st.SearchStrategy[dict[str, Any]]:
    """A catalogue item carrying an item-level additional cost (counted per unit, D31)."""
    return st.builds(
        lambda product, quantity: {"cartItems": [{**cart_item_for(product, quantity),
                                                  "additionalCosts": {"handling": {"price": 1.25}}}],
                                   "additionalCosts": {"shipping": {"price": 4.95}}},
        st.sampled_from(PRODUCTS), st.integers(1, 5),
    )


def v2_edge_session_requests() -> st.SearchStrategy[dict[str, Any]]:
    """IntegrationRequest bodies at the limits, for a fresh session id.

    Always valid and accepted. Sometimes: ``{"customerSession": {}}``; the SDK's ``{"state": "open"}``; every
    D33 limit exactly (5 identifiers, 100-code-point codes in ASCII and astral characters, 4- and 108-char
    loyalty cards, 1- and 1000-char store ids, 1000 items whose quantities sum to exactly 10000, one item of
    quantity 10000); the clearing values ``[]`` and ``""``; repeated codes; a 1000-char profileId; odd cost
    names; extreme single prices (+-1.79e308, 5e-324, -0.0, +-2**63) with 10-deep attributes; edge ids as
    profileId; all ten ``responseContent`` values at once (and repeated). Never two extreme prices in one
    session (their sum would not be finite, which D31 refuses).
    """
    sessions = st.one_of(
        st.sampled_from(_limit_sessions()), _extreme_carts(), _catalogue_with_item_costs(),
        edge_ids().map(lambda pid: {"profileId": pid, "state": "closed"}),
    )
    contents = st.sampled_from(((), V2_SESSION_RESPONSE_CONTENT, V2_SESSION_RESPONSE_CONTENT * 2))
    return st.builds(
        lambda s, c: {"customerSession": dict(s), **({"responseContent": list(c)} if c else {})},
        sessions, contents,
    )


def v2_edge_profile_requests(*, run_rule_engine: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """CustomerProfileIntegrationRequestV2 bodies at the limits: ``{}``, ``audiencesChanges`` null or with
    empty lists or the same id in adds and deletes, 32-bit and larger audience ids, attributes with edge keys
    and strings, null values and 10-deep values, huge (20k-char) attribute strings, and, with
    *run_rule_engine*, every ``responseContent`` value (also twice). Always valid; never an unknown member."""
    attrs = st.builds(lambda key, value, deep: {key: value, "Nothing": None, "Deep": deep},
                      st.sampled_from(("", "a/b", "~0", "😀", "Name")), st.sampled_from(EDGE_STRINGS),
                      deep_attribute_values())
    bodies: list[st.SearchStrategy[dict[str, Any]]] = [
        st.just({}), st.just({"audiencesChanges": None}),
        st.just({"audiencesChanges": {"adds": [], "deletes": []}}),
        st.just({"audiencesChanges": {"adds": [7, 2**31 - 1, 2**40], "deletes": [7]}}),
        attrs.map(lambda a: {"attributes": a}),
        st.just({"attributes": {"Bio": "é" * 20_000}}),
    ]
    if run_rule_engine:
        bodies.append(st.sampled_from((V2_PROFILE_RESPONSE_CONTENT, V2_PROFILE_RESPONSE_CONTENT * 2)).map(
            lambda c: {"responseContent": list(c)}))
    return st.one_of(bodies)
