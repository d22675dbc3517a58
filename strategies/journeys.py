"""Journeys: the call sequences a real integration sends, with the outcome a correct server reaches.

``build_journey`` uses plain ``random`` (Locust calls it off the hot path); ``session_journeys`` wraps
it for Hypothesis. Each journey's ``expected`` comes from replaying its calls through a small model of
D4-D7 and D11, so calls and prediction cannot drift apart.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies._model import JourneyModel, Outcome, ProfileOutcome, SessionOutcome
from talon_harness.strategies._shop import cart_total, random_cart, random_profile_attributes
from talon_harness.strategies.bodies import cart_items
from talon_harness.strategies.catalogue import ACCEPTED_COUPONS, ACCEPTED_REFERRALS, REJECTED_COUPONS
from talon_harness.strategies.wire import PROFILE, SESSION

__all__ = [
    "JOURNEY_KINDS",
    "Call",
    "Journey",
    "JourneyScript",
    "Outcome",
    "ProfileOutcome",
    "SessionOutcome",
    "build_journey",
    "journey_steps",
    "scripted_journey",
    "session_journeys",
]

JOURNEY_KINDS: tuple[str, ...] = (
    "returning_customer",
    "anonymous_shopper",
    "coupon_hunter",
    "abandoned_cart",
    "cancelled_order",
    "profile_only",
    "multi_session",
    "retry",
    "illegal_transition",
)


@dataclass(frozen=True)
class Call:
    """One PUT of a journey. ``body=None`` means an empty body (read as ``{}``); bytes are sent as-is.

    ``expect_pointer`` is the ``source.pointer`` the error must name when ``expect_status`` is 4xx.
    """

    step: str
    operation: str
    entity_id: str
    body: dict[str, Any] | None | bytes
    expect_status: int = 200
    expect_pointer: str | None = None


@dataclass(frozen=True)
class Journey:
    """A named sequence of calls and the state a correct server ends in after all of them."""

    kind: str
    calls: tuple[Call, ...]
    expected: Outcome


@dataclass
class _Script:
    rng: random.Random
    prefix: str
    model: JourneyModel = field(default_factory=JourneyModel)
    calls: list[Call] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)

    def new_profile_id(self) -> str:
        return f"{self.prefix}-cust-{next(self._ids)}"

    def new_session_id(self) -> str:
        return f"{self.prefix}-sess-{next(self._ids)}"

    def put(self, step: str, operation: str, entity_id: str, body: dict[str, Any] | None) -> None:
        status, pointer = self.model.apply(operation, entity_id, body)
        self.calls.append(Call(step, operation, entity_id, body, status, pointer))

    def retry_last(self) -> None:
        last = self.calls[-1]
        self.put("retry_" + last.step, last.operation, last.entity_id, last.body)  # type: ignore[arg-type]

    # -- the building blocks every story is made of ---------------------------------------------
    def upsert_profile(self) -> str:
        profile_id = self.new_profile_id()
        self.put("upsert_profile", PROFILE, profile_id, {"attributes": random_profile_attributes(self.rng)})
        return profile_id

    def open_session(self, profile_id: str | None) -> tuple[str, list[dict[str, Any]]]:
        session_id = self.new_session_id()
        body: dict[str, Any] = {"state": "open"} if self.rng.random() < 0.5 else {}
        if profile_id is not None:
            body["profileId"] = profile_id
        elif self.rng.random() < 0.5:
            body["profileId"] = ""
        if self.rng.random() < 0.5:
            body["attributes"] = {"Channel": self.rng.choice(("web", "app", "store")), "GiftWrap": None}
        self.put("open_session", SESSION, session_id, body)
        return session_id, []

    def add_items(self, session_id: str, cart: list[dict[str, Any]], rounds: int) -> list[dict[str, Any]]:
        for _ in range(rounds):
            cart = cart + [
                item
                for item in random_cart(self.rng, max_items=3)
                if item["sku"] not in {c["sku"] for c in cart}
            ]
            self.put("add_items", SESSION, session_id, {"cartItems": cart, "total": cart_total(cart)})
        return cart

    def set_state(self, step: str, session_id: str, state: str) -> None:
        self.put(step, SESSION, session_id, {"state": state})

    def import_order(self, step: str, profile_id: str, state: str, max_items: int) -> None:
        """A legacy order created directly in a final *state* (D5) on a new session."""
        cart = random_cart(self.rng, max_items=max_items)
        body = {"profileId": profile_id, "state": state, "cartItems": cart, "total": cart_total(cart)}
        self.put(step, SESSION, self.new_session_id(), body)


def _returning_customer(s: _Script) -> None:
    profile_id = s.upsert_profile()
    s.import_order("import_past_order", profile_id, "closed", max_items=5)
    session_id, cart = s.open_session(profile_id)
    s.add_items(session_id, cart, s.rng.randint(1, 3))
    s.set_state("close_session", session_id, "closed")


def _anonymous_shopper(s: _Script) -> None:
    session_id, cart = s.open_session(None)
    s.add_items(session_id, cart, s.rng.randint(1, 3))
    if s.rng.random() < 0.5:  # a guest logs in at checkout; firstSession stays true (D7)
        s.put("log_in", SESSION, session_id, {"profileId": s.new_profile_id()})
    s.set_state("close_session", session_id, "closed")


def _coupon_hunter(s: _Script) -> None:
    profile_id = s.upsert_profile()
    session_id, cart = s.open_session(profile_id)
    s.add_items(session_id, cart, 1)
    s.put(
        "set_shipping",
        SESSION,
        session_id,
        {"attributes": {"ShippingCost": s.rng.choice((0.0, 4.95)), "ShippingMethod": "standard"}},
    )
    for code in s.rng.sample(REJECTED_COUPONS, s.rng.randint(1, 2)):
        s.put("try_coupon", SESSION, session_id, {"coupon": code})
    s.put("apply_coupon", SESSION, session_id, {"coupon": s.rng.choice(ACCEPTED_COUPONS)})
    if s.rng.random() < 0.5:
        s.put("apply_referral", SESSION, session_id, {"referral": s.rng.choice(ACCEPTED_REFERRALS)})
    s.set_state("close_session", session_id, "closed")


def _abandoned_cart(s: _Script) -> None:
    profile_id = s.upsert_profile()
    session_id, cart = s.open_session(profile_id)
    s.add_items(session_id, cart, s.rng.randint(1, 4))
    if s.rng.random() < 0.5:
        s.put("read_session", SESSION, session_id, None)


def _cancelled_order(s: _Script) -> None:
    profile_id = s.upsert_profile()
    session_id, cart = s.open_session(profile_id)
    s.add_items(session_id, cart, s.rng.randint(1, 2))
    if s.rng.random() < 0.5:
        s.set_state("close_session", session_id, "closed")
    s.set_state("cancel_session", session_id, "cancelled")


def _profile_only(s: _Script) -> None:
    profile_id = s.upsert_profile()
    for _ in range(s.rng.randint(0, 2)):
        fresh = random_profile_attributes(s.rng)
        update = {k: (None if s.rng.random() < 0.3 else v) for k, v in fresh.items() if s.rng.random() < 0.6}
        s.put("update_profile", PROFILE, profile_id, {"attributes": update})
    if s.rng.random() < 0.5:
        s.put("read_profile", PROFILE, profile_id, {})


def _multi_session(s: _Script) -> None:
    profile_id = s.upsert_profile()
    if s.rng.random() < 0.3:  # a legacy order imported as cancelled counts nothing (D6)
        s.import_order("import_cancelled_order", profile_id, "cancelled", max_items=3)
    for _ in range(s.rng.randint(2, 4)):
        session_id, cart = s.open_session(profile_id)
        s.add_items(session_id, cart, s.rng.randint(1, 2))
        ending = s.rng.choice(("closed", "cancelled", "open", "closed_then_cancelled"))
        if ending in ("closed", "closed_then_cancelled"):
            s.set_state("close_session", session_id, "closed")
        if ending in ("cancelled", "closed_then_cancelled"):
            s.set_state("cancel_session", session_id, "cancelled")


def _retry(s: _Script) -> None:
    profile_id = s.upsert_profile()
    session_id, cart = s.open_session(profile_id)
    cart = s.add_items(session_id, cart, 1)
    if s.rng.random() < 0.5:
        s.retry_last()
    s.put("close_session", SESSION, session_id, {"state": "closed", "total": cart_total(cart)})
    for _ in range(s.rng.randint(1, 2)):
        s.retry_last()


def _illegal_transition(s: _Script) -> None:
    profile_id = s.upsert_profile()
    session_id, cart = s.open_session(profile_id)
    cart = s.add_items(session_id, cart, 1)
    s.set_state("close_session", session_id, "closed")
    move = s.rng.choice(("reopen", "change_cart", "cancel_then_close", "cancel_then_coupon"))
    if move == "reopen":
        s.set_state("reopen_session", session_id, "open")
    elif move == "change_cart":
        s.put("change_closed_cart", SESSION, session_id, {"cartItems": cart[:-1] or random_cart(s.rng)})
    else:
        s.set_state("cancel_session", session_id, "cancelled")
        if move == "cancel_then_close":
            s.set_state("close_cancelled", session_id, "closed")
        else:
            s.put("coupon_on_cancelled", SESSION, session_id, {"coupon": s.rng.choice(ACCEPTED_COUPONS)})


_STORIES: dict[str, Callable[[_Script], None]] = {
    "returning_customer": _returning_customer,
    "anonymous_shopper": _anonymous_shopper,
    "coupon_hunter": _coupon_hunter,
    "abandoned_cart": _abandoned_cart,
    "cancelled_order": _cancelled_order,
    "profile_only": _profile_only,
    "multi_session": _multi_session,
    "retry": _retry,
    "illegal_transition": _illegal_transition,
}


def _check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    unknown = [k for k in kinds if k not in _STORIES]
    if unknown or not kinds:
        raise ValueError(f"journey kinds must be a non-empty subset of {JOURNEY_KINDS}; got {tuple(kinds)!r}")
    return tuple(kinds)


def build_journey(kind: str, rng: random.Random, *, id_prefix: str) -> Journey:
    """Build one journey of *kind* with plain ``random`` (no Hypothesis; cheap enough for Locust).

    Every profile and session id starts with ``id_prefix + "-"`` and is unique within the journey, so
    journeys with distinct prefixes never touch each other's entities. Every call but the deliberate
    illegal ones expects 200; ``expected`` is the state a correct server holds afterwards.
    """
    _check_kinds([kind])
    script = _Script(rng=rng, prefix=id_prefix)
    _STORIES[kind](script)
    return Journey(kind=kind, calls=tuple(script.calls), expected=script.model.outcome())


#: The building blocks every story is made of (``upsert_profile``, ``open_session``, ``add_items``,
#: ``set_state``, ``put``, ``retry_last``), for fixed sequences composed elsewhere (``contracts.witness``).
JourneyScript = _Script


def scripted_journey(kind: str, story: Callable[[_Script], None], *, id_prefix: str, seed: int = 0) -> Journey:
    """The journey *story* writes with the building blocks, drawing from ``random.Random(seed)``.

    Deterministic for a given story, prefix and seed; ids as in ``build_journey``; every call carries the
    status and pointer the journey model predicts, and ``expected`` is the state after all of them.
    """
    script = _Script(rng=random.Random(seed), prefix=id_prefix)
    story(script)
    return Journey(kind=kind, calls=tuple(script.calls), expected=script.model.outcome())


def _default_prefixes() -> st.SearchStrategy[str]:
    return st.uuids().map(lambda u: "j" + u.hex[:16])


def session_journeys(
    kinds: Sequence[str] = JOURNEY_KINDS, *, id_prefixes: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[Journey]:
    """Journeys of the given kinds (Hypothesis wrapper around ``build_journey``).

    Always: the kind is one of *kinds*; ids start with a prefix drawn from *id_prefixes* (default a
    random hex token); ``expected`` matches the calls. Varies: kind, carts, attributes, codes, number
    of sessions and updates. Never: a call whose outcome the design notes leave open (e.g. a closed
    session receiving a state change and a field change at once). Shrinks towards the first kind.
    Pass ``id_prefixes=st.builds(fresh_token)`` to get a new prefix on every draw (shared servers).
    """
    chosen = _check_kinds(kinds)
    prefixes = _default_prefixes() if id_prefixes is None else id_prefixes
    return st.builds(
        lambda kind, rng, prefix: build_journey(kind, rng, id_prefix=prefix),
        st.sampled_from(chosen),
        st.randoms(use_true_random=False),
        prefixes,
    )


def journey_steps() -> st.SearchStrategy[dict[str, Any]]:
    """Session bodies a real integration sends after opening a session. Always valid (for an open
    session). Varies: a cart update (1-3 items and a total), a close, a cancel, a repeat of a state, a
    catalogue coupon or referral code, or a read (``{}``). Never a profileId (callers keep their own)."""
    cart = st.lists(cart_items(), min_size=1, max_size=3)
    return st.one_of(
        st.builds(lambda items, total: {"cartItems": items, "total": total}, cart,
                  st.floats(0, 1000, allow_nan=False).map(lambda t: round(t, 2))),
        st.sampled_from(({"state": "closed"}, {"state": "cancelled"}, {"state": "open"}, {})),
        st.sampled_from(ACCEPTED_COUPONS).map(lambda code: {"coupon": code}),
        st.sampled_from(ACCEPTED_REFERRALS).map(lambda code: {"referral": code}),
    )
