"""`talon-harness check`: schemathesis' own engine (``st run`` in a subprocess) plus our domain checks.

``run_check(config)`` first runs the witness phase in-process (``contracts.witness``: a fixed sequence for
every decision of every domain rule, judged by the same checks), then all four schemathesis phases in
positive and negative mode with every built-in check and the
domain checks of ``contracts.checks`` (loaded through ``SCHEMATHESIS_HOOKS=contracts.hooks``), shows live
progress, bounds the run in time, writes JUnit/JSON/HTML/NDJSON reports into ``config.report_dir`` and
renders a summary: cases per phase, a table per operation and per check, and for every failure its
message, a ready-to-run curl command (API key as ``$TALON_API_KEY``) and the seed.

Before anything runs, one probe (``loadtests.probe``) must reach the target and have the credentials
accepted. Credentials reach the subprocess through environment variables only (never argv), and every report
file is scrubbed of them afterwards. Exit codes: 0 nothing failed, 1 a check failed or the target stopped
answering after it had answered, 2 the harness could not do its job (bad options, unreachable target,
credentials refused at the start or mid-run, schemathesis error, time limit, an operation without a single
generated case).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import random
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.live import Live
from rich.table import Table

from talon_harness.contracts.apis import witness_judges, witness_table
from talon_harness.contracts.checks import DOMAIN_CHECKS
from talon_harness.contracts.generation import generation_contract
from talon_harness.contracts.oracle import OracleRuntime, matches_reference
from talon_harness.contracts.settings import SETTINGS_ENV, CheckSettings
from talon_harness.contracts.spec import (
    API_NAMES,
    CONTRACT_FILES,
    DEFAULT_API,
    load_contract,
    server_revision,
)
from talon_harness.contracts.witness import (
    WitnessFailure,
    WitnessResult,
    reference_judge,
    run_witnesses,
)
from talon_harness.harness._check_report import LiveCounter, Report, read_report
from talon_harness.harness.console import PROGRESS_EVERY_S, make_console
from talon_harness.harness.preflight import wrong_target
from talon_harness.loadtests.probe import PROBE_TIMEOUT_S, REFUSED, api_mismatch, probe_target, refused_midway
from talon_harness.refserver import ServerProcess
from talon_harness.refserver.process import ServerStartError
from talon_harness.strategies.wire import CREDENTIALS_ENV, Credentials, auth_headers, credentials_env, redact

__all__ = ["BUDGETS", "BUILTIN_CHECKS", "EVENTS_FILE", "Budget", "CheckConfig", "CheckResult", "run_check"]

#: schemathesis' full event stream (about 0.4 MB per second of run), kept only with ``keep_events``
EVENTS_FILE = "events.ndjson"

BUILTIN_CHECKS: tuple[str, ...] = (
    "not_a_server_error", "status_code_conformance", "content_type_conformance", "response_headers_conformance",
    "response_schema_conformance", "negative_data_rejection", "positive_data_acceptance",
    "missing_required_header", "unsupported_method", "allow_header_conformance", "use_after_free",
    "ensure_resource_availability", "ignored_auth", "object_level_authorization",
)
ORACLE_CHECK: str = matches_reference.__name__


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
    keep_events: bool = False
    #: ``--oracle``: every request also goes to a fresh reference server (``contracts.oracle``), whose rule set
    #: is ``oracle_rules`` (the ``serve --rules`` format); ``oracle_exclude`` names fields left uncompared.
    oracle: bool = False
    oracle_rules: Path | None = None
    oracle_exclude: tuple[str, ...] = ()
    #: The target is a refserver the caller started with these faults (selftest, tests): regressions get a
    #: delta-debugging pass on fresh instances of it. None: a target the harness cannot restart.
    replay_faults: tuple[str, ...] | None = None
    max_regressions: int = 5
    witness: bool = True  # the witness phase (``contracts.witness``) runs first, with the API's sequences
    #: The API under test (``contracts.spec.API_NAMES``): its contract, its domain rules (``contracts.apis``).
    api: str = DEFAULT_API
    stop_after_witness_failure: bool = False  # selftest: time to detection, not a full report

    @property
    def oracle_effects(self) -> bool:
        """Effects and discounts are compared when both servers run the same rule set: the embedded target
        (``fresh_server``) or ``--oracle-rules``."""
        return self.fresh_server or self.oracle_rules is not None


@dataclass(frozen=True)
class CheckResult:
    """The outcome: exit code, seed, seconds, and the parsed report (None when schemathesis wrote none)."""

    exit_code: int
    seed: int
    seconds: float
    report: Report | None
    report_dir: Path
    message: str = ""
    regressions: tuple[Path, ...] = ()
    witness: WitnessResult | None = None

    @property
    def failures(self) -> int:
        return (len(self.report.failures) if self.report else 0) + (len(self.witness.failures) if self.witness else 0)


#: v2 (D34): the API key reaches schemathesis' own auth (``[auth.openapi.api_key_v1]`` of a config file that
#: names this variable, set in the child's environment only), so ``ignored_auth`` knows the credentials are
#: explicit and probes without them; v1 runs sign in ``contracts.hooks.before_call`` instead (D2's HMAC).
V2_AUTH_ENV = "TALON_HARNESS_V2_AUTHORIZATION"
_V2_AUTH_CONFIG = f'[auth.openapi.api_key_v1]\napi_key = "${{{V2_AUTH_ENV}}}"\n'


def _v2_auth(config: CheckConfig) -> bool:
    return config.api == "v2" and config.credentials is not None and bool(config.credentials.api_key)


def _argv(config: CheckConfig, seed: int, paths: dict[str, Path]) -> list[str]:
    argv = [sys.executable, "-P", "-m", "schemathesis.cli"]
    if _v2_auth(config):
        auth_file = paths["dir"] / "schemathesis.auth.toml"
        auth_file.write_text(_V2_AUTH_CONFIG, encoding="utf-8")
        argv += ["--config-file", str(auth_file)]
    argv += ["run", str(paths["contract"]), "--url", config.base_url,
            "--seed", str(seed), "--max-examples", str(config.max_examples), "--workers", str(config.workers),
            "--max-time", str(max(1, int(config.max_time))), "--mode", config.mode,
            "--phases", ",".join(config.phases), "--generation-database", "none",
            "--request-timeout", str(config.request_timeout), "--suppress-health-check", "all",
            "--report", "junit,json,ndjson,html", "--report-dir", str(paths["dir"]),
            "--report-junit-path", str(paths["junit"]), "--report-json-path", str(paths["json"]),
            "--report-ndjson-path", str(paths["ndjson"]), "--report-html-path", str(paths["html"]),
            "--no-color", "--warnings", "off"]
    checks, excluded = config.checks, config.exclude_checks
    if config.oracle:  # the D1 probe of failed_request_changes_nothing would reach the target only: the oracle's
        checks = (*checks, ORACLE_CHECK) if checks else ()  # own read-back (to both servers) replaces it
        excluded = (*excluded, "failed_request_changes_nothing")
    if checks:
        argv += ["--checks", ",".join(checks)]
    if excluded:
        argv += ["--exclude-checks", ",".join(excluded)]
    if config.baseline is not None:
        argv += ["--baseline", str(Path(config.baseline).resolve())]
        if config.baseline_update:
            argv.append("--baseline-update")
    return argv


def _env(config: CheckConfig, seed: int, journal: Path | None = None, oracle_url: str | None = None,
         ) -> dict[str, str]:
    """The child's environment: ours minus any settings or credentials of ours, plus this run's."""
    env = {k: v for k, v in os.environ.items() if k not in (SETTINGS_ENV, CREDENTIALS_ENV)}
    settings = CheckSettings(
        fresh=config.fresh_server, workers=config.workers, seed=seed, api=config.api,
        journal=str(journal) if journal is not None else None, oracle_url=oracle_url,
        oracle_exclude=config.oracle_exclude if oracle_url else (),
        oracle_effects=oracle_url is not None and config.oracle_effects)
    env.update(SCHEMATHESIS_HOOKS="talon_harness.contracts.hooks", **settings.to_env(),
               **credentials_env(config.credentials))
    if _v2_auth(config) and config.credentials is not None:
        env[V2_AUTH_ENV] = f"ApiKey-v1 {config.credentials.api_key}"
    return env


def _validate(config: CheckConfig) -> str | None:
    if config.api not in API_NAMES:
        return f"unknown API {config.api!r}; known: {', '.join(API_NAMES)}"
    if config.oracle and config.api == "v2":
        return "--oracle compares v1 answers only: it has no v2 reference comparison yet"
    known = set(BUILTIN_CHECKS) | set(DOMAIN_CHECKS) | {ORACLE_CHECK, "all"}
    unknown = sorted(set(config.checks) | set(config.exclude_checks) - known)
    unknown = [c for c in unknown if c not in known]
    if unknown:
        return f"unknown check(s) {unknown}; known: {sorted(known - {'all'})}"
    if config.baseline is not None and not config.baseline_update and not Path(config.baseline).exists():
        return f"baseline file {config.baseline} does not exist"
    if config.max_examples < 1 or config.max_time < 1 or config.workers < 1:
        return "max_examples, max_time and workers must be >= 1"
    if config.oracle_rules is not None:
        from talon_harness.refserver import RuleSet

        try:
            RuleSet.from_file(config.oracle_rules)
        except (OSError, ValueError, TypeError, KeyError) as exc:
            return f"--oracle-rules {config.oracle_rules}: {exc}"
    if (config.oracle_rules is not None or config.oracle_exclude) and not config.oracle:
        return "--oracle-rules and --oracle-exclude need --oracle"
    return None


@contextlib.contextmanager
def _oracle_server(config: CheckConfig) -> Iterator[str | None]:
    """A fresh reference server with the target's credentials and the oracle rule set (or None)."""
    if not config.oracle:
        yield None
        return
    creds = config.credentials
    with ServerProcess(api_key=creds.api_key if creds else None, hmac_key=creds.hmac_key if creds else None,
                       application_id=(creds.hmac_application_id if creds else None) or 1,
                       rules_file=config.oracle_rules, quiet=True, api=server_revision(config.api)) as server:
        yield server.base_url


