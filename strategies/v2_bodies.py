"""Valid v2 request bodies and query parameters (integration-v2.yaml, D20-D36).

Bodies are plain dicts for ``wire.build_put(SESSION_V2 | PROFILE_V2, ...)``; queries are dicts for its
``query=``. Every body here validates against integration-v2.yaml AND is accepted (200) by a server that
follows D21-D33 when sent to a fresh id with a query from the matching ``v2_*_queries`` strategy:

- no ``null`` member (the contract types none of them nullable; the SDK never sends one), except
  ``audiencesChanges`` (nullable) and attribute values (free JSON, D21: null keeps the stored value);
- every cart item has a ``price`` (D21: no catalog), additional cost names match ``^[A-Za-z]\\w*$``
  (D21), loyalty cards ``^[A-Za-z0-9_-]{4,108}$`` (D33), at most 1000 items whose quantities sum to at
  most 10000 (D33), and totals that stay finite (D31);
- a new session is created ``open`` or ``closed`` (D22);
- a profile body carries ``responseContent`` only for ``runRuleEngine=true`` (D30).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies.bodies import attributes_objects, json_texts
from talon_harness.strategies.ids import entity_ids
from talon_harness.strategies.wire import PROFILE_V2, SESSION_V2, QueryValue

__all__ = [
    "V2_ALLOWED_TRANSITIONS",
    "V2_CREATION_STATES",
    "V2_MAX_CART_ITEMS",
    "V2_MAX_CODE_LENGTH",
    "V2_MAX_IDENTIFIERS",
    "V2_MAX_LOYALTY_CARDS",
    "V2_MAX_STORE_ID_LENGTH",
    "V2_MAX_TOTAL_QUANTITY",
    "V2_PROFILE_RESPONSE_CONTENT",
    "V2_SESSION_FIELDS",
    "V2_SESSION_RESPONSE_CONTENT",
    "V2_SESSION_STATES",
    "V2Request",
    "v2_additional_cost_names",
    "v2_additional_costs",
    "v2_cart_items",
    "v2_future_nows",
    "v2_loyalty_card_ids",
    "v2_new_customer_sessions",
    "v2_profile_queries",
    "v2_profile_requests",
    "v2_requests",
    "v2_session_queries",
    "v2_session_requests",
]

V2_SESSION_STATES: tuple[str, ...] = ("open", "closed", "partially_returned", "cancelled")
#: D22: a session is created in one of these states.
V2_CREATION_STATES: tuple[str, ...] = ("open", "closed")
#: D22: the moves this endpoint makes (sending the stored state again is always allowed).
V2_ALLOWED_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {("open", "closed"), ("open", "cancelled"), ("closed", "cancelled"), ("partially_returned", "cancelled")}
)
V2_SESSION_FIELDS: tuple[str, ...] = (
    "profileId", "storeIntegrationId", "evaluableCampaignIds", "couponCodes", "referralCode", "loyaltyCards",
    "state", "cartItems", "additionalCosts", "identifiers", "attributes",
)
V2_SESSION_RESPONSE_CONTENT: tuple[str, ...] = (
    "customerSession", "customerProfile", "coupons", "triggeredCampaigns", "referral", "loyalty", "event",
    "awardedGiveaways", "ruleFailureReasons", "previousReturns",
)
V2_PROFILE_RESPONSE_CONTENT: tuple[str, ...] = (
    "customerProfile", "triggeredCampaigns", "loyalty", "event", "awardedGiveaways", "ruleFailureReasons",
)
# D33 limits
V2_MAX_CART_ITEMS = 1000
V2_MAX_TOTAL_QUANTITY = 10_000
V2_MAX_IDENTIFIERS = 5
V2_MAX_LOYALTY_CARDS = 1
V2_MAX_CODE_LENGTH = 100
V2_MAX_STORE_ID_LENGTH = 1000
_PRICE_BOUND = 1e12  # |price| and |cost| in the generic strategies: sums of a few stay finite (D31)


@dataclass(frozen=True)
class V2Request:
    """One valid v2 call for a fresh id: the operation, its body and its query parameters."""

    operation: str
    body: dict[str, Any]
    query: dict[str, QueryValue] = field(default_factory=dict)


def _prices() -> st.SearchStrategy[int | float]:
    return st.one_of(
        st.integers(-10**9, 10**9),
        st.floats(-_PRICE_BOUND, _PRICE_BOUND, allow_nan=False, allow_infinity=False),
    )


def _date_times() -> st.SearchStrategy[str]:
    """RFC 3339 date-times with ``Z`` (the contract's ``format: date-time``)."""
    return st.datetimes(datetime(1970, 1, 1), datetime(2100, 1, 1)).map(
        lambda d: d.replace(microsecond=0).isoformat() + "Z"
    )


def v2_additional_cost_names() -> st.SearchStrategy[str]:
    """Additional cost API names (D21: ``^[A-Za-z]\\w*$``), ASCII, 1-16 characters. Never anything else."""
    return st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,15}", fullmatch=True)


