"""The ``talon-harness`` command line: each command parses options, calls one library function, exits.

Exit codes, for every command: 0 success; 1 the target failed a check or an SLO; 2 the harness could not
do its job (bad option or file, unknown name, target unreachable, credentials refused at the start or
mid-run, nothing measured); 130 interrupted.
Every error reaches the user as one line ``Error: ...`` (see `HarnessGroup`), never as a traceback.

Options are checked when the command line is parsed (types in `harness.params`), before any server
starts. Options shared by several commands are defined once in `harness.cli_options` (``TARGET_OPTIONS``
...), the load command in `harness.cli_load`; a new option is a ``click.option`` with a type from
`harness.params` (the bad-usage test walks every option).
"""

from __future__ import annotations

import dataclasses
import signal
import sys
from pathlib import Path
from typing import Any

import click

from talon_harness.contracts.spec import API_NAMES, DEFAULT_API
from talon_harness.harness.cli_load import load
from talon_harness.harness.cli_options import (
    ALLOW_REMOTE,
    API,
    API_KEY,
    BASE_URL,
    EXIT_FAILED,
    EXIT_HARNESS,
    EXIT_INTERRUPTED,
    EXIT_PASSED,
    HMAC,
    MAX_RATE,
    SEED,
    TARGET_OPTIONS,
    HarnessError,
    HarnessGroup,
    check_names,
    credentials_from,
    fault_names,
    health_probe,
    options_in_order,
    refuse_remote_load,
    report_dir_option,
    target_url,
    validated,
)
from talon_harness.harness.params import (
    BaselineFile,
    Duration,
    FieldNames,
    HmacCredentials,
    Host,
    Names,
    OutputFile,
    RulesFile,
    RulesPath,
    Secret,
    SqliteFile,
    Url,
)

#: the exit codes and the error type live in ``cli_options`` (shared with ``cli_load``), re-exported here
__all__ = ["EXIT_FAILED", "EXIT_HARNESS", "EXIT_INTERRUPTED", "EXIT_PASSED", "HarnessError", "main"]


@click.group(cls=HarnessGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="talon-harness")
def main() -> None:
    """Contract and load testing for the Talon.One Integration API upserts: v1 (the seed's 2018-02 revision,
    the default), v1-2021 (the final v1 revision) and v2, chosen with --api.

    Without --base-url, check, load and run start the embedded reference server on a free loopback port,
    speaking the API under test.
    Exit codes: 0 pass, 1 the target failed a check or an SLO, 2 the harness could not do its job
    (e.g. the target refused the credentials, at the start or mid-run), 130 interrupted.
    Durations: 90, 90s, 2m, 1h30m.
    """


main.add_command(load)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, type=Host(), help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="Port (0 picks a free one).")
@click.option("--db", type=SqliteFile(), help="SQLite file (default: a fresh temp file).")
@click.option("--api-key", type=Secret(), envvar="TALON_API_KEY",
              help="Require 'Authorization: ApiKey-v1 <key>' (env TALON_API_KEY).")
@click.option("--hmac", type=HmacCredentials(), envvar="TALON_HMAC",
              help="Require a v1 Content-Signature: APP_ID:KEY, KEY 16 hex digits (env TALON_HMAC).")
@click.option("--application-id", default=1, show_default=True, type=click.IntRange(min=1),
              help="This server's application id (with --hmac: its APP_ID).")
@click.option("--account-id", default=1, show_default=True, type=click.IntRange(min=1))
@click.option("--rules", type=RulesFile(), help="Coupon/referral rule set (JSON).")
@click.option("--fault", "faults", multiple=True, type=Names(fault_names),
              help="Inject a named fault (repeatable; see `talon-harness selftest`).")
@click.option("--quiet", is_flag=True, help="Do not log one line per request.")
@click.option("--api", default="v1-2021", show_default=True, type=click.Choice(["v1", "v1-2021"]),
              help="v1 revision to speak: v1 (2018-02, what check/load test) or v1-2021 (the final one; D16).")
