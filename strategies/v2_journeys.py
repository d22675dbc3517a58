"""v2 journeys: the call sequences an integration on the official SDK sends, with the outcome a correct server
reaches (D21-D23, D25, D26, D28, D31, D32).

``v2_build_journey`` uses plain ``random`` (cheap enough for Locust); ``v2_session_journeys`` wraps it for
Hypothesis. Each call's expected status, pointer and effect types, and the journey's ``expected`` state, come
from replaying the calls through a small model of the v2 decisions, so calls and prediction cannot drift.
"""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from hypothesis import strategies as st

from talon_harness.strategies._shop import random_cart, random_profile_attributes
from talon_harness.strategies._v2_model import V2JourneyModel, V2Outcome, V2ProfileOutcome, V2SessionOutcome
from talon_harness.strategies.catalogue import ACCEPTED_COUPONS, ACCEPTED_REFERRALS, REJECTED_COUPONS
from talon_harness.strategies.realistic import realistic_carts
from talon_harness.strategies.wire import PROFILE_V2, SESSION_V2, QueryValue

__all__ = [
    "V2_JOURNEY_KINDS",
    "V2Call",
    "V2Journey",
    "V2JourneyScript",
    "V2Outcome",
    "V2ProfileOutcome",
    "V2SessionOutcome",
    "v2_build_journey",
    "v2_journey_steps",
    "v2_scripted_journey",
    "v2_session_journeys",
]

V2_JOURNEY_KINDS: tuple[str, ...] = (
    "returning_customer", "anonymous_shopper", "coupon_hunter", "cancelled_order", "sdk_client",
    "dry_preview", "retry", "illegal_transition", "profile_only",
)


@dataclass(frozen=True)
class V2Call:
    """One v2 PUT of a journey: ``wire.build_put(operation, entity_id, body, query=query)``.

    A correct server answers ``expect_status``; on a 400 its one APIError names ``expect_pointer``; on a 200
    its ``effects`` have exactly the ``effectType``\\ s ``expect_effects``, in order.
    """

    step: str
    operation: str
    entity_id: str
    body: dict[str, Any]
    query: dict[str, QueryValue] = field(default_factory=dict)
    expect_status: int = 200
    expect_pointer: str | None = None
    expect_effects: tuple[str, ...] = ()


@dataclass(frozen=True)
class V2Journey:
    """A named sequence of v2 calls and the state a correct server holds after all of them."""

    kind: str
    calls: tuple[V2Call, ...]
    expected: V2Outcome


@dataclass
class _Script:
    rng: random.Random
    prefix: str
    model: V2JourneyModel = field(default_factory=V2JourneyModel)
    calls: list[V2Call] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=itertools.count)

    def new_id(self, kind: str) -> str:
        return f"{self.prefix}-{kind}-{next(self._ids)}"

    def put(self, step: str, operation: str, entity_id: str, body: dict[str, Any],
            query: dict[str, QueryValue] | None = None) -> None:
        status, pointer, effects = self.model.apply(operation, entity_id, body, query or {})
        self.calls.append(V2Call(step, operation, entity_id, body, query or {}, status, pointer, effects))

    def session(self, step: str, session_id: str, session: dict[str, Any], *,
                content: Sequence[str] = (), query: dict[str, QueryValue] | None = None) -> None:
        body: dict[str, Any] = {"customerSession": session}
        if content:
            body["responseContent"] = list(content)
        self.put(step, SESSION_V2, session_id, body, query)

    def upsert_profile(self) -> str:
        profile_id = self.new_id("cust")
        body: dict[str, Any] = {"attributes": random_profile_attributes(self.rng)}
        engine = self.rng.random() < 0.5
        if engine:
            body["responseContent"] = ["customerProfile"]
        if self.rng.random() < 0.3:
            body["audiencesChanges"] = {"adds": [self.rng.randint(1, 9)], "deletes": []}
        self.put("upsert_profile", PROFILE_V2, profile_id, body, {"runRuleEngine": True} if engine else {})
        return profile_id

    def open_session(self, profile_id: str) -> str:
        session_id = self.new_id("sess")
        first: dict[str, Any] = {"profileId": profile_id, "state": "open"}  # the SDK writes the default state
        if self.rng.random() < 0.5:
            first["attributes"] = {"Channel": self.rng.choice(("web", "app", "store")), "GiftWrap": None}
        self.session("open_session", session_id, first, content=("customerSession",))
        return session_id

    def fill_cart(self, session_id: str, rounds: int) -> list[dict[str, Any]]:
        cart: list[dict[str, Any]] = []
        for _ in range(rounds):
            cart = cart + [i for i in random_cart(self.rng, max_items=3) if i["sku"] not in {c["sku"] for c in cart}]
            update: dict[str, Any] = {"cartItems": cart}
            if self.rng.random() < 0.5:
                update["additionalCosts"] = {"shipping": {"price": self.rng.choice((0.0, 4.95))}}
            self.session("add_items", session_id, update)
        return cart

    def set_state(self, step: str, session_id: str, state: str) -> None:
        self.session(step, session_id, {"state": state}, content=("customerSession", "customerProfile"))


