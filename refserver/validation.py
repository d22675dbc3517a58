"""Schema rules for NewCustomerProfile / NewCustomerSession / CartItem, with JSON pointers.

Every validator returns ALL problems found (one `ErrorItem` each), never raises. Pointers name the
offending member ("/cartItems/2/quantity"), or where a missing required member would be
("/cartItems/2/name"). `null` is accepted for every optional member (D4: null means omitted).
JSON booleans are not numbers; integers follow JSON Schema (1.0 is an integer).

Revisions (D16): `late=True` validates the final v1 revision (2021-02): `identifiers` (at most 5 strings),
`coupon` and `referral` at most 100 characters (D19), and a non-null `CartItem.adjustment` refused.
`late=False` (the default) is the seed revision (2018-02), unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .errors import ErrorItem, json_pointer

__all__ = [
    "MAX_ATTRIBUTE_DEPTH",
    "MAX_CART_ITEMS",
    "MAX_CODE_LENGTH",
    "MAX_IDENTIFIERS",
    "SESSION_STATES",
    "attributes_check",
    "deeper_than",
    "invalid_type",
    "json_type",
    "validate_profile",
    "validate_session",
]

MAX_CART_ITEMS = 1000
MAX_ATTRIBUTE_DEPTH = 10
SESSION_STATES = ("open", "closed", "cancelled")
MAX_IDENTIFIERS = 5  # D19 (2021-02 revision)
MAX_CODE_LENGTH = 100  # D19: coupon and referral, in characters (code points)

_Check = Callable[[Any, str, list[ErrorItem]], None]


def json_type(value: Any) -> str:
    """JSON type name of a parsed value, integers told apart from other numbers."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int) or (isinstance(value, float) and value.is_integer()):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def invalid_type(errors: list[ErrorItem], pointer: str, expected: str, value: Any) -> None:
    """Append the "Invalid type" error at ``pointer`` (every API's wording)."""
    errors.append(ErrorItem("Invalid type", f"Expected {expected}, got {json_type(value)}.", pointer=pointer))


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _is_integer(value: Any) -> bool:
    return _is_number(value) and (isinstance(value, int) or value.is_integer())


