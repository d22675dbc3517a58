"""Hypothesis strategies and plain-random journeys for the Talon.One v1 upsert endpoints.

Public API (import from ``strategies``): the request builder (``wire``), the shop catalogue, journeys,
and the body/id strategies. Everything else is private.
"""

from __future__ import annotations

from strategies.catalogue import (
    ACCEPTED_COUPONS,
    ACCEPTED_REFERRALS,
    DISCOUNTS,
    PRODUCTS,
    REJECTED_COUPONS,
    REJECTED_REFERRALS,
    Product,
)
from strategies.journeys import (
    JOURNEY_KINDS,
    Call,
    Journey,
    Outcome,
    ProfileOutcome,
    SessionOutcome,
    build_journey,
    session_journeys,
)
from strategies.wire import (
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
    # wire
    "PROFILE",
    "SESSION",
    "Credentials",
    "PreparedPut",
    "auth_headers",
    "build_put",
    "encode_body",
    "path_for",
    "redact",
    # catalogue
    "ACCEPTED_COUPONS",
    "ACCEPTED_REFERRALS",
    "DISCOUNTS",
    "PRODUCTS",
    "REJECTED_COUPONS",
    "REJECTED_REFERRALS",
    "Product",
    # journeys
    "JOURNEY_KINDS",
    "Call",
    "Journey",
    "Outcome",
    "ProfileOutcome",
    "SessionOutcome",
    "build_journey",
    "session_journeys",
]
