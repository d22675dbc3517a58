"""Auth modes (D2): none, ApiKey-v1, HMAC Content-Signature, and both. In-process (the app's own rule)
plus one real subprocess to prove the CLI wiring."""

from __future__ import annotations

import hashlib
import hmac

import httpx
import pytest

from talon_harness.refserver import ServerConfig, ServerProcess

from .conftest import error_sources, session_url

KEY = "s3cret-api-key"
HMAC_KEY = "0123456789abcdef"
BODY = b'{"total": 5}'
JSON = {"content-type": "application/json"}


def signature(body: bytes, key: str = HMAC_KEY, signer: int = 1, sep: str = "; ") -> str:
    return f"signer={signer}{sep}signature={hmac.new(bytes.fromhex(key), body, hashlib.md5).hexdigest()}"


def test_no_auth_configured_accepts_anything(in_process) -> None:
    app = in_process()
    assert (
        app.put(
            session_url("a"), content=BODY, headers={**JSON, "authorization": "ApiKey-v1 junk"}
        ).status_code
        == 200
    )


def test_api_key_mode(in_process) -> None:
    app = in_process(ServerConfig(api_key=KEY))
    assert (
        app.put(
            session_url("a"), content=BODY, headers={**JSON, "authorization": f"ApiKey-v1 {KEY}"}
        ).status_code
        == 200
    )
    for headers in (
        {},
        {"authorization": "ApiKey-v1 wrong"},
        {"authorization": KEY},
        {"authorization": f"Bearer {KEY}"},
    ):
        response = app.put(session_url("a"), content=BODY, headers={**JSON, **headers})
        assert response.status_code == 401, headers
        assert error_sources(response) == [{"parameter": "Authorization"}]
        assert KEY not in response.text


def test_hmac_mode(in_process) -> None:
    app = in_process(ServerConfig(hmac_key=HMAC_KEY))
    for sep in ("; ", ";"):
        headers = {**JSON, "content-signature": signature(BODY, sep=sep)}
        assert app.put(session_url("a"), content=BODY, headers=headers).status_code == 200
    assert app.put(session_url("a"), headers={"content-signature": signature(b"")}).status_code == 200

    missing = app.put(session_url("a"), content=BODY, headers=JSON)
    assert missing.status_code == 401
    assert error_sources(missing) == [{"parameter": "Content-Signature"}]


@pytest.mark.parametrize(
    "header",
    [
        signature(b'{"total": 6}'),
        signature(BODY, signer=2),
        signature(BODY, key="fedcba9876543210"),
        "garbage",
        "signer=1",
        "signer=1; signature=zz",
    ],
)
def test_hmac_mismatch_is_400(in_process, header: str) -> None:
    app = in_process(ServerConfig(hmac_key=HMAC_KEY))
    response = app.put(session_url("a"), content=BODY, headers={**JSON, "content-signature": header})
    assert response.status_code == 400
    assert response.json()["message"] == "HMAC signature mismatch."
    assert error_sources(response) == [{"parameter": "Content-Signature"}]


def test_both_modes_accept_either(in_process) -> None:
    app = in_process(ServerConfig(api_key=KEY, hmac_key=HMAC_KEY))
    assert (
        app.put(
            session_url("a"), content=BODY, headers={**JSON, "authorization": f"ApiKey-v1 {KEY}"}
        ).status_code
        == 200
    )
    assert (
        app.put(
            session_url("a"), content=BODY, headers={**JSON, "content-signature": signature(BODY)}
        ).status_code
        == 200
    )
    assert app.put(session_url("a"), content=BODY, headers=JSON).status_code == 401


def test_hmac_signer_follows_application_id(in_process) -> None:
    app = in_process(ServerConfig(hmac_key=HMAC_KEY, application_id=7))
    headers = {**JSON, "content-signature": signature(BODY, signer=7)}
    state = app.put(session_url("a"), content=BODY, headers=headers).json()
    assert state["session"]["applicationId"] == 7 and state["event"]["applicationId"] == 7


def test_config_repr_never_shows_keys() -> None:
    text = repr(ServerConfig(api_key=KEY, hmac_key=HMAC_KEY))
    assert KEY not in text and HMAC_KEY not in text


def test_bad_hmac_key_is_refused() -> None:
    with pytest.raises(ValueError, match="16 hex digits"):
        ServerConfig(hmac_key="xyz")


def test_api_key_over_real_http_and_keys_never_logged(tmp_path) -> None:
    with ServerProcess(db=tmp_path / "auth.db", api_key=KEY, hmac_key=HMAC_KEY, account_id=9) as proc:
        with httpx.Client(base_url=proc.base_url) as http:
            assert http.put(session_url("a"), content=BODY, headers=JSON).status_code == 401
            ok = http.put(
                session_url("a"), json={"profileId": "p"}, headers={"authorization": f"ApiKey-v1 {KEY}"}
            )
            assert ok.status_code == 200 and ok.json()["profile"]["accountId"] == 9
            signed = http.put(
                session_url("a"), content=BODY, headers={**JSON, "content-signature": signature(BODY)}
            )
            assert signed.status_code == 200
        assert KEY not in repr(proc)
    log = proc.log_path.read_text()
    assert "PUT /v1/customer_sessions/a 401" in log and "PUT /v1/customer_sessions/a 200" in log
    assert KEY not in log and HMAC_KEY not in log