def v2_additional_costs(*, max_size: int = 3) -> st.SearchStrategy[dict[str, dict[str, Any]]]:
    """``{name: {"price": number}}`` maps. Always valid names and finite prices within +-1e12; may be empty;
    never an extra member in a cost (AdditionalCost is closed, D21)."""
    return st.dictionaries(v2_additional_cost_names(), st.builds(lambda p: {"price": p}, _prices()),
                           max_size=max_size)


def v2_loyalty_card_ids() -> st.SearchStrategy[str]:
    """Loyalty card identifiers (D33: ``^[A-Za-z0-9_-]{4,108}$``). Never shorter, longer or other characters."""
    return st.from_regex(r"[A-Za-z0-9_-]{4,108}", fullmatch=True)


def v2_cart_items(*, max_quantity: int = 100) -> st.SearchStrategy[dict[str, Any]]:
    """Valid v2 CartItem objects.

    Always: ``sku`` a non-empty string, ``quantity`` an integer 1..*max_quantity*, ``price`` a finite number
    within +-1e12 (required by D21). Sometimes: each optional CartItem member (name, category, product,
    dimensions, position, attributes, additionalCosts, catalogItemID, selectedPriceType, a UUID
    adjustmentReferenceId, RFC 3339 adjustment dates, prices, returned/remaining quantities). Never null,
    never an unknown member, never NaN/Infinity or a bool for a number.
    """
    if not 1 <= max_quantity <= V2_MAX_TOTAL_QUANTITY:
        raise ValueError(f"max_quantity must be within 1..{V2_MAX_TOTAL_QUANTITY}; got {max_quantity!r}")
    numbers = st.floats(-1e6, 1e6, allow_nan=False, allow_infinity=False)
    price_detail = st.fixed_dictionaries({}, optional={
        "price": _prices(), "adjustmentContextId": json_texts(), "adjustmentReferenceId": st.uuids().map(str),
        "adjustmentEffectiveFrom": _date_times(), "adjustmentEffectiveUntil": _date_times(),
    })
    return st.fixed_dictionaries(
        {"sku": json_texts(min_size=1), "quantity": st.integers(1, max_quantity), "price": _prices()},
        optional={
            "name": json_texts(), "category": json_texts(), "product": st.builds(lambda n: {"name": n}, json_texts()),
            **{dim: numbers for dim in ("weight", "height", "width", "length", "position")},
            "attributes": attributes_objects(max_depth=2), "additionalCosts": v2_additional_costs(max_size=2),
            "catalogItemID": st.integers(0, 2**31 - 1), "selectedPriceType": json_texts(),
            "adjustmentReferenceId": st.uuids().map(str), "adjustmentEffectiveFrom": _date_times(),
            "adjustmentEffectiveUntil": _date_times(), "returnedQuantity": st.integers(0, 100),
            "remainingQuantity": st.integers(0, 100),
            "prices": st.dictionaries(json_texts(min_size=1, max_size=10), price_detail, max_size=2),
        },
    )


def _check_states(states: Sequence[str]) -> tuple[str, ...]:
    if not states or any(s not in V2_SESSION_STATES for s in states):
        raise ValueError(f"states must be a non-empty subset of {V2_SESSION_STATES}; got {tuple(states)!r}")
    return tuple(states)


