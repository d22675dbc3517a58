"""The v2 session validation's fast path (refserver.v2_validation) never accepts what the full checks refuse,
and takes the common valid body (else it would be dead weight)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from talon_harness.refserver import v2_validation
from talon_harness.refserver.v2_validation import validate_profile_request, validate_session_request

VALID: dict[str, Any] = {
    "customerSession": {
        "profileId": "p", "state": "open", "couponCodes": ["SUMMER10"], "referralCode": "", "attributes": {"c": "x"},
        "cartItems": [{"sku": "a", "quantity": 2, "price": 3.5, "name": "n", "category": "c", "weight": 1,
                       "attributes": {"k": [1]}}],
    },
    "responseContent": ["customerSession"],
}


def _set(path: tuple[Any, ...], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(body: dict[str, Any]) -> None:
        target = body
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return edit


_ITEM = ("customerSession", "cartItems", 0)
_DEEP = {"k": [[[[[[[[[[[1]]]]]]]]]]]}
# one edit each, every one making the body invalid
EDITS = {
    "quantity 0": _set((*_ITEM, "quantity"), 0), "quantity -1": _set((*_ITEM, "quantity"), -1),
    "quantity 2.5": _set((*_ITEM, "quantity"), 2.5), "quantity true": _set((*_ITEM, "quantity"), True),
    "quantity string": _set((*_ITEM, "quantity"), "1"), "sku empty": _set((*_ITEM, "sku"), ""),
    "sku number": _set((*_ITEM, "sku"), 1), "price string": _set((*_ITEM, "price"), "1"),
    "price null": _set((*_ITEM, "price"), None), "price true": _set((*_ITEM, "price"), True),
    "item unknown null": _set((*_ITEM, "bogus"), None), "item unknown": _set((*_ITEM, "bogus"), 1),
    "item name number": _set((*_ITEM, "name"), 1), "item weight string": _set((*_ITEM, "weight"), "1"),
    "item attributes list": _set((*_ITEM, "attributes"), []), "item attributes deep": _set((*_ITEM, "attributes"), _DEEP),
    "item not object": _set(_ITEM, "item"),
    "1001 items": _set(("customerSession", "cartItems"), [{"sku": "a", "quantity": 1, "price": 1}] * 1001),
    "10001 units": _set(("customerSession", "cartItems"), [{"sku": "a", "quantity": 5000, "price": 1},
                                                            {"sku": "b", "quantity": 5001, "price": 1}]),
    "state unknown": _set(("customerSession", "state"), "reopened"), "state number": _set(("customerSession", "state"), 1),
    "coupon 101": _set(("customerSession", "couponCodes"), ["A" * 101]),
    "coupon number": _set(("customerSession", "couponCodes"), [1]),
    "coupons string": _set(("customerSession", "couponCodes"), "A"),
    "referral 101": _set(("customerSession", "referralCode"), "R" * 101),
    "referral number": _set(("customerSession", "referralCode"), 5),
    "profile number": _set(("customerSession", "profileId"), 1),
    "attributes list": _set(("customerSession", "attributes"), []),
    "attributes deep": _set(("customerSession", "attributes"), _DEEP),
    "session unknown null": _set(("customerSession", "bogus"), None),
    "session unknown": _set(("customerSession", "bogus"), 1),
    "session not object": _set(("customerSession",), []),
    "content unknown": _set(("responseContent",), ["return"]), "content number": _set(("responseContent",), [3]),
    "content string": _set(("responseContent",), "event"),
    "content object": _set(("responseContent",), [{}]), "top-level unknown": _set(("total",), 1),
    "identifiers 6": _set(("customerSession", "identifiers"), list("abcdef")),
}


def test_fast_path_takes_the_valid_body() -> None:
    assert v2_validation._session_request_ok(VALID)
    assert validate_session_request(VALID, fast=False) == []


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_fast_path_refuses_each_edit_as_the_full_checks_do(edit: str) -> None:
    body = copy.deepcopy(VALID)
    EDITS[edit](body)
    assert not v2_validation._session_request_ok(body)
    assert validate_session_request(body) == validate_session_request(body, fast=False) != []


_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-3, 6000), st.floats(allow_nan=False, allow_infinity=False),
                     st.text(max_size=3))
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                                              max_size=2), max_leaves=6)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(sorted(EDITS)), st.booleans()), max_size=3), _VALUES)
def test_fast_path_agrees_with_the_full_checks_on_combined_edits(edits: list[tuple[str, bool]], noise: Any) -> None:
    body = copy.deepcopy(VALID)
    for edit, apply in edits:
        try:
            if apply:
                EDITS[edit](body)
            else:
                body["customerSession"]["attributes"]["noise"] = noise
        except (TypeError, KeyError, IndexError):  # an earlier edit replaced the container: skip this one
            continue
    assert validate_session_request(body) == validate_session_request(body, fast=False)


@pytest.mark.parametrize("body", [
    {}, {"attributes": {"a": 1}}, {"attributes": None, "extra": 1}, {"attributes": []}, {"attributes": {"k": _DEEP["k"]}},
    {"responseContent": ["event"]}, {"responseContent": ["coupons"]}, {"audiencesChanges": {"adds": [1]}},
    {"evaluableCampaignIds": None, "attributes": {}}, [], "x",
])
def test_profile_fast_path_agrees_with_the_full_checks(body: Any) -> None:
    assert validate_profile_request(body) == validate_profile_request(body, fast=False)
