"""updateCustomerProfileV2, and the v2 profile documents the session upsert shares (D20, D30, D32, D35).

Storage (D20): v2 profiles and sessions live in the Store's tables under the key ``V2_KEY + id`` (a
control character, which no path id may hold (D12), so they never meet v1 entities), wrapped as
{"integrationId": key, "v2": <CustomerProfile or CustomerSessionV2 document>}. Integer `id`s are the event
id of the call that created the entity (in a dry answer: the id it would have had).

`upsert_profile_v2` promises on success CustomerProfileIntegrationResponseV2: `effects` (always [], the
rule set has no profile rules, D30), `createdCoupons` [], `createdReferrals` [], plus the members named by
`responseContent` (only with runRuleEngine=true, D30). Attributes merge key by key, null keeps (D21);
audiencesChanges adds then deletes memberships (D32). One event per call (D35); the app drops a dry call's writes (D28). Errors (400, nothing
written): InvalidData (body), InvalidQuery (/responseContent without runRuleEngine, dry without it).
"""

from __future__ import annotations

from typing import Any

from .config import ServerConfig
from .errors import ErrorItem, InvalidData
from .events import new_event
from .profiles import merge_attributes
from .store import StoredProfile, Transaction
from .v2_query import InvalidQuery, Query
from .v2_validation import validate_profile_request

__all__ = ["V2_KEY", "load_profile", "new_profile", "save_profile", "upsert_profile_v2"]

V2_KEY = "\x1fv2/"  # prefix of v2 keys in the Store (D20)


def load_profile(tx: Transaction, integration_id: str) -> StoredProfile | None:
    """The v2 profile `integration_id` (its CustomerProfile document as `doc`), or None."""
    stored = tx.get_profile(V2_KEY + integration_id)
    return None if stored is None else StoredProfile(stored.doc["v2"], stored.had_session)


def save_profile(tx: Transaction, profile: StoredProfile) -> None:
    key = V2_KEY + profile.doc["integrationId"]
    tx.put_profile(StoredProfile({"integrationId": key, "v2": profile.doc}, profile.had_session))


def new_profile(integration_id: str, config: ServerConfig, now: str) -> StoredProfile:
    """An empty CustomerProfile; its `id` (0 here) is set from the creating event's id when saved (D20)."""
    return StoredProfile(
        doc={
            "id": 0, "created": now, "integrationId": integration_id, "attributes": {},
            "accountId": config.account_id, "closedSessions": 0, "totalSales": 0.0, "audienceMemberships": [],
            "lastActivity": now,
        },
        had_session=False,
    )


def _audiences(memberships: list[dict[str, Any]], changes: dict[str, Any] | None) -> list[dict[str, Any]]:
    """D32: add the `adds` audience ids (named "Audience <id>"), then remove the `deletes`."""
    if not changes:
        return memberships
    by_id = {m["id"]: m for m in memberships}
    for audience in changes["adds"]:
        by_id.setdefault(int(audience), {"id": int(audience), "name": f"Audience {int(audience)}"})
    for audience in changes["deletes"]:
        by_id.pop(int(audience), None)
    return list(by_id.values())


def upsert_profile_v2(
    tx: Transaction, config: ServerConfig, integration_id: str, body: Any, query: Query, now: str
) -> dict[str, Any]:
    """See module docstring."""
    errors = validate_profile_request(body)
    if errors:
        raise InvalidData(errors)
    content = body.get("responseContent") or []
    if not query.run_rule_engine:
        if query.dry:
            raise InvalidQuery("dry", "Requires runRuleEngine", "'dry' only works with runRuleEngine=true.")
        if content:
            raise InvalidData([ErrorItem("Requires runRuleEngine", "'responseContent' needs runRuleEngine=true.",
                                         pointer="/responseContent")])
    stored = load_profile(tx, integration_id)
    profile = new_profile(integration_id, config, now) if stored is None else stored
    doc = profile.doc
    doc["attributes"] = merge_attributes(doc["attributes"], body.get("attributes"))
    doc["audienceMemberships"] = _audiences(doc["audienceMemberships"], body.get("audiencesChanges"))
    if query.run_rule_engine:
        doc["lastActivity"] = now  # only calls that run the rule engine count as activity (D30)
    event = new_event(config, now, "talon_profile_created" if stored is None else "talon_profile_updated",
                      integration_id, [], None)
    event = tx.add_event(event)  # a dry call's writes are dropped by the app (D28)
    if stored is None:
        doc["id"] = event["id"]
    save_profile(tx, profile)
    answer: dict[str, Any] = {"effects": [], "createdCoupons": [], "createdReferrals": []}
    for member in content:
        if member == "customerProfile":
            answer["customerProfile"] = doc
        elif member == "event":
            answer["event"] = event
        elif member == "loyalty":
            answer["loyalty"] = {"programs": {}}
        else:  # triggeredCampaigns, awardedGiveaways, ruleFailureReasons: none without profile rules (D27)
            answer[member] = []
    return answer
