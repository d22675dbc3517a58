"""Schema rules for the v2 request bodies and query parameters, with JSON pointers (D21, D29, D30, D33).

Bodies: `IntegrationRequest` {customerSession: NewCustomerSessionV2, responseContent} and
`CustomerProfileIntegrationRequestV2`, field for field the official SDK 26.2 models. Every validator
returns ALL problems (one `ErrorItem` each) and never raises. `null` is accepted for every optional member
and means "omitted" (D21, as D4 for v1). The session body, its wrapper and its cart items are closed
objects (an unknown member is "Unknown field"); the profile body is open (D21, as D3 for v1).

Query parameters are `refserver.v2_query`'s.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from .errors import ErrorItem, json_pointer
from .validation import (
    MAX_ATTRIBUTE_DEPTH,
    MAX_CART_ITEMS,
    attributes_check,
    deeper_than,
    invalid_type,
)

__all__ = [
    "DATE_TIME",
    "MAX_CODE_LENGTH",
    "MAX_IDENTIFIERS",
    "MAX_LOYALTY_CARDS",
    "MAX_TOTAL_QUANTITY",
    "PROFILE_RESPONSE_CONTENT",
    "SESSION_RESPONSE_CONTENT",
    "V2_STATES",
    "validate_profile_request",
    "validate_session_request",
]

MAX_CODE_LENGTH = 100  # couponCodes[*], referralCode
MAX_IDENTIFIERS = 5
MAX_LOYALTY_CARDS = 1
MAX_TOTAL_QUANTITY = 10_000  # "the sum of all cart item's quantity does not exceed 10.000" (D33)
MAX_STORE_ID_LENGTH = 1000
V2_STATES = ("open", "closed", "partially_returned", "cancelled")
SESSION_RESPONSE_CONTENT = (
    "customerSession", "customerProfile", "coupons", "triggeredCampaigns", "referral", "loyalty", "event",
    "awardedGiveaways", "ruleFailureReasons", "previousReturns",
)
PROFILE_RESPONSE_CONTENT = (
    "customerProfile", "triggeredCampaigns", "loyalty", "event", "awardedGiveaways", "ruleFailureReasons",
)
_LOYALTY_CARD = re.compile(r"[A-Za-z0-9_-]{4,108}")  # LoyaltyCard.identifier (D33)
_COST_NAME = re.compile(r"[A-Za-z]\w*")  # AccountAdditionalCost.name (D21)
# RFC 3339 date-time, also with the SDK's "+0000" offset or no offset at all (D29)
DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d[Tt ]\d\d:\d\d:\d\d(\.\d{1,9})?([Zz]|[+-]\d\d:?\d\d)?")

_Check = Callable[[Any, str, list[ErrorItem]], None]


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _string(max_length: int | None = None, min_length: int = 0) -> _Check:
    def check(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
        if not isinstance(value, str):
            invalid_type(errors, ptr, "string", value)
        elif len(value) < min_length:
            errors.append(ErrorItem("Too short", f"Expected at least {min_length} character(s).", pointer=ptr))
        elif max_length is not None and len(value) > max_length:
            errors.append(
                ErrorItem("Too long", f"At most {max_length} characters, got {len(value)}.", pointer=ptr)
            )

    return check


def _number(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    if not _is_number(value):
        invalid_type(errors, ptr, "number", value)


def _integer(minimum: int | None = None) -> _Check:
    def check(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
        if not _is_number(value) or not (isinstance(value, int) or value.is_integer()):
            invalid_type(errors, ptr, "integer", value)
        elif minimum is not None and value < minimum:
            errors.append(ErrorItem("Below minimum", f"Expected a value >= {minimum}, got {value!r}.", pointer=ptr))

    return check


def _enum(allowed: tuple[str, ...]) -> _Check:
    def check(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
        if not isinstance(value, str):
            invalid_type(errors, ptr, "string", value)
        elif value not in allowed:
            errors.append(ErrorItem("Invalid value", f"Expected one of {list(allowed)}, got {value!r}.", pointer=ptr))

    return check


def _pattern(regex: re.Pattern[str], what: str) -> _Check:
    def check(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
        if not isinstance(value, str):
            invalid_type(errors, ptr, "string", value)
        elif not regex.fullmatch(value):
            errors.append(ErrorItem("Invalid value", f"Expected {what}, got {value[:120]!r}.", pointer=ptr))

    return check


def _array(item: _Check, max_items: int | None = None) -> _Check:
    def check(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
        if not isinstance(value, list):
            invalid_type(errors, ptr, "array", value)
            return
        if max_items is not None and len(value) > max_items:
            errors.append(ErrorItem("Too many items", f"At most {max_items} items, got {len(value)}.", pointer=ptr))
        for index, member in enumerate(value):
            item(member, f"{ptr}/{index}", errors)

    return check


def _object(required: dict[str, _Check], optional: dict[str, _Check], *, closed: bool, name: str) -> _Check:
    """An object with required (not nullable) and optional (nullable) members; `closed`: others refused."""
    known = required.keys() | optional.keys()

    def check(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
        if not isinstance(value, dict):
            invalid_type(errors, ptr, "object", value)
            return
        for key, rule in required.items():
            if key not in value:
                errors.append(ErrorItem("Required", f"The member {key!r} is required.", pointer=ptr + "/" + key))
            else:
                rule(value[key], ptr + "/" + key, errors)
        for key, member in value.items():
            if key in optional:
                if member is not None:
                    optional[key](member, ptr + "/" + key, errors)
            elif closed and key not in known:
                errors.append(ErrorItem("Unknown field", f"{key!r} is not a {name} member.",
                                        pointer=ptr + json_pointer(key)))

    return check


_additional_cost = _object({"price": _number}, {}, closed=True, name="AdditionalCost")


def _additional_costs(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    if not isinstance(value, dict):
        invalid_type(errors, ptr, "object", value)
        return
    for key, cost in value.items():
        member_ptr = ptr + json_pointer(key)
        if not _COST_NAME.fullmatch(key):
            errors.append(ErrorItem("Invalid value", "An additional cost name matches ^[A-Za-z]\\w*$.",
                                    pointer=member_ptr))
        _additional_cost(cost, member_ptr, errors)


_date_time = _pattern(DATE_TIME, "an RFC 3339 date-time")
_price_detail = _object(
    {}, {"price": _number, "adjustmentContextId": _string(), "adjustmentReferenceId": _string(),
         "adjustmentEffectiveFrom": _date_time, "adjustmentEffectiveUntil": _date_time},
    closed=True, name="PriceDetail",
)


def _prices(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    if not isinstance(value, dict):
        invalid_type(errors, ptr, "object", value)
        return
    for key, detail in value.items():
        _price_detail(detail, ptr + json_pointer(key), errors)


_CART_ITEM_OPTIONAL: dict[str, _Check] = {
    "name": _string(), "returnedQuantity": _integer(), "remainingQuantity": _integer(), "category": _string(),
    "product": _object({"name": _string()}, {}, closed=True, name="Product"), "weight": _number,
    "height": _number, "width": _number, "length": _number, "position": _number, "attributes": attributes_check,
    "additionalCosts": _additional_costs, "catalogItemID": _integer(), "selectedPriceType": _string(),
    "adjustmentReferenceId": _string(), "adjustmentEffectiveFrom": _date_time,
    "adjustmentEffectiveUntil": _date_time, "prices": _prices,
}
_cart_item = _object(
    # price is required: the reference server has no catalog to take it from (D21)
    {"sku": _string(min_length=1), "quantity": _integer(1), "price": _number}, _CART_ITEM_OPTIONAL,
    closed=True, name="CartItem",
)


def _cart_items(value: Any, ptr: str, errors: list[ErrorItem]) -> None:
    before = len(errors)
    _array(_cart_item, MAX_CART_ITEMS)(value, ptr, errors)
    if len(errors) == before:
        quantity = sum(item["quantity"] for item in value)
        if quantity > MAX_TOTAL_QUANTITY:
            errors.append(ErrorItem("Too many units", f"The quantities may sum to at most {MAX_TOTAL_QUANTITY}, "
                                    f"got {quantity}.", pointer=ptr))


_session = _object(
    {},
    {
        "profileId": _string(), "storeIntegrationId": _string(MAX_STORE_ID_LENGTH, 1),
        "evaluableCampaignIds": _array(_integer()), "couponCodes": _array(_string(MAX_CODE_LENGTH)),
        "referralCode": _string(MAX_CODE_LENGTH),
        "loyaltyCards": _array(_pattern(_LOYALTY_CARD, "4 to 108 of A-Z a-z 0-9 _ -"), MAX_LOYALTY_CARDS),
        "state": _enum(V2_STATES), "cartItems": _cart_items, "additionalCosts": _additional_costs,
        "identifiers": _array(_string(), MAX_IDENTIFIERS), "attributes": attributes_check,
    },
    closed=True, name="NewCustomerSessionV2",
)
_SESSION_KEYS = frozenset({
    "profileId", "storeIntegrationId", "evaluableCampaignIds", "couponCodes", "referralCode", "loyaltyCards", "state",
    "cartItems", "additionalCosts", "identifiers", "attributes",
})
_integration_request = _object(
    {"customerSession": _session},
    {"responseContent": _array(_enum(SESSION_RESPONSE_CONTENT))},
    closed=True, name="IntegrationRequest",
)
_profile_request = _object(
    {},
    {
        "attributes": attributes_check, "evaluableCampaignIds": _array(_integer()),
        "audiencesChanges": _object({"adds": _array(_integer()), "deletes": _array(_integer())}, {},
                                    closed=True, name="ProfileAudiencesChanges"),
        "responseContent": _array(_enum(PROFILE_RESPONSE_CONTENT)),
    },
    closed=False, name="CustomerProfileIntegrationRequestV2",
)


# Fast path: a yes/no answer for the common valid session body, no pointers built. It answers True only
# where the checks above find nothing (same rules, exact JSON types); anything else goes through them.
_NUMBER_TYPES = (int, float)
_CONTENT_SET = frozenset(SESSION_RESPONSE_CONTENT)
_STATE_SET = frozenset(V2_STATES)
_CONTAINERS = (dict, list)
_FAST_ITEM_STRINGS = ("name", "category")
_FAST_ITEM_NUMBERS = ("weight", "height", "width", "length", "position")
_FAST_ITEM_KEYS = frozenset({"sku", "quantity", "price", "attributes", *_FAST_ITEM_STRINGS, *_FAST_ITEM_NUMBERS})


def _attributes_ok(value: Any) -> bool:
    if type(value) is not dict:
        return False
    for member in value.values():
        if type(member) in _CONTAINERS and deeper_than(member, MAX_ATTRIBUTE_DEPTH):
            return False
    return True


def _item_ok(item: Any) -> bool:
    if type(item) is not dict or not _FAST_ITEM_KEYS.issuperset(item):
        return False
    sku, quantity, price = item.get("sku"), item.get("quantity"), item.get("price")
    if type(sku) is not str or not sku or type(price) not in _NUMBER_TYPES:
        return False
    if not (type(quantity) is int or (type(quantity) is float and quantity.is_integer())) or quantity < 1:
        return False
    for key in _FAST_ITEM_STRINGS:
        value = item.get(key)
        if value is not None and type(value) is not str:
            return False
    for key in _FAST_ITEM_NUMBERS:
        value = item.get(key)
        if value is not None and type(value) not in _NUMBER_TYPES:
            return False
    attributes = item.get("attributes")
    return attributes is None or _attributes_ok(attributes)


def _cart_ok(value: Any) -> bool:
    if type(value) is not list or len(value) > MAX_CART_ITEMS:
        return False
    units = 0
    for item in value:
        if not _item_ok(item):
            return False
        units += item["quantity"]
    return units <= MAX_TOTAL_QUANTITY


def _codes_ok(value: Any) -> bool:
    if type(value) is not list:
        return False
    for code in value:
        if type(code) is not str or len(code) > MAX_CODE_LENGTH:
            return False
    return True


_FAST_MEMBERS: dict[str, Callable[[Any], bool]] = {
    "profileId": lambda value: type(value) is str,
    "state": lambda value: type(value) is str and value in _STATE_SET,
    "couponCodes": _codes_ok,
    "referralCode": lambda value: type(value) is str and len(value) <= MAX_CODE_LENGTH,
    "attributes": _attributes_ok,
    "cartItems": _cart_ok,
}


def _session_request_ok(body: Any) -> bool:
    """True only if the full checks would find no problem in `body` (see the fast-path note above)."""
    if type(body) is not dict or type(session := body.get("customerSession")) is not dict:
        return False
    content = body.get("responseContent")
    if len(body) != 1 + ("responseContent" in body) or (
        content is not None and (type(content) is not list or not all(type(c) is str and c in _CONTENT_SET
                                                                       for c in content))
    ):
        return False
    for key, value in session.items():
        if value is None:
            if key not in _SESSION_KEYS:
                return False
        else:
            check = _FAST_MEMBERS.get(key)
            if check is None or not check(value):
                return False
    return True


_PROFILE_CHECKED = ("evaluableCampaignIds", "audiencesChanges", "responseContent")


def validate_session_request(body: Any, *, fast: bool = True) -> list[ErrorItem]:
    """Problems of an `IntegrationRequest` body (empty list: valid); `fast=False` skips the fast path."""
    if fast and _session_request_ok(body):
        return []
    errors: list[ErrorItem] = []
    _integration_request(body, "", errors)
    return errors


def validate_profile_request(body: Any, *, fast: bool = True) -> list[ErrorItem]:
    """Problems of a `CustomerProfileIntegrationRequestV2` body (empty list: valid); `fast=False` skips the
    fast path."""
    if fast and type(body) is dict and not any(body.get(key) is not None for key in _PROFILE_CHECKED):  # fast path
        attributes = body.get("attributes")
        if attributes is None or _attributes_ok(attributes):
            return []
    errors: list[ErrorItem] = []
    _profile_request(body, "", errors)
    return errors