@click.pass_context
def serve(ctx: click.Context, host: str, port: int, db: Path | None, api_key: str | None,
          hmac: tuple[int, str] | None, application_id: int, account_id: int, rules: Any,
          faults: tuple[str, ...], quiet: bool, api: str) -> None:
    """Run the reference server until Ctrl-C (exit 130) or SIGTERM (exit 0)."""
    from talon_harness.refserver import RuleSet, ServerConfig
    from talon_harness.refserver import serve as run_server

    if hmac:
        explicit = ctx.get_parameter_source("application_id") is not click.core.ParameterSource.DEFAULT
        if explicit and application_id != hmac[0]:
            raise click.UsageError(f"--application-id {application_id} differs from the APP_ID of --hmac")
        application_id = hmac[0]
    config = validated(ServerConfig, application_id=application_id, account_id=account_id, api_key=api_key,
                     hmac_key=hmac[1] if hmac else None, rules=rules or RuleSet.default(),
                     faults=frozenset(faults), api=api)
    try:
        stopped_by = run_server(host=host, port=port, db=db, config=config, log=not quiet)
    except OSError as exc:
        raise HarnessError(f"could not serve on {host}:{port}: {exc}") from exc
    if stopped_by == signal.SIGINT:  # SIGTERM (a process manager's stop) is a normal end: exit 0
        click.secho("serve: interrupted (Ctrl-C); stopped cleanly", fg="yellow", err=True)
        sys.exit(EXIT_INTERRUPTED)


CHECK_OPTIONS = options_in_order(
    TARGET_OPTIONS,
    click.option("--max-examples", default=None, type=click.IntRange(min=1),
                 help="Fuzzing cases per operation / stateful scenarios."),
    click.option("--max-time", default=None, type=Duration(), help="Upper bound for the check (90, 2m...)."),
    SEED,
    click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
                 help="Concurrent schemathesis workers."),
    click.option("--checks", default=None, type=Names(check_names, many=True),
                 help="Comma-separated checks to run (built-in and domain)."),
    click.option("--exclude-checks", default=None, type=Names(check_names, many=True),
                 help="Comma-separated checks to skip."),
    click.option("--baseline", type=BaselineFile(), help="Accept the known failures in this schemathesis baseline."),
    click.option("--oracle", is_flag=True,
                 help="Also send every request to a fresh reference server and compare the answers."),
    click.option("--oracle-rules", type=RulesPath(), help="The oracle's rule set (the format serve --rules reads)."),
    click.option("--oracle-exclude", default=None, type=FieldNames(),
                 help="Comma-separated fields (or paths) the oracle does not compare."),
    report_dir_option("reports/check"),
    click.option("--keep-events", is_flag=True,
                 help="Keep schemathesis' full event stream (events.ndjson, tens of MB) in the report dir."),
)


def _check_config(*, base_url: str | None, api: str, api_key: str | None, hmac: tuple[int, str] | None,
                  max_examples: int | None, max_time: float | None, seed: int | None, workers: int,
                  checks: tuple[str, ...] | None, exclude_checks: tuple[str, ...] | None, baseline: Path | None,
                  oracle: bool, oracle_rules: Path | None, oracle_exclude: tuple[str, ...] | None,
                  report_dir: Path, keep_events: bool) -> Any:  # -> CheckConfig
    from talon_harness.harness.check_config import CheckConfig
    from talon_harness.harness.target import check_credentials

    defaults = CheckConfig(base_url="")
    creds = validated(check_credentials, api=api, base_url=base_url, creds=credentials_from(api_key, hmac))
    return validated(CheckConfig, base_url=base_url or "", credentials=creds,
                   max_examples=max_examples or defaults.max_examples, max_time=max_time or defaults.max_time,
                   seed=seed, workers=workers, checks=checks or (), exclude_checks=exclude_checks or (),
                   baseline=baseline, report_dir=report_dir, fresh_server=not base_url, oracle=oracle,
                   oracle_rules=oracle_rules, oracle_exclude=oracle_exclude or (), keep_events=keep_events,
                   api=api)


@main.command()
@CHECK_OPTIONS
def check(**options: Any) -> None:
    """Check a server against the contract and the domain rules (schemathesis, all phases)."""
    from talon_harness.harness.check import run_check

    config = _check_config(**options)
    with target_url(options["base_url"], config.credentials, api=config.api) as base_url:
        result = run_check(dataclasses.replace(config, base_url=base_url))
    sys.exit(result.exit_code)



#: ``run --api``: one API, a comma list, repeated, or ``all`` (the shared ``API`` option takes one)
RUN_APIS = click.option(
    "--api", "apis", multiple=True, default=(DEFAULT_API,), show_default=True,
    type=Names(lambda: (*API_NAMES, "all"), many=True),
    help="API(s) to test in turn: v1 (the seed's 2018-02 revision), v1-2021 (the final v1 revision, D16), v2, a "
         "comma list (v1-2021,v2; or repeat --api), or all (with --base-url: every API the target answers).")


