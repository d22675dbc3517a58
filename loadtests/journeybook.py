"""Journeys prepared off the hot path: a seeded book of journeys built once per process, re-issued with
fresh ids.

``build_journey`` (model replay, random carts) costs tens of microseconds per call; doing it per
journey would spend generator CPU on every request. The book builds ``size`` journeys once, with a
marker id prefix, and encodes their bodies. ``issue()`` then picks one and swaps the marker for a new
prefix in the ids and the body bytes (a byte replace), and builds the PUT through
``strategies.wire.build_put`` (so auth headers, HMAC included, are computed for the final bytes).

Guarantees: every issued journey's ids start with the prefix passed to ``issue`` (unique prefixes give
disjoint entities); its bodies equal the template's with only the id prefix changed; kinds follow
``weights``; the same seed gives the same book.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass

from strategies.journeys import JOURNEY_KINDS, Call, build_journey
from strategies.wire import PROFILE, Credentials, PreparedPut, build_put, encode_body

__all__ = ["DEFAULT_WEIGHTS", "JourneyBook", "PreparedCall", "request_name"]

DEFAULT_WEIGHTS: dict[str, int] = {
    "returning_customer": 30,
    "anonymous_shopper": 15,
    "coupon_hunter": 10,
    "abandoned_cart": 15,
    "cancelled_order": 5,
    "profile_only": 15,
    "multi_session": 5,
    "retry": 3,
    "illegal_transition": 2,
}


def request_name(operation: str) -> str:
    """Stats row name per endpoint template (Locust prefixes the method: "PUT /v1/...[id]")."""
    return "/v1/customer_profiles/[id]" if operation == PROFILE else "/v1/customer_sessions/[id]"


@dataclass(frozen=True)
class PreparedCall:
    """A journey call with its request built: what to send, how to name it, what to expect."""

    call: Call
    put: PreparedPut
    name: str


@dataclass(frozen=True)
class _Template:
    kind: str
    prefix: str
    calls: tuple[tuple[Call, bytes], ...]


class JourneyBook:
    """``size`` journeys drawn by ``weights`` from ``random.Random(seed)``; see the module docstring."""

    def __init__(self, weights: Mapping[str, int], *, seed: int | str, marker: str, size: int = 256) -> None:
        kinds = [k for k, w in weights.items() if w > 0]
        unknown = sorted(set(weights) - set(JOURNEY_KINDS))
        if unknown or not kinds:
            raise ValueError(
                f"journey weights: unknown kinds {unknown} or none positive; known: {JOURNEY_KINDS}"
            )
        if not marker.isalnum():
            raise ValueError(f"marker must be alphanumeric (it is replaced byte-wise), got {marker!r}")
        rng = random.Random(seed)
        self.weights = dict(weights)
        self.templates: tuple[_Template, ...] = tuple(
            self._template(rng.choices(kinds, [weights[k] for k in kinds])[0], rng, f"{marker}T{i:05d}")
            for i in range(size)
        )

    @staticmethod
    def _template(kind: str, rng: random.Random, prefix: str) -> _Template:
        journey = build_journey(kind, rng, id_prefix=prefix)
        return _Template(
            kind, prefix, tuple((c, b"" if c.body is None else encode_body(c.body)) for c in journey.calls)
        )

    def issue(self, rng: random.Random, prefix: str, creds: Credentials | None) -> list[PreparedCall]:
        """One journey with ids under ``prefix`` (letters, digits and '-' only), requests built."""
        t = rng.choice(self.templates)
        old, new = t.prefix.encode(), prefix.encode()
        return [
            PreparedCall(
                call,
                build_put(
                    call.operation,
                    call.entity_id.replace(t.prefix, prefix, 1),
                    body.replace(old, new),
                    creds=creds,
                ),
                request_name(call.operation),
            )
            for call, body in t.calls
        ]
