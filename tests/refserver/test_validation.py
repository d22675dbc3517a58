"""Schema validation of request bodies: types, required cart fields, limits (D3, D4, D13) with pointers."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from .conftest import error_sources, profile_url, session_url

ITEM = {"name": "Shoe", "sku": "SKU-1", "quantity": 1, "price": 9.5}


def _put_session(client: httpx.Client, uid: str, body: Any) -> httpx.Response:
    return client.put(session_url(uid), json=body)


def _only_error(response: httpx.Response) -> tuple[str, dict[str, Any]]:
    assert response.status_code == 400, response.text
    assert response.json()["message"] == "The submitted data was invalid"
    (error,) = response.json()["errors"]
    assert error["details"]
    return error["title"], error["source"]


@pytest.mark.parametrize(
    ("body", "title", "pointer"),
    [
        ([], "Invalid type", ""),
        ("open", "Invalid type", ""),
        ({"profileId": 5}, "Invalid type", "/profileId"),
        ({"coupon": True}, "Invalid type", "/coupon"),
        ({"referral": []}, "Invalid type", "/referral"),
        ({"state": 1}, "Invalid type", "/state"),
        ({"state": "reopened"}, "Invalid value", "/state"),
        ({"total": "10"}, "Invalid type", "/total"),
        ({"total": True}, "Invalid type", "/total"),
        ({"attributes": []}, "Invalid type", "/attributes"),
        ({"cartItems": {}}, "Invalid type", "/cartItems"),
        ({"cartItems": [1]}, "Invalid type", "/cartItems/0"),
        ({"foo": 1}, "Unknown field", "/foo"),
        ({"a/b~": 1}, "Unknown field", "/a~1b~0"),
        ({"cartItems": [ITEM] * 1001}, "Too many items", "/cartItems"),
    ],
)
def test_session_body_errors_point_at_member(
    client: httpx.Client, uid: str, body: Any, title: str, pointer: str
) -> None:
    assert _only_error(_put_session(client, uid, body)) == (title, {"pointer": pointer})


@pytest.mark.parametrize("missing", ["name", "sku", "quantity", "price"])
def test_missing_required_cart_field_points_where_it_would_be(
    client: httpx.Client, uid: str, missing: str
) -> None:
    item = {k: v for k, v in ITEM.items() if k != missing}
    response = _put_session(client, uid, {"cartItems": [ITEM, ITEM, item]})
    assert _only_error(response) == ("Required", {"pointer": f"/cartItems/2/{missing}"})


@pytest.mark.parametrize(
    ("member", "value", "title"),
    [
        ("name", "", "Too short"),
        ("sku", "", "Too short"),
        ("name", None, "Invalid type"),
        ("quantity", 0, "Below minimum"),
        ("quantity", 1.5, "Invalid type"),
        ("quantity", True, "Invalid type"),
        ("quantity", "1", "Invalid type"),
        ("price", "9", "Invalid type"),
        ("price", False, "Invalid type"),
        ("category", 3, "Invalid type"),
        ("weight", "x", "Invalid type"),
        ("position", [], "Invalid type"),
        ("attributes", "x", "Invalid type"),
        ("adjustment", {"payFromLoyaltyProgram": 1, "pointPayment": 0}, "Below minimum"),
    ],
)
def test_bad_cart_item_member(client: httpx.Client, uid: str, member: str, value: Any, title: str) -> None:
    response = _put_session(client, uid, {"cartItems": [{**ITEM, member: value}]})
    expected = f"/cartItems/0/{member}" + ("/pointPayment" if member == "adjustment" else "")
    assert _only_error(response) == (title, {"pointer": expected})


def test_all_problems_are_reported(client: httpx.Client, uid: str) -> None:
    response = _put_session(client, uid, {"total": "x", "foo": 1, "cartItems": [{"quantity": 0}]})
    assert response.status_code == 400
    pointers = {s["pointer"] for s in error_sources(response)}
    assert pointers == {
        "/total",
        "/foo",
        "/cartItems/0/name",
        "/cartItems/0/sku",
        "/cartItems/0/quantity",
        "/cartItems/0/price",
    }


def test_integral_floats_are_integers_and_stay_as_sent(client: httpx.Client, uid: str) -> None:
    response = _put_session(
        client, uid, {"cartItems": [{**ITEM, "quantity": 1.0}, {**ITEM, "quantity": 1e308}]}
    )
    assert response.status_code == 200
    assert response.text.count('"quantity":1.0') == 1
    assert [i["quantity"] for i in response.json()["session"]["cartItems"]] == [1.0, 1e308]


def test_nulls_are_accepted_everywhere_optional(client: httpx.Client, uid: str) -> None:
    body = {k: None for k in ("profileId", "coupon", "referral", "state", "cartItems", "total", "attributes")}
    assert _put_session(client, uid, body).status_code == 200
    item = {
        **ITEM,
        "category": None,
        "weight": None,
        "position": None,
        "attributes": None,
        "adjustment": None,
    }
    response = _put_session(client, uid, {"cartItems": [item]})
    assert response.status_code == 200
    assert response.json()["session"]["cartItems"] == [ITEM]


def test_cart_item_extra_keys_are_kept(client: httpx.Client, uid: str) -> None:
    item = {
        **ITEM,
        "colour": "red",
        "adjustment": {"payFromLoyaltyProgram": 2, "pointPayment": 5, "remainingPrice": 0},
    }
    response = _put_session(client, uid, {"cartItems": [item]})
    assert response.status_code == 200
    assert response.json()["session"]["cartItems"] == [item]


def _nested(depth: int) -> Any:
    value: Any = 1
    for _ in range(depth):
        value = [value]
    return value


def test_attribute_depth_ten_is_accepted_and_eleven_rejected(client: httpx.Client, uid: str) -> None:
    assert _put_session(client, uid, {"attributes": {"k": _nested(10)}}).status_code == 200
    response = _put_session(client, uid, {"attributes": {"ok": 1, "k": _nested(11)}})
    assert _only_error(response) == ("Nested too deeply", {"pointer": "/attributes/k"})
    response = _put_session(client, uid, {"cartItems": [{**ITEM, "attributes": {"k": {"a": _nested(10)}}}]})
    assert _only_error(response) == ("Nested too deeply", {"pointer": "/cartItems/0/attributes/k"})


def test_failed_request_changes_nothing(client: httpx.Client, uid: str) -> None:
    first = _put_session(client, uid, {"total": 5, "attributes": {"a": 1}})
    bad = _put_session(client, uid, {"total": 6, "attributes": {"a": 2}, "cartItems": [{}]})
    assert bad.status_code == 400
    after = _put_session(client, uid, {})
    assert after.json()["session"]["total"] == 5
    assert after.json()["session"]["attributes"] == {"a": 1}
    assert after.json()["event"]["id"] > first.json()["event"]["id"]


@pytest.mark.parametrize(("body", "pointer"), [([], ""), ({"attributes": 3}, "/attributes")])
def test_profile_body_errors(client: httpx.Client, uid: str, body: Any, pointer: str) -> None:
    assert _only_error(client.put(profile_url(uid), json=body)) == ("Invalid type", {"pointer": pointer})


def test_profile_unknown_keys_are_ignored(client: httpx.Client, uid: str) -> None:
    response = client.put(profile_url(uid), json={"foo": {"bar": 1}, "attributes": {"a": 1}})
    assert response.status_code == 200
    assert response.json()["profile"]["attributes"] == {"a": 1}
