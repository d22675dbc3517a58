"""Issue #7.4: auth under abuse, over real HTTP (refserver subprocess with an API key and an HMAC key).

No credentials, a wrong key, a signature over a different body, and a captured signature replayed on
another body are all rejected (401 / 400 per D2) and change nothing; keys are compared with
hmac.compare_digest and never with ==; no key (right or wrong) reaches the log or an error body.
The basic per-mode cases live in tests/refserver/test_auth.py; this file attacks.
"""

from __future__ import annotations

import ast
import inspect
import json
import time
from pathlib import Path

import pytest

from talon_harness.refserver import ServerProcess, auth
from talon_harness.strategies.wire import Credentials, auth_headers

from .dbstate import DbWatch
from .rawhttp import RawClient

API_KEY = "auth-abuse-key-Q9w2"
HMAC_KEY = "0f1e2d3c4b5a6978"
WRONG_KEYS = ("auth-abuse-key-Q9w3", "auth-abuse-key-Q9w", "AUTH-ABUSE-KEY-Q9W2", "wrong-key-zz")
JSON = ("Content-Type", "application/json")


def _sig(body: bytes, *, key: str = HMAC_KEY, app_id: int = 1) -> str:
    return auth_headers(Credentials(hmac_application_id=app_id, hmac_key=key), body)["Content-Signature"]


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("auth") / "auth.db"
    with ServerProcess(db=db, api_key=API_KEY, hmac_key=HMAC_KEY) as proc:  # logging on: it is inspected
        yield proc


def _attacks() -> list[tuple[str, list[tuple[str, str]], bytes, int, str]]:
    """(name, headers, body, expected status, expected source parameter)."""
    body = b'{"profileId":"victim","total":1000,"state":"closed"}'
    signed_elsewhere = b'{"profileId":"victim","total":1}'
    out = [("no credentials", [JSON], body, 401, "Authorization")]
    out += [(f"wrong key {k!r}", [JSON, ("Authorization", f"ApiKey-v1 {k}")], body, 401, "Authorization")
            for k in WRONG_KEYS]
    out += [("key without scheme", [JSON, ("Authorization", API_KEY)], body, 401, "Authorization"),
            ("bearer scheme", [JSON, ("Authorization", f"Bearer {API_KEY}")], body, 401, "Authorization"),
            ("signature over a different body", [JSON, ("Content-Signature", _sig(signed_elsewhere))], body, 400,
             "Content-Signature"),
            ("signature with the wrong key", [JSON, ("Content-Signature", _sig(body, key="f" * 16))], body, 400,
             "Content-Signature"),
            ("signature by another application", [JSON, ("Content-Signature", _sig(body, app_id=2))], body, 400,
             "Content-Signature"),
            ("signature over the body minus its last byte", [JSON, ("Content-Signature", _sig(body[:-1]))], body,
             400, "Content-Signature"),
            ("upper-cased hex of a different body", [JSON, ("Content-Signature", _sig(signed_elsewhere).upper())],
             body, 400, "Content-Signature"),
            ("wrong key plus a bad signature", [JSON, ("Authorization", f"ApiKey-v1 {WRONG_KEYS[0]}"),
                                                ("Content-Signature", _sig(signed_elsewhere))], body, 400,
             "Content-Signature")]
    return out


def test_unauthenticated_and_forged_requests_are_rejected_and_change_nothing(secured: ServerProcess) -> None:
    watch = DbWatch(secured.db)
    before = watch.snapshot()
    with RawClient(secured.host, secured.port) as client:
        for name, headers, body, status, parameter in _attacks():
            response = client.request("PUT", b"/v1/customer_sessions/victim-session", headers=headers, body=body)
            assert response.status == status, (name, response.body)
            error = json.loads(response.body)
            assert error["errors"][0]["source"] == {"parameter": parameter}, name
            assert API_KEY.encode() not in response.body and HMAC_KEY.encode() not in response.body
            assert not any(k.encode() in response.body for k in WRONG_KEYS), name
            assert not watch.changed(), f"{name}: the database changed"
    assert watch.snapshot() == before
    watch.close()


