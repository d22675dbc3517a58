"""The v2 upserts driven through Talon.One's official Python SDK (talon-one-sdk 26.2, `IntegrationApi`) against
the reference server over real HTTP on loopback. Every answer is parsed by the SDK into its own strict
pydantic models (a refused answer raises in the SDK); error bodies must parse into its error models.
Decisions checked: D20-D35 (cited per test)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
import talon_one
from talon_one import models as m
from talon_one.api.integration_api import IntegrationApi
from talon_one.exceptions import ApiException, BadRequestException, UnauthorizedException

from talon_harness.refserver import ServerProcess
from tests.ports import free_port

API_KEY = "v2-sdk-test-key"
ALL_SESSION_CONTENT = [
    "customerSession", "customerProfile", "coupons", "triggeredCampaigns", "referral", "loyalty", "event",
    "awardedGiveaways", "ruleFailureReasons", "previousReturns",
]
REQUIRED = {"effects", "createdCoupons", "createdReferrals"}


def sdk(server: ServerProcess, key: str = API_KEY) -> IntegrationApi:
    """The official client configured as its README says (ApiKey-v1 prefix), pointed at `server`."""
    config = talon_one.Configuration(
        host=server.base_url, api_key={"api_key_v1": key}, api_key_prefix={"api_key_v1": "ApiKey-v1"}
    )
    return IntegrationApi(talon_one.ApiClient(config))


@pytest.fixture(scope="module")
def server() -> Iterator[ServerProcess]:
    with ServerProcess(api_key=API_KEY, quiet=True) as proc:
        yield proc


@pytest.fixture(scope="module")
def api(server: ServerProcess) -> IntegrationApi:
    return sdk(server)


@pytest.fixture
def uid() -> str:
    return uuid.uuid4().hex[:12]


def session_body(content: list[str] | None = None, **fields: Any) -> m.IntegrationRequest:
    return m.IntegrationRequest(customer_session=m.NewCustomerSessionV2(**fields), response_content=content)


def stored_v2(server: ServerProcess, table: str, integration_id: str) -> dict[str, Any] | None:
    """The v2 document as committed in the server's SQLite file (D20 key prefix), or None."""
    with sqlite3.connect(server.db) as db:
        row = db.execute(f"SELECT doc FROM {table} WHERE integration_id = ?", ("\x1fv2/" + integration_id,)).fetchone()
    return None if row is None else json.loads(row[0])["v2"]


def event_count(server: ServerProcess) -> int:
    with sqlite3.connect(server.db) as db:
        return int(db.execute("SELECT COUNT(*) FROM events").fetchone()[0])


def effect_summary(effects: list[m.Effect]) -> list[tuple[str, dict[str, Any]]]:
    return [(e.effect_type, e.props) for e in effects]


def bad_request(call: Any) -> tuple[ApiException, list[dict[str, Any]]]:
    """Run `call`, expecting a 400; the body's error sources."""
    with pytest.raises(BadRequestException) as caught:
        call()
    assert caught.value.status == 400
    return caught.value, [e["source"] for e in json.loads(caught.value.body)["errors"]]


# -- a realistic journey ------------------------------------------------------------------------------------


