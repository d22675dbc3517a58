"""Pure predictions shared by the domain checks: request validity, changes, expected state, pointers.

Nothing here sends requests or touches the model; every function takes an :class:`Observation`.
"""

from __future__ import annotations

import functools
import json
import math
from typing import Any

import jsonschema_rs

from talon_harness.contracts.model import (
    ALLOWED_TRANSITIONS,
    PROFILE,
    SESSION,
    Observation,
    finite_sum,
    valid_id,
)
from talon_harness.contracts.spec import request_schema

__all__ = [
    "bookkeeping_delta",
    "changed_fields",
    "expected_session",
    "illegal_reason",
    "is_retry",
    "pointer_resolves",
    "requested_state",
    "schema_valid",
]

_JSON_TYPES = ("application/json",)


@functools.cache
def _validator(operation: str) -> Any:
    return jsonschema_rs.validator_for(request_schema(operation))


def _finite(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    return True


class _RepeatedName(Exception):
    pass


def repeats_a_member_name(raw: bytes) -> bool:
    """True when the JSON text ``raw`` repeats a member name within one object (the server answers 400);
    False otherwise, also for text that is not JSON. The one home of this check (``contracts.traffic`` too)."""
    def hook(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        if len({k for k, _ in pairs}) != len(pairs):
            raise _RepeatedName
        return dict(pairs)

    try:
        json.loads(raw, object_pairs_hook=hook)
    except _RepeatedName:
        return True
    except (ValueError, RecursionError):
        return False
    return False


def schema_valid(obs: Observation) -> bool:
    """The request is one the server must accept apart from the domain rules: a valid id, a JSON body that
    validates against the operation's request schema, no duplicate keys, finite numbers, a JSON media type
    (or an empty body), well under the size limit."""
    x = obs.exchange
    if x.operation is None or x.entity_id is None or not valid_id(x.entity_id) or not x.json_body:
        return False
    media = x.content_type.split(";")[0].strip().lower()
    if x.raw_body.strip() and not (media in _JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))):
        return False
    if x.raw_body.startswith(b"\xef\xbb\xbf") or len(x.raw_body) > 1_000_000 or not _finite(x.body):
        return False
    try:
        if not _validator(x.operation).is_valid(x.body):
            return False
    except (ValueError, TypeError, OverflowError, RecursionError):  # a body the validator cannot take
        return False
    return not repeats_a_member_name(x.raw_body)


def requested_state(obs: Observation) -> str | None:
    state = obs.exchange.sent("state")
    return state if isinstance(state, str) else None


def json_equal(a: Any, b: Any) -> bool:  # refserver.sessions keeps its own copy: the oracle imports none of us
    """JSON value equality: numbers by value (1 == 1.0), booleans never equal to numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(json_equal, a, b))
    if isinstance(a, (int, float)):
        return isinstance(b, (int, float)) and a == b
    return type(a) is type(b) and a == b


def stored_cart(items: Any) -> Any:
    """A cart as a server stores it (D4): null members, and null values of an item's attributes, dropped."""
    if not isinstance(items, list):
        return items
    cleaned = []
    for item in items:
        if isinstance(item, dict):
            item = {k: v for k, v in item.items() if v is not None}
            if isinstance(item.get("attributes"), dict):
                item["attributes"] = {k: v for k, v in item["attributes"].items() if v is not None}
        cleaned.append(item)
    return cleaned


def changed_fields(obs: Observation) -> list[str]:
    """Top-level members (in request order) whose sent non-null value differs from the stored session (D5)."""
    before = obs.before_session
    body = obs.exchange.body
    if before is None or not isinstance(body, dict):
        return []
    stored = {"state": before.state, "total": before.total, "profileId": before.profile_id,
              "cartItems": before.cart_items, "coupon": before.coupon, "referral": before.referral}
    changed = []
    for key, value in body.items():
        if value is None:
            continue
        if key == "attributes":
            if isinstance(value, dict) and any(
                    v is not None and (k not in before.attributes or not json_equal(before.attributes[k], v))
                    for k, v in value.items()):
                changed.append(key)
        elif key == "cartItems":
            if not json_equal(stored[key], stored_cart(value)):
                changed.append(key)
        elif key in stored and not json_equal(stored[key], value):
            changed.append(key)
    return changed


