"""contracts.oracle: what is compared (normalise), event ids by order, differing paths, the entity closure
and when a comparison applies. Pure functions and the runtime's bookkeeping; no server needed."""

from __future__ import annotations

from typing import Any

from talon_harness.contracts.oracle import (
    BY_KIND,
    Answer,
    OracleRuntime,
    Step,
    differences,
    entity_closure,
    event_order,
    kind_of,
    normalise,
    touched,
)

SESSION_ANSWER: dict[str, Any] = {
    "session": {"integrationId": "s1", "created": "2026-01-01T00:00:00Z", "applicationId": 7, "profileId": "p1",
                "state": "open", "total": 10, "cartItems": [{"sku": "A", "price": 10}], "attributes": {},
                "firstSession": True, "coupon": "", "referral": "", "discounts": {}},
    "profile": {"integrationId": "p1", "created": "2026-01-01T00:00:00Z", "accountId": 3, "attributes": {"a": 1},
                "closedSessions": 0, "totalSales": 0, "loyaltyMemberships": [], "lastActivity": "2026-01-01T00:00:00Z"},
    "event": {"id": 41, "created": "2026-01-01T00:00:00Z", "applicationId": 7, "profileId": "p1", "sessionId": "s1",
              "type": "talon_session_created", "attributes": {}, "effects": [], "ledgerEntries": []},
}


def test_normalise_keeps_every_field_times_and_tenant_ids_by_kind_and_drops_the_event_id() -> None:
    flat = normalise(200, "application/json; charset=utf-8", SESSION_ANSWER)
    assert flat["status"] == 200 and flat["content-type"] == "application/json"
    assert flat["session.cartItems.0.price"] == 10 and flat["profile.attributes.a"] == 1
    assert flat["session.discounts"] == {} and flat["event.type"] == "talon_session_created"
    assert {k: flat[k] for k in BY_KIND if not k.startswith("customer")} == {  # v2 members: test_oracle_v2
        "session.created": "timestamp", "session.applicationId": "integer", "profile.created": "timestamp",
        "profile.accountId": "integer", "profile.lastActivity": "timestamp", "event.created": "timestamp",
        "event.applicationId": "integer"}
    assert "event.id" not in flat  # compared by order (event_order)
    assert "session.firstSession" not in normalise(200, "application/json", SESSION_ANSWER, ("firstSession",))
    assert not any(k.startswith("profile") for k in normalise(200, "application/json", SESSION_ANSWER, ("profile",)))


_ABSENT = object()


def _changed_session(**members: Any) -> dict[str, Any]:
    session = {k: v for k, v in {**SESSION_ANSWER["session"], **members}.items() if v is not _ABSENT}
    return {**SESSION_ANSWER, "session": session}


def test_normalise_sees_a_missing_or_mistyped_timestamp_but_not_another_time_or_tenant() -> None:
    reference = normalise(200, "application/json", SESSION_ANSWER)
    other_time = _changed_session(created="2027-05-06T07:08:09.123456+02:00", applicationId=99)
    assert differences(normalise(200, "application/json", other_time), reference) == []
    missing = normalise(200, "application/json", _changed_session(created=_ABSENT))
    assert differences(missing, reference) == ["session.created"] and "session.created" not in missing
    for wrong, label in [("2026-01-01", "not a timestamp: '2026-01-01'"), (1767225600, "not a timestamp: 1767225600"),
                         ("2026-13-01T00:00:00Z", "not a timestamp: '2026-13-01T00:00:00Z'")]:
        flat = normalise(200, "application/json", _changed_session(created=wrong))
        assert differences(flat, reference) == ["session.created"] and flat["session.created"] == label
    flat = normalise(200, "application/json", _changed_session(applicationId="7"))
    assert differences(flat, reference) == ["session.applicationId"]
    assert flat["session.applicationId"] == "not an integer: '7'"
    assert kind_of("integer", True) == "not an integer: True"