def test_captured_signature_replayed_on_another_body_is_rejected(secured: ServerProcess) -> None:
    """An eavesdropper who saw one signed request cannot sign anything else with it. (Replaying the SAME
    body is accepted: the v1 scheme has no nonce or timestamp, so an identical replay is just a retry.)"""
    original = b'{"profileId":"replay-p","total":5}'
    captured = _sig(original)
    with RawClient(secured.host, secured.port) as client:
        ok = client.request("PUT", b"/v1/customer_sessions/replay-s", headers=[JSON, ("Content-Signature", captured)],
                            body=original)
        assert ok.status == 200
        watch = DbWatch(secured.db)
        for forged in (b'{"profileId":"replay-p","total":5000}', b'{"profileId":"replay-p","state":"closed"}',
                       original + b" ", b"{}", b""):
            for path in (b"/v1/customer_sessions/replay-s", b"/v1/customer_sessions/other",
                         b"/v1/customer_profiles/replay-p"):
                response = client.request("PUT", path, headers=[JSON, ("Content-Signature", captured)], body=forged)
                assert response.status == 400, (forged, path, response.body)
                assert json.loads(response.body)["message"] == "HMAC signature mismatch."
                assert not watch.changed(), (forged, path)
        watch.close()


def test_keys_never_reach_the_log(tmp_path: Path) -> None:
    """Self-contained: its own logging server gets every attack (401s and 400s, wrong keys and signatures)
    and accepted calls with the right key and the right signature; no key, right or wrong, is in its log."""
    body = b'{"attributes":{"n":1}}'
    with ServerProcess(db=tmp_path / "log.db", api_key=API_KEY, hmac_key=HMAC_KEY) as server, \
            RawClient(server.host, server.port) as client:
        statuses = [client.request("PUT", b"/v1/customer_sessions/victim-session", headers=headers,
                                   body=attack).status for _, headers, attack, _, _ in _attacks()]
        statuses.append(client.request("PUT", b"/v1/customer_profiles/log-p", body=body,
                                       headers=[JSON, ("Authorization", f"ApiKey-v1 {API_KEY}")]).status)
        statuses.append(client.request("PUT", b"/v1/customer_profiles/log-q", body=body,
                                       headers=[JSON, ("Content-Signature", _sig(body))]).status)
        deadline = time.monotonic() + 10
        while (log := Path(server.log_path).read_text(errors="replace")).count("\nPUT ") < len(statuses):
            assert time.monotonic() < deadline, log  # the server writes its log lines after answering
            time.sleep(0.05)
    assert statuses == [status for *_, status, _ in _attacks()] + [200, 200]
    assert log.count(" 401 ") == statuses.count(401) and log.count(" 400 ") == statuses.count(400)
    assert log.count(" 200 ") == 2  # the log is on and saw every request
    for secret in (API_KEY, HMAC_KEY, HMAC_KEY.upper(), *WRONG_KEYS):
        assert secret not in log


def _compares_secrets_with_eq(tree: ast.AST) -> list[str]:
    """Every ==/!= whose operands mention a key, digest, expected value or the signature field."""
    suspects = ("api_key", "hmac_key", "expected", "digest", "key")
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare) and any(isinstance(op, (ast.Eq, ast.NotEq)) for op in node.ops):
            operands = [node.left, *node.comparators]
            names = {n.id for o in operands for n in ast.walk(o) if isinstance(n, ast.Name)}
            names |= {n.attr for o in operands for n in ast.walk(o) if isinstance(n, ast.Attribute)}
            subscripts = {ast.unparse(n.slice) for o in operands for n in ast.walk(o) if isinstance(n, ast.Subscript)}
            if names & set(suspects) or any("signature" in s for s in subscripts):
                found.append(ast.unparse(node))
    return found


def test_secrets_are_compared_in_constant_time_only() -> None:
    """Code inspection (timing is not measured in tests): refserver/auth.py compares the API key and the
    HMAC digest with hmac.compare_digest, and no ==/!= touches a key, digest or signature."""
    source = inspect.getsource(auth)
    tree = ast.parse(source)
    calls = [ast.unparse(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)]
    assert calls.count("hmac.compare_digest") >= 2, calls  # the API key and the signature
    assert _compares_secrets_with_eq(tree) == []
    # the checker itself flags a naive comparison
    assert _compares_secrets_with_eq(ast.parse("ok = header[10:] == api_key.encode()"))
    assert _compares_secrets_with_eq(ast.parse("ok = fields[b'signature'] != expected"))


def test_keys_are_not_on_the_server_command_line(secured: ServerProcess) -> None:
    """Any local user can read /proc/<pid>/cmdline; ServerProcess hands keys over in the environment."""
    import psutil

    listening = [p for p in psutil.Process().children(recursive=True)
                 if any(c.status == psutil.CONN_LISTEN and c.laddr.port == secured.port
                        for c in p.net_connections(kind="tcp"))]
    assert len(listening) == 1, listening  # the keyed server itself, found by its port
    cmdline = " ".join(listening[0].cmdline())
    assert "--port-file" in cmdline and API_KEY not in cmdline and HMAC_KEY not in cmdline
