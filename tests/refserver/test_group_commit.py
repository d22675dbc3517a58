"""Group commit: requests handled together share one COMMIT, yet each is all-or-nothing and is answered
only once its writes are committed (visible to another connection)."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import httpx

from talon_harness.refserver.app import create_app
from talon_harness.refserver.config import ServerConfig
from talon_harness.refserver.store import Store


def _committed_session(db: Path, session_id: str) -> Any:
    with sqlite3.connect(db) as other:  # a second connection sees committed data only
        return other.execute("SELECT doc FROM sessions WHERE integration_id = ?", (session_id,)).fetchone()


async def _concurrent_puts(app: Any, db: Path, count: int) -> list[tuple[int, bool]]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://refserver") as http:

        async def put(i: int) -> tuple[int, bool]:
            body = {"total": "not a number"} if i % 3 == 0 else {"profileId": f"p{i % 4}", "total": i}
            response = await http.put(f"/v1/customer_sessions/g{i}", json=body)
            return response.status_code, _committed_session(db, f"g{i}") is not None

        return await asyncio.gather(*(put(i) for i in range(count)))


async def _put_open(store: Store, session_id: str, *, wait: bool = True) -> None:
    """One grouped request storing an open session; with `wait`, it returns once the group is committed."""
    with store.grouped_transaction() as tx:
        tx.put_session({"integrationId": session_id, "state": "open"})
    if wait:
        await store.group_committed()


def test_group_commit_answers_only_committed_writes_and_isolates_failures(tmp_path: Path) -> None:
    db = tmp_path / "group.db"
    with Store(db) as store:
        results = asyncio.run(_concurrent_puts(create_app(store, ServerConfig()), db, 30))
        counts = store.counts()
    for i, (status, committed) in enumerate(results):
        if i % 3 == 0:
            assert (status, committed) == (400, False), i
        else:
            assert (status, committed) == (200, True), i
    assert counts["sessions"] == 20
    assert counts["events"] == 20
    assert counts["profiles"] == 4


def test_plain_transaction_after_grouped_requests_commits_the_group_first(tmp_path: Path) -> None:
    db = tmp_path / "mixed.db"
    with Store(db) as store:

        async def grouped_then_plain() -> None:
            with store.grouped_transaction() as tx:
                tx.put_session({"integrationId": "a", "state": "open"})
            with store.transaction() as tx:  # must not fail with "transaction within a transaction"
                tx.put_session({"integrationId": "b", "state": "open"})
            await store.group_committed()

        asyncio.run(grouped_then_plain())
        assert _committed_session(db, "a") is not None
        assert _committed_session(db, "b") is not None


def test_group_left_open_by_an_ended_event_loop_is_committed_by_the_next_one(tmp_path: Path) -> None:
    db = tmp_path / "ended.db"
    with Store(db) as store:

        asyncio.run(_put_open(store, "left", wait=False))  # the loop ends before its COMMIT callback runs
        asyncio.run(asyncio.wait_for(_put_open(store, "next"), timeout=5))
        assert _committed_session(db, "left") is not None
        assert _committed_session(db, "next") is not None


def test_a_cancelled_waiter_cancels_neither_the_commit_nor_the_other_waiters(tmp_path: Path) -> None:
    db = tmp_path / "cancel.db"
    with Store(db) as store:

        async def scenario() -> tuple[bool, bool]:
            cancelled = asyncio.create_task(_put_open(store, "a"))
            waiting = asyncio.create_task(_put_open(store, "b"))
            await asyncio.sleep(0)  # both have written and wait for the group's COMMIT
            cancelled.cancel()
            await asyncio.wait_for(waiting, timeout=5)
            await asyncio.gather(cancelled, return_exceptions=True)
            return cancelled.cancelled(), waiting.done() and waiting.exception() is None

        assert asyncio.run(scenario()) == (True, True)
        assert _committed_session(db, "a") is not None
        assert _committed_session(db, "b") is not None


def test_reads_see_the_groups_writes_and_a_failed_request_leaves_nothing(tmp_path: Path) -> None:
    db = tmp_path / "buffered.db"
    with Store(db) as store:

        async def scenario() -> tuple[Any, Any, int, int]:
            with store.grouped_transaction() as tx:
                tx.put_session({"integrationId": "s", "state": "open"})
                first = tx.add_event({"type": "t"})["id"]
            try:
                with store.grouped_transaction() as tx:
                    tx.put_session({"integrationId": "s", "state": "closed"})
                    tx.add_event({"type": "t"})
                    raise RuntimeError("the request fails after its writes")
            except RuntimeError:
                pass
            with store.grouped_transaction() as tx:  # same group, before its COMMIT
                seen_in_group = tx.get_session("s")
                second = tx.add_event({"type": "t"})["id"]
            await store.group_committed()
            with store.transaction() as tx:  # after the COMMIT: from the cache of committed documents
                seen_after = tx.get_session("s")
            return seen_in_group, seen_after, first, second

        seen_in_group, seen_after, first, second = asyncio.run(scenario())
        counts = store.counts()
    assert seen_in_group == {"integrationId": "s", "state": "open"}
    assert seen_after == {"integrationId": "s", "state": "open"}
    assert (first, second) == (1, 2)  # the failed request's id was given back, not stored
    assert counts == {"profiles": 0, "sessions": 1, "events": 2}
    assert _committed_session(db, "s") == ('{"integrationId":"s","state":"open"}',)


def test_event_ids_continue_after_reopening_the_database(tmp_path: Path) -> None:
    db = tmp_path / "reopen.db"
    for expected in (1, 2):
        with Store(db) as store, store.transaction() as tx:
            assert tx.add_event({"type": "t"})["id"] == expected