def is_retry(obs: Observation) -> bool:
    """A known session receiving its current state again."""
    return obs.before_session is not None and requested_state(obs) == obs.before_session.state


def illegal_reason(obs: Observation) -> tuple[str, set[str]] | None:
    """Why a session call must be rejected by D5, with the pointers an error may name; None if legal."""
    before = obs.before_session
    if obs.exchange.operation != SESSION or before is None:
        return None
    target = requested_state(obs)
    if target is not None and target != before.state and (before.state, target) not in ALLOWED_TRANSITIONS:
        return f"illegal transition {before.state} -> {target}", {"/state"}
    changed = [f for f in changed_fields(obs) if not (before.state == "closed" and f == "state")]
    if before.state in ("closed", "cancelled") and changed:
        return f"change to a {before.state} session ({', '.join(changed)})", {"/" + f for f in changed}
    return None


def expected_session(obs: Observation) -> dict[str, Any] | None:
    """The session a correct server holds after this accepted call, as far as the model knows it."""
    x = obs.exchange
    before = obs.before_session
    if before is None and obs.existed is not False:
        return None
    sent = x.sent
    merged = dict(before.attributes) if before else {}
    if isinstance(sent("attributes"), dict):
        merged.update({k: v for k, v in sent("attributes").items() if v is not None})
    return {
        "state": sent("state") or (before.state if before else "open"),
        "total": sent("total") if sent("total") is not None else (before.total if before else 0),
        "profileId": sent("profileId") if sent("profileId") is not None else (before.profile_id if before else ""),
        "cartItems": stored_cart(sent("cartItems")) if sent("cartItems") is not None else (
            before.cart_items if before else []),
        "coupon": sent("coupon") if sent("coupon") is not None else (before.coupon if before else ""),
        "referral": sent("referral") if sent("referral") is not None else (before.referral if before else ""),
        "attributes": merged,
    }


def bookkeeping_delta(obs: Observation) -> tuple[int, float | None] | None:
    """``(closedSessions delta, totalSales after)`` for the session's profile (D6); None when unknowable.

    totalSales is None when the sum is not finite (the call must then be rejected with "Out of range").
    """
    expected = expected_session(obs)
    profile = obs.before_profile
    if expected is None or not expected["profileId"]:
        return None
    if profile is None:
        if obs.before_profile_existed is not False:
            return None
        sales: Any = 0.0
    else:
        sales = profile.total_sales
    before_state = obs.before_session.state if obs.before_session else None
    after_state = expected["state"]
    if after_state == "closed" and before_state in (None, "open"):
        return 1, finite_sum(sales, expected["total"])
    if after_state == "cancelled" and before_state == "closed":
        assert obs.before_session is not None
        return -1, finite_sum(sales, -obs.before_session.total)
    return 0, finite_sum(sales, 0)


def pointer_resolves(pointer: str, document: Any) -> bool:
    """``pointer`` names a member of ``document`` or a missing member of an object in it (a "Required")."""
    if pointer == "":
        return True
    if not pointer.startswith("/"):
        return False
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]
    node = document
    for i, token in enumerate(tokens):
        last = i == len(tokens) - 1
        if isinstance(node, dict):
            if token not in node:
                return last
            node = node[token]
        elif isinstance(node, list):
            if not token.isdigit() or int(token) >= len(node) or (token != "0" and token.startswith("0")):
                return False
            node = node[int(token)]
        else:
            return False
    return True


def same_number(a: Any, b: Any) -> bool:
    """Numbers equal up to float rounding (servers store REAL)."""
    try:
        fa, fb = float(a), float(b)
    except (TypeError, ValueError, OverflowError):
        return a == b
    return math.isclose(fa, fb, rel_tol=1e-9, abs_tol=1e-9)


def is_profile_call(obs: Observation) -> bool:
    return obs.exchange.operation == PROFILE
