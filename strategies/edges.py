"""Edge-case bodies: valid, but at the limits of the contract (D4, D13, JSON number semantics).

Every body here validates against the contract and stays under the 1 MiB body limit once encoded by
``wire.encode_body``. Send session bodies to fresh session ids (see ``bodies``).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies.bodies import MAX_ATTRIBUTE_DEPTH, SESSION_FIELDS, SESSION_STATES
from talon_harness.strategies.ids import edge_ids

__all__ = [
    "EDGE_INTEGERS",
    "EDGE_NUMBERS",
    "EDGE_STRINGS",
    "MAX_CART_ITEMS",
    "deep_attribute_values",
    "edge_cart_items",
    "edge_customer_profiles",
    "edge_customer_sessions",
    "edge_profile_bodies",
    "edge_session_bodies",
]

MAX_CART_ITEMS = 1000

#: Finite numbers at the edges of IEEE 754 doubles and of JSON number syntax.
EDGE_NUMBERS: tuple[int | float, ...] = (
    0,
    0.0,
    -0.0,
    1.0,
    -1,
    -0.01,
    0.1 + 0.2,
    1e-7,
    1e308,
    -1e308,
    1.7976931348623157e308,
    -1.7976931348623157e308,
    5e-324,
    -5e-324,
    2.2250738585072014e-308,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    2**64,
    10**30,
)
#: Integers (JSON Schema semantics: integral floats count) for quantity-like fields, all >= 1.
EDGE_INTEGERS: tuple[int | float, ...] = (
    1,
    2,
    2**31 - 1,
    2**31,
    2**53 + 1,
    2**63 - 1,
    2**64,
    10**30,
    1.0,
    1e308,
)
#: Non-empty strings that stress encoding: escapes, NUL, BOM, RTL, zero-width, astral plane.
EDGE_STRINGS: tuple[str, ...] = (
    "x",
    " ",
    "é",
    "日本語",
    "😀",
    "👩‍💻",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "שלום",
    "مرحبا",
    "\u200b",
    "\u202eRTL",
    "\ufeffBOM",
    "\x00",
    "\\",
    '"',
    "</script>",
    "null",
    "1e400",
    "\u2028",
    "\U0010fffd",
    "e\u0301",
)


def _huge_strings() -> st.SearchStrategy[str]:
    return st.tuples(st.sampled_from(("x", "é", "😀")), st.integers(min_value=10_000, max_value=60_000)).map(
        lambda t: t[0] * t[1]
    )


def _strings(*, allow_empty: bool) -> st.SearchStrategy[str]:
    pool = st.sampled_from(EDGE_STRINGS + (("",) if allow_empty else ()))
    return st.one_of(pool, st.text(min_size=0 if allow_empty else 1, max_size=5))


def _nullable(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(st.none(), strategy)


@st.composite
def deep_attribute_values(draw: st.DrawFn, depth: int = MAX_ATTRIBUTE_DEPTH) -> Any:
    """A value nested exactly *depth* levels (default 10, the D13 maximum), mixing arrays and
    objects, with a scalar at the bottom. Never deeper than *depth*."""
    if not 0 <= depth <= MAX_ATTRIBUTE_DEPTH:
        raise ValueError(f"depth must be within 0..{MAX_ATTRIBUTE_DEPTH}; got {depth!r}")
    value: Any = draw(st.one_of(st.integers(), st.sampled_from(EDGE_STRINGS), st.booleans(), st.none()))
    for _ in range(depth):
        value = [value] if draw(st.booleans()) else {draw(st.sampled_from(("k", "a/b", "~"))): value}
    return value


def _edge_attributes() -> st.SearchStrategy[dict[str, Any]]:
    keys = st.sampled_from(("", "a/b", "~0", "~1", "x" * 200, "😀", "\u200b", "Name", "null"))
    values = st.one_of(
        st.none(),
        st.sampled_from(EDGE_NUMBERS),
        _strings(allow_empty=True),
        deep_attribute_values(),
        st.just({}),
        st.just([]),
    )
    return st.dictionaries(keys, values, max_size=4)


def _adjustments() -> st.SearchStrategy[dict[str, Any]]:
    return st.fixed_dictionaries(
        {
            "payFromLoyaltyProgram": st.sampled_from((0, -1, 2**63 - 1, 2**64, 1.0)),
            "pointPayment": st.sampled_from(EDGE_INTEGERS),
        },
        optional={"remainingPrice": _nullable(st.sampled_from((0, 0.0, -0.0, 5e-324, 1e308)))},
    )


def edge_cart_items() -> st.SearchStrategy[dict[str, Any]]:
    """CartItems at the limits. Always valid: non-empty name/sku, integral quantity >= 1 (``1.0``,
    ``1e308`` and ints beyond 64 bits included), finite price (0, -0.0, negative, 1e308, 5e-324).
    Varies: unicode in every string, optional fields absent/null/extreme, 10-deep attributes.
    Never NaN/Infinity, never a bool for a number."""
    numbers = st.sampled_from(EDGE_NUMBERS)
    return st.fixed_dictionaries(
        {
            "name": _strings(allow_empty=False),
            "sku": _strings(allow_empty=False),
            "quantity": st.sampled_from(EDGE_INTEGERS),
            "price": numbers,
        },
        optional={
            "category": _nullable(_strings(allow_empty=True)),
            **{k: _nullable(numbers) for k in ("weight", "height", "width", "length", "position")},
            "attributes": _nullable(_edge_attributes()),
            "adjustment": _nullable(_adjustments()),
        },
    )


def _full_carts() -> st.SearchStrategy[list[dict[str, Any]]]:
    """Exactly MAX_CART_ITEMS items: one drawn item repeated with distinct skus (cheap to generate)."""
    base = st.fixed_dictionaries(
        {"name": _strings(allow_empty=False), "price": st.sampled_from(EDGE_NUMBERS)}
    )
    return base.map(
        lambda b: [
            {"name": b["name"], "sku": f"SKU-{i}", "quantity": 1, "price": b["price"]}
            for i in range(MAX_CART_ITEMS)
        ]
    )


def edge_customer_sessions() -> st.SearchStrategy[dict[str, Any]]:
    """NewCustomerSession bodies at the limits, for a fresh session id.

    Always valid and under 1 MiB encoded. Varies: ``{}``; every field null; empty strings where allowed
    (profileId ``""`` = anonymous, coupon, referral); exactly 1000 cart items; extreme totals (1e308,
    -0.0, 5e-324, ints beyond 64 bits); attributes 10 levels deep; huge (10k-60k char) strings; unicode
    and awkward ids as profileId. Never an unknown key, never NaN/Infinity.
    """
    all_null = st.just({k: None for k in SESSION_FIELDS})
    empties = st.fixed_dictionaries(
        {"profileId": st.just(""), "coupon": st.just(""), "referral": st.just("")},
        optional={"cartItems": st.just([]), "attributes": st.just({}), "total": st.just(-0.0)},
    )
    facets = st.fixed_dictionaries(
        {},
        optional={
            "profileId": _nullable(st.one_of(st.just(""), edge_ids())),
            "coupon": _nullable(st.one_of(_strings(allow_empty=True), _huge_strings())),
            "referral": _nullable(_strings(allow_empty=True)),
            "state": _nullable(st.sampled_from(SESSION_STATES)),
            "cartItems": _nullable(st.lists(edge_cart_items(), max_size=3)),
            "total": _nullable(st.sampled_from(EDGE_NUMBERS)),
            "attributes": _nullable(_edge_attributes()),
        },
    )
    full_cart = st.builds(
        lambda cart, total: {"cartItems": cart, "total": total}, _full_carts(), st.sampled_from(EDGE_NUMBERS)
    )
    return st.one_of(st.just({}), all_null, empties, facets, full_cart)


def edge_customer_profiles() -> st.SearchStrategy[dict[str, Any]]:
    """NewCustomerProfile bodies at the limits. Always valid and under 1 MiB encoded. Varies: ``{}``,
    ``attributes`` null or empty, null attribute values (keep stored), 10-deep values, extreme numbers,
    huge strings, awkward keys (``""``, ``a/b``, ``~0``), unknown top-level keys (ignored, D3)."""
    huge = _huge_strings().map(lambda s: {"attributes": {"Bio": s}})
    return st.one_of(
        st.just({}),
        st.just({"attributes": None}),
        st.just({"attributes": {}}),
        st.builds(lambda a: {"attributes": a}, _edge_attributes()),
        huge,
        st.builds(
            lambda a, v: {"attributes": a, "name": v, "advocateId": None},
            _edge_attributes(),
            _strings(allow_empty=True),
        ),
    )


def _edge_items() -> list[dict[str, Any]]:
    return [{"name": s, "sku": f"SKU-{i}", "quantity": EDGE_INTEGERS[i % len(EDGE_INTEGERS)],
             "price": EDGE_NUMBERS[i % len(EDGE_NUMBERS)]} for i, s in enumerate(EDGE_STRINGS)]


def edge_session_bodies() -> tuple[dict[str, Any], ...]:
    """Fixed valid NewCustomerSession bodies built from the constants above (no Hypothesis): an emptied
    cart, one edge string per item name, per attribute key/value, coupon and referral, every edge number
    as total, and the whole edge cart with a 10-deep attribute. For callers that cycle through examples
    in order; always valid for a fresh or open session."""
    items = _edge_items()
    bodies: list[dict[str, Any]] = [{"cartItems": [], "total": 0}]
    bodies += [{"cartItems": [item], "total": item["price"]} for item in items]
    bodies += [{"attributes": {s or "k": s}, "coupon": s, "referral": s} for s in EDGE_STRINGS]
    bodies += [{"total": n, "profileId": ""} for n in EDGE_NUMBERS]
    bodies += [{"cartItems": items, "attributes": {"deep": [[[[[[[[[["10"]]]]]]]]]]}}]
    return tuple(bodies)


def edge_profile_bodies() -> tuple[dict[str, Any], ...]:
    """Fixed valid NewCustomerProfile bodies: every edge string as an attribute key and value, every edge
    number as a value next to a null one (D4: keep the stored value)."""
    bodies: list[dict[str, Any]] = [{"attributes": {s: s}} for s in EDGE_STRINGS]
    bodies += [{"attributes": {"n": n, "Name": None}} for n in EDGE_NUMBERS]
    return tuple(bodies)
