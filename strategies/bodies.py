"""Valid request bodies: every field, every optional-field combination, every enum value.

A body is a plain dict ready for ``wire.encode_body``. Optional properties are either absent, ``null``
(D4: null means omitted) or a value, so the optional-field combinations vary independently.
Semantics that depend on server state are not modelled here: a session body with ``state: "open"`` is
only accepted for a new or still-open session, so send these bodies to fresh session ids.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies.ids import entity_ids

__all__ = [
    "ADJUSTMENT_FIELDS",
    "ALLOWED_TRANSITIONS",
    "CART_ITEM_OPTIONAL_FIELDS",
    "CART_ITEM_REQUIRED_FIELDS",
    "MAX_ATTRIBUTE_DEPTH",
    "SESSION_FIELDS",
    "SESSION_STATES",
    "attribute_values",
    "attributes_objects",
    "cart_item_adjustments",
    "cart_items",
    "json_numbers",
    "json_texts",
    "new_customer_profiles",
    "new_customer_sessions",
]

SESSION_STATES: tuple[str, ...] = ("open", "closed", "cancelled")
#: D5: the state changes a session may make (sending the current state again is always allowed).
ALLOWED_TRANSITIONS: frozenset[tuple[str, str]] = frozenset(
    {("open", "closed"), ("open", "cancelled"), ("closed", "cancelled")}
)
SESSION_FIELDS: tuple[str, ...] = (
    "profileId",
    "coupon",
    "referral",
    "state",
    "cartItems",
    "total",
    "attributes",
)
CART_ITEM_REQUIRED_FIELDS: tuple[str, ...] = ("name", "sku", "quantity", "price")
CART_ITEM_OPTIONAL_FIELDS: tuple[str, ...] = (
    "category",
    "weight",
    "height",
    "width",
    "length",
    "position",
    "attributes",
    "adjustment",
)
ADJUSTMENT_FIELDS: tuple[str, ...] = ("payFromLoyaltyProgram", "pointPayment", "remainingPrice")
MAX_ATTRIBUTE_DEPTH = 10


def json_numbers() -> st.SearchStrategy[int | float]:
    """Finite JSON numbers: integers within 64 bits or floats. Never NaN or +-Infinity, never a bool."""
    return st.one_of(
        st.integers(min_value=-(2**63), max_value=2**63 - 1),
        st.floats(allow_nan=False, allow_infinity=False),
    )


def json_texts(*, min_size: int = 0, max_size: int = 30) -> st.SearchStrategy[str]:
    """Unicode strings that encode as UTF-8 (no surrogates); may hold NUL and other escapes-only chars."""
    return st.text(min_size=min_size, max_size=max_size)


def _nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


def _scalars() -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), st.booleans(), json_numbers(), json_texts())


def attribute_values(*, max_depth: int = 3) -> st.SearchStrategy[Any]:
    """JSON values nested at most *max_depth* levels (scalar depth 0, container 1 + deepest member).

    Always within D13 when ``max_depth <= 10``; varies: null, bools, numbers, strings, lists, objects.
    Never NaN/Infinity. Shrinks towards null.
    """
    if not 0 <= max_depth <= MAX_ATTRIBUTE_DEPTH:
        raise ValueError(f"max_depth must be within 0..{MAX_ATTRIBUTE_DEPTH}; got {max_depth!r}")
    values = _scalars()
    for _ in range(max_depth):
        values = st.one_of(
            _scalars(),
            st.lists(values, max_size=3),
            st.dictionaries(json_texts(max_size=8), values, max_size=3),
        )
    return values


def attributes_objects(*, max_depth: int = 3) -> st.SearchStrategy[dict[str, Any]]:
    """Attribute objects (profile, session or cart item): any keys, values from ``attribute_values``.

    Always an object whose values nest at most *max_depth* levels; may be empty; values may be null
    (D4: keep the stored value). Keys may hold ``/``, ``~`` and any Unicode.
    """
    keys = st.one_of(json_texts(max_size=12), st.sampled_from(("Name", "a/b", "~0", "x~1y", "")))
    return st.dictionaries(keys, attribute_values(max_depth=max_depth), max_size=4)


def cart_item_adjustments() -> st.SearchStrategy[dict[str, Any]]:
    """Valid CartItemAdjustment objects: payFromLoyaltyProgram any integer, pointPayment >= 1,
    remainingPrice absent, null or a float >= 0. Never a bool where an integer is expected."""
    return st.fixed_dictionaries(
        {
            "payFromLoyaltyProgram": st.integers(min_value=-(2**63), max_value=2**63 - 1),
            "pointPayment": st.integers(min_value=1, max_value=2**63 - 1),
        },
        optional={"remainingPrice": _nullable(st.floats(min_value=0, allow_nan=False, allow_infinity=False))},
    )


def cart_items() -> st.SearchStrategy[dict[str, Any]]:
    """Valid CartItem objects.

    Always: name and sku non-empty strings, quantity an integer >= 1, price a finite number. Varies:
    every optional field (category, weight, height, width, length, position, attributes, adjustment)
    independently absent, null or set; sometimes an extra key (``currency``: CartItem is open).
    Never a bool for a number, never NaN/Infinity.
    """
    optional: dict[str, st.SearchStrategy[Any]] = {
        "category": _nullable(json_texts()),
        **{dim: _nullable(json_numbers()) for dim in ("weight", "height", "width", "length", "position")},
        "attributes": _nullable(attributes_objects(max_depth=2)),
        "adjustment": _nullable(cart_item_adjustments()),
        "currency": st.sampled_from(("EUR", "USD")),
    }
    return st.fixed_dictionaries(
        {
            "name": json_texts(min_size=1),
            "sku": json_texts(min_size=1),
            "quantity": st.integers(min_value=1, max_value=2**63 - 1),
            "price": json_numbers(),
        },
        optional=optional,
    )


def new_customer_profiles() -> st.SearchStrategy[dict[str, Any]]:
    """Valid NewCustomerProfile bodies.

    Always an object; ``attributes`` absent, null or an attributes object. Varies: sometimes a
    2016-era unknown top-level key (``advocateId``), which D3 says is ignored. Never NaN/Infinity.
    """
    return st.fixed_dictionaries(
        {},
        optional={"attributes": _nullable(attributes_objects()), "advocateId": json_texts()},
    )


def _check_states(states: Sequence[str]) -> tuple[str, ...]:
    bad = [s for s in states if s not in SESSION_STATES]
    if bad or not states:
        raise ValueError(f"states must be a non-empty subset of {SESSION_STATES}; got {tuple(states)!r}")
    return tuple(states)


def new_customer_sessions(
    *, states: Sequence[str] = SESSION_STATES, max_items: int = 3
) -> st.SearchStrategy[dict[str, Any]]:
    """Valid NewCustomerSession bodies, for a fresh session id.

    Always: an object with only the seven NewCustomerSession keys. Varies: each key independently
    absent, null or set; ``state`` one of *states*; ``profileId`` ``""`` (anonymous) or an id within
    D12; 0..*max_items* cart items. Never an unknown key, never NaN/Infinity.
    """
    chosen = _check_states(states)
    if not 0 <= max_items <= 1000:
        raise ValueError(f"max_items must be within 0..1000; got {max_items!r}")
    return st.fixed_dictionaries(
        {},
        optional={
            "profileId": _nullable(st.one_of(st.just(""), entity_ids())),
            "coupon": _nullable(json_texts()),
            "referral": _nullable(json_texts()),
            "state": _nullable(st.sampled_from(chosen)),
            "cartItems": _nullable(st.lists(cart_items(), max_size=max_items)),
            "total": _nullable(json_numbers()),
            "attributes": _nullable(attributes_objects()),
        },
    )
