"""Rules on campaign effects and the discounts they set (D11)."""

from __future__ import annotations

from typing import Any

from talon_harness.contracts import rules
from talon_harness.contracts.domain._rule import NOT_APPLICABLE, Outcome, Rule, fail, ok
from talon_harness.contracts.model import Observation
from talon_harness.strategies.wire import PROFILE, SESSION


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _effects(obs: Observation) -> list[Any]:
    effects = (obs.event or {}).get("effects")
    return effects if isinstance(effects, list) else []


def effects_well_formed(obs: Observation) -> Outcome:
    """D11: effects are [campaignId, rulesetId, ruleIndex, [name, args...]]; a session with a coupon/referral
    has exactly one accept or reject effect for that code, none without; profile updates have none."""
    if not ok(obs):
        return NOT_APPLICABLE
    effects = (obs.event or {}).get("effects")
    bad = [e for e in effects or [] if not (isinstance(e, list) and len(e) == 4 and all(_is_int(v) for v in e[:3])
                                            and isinstance(e[3], list) and e[3] and isinstance(e[3][0], str))]
    if not isinstance(effects, list) or bad:
        return fail(obs, "malformed effect tuples", "[int, int, int, [name, args...]]", effects)
    if obs.exchange.operation == PROFILE:
        if effects:
            return fail(obs, "a profile update produced effects", [], effects)
        return None
    session = obs.response_session or {}
    for field_name, names in (("coupon", ("acceptCoupon", "rejectCoupon")),
                              ("referral", ("acceptReferral", "rejectReferral"))):
        code = session.get(field_name) or ""
        found = [e for e in effects if e[3][0] in names]
        wanted_count = 1 if code else 0
        if len(found) != wanted_count or (code and found[0][3][1:2] != [code]):
            return fail(obs, f"{field_name} effects do not match session.{field_name}",
                  f"{wanted_count} of {names} for {code!r}", found)
    for e in effects:
        if e[3][0] == "setDiscount" and not (len(e[3]) == 3 and isinstance(e[3][1], str)
                                              and isinstance(e[3][2], (int, float)) and not isinstance(e[3][2], bool)):
            return fail(obs, "setDiscount args are not [label, amount]", "[label, amount]", e)
    return None


def discounts_reflect_effects(obs: Observation) -> Outcome:
    """D11: session.discounts has exactly one entry per setDiscount label, with its amount."""
    if not ok(obs, SESSION):
        return NOT_APPLICABLE
    amounts: dict[str, list[Any]] = {}
    for e in _effects(obs):
        if isinstance(e, list) and len(e) == 4 and isinstance(e[3], list) and len(e[3]) == 3 and e[3][0] == "setDiscount":
            amounts.setdefault(str(e[3][1]), []).append(e[3][2])
    got = (obs.response_session or {}).get("discounts")
    matches = isinstance(got, dict) and set(got) == set(amounts) and all(
        any(rules.same_number(got[k], a) for a in (*v, sum(v))) for k, v in amounts.items())
    if not matches:
        return fail(obs, "session.discounts differ from the setDiscount effects",
              {k: v[-1] for k, v in amounts.items()}, {"session.discounts": got})
    return None


RULES: tuple[Rule, ...] = (
    Rule("effects_well_formed", ("D11",), "effects are well-formed tuples, one accept/reject per code sent",
         effects_well_formed,
         {"D11 one acceptCoupon/rejectCoupon effect for the coupon sent": ("coupons",),
          "D11 one acceptReferral effect for the referral sent": ("coupons",),
          "D11 profile updates have no effects": ("profile_merge",)},
         ()),
    Rule("discounts_reflect_effects", ("D11",), "session.discounts holds one entry per setDiscount effect",
         discounts_reflect_effects,
         {"D11 an accepted coupon's setDiscount is in session.discounts": ("coupons",)},
         ("coupon_discount_missing",)),
)