def _string(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    if not isinstance(value, str):
        invalid_type(errors, ptr, "string", value)


def _nonempty_string(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    if not isinstance(value, str):
        invalid_type(errors, ptr, "string", value)
    elif not value:
        errors.append(
            ErrorItem("Too short", "Expected at least 1 character, got an empty string.", pointer=ptr)
        )


def _code(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    """A coupon or referral code of the 2021-02 revision: a string of at most 100 characters (D19)."""
    if not isinstance(value, str):
        invalid_type(errors, ptr, "string", value)
    elif len(value) > MAX_CODE_LENGTH:
        errors.append(
            ErrorItem(
                "Too long", f"Expected at most {MAX_CODE_LENGTH} characters, got {len(value)}.", pointer=ptr
            )
        )


def _removed(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    """A member the 2021-02 revision removed (`CartItem.adjustment`, D16): any non-null value is refused."""
    errors.append(
        ErrorItem("Removed field", "CartItem.adjustment was removed in the 2021-02 revision of v1.", pointer=ptr)
    )


def _number(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    if not _is_number(value):
        invalid_type(errors, ptr, "number", value)


def _minimum(check: _Check, minimum: int) -> _Check:
    def bounded(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
        before = len(errors)
        check(value, ptr, errors)
        if len(errors) == before and value < minimum:
            errors.append(
                ErrorItem("Below minimum", f"Expected a value >= {minimum}, got {value!r}.", pointer=ptr)
            )

    return bounded


def _integer(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    if not _is_integer(value):
        invalid_type(errors, ptr, "integer", value)


def _state(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    if not isinstance(value, str):
        invalid_type(errors, ptr, "string", value)
    elif value not in SESSION_STATES:
        errors.append(
            ErrorItem("Invalid value", f"Expected one of {list(SESSION_STATES)}, got {value!r}.", pointer=ptr)
        )


def deeper_than(value: Any, limit: int) -> bool:
    """depth(value) > limit, where a scalar has depth 0 and a container 1 + max depth of its members."""
    if isinstance(value, dict):
        return limit <= 0 or any(deeper_than(v, limit - 1) for v in value.values())
    if isinstance(value, list):
        return limit <= 0 or any(deeper_than(v, limit - 1) for v in value)
    return False


def attributes_check(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    """``attributes``: an object whose members nest at most MAX_ATTRIBUTE_DEPTH levels (v1 and v2 alike)."""
    if not isinstance(value, dict):
        invalid_type(errors, ptr, "object", value)
        return
    for key, member in value.items():
        if deeper_than(member, MAX_ATTRIBUTE_DEPTH):
            errors.append(
                ErrorItem(
                    "Nested too deeply",
                    f"Attribute values may nest at most {MAX_ATTRIBUTE_DEPTH} levels.",
                    pointer=ptr + json_pointer(key),
                )
            )


def _object_of(required: dict[str, _Check], optional: dict[str, _Check]) -> _Check:
    """An open object: required members (not nullable), optional nullable members, extra keys allowed."""

    # member pointer suffixes computed once: schema keys never need escaping at request time
    required_members = [(key, json_pointer(key), rule) for key, rule in required.items()]
    optional_members = [(key, json_pointer(key), rule) for key, rule in optional.items()]

    def check(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
        if not isinstance(value, dict):
            invalid_type(errors, ptr, "object", value)
            return
        for key, suffix, member_check in required_members:
            if key not in value:
                errors.append(ErrorItem("Required", f"The member {key!r} is required.", pointer=ptr + suffix))
            else:
                member_check(value[key], ptr + suffix, errors)
        for key, suffix, member_check in optional_members:
            member = value.get(key)
            if member is not None:
                member_check(member, ptr + suffix, errors)

    return check


_adjustment = _object_of(
    required={"payFromLoyaltyProgram": _integer, "pointPayment": _minimum(_integer, 1)},
    optional={"remainingPrice": _minimum(_number, 0)},
)

_CART_ITEM_REQUIRED: dict[str, _Check] = {
    "name": _nonempty_string,
    "sku": _nonempty_string,
    "quantity": _minimum(_integer, 1),
    "price": _number,
}
_CART_ITEM_OPTIONAL: dict[str, _Check] = {
    "category": _string,
    "weight": _number,
    "height": _number,
    "width": _number,
    "length": _number,
    "position": _number,
    "attributes": attributes_check,
}
_cart_item = _object_of(_CART_ITEM_REQUIRED, {**_CART_ITEM_OPTIONAL, "adjustment": _adjustment})
_cart_item_2021 = _object_of(_CART_ITEM_REQUIRED, {**_CART_ITEM_OPTIONAL, "adjustment": _removed})  # D16


def _array_of(item_check: _Check, limit: int, noun: str) -> _Check:
    """An array of at most ``limit`` members (400 "Too many items": "At most {limit} {noun}"), each
    checked by ``item_check``."""

    def array(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
        if not isinstance(value, list):
            invalid_type(errors, ptr, "array", value)
            return
        if len(value) > limit:
            errors.append(ErrorItem("Too many items", f"At most {limit} {noun}, got {len(value)}.", pointer=ptr))
        for index, item in enumerate(value):
            item_check(item, f"{ptr}/{index}", errors)

    return array


_SESSION_MEMBERS: dict[str, _Check] = {
    "profileId": _string,
    "coupon": _string,
    "referral": _string,
    "state": _state,
    "cartItems": _array_of(_cart_item, MAX_CART_ITEMS, "cart items"),
    "total": _number,
    "attributes": attributes_check,
}
# the final v1 revision (2021-02, D16, D19)
_SESSION_MEMBERS_2021: dict[str, _Check] = {
    **_SESSION_MEMBERS,
    "coupon": _code,
    "referral": _code,
    "identifiers": _array_of(_string, MAX_IDENTIFIERS, "identifiers"),  # D19
    "cartItems": _array_of(_cart_item_2021, MAX_CART_ITEMS, "cart items"),
}


# Fast path: a yes/no answer for the common, valid body, with no pointers or messages built. It answers
# True only where the checks above find nothing (same rules, exact JSON types: a parser only makes
# dict/list/str/int/float/bool/None); anything else, valid or not, goes through the checks above.
_NUMBER_TYPES = (int, float)
_SESSION_STRING_MEMBERS = frozenset({"profileId", "coupon", "referral"})
_CART_ITEM_NUMBER_MEMBERS = ("weight", "height", "width", "length", "position")
_STATE_SET = frozenset(SESSION_STATES)


def _is_integer_fast(value: Any) -> bool:
    kind = type(value)
    return kind is int or (kind is float and value.is_integer())


def _attributes_ok(value: Any) -> bool:
    if type(value) is not dict:
        return False
    for member in value.values():
        if type(member) in (dict, list) and deeper_than(member, MAX_ATTRIBUTE_DEPTH):
            return False
    return True


def _adjustment_ok(value: Any) -> bool:
    if type(value) is not dict:
        return False
    points = value.get("pointPayment")
    if not _is_integer_fast(value.get("payFromLoyaltyProgram")) or not _is_integer_fast(points) or (points or 0) < 1:
        return False
    remaining = value.get("remainingPrice")
    return remaining is None or (type(remaining) in _NUMBER_TYPES and remaining >= 0)


def _cart_item_ok(item: Any) -> bool:
    if type(item) is not dict:
        return False
    name, sku, quantity = item.get("name"), item.get("sku"), item.get("quantity")
    if type(name) is not str or not name or type(sku) is not str or not sku:
        return False
    if not _is_integer_fast(quantity) or (quantity or 0) < 1 or type(item.get("price")) not in _NUMBER_TYPES:
        return False
    for key in _CART_ITEM_NUMBER_MEMBERS:
        member = item.get(key)
        if member is not None and type(member) not in _NUMBER_TYPES:
            return False
    category, attributes, adjustment = item.get("category"), item.get("attributes"), item.get("adjustment")
    return (
        (category is None or type(category) is str)
        and (attributes is None or _attributes_ok(attributes))
        and (adjustment is None or _adjustment_ok(adjustment))
    )


def _cart_item_2021_ok(item: Any) -> bool:
    return _cart_item_ok(item) and item.get("adjustment") is None  # D16


def _session_ok(body: Any, late: bool = False) -> bool:
    """True only if `validate_session(body, late=late)` would find no problem (see the fast-path note)."""
    if type(body) is not dict:
        return False
    members = _SESSION_MEMBERS_2021 if late else _SESSION_MEMBERS
    for key, value in body.items():
        if value is None:
            if key not in members:
                return False
        elif key in _SESSION_STRING_MEMBERS:
            if type(value) is not str or (late and key != "profileId" and len(value) > MAX_CODE_LENGTH):
                return False
        elif key == "state":
            if type(value) is not str or value not in _STATE_SET:
                return False
        elif key == "cartItems":
            item_ok = _cart_item_2021_ok if late else _cart_item_ok
            if type(value) is not list or len(value) > MAX_CART_ITEMS or not all(map(item_ok, value)):
                return False
        elif key == "identifiers" and late:
            if type(value) is not list or len(value) > MAX_IDENTIFIERS or any(type(i) is not str for i in value):
                return False
        elif key == "total":
            if type(value) not in _NUMBER_TYPES:
                return False
        elif key == "attributes":
            if not _attributes_ok(value):
                return False
        else:
            return False
    return True


def validate_session(body: Any, *, late: bool = False) -> list[ErrorItem]:
    """NewCustomerSession: closed object (unknown keys -> "Unknown field", D3), every member nullable.
    `late`: the final v1 revision (2021-02) rather than the seed's (D16, D19)."""
    if _session_ok(body, late):
        return []
    errors: list[ErrorItem] = []
    if not isinstance(body, dict):
        invalid_type(errors, "", "object", body)
        return errors
    members = _SESSION_MEMBERS_2021 if late else _SESSION_MEMBERS
    for key, value in body.items():
        check = members.get(key)
        if check is None:
            errors.append(
                ErrorItem(
                    "Unknown field",
                    f"{key!r} is not a NewCustomerSession member; allowed: {sorted(members)}.",
                    pointer=json_pointer(key),
                )
            )
        elif value is not None:
            check(value, "/" + key, errors)  # a schema member name: nothing to escape
    return errors


def validate_profile(body: Any) -> list[ErrorItem]:
    """NewCustomerProfile: open object; only `attributes` (object or null) is checked (D3)."""
    if type(body) is dict:  # fast path, as for sessions
        attributes = body.get("attributes")
        if attributes is None or _attributes_ok(attributes):
            return []
    errors: list[ErrorItem] = []
    if not isinstance(body, dict):
        invalid_type(errors, "", "object", body)
        return errors
    attributes = body.get("attributes")
    if attributes is not None:
        attributes_check(attributes, "/attributes", errors)
    return errors
