"""README's "Using the harness in your own tests" example, verbatim: tests/plugin/test_pytest_plugin.py runs it
as a user's file (no conftest), against the embedded server and against another one (--talon-base-url)."""
from hypothesis import given

from talon_harness.strategies import invalid_session_bodies, new_customer_sessions
from talon_harness.strategies.settings import load_profile

load_profile()  # "dev" unless HYPOTHESIS_PROFILE=ci|nightly; failures replay from .hypothesis/


def test_cancelling_a_closed_session_takes_it_off_the_books(talon_client):
    customer, order = talon_client.new_id("customer"), talon_client.new_id("order")
    cart = [{"name": "Tee", "sku": "T-1", "quantity": 2, "price": 15.0}]
    closed = talon_client.update_session(order, {"profileId": customer, "cartItems": cart, "total": 30.0,
                                                 "state": "closed"}).expect(200)
    assert (closed.json["profile"]["closedSessions"], closed.json["profile"]["totalSales"]) == (1, 30.0)
    cancelled = talon_client.update_session(order, {"state": "cancelled"}).expect(200)
    assert (cancelled.json["profile"]["closedSessions"], cancelled.json["profile"]["totalSales"]) == (0, 0.0)
    talon_client.update_session(order, {"state": "open"}).expect(400)  # a cancelled session stays cancelled


@given(new_customer_sessions())
def test_valid_sessions_are_accepted(talon_client, body):
    talon_client.update_session(talon_client.new_id("session"), body).expect(200)


@given(invalid_session_bodies(rules=["quantity_minimum", "session_unknown_field", "malformed_json"]))
def test_invalid_sessions_name_the_broken_member(talon_client, invalid):
    answer = talon_client.put(invalid.operation, talon_client.new_id(), invalid.body,
                              content_type=invalid.content_type)
    assert answer.status == invalid.status, invalid.breaks
    assert [e["source"]["pointer"] for e in answer.json["errors"]] == [invalid.pointer]


def test_reset_empties_the_server(talon_server, talon_client):
    talon_client.update_profile("alice").expect(200)
    talon_server.reset()  # against --talon-base-url: skipped (your server cannot be emptied from here)
    assert talon_client.update_profile("alice").json["event"]["type"] == "talon_profile_created"
