"""Wire protocol: routing on the raw path, ids (D12), methods (D1), content type (D15), body limit (D13),
and every way a body can fail to be acceptable JSON."""

from __future__ import annotations

import httpx
import pytest

from .conftest import error_sources, error_titles, profile_url, session_url


def test_curl_example_created_then_updated(client: httpx.Client, uid: str) -> None:
    url = session_url(f"s1-{uid}")
    first = client.put(url, json={"profileId": f"p1-{uid}"})
    assert first.status_code == 200
    assert first.headers["content-type"] == "application/json"
    assert first.json()["event"]["type"] == "talon_session_created"
    second = client.put(url, json={"profileId": f"p1-{uid}"})
    assert second.status_code == 200
    assert second.json()["event"]["type"] == "talon_session_updated"


def test_unknown_path_is_404(client: httpx.Client) -> None:
    for path in ("/", "/v1/customer_sessions", "/v3/customer_sessions/x", "/v1/customer_sessions/a/b"):  # v2 is served (D20)
        response = client.put(path, json={})
        assert response.status_code == 404, path
        assert "message" in response.json()


@pytest.mark.parametrize("method", ["GET", "POST", "DELETE", "PATCH"])
def test_other_method_is_405_with_allow_put(client: httpx.Client, uid: str, method: str) -> None:
    response = client.request(method, session_url(uid))
    assert response.status_code == 405
    assert response.headers["allow"] == "PUT"
    assert response.json()["message"]


def test_percent_encoded_slash_is_part_of_the_id(client: httpx.Client, uid: str) -> None:
    response = client.put(f"/v1/customer_profiles/a%2Fb-{uid}", json={})
    assert response.status_code == 200
    assert response.json()["profile"]["integrationId"] == f"a/b-{uid}"


def test_query_string_is_ignored_and_plus_is_literal(client: httpx.Client, uid: str) -> None:
    response = client.put(f"/v1/customer_profiles/a+b-{uid}?x=1", json={})
    assert response.status_code == 200
    assert response.json()["profile"]["integrationId"] == f"a+b-{uid}"


def test_unicode_id_round_trips(client: httpx.Client, uid: str) -> None:
    response = client.put(session_url(f"caf%C3%A9-{uid}"), json={})
    assert response.json()["session"]["integrationId"] == f"café-{uid}"


def test_id_of_1000_characters_is_accepted(client: httpx.Client, uid: str) -> None:
    response = client.put(profile_url(uid + "x" * (1000 - len(uid))), json={})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("raw_id", "why"),
    [
        ("", "empty"),
        ("x" * 1001, "too long"),
        ("a%00b", "NUL"),
        ("a%1Fb", "U+001F"),
        ("a%7F", "DEL"),
        ("a%C2%85", "U+0085"),
        ("%FF", "invalid UTF-8"),
        ("%C3", "truncated UTF-8"),
    ],
)
def test_invalid_session_id_is_400_with_parameter(client: httpx.Client, raw_id: str, why: str) -> None:
    response = client.put(session_url(raw_id), json={})
    assert response.status_code == 400, why
    assert error_sources(response) == [{"parameter": "customerSessionId"}]


def test_invalid_profile_id_names_integration_id(client: httpx.Client) -> None:
    response = client.put(profile_url("x" * 1001), json={})
    assert response.status_code == 400
    assert error_sources(response) == [{"parameter": "integrationId"}]


@pytest.mark.parametrize(
    "content_type", [None, "text/plain", "application/x-www-form-urlencoded", "application/jsonx"]
)
def test_wrong_content_type_is_415(client: httpx.Client, uid: str, content_type: str | None) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    response = client.put(session_url(uid), content=b"{}", headers=headers)
    assert response.status_code == 415
    assert error_sources(response) == [{"parameter": "Content-Type"}]
    assert client.put(session_url(uid), json={}).json()["event"]["type"] == "talon_session_created"


@pytest.mark.parametrize(
    "content_type",
    ["application/json", "application/json; charset=utf-8", "Application/JSON", "application/vnd.talon+json"],
)
def test_json_content_types_are_accepted(client: httpx.Client, uid: str, content_type: str) -> None:
    response = client.put(session_url(uid), content=b'{"total": 3}', headers={"content-type": content_type})
    assert response.status_code == 200
    assert response.json()["session"]["total"] == 3


