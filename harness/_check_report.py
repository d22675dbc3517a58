"""Reading a check run's reports into the facts the summaries render (no rendering here).

Counts come from schemathesis' NDJSON event stream; each failure of a domain rule (or of the oracle) is the
typed :class:`~contracts.violation.Violation` the ``st run`` child recorded in ``violations.ndjson``
(``contracts.settings.VIOLATIONS_FILE``), joined to the stream by case id and rule; schemathesis' own
message text is read only for its built-in checks, which record nothing of ours. :func:`read_report` adds
every failure, as a typed record, to ``report.json`` under ``"violations"``.
"""

from __future__ import annotations

import base64
import json
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from talon_harness.contracts.settings import VIOLATIONS_FILE
from talon_harness.contracts.violation import Violation, read_records
from talon_harness.strategies.wire import Credentials, redact

__all__ = ["FailureRow", "LiveCounter", "Report", "read_report"]

PHASES: tuple[str, ...] = ("examples", "coverage", "fuzzing", "stateful")


@dataclass(frozen=True)
class FailureRow:
    """One distinct failure: which check, where, the violation (evidence) and how to reproduce it."""

    check: str
    code: str
    operation: str
    phase: str
    title: str  # schemathesis' title of the failure (e.g. "Custom check failed: `rule`")
    violation: Violation
    curl: str
    status: int = 0  # the failing answer's status code (0: none recorded)

    @property
    def message(self) -> str:
        """The violation as every report prints it."""
        return self.violation.text()

    def to_json(self) -> dict[str, Any]:
        """The typed record ``report.json`` holds: where, the violation's fields, the curl line."""
        return {"check": self.check, "code": self.code, "operation": self.operation, "phase": self.phase,
                "status": self.status, **self.violation.to_json(), "curl": self.curl}


@dataclass(frozen=True)
class Report:
    """Counts per phase/mode, per operation and per check, and the distinct failures."""

    cases_per_phase: dict[str, Counter[str]]  # phase -> {"positive": n, "negative": m}
    operations: dict[str, Counter[str]]  # label -> {"cases": n, "failed": m}
    checks: dict[str, Counter[str]]  # check -> {"success": n, "failure": m, "skip": k}
    failures: tuple[FailureRow, ...]
    summary: dict[str, Any] = field(default_factory=dict)  # schemathesis' JSON run report
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)  # response status codes seen

    @property
    def total_cases(self) -> int:
        return sum(sum(c.values()) for c in self.cases_per_phase.values())


def _events(path: Path) -> Iterator[tuple[str, dict[str, Any]]]:
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                event = json.loads(line)
            except ValueError:
                continue  # a line still being written
            if isinstance(event, dict) and len(event) == 1:
                ((name, payload),) = event.items()
                yield name, payload


def _decode(body: Any) -> bytes | None:
    if isinstance(body, dict) and "$base64" in body:
        return base64.b64decode(body["$base64"])
    if isinstance(body, str):
        return body.encode("utf-8")
    return None


def _operation(case: dict[str, Any], fallback: str) -> str:
    value = case.get("value", {})
    method, path = value.get("method", ""), value.get("path", "")
    if not path:
        return fallback
    return f"{method} {path}" if method == "PUT" else f"other methods {path}"


def _records(path: Path, creds: Credentials | None) -> dict[tuple[str, str], Violation]:
    """The child's violation records by (case id, rule), secrets redacted."""
    return {key: replace(v, sent=redact(v.sent, creds), received=redact(v.received, creds),
                         expected=redact(v.expected, creds), url=redact(v.url, creds))
            for key, v in read_records(path).items()}


def _built_in(name: str, failure: dict[str, Any], request: dict[str, Any], case_id: str,
              creds: Credentials | None) -> Violation:
    """A failure of a schemathesis built-in check, which records nothing of ours: its title and message."""
    return Violation(name, "", str(failure.get("title", "")), received=redact(str(failure.get("message", "")), creds),
                     method=str(request.get("method", "")), url=redact(str(request.get("uri", "")), creds),
                     case_id=case_id)


