"""Issue #7.3: 1,000 concurrent updates over 10 sessions and their profiles keep the books consistent
(see concurrency.py for every promise checked). The second test proves the audit has teeth: with the
server's ``lost_update_on_close`` fault (profile booked from a stale snapshot) it must complain."""

from __future__ import annotations

from talon_harness.refserver import ServerProcess

from .concurrency import concurrent_updates


def test_1000_concurrent_updates_keep_bookkeeping_consistent(tmp_path) -> None:
    with ServerProcess(db=tmp_path / "storm.db", quiet=True) as proc:
        outcome = concurrent_updates(proc, seed=3)
    assert not outcome.problems, "\n".join(outcome.problems[:20])
    assert set(outcome.statuses) <= {200, 400} and outcome.statuses.get(200, 0) >= 500, outcome.statuses


def test_concurrency_audit_catches_lost_updates_on_close(tmp_path) -> None:
    with ServerProcess(db=tmp_path / "lost.db", quiet=True, faults=["lost_update_on_close"]) as proc:
        outcome = concurrent_updates(proc, seed=4)
    assert any("closedSessions/totalSales" in p for p in outcome.problems), outcome.problems[:5]
