"""Acknowledged writes survive a restart and a SIGKILL (WAL, synchronous=NORMAL) on the same db."""

from __future__ import annotations

import httpx

from talon_harness.refserver import ServerProcess

from .conftest import profile_url, session_url


def test_state_survives_restart_and_kill(tmp_path) -> None:
    with ServerProcess(db=tmp_path / "durable.db", quiet=True) as proc:
        with httpx.Client(base_url=proc.base_url) as http:
            http.put(
                session_url("s"), json={"profileId": "p", "total": 10, "attributes": {"a": 1}}
            ).raise_for_status()
            last = http.put(session_url("s"), json={"state": "closed"}).json()["event"]["id"]
        proc.restart()
        with httpx.Client(base_url=proc.base_url) as http:
            state = http.put(session_url("s"), json={}).json()
            assert state["session"]["state"] == "closed" and state["session"]["attributes"] == {"a": 1}
            assert (state["profile"]["closedSessions"], state["profile"]["totalSales"]) == (1, 10)
            assert state["event"]["id"] > last
            http.put(profile_url("p"), json={"attributes": {"after": "restart"}}).raise_for_status()
            last = http.put(session_url("s"), json={"state": "cancelled"}).json()["event"]["id"]
        proc.kill()
        proc.start()
        with httpx.Client(base_url=proc.base_url) as http:
            state = http.put(session_url("s"), json={}).json()
            assert state["session"]["state"] == "cancelled"
            assert state["profile"]["attributes"] == {"after": "restart"}
            assert (state["profile"]["closedSessions"], state["profile"]["totalSales"]) == (0, 0)
            assert state["event"]["id"] > last
