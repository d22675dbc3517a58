"""No false positive, seed by seed: `check --seed N` at the default budget passes on a fresh, correct reference
server for N = 0..9 (slow: about 100 s per seed; pick some with ``-k 'seed_3 or seed_7'``).
``bench/check_seeds.py`` runs the same and records every failure in bench/results/."""

from __future__ import annotations

from pathlib import Path

import pytest

from talon_harness.harness.check import BUDGETS, CheckConfig, run_check
from talon_harness.refserver import ServerProcess

DEFAULT = BUDGETS["default"]


@pytest.mark.slow
@pytest.mark.timeout(DEFAULT.max_time + 240)
@pytest.mark.parametrize("seed", [pytest.param(n, id=f"seed_{n}") for n in range(10)])
def test_check_passes_on_the_correct_server(seed: int, tmp_path: Path) -> None:
    with ServerProcess(quiet=True) as server:
        result = run_check(CheckConfig(base_url=server.base_url, seed=seed, fresh_server=True, quiet=True,
                                       report_dir=tmp_path / "check", max_regressions=0))
    failures = [f"{f.check} {f.operation} ({f.phase}): {f.message}" for f in
                (result.report.failures if result.report else ())]
    failures += [f"witness {f.check} {f.witness}/{f.step}: {f.message}" for f in
                 (result.witness.failures if result.witness else ())]
    assert (result.exit_code, failures, result.message) == (0, [], "")
    assert result.report is not None and result.report.total_cases > 0
