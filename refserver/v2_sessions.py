"""updateCustomerSessionV2: upsert a v2 session, enforce the v2 state machine, keep profile bookkeeping.

Promises on success: IntegrationStateV2 with `effects` (D25, D26), `createdCoupons` [], `createdReferrals`
[], plus one member per `responseContent` value (D27). Merge (D21): an omitted or null member keeps its
stored value; couponCodes, cartItems, identifiers, loyaltyCards and additionalCosts replace; `[]` / `""`
clear codes; attributes merge key by key. Totals and updateCount (D31) are computed. A closed, partially
returned or cancelled session treats `state: "open"` as not sent (D23) and accepts no other change than the
move to cancelled (D22). Profiles are created on first mention, firstSession is fixed at creation and
closing books the session total into the profile (D32). One event per call (D35); on a dry call the app
drops every write of the call (D28).

Errors (400, nothing written): InvalidData for the body (pointers under /customerSession), an illegal
state (pointer /customerSession/state), a change to a final session (pointer of the first changed member),
totals that would not be finite (pointer /customerSession/cartItems or /customerSession/additionalCosts).
"""

from __future__ import annotations

import math
from typing import Any

from .config import ServerConfig
from .errors import ErrorItem, InvalidData, json_pointer
from .events import new_event
from .faults import FaultName
from .profiles import merge_attributes
from .sessions import json_equal
from .store import StoredProfile, Transaction
from .v2_profiles import V2_KEY, load_profile, new_profile, save_profile
from .v2_query import Query
from .v2_rules import evaluate_v2, known_coupons, known_referral, rollback_effects, triggered_campaigns
from .v2_validation import validate_session_request

F = FaultName

__all__ = ["upsert_session_v2"]

_ROOT = "/customerSession"
_STATE = _ROOT + "/state"
# D22: moves this endpoint makes; repeating the stored state is always allowed
_ALLOWED_MOVES = frozenset({
    ("open", "closed"), ("open", "cancelled"), ("closed", "cancelled"), ("partially_returned", "cancelled"),
})
_CREATED_AS = ("open", "closed")
_STATE_EVENTS = {"closed": "talon_session_closed", "cancelled": "talon_session_cancelled"}
_CREATION_COPY = "\x1ecreated:"  # the stale-cache fault's copy of a session as created
_REPLACED = frozenset({"profileId", "storeIntegrationId", "couponCodes", "referralCode", "loyaltyCards", "state",
             "cartItems", "additionalCosts", "identifiers"})


def _invalid(title: str, details: str, pointer: str) -> InvalidData:
    return InvalidData([ErrorItem(title, details, pointer=pointer)])


def _sent(session: dict[str, Any]) -> dict[str, Any]:
    """Non-null members, normalised as stored: null attribute values dropped, cart positions set (D21)."""
    sent = {k: v for k, v in session.items() if v is not None}
    if "attributes" in sent:
        sent["attributes"] = {k: v for k, v in sent["attributes"].items() if v is not None}
    if "cartItems" in sent:
        items = sent["cartItems"] = [{k: v for k, v in item.items() if v is not None} for item in sent["cartItems"]]
        for index, item in enumerate(items):
            item["position"] = index
    return sent


def _check_state(stored: dict[str, Any] | None, sent: dict[str, Any], faults: frozenset[str]) -> None:
    """D22, D23: creation states, allowed moves, final sessions frozen (raises InvalidData)."""
    requested = sent.get("state")
    if stored is None:
        if requested is not None and requested not in _CREATED_AS:
            raise _invalid("Illegal state transition", f"A session is created open or closed, not {requested!r}.",
                           _STATE)
        return
    current = stored["state"]
    if current != "open" and requested == "open":
        if FaultName.V2_OPEN_REOPENS_CLOSED in faults:
            return  # the fault: "open" reopens a final session, which then accepts anything
        del sent["state"]  # D23: the SDK's default state, not a request to reopen
        requested = None
    closable = F.V2_CANCELLED_SESSION_CLOSABLE in faults and (current, requested) == ("cancelled", "closed")
    if requested is not None and requested != current and (current, requested) not in _ALLOWED_MOVES and not closable:
        raise _invalid("Illegal state transition",
                       f"A session in state {current!r} cannot move to {requested!r}.", _STATE)
    if current == "open" or F.V2_CLOSED_SESSION_MUTABLE in faults:
        return
    for key, value in sent.items():
        if key == "state":
            continue
        if key == "attributes":
            changed = [n for n, v in value.items() if n not in stored["attributes"]
                       or not json_equal(stored["attributes"][n], v)]
            pointer = json_pointer("customerSession", "attributes", changed[0]) if changed else None
        else:
            pointer = None if json_equal(stored.get(key), value) else json_pointer("customerSession", key)
        if pointer is not None:
            allowed = "only a move to 'cancelled'" if current != "cancelled" else "no change"
            raise _invalid("Session closed", f"The session is {current}; it accepts {allowed}.", pointer)