def test_open_close_cancel_journey_round_trips_and_books_the_profile(api: IntegrationApi, uid: str) -> None:
    """D21 merge and round trip, D25 effects, D31 totals, D32 bookkeeping, D26 rollbacks, D35 events."""
    sid, pid = f"s-{uid}", f"p-{uid}"
    items = [m.CartItem(name="Shoe", sku="SKU-1", quantity=2, price=30.5, attributes={"size": 42}),
             m.CartItem(name="Sock", sku="SKU-2", quantity=1, price=4.0,
                        additional_costs={"giftWrap": m.AdditionalCost(price=1.5)})]
    created = api.update_customer_session_v2(sid, session_body(
        ["customerSession", "customerProfile", "event"], profile_id=pid, coupon_codes=["SUMMER10", "NOPE"],
        referral_code="FRIEND-ALICE", cart_items=items, additional_costs={"shipping": m.AdditionalCost(price=4.9)},
        identifiers=["ip-1"], attributes={"city": "Berlin"}, store_integration_id="store-1"))
    session = created.customer_session
    assert isinstance(created, m.IntegrationStateV2) and session is not None
    assert (session.integration_id, session.profile_id, session.state) == (sid, pid, "open")
    assert session.coupon_codes == ["SUMMER10", "NOPE"] and session.referral_code == "FRIEND-ALICE"
    assert [(i.sku, i.quantity, i.price, i.name, i.attributes, i.position) for i in session.cart_items] == [
        ("SKU-1", 2, 30.5, "Shoe", {"size": 42}, 0), ("SKU-2", 1, 4.0, "Sock", None, 1)]
    assert session.additional_costs["shipping"].price == 4.9 and session.identifiers == ["ip-1"]
    assert (session.attributes, session.store_integration_id) == ({"city": "Berlin"}, "store-1")
    assert (session.cart_item_total, session.additional_cost_total) == (65.0, 6.4)  # D31: 1.5 x 1 + 4.9
    assert session.total == pytest.approx(71.4) and session.update_count == 1 and session.first_session is True
    assert effect_summary(created.effects) == [
        ("acceptCoupon", {"value": "SUMMER10"}), ("setDiscount", {"name": "Summer sale", "value": 10.0}),
        ("rejectCoupon", {"value": "NOPE", "rejectionReason": "CouponNotFound"}),
        ("acceptReferral", {"value": "FRIEND-ALICE"}), ("setDiscount", {"name": "Referral bonus", "value": 7.5}),
    ]
    assert created.effects[0].triggered_by_coupon == 1 and created.effects[0].campaign_id == 1
    assert created.event is not None and created.event.type == "talon_session_created"
    assert created.event.id == session.id and created.event.store_integration_id == "store-1"  # D20, D35
    assert created.customer_profile is not None and created.customer_profile.integration_id == pid

    updated = api.update_customer_session_v2(sid, session_body(["customerSession"], attributes={"floor": 2}))
    assert updated.customer_session is not None
    assert updated.customer_session.attributes == {"city": "Berlin", "floor": 2}  # D21: merged
    assert updated.customer_session.coupon_codes == ["SUMMER10", "NOPE"]  # omitted: kept
    assert updated.customer_session.update_count == 2  # D31

    closed = api.update_customer_session_v2(sid, session_body(["customerProfile", "event"], state="closed"))
    assert closed.event is not None and closed.event.type == "talon_session_closed"
    assert closed.customer_profile is not None
    assert (closed.customer_profile.closed_sessions, closed.customer_profile.total_sales) == (1, pytest.approx(71.4))

    cancelled = api.update_customer_session_v2(sid, session_body(["customerProfile", "event"], state="cancelled"))
    assert effect_summary(cancelled.effects) == [  # D26
        ("rollbackCoupon", {"value": "SUMMER10"}), ("rollbackDiscount", {"name": "Summer sale", "value": 10.0}),
        ("rollbackReferral", {"value": "FRIEND-ALICE"}),
        ("rollbackDiscount", {"name": "Referral bonus", "value": 7.5}),
    ]
    assert cancelled.event is not None and cancelled.event.type == "talon_session_cancelled"
    assert cancelled.customer_profile is not None
    assert (cancelled.customer_profile.closed_sessions, cancelled.customer_profile.total_sales) == (0, 0.0)
    again = api.update_customer_session_v2(sid, session_body(state="cancelled"))
    assert again.effects == []  # D26: nothing after the cancel