def test_normalise_compares_error_pointers_and_titles_not_messages() -> None:
    a = {"message": "one text", "errors": [{"title": "Required", "source": {"pointer": "/b"}},
                                           {"title": "Invalid type", "source": {"pointer": "/a"}}]}
    b = {"message": "another text", "errors": [{"title": "Invalid type", "source": {"pointer": "/a"}},
                                               {"title": "Required", "source": {"pointer": "/b"}}]}
    assert normalise(400, "application/json", a) == normalise(400, "application/json", b)
    assert normalise(400, "application/json", a)["errors"] == [["/a", "Invalid type"], ["/b", "Required"]]
    c = {"message": "x", "errors": [{"title": "Required", "source": {"parameter": "Authorization"}}]}
    assert normalise(401, "application/json", c)["errors"] == [["parameter:Authorization", "Required"]]


def test_event_ids_are_compared_by_order() -> None:
    assert event_order(200, SESSION_ANSWER, None) == ("increasing", 41)
    assert event_order(200, SESSION_ANSWER, 40) == ("increasing", 41)
    assert event_order(200, SESSION_ANSWER, 41) == ("not increasing: 41 after 41", 41)
    assert event_order(400, {"errors": []}, 41) == (None, 41)
    assert event_order(200, {"event": {"id": "42"}}, 41) == ("not an integer: '42'", 41)


def test_differences_lists_the_paths_that_differ() -> None:
    assert differences({"a": 1, "b": True}, {"a": 1.0, "b": True}) == []
    assert differences({"a": 1, "b": True, "c": 0}, {"a": 2, "b": 1, "d": 0}) == ["a", "b", "c", "d"]


def _step(seq: int, *entities: tuple[str, str]) -> Step:
    return Step(seq, "PUT", f"/v1/x/{seq}", "application/json", b"{}", frozenset(entities))


def test_entity_closure_follows_profiles_transitively() -> None:
    s1, s2, p1, other = ("session", "s1"), ("session", "s2"), ("profile", "p1"), ("session", "zz")
    steps = [_step(1, s2, p1), _step(2, other), _step(3, s1), _step(4, s1, p1), _step(5, s2), _step(6, s1)]
    # s2 joins through p1 (step 1); its later step 5 cannot affect s1 or p1, nor can zz
    assert [s.seq for s in entity_closure(steps, 5)] == [1, 3, 4, 6]
    assert [s.seq for s in entity_closure(steps, 1)] == [2]


def test_touched_names_the_path_entity_and_every_profile_it_is_put_on() -> None:
    answer = Answer(200, "application/json", {"session": {"profileId": "p2"}})
    got = touched("PUT", "http://h/v1/customer_sessions/s%201", b'{"profileId": "p1"}', (answer, None))
    assert got == frozenset({("session", "s 1"), ("profile", "p1"), ("profile", "p2")})


def _answer(event_type: str, total: int) -> Answer:
    body = {**SESSION_ANSWER, "event": {**SESSION_ANSWER["event"], "type": event_type},
            "session": {**SESSION_ANSWER["session"], "total": total}}
    return Answer(200, "application/json", body)


def test_an_entity_with_older_data_on_the_target_is_not_applicable_until_created_in_both() -> None:
    runtime = OracleRuntime(url="http://unused", fresh=False)
    step = Step(1, "PUT", "/v1/customer_sessions/s1", "application/json", b"{}", frozenset())
    # the target knew s1 already (updated), the oracle created it: not comparable, whatever the fields say
    assert runtime.compare(step, _answer("talon_session_updated", 5), _answer("talon_session_created", 10)) is None
    step2 = Step(2, "PUT", "/v1/customer_sessions/s2", "application/json", b"{}", frozenset())
    paths, _, _ = runtime.compare(step2, _answer("talon_session_created", 5), _answer("talon_session_created", 10))
    # created on both: compared from here on; its profile p1 was never created in both, so left out
    assert paths == ["session.total"]
    fresh = OracleRuntime(url="http://unused", fresh=True)
    paths, _, _ = fresh.compare(step, _answer("talon_session_updated", 5), _answer("talon_session_created", 5))
    assert paths == ["event.type"]