@pytest.mark.parametrize("content_type", [None, "text/plain"])
def test_empty_body_means_empty_object_with_any_content_type(
    client: httpx.Client, uid: str, content_type: str | None
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    response = client.put(session_url(uid), content=b"", headers=headers)
    assert response.status_code == 200
    assert response.json()["session"]["state"] == "open"


def test_body_over_one_mib_is_413(client: httpx.Client, uid: str) -> None:
    body = b'{"attributes": {"x": "' + b"a" * (1048576) + b'"}}'
    response = client.put(session_url(uid), content=body, headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert error_sources(response) == [{"pointer": ""}]


def test_chunked_body_over_one_mib_is_413(client: httpx.Client, uid: str) -> None:
    def chunks():  # no Content-Length: the server must stop reading once past the limit
        yield b'{"attributes": {"x": "'
        for _ in range(20):
            yield b"a" * 65536
        yield b'"}}'

    response = client.put(session_url(uid), content=chunks(), headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert client.put(session_url(uid), json={}).json()["event"]["type"] == "talon_session_created"


def test_body_of_exactly_one_mib_is_not_413(client: httpx.Client, uid: str) -> None:
    prefix, suffix = b'{"attributes": {"x": "', b'"}}'
    body = prefix + b"a" * (1048576 - len(prefix) - len(suffix)) + suffix
    response = client.put(session_url(uid), content=body, headers={"content-type": "application/json"})
    assert response.status_code == 200


@pytest.mark.parametrize(
    ("body", "title"),
    [
        (b'{"total": 1', "Malformed JSON"),
        (b"{'total': 1}", "Malformed JSON"),
        (b"   ", "Malformed JSON"),
        (b'{"total": NaN}', "Invalid number"),
        (b'{"total": Infinity}', "Invalid number"),
        (b'{"total": -Infinity}', "Invalid number"),
        (b'{"total": 1e400}', "Invalid number"),
        (b"\xef\xbb\xbf{}", "Invalid encoding"),
        (b'{"coupon": "\xff"}', "Invalid encoding"),
        (b"[" * 100000 + b"]" * 100000, "Nested too deeply"),
        (b'{"attributes": ' + b'{"a":' * 5000 + b"1" + b"}" * 5001, "Nested too deeply"),
    ],
)
def test_unacceptable_json_is_400_at_document_level(
    client: httpx.Client, uid: str, body: bytes, title: str
) -> None:
    response = client.put(session_url(uid), content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert error_titles(response) == [title]
    assert error_sources(response) == [{"pointer": ""}]


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (b'{"state": "open", "state": "closed"}', "/state"),
        (
            b'{"cartItems": [{"name": "n", "sku": "a", "sku": "b", "quantity": 1, "price": 1}]}',
            "/cartItems/0/sku",
        ),
        (b'{"attributes": {"a/b": 1, "a/b": 2}}', "/attributes/a~1b"),
    ],
)
def test_duplicate_key_points_at_the_member(
    client: httpx.Client, uid: str, body: bytes, pointer: str
) -> None:
    response = client.put(session_url(uid), content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert error_titles(response) == ["Duplicate key"]
    assert error_sources(response) == [{"pointer": pointer}]
    assert client.put(session_url(uid), json={}).json()["event"]["type"] == "talon_session_created"


def test_duplicate_key_in_profile_body_is_400(client: httpx.Client, uid: str) -> None:
    response = client.put(
        profile_url(uid), content=b'{"x": 1, "x": 2}', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    assert error_sources(response) == [{"pointer": "/x"}]


def test_big_integers_beyond_64_bits_round_trip(client: httpx.Client, uid: str) -> None:
    big = 2**70
    response = client.put(
        session_url(uid),
        content=b'{"total": %d, "attributes": {"n": %d}}' % (big, -big),
        headers={"content-type": "application/json"},
    )
    assert response.status_code == 200
    session = response.json()["session"]
    assert session["total"] == big and session["attributes"]["n"] == -big


@pytest.mark.parametrize(
    ("body", "pointer"),
    [
        (rb'{"coupon": "\ud800"}', "/coupon"),
        (rb'{"attributes": {"x": ["ok", "\udfff"]}}', "/attributes/x/1"),
        (rb'{"attributes": {"\ud800": 1}}', "/attributes"),
    ],
)
def test_unpaired_surrogate_escape_is_400(client: httpx.Client, uid: str, body: bytes, pointer: str) -> None:
    response = client.put(session_url(uid), content=body, headers={"content-type": "application/json"})
    assert response.status_code == 400
    assert error_sources(response) == [{"pointer": pointer}]


def test_surrogate_pair_escape_is_one_character(client: httpx.Client, uid: str) -> None:
    response = client.put(
        session_url(uid), content=rb'{"coupon": "\ud83d\ude00"}', headers={"content-type": "application/json"}
    )
    assert response.json()["session"]["coupon"] == "\U0001f600"


def test_raw_utf8_bytes_in_raw_path_are_the_id(in_process) -> None:
    """httptools refuses non-ASCII request targets itself, so this is checked on the app with a raw scope."""
    import asyncio
    import json

    app = in_process().app
    scope = {
        "type": "http",
        "method": "PUT",
        "path": "/v1/customer_profiles/café",
        "query_string": b"",
        "raw_path": "/v1/customer_profiles/café".encode(),
        "headers": [],
        "asgi": {"version": "3.0"},
    }
    sent: list[dict] = []

    async def receive() -> dict:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    assert sent[0]["status"] == 200
    assert json.loads(sent[1]["body"])["profile"]["integrationId"] == "café"


@pytest.mark.parametrize("method", ["HEAD", "OPTIONS"])
def test_head_and_options_are_405(client: httpx.Client, uid: str, method: str) -> None:
    response = client.request(method, profile_url(uid))
    assert response.status_code == 405
    assert response.headers["allow"] == "PUT"