def v2_new_customer_sessions(
    *, states: Sequence[str] = V2_CREATION_STATES, max_items: int = 3
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid NewCustomerSessionV2 objects (the ``customerSession`` member).

    Always: only NewCustomerSessionV2 members, each within its D33 limit (<= 5 identifiers, <= 1 loyalty card,
    codes <= 100 code points, storeIntegrationId 1..1000). Sometimes: each member absent or set independently;
    ``profileId`` ``""`` (anonymous) or a D12 id; ``state`` one of *states* (default: the creation states, so
    the body suits a fresh id); 0..*max_items* cart items. Never null, never an unknown member.
    """
    chosen = _check_states(states)
    if not 0 <= max_items <= 100:
        raise ValueError(f"max_items must be within 0..100; got {max_items!r}")
    codes = json_texts(max_size=V2_MAX_CODE_LENGTH)
    return st.fixed_dictionaries({}, optional={
        "profileId": st.one_of(st.just(""), entity_ids()),
        "storeIntegrationId": json_texts(min_size=1, max_size=40),
        "evaluableCampaignIds": st.lists(st.integers(0, 2**31 - 1), max_size=3),
        "couponCodes": st.lists(codes, max_size=3),
        "referralCode": codes,
        "loyaltyCards": st.lists(v2_loyalty_card_ids(), max_size=V2_MAX_LOYALTY_CARDS),
        "state": st.sampled_from(chosen),
        "cartItems": st.lists(v2_cart_items(), max_size=max_items),
        "additionalCosts": v2_additional_costs(),
        "identifiers": st.lists(json_texts(max_size=64), max_size=V2_MAX_IDENTIFIERS),
        "attributes": attributes_objects(),
    })


def _response_content(values: tuple[str, ...]) -> st.SearchStrategy[list[str]]:
    return st.lists(st.sampled_from(values), max_size=len(values) + 1)  # + 1: a repeat now and then (D27)


def v2_session_requests(
    *, states: Sequence[str] = V2_CREATION_STATES, max_items: int = 3
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid IntegrationRequest bodies: ``{"customerSession": <v2_new_customer_sessions>}`` and sometimes a
    ``responseContent`` list (any of its ten values, possibly empty or with a repeat). Always the required
    ``customerSession``; never an unknown member or null."""
    return st.fixed_dictionaries(
        {"customerSession": v2_new_customer_sessions(states=states, max_items=max_items)},
        optional={"responseContent": _response_content(V2_SESSION_RESPONSE_CONTENT)},
    )


def v2_profile_requests(*, run_rule_engine: bool = True) -> st.SearchStrategy[dict[str, Any]]:
    """Valid CustomerProfileIntegrationRequestV2 bodies (every member optional, so ``{}`` too).

    Sometimes: attributes (null values allowed: keep), evaluableCampaignIds, audiencesChanges (adds and
    deletes, or null), and, only when *run_rule_engine* is true, ``responseContent`` (D30). Never an unknown
    member (the profile body is open, D21, but a valid body has no need of one)."""
    optional: dict[str, st.SearchStrategy[Any]] = {
        "attributes": attributes_objects(),
        "evaluableCampaignIds": st.lists(st.integers(0, 2**31 - 1), max_size=3),
        "audiencesChanges": st.one_of(st.none(), st.fixed_dictionaries({
            "adds": st.lists(st.integers(1, 2**31 - 1), max_size=3),
            "deletes": st.lists(st.integers(1, 2**31 - 1), max_size=3),
        })),
    }
    if run_rule_engine:
        optional["responseContent"] = _response_content(V2_PROFILE_RESPONSE_CONTENT)
    return st.fixed_dictionaries({}, optional=optional)


def v2_future_nows() -> st.SearchStrategy[str]:
    """Values of ``now`` later than any clock before 2030 (D29), in every form the server must read: RFC 3339
    with ``Z`` or ``+hh:mm``, the official SDK's ``.ffffff+0000`` form, and no offset at all (UTC)."""
    moments = st.datetimes(datetime(2030, 1, 1), datetime(2099, 12, 31)).map(lambda d: d.replace(tzinfo=UTC))
    forms = st.sampled_from(("z", "colon", "sdk", "naive"))

    def render(moment: datetime, form: str) -> str:
        base = moment.strftime("%Y-%m-%dT%H:%M:%S")
        return {"z": base + "Z", "colon": base + "+00:00", "sdk": moment.strftime("%Y-%m-%dT%H:%M:%S.%f%z"),
                "naive": base}[form]

    return st.builds(render, moments, forms)


def v2_session_queries() -> st.SearchStrategy[dict[str, QueryValue]]:
    """Valid session query parameters: none, ``dry`` false or true, or ``dry=true`` with a future ``now``
    (D28, D29). Never ``now`` without ``dry=true``, never ``runRuleEngine`` (not a session parameter)."""
    return st.one_of(
        st.just({}), st.just({"dry": False}), st.just({"dry": True}),
        v2_future_nows().map(lambda now: {"dry": True, "now": now}),
    )


def v2_profile_queries(*, run_rule_engine: bool = True) -> st.SearchStrategy[dict[str, QueryValue]]:
    """Valid profile query parameters for *run_rule_engine*: with it, ``runRuleEngine=true`` and sometimes
    ``dry`` (true or false); without it, nothing, ``runRuleEngine=false`` or ``dry=false`` (D30: ``dry=true``
    needs the rule engine). Never ``now`` (not a profile parameter)."""
    if run_rule_engine:
        return st.sampled_from(({"runRuleEngine": True}, {"runRuleEngine": True, "dry": True},
                                {"runRuleEngine": True, "dry": False}, {"dry": True, "runRuleEngine": True}))
    return st.sampled_from(({}, {"runRuleEngine": False}, {"dry": False}))


def v2_requests(*, max_items: int = 3) -> st.SearchStrategy[V2Request]:
    """Valid v2 calls for a fresh id, body and query drawn together: session requests with any valid session
    query, and profile requests whose ``responseContent`` matches their ``runRuleEngine``. Shrinks towards a
    session call without query."""
    sessions = st.builds(lambda b, q: V2Request(SESSION_V2, b, q), v2_session_requests(max_items=max_items),
                         v2_session_queries())
    profiles = st.booleans().flatmap(lambda run: st.builds(
        lambda b, q: V2Request(PROFILE_V2, b, q), v2_profile_requests(run_rule_engine=run),
        v2_profile_queries(run_rule_engine=run)))
    return st.one_of(sessions, profiles)
