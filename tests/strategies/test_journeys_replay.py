"""Journeys replayed against the reference server end in the state the journey predicts."""

from __future__ import annotations

import itertools
import random
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from talon_harness.strategies import JOURNEY_KINDS, PROFILE, SESSION, Journey, build_journey, session_journeys

_RUN = uuid.uuid4().hex[:8]  # the server's database may outlive one run
_tokens = itertools.count()
#: A new prefix on every draw, so replays and shrinks never meet entities of an earlier example.
FRESH_PREFIXES = st.builds(lambda: f"jr{_RUN}-{next(_tokens)}")


def _replay(journey: Journey, send) -> None:
    for number, call in enumerate(journey.calls):
        response = send(call.operation, call.entity_id, call.body)
        evidence = f"{journey.kind} call {number} {call.step} {call.entity_id} {call.body!r:.200}"
        assert response.status_code == call.expect_status, (
            f"{evidence} -> {response.status_code} {response.text[:300]}"
        )
        if call.expect_pointer is not None:
            pointers = [e["source"].get("pointer") for e in response.json()["errors"]]
            assert pointers == [call.expect_pointer], f"{evidence} -> {pointers}"


def _assert_outcome(journey: Journey, send) -> None:
    """Reads every entity back with ``{}`` (a no-op PUT, D4) and compares it with the prediction."""
    for session_id, expected in journey.expected.sessions.items():
        session = send(SESSION, session_id, {}).json()["session"]
        actual = (
            session["state"],
            session["cartItems"],
            session["total"],
            session["firstSession"],
            session["profileId"],
            session["coupon"],
            session["referral"],
            session["discounts"],
            session["attributes"],
        )
        predicted = (
            expected.state,
            list(expected.cart_items),
            expected.total,
            expected.first_session,
            expected.profile_id,
            expected.coupon,
            expected.referral,
            dict(expected.discounts),
            dict(expected.attributes),
        )
        assert actual == predicted, f"{journey.kind} session {session_id}"
    for profile_id, expected in journey.expected.profiles.items():
        profile = send(PROFILE, profile_id, {}).json()["profile"]
        assert profile["closedSessions"] == expected.closed_sessions, f"{journey.kind} profile {profile_id}"
        assert profile["totalSales"] == pytest.approx(expected.total_sales), (
            f"{journey.kind} profile {profile_id}"
        )
        assert profile["attributes"] == dict(expected.attributes), f"{journey.kind} profile {profile_id}"


def test_session_journeys_end_in_predicted_state(send) -> None:
    @given(session_journeys(id_prefixes=FRESH_PREFIXES))
    def check(journey: Journey) -> None:
        _replay(journey, send)
        _assert_outcome(journey, send)

    check()


@pytest.mark.parametrize("kind", JOURNEY_KINDS)
def test_build_journey_of_each_kind_ends_in_predicted_state(kind: str, send) -> None:
    """Plain-random journeys (what Locust runs), every kind at least once, several seeds."""
    for seed in range(3):
        journey = build_journey(kind, random.Random(seed), id_prefix=f"bj{_RUN}-{next(_tokens)}-{kind}")
        _replay(journey, send)
        _assert_outcome(journey, send)
