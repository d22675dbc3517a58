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
    ALLOWED_TRANSITIONS,
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
    edge_profile_bodies,
    edge_session_bodies,
)
from talon_harness.strategies.ids import (
    EDGE_PATH_IDS,
    INVALID_PATH_IDS,
    edge_ids,
    entity_ids,
    invalid_ids,
    invalid_raw_id_segments,
    profile_ids,
    realistic_ids,
    session_ids,
    valid_id,
)
from talon_harness.strategies.invalid import (
    INVALID_RULES,
    PROFILE_RULES,
    RULE_TITLES,
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
    journey_steps,
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
    DOMAIN_ERROR_TITLES,
    PATH_PREFIXES,
    PROFILE,
    SESSION,
    Credentials,
    PreparedPut,
    auth_headers,
    build_put,
    credentials_env,
    credentials_from_env,
    encode_body,
    operation_of_path,
    path_for,
    redact,
)

__all__ = [
    "ACCEPTED_COUPONS",
    "ACCEPTED_REFERRALS",
    "ALLOWED_TRANSITIONS",
    "CART_ITEM_OPTIONAL_FIELDS",
    "CART_ITEM_REQUIRED_FIELDS",
    "DISCOUNTS",
    "DOMAIN_ERROR_TITLES",
    "EDGE_PATH_IDS",
    "INVALID_PATH_IDS",
    "INVALID_RULES",
    "JOURNEY_KINDS",
    "PATH_PREFIXES",
    "PRODUCTS",
    "PROFILE",
    "PROFILE_RULES",
    "REJECTED_COUPONS",
    "REJECTED_REFERRALS",
    "RULE_TITLES",
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
    "coupon_codes",
    "credentials_env",
    "credentials_from_env",
    "deep_attribute_values",
    "edge_cart_items",
    "edge_customer_profiles",
    "edge_customer_sessions",
    "edge_ids",
    "edge_profile_bodies",
    "edge_session_bodies",
    "encode_body",
    "entity_ids",
    "invalid_bodies",
    "invalid_ids",
    "invalid_profile_bodies",
    "invalid_raw_id_segments",
    "invalid_session_bodies",
    "journey_steps",
    "json_pointer",
    "load_profile",
    "new_customer_profiles",
    "new_customer_sessions",
    "operation_of_path",
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
    "valid_id",
]