def _run_apis(given: tuple[tuple[str, ...], ...]) -> tuple[tuple[str, ...], bool]:
    """The APIs ``run --api`` names, in order, once each, and whether they are ``all``."""
    apis = tuple(dict.fromkeys(api for names in given for api in names))
    if "all" in apis and len(apis) > 1:
        raise click.UsageError("--api: all takes no other API name")
    if not apis:
        raise click.UsageError(f"--api: name at least one API ({', '.join(API_NAMES)}) or all")
    return (API_NAMES, True) if apis == ("all",) else (apis, False)


@main.command()
@options_in_order(BASE_URL, RUN_APIS, API_KEY, HMAC)
@ALLOW_REMOTE
@MAX_RATE
@click.option("--max-time", default=60.0, show_default=True, type=Duration(),
              help="Upper bound for the check step (90, 2m...), per API.")
@click.option("--duration", default=20.0, show_default=True, type=Duration(),
              help="How long the load step runs (90, 90s, 2m, 1h30m), per API.")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--oracle", is_flag=True, help="The check step also compares every answer with a reference server.")
@report_dir_option("reports")
def run(base_url: str | None, apis: tuple[tuple[str, ...], ...], api_key: str | None, hmac: tuple[int, str] | None,
        allow_remote: bool, max_rate: float | None, max_time: float, duration: float, seed: int, oracle: bool,
        report_dir: Path) -> None:
    """The main job: a short `check`, then a `load`, against --base-url or the embedded reference server.

    With several APIs (--api v1-2021,v2 or --api all) each is checked then loaded in turn (a fresh embedded
    server each), its reports in REPORT_DIR/<api>/; one API keeps REPORT_DIR/check and REPORT_DIR/load.
    Exit 130 interrupted, else 1 if any API failed, else 2 if any could not be measured, else 0."""
    from talon_harness.harness.pipeline import run_apis
    from talon_harness.harness.target import TargetError

    refuse_remote_load(base_url, allow_remote)
    names, every = _run_apis(apis)
    try:
        code = validated(run_apis, apis=names, every=every, report_dir=report_dir, check_time=max_time,
                         duration=duration, seed=seed, base_url=base_url, credentials=credentials_from(api_key, hmac),
                         allow_remote=allow_remote, max_rate=max_rate, oracle=oracle)
    except TargetError as exc:
        raise HarnessError(str(exc)) from exc
    sys.exit(code)


@main.command()
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(1), help="Seeds per fault (0..N-1).")
@click.option("--faults", "fault_list", default="", type=Names(fault_names, many=True),
              help="Comma-separated fault names (default: all).")
@click.option("--budget", default=15, show_default=True, type=click.IntRange(1),
              help="Fuzzing examples per operation for check and the st baseline.")
@click.option("--max-time", default=20.0, show_default=True, type=Duration(),
              help="Per schemathesis run (90, 90s, 2m).")
@click.option("--threshold", default=1.0, show_default=True, type=click.FloatRange(0, 1),
              help="Minimum detection rate.")
@click.option("--no-baseline", is_flag=True, help="Skip the plain `st run` column.")
@click.option("--oracle", is_flag=True, help="Add a `check --oracle` column (and replay its regression files).")
@API
@report_dir_option("reports/selftest")
def selftest(seeds: int, fault_list: tuple[str, ...], budget: int, max_time: float, threshold: float,
             no_baseline: bool, oracle: bool, api: str, report_dir: Path) -> None:
    """Inject each refserver fault, run check (+ probes, + load for performance faults) and plain
    schemathesis against it; exit 1 if the detection rate is below --threshold or the correct server fails,
    2 if a run on the correct server could not complete."""
    from talon_harness.harness._selftest_render import render
    from talon_harness.harness.console import make_console
    from talon_harness.harness.selftest import SelftestConfig, run_selftest

    config = validated(SelftestConfig, faults=fault_list, seeds=seeds, max_examples=budget, max_time=max_time,
                     threshold=threshold, baseline=not no_baseline, oracle=oracle, report_dir=report_dir, api=api)
    console = make_console()
    result = run_selftest(config, progress=lambda row: console.print(
        f"  {row.tool:13} {row.fault or '(correct)':32} seed={row.seed} detected={row.detected} "
        f"by={','.join(row.by)[:50]} req={row.requests} {row.seconds:.1f}s"))
    render(console, result)
    sys.exit(result.exit_code)


