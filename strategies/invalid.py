"""Invalid requests, each a valid body broken in ONE named way, tagged with the rule it breaks.

``Invalid.breaks`` is the rule name (the same id used by checks and Locust tags); ``Invalid.pointer`` is
the JSON pointer the server's error must name (``""`` for document-level problems; for a missing
required member the pointer where it would be). Raw payloads (malformed JSON, bad UTF-8, ...) carry
``body`` as bytes. Invalid bodies never depend on server state: send them to any id, they must be
rejected with ``status`` and change nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies._raw import raw_rules
from talon_harness.strategies.bodies import (
    SESSION_FIELDS,
    cart_items,
    json_texts,
    new_customer_profiles,
    new_customer_sessions,
)
from talon_harness.strategies.types import MAX_BODY_BYTES, Invalid, json_pointer
from talon_harness.strategies.wire import PROFILE, SESSION

__all__ = [
    "INVALID_RULES",
    "MAX_BODY_BYTES",
    "PROFILE_RULES",
    "RULE_TITLES",
    "SESSION_RULES",
    "Invalid",
    "invalid_bodies",
    "invalid_examples",
    "invalid_profile_bodies",
    "invalid_session_bodies",
    "json_pointer",
]

_BASE_PROFILES = new_customer_profiles()
_BASE_SESSIONS = new_customer_sessions(max_items=2)
_ITEMS = st.lists(cart_items(), min_size=1, max_size=3)
_ANY_JSON = st.one_of(
    st.none(), st.booleans(), st.integers(), json_texts(max_size=5), st.just([]), st.just({})
)

# Values of the wrong JSON type for each schema type. Required members also get null (not nullable).
_WRONG: dict[str, tuple[Any, ...]] = {
    "string": (0, 1.5, True, [], {}, ["x"]),
    "number": ("1", "NaN", True, False, [], {}, [1]),
    "integer": (1.5, "1", True, [], {}, 5.5),
    "object": ("x", 1, True, [], [{}]),
    "array": ("x", 1, True, {}, {"0": {}}),
}
_SESSION_TYPES = {
    "profileId": "string",
    "coupon": "string",
    "referral": "string",
    "state": "string",
    "cartItems": "array",
    "total": "number",
    "attributes": "object",
}
_ITEM_TYPES = {
    "name": "string",
    "sku": "string",
    "quantity": "integer",
    "price": "number",
    "category": "string",
    "weight": "number",
    "height": "number",
    "width": "number",
    "length": "number",
    "position": "number",
    "attributes": "object",
    "adjustment": "object",
}
_ITEM_REQUIRED = ("name", "sku", "quantity", "price")
_ADJUSTMENT_TYPES = {
    "payFromLoyaltyProgram": "integer",
    "pointPayment": "integer",
    "remainingPrice": "number",
}
_ADJUSTMENT_REQUIRED = ("payFromLoyaltyProgram", "pointPayment")


def _wrong(kind: str, *, required: bool) -> st.SearchStrategy[Any]:
    return st.sampled_from(_WRONG[kind] + ((None,) if required else ()))


#: Depths far past D13 but well below any JSON parser's own nesting limit (about 1000 for Python's
#: json), so the error is still the attribute's, not the document's. 254-256 straddle orjson's
#: 254-level serialisation limit.
_DEEP_LEVELS = (32, 100, 253, 254, 255, 256, 300)


def _too_deep(depth: int) -> Any:
    value: Any = "bottom"
    for level in range(depth):
        value = [value] if level % 2 else {"k": value}
    return value


# ---- JSON-level rules (body is an object; the contract's validator must fail at `pointer`) ----------
@st.composite
def _invalid_type_session(draw: st.DrawFn) -> Invalid:
    body = draw(_BASE_SESSIONS)
    where = draw(st.sampled_from(("top", "item", "adjustment", "item_itself")))
    if where == "top":
        key = draw(st.sampled_from(sorted(_SESSION_TYPES)))
        body[key] = draw(_wrong(_SESSION_TYPES[key], required=False))
        return Invalid(body, "invalid_type", json_pointer(key), operation=SESSION)
    items = draw(_ITEMS)
    index = draw(st.integers(0, len(items) - 1))
    body["cartItems"] = items
    if where == "item_itself":
        items[index] = draw(st.sampled_from(("x", 1, True, None, [])))
        return Invalid(body, "invalid_type", json_pointer("cartItems", index), operation=SESSION)
    if where == "item":
        key = draw(st.sampled_from(sorted(_ITEM_TYPES)))
        items[index][key] = draw(_wrong(_ITEM_TYPES[key], required=key in _ITEM_REQUIRED))
        return Invalid(body, "invalid_type", json_pointer("cartItems", index, key), operation=SESSION)
    key = draw(st.sampled_from(sorted(_ADJUSTMENT_TYPES)))
    adjustment = {"payFromLoyaltyProgram": 1, "pointPayment": 10}
    adjustment[key] = draw(_wrong(_ADJUSTMENT_TYPES[key], required=key in _ADJUSTMENT_REQUIRED))
    items[index]["adjustment"] = adjustment
    return Invalid(
        body, "invalid_type", json_pointer("cartItems", index, "adjustment", key), operation=SESSION
    )


@st.composite
def _invalid_type_profile(draw: st.DrawFn) -> Invalid:
    body = draw(_BASE_PROFILES)
    body["attributes"] = draw(_wrong("object", required=False))
    return Invalid(body, "invalid_type", "/attributes", operation=PROFILE)


def _item_rule(
    rule: str, mutate: Callable[[st.DrawFn, dict[str, Any]], tuple[str, ...]]
) -> st.SearchStrategy[Invalid]:
    """A session whose cart item at some index is broken by *mutate* (returns the pointer parts)."""

    @st.composite
    def build(draw: st.DrawFn) -> Invalid:
        body = draw(_BASE_SESSIONS)
        items = draw(_ITEMS)
        index = draw(st.integers(0, len(items) - 1))
        parts = mutate(draw, items[index])
        body["cartItems"] = items
        return Invalid(body, rule, json_pointer("cartItems", index, *parts), operation=SESSION)

    return build()


def _drop_required(draw: st.DrawFn, item: dict[str, Any]) -> tuple[str, ...]:
    key = draw(st.sampled_from(_ITEM_REQUIRED))
    del item[key]
    return (key,)


def _drop_adjustment_required(draw: st.DrawFn, item: dict[str, Any]) -> tuple[str, ...]:
    key = draw(st.sampled_from(_ADJUSTMENT_REQUIRED))
    adjustment = {"payFromLoyaltyProgram": 1, "pointPayment": 5, "remainingPrice": 1.5}
    del adjustment[key]
    item["adjustment"] = adjustment
    return ("adjustment", key)


def _set(key: str, values: st.SearchStrategy[Any]) -> Callable[[st.DrawFn, dict[str, Any]], tuple[str, ...]]:
    def mutate(draw: st.DrawFn, item: dict[str, Any]) -> tuple[str, ...]:
        item[key] = draw(values)
        return (key,)

    return mutate


def _set_adjustment(
    key: str, values: st.SearchStrategy[Any]
) -> Callable[[st.DrawFn, dict[str, Any]], tuple[str, ...]]:
    def mutate(draw: st.DrawFn, item: dict[str, Any]) -> tuple[str, ...]:
        item["adjustment"] = {"payFromLoyaltyProgram": 1, "pointPayment": 5, key: draw(values)}
        return ("adjustment", key)

    return mutate


@st.composite
def _state_enum(draw: st.DrawFn) -> Invalid:
    body = draw(_BASE_SESSIONS)
    body["state"] = draw(
        st.sampled_from(
            ("", "OPEN", "Closed", "canceled", "pending", "reopened", "open ", "partially_returned")
        )
    )
    return Invalid(body, "session_state_enum", "/state", operation=SESSION)


@st.composite
def _unknown_field(draw: st.DrawFn) -> Invalid:
    body = draw(_BASE_SESSIONS)
    key = draw(
        st.one_of(
            st.sampled_from(("currency", "shippingCost", "profileID", "State", "a/b", "~x", "", "id")),
            json_texts(min_size=1, max_size=10),
        ).filter(lambda k: k not in SESSION_FIELDS)
    )
    body[key] = draw(_ANY_JSON)
    return Invalid(body, "session_unknown_field", json_pointer(key), operation=SESSION)


@st.composite
def _cart_items_limit(draw: st.DrawFn) -> Invalid:
    body = draw(_BASE_SESSIONS)
    count = draw(st.integers(1001, 1010))
    body["cartItems"] = [{"name": "n", "sku": f"S{i}", "quantity": 1, "price": 1.0} for i in range(count)]
    return Invalid(body, "cart_items_limit", "/cartItems", operation=SESSION)


@st.composite
def _attribute_depth(draw: st.DrawFn, operation: str) -> Invalid:
    body = draw(_BASE_SESSIONS if operation == SESSION else _BASE_PROFILES)
    key = draw(st.sampled_from(("deep", "a/b", "~", "")))
    attributes = {key: _too_deep(draw(st.one_of(st.integers(11, 14), st.sampled_from(_DEEP_LEVELS))))}
    if operation == SESSION and draw(st.booleans()):
        items = draw(_ITEMS)
        index = draw(st.integers(0, len(items) - 1))
        items[index]["attributes"] = attributes
        body["cartItems"] = items
        pointer = json_pointer("cartItems", index, "attributes", key)
    else:
        body["attributes"] = attributes
        pointer = json_pointer("attributes", key)
    return Invalid(body, "attribute_depth_limit", pointer, operation=operation)


def _not_object(operation: str) -> st.SearchStrategy[Invalid]:
    values = st.sampled_from(([], [{}], "x", "", 0, 1.5, True, False))
    return values.map(lambda v: Invalid(v, "body_not_object", "", operation=operation))


def _profile_rules(*, raw: bool = True) -> dict[str, st.SearchStrategy[Invalid]]:
    """Every profile rule; the raw-payload ones (all bytes) last, and only with ``raw``."""
    return {
        "invalid_type": _invalid_type_profile(),
        "attribute_depth_limit": _attribute_depth(PROFILE),
        "body_not_object": _not_object(PROFILE),
        **(raw_rules(PROFILE, _BASE_PROFILES) if raw else {}),
    }


def _session_rules(*, raw: bool = True) -> dict[str, st.SearchStrategy[Invalid]]:
    """Every session rule; the raw-payload ones (all bytes) last, and only with ``raw``."""
    return {
        "invalid_type": _invalid_type_session(),
        "cart_item_required": _item_rule("cart_item_required", _drop_required),
        "adjustment_required": _item_rule("adjustment_required", _drop_adjustment_required),
        "quantity_minimum": _item_rule(
            "quantity_minimum", _set("quantity", st.sampled_from((0, -1, -(2**31), 0.0, -(2**70))))
        ),
        "point_payment_minimum": _item_rule(
            "point_payment_minimum", _set_adjustment("pointPayment", st.sampled_from((0, -1, -5)))
        ),
        "remaining_price_minimum": _item_rule(
            "remaining_price_minimum",
            _set_adjustment("remainingPrice", st.sampled_from((-0.01, -1, -1e308, -5e-324))),
        ),
        "name_min_length": _item_rule("name_min_length", _set("name", st.just(""))),
        "sku_min_length": _item_rule("sku_min_length", _set("sku", st.just(""))),
        "session_state_enum": _state_enum(),
        "session_unknown_field": _unknown_field(),
        "cart_items_limit": _cart_items_limit(),
        "attribute_depth_limit": _attribute_depth(SESSION),
        "body_not_object": _not_object(SESSION),
        **(raw_rules(SESSION, _BASE_SESSIONS) if raw else {}),
    }


#: The APIError ``title`` the contract prescribes for a rule's error (D1/D3/D13), where it prescribes one.
RULE_TITLES: Mapping[str, str] = MappingProxyType({
    "invalid_type": "Invalid type", "cart_item_required": "Required", "adjustment_required": "Required",
    "quantity_minimum": "Below minimum", "point_payment_minimum": "Below minimum",
    "remaining_price_minimum": "Below minimum", "name_min_length": "Too short", "sku_min_length": "Too short",
    "session_state_enum": "Invalid value", "session_unknown_field": "Unknown field",
    "cart_items_limit": "Too many items", "attribute_depth_limit": "Nested too deeply",
})

PROFILE_RULES: tuple[str, ...] = tuple(_profile_rules())
SESSION_RULES: tuple[str, ...] = tuple(_session_rules())
INVALID_RULES: tuple[str, ...] = tuple(dict.fromkeys(SESSION_RULES + PROFILE_RULES))


def _select(
    available: dict[str, st.SearchStrategy[Invalid]], rules: Sequence[str] | None, what: str
) -> st.SearchStrategy[Invalid]:
    chosen = tuple(available) if rules is None else tuple(rules)
    unknown = [r for r in chosen if r not in available]
    if unknown or not chosen:
        raise ValueError(f"{what} rules must be a non-empty subset of {tuple(available)}; got {chosen!r}")
    return st.one_of([available[r] for r in chosen])


def invalid_profile_bodies(*, rules: Sequence[str] | None = None) -> st.SearchStrategy[Invalid]:
    """Invalid updateCustomerProfile requests, breaking one of *rules* (default: all PROFILE_RULES).

    Always exactly one rule broken (the rest of the body is valid) and ``operation == PROFILE``.
    Varies: wrong ``attributes`` type, 11+ deep attribute values, non-object bodies, raw payloads
    (malformed, truncated, bad UTF-8, BOM, NaN, 1e400, deep nesting, duplicate keys), wrong content
    types (415), bodies over 1 MiB (413). Rules are drawn evenly. Never a body the contract accepts.
    """
    return _select(_profile_rules(), rules, "profile")


def invalid_session_bodies(*, rules: Sequence[str] | None = None) -> st.SearchStrategy[Invalid]:
    """Invalid updateCustomerSession requests, breaking one of *rules* (default: all SESSION_RULES).

    Always exactly one rule broken and ``operation == SESSION``. Varies: wrong JSON type at every
    field (cart item and adjustment fields included, null for required members), missing required
    cart-item/adjustment members, quantity or pointPayment < 1, negative remainingPrice, empty
    name/sku, unknown state, unknown top-level key (D3), 1001+ cart items, 11+ deep attributes,
    non-object bodies and all raw payloads of ``invalid_profile_bodies``. Rules are drawn evenly.
    Never a body the contract accepts.
    """
    return _select(_session_rules(), rules, "session")


def invalid_bodies() -> st.SearchStrategy[Invalid]:
    """Invalid requests for either operation (see ``invalid_profile_bodies`` and
    ``invalid_session_bodies``); ``Invalid.operation`` says where to send each."""
    return st.one_of(invalid_profile_bodies(), invalid_session_bodies())


def _draw_examples(strategy: st.SearchStrategy[Invalid], count: int, seed: int) -> list[Invalid]:
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hypothesis_seed

    drawn: list[Invalid] = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Invalid) -> None:
        drawn.append(value)

    collect()
    return drawn[:count]


def _depth(value: Any) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


def _kept(strategy: st.SearchStrategy[Invalid], count: int, seed: int, *, json_only: bool,
          max_depth: int | None) -> list[Invalid]:
    """The first ``count`` drawn examples the filters keep. A seeded draw of n examples is the prefix of
    a draw of more, so ``count`` are drawn first and four times as many only when filters dropped some."""

    def kept(examples: list[Invalid]) -> list[Invalid]:
        if json_only:
            examples = [e for e in examples if not isinstance(e.body, bytes | bytearray)
                        and e.content_type == "application/json" and e.status == 400 and e.parameter is None]
        if max_depth is not None:
            examples = [e for e in examples if isinstance(e.body, bytes | bytearray) or _depth(e.body) <= max_depth]
        return examples[:count]

    examples = kept(_draw_examples(strategy, count, seed))
    if len(examples) < count and max_depth is not None:
        examples = kept(_draw_examples(strategy, 4 * count, seed))
    return examples


def invalid_examples(
    operation: str, *, seed: int = 0, per_rule: int = 2, json_only: bool = False, max_depth: int | None = None
) -> tuple[Invalid, ...]:
    """Deterministic (for a given *seed*) concrete examples of every rule for *operation*, interleaved
    round-robin: the first ``len(rules)`` entries hold one example of each rule, and so on.

    ``json_only`` keeps only requests that are JSON documents sent as ``application/json`` and refused
    with 400 (no raw bytes, no content-type or size rules): bodies a JSON-serialising client can send.
    ``max_depth`` drops bodies nested deeper than that (some clients cannot copy or serialise them).
    Must not be called from inside a running Hypothesis test (it runs its own ``@given``).
    """
    # raw payloads are bytes, which json_only drops: they are not drawn (they come last: seeds stay put)
    rules = (_session_rules if operation == SESSION else _profile_rules)(raw=not json_only)
    per: list[list[Invalid]] = []
    for index, strategy in enumerate(rules.values()):
        examples = _kept(strategy, per_rule, seed * 1000 + index, json_only=json_only, max_depth=max_depth)
        if examples:
            per.append(examples)
    rounds = max((len(p) for p in per), default=0)
    interleaved = [p[r] for r in range(rounds) for p in per if r < len(p)]
    if operation == SESSION:  # every top-level member with a wrong type, right after the first round
        first = len(per)
        interleaved[first:first] = _top_level_wrong_types(seed)
    return tuple(interleaved)


def _top_level_wrong_types(seed: int) -> list[Invalid]:
    """One ``{member: <wrong type>}`` session body per top-level member (the value picked by *seed*)."""
    out = []
    for key, kind in _SESSION_TYPES.items():
        wrong = _WRONG[kind]
        out.append(Invalid({key: wrong[seed % len(wrong)]}, "invalid_type", json_pointer(key), operation=SESSION))
    return out