def test_every_session_field_the_sdk_sends_round_trips(api: IntegrationApi, uid: str) -> None:
    """D21: what the client sends comes back in CustomerSessionV2, value for value (position is the server's)."""
    when = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    item = m.CartItem(
        name="Kettle", sku="K-1", quantity=3, price=19.99, category="kitchen", product=m.Product(name="Kettles"),
        weight=1200.5, height=20, width=15, length=15, attributes={"color": "red", "tags": ["a", "b"]},
        additional_costs={"deposit": m.AdditionalCost(price=0.25)}, catalog_item_id=77, selected_price_type="member",
        adjustment_reference_id=uuid.UUID("12345678-1234-5678-1234-567812345678"), adjustment_effective_from=when,
        adjustment_effective_until=when + timedelta(days=1), prices={"member": m.PriceDetail(price=17.5)},
        returned_quantity=0, remaining_quantity=3,
    )
    sent = m.NewCustomerSessionV2(
        profile_id=f"p-{uid}", store_integration_id="store-9", coupon_codes=["VIP25", "WELCOME5"],
        referral_code="FRIEND-BOB", loyalty_cards=["card_0001"], state="open", cart_items=[item],
        additional_costs={"shipping": m.AdditionalCost(price=4)}, identifiers=["id-1", "id-2"],
        attributes={"channel": "web", "nested": {"x": [1, 2.5, None, True]}},
    )
    answer = api.update_customer_session_v2(f"rt-{uid}", m.IntegrationRequest(
        customer_session=sent, response_content=["customerSession"]))
    assert answer.customer_session is not None
    back = answer.customer_session.to_dict()
    for key, value in sent.to_dict().items():
        if key == "cartItems":
            assert [{k: v for k, v in i.items() if k != "position"} for i in back[key]] == value
        else:
            assert back[key] == value, key
    assert answer.customer_session.cart_items[0].position == 0
    assert answer.customer_session.cart_item_total == pytest.approx(59.97)
    assert answer.customer_session.additional_cost_total == pytest.approx(4.75)  # D31: 4 + 0.25 x 3


def test_second_session_of_a_profile_is_not_first_and_anonymous_has_no_profile(api: IntegrationApi, uid: str) -> None:
    """D32: profile auto-created, firstSession fixed at creation, anonymous sessions."""
    first = api.update_customer_session_v2(f"a-{uid}", session_body(["customerSession"], profile_id=f"p-{uid}"))
    second = api.update_customer_session_v2(f"b-{uid}", session_body(["customerSession"], profile_id=f"p-{uid}"))
    assert first.customer_session is not None and second.customer_session is not None
    assert (first.customer_session.first_session, second.customer_session.first_session) == (True, False)
    anonymous = api.update_customer_session_v2(f"c-{uid}", session_body(
        ["customerSession", "customerProfile"], profile_id=""))
    assert anonymous.customer_profile is None
    assert anonymous.customer_session is not None and anonymous.customer_session.first_session is True


@pytest.mark.parametrize("value", ALL_SESSION_CONTENT)
def test_each_response_content_value_adds_exactly_its_member(api: IntegrationApi, uid: str, value: str) -> None:
    """D27: the three required lists, plus one member per requested value, each parsed by the SDK."""
    response = api.update_customer_session_v2_with_http_info(f"rc-{uid}", session_body(
        [value], profile_id=f"p-{uid}", coupon_codes=["VIP25"], referral_code="FRIEND-BOB"))
    raw = json.loads(response.raw_data)
    assert set(raw) == REQUIRED | {value}
    assert getattr(response.data, {"customerSession": "customer_session", "customerProfile": "customer_profile",
                                   "triggeredCampaigns": "triggered_campaigns", "awardedGiveaways": "awarded_giveaways",
                                   "ruleFailureReasons": "rule_failure_reasons",
                                   "previousReturns": "previous_returns"}.get(value, value)) is not None
    if value == "coupons":
        assert [(c.id, c.campaign_id, c.value) for c in response.data.coupons] == [(3, 3, "VIP25")]
    if value == "referral":
        assert (response.data.referral.code, response.data.referral.campaign_id) == ("FRIEND-BOB", 4)
    if value == "triggeredCampaigns":
        assert [(c.id, c.name, c.features) for c in response.data.triggered_campaigns] == [
            (3, "VIP discount", ["coupons"]), (4, "Referral bonus", ["referrals"])]


def test_no_response_content_answers_only_the_required_lists(api: IntegrationApi, uid: str) -> None:
    response = api.update_customer_session_v2_with_http_info(f"n-{uid}", session_body())
    assert set(json.loads(response.raw_data)) == REQUIRED


# -- state machine ---------------------------------------------------------------------------------------------


def test_sdk_default_state_open_on_a_closed_session_is_read_as_absent(api: IntegrationApi, uid: str) -> None:
    """D23: the SDK sends state "open" on every body; on a closed session that is no reopen."""
    sid = f"d-{uid}"
    api.update_customer_session_v2(sid, session_body(attributes={"a": 1}, state="closed"))
    body = session_body(["customerSession"], attributes={"a": 1})
    assert body.customer_session.to_dict()["state"] == "open"  # what the SDK sends
    retry = api.update_customer_session_v2(sid, body)
    assert retry.customer_session is not None and retry.customer_session.state == "closed"
    error, sources = bad_request(lambda: api.update_customer_session_v2(sid, session_body(attributes={"a": 2})))
    assert sources == [{"pointer": "/customerSession/attributes/a"}]
    assert json.loads(error.body)["errors"][0]["title"] == "Session closed"
    assert isinstance(error.data, m.ErrorResponse) and error.data.message == "The submitted data was invalid"


