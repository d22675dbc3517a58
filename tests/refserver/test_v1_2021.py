"""The final v1 revision (2021-02) on the reference server, over real HTTP on loopback (D16-D19).

A late-v1 client's `identifiers` and `dry=true` are accepted and honoured (dry: no row written, read back
from the SQLite file itself), the revision's limits answer 400 with the exact pointer, `adjustment` is
refused, `"state": "open"` on a closed session is a no-op, and the seed revision (`--api v1`, what every
embedded server speaks) keeps its behaviour and refuses `dry`.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema_rs
import pytest
import yaml

from talon_harness.contracts.spec import CONTRACT_FILES
from talon_harness.refserver import ServerProcess
from tests.ports import free_port

from .conftest import error_sources, error_titles, profile_url, session_url

ITEM = {"name": "Shoe", "sku": "SKU-1", "quantity": 2, "price": 9.5}
ADJUSTMENT = {"payFromLoyaltyProgram": 3, "pointPayment": 20, "remainingPrice": 1.5}


def _state_validator(api: str) -> Any:
    with CONTRACT_FILES[api].open(encoding="utf-8") as fh:
        components = yaml.safe_load(fh)["components"]
    return jsonschema_rs.validator_for({"$schema": "https://json-schema.org/draft/2020-12/schema",
                                        "components": components,
                                        "$ref": "#/components/schemas/IntegrationState"})


LATE_STATE = _state_validator("v1-2021")
SEED_STATE = _state_validator("v1")


@pytest.fixture(scope="module")
def late(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with ServerProcess(db=tmp_path_factory.mktemp("late") / "late.db", api="v1-2021", quiet=True) as proc:
        yield proc


@pytest.fixture(scope="module")
def http(late: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=late.base_url, timeout=10) as client:
        yield client


def rows(db: Path) -> dict[str, Any]:
    """What the database file holds, read on its own connection (WAL: sees every committed write)."""
    with sqlite3.connect(db) as conn:
        return {
            "profiles": dict(conn.execute("SELECT integration_id, doc FROM profiles").fetchall()),
            "sessions": dict(conn.execute("SELECT integration_id, doc FROM sessions").fetchall()),
            "events": conn.execute("SELECT COUNT(*), COALESCE(MAX(id), 0) FROM events").fetchone(),
        }


def ok(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    return response.json()


def refused(response: httpx.Response, title: str, source: dict[str, str]) -> None:
    assert response.status_code == 400, response.text
    assert error_titles(response) == [title]
    assert error_sources(response) == [source]


def _without_times(state: dict[str, Any]) -> dict[str, Any]:
    """The answer with every timestamp blanked (two calls never share a microsecond)."""
    times = {"created", "lastActivity"}
    return {part: None if doc is None else {k: ("T" if k in times else v) for k, v in doc.items()}
            for part, doc in state.items()}


# D19: identifiers
def test_identifiers_are_stored_returned_and_replaced(http: httpx.Client, late: ServerProcess, uid: str) -> None:
    state = ok(http.put(session_url(uid), json={"profileId": f"p-{uid}", "identifiers": ["dev-1", "dev-2"]}))
    assert state["session"]["identifiers"] == ["dev-1", "dev-2"]
    assert LATE_STATE.is_valid(state)
    state = ok(http.put(session_url(uid), json={"total": 3}))  # not sent: kept (D4)
    assert state["session"]["identifiers"] == ["dev-1", "dev-2"]
    state = ok(http.put(session_url(uid), json={"identifiers": ["a", "b", "c", "d", "e"]}))  # 5: the limit
    assert state["session"]["identifiers"] == ["a", "b", "c", "d", "e"]
    assert '"identifiers":["a","b","c","d","e"]' in rows(late.db)["sessions"][uid]
    assert ok(http.put(session_url(f"{uid}-none"), json={}))["session"]["identifiers"] == []


def test_six_identifiers_are_a_400_at_the_array(http: httpx.Client, late: ServerProcess, uid: str) -> None:
    before = rows(late.db)
    response = http.put(session_url(uid), json={"identifiers": ["1", "2", "3", "4", "5", "6"]})
    refused(response, "Too many items", {"pointer": "/identifiers"})
    assert response.json()["errors"][0]["details"] == "At most 5 identifiers, got 6."
    refused(http.put(session_url(uid), json={"identifiers": ["ok", 7]}), "Invalid type", {"pointer": "/identifiers/1"})
    assert rows(late.db) == before


# D19: coupon and referral at most 100 characters
def test_codes_of_101_characters_are_a_400(http: httpx.Client, uid: str) -> None:
    response = http.put(session_url(uid), json={"coupon": "C" * 101})
    refused(response, "Too long", {"pointer": "/coupon"})
    assert response.json()["errors"][0]["details"] == "Expected at most 100 characters, got 101."
    refused(http.put(session_url(uid), json={"referral": "R" * 101}), "Too long", {"pointer": "/referral"})
    state = ok(http.put(session_url(uid), json={"coupon": "é" * 100, "referral": "R" * 100}))  # characters, not bytes
    assert (state["session"]["coupon"], state["session"]["referral"]) == ("é" * 100, "R" * 100)


# D16: adjustment is gone
def test_adjustment_is_refused_with_its_pointer(http: httpx.Client, late: ServerProcess, uid: str) -> None:
    before = rows(late.db)
    response = http.put(session_url(uid), json={"cartItems": [ITEM, {**ITEM, "adjustment": ADJUSTMENT}]})
    refused(response, "Removed field", {"pointer": "/cartItems/1/adjustment"})
    assert rows(late.db) == before
    state = ok(http.put(session_url(uid), json={"cartItems": [{**ITEM, "adjustment": None}]}))  # null: omitted
    assert state["session"]["cartItems"] == [ITEM]


# D17: dry runs
def test_dry_session_create_writes_nothing_and_answers_as_the_write(
        http: httpx.Client, late: ServerProcess, uid: str) -> None:
    body = {"profileId": f"p-{uid}", "coupon": "SUMMER10", "identifiers": ["dev-9"], "cartItems": [ITEM], "total": 19}
    before = rows(late.db)
    dry = ok(http.put(session_url(uid), params={"dry": "true"}, json=body))
    assert rows(late.db) == before  # no profile, no session, no event row
    assert uid not in before["sessions"] and f"p-{uid}" not in before["profiles"]
    assert LATE_STATE.is_valid(dry)
    real = ok(http.put(session_url(uid), json=body))
    assert _without_times(dry) == _without_times(real)  # event id and type included
    assert dry["event"]["id"] == before["events"][1] + 1 == real["event"]["id"]
    assert dry["session"]["discounts"] == {"Summer sale": 10.0}
    after = rows(late.db)
    assert after["events"][0] == before["events"][0] + 1 and uid in after["sessions"]


def test_dry_close_changes_nothing_stored(http: httpx.Client, late: ServerProcess, uid: str) -> None:
    ok(http.put(session_url(uid), json={"profileId": f"p-{uid}", "total": 40}))
    before = rows(late.db)
    dry = ok(http.put(session_url(uid), params={"dry": "True"}, json={"state": "closed"}))  # older SDKs: "True"
    assert (dry["session"]["state"], dry["profile"]["closedSessions"], dry["profile"]["totalSales"]) == (
        "closed", 1, 40.0)
    assert dry["event"]["type"] == "talon_session_closed"
    assert rows(late.db) == before
    state = ok(http.put(session_url(uid), json={}))
    assert (state["session"]["state"], state["profile"]["closedSessions"]) == ("open", 0)


def test_dry_profile_update_writes_nothing(http: httpx.Client, late: ServerProcess, uid: str) -> None:
    before = rows(late.db)
    dry = ok(http.put(profile_url(uid), params={"dry": "true"}, json={"attributes": {"Name": "Jane"}}))
    assert (dry["event"]["type"], dry["profile"]["attributes"]) == ("talon_profile_created", {"Name": "Jane"})
    assert rows(late.db) == before
    assert ok(http.put(profile_url(uid), params={"dry": "false"}, json={}))["event"]["type"] == "talon_profile_created"
    assert uid in rows(late.db)["profiles"]


def test_dry_values_other_than_true_or_false_are_a_400(http: httpx.Client, late: ServerProcess, uid: str) -> None:
    before = rows(late.db)
    refused(http.put(session_url(uid) + "?dry=yes", json={}), "Invalid value", {"parameter": "dry"})
    refused(http.put(session_url(uid) + "?dry=", json={}), "Invalid value", {"parameter": "dry"})
    refused(http.put(session_url(uid) + "?dry=true&dry=false", json={}), "Repeated parameter", {"parameter": "dry"})
    refused(http.put(session_url(uid) + "?dry=true", json={"identifiers": "x"}), "Invalid type",
            {"pointer": "/identifiers"})  # an invalid body is refused as the write would be
    assert rows(late.db) == before


# D18: the generated clients' default state
def test_state_open_on_a_closed_session_is_read_as_not_sent(
        http: httpx.Client, late: ServerProcess, uid: str) -> None:
    ok(http.put(session_url(uid), json={"profileId": f"p-{uid}", "state": "open", "total": 12}))
    ok(http.put(session_url(uid), json={"state": "closed", "total": 12}))
    retry = ok(http.put(session_url(uid), json={"state": "open", "total": 12}))
    assert (retry["session"]["state"], retry["event"]["type"]) == ("closed", "talon_session_updated")
    assert (retry["profile"]["closedSessions"], retry["profile"]["totalSales"]) == (1, 12.0)  # booked once
    refused(http.put(session_url(uid), json={"state": "open", "coupon": "VIP25"}), "Session closed",
            {"pointer": "/coupon"})
    cancelled = ok(http.put(session_url(uid), json={"state": "cancelled"}))
    assert cancelled["profile"]["closedSessions"] == 0
    again = ok(http.put(session_url(uid), json={"state": "open"}))
    assert (again["session"]["state"], again["profile"]["closedSessions"]) == ("cancelled", 0)
    assert '"state":"cancelled"' in rows(late.db)["sessions"][uid]


# D16: the seed revision is what embedded servers speak, and it keeps its behaviour
def test_seed_revision_refuses_dry_and_writes_nothing(client: httpx.Client, server: ServerProcess, uid: str) -> None:
    before = rows(server.db)
    response = client.put(session_url(uid) + "?dry=true", json={"profileId": f"p-{uid}"})
    refused(response, "Unknown parameter", {"parameter": "dry"})
    refused(client.put(profile_url(uid) + "?dry=false", json={}), "Unknown parameter", {"parameter": "dry"})
    assert rows(server.db) == before
    assert ok(client.put(session_url(uid) + "?utm_source=x", json={}))["session"]["integrationId"] == uid


def test_seed_revision_is_unchanged(client: httpx.Client, uid: str) -> None:
    refused(client.put(session_url(uid), json={"identifiers": ["d"]}), "Unknown field", {"pointer": "/identifiers"})
    state = ok(client.put(session_url(uid), json={"coupon": "C" * 101, "cartItems": [{**ITEM, "adjustment": ADJUSTMENT}]}))
    assert "identifiers" not in state["session"] and SEED_STATE.is_valid(state)
    assert state["session"]["cartItems"] == [{**ITEM, "adjustment": ADJUSTMENT}]
    ok(client.put(session_url(uid), json={"state": "closed"}))
    refused(client.put(session_url(uid), json={"state": "open"}), "Illegal state transition", {"pointer": "/state"})


def test_seed_answers_hide_identifiers_the_final_revision_stored(tmp_path: Path) -> None:
    db = tmp_path / "shared.db"
    with ServerProcess(db=db, api="v1-2021", quiet=True) as proc:
        assert ok(httpx.put(proc.base_url + session_url("s1"), json={"identifiers": ["d"]}))["session"][
            "identifiers"] == ["d"]
    with ServerProcess(db=db, quiet=True) as proc:
        state = ok(httpx.put(proc.base_url + session_url("s1"), json={"total": 2}))
        assert "identifiers" not in state["session"] and SEED_STATE.is_valid(state)
    with ServerProcess(db=db, api="v1-2021", quiet=True) as proc:
        assert ok(httpx.put(proc.base_url + session_url("s1"), json={}))["session"]["identifiers"] == ["d"]


def test_serve_speaks_the_final_revision_by_default_and_v1_when_told(tmp_path: Path) -> None:
    for args, expected in (([], 200), (["--api", "v1"], 400)):
        port = free_port()
        env = {k: v for k, v in os.environ.items() if k not in ("TALON_API_KEY", "TALON_HMAC")}
        proc = subprocess.Popen([sys.executable, "-m", "talon_harness.harness", "serve", "--port", str(port),
                                 "--db", str(tmp_path / f"serve{port}.db"), "--quiet", *args],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
        try:
            deadline = time.monotonic() + 20
            while True:
                try:
                    response = httpx.put(f"http://127.0.0.1:{port}{session_url('s')}", json={"identifiers": ["d"]})
                    break
                except httpx.TransportError:
                    assert proc.poll() is None and time.monotonic() < deadline, "serve did not start"
                    time.sleep(0.05)
            assert response.status_code == expected, response.text
        finally:
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(15) == 0


def test_serve_refuses_an_unknown_revision() -> None:
    result = subprocess.run([sys.executable, "-m", "talon_harness.harness", "serve", "--api", "v3"],
                            check=False, capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        "Error: Invalid value for '--api': 'v3' is not one of 'v1', 'v1-2021'.")
