"""Witness sequences: for every domain rule and every decision it checks, a short fixed sequence that shows it holds.

A fuzzer reaches "close, then cancel, then look at the profile" only by luck; a witness sends it every run.
Each rule of :mod:`contracts.domain` names, per decision it checks, the witnesses here that exercise it
(``Rule.witnesses``, gathered in :data:`RULE_WITNESSES`); ``WITNESSES`` holds the sequences, composed from the
journey building blocks (``strategies.journeys.scripted_journey``), the edge constants of
``strategies.edges`` and the seeded examples of ``strategies.invalid``. Ids are new on every run (a random
prefix), everything else is the same every run. ``contracts.witness`` sends them.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from talon_harness.contracts.domain import RULES
from talon_harness.strategies.bodies import SESSION_FIELDS
from talon_harness.strategies.catalogue import ACCEPTED_COUPONS, ACCEPTED_REFERRALS, REJECTED_COUPONS
from talon_harness.strategies.edges import EDGE_STRINGS, MAX_CART_ITEMS
from talon_harness.strategies.ids import MAX_ID_LENGTH
from talon_harness.strategies.invalid import invalid_examples
from talon_harness.strategies.journeys import JourneyScript, scripted_journey
from talon_harness.strategies.types import Invalid
from talon_harness.strategies.wire import PROFILE, SESSION, QueryValue

__all__ = ["JUDGE_WITNESSES", "READ_BACK_WITNESSES", "RULE_WITNESSES", "WITNESSES", "Step", "Witness"]


@dataclass(frozen=True)
class Step:
    """One PUT of a witness. ``expect_status``: what the journey model (or the invalid example) predicts;
    ``invalid``: the ``strategies.invalid`` tag of a deliberately invalid body (judged by invalid_body_rejected);
    ``query``: the query parameters sent."""

    step: str
    operation: str
    entity_id: str
    body: object
    expect_status: int = 200
    invalid: Invalid | None = None
    query: Mapping[str, QueryValue] = field(default_factory=dict)  # v2: dry, now (``strategies.wire.build_put``)


@dataclass(frozen=True)
class Witness:
    """A named fixed sequence: ``build(id_prefix)`` returns its steps, all ids starting with the prefix."""

    name: str
    description: str
    build: Callable[[str], tuple[Step, ...]]


def _journey(story: Callable[[JourneyScript], None]) -> Callable[[str], tuple[Step, ...]]:
    def build(prefix: str) -> tuple[Step, ...]:
        journey = scripted_journey(story.__name__.strip("_"), story, id_prefix=prefix)
        return tuple(Step(c.step, c.operation, c.entity_id, c.body, c.expect_status) for c in journey.calls)

    return build


def _first_sessions(s: JourneyScript) -> None:
    profile_id = s.new_profile_id()  # never upserted: the first session creates it (D7)
    s.put("open_first_session", SESSION, s.new_session_id(), {"profileId": profile_id})
    s.put("open_second_session", SESSION, s.new_session_id(), {"profileId": profile_id})
    s.put("open_anonymous_session", SESSION, s.new_session_id(), {"profileId": ""})


def _close_then_cancel(s: JourneyScript) -> None:
    session_id, cart = s.open_session(s.new_profile_id())
    s.add_items(session_id, cart, 1)
    s.set_state("close_session", session_id, "closed")
    s.set_state("cancel_session", session_id, "cancelled")


def _retry(s: JourneyScript) -> None:
    session_id, cart = s.open_session(s.new_profile_id())
    s.add_items(session_id, cart, 1)
    s.retry_last()
    last = s.calls[-1].body
    assert isinstance(last, dict)
    s.put("close_session", SESSION, session_id, {"state": "closed", "total": last["total"]})
    s.retry_last()


def _profile_merge(s: JourneyScript) -> None:
    profile_id = s.upsert_profile()
    last = s.calls[-1].body
    assert isinstance(last, dict)
    first_key = min(last["attributes"])
    s.put("update_profile", PROFILE, profile_id, {"attributes": {"WitnessKey": "merged", first_key: None}})
    s.put("read_profile", PROFILE, profile_id, {})


def _coupons(s: JourneyScript) -> None:
    session_id, cart = s.open_session(s.new_profile_id())
    s.add_items(session_id, cart, 1)
    s.put("try_coupon", SESSION, session_id, {"coupon": REJECTED_COUPONS[0]})
    s.put("apply_coupon", SESSION, session_id, {"coupon": ACCEPTED_COUPONS[0]})
    s.put("apply_referral", SESSION, session_id, {"referral": ACCEPTED_REFERRALS[0]})


def _illegal_transitions(s: JourneyScript) -> None:
    session_id, _ = s.open_session(s.new_profile_id())  # no items: the transitions do not depend on the cart
    s.set_state("close_session", session_id, "closed")
    s.set_state("reopen_session", session_id, "open")
    s.put("change_closed_total", SESSION, session_id, {"total": 0.5})
    s.set_state("cancel_session", session_id, "cancelled")
    s.set_state("close_cancelled", session_id, "closed")
    s.put("coupon_on_cancelled", SESSION, session_id, {"coupon": ACCEPTED_COUPONS[0]})


def _edge_ids(s: JourneyScript) -> None:
    s.put("awkward_profile_id", PROFILE, f"{s.prefix} é 😀", {})
    s.put("longest_session_id", SESSION, f"{s.prefix}-long-".ljust(MAX_ID_LENGTH, "x"), {"profileId": ""})
    shared = f"{s.prefix}-long-".ljust(64, "y")  # two ids alike in their first 64 characters
    s.put("long_session_id", SESSION, shared + "a", {"profileId": "", "total": 1.5})  # the other one has total 0
    s.put("other_long_session_id", SESSION, shared + "b", {"profileId": ""})


def _edge_bodies(s: JourneyScript) -> None:
    items = [{"name": text, "sku": f"SKU-{i}", "quantity": 1, "price": 1.0} for i, text in enumerate(EDGE_STRINGS)]
    full = [{"name": "Item", "sku": f"SKU-{i}", "quantity": 1, "price": 0.5} for i in range(MAX_CART_ITEMS)]
    s.put("all_members_null", SESSION, s.new_session_id(), {k: None for k in SESSION_FIELDS})
    s.put("empty_cart", SESSION, s.new_session_id(), {"profileId": "", "cartItems": [], "total": 0})
    s.put("edge_string_items", SESSION, s.new_session_id(), {"profileId": "", "cartItems": items, "total": 0})
    s.put("full_cart", SESSION, s.new_session_id(), {"profileId": "", "cartItems": full, "total": 500})
    s.put("edge_string_attributes", PROFILE, s.new_profile_id(), {"attributes": {t: t for t in EDGE_STRINGS}})


#: invalid_bodies is the phase's last and longest witness. These rules go first in it, so a server that drops one
#: of these refusals fails within the witness' first requests rather than after the other twelve: they are the
#: refusals a server drops without failing anything else (refserver.faults has a fault for each: a value
#: minimum, an unknown member, the item count and the nesting limits); the type, required-member and shape rules
#: follow.
_FIRST_RULES = ("quantity_minimum", "session_unknown_field", "cart_items_limit", "attribute_depth_limit")


@functools.cache
def _invalid_examples() -> tuple[Invalid, ...]:
    """One example of every ``strategies.invalid`` rule per operation (seed 0, JSON bodies only), session
    examples of ``_FIRST_RULES`` first, then the rest in the strategies' order."""
    found: list[Invalid] = []
    for operation_id in (SESSION, PROFILE):
        rules: set[str] = set()
        for example in invalid_examples(operation_id, seed=0, per_rule=1, json_only=True, max_depth=64):
            if example.breaks not in rules:  # the first example of each rule, in the strategies' order
                rules.add(example.breaks)
                found.append(example)
    first = [next(e for e in found if e.operation == SESSION and e.breaks == rule) for rule in _FIRST_RULES]
    return (*first, *(e for e in found if e not in first))