def _returning_customer(s: _Script) -> None:
    profile_id = s.upsert_profile()
    legacy = random_cart(s.rng, max_items=4)
    s.session("import_past_order", s.new_id("sess"), {"profileId": profile_id, "state": "closed", "cartItems": legacy})
    session_id = s.open_session(profile_id)
    s.fill_cart(session_id, s.rng.randint(1, 3))
    s.session("apply_coupon", session_id, {"couponCodes": [s.rng.choice(ACCEPTED_COUPONS)]}, content=("coupons",))
    s.set_state("close_session", session_id, "closed")


def _anonymous_shopper(s: _Script) -> None:
    session_id = s.new_id("sess")
    s.session("open_anonymous", session_id, {"profileId": "", "identifiers": [f"device-{s.rng.randrange(10**6)}"]})
    s.fill_cart(session_id, s.rng.randint(1, 2))
    if s.rng.random() < 0.5:  # a guest logs in at checkout: firstSession stays as created (D32)
        s.session("log_in", session_id, {"profileId": s.new_id("cust")})
    s.set_state("close_session", session_id, "closed")


def _coupon_hunter(s: _Script) -> None:
    profile_id = s.upsert_profile()
    session_id = s.open_session(profile_id)
    s.fill_cart(session_id, 1)
    tried = s.rng.sample(REJECTED_COUPONS, s.rng.randint(1, 2))
    s.session("try_coupons", session_id, {"couponCodes": tried})
    s.session("apply_coupons", session_id, {"couponCodes": [*tried[:1], s.rng.choice(ACCEPTED_COUPONS)]},
              content=("coupons", "triggeredCampaigns"))
    s.session("apply_referral", session_id, {"referralCode": s.rng.choice(ACCEPTED_REFERRALS)}, content=("referral",))
    if s.rng.random() < 0.5:  # D21: [] and "" clear the codes
        s.session("clear_codes", session_id, {"couponCodes": [], "referralCode": ""})
        s.session("reapply_coupon", session_id, {"couponCodes": [s.rng.choice(ACCEPTED_COUPONS)]})
    s.set_state("close_session", session_id, "closed")


def _cancelled_order(s: _Script) -> None:
    profile_id = s.upsert_profile()
    session_id = s.open_session(profile_id)
    s.fill_cart(session_id, s.rng.randint(1, 2))
    s.session("apply_codes", session_id, {"couponCodes": [s.rng.choice(ACCEPTED_COUPONS)],
                                          "referralCode": s.rng.choice(ACCEPTED_REFERRALS + ("FRIEND-MALLORY",))})
    if s.rng.random() < 0.7:  # cancelling a closed session rolls its effects back (D26); an open one has none
        s.set_state("close_session", session_id, "closed")
    s.set_state("cancel_session", session_id, "cancelled")
    s.set_state("cancel_again", session_id, "cancelled")


def _sdk_client(s: _Script) -> None:
    """Every body carries ``"state": "open"`` as the official SDK writes it (D23 after the close)."""
    profile_id = s.upsert_profile()
    session_id = s.open_session(profile_id)
    cart = random_cart(s.rng, max_items=3)
    s.session("add_items", session_id, {"state": "open", "cartItems": cart})
    s.set_state("close_session", session_id, "closed")
    s.session("sdk_noop_on_closed", session_id, {"state": "open", "cartItems": cart})
    s.session("sdk_change_on_closed", session_id, {"state": "open", "cartItems": cart[:-1] or random_cart(s.rng)})
    s.session("sdk_cancel", session_id, {"state": "cancelled"})