@pytest.mark.parametrize(("first", "then"), [("cancelled", "closed"), ("closed", "partially_returned")])
def test_illegal_moves_are_400_at_state(api: IntegrationApi, uid: str, first: str, then: str) -> None:
    """D22."""
    sid = f"m-{uid}"
    if first == "cancelled":
        api.update_customer_session_v2(sid, session_body())
    api.update_customer_session_v2(sid, session_body(state=first))
    _, sources = bad_request(lambda: api.update_customer_session_v2(sid, session_body(state=then)))
    assert sources == [{"pointer": "/customerSession/state"}]


@pytest.mark.parametrize("state", ["cancelled", "partially_returned"])
def test_a_session_is_created_open_or_closed_only(api: IntegrationApi, uid: str, state: str) -> None:
    """D22."""
    _, sources = bad_request(lambda: api.update_customer_session_v2(f"c-{uid}", session_body(state=state)))
    assert sources == [{"pointer": "/customerSession/state"}]


# -- dry, now --------------------------------------------------------------------------------------------------


def test_dry_answers_as_the_write_would_and_writes_nothing(server: ServerProcess, api: IntegrationApi, uid: str) -> None:
    """D28: same answer, no session/profile/event row."""
    sid = f"dry-{uid}"
    api.update_customer_session_v2(sid, session_body(profile_id=f"p-{uid}", coupon_codes=["SUMMER10"]))
    before_events, before_doc = event_count(server), stored_v2(server, "sessions", sid)
    dry = api.update_customer_session_v2(sid, session_body(["customerSession", "event"], state="closed"), dry=True)
    assert dry.customer_session is not None and dry.customer_session.state == "closed"
    assert dry.customer_session.update_count == 2 and dry.event is not None
    assert dry.event.type == "talon_session_closed" and dry.event.id == before_events + 1
    assert effect_summary(dry.effects)[0] == ("acceptCoupon", {"value": "SUMMER10"})
    assert event_count(server) == before_events and stored_v2(server, "sessions", sid) == before_doc
    assert before_doc is not None and before_doc["state"] == "open" and before_doc["updateCount"] == 1
    new = api.update_customer_session_v2(f"new-{uid}", session_body(profile_id=f"q-{uid}"), dry=True)
    assert new.effects == []
    assert stored_v2(server, "sessions", f"new-{uid}") is None and stored_v2(server, "profiles", f"q-{uid}") is None