def _invalid_bodies(prefix: str) -> tuple[Step, ...]:
    return tuple(Step(f"invalid_{e.breaks}", e.operation, f"{prefix}-inv-{i}", e.body, e.status, e)
                 for i, e in enumerate(_invalid_examples()))


def _rejected_change(prefix: str) -> tuple[Step, ...]:
    session_id = f"{prefix}-sess-0"
    wrong = Invalid({"total": "12.5"}, "invalid_type", "/total", operation=SESSION)
    # each refusal is read back by failed_request_changes_nothing (this is one of READ_BACK_WITNESSES)
    return (Step("open_session", SESSION, session_id, {"profileId": "", "total": 12.5}),
            Step("wrong_total_type", SESSION, session_id, wrong.body, 400, wrong),
            Step("wrong_total_new_session", SESSION, f"{prefix}-sess-1", wrong.body, 400, wrong))


def _witnesses(*items: Witness) -> Mapping[str, Witness]:
    return MappingProxyType({w.name: w for w in items})


#: Every witness, in the order the phase sends them: the journeys (shortest sequences of a rule first), then the
#: witnesses of one fact per request, the longest (invalid_bodies, one request per rule) last. Only
#: READ_BACK_WITNESSES add a ``PUT {}`` after a refusal, so every other refusal costs one request.
WITNESSES: Mapping[str, Witness] = _witnesses(
    Witness("first_sessions", "a profile's first and second session (unknown profileId), an anonymous one",
            _journey(_first_sessions)),
    Witness("close_then_cancel", "open with items, close, cancel", _journey(_close_then_cancel)),
    Witness("retry", "add items twice with the same body, close, close again", _journey(_retry)),
    Witness("profile_merge", "upsert a profile, merge a new key and a null, read it", _journey(_profile_merge)),
    Witness("coupons", "a rejected coupon, an accepted coupon, an accepted referral", _journey(_coupons)),
    Witness("illegal_transitions", "closed->open, a new total on a closed session, cancel, cancelled->closed, "
            "a coupon on a cancelled session", _journey(_illegal_transitions)),
    Witness("rejected_change", "a wrong-typed total sent to an existing session and to a new one (each read "
            "back)", _rejected_change),
    Witness("edge_ids", "a profile id with spaces and an emoji, a 1000-character session id, two ids alike in "
            "their first 64 characters", _journey(_edge_ids)),
    Witness("edge_bodies", "every member null, an empty cart, edge strings as item names and attribute keys, "
            f"{MAX_CART_ITEMS} items", _journey(_edge_bodies)),
    Witness("invalid_bodies", "one body breaking each strategies.invalid rule, per operation", _invalid_bodies),
)

