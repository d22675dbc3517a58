"""Issue #7.2: SIGKILL in the middle of a write load; restart on the same db; audit (see durability.py).

Once here (CI); repeated >= 20 times by bench/robustness_durability.py. The second test proves the audit
has teeth: with the server's ``ack_before_commit`` fault (acknowledge, commit later) it must complain.
"""

from __future__ import annotations

from talon_harness.refserver import ServerProcess

from .durability import audit, kill_mid_load, restart_and_probe


def test_acknowledged_writes_survive_sigkill_mid_load(tmp_path) -> None:
    proc = ServerProcess(db=tmp_path / "kill.db", quiet=True).start()
    try:
        ledger = kill_mid_load(proc, seed=1, kill_after=400)
        assert ledger.acked >= 400, "the load did not get going before the kill"
        problems = audit(str(proc.db), ledger)
        assert not problems, "\n".join(problems[:20])
        assert not restart_and_probe(proc, ledger)
        problems = audit(str(proc.db), ledger)  # the writes after the restart keep the books balanced
        assert not problems, "\n".join(problems[:20])
    finally:
        proc.stop()


def test_durability_audit_catches_a_server_that_acks_before_commit(tmp_path) -> None:
    proc = ServerProcess(db=tmp_path / "lazy.db", quiet=True, faults=["ack_before_commit"]).start()
    try:
        ledger = kill_mid_load(proc, seed=2, kill_after=250)
        problems = audit(str(proc.db), ledger)
        assert any("missing" in p or "acknowledged" in p for p in problems), problems[:5]
    finally:
        proc.stop()
