"""`talon-harness selftest`: measure how well the harness finds the refserver's catalogued faults.

For every (fault, seed) - and for the correct server, fault "" - `run_selftest` starts a fresh
`ServerProcess(faults=[fault])` in a fresh working folder and runs, escalating until something fails:
`run_check` (the witness phase, then schemathesis + domain checks; requests to the first failure count from
the first witness request; with ``oracle`` a second column runs the same with ``--oracle``, whose reference
judges the witness phase too, and replays the regression file it emits), then the harness probes (`harness.probes`), then, for
performance faults and the correct server, a short `run_load` judged by SLOs. The faults are the API's
catalogue (:func:`catalogue`): ``FAULTS`` for a v1 revision, ``V2_FAULTS`` for v2 (D36), whose runs check the
v2 contract with the v2 rules and load v2 journeys (the probes are v1's and are not run on v2). Beside it, on another
fresh server, the baseline: plain ``st run`` (its defaults, the same contract, seed and budget, no
example database, its own empty cwd). Both stop at the first failure (``max-failures = 1`` in a
``schemathesis.toml`` in the run's own folder), so the time of a faulty run is its time to detection.

Guarantees: no state is shared between runs (fresh server database, report folder and cwd; the
example database is off). `SelftestResult.passed` is False when our detection rate is below
``threshold`` or any tool fails on the correct server; a correct-server run of ours that could not
complete is a harness error (`SelftestResult.exit_code` 2), never "clean".
"""

from __future__ import annotations

import dataclasses
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from talon_harness.contracts.spec import CONTRACT_FILES, DEFAULT_API, server_revision
from talon_harness.harness.check import CheckConfig, run_check
from talon_harness.harness.probes import (
    ProbeResult,
    acknowledged_write_durable,
    concurrent_closes_all_counted,
    invalid_bodies_rejected,
)
from talon_harness.harness.target import check_credentials
from talon_harness.refserver import ServerProcess
from talon_harness.refserver.faults import FAULTS, V2_FAULTS, Fault
from talon_harness.strategies.wire import Credentials

__all__ = ["Detection", "SelftestConfig", "SelftestResult", "first_failure", "run_selftest"]

CORRECT = ""  # the fault name of the correct server
_ALL_FAULTS = {**FAULTS, **V2_FAULTS}
ORACLE_TOOL = "talon-harness --oracle"  # the oracle column: check --oracle (+ the same probes and load)
_STOP_AT_FIRST_FAILURE = "max-failures = 1\n"


@dataclass(frozen=True)
class SelftestConfig:
    """``faults`` empty means all of the API's catalogue (:func:`catalogue`); seeds are ``first_seed ..
    first_seed + seeds - 1``."""

    faults: tuple[str, ...] = ()
    seeds: int = 1
    first_seed: int = 0
    max_examples: int = 15
    max_time: float = 20.0
    load_seconds: float = 8.0
    threshold: float = 1.0
    baseline: bool = True
    report_dir: Path = Path("reports/selftest")
    oracle: bool = False  # also run `check --oracle` and replay the regression test it emits
    api: str = DEFAULT_API  # the API under test: the servers speak it, check and `st run` test its contract

    def chosen_faults(self) -> tuple[str, ...]:
        faults = catalogue(self.api)
        chosen = self.faults or tuple(faults)
        unknown = [f for f in chosen if f not in faults]
        if unknown:
            raise ValueError(f"unknown fault(s) {unknown} for --api {self.api}; valid faults: {', '.join(faults)}")
        return chosen


@dataclass(frozen=True)
class Detection:
    """One tool on one server: did it fail, by which checks/probes/SLOs, after how many requests/seconds."""

    tool: str  # "talon-harness" or "schemathesis"
    fault: str  # CORRECT for the correct server
    seed: int
    detected: bool
    by: tuple[str, ...]
    requests: int | None  # requests up to and including the first failing one
    seconds_to_failure: float | None
    seconds: float
    note: str = ""
    regression: str = ""  # the pytest file emitted for the first failure (oracle column)
    regression_fails_on_fault: bool | None = None
    regression_passes_on_correct: bool | None = None
    completed: bool = True  # False: the tool could not run to its verdict (check exit 2); see ``note``


