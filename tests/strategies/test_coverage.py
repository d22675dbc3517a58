"""Over 500 examples, every optional field (set and null), enum value, invalid-rule tag and journey
kind is produced at least once. Counted, not assumed; the ``ci`` profile is derandomized."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from typing import Any

from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from talon_harness.strategies import (
    CART_ITEM_OPTIONAL_FIELDS,
    INVALID_RULES,
    JOURNEY_KINDS,
    PROFILE_RULES,
    SESSION_FIELDS,
    SESSION_RULES,
    SESSION_STATES,
    cart_items,
    invalid_profile_bodies,
    invalid_session_bodies,
    new_customer_profiles,
    new_customer_sessions,
    session_journeys,
)

EXAMPLES = 500


def _count(strategy: st.SearchStrategy[Any], features: Callable[[Any], list[str]]) -> Counter[str]:
    seen: Counter[str] = Counter()

    @settings(max_examples=EXAMPLES, phases=[Phase.generate], database=None)
    @given(strategy)
    def record(value: Any) -> None:
        seen.update(features(value))

    record()
    return seen


def _presence(body: dict[str, Any], prefix: str = "") -> list[str]:
    return [f"{prefix}{key}={'null' if value is None else 'set'}" for key, value in body.items()]


def _missing(seen: Counter[str], wanted: list[str]) -> list[str]:
    return [feature for feature in wanted if not seen[feature]]


def test_new_customer_sessions_cover_every_field_null_and_state() -> None:
    def features(body: dict[str, Any]) -> list[str]:
        found = _presence(body)
        if body.get("state") is not None:
            found.append(f"state:{body['state']}")
        if body.get("profileId") == "":
            found.append("profileId:anonymous")
        return found

    seen = _count(new_customer_sessions(), features)
    wanted = [f"{f}={v}" for f in SESSION_FIELDS for v in ("set", "null")]
    wanted += [f"state:{s}" for s in SESSION_STATES] + ["profileId:anonymous"]
    assert not _missing(seen, wanted), (_missing(seen, wanted), seen)


def test_cart_items_cover_every_optional_field_and_adjustment_field() -> None:
    def features(item: dict[str, Any]) -> list[str]:
        found = _presence(item)
        if isinstance(item.get("adjustment"), dict):
            found += _presence(item["adjustment"], "adjustment.")
        return found

    seen = _count(cart_items(), features)
    wanted = [f"{f}={v}" for f in CART_ITEM_OPTIONAL_FIELDS for v in ("set", "null")]
    wanted += ["adjustment.remainingPrice=set", "adjustment.remainingPrice=null"]
    assert not _missing(seen, wanted), (_missing(seen, wanted), seen)


def test_new_customer_profiles_cover_attributes_set_null_and_omitted() -> None:
    seen = _count(new_customer_profiles(), lambda body: _presence(body) or ["empty"])
    wanted = ["attributes=set", "attributes=null", "empty"]
    assert not _missing(seen, wanted), (_missing(seen, wanted), seen)


def test_invalid_bodies_cover_every_rule_tag_for_both_operations() -> None:
    sessions = _count(invalid_session_bodies(), lambda invalid: [invalid.breaks])
    profiles = _count(invalid_profile_bodies(), lambda invalid: [invalid.breaks])
    assert not _missing(sessions, list(SESSION_RULES)), sessions
    assert not _missing(profiles, list(PROFILE_RULES)), profiles
    assert set(sessions) | set(profiles) == set(INVALID_RULES)


def test_session_journeys_cover_every_kind_and_error_call() -> None:
    def features(journey: Any) -> list[str]:
        found = [f"kind:{journey.kind}"]
        found += [f"status:{call.expect_status}" for call in journey.calls]
        return found

    seen = _count(session_journeys(), features)
    wanted = [f"kind:{kind}" for kind in JOURNEY_KINDS] + ["status:200", "status:400"]
    assert not _missing(seen, wanted), (_missing(seen, wanted), seen)
