"""`talon-harness check`: schemathesis' own engine (``st run`` in a subprocess) plus our domain checks.

``run_check(config)`` first runs the witness phase in-process (``contracts.witness``: a fixed sequence for
every decision of every domain rule, judged by the same checks), then all four schemathesis phases in positive and negative mode with every built-in check and the
domain checks of ``contracts.checks`` (loaded through ``SCHEMATHESIS_HOOKS=contracts.hooks``), shows live
progress, bounds the run in time, writes JUnit/JSON/HTML/NDJSON reports (and ``witness.json``) into ``config.report_dir`` and
renders a summary: cases per phase, a table per operation and per check, and for every failure its
message, a ready-to-run curl command (API key as ``$TALON_API_KEY``) and the seed.

Credentials reach the subprocess through environment variables only (never argv), and every report file
is scrubbed of them afterwards. Exit codes: 0 nothing failed, 1 a check failed, 2 the harness could not do
its job (bad options, unreachable target, schemathesis error, time limit).
"""

from __future__ import annotations

import json
import os
import random
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from rich.console import Console
from rich.live import Live
from rich.table import Table

from talon_harness.contracts.checks import DOMAIN_CHECKS
from talon_harness.contracts.spec import CONTRACT_FILE, load_contract
from talon_harness.contracts.witness import WitnessResult, run_witnesses
from talon_harness.harness._check_report import LiveCounter, Report, read_report
from talon_harness.strategies.wire import Credentials, auth_headers, redact

__all__ = ["BUDGETS", "BUILTIN_CHECKS", "Budget", "CheckConfig", "CheckResult", "run_check"]

BUILTIN_CHECKS: tuple[str, ...] = (
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance", "negative_data_rejection", "positive_data_acceptance",
    "missing_required_header", "unsupported_method", "allow_header_conformance", "use_after_free",
    "ensure_resource_availability", "ignored_auth", "object_level_authorization",
)


@dataclass(frozen=True)
class Budget:
    """How much generation a run may do: fuzzing cases per operation (and stateful scenarios), seconds."""

    max_examples: int
    max_time: float


#: ``ci`` fits a CI job; ``default`` is what `talon-harness check` runs (< 2 minutes on a laptop).
BUDGETS: dict[str, Budget] = {
    "ci": Budget(max_examples=15, max_time=30),
    "default": Budget(max_examples=40, max_time=90),
    "thorough": Budget(max_examples=300, max_time=900),
}


@dataclass(frozen=True)
class CheckConfig:
    """Everything `run_check` needs. ``fresh_server``: the target started empty (the embedded server),
    which lets the model treat unseen ids as absent and check creation rules for them."""

    base_url: str
    credentials: Credentials | None = None
    max_examples: int = BUDGETS["default"].max_examples
    max_time: float = BUDGETS["default"].max_time
    seed: int | None = None
    workers: int = 1
    checks: tuple[str, ...] = ()
    exclude_checks: tuple[str, ...] = ()
    baseline: Path | None = None
    baseline_update: bool = False
    report_dir: Path = Path("reports/check")
    fresh_server: bool = False
    phases: tuple[str, ...] = ("examples", "coverage", "fuzzing", "stateful")
    mode: str = "all"
    request_timeout: float = 10.0
    quiet: bool = False
    extra_env: tuple[tuple[str, str], ...] = field(default=())
    witness: bool = True
    stop_after_witness_failure: bool = False  # selftest: time to detection, not a full report


@dataclass(frozen=True)
class CheckResult:
    """The outcome: exit code, seed, seconds, and the parsed report (None when schemathesis wrote none)."""

    exit_code: int
    seed: int
    seconds: float
    report: Report | None
    report_dir: Path
    message: str = ""
    witness: WitnessResult | None = None

    @property
    def failures(self) -> int:
        return (len(self.report.failures) if self.report else 0) + (len(self.witness.failures) if self.witness else 0)