def _refused_midway(config: CheckConfig, report: Report | None) -> tuple[str, Report | None] | None:
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


def _generation_view(config: CheckConfig, report_dir: Path) -> Path:
    """The contract schemathesis reads: the generation view (``contracts.generation``) with one worker, the
    contract as written with several (schemathesis 4.32.5's coverage phase then hits an internal Hypothesis
    "Inconsistent results" error on the view)."""
    if config.workers == 1:
        return generation_contract(report_dir / "contract.generation.yaml", config.api)
    return CONTRACT_FILES[config.api]


def _untested_operations(report: Report, api: str) -> list[str]:
    """The contract's operations for which no case was generated (nothing was tested there)."""
    expected = [f"{method.upper()} {path}" for path, item in load_contract(api)["paths"].items() for method in item
                if method in ("get", "put", "post", "patch", "delete")]
    return [op for op in expected if op not in report.operations or not report.operations[op]["cases"]]


#: the requests exceptions schemathesis reports (``NonFatalError``) when the target did not answer fully
_NETWORK_ERRORS = ("ReadTimeout", "ConnectTimeout", "Timeout", "ConnectionError", "ChunkedEncodingError")


def _network_failure(ndjson: Path, report: Report, request_timeout: float) -> tuple[int, str] | None:
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
    console = console or make_console(quiet=config.quiet)
    started = time.monotonic()
    seed = config.seed if config.seed is not None else random.randrange(2**31)
    problem = _validate(config)
    if problem:
        console.print(f"[red]error:[/red] {problem}", soft_wrap=True, highlight=False)
        return _published(CheckResult(2, seed, 0.0, None, config.report_dir, problem), config.base_url)
    unreachable = _unfit_target(config)
    if unreachable:
        console.print(f"[red]error:[/red] {unreachable}", soft_wrap=True, highlight=False)
        return _published(CheckResult(2, seed, time.monotonic() - started, None, config.report_dir, unreachable),
                          config.base_url)
    report_dir = Path(config.report_dir).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:  # the oracle's reference server serves both the witness phase and st run
        try:
            oracle_url = stack.enter_context(_oracle_server(config))
        except (ServerStartError, OSError) as exc:  # the harness cannot do its job
            problem = f"the oracle reference server did not start: {str(exc).splitlines()[0]}"
            console.print(f"[red]error:[/red] {problem}", soft_wrap=True, highlight=False)
            return _published(CheckResult(2, seed, time.monotonic() - started, None, config.report_dir, problem),
                              config.base_url)
        return _phases(config, console, seed, started, report_dir, oracle_url)


