"""updateCustomerSession: upsert a session, enforce the state machine, keep profile bookkeeping.

Promises on success: IntegrationState {session, profile (None for anonymous), event} where the event type
is talon_session_created (creation, any state), talon_session_closed / talon_session_cancelled (this call
changed the state) or talon_session_updated (anything else, retries included). Effects and
`session.discounts` come from evaluating the stored session after the update (D11).

Errors (all 400, nothing written): InvalidData for schema problems; IllegalStateTransition (/state) for a
move outside open->closed, open->cancelled, closed->cancelled (D5); SessionClosed (first changed member)
for a change to a closed (other than ->cancelled) or cancelled session; OutOfRange (/total) if
profile.totalSales would stop being finite (D6).

Final v1 revision (`config.api == "v1-2021"`, D16): the body is validated as that revision's (D19), the
session keeps `identifiers` (default `[]`, replaced when sent, like `cartItems`), and `"state": "open"`
sent to a closed or cancelled session means "state not sent" (D18). On the seed revision the answer
never shows `identifiers` (a database may have been served by the final revision before).
"""

from __future__ import annotations

import math
from typing import Any

from .config import ServerConfig
from .errors import IllegalStateTransition, InvalidData, OutOfRange, SessionClosed, json_pointer
from .events import new_event
from .faults import FaultName, suppressed_errors
from .profiles import merge_attributes, new_profile
from .rules import evaluate
from .store import StoredProfile, Transaction
from .validation import validate_session

__all__ = ["json_equal", "upsert_session"]

_STATE_EVENTS = {"closed": "talon_session_closed", "cancelled": "talon_session_cancelled"}
# the oracle's own copy of D5 (strategies.bodies.ALLOWED_TRANSITIONS is the harness's): no shared code
_ALLOWED_MOVES = frozenset({("open", "closed"), ("open", "cancelled"), ("closed", "cancelled")})
_BOOKED_FROM: tuple[str | None, ...] = (None, "open")  # reaching "closed" from these books the session
_FAULTY_BOOKED_FROM = (*_BOOKED_FROM, "closed")  # fault retry_close_counted_twice: a retried close too