def _totals(session: dict[str, Any], faults: frozenset[str]) -> None:
    """D31: cartItemTotal = sum of price x quantity; additionalCostTotal = session costs + item costs x
    quantity; total = both, as floats. Raises InvalidData (Out of range) if a sum is not a finite float."""
    per_unit = FaultName.V2_TOTALS_IGNORE_QUANTITY in faults
    items = costs = 0.0
    try:
        for item in session["cartItems"]:
            items += item["price"] * (1 if per_unit else item["quantity"])
            if "additionalCosts" in item:
                costs += sum(cost["price"] for cost in item["additionalCosts"].values()) * item["quantity"]
        for cost in session["additionalCosts"].values():
            costs += cost["price"]
    except OverflowError:  # an integer too large for a float
        items = math.inf
    total = items + costs
    if not math.isfinite(total):
        pointer = "cartItems" if not math.isfinite(items) else "additionalCosts"
        raise _invalid("Out of range", "The session totals would not be finite.", f"{_ROOT}/{pointer}")
    session.update(cartItemTotal=items, additionalCostTotal=costs, total=total)


def _new_session(session_id: str, config: ServerConfig, now: str) -> dict[str, Any]:
    return {
        "id": 0, "integrationId": session_id, "created": now, "applicationId": config.application_id,
        "profileId": "", "couponCodes": [], "referralCode": "", "loyaltyCards": [], "state": "open",
        "cartItems": [], "additionalCosts": {}, "identifiers": [], "attributes": {}, "firstSession": True,
        "total": 0, "cartItemTotal": 0, "additionalCostTotal": 0, "updated": now, "updateCount": 0,
    }


def _book(profile: StoredProfile, total: float, sign: int) -> None:
    """D32 (as D6): add or take back one closed session and its total."""
    sales = profile.doc["totalSales"] + sign * total
    if not math.isfinite(sales):
        raise _invalid("Out of range", "The profile's totalSales would not be finite.", f"{_ROOT}/cartItems")
    profile.doc["totalSales"] = sales
    profile.doc["closedSessions"] += sign


def _profile(
    tx: Transaction, config: ServerConfig, session: dict[str, Any], now: str, *, created: bool
) -> StoredProfile | None:
    """D32: the session's profile (created if unknown), firstSession fixed at creation, lastActivity."""
    if session["profileId"] == "":
        return None
    found = load_profile(tx, session["profileId"])
    if found is None and F.V2_PROFILE_NOT_AUTOCREATED in config.faults:
        return None
    profile = found or new_profile(session["profileId"], config, now)
    if created:
        session["firstSession"] = not profile.had_session
    profile.had_session = True
    profile.doc["lastActivity"] = now
    return profile