#: check -> decision -> the witnesses that exercise it (one hop from a rule to its evidence).#: rule -> decision -> the witnesses that exercise it (one hop from a rule to its evidence; declared with the rule).
RULE_WITNESSES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {rule.name: rule.witnesses for rule in RULES.values()})

#: ``failed_request_changes_nothing`` reads the entity back (one ``PUT {}`` more) after a rejected answer. In the
#: phase the rules that need a read-back get one only on their own witnesses, whose rejections are what D1 is
#: about; every other rejection (the bodies of invalid_bodies) is judged by the other rules without a read-back:
#: one request, not two.
READ_BACK_WITNESSES: frozenset[str] = frozenset(
    w for rule in RULES.values() if rule.needs == "read_back" for names in rule.witnesses.values() for w in names)

#: The same for the built-in checks the extra judges stand in for (named like schemathesis' checks).
JUDGE_WITNESSES: Mapping[str, Mapping[str, tuple[str, ...]]] = MappingProxyType({
    "not_a_server_error": {
        "edge strings (NUL, astral), an empty and a 1000-item cart, 1000-character ids get no 5xx":
            ("edge_bodies", "edge_ids"),
    },
    "positive_data_acceptance": {
        "D4 null members, D12 ids with spaces or 1000 characters, unicode names are accepted":
            ("edge_bodies", "edge_ids"),
    },
    "status_code_conformance": {"every answer has a documented status": ("first_sessions", "invalid_bodies")},
    "content_type_conformance": {"every answer is application/json": ("first_sessions", "invalid_bodies")},
    "response_schema_conformance": {
        "200 and error answers match their schema": ("first_sessions", "close_then_cancel", "invalid_bodies"),
    },
})
