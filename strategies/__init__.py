"""Hypothesis strategies and plain-random journeys for the Talon.One v1 upsert endpoints.

Public API (import from ``strategies``): the request builder (``wire``), the shop catalogue, ids,
valid / realistic / edge / invalid bodies, journeys, and the settings profiles. Everything else is
private. Example::

    from hypothesis import given
    from talon_harness.strategies import SESSION, build_put, new_customer_sessions, session_ids

    @given(session_ids(), new_customer_sessions())
    def test_accepts(session_id, body):
        put = build_put(SESSION, session_id, body)
        ...  # send put.path / put.headers / put.body with any HTTP client
"""

from __future__ import annotations

from talon_harness.strategies.bodies import (
    CART_ITEM_OPTIONAL_FIELDS,
    CART_ITEM_REQUIRED_FIELDS,
    SESSION_FIELDS,
    SESSION_STATES,
    attribute_values,
    attributes_objects,
    cart_item_adjustments,
    cart_items,
    new_customer_profiles,
    new_customer_sessions,
)
from talon_harness.strategies.catalogue import (
    ACCEPTED_COUPONS,
    ACCEPTED_REFERRALS,
    DISCOUNTS,
    PRODUCTS,
    REJECTED_COUPONS,
    REJECTED_REFERRALS,
    Product,
)
from talon_harness.strategies.edges import (
    deep_attribute_values,
    edge_cart_items,
    edge_customer_profiles,
    edge_customer_sessions,
)
from talon_harness.strategies.ids import (
    edge_ids,
    entity_ids,
    invalid_ids,
    invalid_raw_id_segments,
    profile_ids,
    realistic_ids,
    session_ids,
)
from talon_harness.strategies.invalid import (
    INVALID_RULES,
    PROFILE_RULES,
    SESSION_RULES,
    Invalid,
    invalid_bodies,
    invalid_profile_bodies,
    invalid_session_bodies,
    json_pointer,
)
from talon_harness.strategies.journeys import (
    JOURNEY_KINDS,
    Call,
    Journey,
    Outcome,
    ProfileOutcome,
    SessionOutcome,
    build_journey,
    session_journeys,
)
from talon_harness.strategies.realistic import (
    coupon_codes,
    realistic_cart_items,
    realistic_carts,
    realistic_customer_profiles,
    realistic_customer_sessions,
    realistic_profile_attributes,
    referral_codes,
)
from talon_harness.strategies.settings import load_profile
from talon_harness.strategies.wire import (
    PROFILE,
    SESSION,
    Credentials,
    PreparedPut,
    auth_headers,
    build_put,
    encode_body,
    path_for,
    redact,
)

__all__ = [
    # catalogue
    "ACCEPTED_COUPONS",
    "ACCEPTED_REFERRALS",
    # valid bodies
    "CART_ITEM_OPTIONAL_FIELDS",
    "CART_ITEM_REQUIRED_FIELDS",
    "DISCOUNTS",
    # invalid bodies
    "INVALID_RULES",
    # journeys
    "JOURNEY_KINDS",
    "PRODUCTS",
    # wire
    "PROFILE",
    "PROFILE_RULES",
    "REJECTED_COUPONS",
    "REJECTED_REFERRALS",
    "SESSION",
    "SESSION_FIELDS",
    "SESSION_RULES",
    "SESSION_STATES",
    "Call",
    "Credentials",
    "Invalid",
    "Journey",
    "Outcome",
    "PreparedPut",
    "Product",
    "ProfileOutcome",
    "SessionOutcome",
    "attribute_values",
    "attributes_objects",
    "auth_headers",
    "build_journey",
    "build_put",
    "cart_item_adjustments",
    "cart_items",
    # realistic bodies
    "coupon_codes",
    # edge bodies
    "deep_attribute_values",
    "edge_cart_items",
    "edge_customer_profiles",
    "edge_customer_sessions",
    # ids
    "edge_ids",
    "encode_body",
    "entity_ids",
    "invalid_bodies",
    "invalid_ids",
    "invalid_profile_bodies",
    "invalid_raw_id_segments",
    "invalid_session_bodies",
    "json_pointer",
    # settings
    "load_profile",
    "new_customer_profiles",
    "new_customer_sessions",
    "path_for",
    "profile_ids",
    "realistic_cart_items",
    "realistic_carts",
    "realistic_customer_profiles",
    "realistic_customer_sessions",
    "realistic_ids",
    "realistic_profile_attributes",
    "redact",
    "referral_codes",
    "session_ids",
    "session_journeys",
]
