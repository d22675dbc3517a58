"""CI subset of `talon-harness selftest --api v2`: one v2 fault of every class (D36), one seed, a short budget,
the correct v2 server beside them; each caught by the check its catalogue entry names. The full catalogue x 2
seeds is bench/selftest_v2.py (bench/results/selftest_v2.md)."""

from __future__ import annotations

from pathlib import Path

import pytest

from talon_harness.harness.selftest import CORRECT, SelftestConfig, catalogue, run_selftest
from talon_harness.refserver.faults import FAULT_CLASSES, FAULTS, V2_FAULTS

FAST_V2_FAULTS = ("v2_update_count_as_string", "v2_unknown_field_accepted", "v2_crash_on_empty_cart",
                  "v2_dry_writes", "v2_close_not_persisted", "v2_stale_session_cache", "v2_slow_session_puts")


def test_selftest_runs_the_catalogue_of_the_api_under_test() -> None:
    assert catalogue("v2") == dict(V2_FAULTS) and catalogue("v1") == dict(FAULTS) == catalogue("v1-2021")
    assert SelftestConfig(api="v2").chosen_faults() == tuple(V2_FAULTS)
    with pytest.raises(ValueError, match=r"unknown fault\(s\) \['session_created_dropped'\] for --api v2"):
        SelftestConfig(api="v2", faults=("session_created_dropped",)).chosen_faults()


def test_selftest_v2_detects_one_fault_per_class_and_the_correct_server_is_clean(tmp_path: Path) -> None:
    assert sorted(V2_FAULTS[name].fault_class for name in FAST_V2_FAULTS) == sorted(FAULT_CLASSES)
    config = SelftestConfig(api="v2", faults=FAST_V2_FAULTS, seeds=1, max_examples=5, max_time=6, load_seconds=4,
                            baseline=False, report_dir=tmp_path)
    result = run_selftest(config)
    assert result.correct_server_clean and not result.harness_errors
    by = {r.fault: r.by for r in result.rows}
    assert by[CORRECT] == ()
    for fault in FAST_V2_FAULTS:
        wanted = "load_slo" if V2_FAULTS[fault].fault_class == "performance" else V2_FAULTS[fault].rule
        assert wanted in by[fault], (fault, by[fault])
    assert result.detection_rate == 1.0 and result.passed and result.exit_code == 0