@dataclass(frozen=True)
class SelftestResult:
    """``harness_errors``: runs on the correct server that did not complete; then nothing is known about
    false positives, so the selftest did not do its job (`exit_code` 2), whatever the detection rate."""

    rows: tuple[Detection, ...]
    detection_rate: float
    baseline_rate: float | None
    correct_server_clean: bool
    passed: bool
    json_path: Path
    summary: dict[str, Any] = field(default_factory=dict)
    harness_errors: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        """2 when a correct-server run did not complete, else 0 passed, 1 failed."""
        return 2 if self.harness_errors else 0 if self.passed else 1


def first_failure(ndjson: Path) -> tuple[int | None, float | None, tuple[str, ...], int]:
    """From a schemathesis NDJSON stream: (requests to the first failing response, seconds from the run
    start to it, the checks that failed on it, total requests)."""
    if not ndjson.exists():
        return None, None, (), 0
    start: float | None = None
    rows: list[tuple[float, tuple[str, ...]]] = []
    for line in ndjson.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
        except ValueError:
            continue
        if not isinstance(event, dict) or len(event) != 1:
            continue
        ((name, payload),) = event.items()
        stamp = payload.get("timestamp") if isinstance(payload, dict) else None
        if start is None and isinstance(stamp, (int, float)):
            start = stamp
        if name != "ScenarioFinished":
            continue
        recorder = payload.get("recorder", {})
        for case_id, interaction in (recorder.get("interactions") or {}).items():
            failed = tuple(r["name"] for r in recorder.get("checks", {}).get(case_id, []) if r.get("status") == "failure")
            rows.append((interaction.get("timestamp", 0.0), failed))
    rows.sort(key=lambda r: r[0])
    for index, (stamp, failed) in enumerate(rows):
        if failed:
            return index + 1, stamp - (start or stamp), failed, len(rows)
    return None, None, (), len(rows)


def _all_failed_checks(ndjson: Path) -> set[str]:
    names: set[str] = set()
    if ndjson.exists():
        for line in ndjson.read_text(encoding="utf-8", errors="replace").splitlines():
            if '"failure"' in line and "ScenarioFinished" in line:
                for results in json.loads(line)["ScenarioFinished"]["recorder"].get("checks", {}).values():
                    names.update(r["name"] for r in results if r.get("status") == "failure")
    return names


def _stop_at_first_failure(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "schemathesis.toml").write_text(_STOP_AT_FIRST_FAILURE)
    return folder


def _probe_row(seed: int, fault: str, started: float, before: int, probe: ProbeResult) -> Detection | None:
    if probe.passed:
        return None
    return Detection("talon-harness", fault, seed, True, (probe.rule,), before + probe.requests,
                     time.monotonic() - started, time.monotonic() - started, probe.detail)


def catalogue(api: str) -> dict[str, Fault]:
    """The faults ``selftest --api`` runs: ``V2_FAULTS`` for v2 (D36), ``FAULTS`` for a v1 revision."""
    return dict(V2_FAULTS if api == "v2" else FAULTS)


def _load_breaches(base_url: str, seconds: float, seed: int, folder: Path, api: str,
                   creds: Credentials | None = None) -> tuple[str, ...]:
    from talon_harness.loadtests.config import LoadConfig
    from talon_harness.loadtests.gates import SloSet
    from talon_harness.loadtests.run import run_load

    # slow_session_puts adds 50 ms to every session PUT, so the median shows it; the median (not p95) keeps
    # the correct server under the limit on a slow or busy machine, where a short run's p95 is its maximum
    slo = SloSet.from_mapping({"overall": {"error_ratio": 0.001, "p99_ms": 500},
                               "endpoints": {f"PUT /{'v2' if api == 'v2' else 'v1'}/customer_sessions/[id]":
                                             {"p50_ms": 45}}})
    result = run_load(LoadConfig(base_url=base_url, users=4, duration_s=seconds, slo=slo, seed=seed,
                                 report_dir=folder, api=api, credentials=creds))
    return tuple(result.breaches) if not result.passed else ()