def test_now_stamps_the_dry_answer(api: IntegrationApi, uid: str) -> None:
    """D29: the SDK's own serialisation of an aware and of a naive datetime is accepted."""
    future = datetime(2031, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
    for when in (future, future.replace(tzinfo=None), future.astimezone(timezone(timedelta(hours=2)))):
        answer = api.update_customer_session_v2(f"now-{uid}", session_body(["customerSession", "event"]),
                                                dry=True, now=when)
        assert answer.customer_session is not None and answer.event is not None
        assert answer.customer_session.created == future and answer.customer_session.updated == future
        assert answer.event.created == future


@pytest.mark.parametrize(("dry", "shift", "title"), [
    (None, timedelta(days=1), "Requires dry"), (True, -timedelta(days=1), "Not in the future"),
])
def test_now_without_dry_or_in_the_past_is_400_at_the_parameter(
    api: IntegrationApi, uid: str, dry: bool | None, shift: timedelta, title: str
) -> None:
    """D29."""
    when = datetime.now(UTC) + shift
    error, sources = bad_request(lambda: api.update_customer_session_v2(f"t-{uid}", session_body(), dry=dry, now=when))
    assert sources == [{"parameter": "now"}] and json.loads(error.body)["errors"][0]["title"] == title


def test_evaluable_campaign_ids_limit_a_dry_evaluation(api: IntegrationApi, uid: str) -> None:
    """D25."""
    body = session_body(coupon_codes=["SUMMER10", "WELCOME5"], evaluable_campaign_ids=[2])
    answer = api.update_customer_session_v2(f"e-{uid}", body, dry=True)
    assert effect_summary(answer.effects) == [
        ("rejectCoupon", {"value": "SUMMER10", "rejectionReason": "CouponPartOfNotTriggeredCampaign"}),
        ("acceptCoupon", {"value": "WELCOME5"}), ("setDiscount", {"name": "Welcome discount", "value": 5.0}),
    ]


# -- profiles -------------------------------------------------------------------------------------------------


def test_profile_without_rule_engine_answers_the_required_lists_only(api: IntegrationApi, uid: str) -> None:
    """D30; the answer parses into CustomerProfileIntegrationResponseV2."""
    response = api.update_customer_profile_v2_with_http_info(
        f"p-{uid}", m.CustomerProfileIntegrationRequestV2(attributes={"tier": "gold"}))
    assert isinstance(response.data, m.CustomerProfileIntegrationResponseV2)
    assert json.loads(response.raw_data) == {"effects": [], "createdCoupons": [], "createdReferrals": []}


def test_profile_with_rule_engine_round_trips_attributes_and_audiences(api: IntegrationApi, uid: str) -> None:
    """D21 attribute merge, D30 responseContent, D32 audiences."""
    pid = f"p-{uid}"
    api.update_customer_profile_v2(pid, m.CustomerProfileIntegrationRequestV2(attributes={"tier": "gold"}))
    answer = api.update_customer_profile_v2(pid, m.CustomerProfileIntegrationRequestV2(
        attributes={"age": 41}, audiences_changes={"adds": [7, 8], "deletes": [8]},
        response_content=["customerProfile", "event", "loyalty", "triggeredCampaigns"]), run_rule_engine=True)
    profile = answer.customer_profile
    assert profile is not None and profile.attributes == {"tier": "gold", "age": 41}
    assert [(a.id, a.name) for a in profile.audience_memberships] == [(7, "Audience 7")]
    assert answer.event is not None and answer.event.type == "talon_profile_updated"
    assert answer.loyalty is not None and answer.loyalty.programs == {} and answer.triggered_campaigns == []


def test_profile_dry_needs_the_rule_engine_and_writes_nothing(server: ServerProcess, api: IntegrationApi, uid: str) -> None:
    """D28, D30: errors parse into ErrorResponseWithStatus (StatusCode 400)."""
    pid = f"p-{uid}"
    error, sources = bad_request(lambda: api.update_customer_profile_v2(
        pid, m.CustomerProfileIntegrationRequestV2(), dry=True))
    assert sources == [{"parameter": "dry"}]
    assert isinstance(error.data, m.ErrorResponseWithStatus) and error.data.status_code == 400
    error, sources = bad_request(lambda: api.update_customer_profile_v2(
        pid, m.CustomerProfileIntegrationRequestV2(response_content=["customerProfile"])))
    assert sources == [{"pointer": "/responseContent"}]
    dry = api.update_customer_profile_v2(pid, m.CustomerProfileIntegrationRequestV2(
        attributes={"x": 1}, response_content=["customerProfile"]), run_rule_engine=True, dry=True)
    assert dry.customer_profile is not None and dry.customer_profile.attributes == {"x": 1}
    assert stored_v2(server, "profiles", pid) is None


# -- errors through the SDK -------------------------------------------------------------------------------------


def test_wrong_api_key_is_401_in_the_sdks_model(server: ServerProcess, uid: str) -> None:
    """D34."""
    with pytest.raises(UnauthorizedException) as caught:
        sdk(server, key="wrong").update_customer_session_v2(f"k-{uid}", session_body())
    assert isinstance(caught.value.data, m.ErrorResponseWithStatus)
    assert caught.value.data.status_code == 401
    assert caught.value.data.errors[0].source.parameter == "Authorization"


@pytest.mark.parametrize(("fields", "pointer"), [
    ({"cart_items": [m.CartItem(sku="x", quantity=1)]}, "/customerSession/cartItems/0/price"),
    ({"cart_items": [m.CartItem(sku="x", quantity=6000, price=1), m.CartItem(sku="y", quantity=4001, price=1)]},
     "/customerSession/cartItems"),
    ({"loyalty_cards": ["no spaces"]}, "/customerSession/loyaltyCards/0"),
    ({"additional_costs": {"9lives": m.AdditionalCost(price=1)}}, "/customerSession/additionalCosts/9lives"),
])
def test_what_the_sdk_lets_through_but_the_server_refuses(
    api: IntegrationApi, uid: str, fields: dict[str, Any], pointer: str
) -> None:
    """D21, D33: 400 with the pointer, parsed into the SDK's ErrorResponse."""
    error, sources = bad_request(lambda: api.update_customer_session_v2(f"x-{uid}", session_body(**fields)))
    assert sources == [{"pointer": pointer}] and isinstance(error.data, m.ErrorResponse)


# -- where the SDK itself is at fault -----------------------------------------------------------------------


def test_sdk_fault_to_json_fails_on_every_answer_with_a_timestamp(api: IntegrationApi, uid: str) -> None:
    """SDK 26.2 bug: `to_json()` is `json.dumps(self.to_dict())`, and `to_dict()` keeps `datetime` objects, so
    any parsed answer holding a date-time cannot be turned back into JSON by the SDK's own method."""
    answer = api.update_customer_session_v2(f"j-{uid}", session_body(["customerSession"]))
    with pytest.raises(TypeError, match="datetime is not JSON serializable"):
        answer.to_json()
    assert json.loads(answer.model_dump_json(by_alias=True))["customerSession"]["integrationId"] == f"j-{uid}"


def test_sdk_fault_now_is_not_sent_as_rfc3339(api: IntegrationApi) -> None:
    """SDK 26.2: the `now` parameter is serialised as `%Y-%m-%dT%H:%M:%S.%f%z` ("+0000", no colon; nothing at
    all for a naive datetime), which is not the RFC 3339 its own docstring demands (the server accepts it, D29)."""
    when = datetime(2031, 1, 1, tzinfo=UTC)
    request = api._update_customer_session_v2_serialize(  # the SDK's own request builder
        "s", session_body(), dry=True, now=when, _request_auth=None, _content_type=None, _headers=None,
        _host_index=0)
    assert request[1].endswith("?dry=true&now=2031-01-01T00%3A00%3A00.000000%2B0000")


# -- the same client against `talon-harness serve` itself ---------------------------------------------------


def test_sdk_against_talon_harness_serve(tmp_path: Any) -> None:
    """The issue's "done when": both v2 operations through the SDK against the `serve` command (D34 key from
    TALON_API_KEY), then SIGTERM ends it with exit 0."""
    executable = shutil.which("talon-harness")
    assert executable is not None, "talon-harness is not installed"
    port = free_port()
    proc = subprocess.Popen([executable, "serve", "--port", str(port), "--quiet", "--db", str(tmp_path / "serve.db")],
                            env={**os.environ, "TALON_API_KEY": API_KEY}, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                assert time.monotonic() < deadline and proc.poll() is None, "serve did not start"
                time.sleep(0.1)
        config = talon_one.Configuration(host=f"http://127.0.0.1:{port}", api_key={"api_key_v1": API_KEY},
                                         api_key_prefix={"api_key_v1": "ApiKey-v1"})
        api = IntegrationApi(talon_one.ApiClient(config))
        opened = api.update_customer_session_v2("serve-s", session_body(
            ["customerSession"], profile_id="serve-p", coupon_codes=["WELCOME5"],
            cart_items=[m.CartItem(sku="a", quantity=1, price=20)]))
        assert opened.customer_session is not None and opened.customer_session.total == 20
        closed = api.update_customer_session_v2("serve-s", session_body(["customerProfile"], state="closed"))
        assert closed.customer_profile is not None and closed.customer_profile.closed_sessions == 1
        profile = api.update_customer_profile_v2("serve-p", m.CustomerProfileIntegrationRequestV2(
            attributes={"tier": "gold"}, response_content=["customerProfile"]), run_rule_engine=True)
        assert profile.customer_profile is not None and profile.customer_profile.attributes == {"tier": "gold"}
        keyless = IntegrationApi(talon_one.ApiClient(talon_one.Configuration(host=f"http://127.0.0.1:{port}")))
        with pytest.raises(UnauthorizedException):
            keyless.update_customer_session_v2("serve-s", session_body())
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=20) == 0
