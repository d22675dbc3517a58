"""Issue 12.2: no PASS without evidence. `check` exits 2 when an operation of the contract got no
generated case (here schemathesis' own config, read from the run's folder, disables one operation)."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from talon_harness.harness.check import CheckConfig, run_check
from talon_harness.refserver import ServerProcess

SESSIONS = "PUT /v1/customer_sessions/{customerSessionId}"


def test_check_exits_2_when_an_operation_got_no_case(tmp_path: Path) -> None:
    (tmp_path / "schemathesis.toml").write_text(f'[[operations]]\ninclude-name = "{SESSIONS}"\nenabled = false\n')
    console = Console(record=True, width=200)
    with ServerProcess(quiet=True) as server:
        result = run_check(CheckConfig(base_url=server.base_url, max_examples=3, max_time=5, seed=1,
                                       fresh_server=True, phases=("examples",), report_dir=tmp_path),
                           console=console)
    assert result.exit_code == 2
    assert result.message == f"no case was generated for {SESSIONS}: nothing was tested there"
    assert result.report is not None and result.report.operations["PUT /v1/customer_profiles/{integrationId}"]["cases"]
    assert "PASSED" not in console.export_text()
