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

``config.max_time`` (``--max-time``) bounds both phases together, counted from the start of the witness phase
(the probe and the oracle's server before it are start-up): the witness phase stops sending at that deadline
(the step in flight finishes: its request and any read-back, each within the request timeout, which still
applies), and ``st run`` gets the whole seconds that remain (schemathesis' ``--max-time`` is an integer), at
least ``SCHEMATHESIS_FLOOR_S``; with less left it does not start. A check cut short this way never passes: the witnesses that ran are judged and the rest are named as
not run; with a failure it exits 1, without one 2, and either way one line says what did not run and which
``--max-time`` would do. So the whole check takes ``max_time`` plus the request in flight when it ends (one
request timeout at most; two for a witness step and its read-back), plus start-up (the interpreter, the probe,
``st run``'s own start-up and the report files).
"""

from __future__ import annotations

import contextlib
import dataclasses
import math
import random
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from talon_harness.contracts.apis import witness_judges, witness_table
from talon_harness.contracts.oracle import OracleRuntime
from talon_harness.contracts.spec import server_revision
from talon_harness.contracts.witness import WitnessFailure, WitnessResult, reference_judge, run_witnesses
from talon_harness.harness._check_baseline import new_witness_failures, write_witness
from talon_harness.harness._check_child import child_argv, child_env, generation_view
from talon_harness.harness._check_outcome import network_failure, refused_during_run, untested_operations
from talon_harness.harness._check_progress import progress_display
from talon_harness.harness._check_report import LiveCounter, read_report
from talon_harness.harness._check_secrets import curl_for, scrub
from talon_harness.harness.check_config import (
    BUDGETS,
    BUILTIN_CHECKS,
    EVENTS_FILE,
    ORACLE_CHECK,
    Budget,
    CheckConfig,
    CheckResult,
    validate,
)
from talon_harness.harness.console import make_console
from talon_harness.harness.preflight import wrong_target
from talon_harness.harness.target import reference_server
from talon_harness.loadtests.probe import PROBE_TIMEOUT_S, api_mismatch, probe_target
from talon_harness.refserver.process import ServerStartError
from talon_harness.strategies.wire import Credentials

#: the run's public names; the config and result types live in ``check_config`` and are re-exported here
__all__ = ["BUDGETS", "BUILTIN_CHECKS", "EVENTS_FILE", "SCHEMATHESIS_FLOOR_S", "Budget", "CheckConfig", "CheckResult",
           "run_check"]

#: the least of ``--max-time`` ``st run`` is started with: with less left after the witness phase, schemathesis
#: does not run (its ``--max-time`` is whole seconds, and 1 s is the least it takes) and the check cannot pass
SCHEMATHESIS_FLOOR_S = 1


@contextlib.contextmanager
def _oracle_server(config: CheckConfig) -> Iterator[str | None]:
    """A fresh reference server with the target's credentials and the oracle rule set (or None)."""
    if not config.oracle:
        yield None
        return
    with reference_server(config.credentials, rules_file=config.oracle_rules, quiet=True,
                          api=server_revision(config.api)) as server:
        yield server.base_url



def run_check(config: CheckConfig, *, console: Console | None = None) -> CheckResult:
    """Run schemathesis with our hooks against ``config.base_url``, render the summary, return the result."""
    console = console or make_console(quiet=config.quiet)
    started = time.monotonic()
    seed = config.seed if config.seed is not None else random.randrange(2**31)
    problem = validate(config)
    if problem:
        console.print(f"[red]Error:[/red] {problem}", soft_wrap=True, highlight=False)
        return _published(CheckResult(2, seed, 0.0, None, config.report_dir, problem), config.base_url)
    unreachable = _unfit_target(config)
    if unreachable:
        console.print(f"[red]Error:[/red] {unreachable}", soft_wrap=True, highlight=False)
        return _published(CheckResult(2, seed, time.monotonic() - started, None, config.report_dir, unreachable),
                          config.base_url)
    report_dir = Path(config.report_dir).resolve()
    report_dir.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:  # the oracle's reference server serves both the witness phase and st run
        try:
            oracle_url = stack.enter_context(_oracle_server(config))
        except (ServerStartError, OSError) as exc:  # the harness cannot do its job
            problem = f"the oracle reference server did not start: {str(exc).splitlines()[0]}"
            console.print(f"[red]Error:[/red] {problem}", soft_wrap=True, highlight=False)
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
    """The witness phase, then ``st run``, both within ``config.max_time`` from the witness phase's start;
    ``oracle_url``: the reference server of ``--oracle`` (or None)."""
    witness = None
    phase_started = time.monotonic()
    deadline = phase_started + config.max_time
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
                                    exclude=config.exclude_checks, table=witness_table(config.api),
                                    deadline=deadline)
        except KeyboardInterrupt:
            why = "interrupted (Ctrl-C) in the witness phase: the run did not finish"
            console.print(f"[red]{why}[/red]")
            return _published(CheckResult(130, seed, time.monotonic() - started, None, report_dir, why),
                              config.base_url)
        write_witness(report_dir / "witness.json", witness, config.credentials)
        if witness.error or (witness.failures and config.stop_after_witness_failure):
            code, why = (1, "")
            if witness.stopped_answering:  # answers, then silence: the target failed, the harness did not
                why = witness.error
            elif witness.error:
                code, why = 2, f"witness phase could not test the target: {witness.error}"
            return _without_schemathesis(config, console, seed, started, report_dir, witness, code, why)
    left = deadline - time.monotonic()
    if witness is not None and (witness.not_run or left < SCHEMATHESIS_FLOOR_S):
        code = 1 if new_witness_failures(config, witness) else 2  # never a pass: part of the check did not run
        return _without_schemathesis(config, console, seed, started, report_dir, witness, code,
                                     _out_of_time(config.max_time, witness))
    paths = {"dir": report_dir, "junit": report_dir / "junit.xml", "json": report_dir / "report.json",
             "ndjson": report_dir / EVENTS_FILE, "html": report_dir / "html",
             "contract": generation_view(config, report_dir)}
    for stale in ("junit", "json", "ndjson"):
        paths[stale].unlink(missing_ok=True)
    journal = report_dir / "journal.ndjson"
    journal.unlink(missing_ok=True)
    log_path = report_dir / "schemathesis.log"
    budget = int(left)  # whole seconds, at least SCHEMATHESIS_FLOOR_S (checked above)
    limit_s = budget + 60 + config.request_timeout
    hard_limit = time.monotonic() + limit_s
    message = ""
    with contextlib.ExitStack() as stack:
        log = stack.enter_context(log_path.open("wb"))
        process = subprocess.Popen(child_argv(dataclasses.replace(config, max_time=budget), seed, paths),
                                   env=child_env(config, seed, journal, oracle_url), cwd=report_dir, stdout=log,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        try:
            counter = LiveCounter(paths["ndjson"])
            with progress_display(console) as show:
                while process.poll() is None:
                    show(counter, time.monotonic() - phase_started, config.max_time, seed)
                    if time.monotonic() > hard_limit:
                        process.kill()
                        message = f"schemathesis did not finish within {limit_s:.0f}s; stopped"
                    time.sleep(0.25)
        except KeyboardInterrupt:
            return _interrupted(config, process, seed, started, paths, console, witness)
        returncode = process.wait()
    scrub(report_dir, config.credentials)
    seconds = time.monotonic() - started
    report = read_report(paths["ndjson"], paths["json"], creds=config.credentials, curl=curl_for)
    if message or report is None or returncode not in (0, 1):
        tail = log_path.read_text(errors="replace").strip().splitlines()[-15:]
        message = message or "schemathesis could not run: " + " | ".join(tail)
        exit_code = 2
    elif returncode == 1 and not report.failures and report.summary.get("errors"):
        exit_code, message = network_failure(paths["ndjson"], report, config.request_timeout) or (
            2, "schemathesis could not test the target: " + "; ".join(
                sorted({str(e.get("title") or e.get("message") or e)[:160] for e in report.summary["errors"]})))
    elif returncode == 0 and (untested := untested_operations(report, config.api)):
        exit_code = 2  # no PASS without evidence
        message = f"no case was generated for {', '.join(untested)}: nothing was tested there"
    else:  # schemathesis' verdict: failures accepted by --baseline do not fail the run
        exit_code = returncode
    if exit_code == 0 and witness is not None and new_witness_failures(config, witness):
        exit_code = 1
    if exit_code == 1 and (midway := refused_during_run(config, report)):
        (message, report), exit_code = midway, 2  # the run could not be completed: the harness's problem
    written = _regressions(config, exit_code, report_dir, paths["ndjson"], journal, console, witness)
    _keep_or_drop_events(paths, config.keep_events)
    if not config.keep_events:  # the request journal only feeds the regressions written above
        journal.unlink(missing_ok=True)
    return _finish(console, CheckResult(exit_code, seed, seconds, report, report_dir, message, written, witness),
                   config)


def _without_schemathesis(config: CheckConfig, console: Console, seed: int, started: float, report_dir: Path,
                          witness: WitnessResult, code: int, why: str) -> CheckResult:
    """The check ends after the witness phase (``st run`` does not start): exit ``code`` because ``why``."""
    written = _regressions(config, code, report_dir, None, None, console, witness)
    return _finish(console, CheckResult(code, seed, time.monotonic() - started, None, report_dir, why, written,
                                        witness), config)


def _out_of_time(max_time: float, witness: WitnessResult) -> str:
    """The line of a check whose ``--max-time`` ended before schemathesis could start: what ran, what did not,
    and the ``--max-time`` that would run the whole witness phase and leave schemathesis ``max_time``."""
    sent = len(witness.journal)
    whole = witness.seconds * witness.steps / sent if witness.not_run and sent else witness.seconds
    enough = math.ceil(whole) + math.ceil(max_time)
    if witness.not_run:
        return (f"witness phase: {witness.ran} of {witness.planned} witnesses ran before --max-time {max_time:g} s "
                f"ended it ({sent} of {witness.steps} requests sent in {witness.seconds:.1f} s; not run: "
                f"{', '.join(witness.not_run)}); schemathesis did not run: --max-time {enough} or more would run "
                f"every witness and leave schemathesis {max_time:g} s")
    return (f"schemathesis did not run: the witness phase took {witness.seconds:.1f} s of --max-time {max_time:g} s, "
            f"leaving less than the {SCHEMATHESIS_FLOOR_S} s schemathesis needs: --max-time {enough} or more would "
            f"leave it {max_time:g} s")


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
    scrub(directory, config.credentials)
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
    scrub(paths["dir"], config.credentials)
    seconds = time.monotonic() - started
    message = "interrupted (Ctrl-C): partial results, the run did not finish"
    report = read_report(paths["ndjson"], paths["json"], creds=config.credentials, curl=curl_for)
    _keep_or_drop_events(paths, config.keep_events)
    return _finish(console, CheckResult(130, seed, seconds, report, paths["dir"], message, witness=witness), config)
