"""CI subset of `talon-harness selftest`: a handful of faults, one seed, short budget."""

from __future__ import annotations

import json
from pathlib import Path

from talon_harness.harness.selftest import CORRECT, SelftestConfig, first_failure, run_selftest

FAST_FAULTS = ("event_id_as_string", "crash_on_empty_cart", "created_status_201", "ack_before_commit")


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