@main.command()
@click.option("--upstream", type=Url(),
              help="Server to forward to (default: the embedded reference server, started empty).")
@click.option("--host", default="127.0.0.1", show_default=True, type=Host(), help="Interface to bind.")
@click.option("--port", default=8100, show_default=True, type=click.IntRange(0, 65535), help="Port (0: a free one).")
@click.option("--record", type=OutputFile(), help="Append each exchange to this NDJSON file (credentials never written).")
@click.option("--max-exchanges", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Stop recording (not proxying) after this many exchanges.")
@click.option("--max-bytes", default=100 * 2**20, show_default=True, type=click.IntRange(min=1),
              help="Stop recording (not proxying) before the file would pass this size.")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds the upstream has to answer; then the client gets a 502.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --upstream (e.g. staging).")
@click.option("--api-key", type=Secret(), envvar="TALON_API_KEY",
              help="The key the clients will send (env TALON_API_KEY): the health probe at start checks it against "
                   "the upstream. Never printed, recorded or added to forwarded requests.")
@click.option("--hmac", type=HmacCredentials(), envvar="TALON_HMAC",
              help="APP_ID:KEY the clients will sign with (env TALON_HMAC): checked by the health probe like --api-key.")
@API
@report_dir_option("reports/proxy")
def proxy(upstream: str | None, host: str, port: int, record: Path | None, max_exchanges: int, max_bytes: int,
          timeout: float, allow_remote: bool, api_key: str | None, hmac: tuple[int, str] | None, api: str,
          report_dir: Path) -> None:
    """Forward traffic to --upstream unchanged, judging every exchange against the contract and the domain
    rules; one line per violation as it happens, JUnit XML and JSON at the end (Ctrl-C or SIGTERM).

    Before it listens, one health probe must reach the upstream and, with --api-key or --hmac, have those
    credentials accepted (without them a 401 is fine: the clients bring their own).

    Exit 0: traffic passed and nothing broke a rule; 1: a violation was seen (client or server side);
    2: the proxy could not run (upstream unreachable, credentials refused) or no exchange passed through it.
    """
    from talon_harness.harness.proxy import ProxyConfig, run_proxy
    from talon_harness.loadtests.config import is_loopback_url

    if upstream and not is_loopback_url(upstream) and not allow_remote:
        raise click.UsageError(f"--upstream {upstream} is not a loopback address; pass --allow-remote to use it")
    config = validated(ProxyConfig, upstream=upstream or "http://127.0.0.1", host=host, port=port, record=record,
                     max_exchanges=max_exchanges, max_bytes=max_bytes, timeout_s=timeout, report_dir=report_dir,
                     fresh=not upstream, api=api)
    creds = credentials_from(api_key, hmac)
    with target_url(upstream, None, api=api, quiet=True) as base_url:
        health_probe(base_url, creds, api)
        shown = base_url if upstream else f"{base_url} (embedded reference server)"

        def ready(bound: int) -> None:
            click.echo(f"proxy: http://{host}:{bound} -> {shown}; Ctrl-C to stop", err=True)

        def emit(line: str) -> None:
            click.secho(line, fg="red" if line.startswith("VIOLATION") else "yellow")

        try:
            outcome = run_proxy(dataclasses.replace(config, upstream=base_url), emit=emit, ready=ready)
        except OSError as exc:
            raise HarnessError(f"--host/--port: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    rec = outcome.recording
    click.echo(f"proxy: {outcome.exchanges} exchanges, {outcome.judged} judged, {outcome.violations} violations"
               + "".join(f"; {k} {v}" for k, v in outcome.counts.items()))
    if rec is not None:
        click.echo(f"recording: {rec['file']} ({rec['exchanges']} exchanges, {rec['bytes']} bytes"
                   + (f"; stopped: {rec['stopped']})" if rec["stopped"] else ")"))
    click.echo(f"reports: {outcome.report_json} {outcome.report_junit}")
    if outcome.exit_code == EXIT_HARNESS:
        raise HarnessError("no exchange passed through the proxy; nothing was judged")
    sys.exit(outcome.exit_code)

