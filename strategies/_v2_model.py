"""A tiny executable model of the v2 decisions (D21-D23, D25, D26, D28, D31, D32), to predict v2 journeys.

It knows only what v2 journeys send (valid bodies, no limits, no nulls besides attribute values) and answers
each call with the status, error pointer and effect types a correct server gives, tracking the state it ends
in. It is NOT a second server: journeys never send a call whose outcome the decisions leave open.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from talon_harness.strategies.catalogue import ACCEPTED_COUPONS, ACCEPTED_REFERRALS
from talon_harness.strategies.types import json_pointer
from talon_harness.strategies.v2_bodies import V2_ALLOWED_TRANSITIONS, V2_CREATION_STATES
from talon_harness.strategies.wire import PROFILE_V2, SESSION_V2

__all__ = ["V2JourneyModel", "V2Outcome", "V2ProfileOutcome", "V2SessionOutcome"]

_REPLACED = ("profileId", "storeIntegrationId", "couponCodes", "referralCode", "loyaltyCards", "state",
             "cartItems", "additionalCosts", "identifiers")


@dataclass(frozen=True)
class V2SessionOutcome:
    """Predicted final state of one v2 session (names follow CustomerSessionV2)."""

    state: str
    profile_id: str
    first_session: bool
    coupon_codes: tuple[str, ...]
    referral_code: str
    cart_items: tuple[Mapping[str, Any], ...]
    additional_costs: Mapping[str, Any]
    cart_item_total: float
    additional_cost_total: float
    total: float
    update_count: int
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class V2ProfileOutcome:
    """Predicted bookkeeping (D32), merged attributes (D21) and audience ids of one v2 profile."""

    closed_sessions: int
    total_sales: float
    attributes: Mapping[str, Any]
    audience_ids: tuple[int, ...]


@dataclass(frozen=True)
class V2Outcome:
    """What a correct server holds after a v2 journey: every session and profile it touched."""

    sessions: Mapping[str, V2SessionOutcome]
    profiles: Mapping[str, V2ProfileOutcome]


@dataclass
class _Profile:
    closed_sessions: int = 0
    total_sales: float = 0.0
    attributes: dict[str, Any] = field(default_factory=dict)
    audiences: list[int] = field(default_factory=list)
    had_session: bool = False


def _codes(session: Mapping[str, Any]) -> list[tuple[str, str]]:
    found = [("Coupon", code) for code in dict.fromkeys(session["couponCodes"])]
    return found + ([("Referral", session["referralCode"])] if session["referralCode"] else [])


def _known(kind: str, code: str) -> bool:
    return code in (ACCEPTED_COUPONS if kind == "Coupon" else ACCEPTED_REFERRALS)


def _effects(session: Mapping[str, Any]) -> tuple[str, ...]:
    """D25: per distinct coupon code, then the referral: accept + setDiscount, or reject."""
    types: list[str] = []
    for kind, code in _codes(session):
        types += [f"accept{kind}", "setDiscount"] if _known(kind, code) else [f"reject{kind}"]
    return tuple(types)


def _rollbacks(session: Mapping[str, Any]) -> tuple[str, ...]:
    """D26: per accepted code of the closed session: rollback + rollbackDiscount."""
    types: list[str] = []
    for kind, code in _codes(session):
        if _known(kind, code):
            types += [f"rollback{kind}", "rollbackDiscount"]
    return tuple(types)


def _positioned(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**item, "position": index} for index, item in enumerate(items)]


class V2JourneyModel:
    """Applies v2 calls in order; ``apply`` returns (status, pointer, effect types) as a correct server would."""

    def __init__(self) -> None:
        self._sessions: dict[str, dict[str, Any]] = {}
        self._profiles: dict[str, _Profile] = {}

    def apply(self, operation: str, entity_id: str, body: Mapping[str, Any],
              query: Mapping[str, Any]) -> tuple[int, str | None, tuple[str, ...]]:
        """One call; a ``dry=true`` call is answered and then forgotten (D28)."""
        saved = (copy.deepcopy(self._sessions), copy.deepcopy(self._profiles))
        if operation == PROFILE_V2:
            answer: tuple[int, str | None, tuple[str, ...]] = self._profile_call(entity_id, body)
        elif operation == SESSION_V2:
            answer = self._session_call(entity_id, dict(body["customerSession"]))
        else:
            raise ValueError(f"unknown v2 operation {operation!r}")
        if query.get("dry") is True or answer[0] != 200:
            self._sessions, self._profiles = saved
        return answer

    def _profile(self, profile_id: str) -> _Profile:
        return self._profiles.setdefault(profile_id, _Profile())

    def _profile_call(self, profile_id: str, body: Mapping[str, Any]) -> tuple[int, str | None, tuple[str, ...]]:
        profile = self._profile(profile_id)
        profile.attributes.update({k: v for k, v in body.get("attributes", {}).items() if v is not None})
        changes = body.get("audiencesChanges") or {"adds": [], "deletes": []}
        profile.audiences = [a for a in dict.fromkeys(profile.audiences + changes["adds"])
                             if a not in changes["deletes"]]
        return 200, None, ()

    def _refusal(self, stored: dict[str, Any] | None, sent: dict[str, Any]) -> str | None:
        """D22/D23: the pointer of the 400 this call gets, or None; drops a final session's ``state: open``."""
        requested = sent.get("state")
        if stored is None:
            return "/customerSession/state" if requested not in (None, *V2_CREATION_STATES) else None
        current = stored["state"]
        if current != "open" and requested == "open":
            del sent["state"]
            requested = None
        if requested is not None and requested != current and (current, requested) not in V2_ALLOWED_TRANSITIONS:
            return "/customerSession/state"
        if current == "open":
            return None
        for key, value in sent.items():
            if key == "attributes":
                changed = [n for n, v in value.items() if stored["attributes"].get(n, object()) != v]
                if changed:
                    return json_pointer("customerSession", "attributes", changed[0])
            elif key != "state" and stored.get(key) != value:
                return json_pointer("customerSession", key)
        return None

    def _session_call(self, session_id: str, sent: dict[str, Any]) -> tuple[int, str | None, tuple[str, ...]]:
        if "attributes" in sent:
            sent["attributes"] = {k: v for k, v in sent["attributes"].items() if v is not None}
        if "cartItems" in sent:
            sent["cartItems"] = _positioned(sent["cartItems"])
        stored = self._sessions.get(session_id)
        pointer = self._refusal(stored, sent)
        if pointer is not None:
            return 400, pointer, ()
        session: dict[str, Any] = copy.deepcopy(stored) if stored is not None else {
            "state": "open", "profileId": "", "couponCodes": [], "referralCode": "", "cartItems": [],
            "additionalCosts": {}, "attributes": {}, "updateCount": 0, "firstSession": True,
        }
        before = None if stored is None else stored["state"]
        session.update({k: sent[k] for k in _REPLACED if k in sent})
        session["attributes"] = {**session["attributes"], **sent.get("attributes", {})}
        items = sum(i["price"] * i["quantity"] for i in session["cartItems"])
        costs = sum(c["price"] for c in session["additionalCosts"].values()) + sum(
            c["price"] * i["quantity"] for i in session["cartItems"] for c in i.get("additionalCosts", {}).values())
        session.update(cartItemTotal=items, additionalCostTotal=costs, total=items + costs)
        session["updateCount"] += 1
        if session["profileId"]:
            profile = self._profile(session["profileId"])
            if stored is None:
                session["firstSession"] = not profile.had_session
            profile.had_session = True
            if session["state"] == "closed" and before in (None, "open"):
                profile.closed_sessions += 1
                profile.total_sales += session["total"]
            elif session["state"] == "cancelled" and before in ("closed", "partially_returned"):
                profile.closed_sessions -= 1
                profile.total_sales -= stored["total"] if stored else 0
        self._sessions[session_id] = session
        if session["state"] == "cancelled":
            effects = _rollbacks(stored) if stored and before in ("closed", "partially_returned") else ()
        else:
            effects = _effects(session)
        return 200, None, effects

    def outcome(self) -> V2Outcome:
        """A frozen snapshot of the predicted state."""
        sessions = {
            sid: V2SessionOutcome(
                state=s["state"], profile_id=s["profileId"], first_session=s["firstSession"],
                coupon_codes=tuple(s["couponCodes"]), referral_code=s["referralCode"],
                cart_items=tuple(s["cartItems"]), additional_costs=dict(s["additionalCosts"]),
                cart_item_total=s["cartItemTotal"], additional_cost_total=s["additionalCostTotal"],
                total=s["total"], update_count=s["updateCount"], attributes=dict(s["attributes"]),
            )
            for sid, s in self._sessions.items()
        }
        profiles = {pid: V2ProfileOutcome(p.closed_sessions, p.total_sales, dict(p.attributes), tuple(p.audiences))
                    for pid, p in self._profiles.items()}
        return V2Outcome(sessions=sessions, profiles=profiles)