def generation_contract(path: Path) -> Path:
    """Write the contract as schemathesis should read it and return ``path``.

    Identical to ``integration-v1.yaml`` except that attribute values are spelled out two levels deep and
    any JSON below (``AttributeValueDepth8: {}``). The ten-level ``anyOf`` chain (D13) makes the coverage
    phase enumerate tens of thousands of nested permutations (20 s instead of 3 s for the same 225
    cases); response validation only gets looser, and depth limits are exercised by our edge bodies.
    """
    contract = load_contract()
    contract["components"]["schemas"]["AttributeValueDepth8"] = {
        "description": "talon-harness generation view: any JSON value below the second level (see D13)."}
    path.write_text(yaml.safe_dump(contract, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _argv(config: CheckConfig, seed: int, paths: dict[str, Path]) -> list[str]:
    argv = [sys.executable, "-m", "schemathesis.cli", "run", str(paths["contract"]), "--url", config.base_url,
            "--seed", str(seed), "--max-examples", str(config.max_examples), "--workers", str(config.workers),
            "--max-time", str(max(1, int(config.max_time))), "--mode", config.mode,
            "--phases", ",".join(config.phases), "--generation-database", "none",
            "--request-timeout", str(config.request_timeout), "--suppress-health-check", "all",
            "--report", "junit,json,ndjson,html", "--report-dir", str(paths["dir"]),
            "--report-junit-path", str(paths["junit"]), "--report-json-path", str(paths["json"]),
            "--report-ndjson-path", str(paths["ndjson"]), "--report-html-path", str(paths["html"]),
            "--no-color", "--warnings", "off"]
    if config.checks:
        argv += ["--checks", ",".join(config.checks)]
    if config.exclude_checks:
        argv += ["--exclude-checks", ",".join(config.exclude_checks)]
    if config.baseline is not None:
        argv += ["--baseline", str(Path(config.baseline).resolve())]
        if config.baseline_update:
            argv.append("--baseline-update")
    return argv


def _env(config: CheckConfig, seed: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TALON_CHECK_")}
    env.update(
        SCHEMATHESIS_HOOKS="talon_harness.contracts.hooks",
        TALON_CHECK_FRESH="1" if config.fresh_server else "0",
        TALON_CHECK_WORKERS=str(config.workers),
        TALON_CHECK_SEED=str(seed),
    )
    creds = config.credentials
    if creds is not None and creds.api_key:
        env["TALON_CHECK_API_KEY"] = creds.api_key
    if creds is not None and creds.hmac_key:
        env["TALON_CHECK_HMAC"] = f"{creds.hmac_application_id}:{creds.hmac_key}"
    env.update(dict(config.extra_env))
    return env


def _validate(config: CheckConfig) -> str | None:
    known = set(BUILTIN_CHECKS) | set(DOMAIN_CHECKS) | {"all"}
    unknown = sorted(set(config.checks) | set(config.exclude_checks) - known)
    unknown = [c for c in unknown if c not in known]
    if unknown:
        return f"unknown check(s) {unknown}; known: {sorted(known - {'all'})}"
    if config.baseline is not None and not config.baseline_update and not Path(config.baseline).exists():
        return f"baseline file {config.baseline} does not exist"
    if config.max_examples < 1 or config.max_time < 1 or config.workers < 1:
        return "max_examples, max_time and workers must be >= 1"
    return None


def _unreachable(base_url: str, timeout: float) -> str | None:
    """None when anything answers HTTP at ``base_url`` (any status), else why not."""
    import httpx

    try:
        httpx.get(base_url, timeout=min(timeout, 5.0))
    except httpx.HTTPError as exc:
        return f"target {base_url} is not reachable: {type(exc).__name__}: {exc}"
    return None


def _scrub(directory: Path, creds: Credentials | None) -> None:
    """Remove every secret from every report file (binary-safe)."""
    if creds is None or not creds.secrets():
        return
    for path in directory.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for secret in sorted(creds.secrets(), key=len, reverse=True):
                data = data.replace(secret.encode(), b"[REDACTED]")
            path.write_bytes(data)


def curl_for(method: str, url: str, headers: dict[str, str], body: bytes | None, creds: Credentials | None) -> str:
    """A ready-to-run curl line; the API key is left to ``$TALON_API_KEY``, the HMAC signature recomputed."""
    parts = ["curl", "-sS", "-X", method]
    shown = {k: v for k, v in headers.items() if k.lower() not in ("authorization", "content-signature",
                                                                  "content-length", "user-agent", "accept",
                                                                  "accept-encoding", "connection")}
    signed = auth_headers(creds, body or b"") if creds else {}
    for name, value in shown.items():
        parts += ["-H", shlex.quote(f"{name}: {value}")]
    if creds is not None and creds.api_key:
        parts += ["-H", '"Authorization: ApiKey-v1 $TALON_API_KEY"']
    if "Content-Signature" in signed:
        parts += ["-H", shlex.quote(f"Content-Signature: {signed['Content-Signature']}")]
    if body:
        parts += ["--data-binary", _shell_bytes(body)]
    parts.append(shlex.quote(url))
    return redact(" ".join(parts), creds)


def _shell_bytes(data: bytes) -> str:
    """Shell-quote bytes exactly: plain quoting for printable UTF-8, bash ``$'...'`` escapes otherwise."""
    try:
        text = data.decode("utf-8")
        if text.isprintable():
            return shlex.quote(text)
    except UnicodeDecodeError:
        pass
    escaped = "".join(chr(b) if 32 <= b < 127 and b not in (39, 92) else f"\\x{b:02x}" for b in data)
    return f"$'{escaped}'"


def run_check(config: CheckConfig, *, console: Console | None = None) -> CheckResult:
    """Run schemathesis with our hooks against ``config.base_url``, render the summary, return the result."""
    console = console or Console(stderr=False, quiet=config.quiet)
    started = time.monotonic()
    seed = config.seed if config.seed is not None else random.randrange(2**31)
    problem = _validate(config)
    if problem:
        console.print(f"[red]error:[/red] {problem}")
        return CheckResult(2, seed, 0.0, None, config.report_dir, problem)
    unreachable = _unreachable(config.base_url, config.request_timeout)
    if unreachable:
        console.print(f"[red]error:[/red] {unreachable}")
        return CheckResult(2, seed, time.monotonic() - started, None, config.report_dir, unreachable)
    report_dir = Path(config.report_dir).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    from talon_harness.harness._check_render import render

    witness = None
    if config.witness:
        if not config.quiet:
            console.print("witness phase: a fixed sequence for every decision of every domain rule ...")
        try:
            witness = run_witnesses(config.base_url, credentials=config.credentials,
                                    timeout=config.request_timeout,
                                    stop_at_first_failure=config.stop_after_witness_failure,
                                    only=() if "all" in config.checks else config.checks,
                                    exclude=config.exclude_checks)
        except KeyboardInterrupt:
            why = "interrupted (Ctrl-C) in the witness phase: the run did not finish"
            console.print(f"[red]{why}[/red]")
            return CheckResult(130, seed, time.monotonic() - started, None, report_dir, why)
        _write_witness(report_dir / "witness.json", witness, config.credentials)
        if witness.error or (witness.failures and config.stop_after_witness_failure):
            code, why = (2, f"witness phase could not test the target: {witness.error}") if witness.error else (1, "")
            render(console, None, seed=seed, seconds=time.monotonic() - started, exit_code=code, message=why,
                   report_dir=report_dir, base_url=config.base_url, witness=witness, creds=config.credentials,
                   curl=curl_for)
            return CheckResult(code, seed, time.monotonic() - started, None, report_dir, why, witness)
    paths = {"dir": report_dir, "junit": report_dir / "junit.xml", "json": report_dir / "report.json",
             "ndjson": report_dir / "events.ndjson", "html": report_dir / "html",
             # with several workers schemathesis 4.32.5's coverage phase hits an internal Hypothesis
             # "Inconsistent results" error on the generation view, so they get the contract as written
             "contract": generation_contract(report_dir / "contract.generation.yaml") if config.workers == 1
             else CONTRACT_FILE}
    for stale in ("junit", "json", "ndjson"):
        paths[stale].unlink(missing_ok=True)
    log_path = report_dir / "schemathesis.log"
    hard_limit = config.max_time + 60 + config.request_timeout
    message = ""
    with log_path.open("wb") as log:
        process = subprocess.Popen(_argv(config, seed, paths), env=_env(config, seed), cwd=report_dir,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            counter = LiveCounter(paths["ndjson"])
            with Live(console=console, refresh_per_second=4, transient=True) as live:
                while process.poll() is None:
                    live.update(_progress(counter, time.monotonic() - started, config.max_time, seed))
                    if time.monotonic() - started > hard_limit:
                        process.kill()
                        message = f"schemathesis did not finish within {hard_limit:.0f}s; stopped"
                    time.sleep(0.25)
        except KeyboardInterrupt:
            return _interrupted(config, process, seed, started, paths, console, witness)
        returncode = process.wait()
    _scrub(report_dir, config.credentials)
    seconds = time.monotonic() - started
    report = read_report(paths["ndjson"], paths["json"], creds=config.credentials, curl=curl_for)
    if message or report is None or returncode not in (0, 1):
        tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
        message = message or "schemathesis could not run: " + " | ".join(tail)
        exit_code = 2
    elif returncode == 1 and not report.failures and report.summary.get("errors"):
        exit_code = 2
        message = "schemathesis could not test the target: " + "; ".join(
            sorted({str(e.get("title") or e.get("message") or e)[:160] for e in report.summary["errors"]}))
    else:  # schemathesis' verdict: failures accepted by --baseline do not fail the run
        exit_code = returncode
    unaccepted = _new_witness_failures(config, witness) if witness is not None else []
    if exit_code == 0 and unaccepted:
        exit_code = 1
    render(console, report, seed=seed, seconds=seconds, exit_code=exit_code, message=message,
           report_dir=report_dir, base_url=config.base_url, witness=witness, creds=config.credentials, curl=curl_for)
    return CheckResult(exit_code, seed, seconds, report, report_dir, message, witness)


def _write_witness(path: Path, witness: WitnessResult, creds: Credentials | None) -> None:
    """The witness phase as JSON beside schemathesis' reports (secrets redacted)."""
    payload = {"requests": witness.requests, "puts": witness.steps, "seconds": round(witness.seconds, 3),
               "error": witness.error, "witnesses": {k: {"requests": r, "failed_requests": f}
                                                     for k, (r, f) in witness.witnesses.items()},
               "failures": [{"check": f.check, "witness": f.witness, "step": f.step, "request": f.request_number,
                             "message": f.message, "curl": curl_for(f.method, f.url, f.headers, f.body, creds)}
                            for f in witness.failures]}
    path.write_text(redact(json.dumps(payload, indent=1, ensure_ascii=False), creds), encoding="utf-8")


def _witness_baseline(baseline: Path) -> Path:
    return baseline.with_name(baseline.name + ".witness.json")


def _new_witness_failures(config: CheckConfig, witness: WitnessResult) -> list[str]:
    """Witness failures not accepted by ``--baseline`` (a ``<baseline>.witness.json`` list of
    ``check/witness/step`` beside schemathesis' file; ``--baseline-update`` rewrites it)."""
    keys = sorted({f"{f.check}/{f.witness}/{f.step}" for f in witness.failures})
    if config.baseline is None:
        return keys
    path = _witness_baseline(Path(config.baseline).resolve())
    if config.baseline_update:
        path.write_text(json.dumps(keys, indent=1) + "\n", encoding="utf-8")
        return []
    try:
        known = set(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        known = set()
    return [k for k in keys if k not in known]


def _interrupted(config: CheckConfig, process: subprocess.Popen[bytes], seed: int, started: float,
                 paths: dict[str, Path], console: Console, witness: WitnessResult | None) -> CheckResult:
    """Ctrl-C: stop schemathesis (it got the SIGINT too; give it a moment to flush its event stream), then
    summarise what ran so far. Exit code 130; a second Ctrl-C only skips the wait."""
    try:
        process.wait(timeout=3)
    except (subprocess.TimeoutExpired, KeyboardInterrupt):
        pass
    if process.poll() is None:
        process.kill()
        process.wait()
    _scrub(paths["dir"], config.credentials)
    seconds = time.monotonic() - started
    message = "interrupted (Ctrl-C): partial results, the run did not finish"
    report = read_report(paths["ndjson"], paths["json"], creds=config.credentials, curl=curl_for)
    from talon_harness.harness._check_render import render

    render(console, report, seed=seed, seconds=seconds, exit_code=130, message=message,
           report_dir=paths["dir"], base_url=config.base_url, witness=witness, creds=config.credentials,
           curl=curl_for)
    return CheckResult(130, seed, seconds, report, paths["dir"], message, witness)


def _progress(counter: LiveCounter, elapsed: float, budget: float, seed: int) -> Table:
    phase, counts = counter.poll()
    table = Table(title=f"talon-harness check  seed={seed}  {elapsed:5.1f}s / ~{budget:.0f}s budget",
                  title_justify="left", box=None)
    table.add_column("phase")
    table.add_column("cases", justify="right")
    table.add_column("failed", justify="right")
    for name in ("examples", "coverage", "fuzzing", "stateful"):
        cases, failed = counts.get(name, (0, 0))
        marker = "[bold cyan]>[/] " if name == phase else "  "
        table.add_row(marker + name, str(cases), str(failed))
    return table
