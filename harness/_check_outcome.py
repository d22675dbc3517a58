"""Reading a finished ``st run`` for what the report alone does not say: the credentials refused mid-run, the
target that stopped answering, the operations nothing was generated for."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

from talon_harness.contracts.spec import load_contract
from talon_harness.harness._check_report import Report
from talon_harness.harness.check_config import CheckConfig
from talon_harness.loadtests.probe import PROBE_TIMEOUT_S, REFUSED, probe_target, refused_midway


def refused_during_run(config: CheckConfig, report: Report | None) -> tuple[str, Report | None] | None:
    """(the line, the report without its 401/403 failures) when answers of the run were 401/403 and a second
    probe is refused too: the credentials stopped working mid-run (``loadtests.probe``); else None."""
    refusals = sum(report.statuses.get(code, 0) for code in REFUSED) if report else 0
    if not refusals or report is None:
        return None
    again = probe_target(config.base_url, config.credentials, timeout=min(config.request_timeout, PROBE_TIMEOUT_S))
    if not again.refused:
        return None  # refused for a while only: the target's own failures
    kept = tuple(f for f in report.failures if f.status not in REFUSED)
    line = refused_midway(again, refusals, "not counted as failures of the target")
    return line, dataclasses.replace(report, failures=kept)



def untested_operations(report: Report, api: str) -> list[str]:
    """The contract's operations for which no case was generated (nothing was tested there)."""
    expected = [f"{method.upper()} {path}" for path, item in load_contract(api)["paths"].items() for method in item
                if method in ("get", "put", "post", "patch", "delete")]
    return [op for op in expected if op not in report.operations or not report.operations[op]["cases"]]


#: the requests exceptions schemathesis reports (``NonFatalError``) when the target did not answer fully
_NETWORK_ERRORS = ("ReadTimeout", "ConnectTimeout", "Timeout", "ConnectionError", "ChunkedEncodingError")


def network_failure(ndjson: Path, report: Report, request_timeout: float) -> tuple[int, str] | None:
    """(exit code, reason) when schemathesis stopped because the target did not answer a request fully;
    None otherwise. After answered requests the target failed (1); with none answered nothing could
    be tested (2)."""
    if not ndjson.exists():
        return None
    for line in ndjson.read_text(encoding="utf-8", errors="replace").splitlines():
        if '"NonFatalError"' not in line:
            continue
        error = json.loads(line)["NonFatalError"]
        value = error.get("value", {})
        kind = str(value.get("type", ""))
        if kind not in _NETWORK_ERRORS:
            continue
        how = (f"timed out after {request_timeout:g} s" if "Timeout" in kind
               else f"broke the response ({' '.join(str(value.get('message', '')).split())[:120]})")
        where = f"at request {report.requests + 1} ({error.get('label', '?')}, {error.get('phase', '?')} phase)"
        if report.requests:
            return 1, (f"the target stopped answering: {kind}, {how} {where}; "
                       f"{report.requests} requests were answered before")
        return 2, f"the target answered no request: {kind}, {how} {where}"
    return None
