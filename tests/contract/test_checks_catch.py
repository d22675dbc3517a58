"""Each domain check catches its fault: a broken server (an ASGI wrapper around the reference app that lies
on one flagged response) makes exactly that check fail, and the same journey against the correct server
fails no check."""

from __future__ import annotations

import copy
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from talon_harness.contracts.apis import domain_checks
from talon_harness.strategies.types import Invalid
from talon_harness.strategies.wire import SESSION
from tests.contract.driver import Driver, Flagged, running


def _uid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def _edit(path: str, value: Any) -> Callable[[Flagged], tuple[int, Any]]:
    """A mutation setting ``response[a][b]`` (dotted path) to ``value`` (a callable gets the old value)."""

    def mutate(flagged: Flagged) -> tuple[int, Any]:
        body = copy.deepcopy(flagged.response)
        *parents, last = path.split(".")
        node = body
        for key in parents:
            node = node[key]
        node[last] = value(node.get(last)) if callable(value) else value
        return flagged.status, body

    return mutate


def _chain(*mutations: Callable[[Flagged], tuple[int, Any]]) -> Callable[[Flagged], tuple[int, Any]]:
    def mutate(flagged: Flagged) -> tuple[int, Any]:
        status, body = flagged.status, flagged.response
        for m in mutations:
            status, body = m(Flagged(flagged.path, flagged.body, status, body, flagged.history))
        return status, body

    return mutate


def _accept_reopen(flagged: Flagged) -> tuple[int, Any]:
    """Answer an illegal cancelled->open with 200, as if the server had reopened the session."""
    body = copy.deepcopy(flagged.history[flagged.path])
    body["session"]["state"] = "open"
    body["event"]["id"] = max(i for i in flagged.history["event_ids"] if isinstance(i, int)) + 1000
    body["event"]["type"] = "talon_session_updated"
    return 200, body


def _drop_accept_coupon(flagged: Flagged) -> tuple[int, Any]:
    body = copy.deepcopy(flagged.response)
    body["event"]["effects"] = [e for e in body["event"]["effects"] if e[3][0] != "acceptCoupon"]
    return 200, body


def _point_nowhere(flagged: Flagged) -> tuple[int, Any]:
    body = copy.deepcopy(flagged.response)
    body["errors"][0]["source"] = {"pointer": "/cartItems/7/sku"}
    return flagged.status, body


def _refuse_for_state(flagged: Flagged) -> tuple[int, Any]:
    """Keep the 400 and its pointer but give a state reason: validation ran after the state rules."""
    body = copy.deepcopy(flagged.response)
    body["errors"][0]["title"] = "Session closed"
    return flagged.status, body


@dataclass(frozen=True)
class Fault:
    """A lie told on the last (flagged) call of ``journey``, and the one check that must notice it."""

    check: str
    mutation: Callable[[Flagged], tuple[int, Any]]
    journey: Callable[[Driver, bool], None]
    then_next: bool = False


def _path_id(d: Driver, flag: bool) -> None:
    d.put("session", _uid("s"), {"profileId": _uid("p")}, flagged=flag)


def _state(d: Driver, flag: bool) -> None:
    d.put("session", _uid("anon"), {"profileId": ""}, flagged=flag)


def _illegal(d: Driver, flag: bool) -> None:
    s = _uid("s")
    d.put("session", s, {"profileId": "", "state": "cancelled"})
    assert d.put("session", s, {"state": "open"}, flagged=flag) == (200 if flag else 400)


def _retry(d: Driver, flag: bool) -> None:
    s, p = _uid("s"), _uid("p")
    d.put("session", s, {"profileId": p, "state": "closed", "total": 10})
    d.put("session", s, {"state": "closed"}, flagged=flag)


def _merge(d: Driver, flag: bool) -> None:
    p = _uid("p")
    d.put("profile", p, {"attributes": {"a": 1}})
    d.put("profile", p, {"attributes": {"b": 2}}, flagged=flag)


def _failed(d: Driver, flag: bool) -> None:
    s = _uid("s")
    d.put("session", s, {"profileId": _uid("p"), "total": 5})
    assert d.put("session", s, {"total": "abc"}, flagged=flag) == 400


