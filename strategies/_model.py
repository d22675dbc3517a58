"""A tiny executable model of the D4-D7/D11 semantics, used to predict journey outcomes.

It is deliberately small: it knows only what journeys send (no limits, no type errors) and answers each
call with the status and error pointer the server must give, tracking the state a correct server ends
in. It is NOT a second server: journeys never send calls whose outcome the design notes leave open.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from talon_harness.strategies.bodies import ALLOWED_TRANSITIONS
from talon_harness.strategies.catalogue import DISCOUNTS
from talon_harness.strategies.wire import PROFILE, SESSION

__all__ = ["JourneyModel", "Outcome", "ProfileOutcome", "SessionOutcome"]

_SESSION_FIELDS = ("profileId", "coupon", "referral", "cartItems", "total", "attributes")


@dataclass(frozen=True)
class SessionOutcome:
    """Predicted final state of one session (names follow the response's CustomerSession)."""

    state: str
    cart_items: tuple[Mapping[str, Any], ...]
    total: float
    first_session: bool
    profile_id: str
    coupon: str
    referral: str
    discounts: Mapping[str, float]
    attributes: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class ProfileOutcome:
    """Predicted final bookkeeping of one profile (D6) and its merged attributes (D4)."""

    closed_sessions: int
    total_sales: float
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class Outcome:
    """What a correct server holds after a journey: every session and profile it touched."""

    sessions: Mapping[str, SessionOutcome]
    profiles: Mapping[str, ProfileOutcome]


@dataclass
class _Session:
    state: str
    profile_id: str
    first_session: bool
    coupon: str = ""
    referral: str = ""
    cart_items: list[dict[str, Any]] = field(default_factory=list)
    total: float = 0
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass
class _Profile:
    closed_sessions: int = 0
    total_sales: float = 0.0
    attributes: dict[str, Any] = field(default_factory=dict)
    had_session: bool = False


def _discounts(session: _Session) -> dict[str, float]:
    found: dict[str, float] = {}
    for code in (session.coupon, session.referral):
        if code in DISCOUNTS:
            label, amount = DISCOUNTS[code]
            found[label] = amount
    return found


class JourneyModel:
    """Applies calls in order; ``apply`` returns (status, pointer) like a correct server would."""

    def __init__(self) -> None:
        self._sessions: dict[str, _Session] = {}
        self._profiles: dict[str, _Profile] = {}

    def apply(self, operation: str, entity_id: str, body: Mapping[str, Any] | None) -> tuple[int, str | None]:
        sent = {k: v for k, v in (body or {}).items() if v is not None}
        if operation == PROFILE:
            profile = self._profiles.setdefault(entity_id, _Profile())
            profile.attributes.update({k: v for k, v in sent.get("attributes", {}).items() if v is not None})
            return 200, None
        if operation != SESSION:
            raise ValueError(f"unknown operation {operation!r}")
        if entity_id not in self._sessions:
            self._create(entity_id, sent)
            return 200, None
        return self._update(self._sessions[entity_id], sent)

    def _profile(self, profile_id: str) -> _Profile:
        return self._profiles.setdefault(profile_id, _Profile())

    def _create(self, session_id: str, sent: dict[str, Any]) -> None:
        profile_id = sent.get("profileId", "")
        first = True
        if profile_id:
            profile = self._profile(profile_id)
            first = not profile.had_session
            profile.had_session = True
        session = _Session(state=sent.get("state", "open"), profile_id=profile_id, first_session=first)
        self._write(session, sent)
        self._sessions[session_id] = session
        if session.state == "closed":
            self._book(session, +1)

    def _update(self, session: _Session, sent: dict[str, Any]) -> tuple[int, str | None]:
        new_state = sent.get("state", session.state)
        changed = [key for key in sent if key != "state" and self._differs(session, key, sent[key])]
        if new_state != session.state and (session.state, new_state) not in ALLOWED_TRANSITIONS:
            return 400, "/state"
        if session.state != "open":
            if changed:
                return 400, "/" + changed[0]
        else:
            self._write(session, sent)
        old_state, session.state = session.state, new_state
        if old_state == "open" and new_state == "closed":
            self._book(session, +1)
        elif old_state == "closed" and new_state == "cancelled":
            self._book(session, -1)
        return 200, None

    def _differs(self, session: _Session, key: str, value: Any) -> bool:
        if key == "attributes":
            return any(v is not None and session.attributes.get(k) != v for k, v in value.items())
        current = {
            "profileId": session.profile_id,
            "coupon": session.coupon,
            "referral": session.referral,
            "cartItems": session.cart_items,
            "total": session.total,
        }[key]
        return current != value

    def _write(self, session: _Session, sent: dict[str, Any]) -> None:
        if sent.get("profileId"):
            self._profile(sent["profileId"])
        session.profile_id = sent.get("profileId", session.profile_id)
        session.coupon = sent.get("coupon", session.coupon)
        session.referral = sent.get("referral", session.referral)
        session.cart_items = list(sent.get("cartItems", session.cart_items))
        session.total = sent.get("total", session.total)
        session.attributes.update({k: v for k, v in sent.get("attributes", {}).items() if v is not None})

    def _book(self, session: _Session, sign: int) -> None:
        if session.profile_id:
            profile = self._profile(session.profile_id)
            profile.closed_sessions += sign
            profile.total_sales += sign * session.total

    def outcome(self) -> Outcome:
        """A frozen snapshot of the predicted state."""
        sessions = {
            sid: SessionOutcome(
                state=s.state,
                cart_items=tuple(s.cart_items),
                total=s.total,
                first_session=s.first_session,
                profile_id=s.profile_id,
                coupon=s.coupon,
                referral=s.referral,
                discounts=_discounts(s),
                attributes=dict(s.attributes),
            )
            for sid, s in self._sessions.items()
        }
        profiles = {
            pid: ProfileOutcome(p.closed_sessions, p.total_sales, dict(p.attributes))
            for pid, p in self._profiles.items()
        }
        return Outcome(sessions=sessions, profiles=profiles)