def read_report(ndjson: Path, json_report: Path, *, creds: Credentials | None,
                curl: Callable[..., str]) -> Report | None:
    """Parse the reports (and add the typed failures to ``json_report``); None when schemathesis wrote no event
    stream."""
    if not ndjson.exists():
        return None
    records = _records(ndjson.with_name(VIOLATIONS_FILE), creds)
    phases: dict[str, Counter[str]] = {p: Counter() for p in PHASES}
    operations: dict[str, Counter[str]] = defaultdict(Counter)
    checks: dict[str, Counter[str]] = defaultdict(Counter)
    failures: dict[tuple[str, str, str], FailureRow] = {}
    requests = 0
    statuses: Counter[int] = Counter()
    for name, payload in _events(ndjson):
        if name != "ScenarioFinished":
            continue
        phase = payload.get("phase", "")
        recorder = payload.get("recorder", {})
        label = recorder.get("label", "")
        cases = recorder.get("cases", {})
        interactions = recorder.get("interactions", {})
        requests += len(interactions)
        statuses.update((i.get("response") or {}).get("status_code", 0) for i in interactions.values())
        for case_id, case in cases.items():
            meta = case.get("value", {}).get("meta") or {}
            mode = (meta.get("generation") or {}).get("mode", "positive")
            phases.setdefault(phase, Counter())[mode] += 1
            op = _operation(case, label)
            operations[op]["cases"] += 1
            case_failed = False
            for result in recorder.get("checks", {}).get(case_id, []):
                checks[result["name"]][result["status"]] += 1
                if result["status"] != "failure":
                    continue
                case_failed = True
                failure = (result.get("failure_info") or {}).get("failure", {})
                interaction = interactions.get(case_id) or {}
                request = interaction.get("request") or {}
                violation = records.get((case_id, result["name"]))
                if violation is None:
                    violation = _built_in(result["name"], failure, request, case_id, creds)
                    key = (result["name"], op, violation.summary + violation.received.split("\n", 1)[0])
                else:
                    key = (result["name"], op, violation.summary)
                if key in failures:
                    continue
                headers = {k: v[0] if isinstance(v, list) else v for k, v in (request.get("headers") or {}).items()}
                line = curl(request.get("method", "PUT"), request.get("uri", ""), headers,
                            _decode(request.get("body")), creds) if request else ""
                failures[key] = FailureRow(result["name"], failure.get("code", ""), op, phase,
                                           failure.get("title", ""), violation, line,
                                           (interaction.get("response") or {}).get("status_code", 0))
            operations[op]["failed"] += case_failed
    summary: dict[str, Any] = {}
    if json_report.exists():
        try:
            summary = json.loads(json_report.read_text(encoding="utf-8"))
        except ValueError:
            summary = {}
        if isinstance(summary, dict):
            summary["violations"] = [f.to_json() for f in failures.values()]
            json_report.write_text(redact(json.dumps(summary, indent=2, ensure_ascii=False), creds), encoding="utf-8")
    return Report({k: v for k, v in phases.items()}, dict(operations), dict(checks),
                  tuple(failures.values()), summary, requests, statuses)


class LiveCounter:
    """Incrementally tails the NDJSON stream for the progress display: current phase, cases and failures."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.offset = 0
        self.phase = ""
        self.counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])

    def poll(self) -> tuple[str, dict[str, tuple[int, int]]]:
        if self.path.exists():
            with self.path.open("rb") as fh:
                fh.seek(self.offset)
                chunk = fh.read()
            complete = chunk.rfind(b"\n") + 1
            self.offset += complete
            for raw in chunk[:complete].splitlines():
                try:
                    event = json.loads(raw)
                except ValueError:
                    continue
                if "PhaseStarted" in event:
                    self.phase = event["PhaseStarted"]["phase"]["name"]
                elif "ScenarioFinished" in event:
                    payload = event["ScenarioFinished"]
                    entry = self.counts[payload.get("phase", "")]
                    entry[0] += len(payload.get("recorder", {}).get("cases", {}))
                    entry[1] += payload.get("status") == "failure"
        return self.phase, {k: (v[0], v[1]) for k, v in self.counts.items()}
