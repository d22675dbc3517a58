"""v2 rule evaluation (D25, D26, D27): the configured rule set (`config.RuleSet`, shared with v1) as v2
effect objects, and the rule-set entities that `responseContent` can ask for.

Worked example, default rule set, a session with couponCodes ["SUMMER10", "NOPE"] and no referral::

    [{"campaignId": 1, "rulesetId": 1, "ruleIndex": 0, "ruleName": "Summer sale", "effectType": "acceptCoupon",
      "triggeredByCoupon": 1, "props": {"value": "SUMMER10"}},
     {... "effectType": "setDiscount", "triggeredByCoupon": 1, "props": {"name": "Summer sale", "value": 10.0}},
     {"campaignId": 0, "rulesetId": 0, "ruleIndex": 0, "ruleName": "", "effectType": "rejectCoupon",
      "props": {"value": "NOPE", "rejectionReason": "CouponNotFound"}}]

Cancelling a closed session yields, for the same session, rollbackCoupon {value} and rollbackDiscount
{name, value} instead (D26). Coupon and referral ids are the code's 1-based position in the rule set.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Mapping
from typing import Any

from .config import Rule, RuleSet

__all__ = [
    "RULES_CREATED",
    "evaluate_v2",
    "known_coupons",
    "known_referral",
    "rollback_effects",
    "triggered_campaigns",
]

RULES_CREATED = "2026-01-01T00:00:00Z"  # when the rule set's campaigns, coupons and referrals were created (D27)


def _effect(rule: Rule | None, effect_type: str, props: dict[str, Any], coupon_id: int | None) -> dict[str, Any]:
    effect: dict[str, Any] = {
        "campaignId": 0 if rule is None else rule.campaignId,
        "rulesetId": 0 if rule is None else rule.rulesetId,
        "ruleIndex": 0,
        "ruleName": "" if rule is None else rule.label,
        "effectType": effect_type,
    }
    if coupon_id is not None:
        effect["triggeredByCoupon"] = coupon_id
    effect["props"] = props
    return effect


def _codes(session: Mapping[str, Any], distinct: bool = True) -> Iterator[tuple[str, str]]:
    """(kind, code) for each distinct coupon code in order (each sent one: not ``distinct``, the
    v2_duplicate_codes_evaluated fault), then the referral code, if any."""
    codes = session.get("couponCodes", ())
    for code in dict.fromkeys(codes) if distinct else codes:
        yield "Coupon", code
    if session.get("referralCode"):
        yield "Referral", session["referralCode"]


def _lookup(rules: RuleSet, kind: str, code: str) -> tuple[Rule | None, int]:
    table = rules.coupons if kind == "Coupon" else rules.referrals
    for position, known in enumerate(table, start=1):
        if known == code:
            return table[code], position
    return None, 0


def evaluate_v2(session: Mapping[str, Any], rules: RuleSet, campaigns: Collection[int] | None,
                distinct: bool = True) -> list[dict[str, Any]]:
    """Effects for the session as it stands (D25); `campaigns` (dry evaluableCampaignIds) limits the rules;
    ``distinct`` False is the v2_duplicate_codes_evaluated fault."""
    effects: list[dict[str, Any]] = []
    for kind, code in _codes(session, distinct):
        rule, position = _lookup(rules, kind, code)
        coupon_id = position if kind == "Coupon" and rule is not None else None
        if rule is None or (campaigns is not None and rule.campaignId not in campaigns):
            reason = f"{kind}NotFound" if rule is None else f"{kind}PartOfNotTriggeredCampaign"
            effects.append(_effect(rule, f"reject{kind}", {"value": code, "rejectionReason": reason}, coupon_id))
            continue
        effects.append(_effect(rule, f"accept{kind}", {"value": code}, coupon_id))
        effects.append(_effect(rule, "setDiscount", {"name": rule.label, "value": rule.amount}, coupon_id))
    return effects


def rollback_effects(session: Mapping[str, Any], rules: RuleSet) -> list[dict[str, Any]]:
    """D26: what cancelling the closed `session` takes back: per accepted code, rollback + rollbackDiscount."""
    effects: list[dict[str, Any]] = []
    for kind, code in _codes(session):
        rule, position = _lookup(rules, kind, code)
        if rule is not None:
            coupon_id = position if kind == "Coupon" else None
            effects.append(_effect(rule, f"rollback{kind}", {"value": code}, coupon_id))
            effects.append(_effect(rule, "rollbackDiscount", {"name": rule.label, "value": rule.amount}, coupon_id))
    return effects


def known_coupons(session: Mapping[str, Any], rules: RuleSet) -> list[dict[str, Any]]:
    """IntegrationCoupon objects for the session's codes that the rule set knows (D27: no usage counted)."""
    coupons = []
    for kind, code in _codes(session):
        rule, position = _lookup(rules, kind, code) if kind == "Coupon" else (None, 0)
        if rule is not None:
            coupons.append({"id": position, "created": RULES_CREATED, "campaignId": rule.campaignId,
                            "value": code, "usageCounter": 0, "profileRedemptionCount": 0})
    return coupons


def known_referral(session: Mapping[str, Any], rules: RuleSet) -> dict[str, Any] | None:
    """The InventoryReferral for the session's referral code, if the rule set knows it (D27)."""
    code = session.get("referralCode") or ""
    rule, position = _lookup(rules, "Referral", code)
    if rule is None:
        return None
    return {"id": position, "created": RULES_CREATED, "campaignId": rule.campaignId,
            "advocateProfileIntegrationId": "", "code": code, "usageCounter": 0, "referredCustomers": []}


def triggered_campaigns(effects: list[dict[str, Any]], rules: RuleSet, application_id: int) -> list[dict[str, Any]]:
    """One Campaign object per campaign that produced an accept or rollback effect, in effect order (D27)."""
    campaigns: dict[int, dict[str, Any]] = {}
    for effect in effects:
        campaign_id = effect["campaignId"]
        if campaign_id == 0 or campaign_id in campaigns or effect["effectType"].startswith("reject"):
            continue
        referral = effect["effectType"].endswith("Referral") or any(
            r.campaignId == campaign_id for r in rules.referrals.values()
        )
        campaigns[campaign_id] = {
            "id": campaign_id, "created": RULES_CREATED, "applicationId": application_id, "userId": 1,
            "name": effect["ruleName"], "state": "enabled", "tags": [],
            "features": ["referrals" if referral else "coupons"], "limits": [], "frontendState": "running",
            "storesImported": False, "activeRulesetId": effect["rulesetId"],
        }
    return list(campaigns.values())
