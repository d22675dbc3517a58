"""The validating proxy: transparent, bounded, judging each exchange, recording without credentials."""

from __future__ import annotations

import base64
import http.client
import json
import socket
import threading
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import Credentials, auth_headers, path_for
from tests.ports import free_port

from .conftest import asgi_upstream, proxy_in_thread

KEY = "0a1b2c3d4e5f6a7b"
API_KEY = "proxy-test-api-key-5b0c"


def _put(base_url: str, path: str, body: bytes, headers: dict[str, str], method: str = "PUT"
         ) -> tuple[int, dict[str, str], bytes]:
    """Send exactly ``path`` (no client-side normalisation) and return status, headers, body."""
    url = urlsplit(base_url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=20)
    try:
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def _java_sdk_put(base_url: str, session_id: str, body: dict[str, Any], creds: Credentials) -> int:
    """What the 2018 Java SDK (swagger-codegen, Gson, OkHttp) sends for updateCustomerSession: the model's
    non-null fields in declaration order, ``state`` defaulting to OPEN, a signed body."""
    raw = json.dumps(body, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json; charset=utf-8", "Accept": "application/json",
               "User-Agent": "Swagger-Codegen/1.0.0/java", **auth_headers(creds, raw)}
    return _put(base_url, path_for("updateCustomerSession", session_id), raw, headers)[0]


def test_java_sdk_default_state_trap_is_a_client_violation(tmp_path: Path) -> None:
    creds = Credentials(hmac_application_id=1, hmac_key=KEY)
    with ServerProcess(hmac_key=KEY, quiet=True) as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True) as proxy:
        # checkout: the app creates the session, then closes it (state set explicitly)
        assert _java_sdk_put(proxy.base_url, "java-order-1", {"profileId": "java-cust-1", "state": "open",
                                                              "total": 42.5}, creds) == 200
        assert _java_sdk_put(proxy.base_url, "java-order-1", {"profileId": "java-cust-1", "state": "closed",
                                                              "total": 42.5}, creds) == 200
        assert proxy.lines == []
        # later it updates the closed session without setting a state: NewCustomerSession.state = OPEN
        assert _java_sdk_put(proxy.base_url, "java-order-1", {"profileId": "java-cust-1", "state": "open"},
                             creds) == 400
        outcome = proxy.finish()
    assert proxy.lines == [
        ("VIOLATION client illegal_transition PUT /v1/customer_sessions/java-order-1 -> 400: illegal transition "
         "closed -> open (D5: 400 at /state); the stored session is closed")]
    assert outcome.counts == {"client illegal_transition": 1}
    assert (outcome.exchanges, outcome.judged, outcome.exit_code) == (3, 3, 1)
    report = json.loads(outcome.report_json.read_text())
    assert [v["rule"] for v in report["violations_kept"]] == ["illegal_transition"]
    junit = outcome.report_junit.read_text()
    assert 'name="illegal_transition"' in junit and 'message="1 exchange(s) broke illegal_transition"' in junit


