"""What the differential oracle (``contracts.oracle``, ``check --api v2 --oracle``) needs to know of v2 answers.

A v2 answer is compared as a v1 one is (``oracle.normalise`` flattens every top-level member of a v2 answer:
``customerSession``, ``customerProfile``, ``event``, ``effects`` and the other ``responseContent`` members),
with these v2 specifics:

- :data:`V2_BY_KIND`: the members two correct servers fill differently (times, integer ids that D20 takes
  from the event counter, tenant ids), compared by presence and kind, not value;
- :data:`V2_EFFECT_FIELDS`: the members that depend on the campaigns configured, compared only when both
  servers run the same rule set (``oracle_effects``), as v1's ``EFFECT_FIELDS``;
- :func:`dry`: a dry call (D17, D28), whose event id does not advance the order event ids are compared by;
- :func:`entity`: the v2 entity a path names (kept apart from v1's: D20), :func:`created`: an answer that shows
  the call created its entity (a session's first ``updateCount``, D31, or a creation event, D35), from which
  on an entity of a target that did not start empty is compared; :func:`touched`: the entities a v2 request
  names (its path entity and the profile it sends or is answered with), for the replayable sequence.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from talon_harness.strategies.wire import SESSION_V2, V2_PATH_PREFIXES, operation_of_path

__all__ = ["V2_BY_KIND", "V2_EFFECT_FIELDS", "created", "dry", "entity", "touched", "unseen_profile"]

V2_BY_KIND: dict[str, str] = {
    "customerSession.id": "integer", "customerSession.created": "timestamp", "customerSession.updated": "timestamp",
    "customerSession.applicationId": "integer", "customerProfile.id": "integer",
    "customerProfile.created": "timestamp", "customerProfile.lastActivity": "timestamp",
    "customerProfile.accountId": "integer"}
#: ``referral`` (an answer member too) is left out: a bare name excludes that segment anywhere (``oracle.excluded``)
#: and v1 sessions have a ``referral`` member of their own.
V2_EFFECT_FIELDS: tuple[str, ...] = ("effects", "coupons", "triggeredCampaigns", "createdCoupons",
                                     "createdReferrals", "loyalty", "awardedGiveaways", "ruleFailureReasons")
_CREATED_EVENTS = frozenset({"talon_session_created", "talon_profile_created"})


def entity(path: str) -> tuple[str, str] | None:
    """``("v2session" | "v2profile", id)`` of a v2 path (a raw path or URL), else None (v1, an extra segment)."""
    raw_path = urlsplit(path).path
    op = operation_of_path(raw_path, api="v2")
    if op is None:
        return None
    raw = raw_path[raw_path.find(V2_PATH_PREFIXES[op]) + len(V2_PATH_PREFIXES[op]):]
    try:
        entity_id = unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return None
    return None if "/" in raw or not entity_id else ("v2session" if op == SESSION_V2 else "v2profile", entity_id)


def dry(path: str) -> bool:
    """The request asked for a dry run (``dry=true`` in any letter case): D17 and D28 hand its answer's event id
    out again, so the ids after it are compared with the id before it."""
    pairs = parse_qsl(urlsplit(path).query, keep_blank_values=True)
    return any(name == "dry" and value.lower() == "true" for name, value in pairs)


def _member(body: Any, name: str) -> dict[str, Any]:
    found = body.get(name) if isinstance(body, dict) else None
    return found if isinstance(found, dict) else {}


def created(status: int, body: Any) -> bool:
    """The accepted answer shows that its call created the entity: a creation event or ``updateCount`` 1."""
    return 200 <= status < 300 and (_member(body, "event").get("type") in _CREATED_EVENTS
                                    or _member(body, "customerSession").get("updateCount") == 1)


def unseen_profile(body: Any, comparable: set[tuple[str, str]]) -> tuple[str, ...]:
    """The members of a session answer ``body`` not to compare while its profile is not comparable (it may
    hold older data on the target): the profile and ``firstSession``."""
    profile = _member(body, "customerSession").get("profileId")
    return ("customerProfile", "firstSession") if profile and ("v2profile", profile) not in comparable else ()


def touched(path: str, body: bytes, answers: tuple[Any, ...]) -> frozenset[tuple[str, str]]:
    """The v2 entities a request names: its path entity, the ``profileId`` it sends and the profiles the answer
    bodies ``answers`` put its session on."""
    named = entity(path)
    if named is None:
        return frozenset()
    found = {named}
    if named[0] == "v2session":
        try:
            sent = json.loads(body) if body.strip() else {}
        except (ValueError, RecursionError):
            sent = {}
        pids = [_member(sent, "customerSession").get("profileId")]
        pids += [_member(answer, "customerSession").get("profileId") for answer in answers]
        found.update(("v2profile", p) for p in pids if isinstance(p, str) and p)
    return frozenset(found)
