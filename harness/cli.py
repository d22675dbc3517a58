"""The ``talon-harness`` command line: each command parses options, calls one library function, exits.

Exit codes: 0 success; 1 the target failed a check or an SLO; 2 the harness could not do its job
(bad options, target unreachable); 130 interrupted.
"""

from __future__ import annotations

import contextlib
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
        click.option("--report-dir", default=Path("reports/check"), show_default=True,
                     type=click.Path(file_okay=False, path_type=Path)),
        click.option("--keep-events", is_flag=True,
                     help="Keep schemathesis' full event stream (events.ndjson, tens of MB) in the report dir."),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _check_config(*, base_url, api_key, hmac, max_examples, max_time, seed, workers, checks,
                  exclude_checks, baseline, report_dir, keep_events=False, fresh_server=False):
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
    ]
    for option in reversed(options):
        func = option(func)
    return func


def _load_config(*, base_url, allow_remote, api_key, hmac, users, rate, arrival, duration, shape, workers,
                 max_rate, slo_file, validate_share, seed, report_dir):
    from talon_harness.loadtests.config import LoadConfig
    from talon_harness.loadtests.gates import SloSet

    if users and rate:
        raise click.UsageError("give either --users (closed model) or --rate (open model), not both")
    return LoadConfig(
        base_url=base_url, users=users if users or rate else 10, rate=rate, arrival=arrival,
        duration_s=duration, shape=shape, workers=workers,
        slo=SloSet.from_file(slo_file) if slo_file else SloSet.default(),
        report_dir=report_dir, max_rate=max_rate, credentials=_credentials(api_key, hmac),
        validate_share=validate_share, journey_weights=None, seed=seed, allow_remote=allow_remote,
    )


@main.command()
@_load_options
def load(**options) -> None:
    """Replay realistic profile-then-session traffic with Locust and gate on SLOs."""
    from talon_harness.harness.console import make_console
    from talon_harness.harness.html_report import write_load_report
    from talon_harness.harness.load_render import render_load_summary
    from talon_harness.harness.summary import load_summary, publish
    from talon_harness.loadtests.run import run_load

    with _target(options, "load") as base_url:
        result = run_load(_load_config(**{**options, "base_url": base_url}))
    if result.summary:
        render_load_summary(result.summary, make_console())
    if result.summary_path:
        write_load_report(result.summary_path.parent, target=base_url)
        publish(*load_summary(result.summary_path.parent))
    if result.interrupted:
        click.secho("load: interrupted; partial reports were kept", fg="yellow", err=True)
    elif result.passed:
        click.secho("load: every SLO held", fg="green")
    if not result.summary:  # otherwise the summary's verdict lines above name every breach
        for breach in result.breaches:
            click.secho(breach, fg="red")
    if not result.trustworthy:
        click.secho("warning: the load generator's CPU saturated; latency figures are untrustworthy", fg="yellow")
    if result.summary_path:
        click.echo(f"summary: {result.summary_path}")
    sys.exit(130 if result.interrupted else 0 if result.passed else 1)


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