async def _echo(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Upstream that answers with what reached it: method, raw target, headers, body (base64)."""
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    doc = {"method": scope["method"], "raw_path": scope["raw_path"].decode("latin-1"),
           "query": scope["query_string"].decode("latin-1"),
           "headers": [[k.decode("latin-1"), v.decode("latin-1")] for k, v in scope["headers"]],
           "body": base64.b64encode(body).decode()}
    answer = json.dumps(doc).encode() + b"\xff\xfe"  # not UTF-8: must reach the client unchanged too
    await send({"type": "http.response.start", "status": 299,
                "headers": [(b"content-type", b"application/x-echo"), (b"x-upstream", b"a, b"),
                            (b"content-length", str(len(answer)).encode())]})
    await send({"type": "http.response.body", "body": answer})


@pytest.mark.parametrize("method", ["PUT", "GET", "DELETE", "PATCH", "OPTIONS", "POST"])
def test_forwards_raw_target_method_and_bodies_unchanged(tmp_path: Path, method: str) -> None:
    target = "/v1/customer_profiles/a%2Fb%2e%2E%20c?x=%2F&y"
    body = b'{"attributes": {"k": "\xc3\xa9"}}\xff'  # not valid JSON, not UTF-8 at the end
    with asgi_upstream(_echo) as upstream, proxy_in_thread(upstream, tmp_path) as proxy:
        status, headers, answer = _put(proxy.base_url, target, body,
                                       {"Content-Type": "application/json", "X-Client": "1"}, method=method)
    assert status == 299
    assert answer.endswith(b"\xff\xfe")
    doc = json.loads(answer[:-2])
    assert doc["method"] == method
    assert doc["raw_path"] + "?" + doc["query"] == target
    assert base64.b64decode(doc["body"]) == body
    sent = dict(doc["headers"])
    assert sent["host"] == urlsplit(upstream).netloc
    assert sent["x-client"] == "1" and sent["content-type"] == "application/json"
    assert sent["content-length"] == str(len(body))
    assert not {k for k in sent if k.startswith("x-forwarded") or k in ("via", "forwarded")}
    assert headers == {"content-type": "application/x-echo", "x-upstream": "a, b", "content-length": str(len(answer))}


def _silent_upstream(mode: str) -> tuple[str, threading.Event]:
    """A TCP server that never answers ("hang"), closes without answering ("close"), or drips bytes ("drip")."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    done = threading.Event()
    conns: list[socket.socket] = []

    def run() -> None:
        listener.settimeout(0.2)
        while not done.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            conns.append(conn)
            if mode == "close":  # read the request, then end the connection cleanly without an answer
                conn.settimeout(2)
                conn.recv(65536)
                conn.close()
            elif mode == "drip":
                conn.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 1000000\r\n\r\n")
                threading.Thread(target=_drip, args=(conn, done), daemon=True).start()
        listener.close()
        for c in conns:
            c.close()

    threading.Thread(target=run, daemon=True).start()
    return f"http://127.0.0.1:{listener.getsockname()[1]}", done


def _drip(conn: socket.socket, done: threading.Event) -> None:
    while not done.is_set():
        try:
            conn.sendall(b"x")
        except OSError:
            return
        time.sleep(0.05)


@pytest.mark.parametrize(("mode", "message"), [
    ("hang", "proxy: upstream did not answer within 0.5 s"),
    ("drip", "proxy: upstream did not answer within 0.5 s"),
    ("close", "proxy: upstream failed: ServerDisconnectedError: Server disconnected"),
])
def test_broken_upstream_gets_a_bounded_502_with_a_json_body(tmp_path: Path, mode: str, message: str) -> None:
    upstream, done = _silent_upstream(mode)
    try:
        with proxy_in_thread(upstream, tmp_path, timeout_s=0.5) as proxy:
            started = time.monotonic()
            status, headers, body = _put(proxy.base_url, "/v1/customer_profiles/p1", b"{}",
                                         {"Content-Type": "application/json"})
            elapsed = time.monotonic() - started
            outcome = proxy.finish()
    finally:
        done.set()
    assert (status, headers["content-type"]) == (502, "application/json")
    assert json.loads(body) == {"message": message, "errors": []}
    assert elapsed < 3.0
    assert outcome.counts == {"server bad_gateway": 1}


def test_unreachable_upstream_gets_a_502(tmp_path: Path) -> None:
    port = free_port()  # closed again: nothing listens there
    with proxy_in_thread(f"http://127.0.0.1:{port}", tmp_path, timeout_s=2) as proxy:
        status, _, body = _put(proxy.base_url, "/v1/customer_profiles/p1", b"{}", {"Content-Type": "application/json"})
    assert status == 502
    assert json.loads(body)["message"].startswith("proxy: upstream failed: ClientConnectorError: Cannot connect to host 127.0.0.1:")


def test_recording_holds_no_credential_and_stops_at_the_limit(tmp_path: Path) -> None:
    record = tmp_path / "rec.ndjson"
    creds = Credentials(api_key=API_KEY, hmac_application_id=1, hmac_key=KEY)
    with ServerProcess(api_key=API_KEY, hmac_key=KEY, quiet=True) as server, \
            proxy_in_thread(server.base_url, tmp_path, record=record, max_exchanges=3, fresh=True) as proxy:
        statuses = []
        for i in range(5):
            raw = json.dumps({"attributes": {"n": i}}).encode()
            statuses.append(_put(proxy.base_url, path_for("updateCustomerProfile", f"rec-{i}"), raw,
                                 {"Content-Type": "application/json", "Cookie": "sid=1", **auth_headers(creds, raw)})[0])
        outcome = proxy.finish()
    assert statuses == [200] * 5  # proxying goes on after recording stopped
    assert proxy.lines == [f"RECORDING STOPPED: --max-exchanges 3 reached; {record} is complete, proxying goes on"]
    text = record.read_text()
    lines = [json.loads(line) for line in text.splitlines()]
    assert [r["path"] for r in lines] == [f"/v1/customer_profiles/rec-{i}" for i in range(3)]
    assert [r["status"] for r in lines] == [200, 200, 200]
    assert {k for r in lines for k, _ in r["headers"]} == {"host", "accept-encoding", "content-type",
                                                          "content-length"}
    assert json.loads(lines[0]["body"]) == {"attributes": {"n": 0}}
    assert json.loads(lines[0]["response_body"])["profile"]["integrationId"] == "rec-0"
    assert lines[0]["latency_ms"] > 0 and lines[0]["offset_ms"] < lines[2]["offset_ms"]
    for secret in (API_KEY, KEY, "ApiKey-v1", "signature=", "sid=1"):
        assert secret not in text
    assert outcome.recording == {"file": str(record), "exchanges": 3, "bytes": len(text.encode()),
                                 "stopped": "--max-exchanges 3 reached"}


def test_recording_stops_before_max_bytes(tmp_path: Path) -> None:
    record = tmp_path / "rec.ndjson"
    with ServerProcess(quiet=True) as server, \
            proxy_in_thread(server.base_url, tmp_path, record=record, max_bytes=3000) as proxy:
        for i in range(6):
            assert _put(proxy.base_url, f"/v1/customer_profiles/b{i}", b"{}", {"Content-Type": "application/json"}
                        )[0] == 200
        outcome = proxy.finish()
    size = record.stat().st_size
    assert 0 < size <= 3000
    kept = len(record.read_text().splitlines())
    assert proxy.lines == [(f"RECORDING STOPPED: --max-bytes 3000 reached after {kept} exchanges; {record} is "
                            "complete, proxying goes on")]
    assert outcome.exchanges == 6


def test_server_side_violation_is_blamed_on_the_server(tmp_path: Path) -> None:
    """A faulty upstream (refserver with a fault) is reported as a server-side violation."""
    with ServerProcess(faults=["skip_session_state_machine"], quiet=True) as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True) as proxy:
        for body in (b'{"state":"closed"}', b'{"state":"open"}'):
            _put(proxy.base_url, "/v1/customer_sessions/f1", body, {"Content-Type": "application/json"})
        outcome = proxy.finish()
    assert outcome.counts.get("client illegal_transition") == 1
    assert outcome.counts.get("server illegal_transition_rejected") == 1


def test_a_bounded_model_forgets_old_ids_without_false_alarms(tmp_path: Path) -> None:
    """Past `model_entities` ids the judge forgets the older half; forgotten sessions coming back (closed,
    then cancelled) raise nothing, and a session it still holds is judged as before."""
    json_header = {"Content-Type": "application/json"}
    with ServerProcess(quiet=True) as server, \
            proxy_in_thread(server.base_url, tmp_path, fresh=True, model_entities=10) as proxy:
        for body in (b'{"profileId":"bp%d","total":%d}', b'{"state":"closed"}', b'{"state":"cancelled"}'):
            for i in range(30):
                raw = body % (i, i) if b"%d" in body else body
                assert _put(proxy.base_url, f"/v1/customer_sessions/bs{i}", raw, json_header)[0] == 200
        for body, status in ((b'{"total":1}', 200), (b'{"state":"closed"}', 200), (b'{"state":"open"}', 400)):
            assert _put(proxy.base_url, "/v1/customer_sessions/last", body, json_header)[0] == status
        outcome = proxy.finish()
    assert outcome.counts == {"client illegal_transition": 1}
    forgotten = json.loads(outcome.report_json.read_text(encoding="utf-8"))["model_ids_forgotten"]
    assert forgotten >= 60
