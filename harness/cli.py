"""The ``talon-harness`` command line: each command parses options, calls one library function, exits.

Exit codes: 0 success; 1 the target failed a check or an SLO; 2 the harness could not do its job
(bad options, target unreachable); 130 interrupted.
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
from collections.abc import Iterator
from pathlib import Path

import click

__all__ = ["main"]

_API_KEY_HELP = "API key sent as 'Authorization: ApiKey-v1 <key>' (env TALON_API_KEY). Never printed."
_HMAC_HELP = "APP_ID:KEY for the v1 HMAC Content-Signature (env TALON_HMAC). Never printed."


def _credentials(api_key: str | None, hmac: str | None):  # -> strategies.wire.Credentials | None
    from talon_harness.strategies.wire import Credentials

    if api_key and hmac:
        raise click.UsageError("give either --api-key or --hmac, not both")
    if hmac:
        app_id, sep, key = hmac.partition(":")
        if not sep or not app_id.isdigit() or len(key) != 16:
            raise click.BadParameter("expected APP_ID:KEY with a numeric id and a 16-hex-digit key", param_hint="--hmac")
        return Credentials(hmac_application_id=int(app_id), hmac_key=key)
    if api_key:
        return Credentials(api_key=api_key)
    return None


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(package_name="talon-harness")
def main() -> None:
    """Contract and load testing for the Talon.One Integration API v1 upserts.

    Without --base-url, check, load and run start the embedded reference server on a free loopback port.
    """


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port (0 picks a free one).")
@click.option("--db", type=click.Path(dir_okay=False, path_type=Path), help="SQLite file (default: a fresh temp file).")
@click.option("--api-key", envvar="TALON_API_KEY", help="Require 'Authorization: ApiKey-v1 <key>'.")
@click.option("--hmac-key", envvar="TALON_HMAC_KEY", help="Require a Content-Signature with this 16-hex-digit key.")
@click.option("--application-id", default=1, show_default=True, type=int)
@click.option("--account-id", default=1, show_default=True, type=int)
@click.option("--rules", "rules_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Coupon/referral rule set (JSON).")
@click.option("--fault", "faults", multiple=True, help="Inject a named fault (see `talon-harness selftest`).")
@click.option("--quiet", is_flag=True, help="Do not log one line per request.")
def serve(host: str, port: int, db: Path | None, api_key: str | None, hmac_key: str | None,
          application_id: int, account_id: int, rules_file: Path | None, faults: tuple[str, ...],
          quiet: bool) -> None:
    """Run the reference server until Ctrl-C."""
    from talon_harness.refserver import RuleSet, ServerConfig
    from talon_harness.refserver import serve as run_server

    rules = RuleSet.from_file(rules_file) if rules_file else RuleSet.default()
    config = ServerConfig(application_id=application_id, account_id=account_id, api_key=api_key,
                          hmac_key=hmac_key, rules=rules, faults=frozenset(faults))
    try:
        run_server(host=host, port=port, db=db, config=config, log=not quiet)
    except (OSError, ValueError) as exc:
        raise click.ClickException(str(exc)) from exc


def _check_options(func):
    options = [
        click.option("--base-url", help="Server to test (default: the embedded reference server)."),
        click.option("--api-key", envvar="TALON_API_KEY", help=_API_KEY_HELP),
        click.option("--hmac", envvar="TALON_HMAC", help=_HMAC_HELP),
        click.option("--max-examples", default=None, type=int, help="Fuzzing cases per operation / stateful scenarios."),
        click.option("--max-time", default=None, type=float, help="Upper bound for the check, in seconds."),
        click.option("--seed", default=None, type=int, help="Seed for repeatable generation."),
        click.option("--workers", default=1, show_default=True, type=int, help="Concurrent schemathesis workers."),
        click.option("--checks", default=None, help="Comma-separated checks to run (built-in and domain)."),
        click.option("--exclude-checks", default=None, help="Comma-separated checks to skip."),
        click.option("--baseline", type=click.Path(dir_okay=False, path_type=Path), help="Accept known failures."),
        click.option("--oracle", is_flag=True, help="Also send every request to a fresh reference server; compare."),
        click.option("--oracle-rules", type=click.Path(dir_okay=False, path_type=Path), help="Oracle rule set (serve --rules format)."),
        click.option("--oracle-exclude", default=None, help="Comma-separated fields the oracle does not compare."),
        click.option("--report-dir", default=Path("reports/check"), show_default=True,
                     type=click.Path(file_okay=False, path_type=Path)),
        click.option("--keep-events", is_flag=True,
                     help="Keep schemathesis' full event stream (events.ndjson, tens of MB) in the report dir."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _check_config(*, base_url, api_key, hmac, max_examples, max_time, seed, workers, checks,
                  exclude_checks, baseline, report_dir, keep_events=False, fresh_server=False, oracle=False,
                  oracle_rules=None, oracle_exclude=None):
    from talon_harness.harness.check import CheckConfig

    defaults = CheckConfig(base_url="")
    return CheckConfig(
        base_url=base_url,
        credentials=_credentials(api_key, hmac),
        max_examples=max_examples if max_examples is not None else defaults.max_examples,
        max_time=max_time if max_time is not None else defaults.max_time,
        seed=seed,
        workers=workers,
        checks=tuple(filter(None, (checks or "").split(","))),
        exclude_checks=tuple(filter(None, (exclude_checks or "").split(","))),
        baseline=baseline,
        report_dir=report_dir,
        keep_events=keep_events,
        fresh_server=fresh_server,
        oracle=oracle,
        oracle_rules=oracle_rules,
        oracle_exclude=tuple(filter(None, (oracle_exclude or "").split(","))),
    )


@main.command()
@_check_options
def check(**options) -> None:
    """Check a server against the contract and the domain rules (schemathesis, all phases)."""
    from talon_harness.harness.check import run_check

    embedded = not options.get("base_url")
    with _target(options, "check") as base_url:
        result = run_check(_check_config(**{**options, "base_url": base_url, "fresh_server": embedded}))
    sys.exit(result.exit_code)


def _load_options(func):
    options = [
        click.option("--base-url", help="Server to load (default: the embedded reference server)."),
        click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --base-url (e.g. staging)."),
        click.option("--api-key", envvar="TALON_API_KEY", help=_API_KEY_HELP),
        click.option("--hmac", envvar="TALON_HMAC", help=_HMAC_HELP),
        click.option("--users", type=click.IntRange(min=1), help="Closed model: concurrent virtual users."),
        click.option("--rate", type=click.FloatRange(min=0, min_open=True), help="Open model: journeys per second."),
        click.option("--arrival", type=click.Choice(["poisson", "constant"]), default="poisson", show_default=True),
        click.option("--duration", default=20.0, show_default=True, type=click.FloatRange(min=1, max=24 * 3600),
                     help="Seconds; always bounded."),
        click.option("--shape", default=None, help="Load shape: steady, ramp, step, spike, soak."),
        click.option("--workers", default=0, show_default=True, type=click.IntRange(min=0),
                     help="Distributed Locust workers (0: one local process)."),
        click.option("--max-rate", type=click.FloatRange(min=0, min_open=True), help="Cap on requests per second."),
        click.option("--slo", "slo_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
                     help="SLO gates file (TOML, JSON or YAML)."),
        click.option("--validate-share", default=0.05, show_default=True, type=click.FloatRange(0, 1),
                     help="Share of responses validated against the contract."),
        click.option("--seed", default=0, show_default=True, type=int),
        click.option("--report-dir", default=Path("reports/load"), show_default=True,
                     type=click.Path(file_okay=False, path_type=Path)),
        click.option("--baseline", type=click.Path(file_okay=False, path_type=Path),
                     help="A previous run's report directory: fail when a latency percentile regressed."),
        click.option("--baseline-update", is_flag=True, help="Write this run's histograms into --baseline."),
        click.option("--replay", type=click.Path(dir_okay=False, path_type=Path),
                     help="Replay this recording (proxy --record NDJSON, or HAR 1.2) instead of journeys."),
        click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
                     help="Replay: each request at its recorded offset divided by this."),
        click.option("--loop", is_flag=True, help="Replay: start again at the end (bounded by --duration)."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load_config(*, base_url, allow_remote, api_key, hmac, users, rate, arrival, duration, shape, workers,
                 max_rate, slo_file, validate_share, seed, report_dir, baseline=None, baseline_update=False,
                 replay=None, speed=1.0, loop=False):
    from talon_harness.loadtests.config import LoadConfig
    from talon_harness.loadtests.gates import SloSet

    if users and rate:
        raise click.UsageError("give either --users (closed model) or --rate (open model), not both")
    if replay is not None:
        if baseline is not None or baseline_update:
            raise click.UsageError("--baseline compares journey runs; it does not apply to --replay")
        try:
            return _replay_config(replay, speed, loop, base_url=base_url, allow_remote=allow_remote,
                                  api_key=api_key, hmac=hmac, users=users, rate=rate, shape=shape,
                                  duration=duration, workers=workers, max_rate=max_rate, slo_file=slo_file,
                                  validate_share=validate_share, seed=seed, report_dir=report_dir)
        except ValueError as exc:
            raise HarnessError(str(exc)) from None
    try:
        slo = SloSet.from_file(slo_file) if slo_file else SloSet.default()
    except ValueError as exc:
        raise HarnessError(f"--slo: {exc}") from None
    try:
        return LoadConfig(
            base_url=base_url, users=users if users or rate else 10, rate=rate, arrival=arrival,
            duration_s=duration, shape=shape, workers=workers, slo=slo,
            report_dir=report_dir, max_rate=max_rate, credentials=_credentials(api_key, hmac),
            validate_share=validate_share, journey_weights=None, seed=seed, allow_remote=allow_remote,
            baseline=baseline, baseline_update=baseline_update,
        )
    except ValueError as exc:
        raise HarnessError(str(exc)) from None


def _replay_config(replay, speed, loop, *, users, rate, shape, duration, workers, slo_file, **options):
    """The LoadConfig of ``load --replay``: one user per process; without --loop the run lasts the recording
    at --speed plus 3 s (or --duration when given)."""
    from talon_harness.loadtests.config import LoadConfig
    from talon_harness.loadtests.gates import SloSet
    from talon_harness.loadtests.replay import ReplayFileError, load_traffic

    if users or rate or shape:
        raise click.UsageError("--replay replays the recording's own schedule: drop --users/--rate/--shape")
    try:
        span_s = load_traffic(replay)[-1].offset_ms / 1000.0
    except ReplayFileError as exc:
        raise click.BadParameter(str(exc), param_hint="--replay") from None
    explicit = click.get_current_context().get_parameter_source("duration") is not click.core.ParameterSource.DEFAULT
    if not explicit and not loop:
        duration = span_s / speed + 3.0
    processes = max(1, workers)
    return LoadConfig(users=processes, spawn_rate=float(processes), duration_s=duration, workers=workers,
                      slo=SloSet.from_file(slo_file) if slo_file else SloSet.default(),
                      credentials=_credentials(options.pop("api_key"), options.pop("hmac")), journey_weights=None,
                      replay=replay, replay_speed=speed, replay_loop=loop, **options)


def _replay_section(summary_path: Path | None) -> dict | None:
    """The ``"replay"`` section the replay locustfile adds to summary.json (None when absent)."""
    import json

    if summary_path is None:
        return None
    try:
        return json.loads(summary_path.read_text(encoding="utf-8")).get("replay")
    except (OSError, ValueError, AttributeError):
        return None


def _render_replay(section: dict) -> None:
    lateness = section.get("lateness_ms") or {}
    click.echo(f"replay: {section['sent']} requests sent, {section['status_matched']} statuses as recorded, "
               f"{section['status_mismatched']} different"
               + "".join(f"; {k}: {v}" for k, v in section["mismatches"].items())
               + (f"; schedule lateness p50 {lateness['p50']:.2f} ms p99 {lateness['p99']:.2f} ms" if lateness else "")
               + (f"; {section['dropped']} dropped" if section.get("dropped") else ""))


@main.command()
@_load_options
def load(**options) -> None:
    """Replay realistic profile-then-session traffic with Locust and gate on SLOs."""
    from talon_harness.harness.console import make_console
    from talon_harness.harness.html_report import write_load_report
    from talon_harness.harness.load_render import render_load_outcome
    from talon_harness.harness.summary import load_summary, publish
    from talon_harness.loadtests.run import run_load

    config = _load_config(**{**options, "base_url": options.get("base_url") or "http://127.0.0.1"})
    with _target(options, "load") as base_url:
        result = run_load(dataclasses.replace(config, base_url=base_url))
    if result.outcome is not None:
        render_load_outcome(result.outcome, make_console())
    for problem in result.problems:  # the outcome's verdict lines above name every SLO breach
        click.secho(f"Error: {problem}" if result.exit_code == 2 else problem, fg="red", err=True)
    replay = _replay_section(result.summary_path) if config.replay is not None else None
    if replay is not None:
        _render_replay(replay)
    if result.summary_path:
        write_load_report(result.summary_path.parent, target=base_url)
        publish(*load_summary(result.summary_path.parent))
    if result.interrupted:
        click.secho("load: interrupted; partial reports were kept", fg="yellow", err=True)
    elif result.passed:
        click.secho("load: every SLO held", fg="green")
    if result.summary_path:
        click.echo(f"summary: {result.summary_path}")
    sys.exit(result.exit_code)


@main.command()
@click.option("--report-dir", default=Path("reports"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
@click.option("--duration", default=20.0, show_default=True, type=float, help="Seconds of load.")
@click.option("--seed", default=0, show_default=True, type=int)
def run(report_dir: Path, duration: float, seed: int) -> None:
    """The main job: a short `check`, then a 20-second `load`, against the embedded reference server."""
    from talon_harness.harness.pipeline import run_pipeline

    sys.exit(run_pipeline(report_dir=report_dir, duration=duration, seed=seed))


class HarnessError(click.ClickException):
    """The harness could not do its job (exit code 2, as schemathesis uses it)."""

    exit_code = 2


@contextlib.contextmanager
def _target(options: dict, command: str) -> Iterator[str]:
    """Resolve the target for ``command``; refuse remote load targets without --allow-remote."""
    from talon_harness.harness.target import TargetError, target
    from talon_harness.loadtests.config import is_loopback_url

    base_url = options.get("base_url")
    if command == "load" and base_url and not is_loopback_url(base_url) and not options.get("allow_remote"):
        raise click.UsageError(f"{base_url} is not a loopback address; pass --allow-remote to load it")
    creds = _credentials(options.get("api_key"), options.get("hmac"))
    try:
        with target(
            base_url,
            api_key=creds.api_key if creds else None,
            hmac_key=creds.hmac_key if creds else None,
            application_id=(creds.hmac_application_id if creds else None) or 1,
            quiet=command == "load",
        ) as url:
            yield url
    except TargetError as exc:
        raise HarnessError(str(exc)) from exc


@main.command()
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(1), help="Seeds per fault (0..N-1).")
@click.option("--faults", "fault_list", default="", help="Comma-separated fault names (default: all).")
@click.option("--budget", default=15, show_default=True, type=click.IntRange(1),
              help="Fuzzing examples per operation for check and the st baseline.")
@click.option("--max-time", default=20.0, show_default=True, type=float, help="Seconds per schemathesis run.")
@click.option("--threshold", default=1.0, show_default=True, type=click.FloatRange(0, 1),
              help="Minimum detection rate.")
@click.option("--no-baseline", is_flag=True, help="Skip the plain `st run` column.")
@click.option("--report-dir", default=Path("reports/selftest"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def selftest(seeds: int, fault_list: str, budget: int, max_time: float, threshold: float, no_baseline: bool,
             report_dir: Path) -> None:
    """Inject each refserver fault, run check (+ probes, + load for performance faults) and plain
    schemathesis against it; exit 1 if the detection rate is below --threshold or the correct server fails."""
    from talon_harness.harness._selftest_render import render
    from talon_harness.harness.console import make_console
    from talon_harness.harness.selftest import SelftestConfig, run_selftest

    try:
        config = SelftestConfig(faults=tuple(f.strip() for f in fault_list.split(",") if f.strip()), seeds=seeds,
                                max_examples=budget, max_time=max_time, threshold=threshold,
                                baseline=not no_baseline, report_dir=report_dir)
        config.chosen_faults()
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
    console = make_console()
    result = run_selftest(config, progress=lambda row: console.print(
        f"  {row.tool:13} {row.fault or '(correct)':32} seed={row.seed} detected={row.detected} "
        f"by={','.join(row.by)[:50]} req={row.requests} {row.seconds:.1f}s"))
    render(console, result)
    sys.exit(0 if result.passed else 1)



@main.command()
@click.option("--upstream", help="Server to forward to (default: the embedded reference server, started empty).")
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to bind.")
@click.option("--port", default=8100, show_default=True, type=click.IntRange(0, 65535), help="Port (0: a free one).")
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path),
              help="Append each exchange to this NDJSON file (credentials never written).")
@click.option("--max-exchanges", default=100_000, show_default=True, type=click.IntRange(min=1),
              help="Stop recording (not proxying) after this many exchanges.")
@click.option("--max-bytes", default=100 * 2**20, show_default=True, type=click.IntRange(min=1),
              help="Stop recording (not proxying) before the file would pass this size.")
@click.option("--timeout", default=10.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
              help="Seconds the upstream has to answer; then the client gets a 502.")
@click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --upstream (e.g. staging).")
@click.option("--report-dir", default=Path("reports/proxy"), show_default=True,
              type=click.Path(file_okay=False, path_type=Path))
def proxy(upstream: str | None, host: str, port: int, record: Path | None, max_exchanges: int, max_bytes: int,
          timeout: float, allow_remote: bool, report_dir: Path) -> None:
    """Forward traffic to --upstream unchanged, judging every exchange against the contract and the domain
    rules; one line per violation as it happens, JUnit XML and JSON at the end (Ctrl-C or SIGTERM).

    Exit 0: traffic passed and nothing broke a rule; 1: a violation was seen (client or server side);
    2: the proxy could not run or no exchange passed through it.
    """
    from talon_harness.harness.proxy import ProxyConfig, run_proxy
    from talon_harness.loadtests.config import is_loopback_url

    if upstream and not is_loopback_url(upstream) and not allow_remote:
        raise click.UsageError(f"--upstream {upstream} is not a loopback address; pass --allow-remote to use it")
    with _target({"base_url": upstream}, "proxy") as base_url:
        try:
            config = ProxyConfig(upstream=base_url, host=host, port=port, record=record, max_exchanges=max_exchanges,
                                 max_bytes=max_bytes, timeout_s=timeout, report_dir=report_dir, fresh=not upstream)
        except ValueError as exc:
            raise click.UsageError(str(exc)) from None
        shown = base_url if upstream else f"{base_url} (embedded reference server)"

        def ready(bound: int) -> None:
            click.echo(f"proxy: http://{host}:{bound} -> {shown}; Ctrl-C to stop", err=True)

        def emit(line: str) -> None:
            click.secho(line, fg="red" if line.startswith("VIOLATION") else "yellow")

        try:
            outcome = run_proxy(config, emit=emit, ready=ready)
        except OSError as exc:
            raise HarnessError(f"--host/--port: cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    rec = outcome.recording
    click.echo(f"proxy: {outcome.exchanges} exchanges, {outcome.judged} judged, {outcome.violations} violations"
               + "".join(f"; {k} {v}" for k, v in outcome.counts.items()))
    if rec is not None:
        click.echo(f"recording: {rec['file']} ({rec['exchanges']} exchanges, {rec['bytes']} bytes"
                   + (f"; stopped: {rec['stopped']})" if rec["stopped"] else ")"))
    click.echo(f"reports: {outcome.report_json} {outcome.report_junit}")
    if outcome.exit_code == 2:
        raise HarnessError("no exchange passed through the proxy; nothing was judged")
    sys.exit(outcome.exit_code)
