"""Journeys prepared off the hot path: a seeded book of journeys built once per process, re-issued with
fresh ids.

``build_journey`` (model replay, random carts) costs tens of microseconds per call; doing it per
journey would spend generator CPU on every request. The book builds ``size`` journeys once, with a
marker id prefix, and encodes their bodies and builds their PUTs through ``strategies.wire.build_put``.
``issue()`` then picks one and swaps the marker for a new prefix in the ids, paths and body bytes (a
byte replace). With credentials the PUT is rebuilt by ``build_put`` (so auth headers, HMAC included, are
computed for the final bytes); without, the template's headers are reused and the path is patched, which
gives the same bytes ``build_put`` would (the prefix is a leading, percent-encoding-free part of each id).

Guarantees: every issued journey's ids start with the prefix passed to ``issue`` (unique prefixes give
disjoint entities); its bodies equal the template's with only the id prefix changed; kinds follow
``weights``; the same seed gives the same book.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import quote

from talon_harness.strategies.journeys import JOURNEY_KINDS, Call, build_journey
from talon_harness.strategies.v2_journeys import V2_JOURNEY_KINDS, V2Call, v2_build_journey
from talon_harness.strategies.wire import (
    PROFILE,
    V2_OPERATIONS,
    V2_PATH_PREFIXES,
    Credentials,
    PreparedPut,
    QueryValue,
    build_put,
    encode_body,
)

__all__ = ["ACCEPT_ENCODING", "DEFAULT_WEIGHTS", "V2_DEFAULT_WEIGHTS", "JourneyBook", "PreparedCall",
           "default_weights", "journey_kinds", "request_name"]

ACCEPT_ENCODING = "gzip, deflate, br"  # what Locust's FastHttpSession adds when a request has none

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


#: v2 (``strategies.v2_journeys``): mostly sessions with codes and costs, the SDK's default state, dry previews.
V2_DEFAULT_WEIGHTS: dict[str, int] = {
    "returning_customer": 30,
    "anonymous_shopper": 15,
    "coupon_hunter": 10,
    "cancelled_order": 5,
    "sdk_client": 15,
    "dry_preview": 5,
    "retry": 3,
    "illegal_transition": 2,
    "profile_only": 15,
}


#: v1 journeys whose predicted answers are the seed revision's only: illegal_transition's reopen of a closed
#: session is a 400 on v1 and an accepted no-op on the final revision (D18)
SEED_ONLY_KINDS: tuple[str, ...] = ("illegal_transition",)


def journey_kinds(api: str) -> tuple[str, ...]:
    """The journey kinds of ``api`` (v2's from ``strategies.v2_journeys``, else v1's; on "v1-2021" without
    :data:`SEED_ONLY_KINDS`)."""
    if api == "v2":
        return V2_JOURNEY_KINDS
    return tuple(k for k in JOURNEY_KINDS if api == "v1" or k not in SEED_ONLY_KINDS)


def default_weights(api: str) -> dict[str, int]:
    """The default journey mix of ``api`` (v1's default mix on its kinds for "v1-2021")."""
    if api == "v2":
        return V2_DEFAULT_WEIGHTS
    return {k: w for k, w in DEFAULT_WEIGHTS.items() if k in journey_kinds(api)}


def request_name(operation: str) -> str:
    """Stats row name per endpoint template (Locust prefixes the method: "PUT /v1/...[id]")."""
    if operation in V2_OPERATIONS:
        return V2_PATH_PREFIXES[operation] + "[id]"
    return "/v1/customer_profiles/[id]" if operation == PROFILE else "/v1/customer_sessions/[id]"


@dataclass(frozen=True)
class PreparedCall:
    """A journey call with its request built: what to send, how to name it, what to expect."""

    call: Call | V2Call
    put: PreparedPut
    name: str
    headers: dict[str, str]  # as sent: put.headers plus Locust's default Accept-Encoding (never mutated)


def _sent_headers(headers: dict[str, str]) -> dict[str, str]:
    if "Accept-Encoding" in headers or "accept-encoding" in headers:
        return headers
    return {**headers, "Accept-Encoding": ACCEPT_ENCODING}


@dataclass(frozen=True)
class _TemplateCall:
    call: Call | V2Call
    body: bytes
    put: PreparedPut  # built without credentials, ids under the template prefix
    sent_headers: dict[str, str]
    name: str
    path_head: str | None  # the path before the id when the id starts with the template prefix, else None


@dataclass(frozen=True)
class _Template:
    kind: str
    prefix: str
    calls: tuple[_TemplateCall, ...]


class JourneyBook:
    """``size`` journeys drawn by ``weights`` from ``random.Random(seed)``; see the module docstring. ``api``:
    "v2" builds ``strategies.v2_journeys`` (each call's query travels with its path), else v1 journeys.
    ``mix``: a second API; every other journey is one of its journeys, drawn by its ``default_weights``."""

    def __init__(self, weights: Mapping[str, int], *, seed: int | str, marker: str, size: int = 256,
                 api: str = "v1", mix: str | None = None) -> None:
        kinds = [k for k, w in weights.items() if w > 0]
        known = journey_kinds(api)
        unknown = sorted(set(weights) - set(known))
        if unknown or not kinds:
            raise ValueError(f"journey weights: unknown kinds {unknown} or none positive; known: {known}")
        self.api = api
        if not marker.isalnum():
            raise ValueError(f"marker must be alphanumeric (it is replaced byte-wise), got {marker!r}")
        rng = random.Random(seed)
        self.weights = dict(weights)
        plans = [(api, dict(weights))] + ([(mix, default_weights(mix))] if mix else [])
        templates = []
        for i in range(size):
            plan_api, plan = plans[i % len(plans)]
            chosen = [k for k, w in plan.items() if w > 0]
            kind = rng.choices(chosen, [plan[k] for k in chosen])[0]
            templates.append(self._template(kind, rng, f"{marker}T{i:05d}", plan_api))
        self.templates: tuple[_Template, ...] = tuple(templates)

    @staticmethod
    def _template(kind: str, rng: random.Random, prefix: str, api: str) -> _Template:
        build = v2_build_journey if api == "v2" else build_journey
        calls = []
        for c in build(kind, rng, id_prefix=prefix).calls:
            body = b"" if c.body is None else encode_body(c.body)
            put = build_put(c.operation, c.entity_id, body, query=_query(c))
            head = put.path[: len(put.path) - len(quote(c.entity_id, safe=""))]
            path_head = (
                head if c.entity_id.startswith(prefix) and put.path[len(head) :].startswith(prefix) else None
            )
            calls.append(
                _TemplateCall(c, body, put, _sent_headers(put.headers), request_name(c.operation), path_head)
            )
        return _Template(kind, prefix, tuple(calls))

    def issue(self, rng: random.Random, prefix: str, creds: Credentials | None) -> list[PreparedCall]:
        """One journey with ids under ``prefix`` (letters, digits and '-' only), requests built."""
        t = rng.choice(self.templates)
        old, new = t.prefix.encode(), prefix.encode()
        if creds is None and prefix.isascii() and prefix.replace("-", "").isalnum():
            cut = len(t.prefix)
            return [
                PreparedCall(
                    tc.call,
                    PreparedPut(
                        tc.path_head + prefix + tc.put.path[len(tc.path_head) + cut :],
                        tc.put.headers,
                        tc.body.replace(old, new),
                    ),
                    tc.name,
                    tc.sent_headers,
                )
                if tc.path_head is not None
                else self._build(tc, t.prefix, prefix, old, new, creds)
                for tc in t.calls
            ]
        return [self._build(tc, t.prefix, prefix, old, new, creds) for tc in t.calls]

    @staticmethod
    def _build(
        tc: _TemplateCall, tprefix: str, prefix: str, old: bytes, new: bytes, creds: Credentials | None
    ) -> PreparedCall:
        put = build_put(
            tc.call.operation,
            tc.call.entity_id.replace(tprefix, prefix, 1),
            tc.body.replace(old, new),
            creds=creds,
            query=_query(tc.call),
        )
        return PreparedCall(tc.call, put, tc.name, _sent_headers(put.headers))


def _query(call: Call | V2Call) -> Mapping[str, QueryValue] | None:
    """A v2 call's query parameters (v1 calls have none)."""
    return call.query if isinstance(call, V2Call) else None