def _first_session(d: Driver, flag: bool) -> None:
    p = _uid("p")
    d.put("session", _uid("s"), {"profileId": p})
    d.put("session", _uid("s"), {"profileId": p}, flagged=flag)


def _bookkeeping(d: Driver, flag: bool) -> None:
    s = _uid("s")
    d.put("session", s, {"profileId": _uid("p"), "total": 20})
    d.put("session", s, {"state": "closed"}, flagged=flag)


def _event_id(d: Driver, flag: bool) -> None:
    p = _uid("p")
    d.put("profile", p, {})
    d.put("profile", p, {}, flagged=flag)


def _event_type(d: Driver, flag: bool) -> None:
    s = _uid("s")
    d.put("session", s, {"profileId": _uid("p")})
    d.put("session", s, {"state": "cancelled"}, flagged=flag)


def _coupon(d: Driver, flag: bool) -> None:
    d.put("session", _uid("s"), {"profileId": _uid("p"), "coupon": "SUMMER10"}, flagged=flag)


def _bad_item(d: Driver, flag: bool) -> None:
    assert d.put("session", _uid("s"), {"cartItems": [{"name": "x"}]}, flagged=flag) == 400


def _tagged_invalid(d: Driver, flag: bool) -> None:
    body = {"cartItems": [{"name": "n", "sku": "s", "quantity": 0, "price": 1.0}]}
    tag = Invalid(body, "quantity_minimum", "/cartItems/0/quantity", operation=SESSION)
    assert d.put("session", _uid("s"), body, flagged=flag, invalid=tag) == 400


FAULTS: tuple[Fault, ...] = (
    Fault("path_id_echoed", _chain(_edit("session.integrationId", "someone-else"),
                                   _edit("event.sessionId", "someone-else")), _path_id),
    Fault("session_state_machine", _edit("session.state", "closed"), _state),
    Fault("illegal_transition_rejected", _accept_reopen, _illegal),
    Fault("retry_counts_nothing_twice", _chain(_edit("event.type", "talon_session_closed"),
                                               _edit("profile.closedSessions", lambda n: n + 1),
                                               _edit("profile.totalSales", lambda t: t + 10)), _retry),
    Fault("attributes_merge", _edit("profile.attributes", {"b": 2}), _merge),
    Fault("failed_request_changes_nothing", _edit("session.total", 999), _failed, then_next=True),
    Fault("first_session_and_profile_autocreation", _edit("session.firstSession", True), _first_session),
    Fault("closed_sessions_bookkeeping", _chain(_edit("profile.closedSessions", 0), _edit("profile.totalSales", 0)),
          _bookkeeping),
    Fault("event_id_strictly_increasing", lambda f: _edit("event.id", f.history["event_ids"][-2])(f), _event_id),
    Fault("event_type", _edit("event.type", "talon_session_updated"), _event_type),
    Fault("effects_well_formed", _drop_accept_coupon, _coupon),
    Fault("discounts_reflect_effects", _edit("session.discounts", {}), _coupon),
    Fault("session_fields_stored", _edit("session.total", 7.5), _coupon),
    Fault("error_response_pointer", _point_nowhere, _bad_item),
    Fault("invalid_body_rejected", _refuse_for_state, _tagged_invalid),
)


def test_every_v1_domain_check_has_a_fault() -> None:
    assert sorted(f.check for f in FAULTS) == sorted(domain_checks("v1"))


@pytest.mark.parametrize("fault", FAULTS, ids=lambda f: f.check)
def test_check_catches_its_fault(fault: Fault) -> None:
    with running(fault.mutation, then_next=fault.then_next) as driver:
        fault.journey(driver, True)
    assert driver.failed_checks == {fault.check}, driver.failures
    message = next(m for name, m in driver.failures if name == fault.check)
    assert f"[{fault.check}]" in message and "sent:" in message and "expected:" in message and "received:" in message


def test_domain_checks_no_false_positive_on_correct_server() -> None:
    with running() as driver:
        for fault in FAULTS:
            fault.journey(driver, False)
    assert driver.failures == []