def _ours(config: SelftestConfig, fault: str, seed: int, folder: Path, oracle: bool = False) -> Detection:
    started = time.monotonic()
    tool = ORACLE_TOOL if oracle else "talon-harness"
    creds = check_credentials(config.api, None, None)
    with ServerProcess(faults=[fault] if fault else [], quiet=True, api=server_revision(config.api),
                       api_key=creds.api_key if creds else None) as server:
        check = run_check(CheckConfig(base_url=server.base_url, credentials=creds, api=config.api,
                                      max_examples=config.max_examples,
                                      max_time=config.max_time, seed=seed, fresh_server=True, quiet=True,
                                      keep_events=True,
                                      report_dir=_stop_at_first_failure(folder / ("oracle" if oracle else "check")),
                                      oracle=oracle, replay_faults=(fault,) if fault else (),
                                      max_regressions=1 if oracle else 0,  # the oracle column replays it
                                      stop_after_witness_failure=True))
        if check.exit_code == 2:
            return Detection(tool, fault, seed, False, (), None, None,
                             time.monotonic() - started, f"check could not run: {check.message[:200]}",
                             completed=False)
        verdicts = _replayed(check.regressions, fault)
        witness = check.witness
        if witness is not None and witness.failures:  # the witness phase runs first; schemathesis did not run
            return Detection(tool, fault, seed, True, witness.failed_checks, witness.first_failure_request,
                             witness.seconds_to_first_failure, time.monotonic() - started, "witness phase",
                             str(check.regressions[0]) if check.regressions else "", *verdicts)
        requests, to_failure, failed, total = first_failure(check.report_dir / "events.ndjson")
        if witness is not None:  # requests and seconds count from the start of the witness phase
            total += witness.requests
            requests = None if requests is None else requests + witness.requests
            to_failure = None if to_failure is None else to_failure + witness.seconds
        if failed or check.failures:
            by = failed or tuple(sorted({f.check for f in check.report.failures})) if check.report else ()
            return Detection(tool, fault, seed, True, tuple(by), requests, to_failure,
                             time.monotonic() - started, "",
                             str(check.regressions[0]) if check.regressions else "", *verdicts)
        probes = (lambda: invalid_bodies_rejected(server.base_url, seed=seed),
                  lambda: concurrent_closes_all_counted(server.base_url),
                  lambda: acknowledged_write_durable(server))
        for probe in probes if config.api != "v2" else ():  # the probes speak v1
            row = _probe_row(seed, fault, started, total, probe())
            if row is not None:
                return dataclasses.replace(row, tool=tool)
        if not fault or catalogue(config.api)[fault].fault_class == "performance":
            breaches = _load_breaches(server.base_url, config.load_seconds, seed, folder / "load", config.api,
                                      creds)
            if breaches:
                return Detection(tool, fault, seed, True, ("load_slo",), None,
                                 time.monotonic() - started, time.monotonic() - started, "; ".join(breaches)[:300])
    return Detection(tool, fault, seed, False, (), None, None, time.monotonic() - started)


def _replayed(regressions: tuple[Path, ...], fault: str) -> tuple[bool | None, bool | None]:
    """For the first emitted regression file: (it failed on a fresh faulty server, it passed on a fresh correct
    one); (None, None) when none was emitted."""
    if not regressions:
        return None, None
    from talon_harness.harness.regressions import replay_verdicts

    return replay_verdicts(regressions[0], (fault,) if fault else ())


def _baseline(config: SelftestConfig, fault: str, seed: int, folder: Path, exclude: tuple[str, ...] = (),
              ) -> Detection:
    """Plain ``st run``; ``exclude``: checks that already fail on the correct server (false positives there),
    left out so that the first failure on a faulty server is one the fault caused. On v2 the server requires
    an API key, as ours does (D34), and ``st run`` gets it through its own config (``[auth.openapi.api_key_v1]``),
    the way a user of plain schemathesis would give it."""
    started = time.monotonic()
    cwd = folder / "schemathesis"
    if fault:
        _stop_at_first_failure(cwd)
    cwd.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SCHEMATHESIS_", "TALON_"))}
    creds = check_credentials(config.api, None, None)
    key = creds.api_key if creds else None
    if key and config.api == "v2":
        config_file = cwd / "schemathesis.toml"
        kept = config_file.read_text() if config_file.exists() else ""
        config_file.write_text(kept + f'[auth.openapi.api_key_v1]\napi_key = "ApiKey-v1 {key}"\n')
    with ServerProcess(faults=[fault] if fault else [], quiet=True, api=server_revision(config.api),
                       api_key=key) as server:
        argv = [sys.executable, "-P", "-m", "schemathesis.cli", "run", str(CONTRACT_FILES[config.api]), "--url",
                server.base_url,
                "--seed", str(seed), "--max-examples", str(config.max_examples),
                "--max-time", str(max(1, int(config.max_time))), "--generation-database", "none",
                "--report", "ndjson", "--report-dir", str(cwd), "--no-color"]
        if exclude:
            argv += ["--exclude-checks", ",".join(exclude)]
        try:
            proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  timeout=config.max_time + 120, check=False)
            code, output = proc.returncode, proc.stdout
        except subprocess.TimeoutExpired:
            code, output = 2, b"timed out"
    (cwd / "st.log").write_bytes(output)
    ndjson = next(cwd.glob("*.ndjson"), cwd / "missing.ndjson")
    requests, to_failure, failed, _ = first_failure(ndjson)
    note = "" if code in (0, 1) else f"st run exited {code}"
    if not fault:
        failed = tuple(sorted(_all_failed_checks(ndjson)))
    return Detection("schemathesis", fault, seed, code == 1 or bool(failed), failed, requests, to_failure,
                     time.monotonic() - started, note)