def _unfit_target(config: CheckConfig) -> str | None:
    """Why the target cannot be checked (one line), or None: unreachable or refusing the credentials
    (``probe_target``), not speaking ``config.api`` while it answers another API (``api_mismatch``), or not a
    Talon.One server at all (``wrong_target``, v1's probe; for v2 a target that answers none of the APIs)."""
    timeout = min(config.request_timeout, PROBE_TIMEOUT_S)
    probe = probe_target(config.base_url, config.credentials, timeout=timeout)
    if probe.problem:
        return probe.problem
    mismatch = api_mismatch(config.base_url, config.api, config.credentials, timeout=timeout)
    if mismatch or config.api == "v2":  # wrong_target asks v1's questions
        return mismatch
    return wrong_target(config.base_url, creds=config.credentials, timeout=timeout)


def _phases(config: CheckConfig, console: Console, seed: int, started: float, report_dir: Path,
            oracle_url: str | None) -> CheckResult:
    """The witness phase, then ``st run``; ``oracle_url``: the reference server of ``--oracle`` (or None)."""
    witness = None
    if config.witness:
        if not config.quiet:
            console.print("witness phase: a fixed sequence for every decision of every domain rule ...")
        judges = witness_judges(config.api)
        if oracle_url is not None:
            judges = (*judges, reference_judge(OracleRuntime(
                oracle_url, exclude=config.oracle_exclude, effects=config.oracle_effects, fresh=config.fresh_server,
                timeout=config.request_timeout)))
        only = () if "all" in config.checks else config.checks
        try:
            witness = run_witnesses(config.base_url, credentials=config.credentials,
                                    timeout=config.request_timeout, judges=judges,
                                    stop_at_first_failure=config.stop_after_witness_failure,
                                    only=(*only, ORACLE_CHECK) if only and oracle_url else only,
                                    exclude=config.exclude_checks, table=witness_table(config.api))
        except KeyboardInterrupt:
            why = "interrupted (Ctrl-C) in the witness phase: the run did not finish"
            console.print(f"[red]{why}[/red]")
            return _published(CheckResult(130, seed, time.monotonic() - started, None, report_dir, why),
                              config.base_url)
        _write_witness(report_dir / "witness.json", witness, config.credentials)
        if witness.error or (witness.failures and config.stop_after_witness_failure):
            code, why = (1, "")
            if witness.stopped_answering:  # answers, then silence: the target failed, the harness did not
                why = witness.error
            elif witness.error:
                code, why = 2, f"witness phase could not test the target: {witness.error}"
            written = _regressions(config, code, report_dir, None, None, console, witness)
            return _finish(console, CheckResult(code, seed, time.monotonic() - started, None, report_dir, why,
                                                written, witness), config)
    paths = {"dir": report_dir, "junit": report_dir / "junit.xml", "json": report_dir / "report.json",
             "ndjson": report_dir / EVENTS_FILE, "html": report_dir / "html",
             "contract": _generation_view(config, report_dir)}
    for stale in ("junit", "json", "ndjson"):
        paths[stale].unlink(missing_ok=True)
    journal = report_dir / "journal.ndjson"
    journal.unlink(missing_ok=True)
    log_path = report_dir / "schemathesis.log"
    hard_limit = config.max_time + 60 + config.request_timeout
    message = ""
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(log_path.open("wb"))
        process = subprocess.Popen(_argv(config, seed, paths), env=_env(config, seed, journal, oracle_url),
                                   cwd=report_dir, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            counter = LiveCounter(paths["ndjson"])
            with _progress_display(console) as show:
                while process.poll() is None:
                    show(counter, time.monotonic() - started, config.max_time, seed)
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
        exit_code, message = _network_failure(paths["ndjson"], report, config.request_timeout) or (
            2, "schemathesis could not test the target: " + "; ".join(
                sorted({str(e.get("title") or e.get("message") or e)[:160] for e in report.summary["errors"]})))
    elif returncode == 0 and (untested := _untested_operations(report, config.api)):
        exit_code = 2  # no PASS without evidence
        message = f"no case was generated for {', '.join(untested)}: nothing was tested there"
    else:  # schemathesis' verdict: failures accepted by --baseline do not fail the run
        exit_code = returncode
    if exit_code == 0 and witness is not None and _new_witness_failures(config, witness):
        exit_code = 1
    if exit_code == 1 and (midway := _refused_midway(config, report)):
        (message, report), exit_code = midway, 2  # the run could not be completed: the harness's problem
    written = _regressions(config, exit_code, report_dir, paths["ndjson"], journal, console, witness)
    _keep_or_drop_events(paths, config.keep_events)
    if not config.keep_events:  # the request journal only feeds the regressions written above
        journal.unlink(missing_ok=True)
    return _finish(console, CheckResult(exit_code, seed, seconds, report, report_dir, message, written, witness),
                   config)


def _regressions(config: CheckConfig, exit_code: int, report_dir: Path, ndjson: Path | None, journal: Path | None,
                 console: Console, witness: WitnessResult | None) -> tuple[Path, ...]:
    """After a failed run: one replayable sequence per failure (pytest file + curl script) in regressions/, the
    witness phase's failures first (its journal), then schemathesis' (``ndjson`` + the run's ``journal``)."""
    if exit_code != 1 or config.max_regressions <= 0:
        return ()
    from talon_harness.harness.regressions import ReplayTarget, write_regressions

    directory = report_dir / "regressions"
    earlier = ([(f.check, f.case_id, f"witness {f.witness} ({f.step}): {f.message.splitlines()[0]}")
                for f in witness.failures], list(witness.journal)) if witness else ([], [])
    written = write_regressions(
        ndjson, journal, directory, creds=config.credentials,
        target=ReplayTarget(config.replay_faults, config.oracle_rules, config.oracle_exclude,
                            effects=config.oracle_effects),
        limit=config.max_regressions, witness_failures=earlier[0], witness_steps=earlier[1],
        note=lambda text: console.print(f"regression {text}", soft_wrap=True))
    _scrub(directory, config.credentials)
    if written:
        console.print(f"regressions: {len(written)} replayable sequence(s) in {directory} "
                      "(pytest file + curl script each; run with TALON_BASE_URL=<server>)", soft_wrap=True)
    return written


def _finish(console: Console, result: CheckResult, config: CheckConfig) -> CheckResult:
    """Write report.html, print the summary, publish it to the CI (``$GITHUB_STEP_SUMMARY``)."""
    from talon_harness.harness._check_render import render
    from talon_harness.harness.html_report import write_check_report

    write_check_report(result, base_url=config.base_url)
    render(console, result.report, seed=result.seed, seconds=result.seconds, exit_code=result.exit_code,
           message=result.message, report_dir=result.report_dir, base_url=config.base_url, witness=result.witness,
           creds=config.credentials, curl=curl_for)
    return _published(result, config.base_url, config.credentials)


def _published(result: CheckResult, base_url: str, creds: Credentials | None = None) -> CheckResult:
    from talon_harness.harness.summary import check_summary, publish

    def curl(f: WitnessFailure) -> str:
        return curl_for(f.method, f.url, f.headers, f.body, creds)

    publish(*check_summary(result, base_url=base_url, curl=curl))
    return result


def _keep_or_drop_events(paths: dict[str, Path], keep: bool) -> None:
    """schemathesis' event stream (tens of MB) feeds the progress display and the summary; once read it
    is removed unless ``keep`` (the report dir then fits a CI artifact)."""
    if not keep:
        paths["ndjson"].unlink(missing_ok=True)


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
    _keep_or_drop_events(paths, config.keep_events)
    return _finish(console, CheckResult(130, seed, seconds, report, paths["dir"], message, witness=witness), config)


@contextlib.contextmanager
def _progress_display(console: Console) -> Iterator[Callable[[LiveCounter, float, float, int], None]]:
    """A live table on a terminal; elsewhere (CI logs) one plain line every ``PROGRESS_EVERY_S`` seconds;
    nothing (the event stream is not even read) on a quiet console."""
    if console.quiet:
        yield lambda counter, elapsed, budget, seed: None
        return
    if console.is_terminal:
        with Live(console=console, refresh_per_second=4, transient=True) as live:
            yield lambda counter, elapsed, budget, seed: live.update(_progress(counter, elapsed, budget, seed))
        return
    last = [-PROGRESS_EVERY_S]

    def line(counter: LiveCounter, elapsed: float, budget: float, seed: int) -> None:
        if elapsed - last[0] < PROGRESS_EVERY_S:
            return
        phase, counts = counter.poll()
        last[0] = elapsed
        cases = sum(c for c, _ in counts.values())
        failed = sum(f for _, f in counts.values())
        console.print(f"check {elapsed:5.1f}s / ~{budget:.0f}s  phase={phase or 'starting'}  cases={cases}  "
                      f"failed={failed}  seed={seed}", markup=False, highlight=False)

    yield line


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
