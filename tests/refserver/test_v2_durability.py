"""v2 writes have v1's guarantees: acknowledged writes survive SIGKILL (same Store, group commit), and
concurrent closes of one profile's sessions are all booked (requests serialised, no lost update: D24, D32)."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx

from talon_harness.refserver import ServerProcess

S = "/v2/customer_sessions/"
ALL = ["customerSession", "customerProfile", "event"]


def put(http: httpx.Client, session_id: str, session: dict[str, Any]) -> dict[str, Any]:
    response = http.put(S + session_id, json={"customerSession": session, "responseContent": ALL})
    assert response.status_code == 200, response.text
    return response.json()


def test_acknowledged_v2_writes_survive_a_kill(tmp_path: Path) -> None:
    with ServerProcess(db=tmp_path / "v2.db", quiet=True) as proc:
        with httpx.Client(base_url=proc.base_url) as http:
            put(http, "s", {"profileId": "p", "cartItems": [{"sku": "a", "quantity": 2, "price": 5}]})
            last = put(http, "s", {"state": "closed"})["event"]["id"]
        proc.kill()
        proc.start()
        with httpx.Client(base_url=proc.base_url) as http:
            state = put(http, "s", {})
        assert state["customerSession"]["state"] == "closed" and state["customerSession"]["total"] == 10
        assert state["customerSession"]["updateCount"] == 3  # D31: create, close, this call
        assert (state["customerProfile"]["closedSessions"], state["customerProfile"]["totalSales"]) == (1, 10)
        assert state["event"]["id"] == last + 1


def test_concurrent_closes_of_one_profile_are_all_booked(tmp_path: Path) -> None:
    sessions = [f"c{i}" for i in range(40)]
    with ServerProcess(db=tmp_path / "v2c.db", quiet=True) as proc, httpx.Client(base_url=proc.base_url) as http:
        for sid in sessions:
            put(http, sid, {"profileId": "shared", "cartItems": [{"sku": "a", "quantity": 1, "price": 2.5}]})
        with ThreadPoolExecutor(max_workers=8) as pool:
            answers = list(pool.map(lambda sid: put(http, sid, {"state": "closed"}), sessions))
        assert {a["event"]["type"] for a in answers} == {"talon_session_closed"}
        profile = put(http, "probe", {"profileId": "shared"})["customerProfile"]
    assert (profile["closedSessions"], profile["totalSales"]) == (40, 100.0)