def _rate(rows: list[Detection], tool: str) -> float | None:
    faulty = [r for r in rows if r.tool == tool and r.fault != CORRECT]
    return sum(r.detected for r in faulty) / len(faulty) if faulty else None


def summarise(rows: list[Detection]) -> dict[str, Any]:
    """Median requests/seconds to first failure per fault class and tool (detected runs only)."""
    out: dict[str, Any] = {}
    for tool in ("talon-harness", ORACLE_TOOL, "schemathesis"):
        per_class: dict[str, Any] = {}
        for fault_class in dict.fromkeys(f.fault_class for f in _ALL_FAULTS.values()):
            chosen = [r for r in rows if r.tool == tool and r.fault and _ALL_FAULTS[r.fault].fault_class == fault_class]
            if not chosen:
                continue
            hits = [r for r in chosen if r.detected]
            reqs = [r.requests for r in hits if r.requests is not None]
            secs = [r.seconds_to_failure for r in hits if r.seconds_to_failure is not None]
            per_class[fault_class] = {
                "runs": len(chosen), "detected": len(hits),
                "median_requests_to_failure": statistics.median(reqs) if reqs else None,
                "median_seconds_to_failure": round(statistics.median(secs), 2) if secs else None,
            }
        if per_class:
            out[tool] = per_class
    return out


def run_selftest(config: SelftestConfig, *, progress: Any = None) -> SelftestResult:
    """Run every chosen fault (and the correct server) for every seed; see the module docstring."""
    faults = config.chosen_faults()
    report_dir = Path(config.report_dir).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    rows: list[Detection] = []
    excluded: dict[int, tuple[str, ...]] = {}
    for seed in range(config.first_seed, config.first_seed + config.seeds):
        for fault in (CORRECT, *faults):
            folder = Path(tempfile.mkdtemp(prefix=f"{fault or 'correct'}-s{seed}-", dir=report_dir))
            rows.append(_ours(config, fault, seed, folder))
            if progress:
                progress(rows[-1])
            if config.oracle:
                rows.append(_ours(config, fault, seed, folder, oracle=True))
                if progress:
                    progress(rows[-1])
            if config.baseline:
                rows.append(_baseline(config, fault, seed, folder, excluded.get(seed, ())))
                if fault == CORRECT:
                    excluded[seed] = rows[-1].by
                if progress:
                    progress(rows[-1])
    ours_correct = [r for r in rows if r.fault == CORRECT and r.tool in ("talon-harness", ORACLE_TOOL)]
    errors = tuple(f"{'' if r.tool == 'talon-harness' else r.tool + ' '}seed {r.seed}: {r.note}"
                   for r in ours_correct if not r.completed)
    clean = not errors and not any(r.detected for r in ours_correct)
    rate = _rate(rows, "talon-harness") or 0.0
    summary = summarise(rows)
    json_path = report_dir / "selftest.json"
    payload = {"config": {**asdict(config), "report_dir": str(config.report_dir)},
               "detection_rate": rate, "baseline_rate": _rate(rows, "schemathesis"),
               "oracle_rate": _rate(rows, ORACLE_TOOL),
               "correct_server_clean": clean, "harness_errors": list(errors), "per_class": summary,
               "baseline_false_positive_checks": {str(k): v for k, v in excluded.items()},
               "faults": {name: asdict(_ALL_FAULTS[name]) for name in faults},
               "rows": [asdict(r) for r in rows]}
    json_path.write_text(json.dumps(payload, indent=2))
    return SelftestResult(tuple(rows), rate, _rate(rows, "schemathesis"), clean,
                          clean and rate >= config.threshold, json_path, summary, errors)
