"""Realistic bodies: coherent shop data from the catalogue (carts, profile attributes, codes)."""

from __future__ import annotations

import datetime
from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies._shop import cart_item_for, cart_total, email_local_part

# the same catalogue vocabulary as _shop (an import list, not logic): Hypothesis draws here, random.Random there
from talon_harness.strategies.catalogue import (
    ACCEPTED_COUPONS,
    ACCEPTED_REFERRALS,
    CITIES,
    COUNTRIES,
    EMAIL_DOMAINS,
    FIRST_NAMES,
    LAST_NAMES,
    PRODUCTS,
    REJECTED_COUPONS,
    REJECTED_REFERRALS,
)
from talon_harness.strategies.ids import realistic_ids

__all__ = [
    "coupon_codes",
    "realistic_cart_items",
    "realistic_carts",
    "realistic_customer_profiles",
    "realistic_customer_sessions",
    "realistic_profile_attributes",
    "referral_codes",
]


def coupon_codes(*, accepted: bool | None = None) -> st.SearchStrategy[str]:
    """Coupon codes: from the reference rule set (``accepted=True``), unknown to it (``False``) or
    either (``None``). Never empty."""
    pool = {True: ACCEPTED_COUPONS, False: REJECTED_COUPONS, None: ACCEPTED_COUPONS + REJECTED_COUPONS}
    return st.sampled_from(pool[accepted])


def referral_codes(*, accepted: bool | None = None) -> st.SearchStrategy[str]:
    """Referral codes, like ``coupon_codes``."""
    pool = {
        True: ACCEPTED_REFERRALS,
        False: REJECTED_REFERRALS,
        None: ACCEPTED_REFERRALS + REJECTED_REFERRALS,
    }
    return st.sampled_from(pool[accepted])


def realistic_cart_items() -> st.SearchStrategy[dict[str, Any]]:
    """One catalogue product as a CartItem: name/sku/category/price/dimensions consistent with the
    catalogue, quantity 1-5. Never an empty name or sku."""
    return st.builds(cart_item_for, st.sampled_from(PRODUCTS), st.integers(min_value=1, max_value=5))


def realistic_carts(*, min_items: int = 1, max_items: int = 20) -> st.SearchStrategy[list[dict[str, Any]]]:
    """Carts of *min_items*..*max_items* distinct catalogue products (default 1-20)."""
    if not 0 <= min_items <= max_items <= len(PRODUCTS):
        raise ValueError(
            f"need 0 <= min_items <= max_items <= {len(PRODUCTS)}; got {min_items!r}, {max_items!r}"
        )
    return st.lists(
        realistic_cart_items(), min_size=min_items, max_size=max_items, unique_by=lambda item: item["sku"]
    )


@st.composite
def realistic_profile_attributes(draw: st.DrawFn) -> dict[str, Any]:
    """Profile attributes a shop sends: Name, Email (matching the name), BirthDate (RFC 3339),
    BillingCity/BillingCountry and sometimes Newsletter. Always mutually consistent."""
    first, last = draw(st.sampled_from(FIRST_NAMES)), draw(st.sampled_from(LAST_NAMES))
    local = email_local_part(first, last)
    birth = draw(st.dates(min_value=datetime.date(1940, 1, 1), max_value=datetime.date(2008, 12, 31)))
    attrs: dict[str, Any] = {
        "Name": f"{first} {last}",
        "Email": f"{local}@{draw(st.sampled_from(EMAIL_DOMAINS))}",
        "BirthDate": f"{birth.isoformat()}T00:00:00Z",
        "BillingCity": draw(st.sampled_from(CITIES)),
        "BillingCountry": draw(st.sampled_from(COUNTRIES)),
    }
    if draw(st.booleans()):
        attrs["Newsletter"] = draw(st.booleans())
    return attrs


def realistic_customer_profiles() -> st.SearchStrategy[dict[str, Any]]:
    """NewCustomerProfile bodies with ``realistic_profile_attributes``. Always valid; never null."""
    return st.builds(lambda attrs: {"attributes": attrs}, realistic_profile_attributes())


@st.composite
def realistic_customer_sessions(draw: st.DrawFn) -> dict[str, Any]:
    """NewCustomerSession bodies a shop sends for a fresh session: a 1-20 item cart whose ``total``
    is the cart sum, a realistic or anonymous profileId, sometimes an accepted or rejected coupon and
    referral, sometimes ShippingCost/ShippingMethod attributes, state open or closed (legacy order).
    Always valid; never an unknown key, never null."""
    cart = draw(realistic_carts())
    body: dict[str, Any] = {
        "profileId": draw(st.one_of(st.just(""), realistic_ids())),
        "cartItems": cart,
        "total": cart_total(cart),
    }
    if draw(st.booleans()):
        body["coupon"] = draw(coupon_codes())
    if draw(st.booleans()):
        body["referral"] = draw(referral_codes())
    if draw(st.booleans()):
        body["attributes"] = {
            "ShippingCost": draw(st.sampled_from((0.0, 4.95, 9.9))),
            "ShippingMethod": draw(st.sampled_from(("standard", "express", "pickup"))),
        }
    body["state"] = draw(st.sampled_from(("open", "open", "closed")))
    return body
