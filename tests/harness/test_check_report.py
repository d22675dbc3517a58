"""Failures as data: the parent reads the ``st run`` child's typed violation records (never schemathesis'
message text for a domain rule), writes them into ``report.json``, and every report renders from them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from talon_harness.contracts.settings import VIOLATIONS_FILE
from talon_harness.contracts.violation import Violation
from talon_harness.harness._check_report import read_report
from tests.harness.conftest import CliRun

RECORD = Violation("event_type", "D10", "the event does not describe the call", "PUT http://t/v1/customer_sessions/s1 {}",
                   '{"event.type": ["talon_session_created"]}', '200 {"event.type": "talon_session_updated"}', "PUT",
                   "http://t/v1/customer_sessions/s1", "case-1")
FIELDS = {"rule", "decision", "summary", "sent", "expected", "received", "method", "url", "case_id"}


def _stream(tmp_path: Path, checks: list[dict[str, Any]]) -> Path:
    interaction = {"request": {"method": "PUT", "uri": "http://t/v1/customer_sessions/s1", "headers": {},
                               "body": "{}"}, "response": {"status_code": 200}}
    event = {"ScenarioFinished": {"phase": "fuzzing", "recorder": {
        "label": "PUT /v1/customer_sessions/{customerSessionId}",
        "cases": {"case-1": {"value": {"method": "PUT", "path": "/v1/customer_sessions/{customerSessionId}"}}},
        "interactions": {"case-1": interaction}, "checks": {"case-1": checks}}}}
    path = tmp_path / "events.ndjson"
    path.write_text(json.dumps(event) + "\n", encoding="utf-8")
    (tmp_path / "report.json").write_text(json.dumps({"failures": []}), encoding="utf-8")
    return path


def _failed(name: str, message: str) -> dict[str, Any]:
    return {"name": name, "status": "failure",
            "failure_info": {"failure": {"code": "custom", "title": f"Custom check failed: `{name}`", "message": message}}}


def test_a_domain_failure_is_the_childs_record_not_schemathesis_text(tmp_path: Path) -> None:
    ndjson = _stream(tmp_path, [_failed("event_type", "[event_type] some other text schemathesis kept")])
    (tmp_path / VIOLATIONS_FILE).write_text(json.dumps(RECORD.to_json()) + "\n" + '{"rule": "cut sh', encoding="utf-8")
    report = read_report(ndjson, tmp_path / "report.json", creds=None, curl=lambda *a: "curl -X PUT")
    assert report is not None and [f.violation for f in report.failures] == [RECORD]
    assert report.failures[0].message == RECORD.text() and report.failures[0].status == 200
    typed = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))["violations"]
    assert typed == [{"check": "event_type", "code": "custom", "operation": "PUT /v1/customer_sessions/{customerSessionId}",
                      "phase": "fuzzing", "status": 200, **RECORD.to_json(), "curl": "curl -X PUT"}]


def test_a_built_in_failure_without_a_record_keeps_schemathesis_title_and_message(tmp_path: Path) -> None:
    ndjson = _stream(tmp_path, [_failed("not_a_server_error", "Server error\nmore")])
    report = read_report(ndjson, tmp_path / "report.json", creds=None, curl=lambda *a: "")
    assert report is not None
    assert report.failures[0].violation == Violation("not_a_server_error", "", "Custom check failed: `not_a_server_error`",
                                                     received="Server error\nmore", method="PUT",
                                                     url="http://t/v1/customer_sessions/s1", case_id="case-1")


def test_report_json_html_and_step_summary_of_a_failed_check_hold_the_typed_records(failing_check: CliRun) -> None:
    assert failing_check.rc == 1, failing_check.output[-3000:]
    typed = json.loads((failing_check.report_dir / "report.json").read_text(encoding="utf-8"))["violations"]
    domain = [v for v in typed if v["rule"] == "event_id_strictly_increasing"]
    assert domain and all(FIELDS <= set(v) and v["decision"] == "D10" and v["case_id"] for v in domain)
    html = (failing_check.report_dir / "report.html").read_text(encoding="utf-8")
    for record in domain:
        assert f"[event_id_strictly_increasing] {record['summary']}" in html
        assert f"[event_id_strictly_increasing] {record['summary']}" in failing_check.step_summary
    assert re.search(r"Failure \d+: event_id_strictly_increasing \(D10, ", failing_check.output)


def test_regressions_name_a_domain_failure_by_its_record(tmp_path: Path) -> None:
    from talon_harness.harness.regressions import failures_of

    ndjson = _stream(tmp_path, [_failed("event_type", "[event_type] some other text schemathesis kept")])
    (tmp_path / VIOLATIONS_FILE).write_text(json.dumps(RECORD.to_json()) + "\n", encoding="utf-8")
    title = "Custom check failed: `event_type`: [event_type] the event does not describe the call"
    assert failures_of(ndjson) == [("event_type", "case-1", title)]
    (tmp_path / VIOLATIONS_FILE).unlink()  # a built-in check's failure: schemathesis' text is all there is
    assert failures_of(ndjson)[0][2] == "Custom check failed: `event_type`: [event_type] some other text schemathesis kept"
