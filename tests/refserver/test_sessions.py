"""Session and profile semantics: D4-D11 (partial update, state machine, bookkeeping, profiles from
sessions, total, nulls, events, effects)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import error_sources, error_titles, profile_url, session_url

ITEM = {"name": "Shoe", "sku": "SKU-1", "quantity": 2, "price": 9.5}


def put(client: httpx.Client, session_id: str, body: Any) -> httpx.Response:
    return client.put(session_url(session_id), json=body)


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def _illegal(response: httpx.Response) -> None:
    assert response.status_code == 400
    assert error_titles(response) == ["Illegal state transition"]
    assert error_sources(response) == [{"pointer": "/state"}]


# D1 / D9 / D8: creation defaults and response shape
def test_session_created_with_defaults(client: httpx.Client, uid: str) -> None:
    state = ok(put(client, uid, {}))
    session = state["session"]
    assert session["integrationId"] == uid
    assert (session["state"], session["profileId"], session["coupon"], session["referral"]) == (
        "open",
        "",
        "",
        "",
    )
    assert (session["cartItems"], session["total"], session["attributes"], session["discounts"]) == (
        [],
        0,
        {},
        {},
    )
    assert session["firstSession"] is True and session["applicationId"] == 1
    assert session["created"].endswith("Z")
    assert state["profile"] is None  # D9: anonymous


def test_total_is_stored_as_sent_never_recomputed(client: httpx.Client, uid: str) -> None:
    session = ok(put(client, uid, {"cartItems": [ITEM], "total": 1.25}))["session"]
    assert session["total"] == 1.25
    assert ok(put(client, uid, {"cartItems": [ITEM, ITEM]}))["session"]["total"] == 1.25


# D4: partial updates
def test_omitted_and_null_keep_stored_values(client: httpx.Client, uid: str) -> None:
    ok(put(client, uid, {"coupon": "X", "total": 3, "cartItems": [ITEM], "attributes": {"a": 1, "b": 2}}))
    session = ok(put(client, uid, {"coupon": None, "total": None, "attributes": {"a": None, "c": 3}}))[
        "session"
    ]
    assert (session["coupon"], session["total"], session["cartItems"]) == ("X", 3, [ITEM])
    assert session["attributes"] == {"a": 1, "b": 2, "c": 3}


def test_cart_items_replace_the_whole_cart(client: httpx.Client, uid: str) -> None:
    ok(put(client, uid, {"cartItems": [ITEM, ITEM]}))
    other = {**ITEM, "sku": "SKU-2"}
    assert ok(put(client, uid, {"cartItems": [other]}))["session"]["cartItems"] == [other]
    assert ok(put(client, uid, {"cartItems": []}))["session"]["cartItems"] == []


def test_profile_attributes_merge_key_by_key(client: httpx.Client, uid: str) -> None:
    created = ok(client.put(profile_url(uid), json={"attributes": {"a": 1, "b": {"x": 1}, "n": None}}))
    assert created["session"] is None
    assert created["event"]["type"] == "talon_profile_created"
    assert created["profile"]["attributes"] == {"a": 1, "b": {"x": 1}}
    updated = ok(client.put(profile_url(uid), json={"attributes": {"a": None, "b": {"y": 2}, "c": 3}}))
    assert updated["event"]["type"] == "talon_profile_updated"
    assert updated["profile"]["attributes"] == {"a": 1, "b": {"y": 2}, "c": 3}
    assert "sessionId" not in updated["event"] and updated["event"]["effects"] == []
    profile = updated["profile"]
    assert (profile["accountId"], profile["closedSessions"], profile["totalSales"]) == (1, 0, 0)
    assert profile["loyaltyMemberships"] == [] and profile["lastActivity"] >= profile["created"]


def test_empty_put_is_a_read_that_records_an_event(client: httpx.Client, uid: str) -> None:
    before = ok(put(client, uid, {"profileId": f"p-{uid}", "total": 7, "attributes": {"a": 1}}))
    after = ok(put(client, uid, {}))
    assert after["session"] == before["session"]
    assert after["event"]["id"] > before["event"]["id"]
    assert after["event"]["type"] == "talon_session_updated"
    assert after["profile"]["lastActivity"] >= before["profile"]["lastActivity"]


# D5: state machine
@pytest.mark.parametrize(
    ("target", "event"), [("closed", "talon_session_closed"), ("cancelled", "talon_session_cancelled")]
)
def test_session_state_machine_allows_leaving_open(
    client: httpx.Client, uid: str, target: str, event: str
) -> None:
    ok(put(client, uid, {}))
    state = ok(put(client, uid, {"state": target}))
    assert (state["session"]["state"], state["event"]["type"]) == (target, event)


def test_session_state_machine_allows_closed_to_cancelled(client: httpx.Client, uid: str) -> None:
    ok(put(client, uid, {"state": "closed"}))
    assert ok(put(client, uid, {"state": "cancelled"}))["event"]["type"] == "talon_session_cancelled"


@pytest.mark.parametrize(
    ("start", "target"), [("closed", "open"), ("cancelled", "open"), ("cancelled", "closed")]
)
def test_session_state_machine_rejects_illegal_moves(
    client: httpx.Client, uid: str, start: str, target: str
) -> None:
    ok(put(client, uid, {"state": start}))
    _illegal(put(client, uid, {"state": target}))
    assert ok(put(client, uid, {}))["session"]["state"] == start


@pytest.mark.parametrize("state", ["open", "closed", "cancelled"])
def test_session_state_machine_same_state_is_a_noop_retry(client: httpx.Client, uid: str, state: str) -> None:
    ok(put(client, uid, {"state": state, "total": 4}))
    retry = ok(put(client, uid, {"state": state, "total": 4}))
    assert retry["event"]["type"] == "talon_session_updated"
    assert retry["session"]["state"] == state


def test_closed_session_rejects_changes_pointing_at_first_changed_member(
    client: httpx.Client, uid: str
) -> None:
    ok(put(client, uid, {"state": "closed", "total": 10, "coupon": "A", "attributes": {"k": 1}}))
    response = put(client, uid, {"coupon": "A", "total": 11, "cartItems": [ITEM]})
    assert response.status_code == 400
    assert error_titles(response) == ["Session closed"]
    assert error_sources(response) == [{"pointer": "/total"}]
    response = put(client, uid, {"state": "cancelled", "cartItems": [ITEM]})
    assert error_sources(response) == [{"pointer": "/cartItems"}]
    response = put(client, uid, {"attributes": {"k": 1, "new": 2}})
    assert error_sources(response) == [{"pointer": "/attributes/new"}]
    # repeating stored values (numbers equal by value, nulls ignored) is an accepted no-op
    assert ok(put(client, uid, {"total": 10.0, "coupon": "A", "referral": None, "attributes": {"k": 1}}))
    assert ok(put(client, uid, {}))["session"]["total"] == 10


def test_cancelled_session_accepts_no_change(client: httpx.Client, uid: str) -> None:
    ok(put(client, uid, {"state": "cancelled", "total": 1}))
    response = put(client, uid, {"total": 2})
    assert response.status_code == 400
    assert error_sources(response) == [{"pointer": "/total"}]
    assert (
        ok(put(client, uid, {"state": "cancelled", "total": 1}))["event"]["type"] == "talon_session_updated"
    )


# D6: bookkeeping
def test_close_and_cancel_bookkeeping(client: httpx.Client, uid: str) -> None:
    pid = f"p-{uid}"
    ok(put(client, f"a-{uid}", {"profileId": pid, "total": 10}))
    profile = ok(put(client, f"a-{uid}", {"state": "closed"}))["profile"]
    assert (profile["closedSessions"], profile["totalSales"]) == (1, 10)
    profile = ok(put(client, f"a-{uid}", {"state": "closed"}))["profile"]  # retry counts nothing twice
    assert (profile["closedSessions"], profile["totalSales"]) == (1, 10)
    profile = ok(put(client, f"b-{uid}", {"profileId": pid, "total": 2.5, "state": "closed"}))[
        "profile"
    ]  # legacy
    assert (profile["closedSessions"], profile["totalSales"]) == (2, 12.5)
    profile = ok(put(client, f"a-{uid}", {"state": "cancelled"}))["profile"]
    assert (profile["closedSessions"], profile["totalSales"]) == (1, 2.5)
    profile = ok(put(client, f"c-{uid}", {"profileId": pid, "total": 99, "state": "cancelled"}))["profile"]
    assert (profile["closedSessions"], profile["totalSales"]) == (1, 2.5)
    profile = ok(put(client, f"d-{uid}", {"profileId": pid, "total": 5}))["profile"]
    profile = ok(put(client, f"d-{uid}", {"state": "cancelled"}))["profile"]  # open->cancelled: nothing
    assert (profile["closedSessions"], profile["totalSales"]) == (1, 2.5)


def test_anonymous_close_touches_no_profile(client: httpx.Client, uid: str) -> None:
    state = ok(put(client, uid, {"profileId": "", "total": 5, "state": "closed"}))
    assert state["profile"] is None and state["event"]["profileId"] == ""


def test_total_sales_overflow_is_out_of_range_and_changes_nothing(client: httpx.Client, uid: str) -> None:
    pid = f"p-{uid}"
    ok(put(client, f"a-{uid}", {"profileId": pid, "total": 1e308, "state": "closed"}))
    response = put(client, f"b-{uid}", {"profileId": pid, "total": 1e308, "state": "closed"})
    assert response.status_code == 400
    assert error_titles(response) == ["Out of range"]
    assert error_sources(response) == [{"pointer": "/total"}]
    profile = ok(client.put(profile_url(pid), json={}))["profile"]
    assert (profile["closedSessions"], profile["totalSales"]) == (1, 1e308)
    assert ok(put(client, f"b-{uid}", {}))["event"]["type"] == "talon_session_created"


# D7: profiles from sessions, firstSession
def test_unknown_profile_is_created_and_first_session_decided_once(client: httpx.Client, uid: str) -> None:
    pid = f"p-{uid}"
    first = ok(put(client, f"a-{uid}", {"profileId": pid}))
    assert first["session"]["firstSession"] is True
    assert first["profile"]["integrationId"] == pid and first["profile"]["attributes"] == {}
    second = ok(put(client, f"b-{uid}", {"profileId": pid}))
    assert second["session"]["firstSession"] is False
    assert ok(put(client, f"a-{uid}", {}))["session"]["firstSession"] is True
    assert ok(client.put(profile_url(pid), json={}))["event"]["type"] == "talon_profile_updated"


def test_guest_logs_in_while_open(client: httpx.Client, uid: str) -> None:
    ok(put(client, uid, {"total": 4}))
    state = ok(put(client, uid, {"profileId": f"p-{uid}"}))
    assert state["session"]["profileId"] == f"p-{uid}"
    assert state["session"]["firstSession"] is True
    assert state["profile"]["integrationId"] == f"p-{uid}"
    assert state["event"]["profileId"] == f"p-{uid}"


def test_existing_profile_with_no_session_gets_first_session(client: httpx.Client, uid: str) -> None:
    ok(client.put(profile_url(f"p-{uid}"), json={"attributes": {"tier": "gold"}}))
    state = ok(put(client, uid, {"profileId": f"p-{uid}"}))
    assert state["session"]["firstSession"] is True
    assert state["profile"]["attributes"] == {"tier": "gold"}


# D10: events
def test_event_fields_and_increasing_ids(client: httpx.Client, uid: str) -> None:
    ids = []
    for body in ({"profileId": f"p-{uid}"}, {}, {"state": "closed"}, {"state": "cancelled"}):
        event = ok(put(client, uid, body))["event"]
        ids.append(event["id"])
        assert event["sessionId"] == uid and event["profileId"] == f"p-{uid}"
        assert event["applicationId"] == 1 and event["attributes"] == {} and event["ledgerEntries"] == []
        assert event["created"].endswith("Z")
    assert ids == sorted(set(ids))


# D11: effects
def test_known_coupon_and_referral_give_effects_and_discounts(client: httpx.Client, uid: str) -> None:
    state = ok(put(client, uid, {"coupon": "SUMMER10", "referral": "FRIEND-ALICE"}))
    assert state["event"]["effects"] == [
        [1, 1, 0, ["acceptCoupon", "SUMMER10"]],
        [1, 1, 0, ["setDiscount", "Summer sale", 10.0]],
        [4, 4, 0, ["acceptReferral", "FRIEND-ALICE"]],
        [4, 4, 0, ["setDiscount", "Referral bonus", 7.5]],
    ]
    assert state["session"]["discounts"] == {"Summer sale": 10.0, "Referral bonus": 7.5}
    again = ok(put(client, uid, {}))  # evaluated on every accepted call
    assert again["event"]["effects"] == state["event"]["effects"]


def test_unknown_codes_are_rejected(client: httpx.Client, uid: str) -> None:
    state = ok(put(client, uid, {"coupon": "NOPE", "referral": "NOBODY"}))
    assert state["event"]["effects"] == [
        [0, 0, 0, ["rejectCoupon", "NOPE"]],
        [0, 0, 0, ["rejectReferral", "NOBODY"]],
    ]
    assert state["session"]["discounts"] == {}
    state = ok(put(client, uid, {"coupon": "VIP25", "referral": ""}))
    assert state["event"]["effects"] == [
        [3, 3, 0, ["acceptCoupon", "VIP25"]],
        [3, 3, 0, ["setDiscount", "VIP discount", 25.0]],
    ]
    assert state["session"]["discounts"] == {"VIP discount": 25.0}


def test_writes_to_one_session_do_not_touch_another(client: httpx.Client, uid: str) -> None:
    ok(put(client, f"a-{uid}", {"total": 1, "attributes": {"x": 1}}))
    ok(put(client, f"b-{uid}", {"total": 2, "attributes": {"x": 2}, "state": "closed"}))
    assert ok(put(client, f"a-{uid}", {}))["session"]["total"] == 1
    assert ok(put(client, f"a-{uid}", {}))["session"]["state"] == "open"