def upsert_session_v2(
    tx: Transaction, config: ServerConfig, session_id: str, body: Any, query: Query, now: str
) -> dict[str, Any]:
    """See module docstring."""
    faults = config.faults
    errors = validate_session_request(body)
    if F.V2_UNKNOWN_FIELD_ACCEPTED in faults:
        errors = [e for e in errors if e.title != "Unknown field"]
    if errors:
        raise InvalidData(errors)
    sent = _sent(body["customerSession"])
    if F.V2_UNICODE_SKUS_REJECTED in faults:
        for index, item in enumerate(sent.get("cartItems", ())):
            if not str(item.get("sku", "")).isascii():
                raise _invalid("Invalid value", "The sku must be ASCII.", f"{_ROOT}/cartItems/{index}/sku")
    stored_doc = tx.get_session(V2_KEY + session_id)
    if F.V2_STALE_SESSION_CACHE in faults and stored_doc is not None:
        stored_doc = tx.get_session(_CREATION_COPY + session_id) or stored_doc
    stored = None if stored_doc is None else stored_doc["v2"]
    _check_state(stored, sent, config.faults)
    session = dict(_new_session(session_id, config, now) if stored is None else stored)
    before = None if stored is None else stored["state"]
    for key, value in sent.items():
        if F.V2_EMPTY_CODES_KEEP_STORED in faults and key in ("couponCodes", "referralCode") and not value:
            continue
        if key in _REPLACED:
            session[key] = value
    session["attributes"] = merge_attributes(session["attributes"], sent.get("attributes"))
    campaigns = sent.get("evaluableCampaignIds") if query.dry else None
    if campaigns is not None:
        session["evaluableCampaignIds"] = campaigns
    _totals(session, config.faults)
    if F.V2_CRASH_ON_EMPTY_CART in faults and sent.get("cartItems") == []:
        session["averagePrice"] = session["cartItemTotal"] / len(session["cartItems"])
    if FaultName.V2_UPDATE_COUNT_STUCK not in config.faults or stored is None:
        session["updateCount"] += 1
    session["updated"] = now

    profile = _profile(tx, config, session, now, created=stored is None)
    if profile is not None and F.V2_FIRST_SESSION_ALWAYS_TRUE in faults and stored is None:
        session["firstSession"] = True
    state = session["state"]
    if profile is not None:
        if state == "closed" and before in (None, "open"):
            _book(profile, session["total"], +1)
        elif state == "cancelled" and before in ("closed", "partially_returned"):
            _book(profile, stored["total"] if stored else 0, -1)

    if state == "cancelled":
        cancelling = before in ("closed", "partially_returned") and FaultName.V2_CANCEL_NO_ROLLBACK not in config.faults
        cancelling = cancelling or (before == "open" and F.V2_CANCEL_OPEN_ROLLS_BACK in faults)
        effects = rollback_effects(stored, config.rules) if cancelling and stored else []
    else:
        effects = evaluate_v2(session, config.rules, campaigns, distinct=F.V2_DUPLICATE_CODES_EVALUATED not in faults)
    event_type = _STATE_EVENTS.get(state, "talon_session_updated") if state != before else "talon_session_updated"
    event = new_event(config, now, "talon_session_created" if stored is None else event_type,
                      session["profileId"], effects, session_id)
    if "storeIntegrationId" in session:
        event["storeIntegrationId"] = session["storeIntegrationId"]
    event = tx.add_event(event)  # a dry call's writes are dropped by the app (D28)
    if session["id"] == 0:  # created by this call: its id is the creating event's (D20)
        session["id"] = event["id"]
    if profile is not None and profile.doc["id"] == 0:
        profile.doc["id"] = event["id"]
    row = session
    if F.V2_CLOSE_NOT_PERSISTED in faults and state == "closed" and before != "closed":
        row = {**session, "state": before or "open"}  # the fault: the row keeps the state it had
    tx.put_session({"integrationId": V2_KEY + session_id, "v2": row})
    if F.V2_STALE_SESSION_CACHE in faults and stored is None:
        tx.put_session({"integrationId": _CREATION_COPY + session_id, "v2": session})
    if profile is not None:
        save_profile(tx, profile)
    return _answer(body.get("responseContent") or [], session, profile, event, effects, config)


def _answer(content: list[str], session: dict[str, Any], profile: StoredProfile | None, event: dict[str, Any],
            effects: list[dict[str, Any]], config: ServerConfig) -> dict[str, Any]:
    """IntegrationStateV2: the three required lists, then what `content` asks for (D27)."""
    answer: dict[str, Any] = {"effects": effects, "createdCoupons": [], "createdReferrals": []}
    faults = config.faults
    for member in dict.fromkeys(content):
        if member == "customerSession":
            as_string = F.V2_UPDATE_COUNT_AS_STRING in faults
            answer[member] = {**session, "updateCount": str(session["updateCount"])} if as_string else session
        elif member == "customerProfile":
            if profile is not None or F.V2_CRASH_ON_ANONYMOUS_PROFILE in faults:  # anonymous: no profile
                answer[member] = profile.doc  # type: ignore[union-attr]  # the crash fault reads None's doc
        elif member == "event":
            if F.V2_RESPONSE_CONTENT_NO_EVENT not in faults:
                answer[member] = event
        elif member == "coupons":
            answer[member] = known_coupons(session, config.rules)
        elif member == "referral":
            referral = known_referral(session, config.rules)
            if referral is not None:
                answer[member] = referral
        elif member == "triggeredCampaigns":
            answer[member] = triggered_campaigns(effects, config.rules, config.application_id)
        elif member == "loyalty":
            answer[member] = {"programs": {}}
        else:  # awardedGiveaways, ruleFailureReasons, previousReturns: none in this server (D27)
            answer[member] = []
    return answer
