"""Concurrent updates to one session are serialised: no lost update, no 5xx, distinct increasing ids."""

from __future__ import annotations

import asyncio

import httpx

from .conftest import session_url


def test_50_concurrent_updates_to_one_session(server, uid: str) -> None:
    async def run() -> list[httpx.Response]:
        limits = httpx.Limits(max_connections=50)
        async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as http:
            await http.put(session_url(uid), json={"profileId": f"p-{uid}"})
            return await asyncio.gather(
                *(http.put(session_url(uid), json={"attributes": {f"k{i}": i}}) for i in range(50))
            )

    responses = asyncio.run(run())
    assert [r.status_code for r in responses] == [200] * 50
    ids = [r.json()["event"]["id"] for r in responses]
    assert len(set(ids)) == 50
    # each response saw the attributes of every earlier-committed request: order by event id
    by_id = sorted(responses, key=lambda r: r.json()["event"]["id"])
    sizes = [len(r.json()["session"]["attributes"]) for r in by_id]
    assert sizes == list(range(1, 51))
    final = httpx.put(server.base_url + session_url(uid), json={}).json()["session"]["attributes"]
    assert final == {f"k{i}": i for i in range(50)}
