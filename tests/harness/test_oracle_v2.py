"""``check --api v2 --oracle``: every v2 request goes to a fresh v2 reference server too and the answers are
compared field by field (``contracts.oracle`` with ``contracts.oracle_v2``): clean on the correct server, the
oracle alone catches a v2 semantic fault, and the regression file it emits fails on the faulty server and
passes on the correct one."""

from __future__ import annotations

from pathlib import Path

from talon_harness.contracts.oracle import Answer, OracleRuntime, Step, normalise, touched
from talon_harness.harness.check import CheckConfig, run_check
from talon_harness.harness.regressions import replay_verdicts
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import Credentials

CREDS = Credentials(api_key="oracle-v2-key-0123456789")


def test_check_v2_oracle_passes_on_the_correct_server(tmp_path: Path) -> None:
    with ServerProcess(quiet=True, api="v1-2021", api_key=CREDS.api_key) as server:
        result = run_check(CheckConfig(base_url=server.base_url, api="v2", credentials=CREDS, max_examples=5,
                                       max_time=15, seed=0, fresh_server=True, oracle=True, quiet=True,
                                       report_dir=tmp_path / "check"))
    assert result.exit_code == 0, [f.message[:500] for f in result.report.failures] if result.report else result.message
    assert result.report is not None
    compared = result.report.checks["matches_reference"]
    assert compared["success"] > 50 and compared["failure"] == 0
    assert result.witness is not None and result.witness.failures == () and result.witness.requests > 20
    assert result.regressions == ()


def test_the_v2_oracle_alone_catches_a_v2_semantic_fault_and_its_regression_replays(tmp_path: Path) -> None:
    fault = "v2_totals_ignore_quantity"
    with ServerProcess(quiet=True, api="v1-2021", api_key=CREDS.api_key, faults=[fault]) as server:
        result = run_check(CheckConfig(base_url=server.base_url, api="v2", credentials=CREDS, seed=0,
                                       checks=("matches_reference",), fresh_server=True, oracle=True, quiet=True,
                                       replay_faults=(fault,), max_regressions=1, stop_after_witness_failure=True,
                                       report_dir=tmp_path / "check"))
    assert result.exit_code == 1 and result.report is None  # the witness phase found it; st run did not start
    assert result.witness is not None and result.witness.failed_checks == ("matches_reference",)
    assert result.witness.failures[0].message.startswith(
        "[matches_reference] the answer differs from the reference server's at 2 field(s): "
        "customerSession.cartItemTotal, customerSession.total")
    assert [p.name for p in result.regressions] == ["test_matches_reference_1.py"]
    assert replay_verdicts(result.regressions[0], (fault,)) == (True, True)  # fails on the fault, passes on correct


def _answer(event_id: int, created: str, total: float) -> dict[str, object]:
    return {"effects": [], "createdCoupons": [], "createdReferrals": [],
            "customerSession": {"id": event_id, "created": created, "integrationId": "s1", "total": total,
                                "updateCount": 1},
            "event": {"id": event_id, "type": "talon_session_created", "created": created}}


def test_v2_answers_compare_ids_and_times_by_kind_and_values_by_value() -> None:
    one = normalise(200, "application/json", _answer(7, "2026-01-01T00:00:00Z", 5.0))
    other = normalise(200, "application/json", _answer(9, "2026-12-07T03:00:00.5Z", 5.0))
    assert one == other and one["customerSession.created"] == "timestamp" and one["customerSession.total"] == 5.0
    assert normalise(200, "application/json", _answer(9, "yesterday", 6.0)) != one
    body = b'{"customerSession": {"profileId": "c1"}}'
    assert touched("PUT", "http://x/v2/customer_sessions/s%2F1", body, ()) == {("v2session", "s/1"),
                                                                              ("v2profile", "c1")}


def test_a_dry_v2_call_does_not_advance_the_event_order() -> None:
    oracle = OracleRuntime("http://127.0.0.1:9", fresh=True)
    steps = [Step(i, "PUT", path, "application/json", b"{}", frozenset()) for i, path in
             enumerate(["/v2/customer_sessions/s1", "/v2/customer_sessions/s1?dry=true", "/v2/customer_sessions/s1"])]
    # D28: the dry call's event id is the one the next real write gets; the two servers' ids differ by 10
    for step, ids in zip(steps, [(1, 11), (2, 12), (2, 12)], strict=True):
        target, reference = (Answer(200, "application/json", _answer(i, "2026-01-01T00:00:00Z", 1.0)) for i in ids)
        compared = oracle.compare(step, target, reference)
        assert compared is not None and compared[0] == [] and compared[1]["event.id"] == "increasing"