_FUTURE = ("2031-06-01T12:00:00Z", "2032-01-01T00:00:00.000000+0000", "2040-12-24T18:30:00+00:00")


def _dry_preview(s: _Script) -> None:
    profile_id = s.upsert_profile()
    session_id = s.open_session(profile_id)
    cart = s.fill_cart(session_id, 1)
    code = s.rng.choice(ACCEPTED_COUPONS)  # preview the order as closed at a future date (D28, D29)
    s.session("preview_coupon", session_id, {"couponCodes": [code], "state": "closed"},
              content=("customerSession",), query={"dry": True, "now": s.rng.choice(_FUTURE)})
    s.session("preview_cart", session_id, {"cartItems": cart + random_cart(s.rng, max_items=1)}, query={"dry": True})
    s.session("apply_coupon", session_id, {"couponCodes": [code]}, query={"dry": False})
    s.set_state("close_session", session_id, "closed")


def _retry(s: _Script) -> None:
    profile_id = s.upsert_profile()
    session_id = s.open_session(profile_id)
    s.fill_cart(session_id, 1)
    for _ in range(s.rng.randint(1, 2)):  # D31: every accepted call counts, retries included
        last = s.calls[-1]
        s.put("retry_" + last.step, last.operation, last.entity_id, last.body, last.query)
    s.set_state("close_session", session_id, "closed")
    last = s.calls[-1]
    s.put("retry_close", last.operation, last.entity_id, last.body, last.query)


def _illegal_transition(s: _Script) -> None:
    profile_id = s.upsert_profile()
    s.session("create_cancelled", s.new_id("sess"), {"profileId": profile_id,
                                                      "state": s.rng.choice(("cancelled", "partially_returned"))})
    session_id = s.open_session(profile_id)
    s.fill_cart(session_id, 1)
    if s.rng.random() < 0.5:
        s.set_state("open_to_partially_returned", session_id, "partially_returned")
    s.set_state("close_session", session_id, "closed")
    move = s.rng.choice(("partially_returned", "codes_on_closed", "cancel_then_close", "cancel_then_coupon"))
    if move == "partially_returned":  # only through Return cart items (D22)
        s.set_state("closed_to_partially_returned", session_id, "partially_returned")
    elif move == "codes_on_closed":
        s.session("coupon_on_closed", session_id, {"couponCodes": [s.rng.choice(ACCEPTED_COUPONS)]})
    else:
        s.set_state("cancel_session", session_id, "cancelled")
        if move == "cancel_then_close":
            s.set_state("close_cancelled", session_id, "closed")
        else:
            s.session("coupon_on_cancelled", session_id, {"couponCodes": [s.rng.choice(ACCEPTED_COUPONS)]})


def _profile_only(s: _Script) -> None:
    profile_id = s.upsert_profile()
    for _ in range(s.rng.randint(1, 3)):
        fresh = random_profile_attributes(s.rng)
        update = {k: (None if s.rng.random() < 0.3 else v) for k, v in fresh.items() if s.rng.random() < 0.6}
        body: dict[str, Any] = {"attributes": update,
                                "audiencesChanges": {"adds": [s.rng.randint(1, 5)], "deletes": [s.rng.randint(1, 5)]}}
        s.put("update_profile", PROFILE_V2, profile_id, body, {"runRuleEngine": s.rng.random() < 0.5})
    s.put("preview_profile", PROFILE_V2, profile_id, {"attributes": {"Name": "Dry Run"}},
          {"runRuleEngine": True, "dry": True})


_STORIES: dict[str, Callable[[_Script], None]] = {
    "returning_customer": _returning_customer, "anonymous_shopper": _anonymous_shopper,
    "coupon_hunter": _coupon_hunter, "cancelled_order": _cancelled_order, "sdk_client": _sdk_client,
    "dry_preview": _dry_preview, "retry": _retry, "illegal_transition": _illegal_transition,
    "profile_only": _profile_only,
}


def _check_kinds(kinds: Sequence[str]) -> tuple[str, ...]:
    if not kinds or any(k not in _STORIES for k in kinds):
        raise ValueError(f"v2 journey kinds must be a non-empty subset of {V2_JOURNEY_KINDS}; got {tuple(kinds)!r}")
    return tuple(kinds)


