"""CI subset of `talon-harness selftest`: one fault of every class of the catalogue, one seed, short
budget, against the correct server too; and the verdict when the correct server's run
cannot complete."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from talon_harness.harness import selftest
from talon_harness.harness.check import CheckResult
from talon_harness.harness.cli import main
from talon_harness.harness.selftest import CORRECT, SelftestConfig, first_failure, run_selftest
from talon_harness.refserver.faults import FAULT_CLASSES, FAULTS

#: the quickest-detected fault of each class (bench/results/selftest.json); tests/contract/test_witness.py
#: runs one fault per check and judge in CI, and the full catalogue is `talon-harness selftest`
FAST_FAULTS = ("event_id_as_string", "quantity_zero_accepted", "crash_on_empty_cart", "event_id_reused",
               "ack_before_commit", "lost_update_on_close", "intermittent_503")


def test_ci_subset_covers_every_fault_class() -> None:
    assert sorted(FAULTS[name].fault_class for name in FAST_FAULTS) == sorted(FAULT_CLASSES)
    # issue 12.6: the run below is part of the default (CI) selection, not behind ``slow``
    marks = getattr(test_selftest_detects_ci_subset_and_correct_server_is_clean, "pytestmark", [])
    assert "slow" not in {mark.name for mark in marks}


def test_selftest_detects_ci_subset_and_correct_server_is_clean(tmp_path: Path) -> None:
    config = SelftestConfig(faults=FAST_FAULTS, seeds=1, max_examples=5, max_time=6, load_seconds=4,
                            baseline=False, report_dir=tmp_path)
    result = run_selftest(config)
    undetected = [r.fault for r in result.rows if r.fault != CORRECT and not r.detected]
    assert undetected == []
    assert result.correct_server_clean and result.passed
    saved = json.loads(result.json_path.read_text())
    assert saved["detection_rate"] == 1.0 and len(saved["rows"]) == len(FAST_FAULTS) + 1
    by = {r.fault: r.by for r in result.rows}
    assert "response_schema_conformance" in by["event_id_as_string"]
    assert by["ack_before_commit"] == ("acknowledged_write_durable",)
    assert by["lost_update_on_close"] == ("concurrent_closes_all_counted",)
    assert result.exit_code == 0 and not result.harness_errors


def test_oracle_column_judges_the_witness_phase_and_replays_its_regression(tmp_path: Path) -> None:
    config = SelftestConfig(faults=("close_event_type_updated",), seeds=1, max_examples=5, max_time=6,
                            load_seconds=4, baseline=False, oracle=True, report_dir=tmp_path)
    result = run_selftest(config)
    rows = {(r.tool, r.fault): r for r in result.rows}
    row = rows[selftest.ORACLE_TOOL, "close_event_type_updated"]
    assert row.detected and row.note == "witness phase" and row.requests == 6
    assert row.by == ("event_type", "matches_reference")
    assert Path(row.regression).name == "test_event_type_1.py"
    assert (row.regression_fails_on_fault, row.regression_passes_on_correct) == (True, True)
    assert not rows[selftest.ORACLE_TOOL, CORRECT].detected and result.correct_server_clean and result.passed


@pytest.fixture
def check_cannot_run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """`run_check` as it returns when schemathesis could not run (exit 2, no report)."""
    def cannot_run(config: Any, **_: Any) -> CheckResult:
        return CheckResult(2, 0, 0.1, None, tmp_path, "schemathesis could not run: boom")

    monkeypatch.setattr(selftest, "run_check", cannot_run)


@pytest.mark.usefixtures("check_cannot_run")
def test_correct_server_run_that_did_not_complete_is_a_harness_error(tmp_path: Path) -> None:
    result = run_selftest(SelftestConfig(faults=("event_id_as_string",), baseline=False, report_dir=tmp_path))
    assert not result.correct_server_clean and not result.passed
    assert result.exit_code == 2
    assert result.harness_errors == ("seed 0: check could not run: schemathesis could not run: boom",)
    assert json.loads(result.json_path.read_text())["harness_errors"] == list(result.harness_errors)


@pytest.mark.usefixtures("check_cannot_run")
def test_selftest_command_exits_2_when_the_correct_server_run_did_not_complete(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["selftest", "--faults", "event_id_as_string", "--no-baseline",
                                       "--report-dir", str(tmp_path)])
    assert result.exit_code == 2, result.output
    assert "Error: the correct server's run did not complete" in result.output and "ERROR" in result.output


def test_first_failure_counts_requests_in_time_order(tmp_path: Path) -> None:
    def scenario(stamps_and_status: list[tuple[float, str]]) -> str:
        interactions = {f"c{i}": {"timestamp": t} for i, (t, _) in enumerate(stamps_and_status)}
        checks = {f"c{i}": [{"name": "not_a_server_error", "status": s}] for i, (_, s) in enumerate(stamps_and_status)}
        return json.dumps({"ScenarioFinished": {"timestamp": 0, "recorder": {"interactions": interactions,
                                                                             "checks": checks}}})

    ndjson = tmp_path / "events.ndjson"
    ndjson.write_text("\n".join([json.dumps({"EngineStarted": {"timestamp": 100.0}}),
                                 scenario([(101.0, "success"), (104.0, "failure")]),
                                 scenario([(102.0, "success")])]) + "\n")
    assert first_failure(ndjson) == (3, 4.0, ("not_a_server_error",), 3)
