"""Issue #7.1: the bad-input catalogue against a real refserver process on loopback.

10,000+ hostile requests (see ``hostile.py`` for the kinds); for every one: no 5xx, no hang (10 s per
request), the exact status, an ErrorResponse whose first error names the problem (exact ``source``),
and no commit to the database (SQLite ``data_version`` probed after every request, and every row of
every table hashed before and after the run). The server must still serve a valid request afterwards
and its log must hold no traceback and no key.
"""

from __future__ import annotations

import collections
import os
from pathlib import Path
from typing import Any

import orjson
import pytest

from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import Credentials, auth_headers, encode_body

from .dbstate import DbWatch
from .hostile import KINDS, SEED_REQUESTS, Hostile, catalogue
from .rawhttp import Dropped, Hang, RawClient, RawResponse

API_KEY = "robust-api-key-7f3c9a"
HMAC_KEY = "a1b2c3d4e5f60718"
CREDS = Credentials(api_key=API_KEY, hmac_application_id=1, hmac_key=HMAC_KEY)
N = int(os.environ.get("ROBUSTNESS_CATALOGUE_N", "10000"))


def _send(client: RawClient, h: Hostile) -> RawResponse:
    if h.raw_head is not None:
        return client.send_raw(h.raw_head, [])
    return client.request(h.method, h.path, headers=h.headers, body=h.body,
                          chunks=list(h.chunks) if h.chunks is not None else None, pause=h.pause,
                          content_length=h.content_length)


def _problems(h: Hostile, r: RawResponse) -> list[str]:
    """What is wrong with response ``r`` to hostile request ``h`` (empty: all good)."""
    if r.status >= 500:
        return [f"5xx: {r.status} {r.body[:200]!r}"]
    problems = []
    if r.status != h.status:
        problems.append(f"status {r.status}, expected {h.status}: {r.body[:300]!r}")
    if h.plain is not None:  # answered by uvicorn before the app: its exact plain-text 400
        if r.headers.get("content-type") != "text/plain; charset=utf-8" or r.body != h.plain:
            problems.append(f"expected {h.plain!r} as text/plain, got {r.headers.get('content-type')!r} "
                            f"{r.body[:200]!r}")
        return problems
    if h.status == 405 and r.headers.get("allow") != "PUT":
        problems.append(f"405 without 'Allow: PUT' (got {r.headers.get('allow')!r})")
    if h.method == "HEAD":
        return problems
    if not r.headers.get("content-type", "").startswith("application/json"):
        problems.append(f"content-type {r.headers.get('content-type')!r}")
    try:
        doc: Any = orjson.loads(r.body)
    except orjson.JSONDecodeError:
        return [*problems, f"body is not JSON: {r.body[:200]!r}"]
    if not (isinstance(doc, dict) and isinstance(doc.get("message"), str) and doc["message"]
            and isinstance(doc.get("errors"), list) and doc["errors"]):
        return [*problems, f"not an ErrorResponse with errors: {doc!r:.300}"]
    first = doc["errors"][0]
    if not (isinstance(first.get("title"), str) and first["title"]):
        problems.append(f"error without a title: {first!r}")
    if first.get("source") != h.source:
        problems.append(f"source {first.get('source')!r}, expected {h.source!r} ({first.get('title')!r})")
    return problems


@pytest.fixture(scope="module")
def hostile_server(tmp_path_factory: pytest.TempPathFactory):
    db = tmp_path_factory.mktemp("badinput") / "bad.db"
    with ServerProcess(db=db, api_key=API_KEY, hmac_key=HMAC_KEY, quiet=True) as proc:
        with RawClient(proc.host, proc.port) as client:
            for path, body in SEED_REQUESTS:
                raw = encode_body(body)
                headers = [("Content-Type", "application/json"), *auth_headers(Credentials(api_key=API_KEY), raw).items()]
                assert client.request("PUT", path, headers=headers, body=raw).status == 200, path
        yield proc


def run_catalogue(proc: ServerProcess, requests: list[Hostile]) -> tuple[dict[str, list[str]], collections.Counter]:
    """Send every request; return failures per kind and the status counts."""
    watch = DbWatch(proc.db)
    before = watch.snapshot()
    watch.changed()
    failures: dict[str, list[str]] = collections.defaultdict(list)
    statuses: collections.Counter = collections.Counter()
    client = RawClient(proc.host, proc.port, timeout=10)
    try:
        for h in requests:
            try:
                response = _send(client, h)
            except (Hang, Dropped) as exc:
                failures[h.kind].append(f"{type(exc).__name__}: {exc} <- {h.describe()}")
                client.close()
                continue
            statuses[response.status] += 1
            problems = _problems(h, response)
            if watch.changed():
                problems.append("the database changed")
            if problems:
                failures[h.kind].append(f"{'; '.join(problems)} <- {h.describe()}")
            if h.close_after:
                client.close()
    finally:
        client.close()
    after = watch.snapshot()
    watch.close()
    if after != before:
        failures["<state>"].append(f"database changed: {before} -> {after}")
    return failures, statuses


def test_bad_input_catalogue_rejects_everything_and_changes_nothing(hostile_server: ServerProcess) -> None:
    requests = catalogue(N, seed=7, creds=CREDS)
    assert len(requests) >= N and set(KINDS) == {h.kind for h in requests}
    assert all((h.source is None) == (h.kind == "bad_framing") == (h.plain is not None) for h in requests)
    failures, statuses = run_catalogue(hostile_server, requests)
    report = "\n".join(f"{kind}: {len(msgs)} failures, e.g.\n  " + "\n  ".join(msgs[:3])
                       for kind, msgs in failures.items())
    assert not failures, report
    assert not any(status >= 500 for status in statuses), statuses
    # still alive and serving; nothing alarming in the log
    with RawClient(hostile_server.host, hostile_server.port) as client:
        raw = b'{"total":1}'
        ok = client.request("PUT", b"/v1/customer_sessions/after-the-storm",
                            headers=[("Content-Type", "application/json"), ("Authorization", f"ApiKey-v1 {API_KEY}")],
                            body=raw)
        assert ok.status == 200
    log = Path(hostile_server.log_path).read_text(errors="replace")
    assert "Traceback" not in log and API_KEY not in log and HMAC_KEY not in log


def test_stalled_body_blocks_no_one_and_a_disconnect_changes_nothing(hostile_server: ServerProcess) -> None:
    """A client that sends half a body and stalls holds only its own connection; when it disconnects,
    nothing was written."""
    watch = DbWatch(hostile_server.db)
    before = watch.snapshot()
    stalled = []
    for i in range(20):
        client = RawClient(hostile_server.host, hostile_server.port)
        sock = client._connect()
        sock.sendall(b"PUT /v1/customer_sessions/stall-%d HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     b"Authorization: ApiKey-v1 %s\r\nContent-Length: 100\r\n\r\n{\"total\":" % (i, API_KEY.encode()))
        stalled.append(client)
    with RawClient(hostile_server.host, hostile_server.port, timeout=5) as other:
        bad = other.request("PUT", b"/v1/customer_sessions/x", headers=[("Content-Type", "application/json")],
                            body=b"{}")
        assert bad.status == 401
    for client in stalled:
        client.close()
    assert watch.snapshot() == before
    watch.close()
