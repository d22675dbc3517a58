"""check --oracle end to end and the regressions it emits: the oracle is clean on the correct server,
catches semantic faults of the catalogue, and each emitted pytest file fails against the faulty server and
passes against the correct one (run with pytest in a subprocess, TALON_BASE_URL set), an intermittent fault
included (replayed in rounds). Plus the pieces: ddmin, the curl script and the pytest file with credentials
(HMAC re-signed per request), bad options."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from talon_harness.contracts.oracle import Step, differences
from talon_harness.harness._regression_files import render_curl, render_pytest
from talon_harness.harness.check import CheckConfig, run_check
from talon_harness.harness.regressions import (
    ReplayTarget,
    expected_answers,
    minimise,
    replay,
    replay_verdicts,
    write_regressions,
)
from talon_harness.harness.selftest import _stop_at_first_failure, first_failure
from talon_harness.refserver import ServerProcess
from talon_harness.strategies.wire import PROFILE, SESSION, Credentials, build_put

STDLIB = set(sys.stdlib_module_names)


def test_check_oracle_passes_on_the_correct_server(tmp_path: Path) -> None:
    with ServerProcess(quiet=True) as server:
        result = run_check(CheckConfig(base_url=server.base_url, max_examples=5, max_time=15, seed=0, fresh_server=True,
                                       oracle=True, quiet=True, report_dir=tmp_path / "check"))
    assert result.exit_code == 0, [f.message[:500] for f in result.report.failures] if result.report else result.message
    compared = result.report.checks["matches_reference"]
    assert compared["success"] > 50 and compared["failure"] == 0
    assert result.regressions == ()
    assert result.witness is not None and result.witness.failures == () and result.witness.requests > 50


def test_a_witness_failure_with_the_oracle_is_a_regression_that_replays(tmp_path: Path) -> None:
    fault = "cancel_keeps_total_sales"
    with ServerProcess(faults=[fault], quiet=True) as server:
        result = run_check(CheckConfig(base_url=server.base_url, seed=0, fresh_server=True, oracle=True, quiet=True,
                                       replay_faults=(fault,), max_regressions=1, stop_after_witness_failure=True,
                                       report_dir=tmp_path / "check"))
    assert result.exit_code == 1 and result.report is None  # the witness phase found it; st run did not start
    assert result.witness is not None and result.witness.first_failure_request == 7
    assert result.witness.failed_checks == ("closed_sessions_bookkeeping", "matches_reference")
    oracle = next(f for f in result.witness.failures if f.check == "matches_reference")
    assert "profile.closedSessions" in oracle.message and "profile.totalSales" in oracle.message
    assert [p.name for p in result.regressions] == ["test_closed_sessions_bookkeeping_1.py"]
    assert "witness close_then_cancel (cancel_session)" in result.regressions[0].read_text()
    assert (tmp_path / "check" / "regressions" / "replay_closed_sessions_bookkeeping_1.sh").exists()
    assert replay_verdicts(result.regressions[0], (fault,)) == (True, True)  # fails on the fault, passes on correct


def _detect(fault: str, folder: Path) -> tuple[int | None, tuple[str, ...], tuple[Path, ...]]:
    with ServerProcess(faults=[fault], quiet=True) as server:
        result = run_check(CheckConfig(base_url=server.base_url, max_examples=15, max_time=20, seed=0,
                                       fresh_server=True, oracle=True, quiet=True, replay_faults=(fault,),
                                       max_regressions=1, report_dir=_stop_at_first_failure(folder),
                                       witness=False,  # the oracle on schemathesis' cases, as selftest measures it
                                       keep_events=True))  # first_failure reads the event stream
    assert result.exit_code == 1, result.message
    requests, _, failed, _ = first_failure(folder / "events.ndjson")
    return requests, failed, result.regressions


@pytest.mark.parametrize("fault", [
    "attributes_replaced",
    pytest.param("first_session_always_true", marks=pytest.mark.slow),
    pytest.param("retry_close_counted_twice", marks=pytest.mark.slow),
    pytest.param("coupon_discount_missing", marks=pytest.mark.slow),
])
def test_oracle_catches_a_semantic_fault_and_its_regression_replays(fault: str, tmp_path: Path) -> None:
    requests, failed, regressions = _detect(fault, tmp_path / "check")
    assert "matches_reference" in failed and requests is not None
    assert len(regressions) == 1 and regressions[0].parent == tmp_path / "check" / "regressions"
    assert regressions[0].with_name(regressions[0].name.replace("test_", "replay_", 1)
                                    .replace(".py", ".sh")).exists()
    imported = {alias.name.split(".")[0] for node in ast.walk(ast.parse(regressions[0].read_text()))
                if isinstance(node, (ast.Import, ast.ImportFrom)) for alias in
                (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])}
    assert imported - STDLIB <= {"httpx", "pytest"}  # talon_harness only through importorskip
    assert replay_verdicts(regressions[0], (fault,)) == (True, True)  # fails on the fault, passes on correct


def test_a_replay_sees_a_dropped_timestamp_but_not_different_times() -> None:
    put = build_put(SESSION, "s1", {"profileId": "p1", "total": 5})
    steps = [Step(1, "PUT", put.path, "application/json", put.body, frozenset({("session", "s1")}))]
    answers = {}
    for faults in ((), ("session_created_dropped",)):
        with ServerProcess(faults=faults, quiet=True) as server:
            answers[faults] = replay(server.base_url, steps, None, ())
    correct, faulty = answers[()][0], answers[("session_created_dropped",)][0]
    assert correct["session.created"] == "timestamp" and "session.created" not in faulty
    assert differences(faulty, correct) == ["session.created"]  # profile and event times differ too: not compared


def test_an_intermittent_failure_is_replayed_in_rounds_that_fail_on_the_fault_and_pass_on_correct(
        tmp_path: Path) -> None:
    # intermittent_503 answers 503 to about 1% of PUTs (the 41st, 187th, 226th, 267th, 311th of a fresh server):
    # one replay of a 2-request sequence never meets one, 200 rounds of it (400 PUTs) meet five
    put = build_put(PROFILE, "p1", {"attributes": {"Name": "Jane"}})
    failing = Step(1, "PUT", put.path, "application/json", put.body, frozenset({("profile", "p1")}), case_id="c1")
    notes: list[str] = []
    written = write_regressions(None, None, tmp_path, creds=None, target=ReplayTarget(faults=("intermittent_503",)),
                                witness_failures=[("not_a_server_error", "c1", "503 for PUT")],
                                witness_steps=[failing], note=notes.append)
    assert [p.name for p in written] == ["test_not_a_server_error_1.py"]
    assert notes == [("test_not_a_server_error_1.py: intermittent: one replay on a fresh faulty target does not "
                     "reproduce it; 5 of 200 replays sent back to back to one fresh faulty target differ, the first "
                     "in replay 21: the entity closure, not shrunk")]
    text = written[0].read_text()
    assert "ROUNDS = 200 " in text and "sent 200 times back to back" in text
    assert replay_verdicts(written[0], ("intermittent_503",)) == (True, True)  # fails on the fault, passes on correct
    with ServerProcess(faults=["intermittent_503"], quiet=True) as server:
        env = {**os.environ, "TALON_BASE_URL": server.base_url}
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(written[0])],
                             env=env, cwd=tmp_path, check=False, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "round 21/200, step 1/2 PUT /v1/customer_profiles/p1" in run.stdout
    script = tmp_path / "replay_not_a_server_error_1.sh"
    with ServerProcess(faults=["intermittent_503"], quiet=True) as server:
        env = {**os.environ, "TALON_BASE_URL": server.base_url, "TALON_ROUNDS": "21"}
        curl = subprocess.run(["bash", str(script)], env=env, check=False, capture_output=True, text=True, timeout=60)
    assert curl.returncode == 0 and curl.stdout.count("-> HTTP 503") == 1 and "# round 21/21" in curl.stdout


def test_minimise_keeps_exactly_what_the_failure_needs() -> None:
    steps = [Step(i, "PUT", f"/v1/customer_profiles/{i}", "application/json", b"{}", frozenset()) for i in range(12)]
    keep = [steps[-1]]
    calls: list[int] = []

    def needs_3_and_7(candidate: list[Step]) -> bool:
        calls.append(1)
        return {3, 7} <= {s.seq for s in candidate}

    assert [s.seq for s in minimise(steps[:-1], keep, needs_3_and_7)] == [3, 7]
    assert len(calls) <= 24


HMAC = "0123456789abcdef"


def _signed_steps() -> list[Step]:
    bodies = [("/v1/customer_profiles/p%201", {"attributes": {"Name": "Jane \u00e9"}}),
              ("/v1/customer_sessions/s1", {"profileId": "p 1", "total": 5, "cartItems": []}),
              ("/v1/customer_sessions/s1", {"state": "closed"}),
              ("/v1/customer_profiles/p%201", {})]
    return [Step(i, "PUT", path, "application/json", json.dumps(body).encode(), frozenset())
            for i, (path, body) in enumerate(bodies, 1)]


def test_emitted_files_replay_with_credentials_from_the_environment(tmp_path: Path) -> None:
    creds = Credentials(api_key="secret-key", hmac_application_id=9, hmac_key=HMAC)
    steps = _signed_steps()
    target = ReplayTarget(faults=None, exclude=(), effects=True)
    expected = expected_answers(steps, target, creds)
    assert [e["status"] for e in expected] == [200, 200, 200, 200]
    assert expected[-1]["profile.closedSessions"] == 1 and expected[-1]["event.id"] == "increasing"
    test_file = tmp_path / "test_example_1.py"
    test_file.write_text(render_pytest("example", 1, "a title", steps, expected, (), "hand-made", None))
    script = tmp_path / "replay_example_1.sh"
    script.write_text(render_curl("example", 1, steps))
    env = {**os.environ, "TALON_API_KEY": "secret-key", "TALON_HMAC": f"9:{HMAC}"}
    with ServerProcess(api_key="secret-key", hmac_key=HMAC, application_id=9, quiet=True) as server:
        env["TALON_BASE_URL"] = server.base_url
        curl = subprocess.run(["bash", str(script)], env=env, check=False, capture_output=True, text=True, timeout=60)
        assert curl.returncode == 0, curl.stderr
        assert curl.stdout.count("-> HTTP 200") == 4, curl.stdout
        assert '"closedSessions":1' in curl.stdout.replace(" ", "")
    with ServerProcess(api_key="secret-key", hmac_key=HMAC, application_id=9, quiet=True) as server:
        env["TALON_BASE_URL"] = server.base_url
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                             env=env, cwd=tmp_path, check=False, capture_output=True, text=True, timeout=120)
        assert run.returncode == 0, run.stdout[-2000:]
        wrong = {**env, "TALON_HMAC": "9:fedcba9876543210"}  # a wrong key: every step gets 401, the test fails
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", str(test_file)],
                             env=wrong, cwd=tmp_path, check=False, capture_output=True, text=True, timeout=120)
        assert run.returncode == 1 and "step 1/4" in run.stdout
    assert "secret-key" not in test_file.read_text() + script.read_text()


def test_bad_oracle_options_are_harness_errors(tmp_path: Path) -> None:
    missing = run_check(CheckConfig(base_url="http://127.0.0.1:9", oracle=True, oracle_rules=tmp_path / "nope.json",
                                    quiet=True, report_dir=tmp_path))
    assert missing.exit_code == 2 and missing.message.startswith(f"--oracle-rules {tmp_path / 'nope.json'}:")
    lonely = run_check(CheckConfig(base_url="http://127.0.0.1:9", oracle_exclude=("total",), quiet=True,
                                   report_dir=tmp_path))
    assert lonely.exit_code == 2 and lonely.message == "--oracle-rules and --oracle-exclude need --oracle"
