"""Rule evaluation (D11): coupon and referral codes -> v1 effect tuples and session discounts.

Worked example, with the default rule set and a session holding coupon "SUMMER10", referral "NOPE"::

    effects   = [[1, 1, 0, ["acceptCoupon", "SUMMER10"]],
                 [1, 1, 0, ["setDiscount", "Summer sale", 10.0]],
                 [0, 0, 0, ["rejectReferral", "NOPE"]]]
    discounts = {"Summer sale": 10.0}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .config import Rule, RuleSet

__all__ = ["Evaluation", "evaluate"]


@dataclass(frozen=True)
class Evaluation:
    """The effects (in order: coupon, then referral) and the discounts they set."""

    effects: list[list[Any]]
    discounts: dict[str, float]


def _apply(code: str, rules: Mapping[str, Rule], kind: str, effects: list[list[Any]]) -> None:
    if not code:
        return
    rule = rules.get(code)
    if rule is None:
        effects.append([0, 0, 0, [f"reject{kind}", code]])
        return
    effects.append([rule.campaignId, rule.rulesetId, 0, [f"accept{kind}", code]])
    effects.append([rule.campaignId, rule.rulesetId, 0, ["setDiscount", rule.label, rule.amount]])


def evaluate(session: Mapping[str, Any], rules: RuleSet) -> Evaluation:
    """Evaluate the stored (post-update) session against `rules`; pure, no I/O."""
    effects: list[list[Any]] = []
    _apply(session.get("coupon", ""), rules.coupons, "Coupon", effects)
    _apply(session.get("referral", ""), rules.referrals, "Referral", effects)
    discounts = {e[3][1]: e[3][2] for e in effects if e[3][0] == "setDiscount"}
    return Evaluation(effects, discounts)