def json_equal(a: Any, b: Any) -> bool:  # the oracle's own copy (contracts.rules has the harness's): no shared code
    """JSON value equality: numbers by value (1 == 1.0), but booleans are never numbers."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(json_equal(v, b[k]) for k, v in a.items())
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(json_equal, a, b))
    if isinstance(a, (int, float)):
        return isinstance(b, (int, float)) and a == b
    return type(a) is type(b) and a == b


def _without_nulls(mapping: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in mapping.items() if v is not None}


def _clean_cart_item(item: dict[str, Any]) -> dict[str, Any]:
    """A cart item as stored: null members dropped, null attribute values dropped (extra keys kept)."""
    cleaned = _without_nulls(item)
    if "attributes" in cleaned:
        cleaned["attributes"] = _without_nulls(cleaned["attributes"])
    return cleaned


def _sent_values(body: dict[str, Any]) -> dict[str, Any]:
    """The non-null members of a valid body, in request order, normalised as they would be stored."""
    sent = _without_nulls(body)
    if "cartItems" in sent:
        sent["cartItems"] = [_clean_cart_item(item) for item in sent["cartItems"]]
    if "attributes" in sent:
        sent["attributes"] = _without_nulls(sent["attributes"])
    return sent


def _enforce_session_state_machine(current: str, requested: str) -> None:
    """D5: same state again is a no-op; otherwise only open->closed/cancelled and closed->cancelled."""
    if requested != current and (current, requested) not in _ALLOWED_MOVES:
        raise IllegalStateTransition(current, requested)


def _first_change(stored: dict[str, Any], sent: dict[str, Any]) -> str | None:
    """Pointer of the first sent member (request order) whose value differs from the stored one."""
    for key, value in sent.items():
        if key == "state":
            continue
        if key == "attributes":
            for name, attr in value.items():
                if name not in stored["attributes"] or not json_equal(stored["attributes"][name], attr):
                    return json_pointer("attributes", name)
        elif not json_equal(stored[key], value):
            return json_pointer(key)
    return None


def _enforce_final_states_frozen(stored: dict[str, Any], sent: dict[str, Any]) -> None:
    if stored["state"] == "open":
        return
    pointer = _first_change(stored, sent)
    if pointer is not None:
        raise SessionClosed(stored["state"], pointer)


def _book(profile: StoredProfile, total: Any, sign: int) -> None:
    """D6: add (sign=+1) or take back (sign=-1) one closed session and its total."""
    try:
        sales = float(profile.doc["totalSales"]) + sign * float(total)
    except OverflowError:
        sales = math.inf
    if not math.isfinite(sales):
        raise OutOfRange("/total", f"profile.totalSales would become non-finite with total {total!r}.")
    profile.doc["totalSales"] = sales
    profile.doc["closedSessions"] += sign


def _new_session(session_id: str, config: ServerConfig, now: str, sent: dict[str, Any]) -> dict[str, Any]:
    return {
        "integrationId": session_id,
        "created": now,
        "applicationId": config.application_id,
        "profileId": sent.get("profileId", ""),
        "coupon": sent.get("coupon", ""),
        "referral": sent.get("referral", ""),
        "state": sent.get("state", "open"),
        "cartItems": sent.get("cartItems", []),
        "total": sent.get("total", 0),
        "attributes": sent.get("attributes", {}),
        "firstSession": True,
        "discounts": {},
    }


def _apply(stored: dict[str, Any], sent: dict[str, Any]) -> dict[str, Any]:
    session = dict(stored)
    for key in ("profileId", "coupon", "referral", "state", "cartItems", "total", "identifiers"):
        if key in sent:
            session[key] = sent[key]
    session["attributes"] = merge_attributes(stored["attributes"], sent.get("attributes"))
    return session


def upsert_session(
    tx: Transaction, config: ServerConfig, session_id: str, body: Any, now: str
) -> dict[str, Any]:
    """See module docstring."""
    late = config.late_v1
    errors = suppressed_errors(config.faults, validate_session(body, late=late))
    if errors:
        raise InvalidData(errors)
    sent = _sent_values(body)
    stored = tx.get_session(session_id)
    if stored is None:
        session = _new_session(session_id, config, now, sent)
        if late:
            session["identifiers"] = sent.get("identifiers", [])
        before_state = None
        event_type = "talon_session_created"
    else:
        before_state = stored["state"]
        if late:
            stored.setdefault("identifiers", [])  # a session written by the seed revision
            if before_state != "open" and sent.get("state") == "open":
                del sent["state"]  # D18: the generated clients' default, not a request to reopen
        if FaultName.SKIP_SESSION_STATE_MACHINE not in config.faults:
            _enforce_session_state_machine(before_state, sent.get("state", before_state))
        if FaultName.CLOSED_SESSION_MUTABLE not in config.faults:
            _enforce_final_states_frozen(stored, sent)
        session = _apply(stored, sent)
        event_type = (
            _STATE_EVENTS.get(session["state"], "talon_session_updated")  # "open" only under a fault
            if session["state"] != before_state
            else "talon_session_updated"
        )

    profile = _touch_profile(tx, config, now, session, created=stored is None)
    if profile is not None:
        booked_from = _FAULTY_BOOKED_FROM if FaultName.RETRY_CLOSE_COUNTED_TWICE in config.faults else _BOOKED_FROM
        if session["state"] == "closed" and before_state in booked_from:
            _book(profile, session["total"], +1)
        elif session["state"] == "cancelled" and before_state == "closed" and (
            FaultName.CANCEL_KEEPS_TOTAL_SALES not in config.faults
        ):
            _book(profile, session["total"], -1)
        tx.put_profile(profile)

    evaluation = evaluate(session, config.rules)
    session["discounts"] = evaluation.discounts
    tx.put_session(session)
    event = tx.add_event(
        new_event(config, now, event_type, session["profileId"], evaluation.effects, session_id)
    )
    if not late and "identifiers" in session:  # D16: not a member of the seed revision's CustomerSession
        session = {k: v for k, v in session.items() if k != "identifiers"}
    return {"session": session, "profile": None if profile is None else profile.doc, "event": event}


def _touch_profile(
    tx: Transaction, config: ServerConfig, now: str, session: dict[str, Any], *, created: bool
) -> StoredProfile | None:
    """Load (or create, D7) the session's profile, decide firstSession on creation, bump lastActivity."""
    profile_id = session["profileId"]
    if profile_id == "":
        return None
    profile = tx.get_profile(profile_id)
    if profile is None:
        if FaultName.PROFILE_NOT_AUTOCREATED in config.faults:
            return None
        profile = new_profile(profile_id, config, now)
    if created:
        session["firstSession"] = FaultName.FIRST_SESSION_ALWAYS_TRUE in config.faults or not profile.had_session
    profile.had_session = True
    profile.doc["lastActivity"] = now
    return profile