def v2_build_journey(kind: str, rng: random.Random, *, id_prefix: str) -> V2Journey:
    """Build one v2 journey of *kind* with plain ``random`` (no Hypothesis).

    Always: every id starts with ``id_prefix + "-"`` and is unique within the journey; every body is valid
    (integration-v2.yaml and D21-D33); each call carries the status, pointer and effect types a correct server
    answers, and ``expected`` is the state it holds afterwards. Sometimes (by kind): profiles with and
    without the rule engine, legacy orders created closed, anonymous sessions and a later login, rejected,
    accepted and cleared codes, shipping costs, ``"state": "open"`` on every body (the SDK's default; D23 on
    closed sessions), dry previews with and without ``now`` (nothing stored, D28), retries, cancels of open and
    closed sessions (rollbacks, D26) and the illegal moves of D22 (400 at ``/customerSession/state`` or at the
    changed member). Never a call whose outcome the decisions leave open.
    """
    _check_kinds([kind])
    script = _Script(rng=rng, prefix=id_prefix)
    _STORIES[kind](script)
    return V2Journey(kind=kind, calls=tuple(script.calls), expected=script.model.outcome())


def v2_session_journeys(
    kinds: Sequence[str] = V2_JOURNEY_KINDS, *, id_prefixes: st.SearchStrategy[str] | None = None
) -> st.SearchStrategy[V2Journey]:
    """v2 journeys of the given kinds (Hypothesis wrapper around ``v2_build_journey``; its guarantees hold).
    Varies: kind, carts, codes, attributes, number of updates. Ids start with a prefix from *id_prefixes*
    (default a random hex token). Shrinks towards the first kind."""
    chosen = _check_kinds(kinds)
    prefixes = st.uuids().map(lambda u: "v2j" + u.hex[:16]) if id_prefixes is None else id_prefixes
    return st.builds(lambda kind, rng, prefix: v2_build_journey(kind, rng, id_prefix=prefix),
                     st.sampled_from(chosen), st.randoms(use_true_random=False), prefixes)


#: The building blocks every v2 story is made of (``upsert_profile``, ``open_session``, ``fill_cart``,
#: ``set_state``, ``session``, ``put``), for fixed sequences composed elsewhere (a v2 witness phase).
V2JourneyScript = _Script


def v2_scripted_journey(kind: str, story: Callable[[_Script], None], *, id_prefix: str, seed: int = 0) -> V2Journey:
    """The v2 journey *story* writes with the building blocks, drawing from ``random.Random(seed)``.

    Deterministic for a given story, prefix and seed; ids as in ``v2_build_journey``; every call carries the
    status, pointer and effect types the model predicts, and ``expected`` is the state after all of them.
    """
    script = _Script(rng=random.Random(seed), prefix=id_prefix)
    story(script)
    return V2Journey(kind=kind, calls=tuple(script.calls), expected=script.model.outcome())


def v2_journey_steps() -> st.SearchStrategy[dict[str, Any]]:
    """IntegrationRequest bodies a real integration sends after opening a session. Always valid for an open
    session (and never a profileId: callers keep their own). Sometimes: a 1-5 item catalogue cart with or
    without shipping, a close, a cancel, the SDK's ``{"state": "open"}``, catalogue coupon codes (known or
    not), a referral code, the clearing ``[]`` / ``""``, or an empty read; each sometimes asking for the session."""
    cart = st.builds(lambda items, costs: {"cartItems": items, **costs}, realistic_carts(max_items=5),
                     st.sampled_from(({}, {"additionalCosts": {"shipping": {"price": 4.95}}})))
    sessions = st.one_of(
        cart,
        st.sampled_from(({"state": "closed"}, {"state": "cancelled"}, {"state": "open"}, {},
                         {"couponCodes": [], "referralCode": ""})),
        st.lists(st.sampled_from(ACCEPTED_COUPONS + REJECTED_COUPONS), min_size=1, max_size=2).map(
            lambda codes: {"couponCodes": codes}),
        st.sampled_from(ACCEPTED_REFERRALS).map(lambda code: {"referralCode": code}),
    )
    return st.builds(lambda session, ask: {"customerSession": session, **({"responseContent": ["customerSession"]}
                                                                          if ask else {})}, sessions, st.booleans())
