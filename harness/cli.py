"""The ``talon-harness`` command line: each command parses options, calls one library function, exits.

Exit codes, for every command: 0 success; 1 the target failed a check or an SLO; 2 the harness could not
do its job (bad option or file, unknown name, target unreachable, credentials refused at the start or
mid-run, nothing measured); 130 interrupted.
Every error reaches the user as one line ``Error: ...`` (see `HarnessGroup`), never as a traceback.

Options are checked when the command line is parsed (types in `harness.params`), before any server
starts. Options shared by several commands are defined once below (``TARGET_OPTIONS`` ...); a new option
is a ``click.option`` with a type from `harness.params` (the bad-usage test walks every option).
"""

from __future__ import annotations

import contextlib
import dataclasses
import signal
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import click

from talon_harness.contracts.spec import API_NAMES, DEFAULT_API
from talon_harness.harness.params import (
    BaselineFile,
    Duration,
    FieldNames,
    HmacCredentials,
    Host,
    Names,
    OutputFile,
    RecordingFile,
    RulesFile,
    RulesPath,
    Secret,
    SloFile,
    SqliteFile,
    Url,
)

__all__ = ["EXIT_FAILED", "EXIT_HARNESS", "EXIT_INTERRUPTED", "EXIT_PASSED", "HarnessError", "main"]

EXIT_PASSED, EXIT_FAILED, EXIT_HARNESS, EXIT_INTERRUPTED = 0, 1, 2, 130
DAY_S = 24 * 3600.0

F = TypeVar("F", bound=Callable[..., Any])


class HarnessError(click.ClickException):
    """The harness could not do its job (exit code 2, as schemathesis uses it)."""

    exit_code = EXIT_HARNESS


def _fail(message: str, code: int = EXIT_HARNESS) -> NoReturn:
    click.echo("Error: " + " ".join(message.split()), err=True)
    sys.exit(code)


class HarnessGroup(click.Group):
    """A click group whose every error is one line on stderr: usage errors and bad values (exit 2, no
    usage block), harness errors (exit 2), unexpected exceptions (exit 2, named, no traceback),
    Ctrl-C (exit 130). Commands end with ``sys.exit(code)``, which passes through unchanged."""

    def main(self, args: Any = None, prog_name: str | None = None, complete_var: str | None = None,
             standalone_mode: bool = True, **extra: Any) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except (click.exceptions.Abort, KeyboardInterrupt):
            _fail("interrupted", EXIT_INTERRUPTED)
        except click.ClickException as exc:
            _fail(exc.format_message())
        except Exception as exc:  # noqa: BLE001 - the last guard: a user never sees a traceback
            _fail(f"internal error, please report it: {type(exc).__name__}: {exc}")
        sys.exit(rv if isinstance(rv, int) else EXIT_PASSED)  # --help / --version


def _options(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    """Apply ``decorators`` (click options) in the order they are listed (as --help shows them)."""
    def apply(func: F) -> F:
        for decorator in reversed(decorators):
            func = decorator(func)
        return func
    return apply


def _fault_names() -> tuple[str, ...]:
    from talon_harness.refserver.faults import FAULTS, V2_FAULTS

    return (*FAULTS, *V2_FAULTS)


def _check_names() -> tuple[str, ...]:
    from talon_harness.contracts.checks import DOMAIN_CHECKS
    from talon_harness.harness.check import BUILTIN_CHECKS

    return (*BUILTIN_CHECKS, *DOMAIN_CHECKS, "all")


def _shape_names() -> tuple[str, ...]:
    from talon_harness.loadtests.shapes import SHAPES

    return tuple(SHAPES)


API_KEY = click.option("--api-key", type=Secret(), envvar="TALON_API_KEY",
                       help="API key sent as 'Authorization: ApiKey-v1 <key>' (env TALON_API_KEY). Never printed.")
HMAC = click.option("--hmac", type=HmacCredentials(), envvar="TALON_HMAC",
                    help="APP_ID:KEY for the v1 HMAC Content-Signature (env TALON_HMAC). Never printed.")
BASE_URL = click.option("--base-url", type=Url(), help="Server to test (default: the embedded reference server).")
ALLOW_REMOTE = click.option("--allow-remote", is_flag=True, help="Allow a non-loopback --base-url for load.")
SEED = click.option("--seed", default=None, type=click.IntRange(min=0), help="Seed for repeatable generation.")
API = click.option("--api", default=DEFAULT_API, show_default=True, type=click.Choice(API_NAMES),
                   help="API under test: v1 (the seed's 2018-02 revision), v1-2021 (the final v1 revision, D16) or "
                        "v2; the embedded reference server speaks it.")
MAX_RATE = click.option("--max-rate", type=click.FloatRange(min=0, min_open=True),
                        help="Cap on load requests per second.")


def _report_dir(default: str) -> Callable[[F], F]:
    return click.option("--report-dir", default=Path(default), show_default=True,
                        type=click.Path(file_okay=False, path_type=Path), help="Where the reports go.")


#: The target of check, load and run: where traffic goes, which API it speaks, with which credentials.
TARGET_OPTIONS = _options(BASE_URL, API, API_KEY, HMAC)


def _credentials(api_key: str | None, hmac: tuple[int, str] | None) -> Any:  # strategies.wire.Credentials | None
    from talon_harness.strategies.wire import Credentials

    if api_key and hmac:
        raise click.UsageError("give either --api-key or --hmac, not both")
    if hmac:
        return Credentials(hmac_application_id=hmac[0], hmac_key=hmac[1])
    if api_key:
        return Credentials(api_key=api_key)
    return None


def _refuse_remote_load(base_url: str | None, allow_remote: bool) -> None:
    from talon_harness.loadtests.config import is_loopback_url

    if base_url and not allow_remote and not is_loopback_url(base_url):
        raise click.UsageError(f"--base-url {base_url} is not a loopback address; pass --allow-remote to load it")


def _refuse_wrong_target(base_url: str, creds: Any, api: str) -> None:
    """Exit 2 in one line when ``base_url`` does not answer or refuses ``creds`` (``loadtests.probe``: asked
    first, so a stalled target costs one probe's timeout, not one per question), or answers but does not
    speak ``api`` (``loadtests.probe.api_mismatch``) or is no Talon.One v1 server (``harness.preflight``)."""
    from talon_harness.harness.preflight import wrong_target
    from talon_harness.loadtests.probe import api_mismatch, probe_target

    problem = probe_target(base_url, creds).problem or api_mismatch(base_url, api, creds)
    if not problem and api != "v2":  # wrong_target asks v1's questions
        problem = wrong_target(base_url, creds=creds)
    if problem:
        raise HarnessError(problem)


def _health_probe(base_url: str, creds: Any, api: str) -> None:
    """Exit 2 in one line when the proxy's upstream is unreachable, refuses ``creds`` (``loadtests.probe``) or
    does not speak ``api`` while it answers another; without ``creds`` a refusal is no problem: the proxy
    forwards its clients' own credentials."""
    from talon_harness.loadtests.probe import api_mismatch, probe_target

    probe = probe_target(base_url, creds)
    if probe.problem and (creds is not None or not probe.refused):
        raise HarnessError(probe.problem)
    if not probe.refused and (mismatch := api_mismatch(base_url, api, creds)):
        raise HarnessError(mismatch)


@contextlib.contextmanager
def _target(base_url: str | None, creds: Any, *, api: str, quiet: bool = False) -> Iterator[str]:
    """The URL to send traffic to: ``base_url``, or an embedded reference server with ``creds`` speaking ``api``."""
    from talon_harness.harness.target import TargetError, target

    try:
        with target(base_url, api_key=creds.api_key if creds else None,
                    hmac_key=creds.hmac_key if creds else None,
                    application_id=(creds.hmac_application_id if creds else None) or 1, quiet=quiet,
                    api=api) as url:
            yield url
    except TargetError as exc:
        raise HarnessError(str(exc)) from exc


def _config(build: Callable[..., Any], **fields: Any) -> Any:
    """``build(**fields)``; a ValueError from its validation becomes a usage error (exit 2)."""
    try:
        return build(**fields)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None


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
@click.option("--fault", "faults", multiple=True, type=Names(_fault_names),
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
    config = _config(ServerConfig, application_id=application_id, account_id=account_id, api_key=api_key,
                     hmac_key=hmac[1] if hmac else None, rules=rules or RuleSet.default(),
                     faults=frozenset(faults), api=api)
    try:
        stopped_by = run_server(host=host, port=port, db=db, config=config, log=not quiet)
    except OSError as exc:
        raise HarnessError(f"could not serve on {host}:{port}: {exc}") from exc
    if stopped_by == signal.SIGINT:  # SIGTERM (a process manager's stop) is a normal end: exit 0
        click.secho("serve: interrupted (Ctrl-C); stopped cleanly", fg="yellow", err=True)
        sys.exit(EXIT_INTERRUPTED)


CHECK_OPTIONS = _options(
    TARGET_OPTIONS,
    click.option("--max-examples", default=None, type=click.IntRange(min=1),
                 help="Fuzzing cases per operation / stateful scenarios."),
    click.option("--max-time", default=None, type=Duration(1, DAY_S), help="Upper bound for the check (90, 2m...)."),
    SEED,
    click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64),
                 help="Concurrent schemathesis workers."),
    click.option("--checks", default=None, type=Names(_check_names, many=True),
                 help="Comma-separated checks to run (built-in and domain)."),
    click.option("--exclude-checks", default=None, type=Names(_check_names, many=True),
                 help="Comma-separated checks to skip."),
    click.option("--baseline", type=BaselineFile(), help="Accept the known failures in this schemathesis baseline."),
    click.option("--oracle", is_flag=True,
                 help="Also send every request to a fresh reference server and compare the answers."),
    click.option("--oracle-rules", type=RulesPath(), help="The oracle's rule set (the format serve --rules reads)."),
    click.option("--oracle-exclude", default=None, type=FieldNames(),
                 help="Comma-separated fields (or paths) the oracle does not compare."),
    _report_dir("reports/check"),
    click.option("--keep-events", is_flag=True,
                 help="Keep schemathesis' full event stream (events.ndjson, tens of MB) in the report dir."),
)


def _check_config(*, base_url: str | None, api: str, api_key: str | None, hmac: tuple[int, str] | None,
                  max_examples: int | None, max_time: float | None, seed: int | None, workers: int,
                  checks: tuple[str, ...] | None, exclude_checks: tuple[str, ...] | None, baseline: Path | None,
                  oracle: bool, oracle_rules: Path | None, oracle_exclude: tuple[str, ...] | None,
                  report_dir: Path, keep_events: bool) -> Any:  # -> CheckConfig
    from talon_harness.harness.check import CheckConfig
    from talon_harness.harness.target import check_credentials

    defaults = CheckConfig(base_url="")
    creds = _config(check_credentials, api=api, base_url=base_url, creds=_credentials(api_key, hmac))
    return _config(CheckConfig, base_url=base_url or "", credentials=creds,
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
    with _target(options["base_url"], config.credentials, api=config.api) as base_url:
        result = run_check(dataclasses.replace(config, base_url=base_url))
    sys.exit(result.exit_code)


LOAD_OPTIONS = _options(
    TARGET_OPTIONS,
    ALLOW_REMOTE,
    click.option("--users", type=click.IntRange(min=1), help="Closed model: concurrent virtual users."),
    click.option("--rate", type=click.FloatRange(min=0, min_open=True),
                 help="Open model: journeys per second (a journey is several requests)."),
    click.option("--arrival", type=click.Choice(["poisson", "constant"]), default="poisson", show_default=True),
    click.option("--duration", default=20.0, show_default=True, type=Duration(1, DAY_S),
                 help="How long to load (90, 90s, 2m, 1h30m); always bounded."),
    click.option("--shape", default=None, type=Names(_shape_names), help="Load shape (with --users)."),
    click.option("--workers", default=0, show_default=True, type=click.IntRange(0, 64),
                 help="Local Locust worker processes under one master (0: one process; across hosts: --master/--worker)."),
    MAX_RATE,
    click.option("--slo", type=SloFile(), help="SLO gates file (TOML, JSON or YAML)."),
    click.option("--validate-share", default=0.05, show_default=True, type=click.FloatRange(0, 1),
                 help="Share of responses validated against the contract."),
    click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0)),
    click.option("--mix", type=click.Choice(API_NAMES),
                 help="Mixed traffic: every other journey is one of this API's (v2 beside a v1 revision, or back)."),
    click.option("--connections", default=10, show_default=True, type=click.IntRange(1, 1000),
                 help="Open model: connections per Locust process that carry the arrivals (raise it when the "
                      "corrected latency shows arrivals queueing for a connection)."),
    _report_dir("reports/load"),
    click.option("--baseline", type=click.Path(file_okay=False, path_type=Path),
                 help="A previous run's report directory: fail when a latency percentile regressed."),
    click.option("--baseline-update", is_flag=True, help="Write this run's histograms into --baseline."),
    click.option("--replay", type=RecordingFile(),
                 help="Replay this recording (proxy --record NDJSON, or HAR 1.2) instead of journeys."),
    click.option("--speed", default=1.0, show_default=True, type=click.FloatRange(min=0, min_open=True),
                 help="Replay: each request at its recorded offset divided by this."),
    click.option("--loop", is_flag=True, help="Replay: start again at the end (bounded by --duration)."),
    click.option("--master", is_flag=True,
                 help="Run only the Locust master: wait for --expect-workers workers (each a `load --worker`, on "
                      "any host), split the users or the rate across them, merge their HDR histograms, judge, report."),
    click.option("--expect-workers", default=None, type=click.IntRange(1, 1000),
                 help="With --master: how many workers to wait for (at most 60 s)."),
    click.option("--worker", is_flag=True,
                 help="Run only a Locust worker for the master at --master-host: every setting but the credentials "
                      "comes from the master; it stays up at most --duration (give the master's) plus 105 s."),
    click.option("--master-host", default="127.0.0.1", show_default=True, type=Host(),
                 help="--master: the address to bind (0.0.0.0 for workers on other hosts); --worker: the master."),
    click.option("--master-port", default=5557, show_default=True, type=click.IntRange(1, 65535),
                 help="The master's port (--master binds it, --worker connects to it)."),
)

#: options a worker must not be given: the master decides them
_MASTER_DECIDES = ("base_url", "api", "mix", "allow_remote", "users", "rate", "arrival", "shape", "workers", "max_rate", "slo",
                   "validate_share", "seed", "connections", "baseline", "baseline_update", "replay", "speed", "loop", "master",
                   "expect_workers")


def _load_config(*, base_url: str | None, api: str, allow_remote: bool, api_key: str | None,
                 hmac: tuple[int, str] | None,
                 users: int | None, rate: float | None, arrival: str, duration: float, shape: str | None, mix: str | None,
                 workers: int, max_rate: float | None, slo: Any, validate_share: float, seed: int,
                 connections: int, report_dir: Path, baseline: Path | None, baseline_update: bool, replay: Path | None,
                 speed: float, loop: bool, master: bool, expect_workers: int | None, worker: bool,
                 master_host: str, master_port: int) -> Any:  # -> LoadConfig
    from talon_harness.loadtests.config import LoadConfig
    from talon_harness.loadtests.gates import SloSet

    distribution = {"master": master, "expect_workers": expect_workers or 0, "worker": worker,
                    "master_host": master_host, "master_port": master_port}
    if worker:
        ctx = click.get_current_context()
        given = [n for n in _MASTER_DECIDES if ctx.get_parameter_source(n) is not click.core.ParameterSource.DEFAULT]
        if given:
            raise click.UsageError(f"--worker takes the run's settings from the master: drop --{given[0].replace('_', '-')}")
        return _config(LoadConfig, base_url="http://127.0.0.1", users=1, duration_s=duration, report_dir=report_dir,
                       credentials=_credentials(api_key, hmac), **distribution)
    if users and rate:
        raise click.UsageError("give either --users (closed model) or --rate (open model), not both")
    _refuse_remote_load(base_url, allow_remote)
    if replay is not None:
        if users or rate or shape or baseline is not None:
            raise click.UsageError("--replay replays the recording's own schedule: drop --users/--rate/--shape/--baseline")
        if mix:
            raise click.UsageError("--replay replays the recording's own requests: drop --mix")
        return _config(LoadConfig, **_replay_fields(replay, speed, loop, duration, workers),
                       base_url=base_url or "http://127.0.0.1", slo=slo or SloSet.default(), report_dir=report_dir,
                       max_rate=max_rate, credentials=_credentials(api_key, hmac), validate_share=validate_share,
                       journey_weights=None, seed=seed, allow_remote=allow_remote, connections=connections,
                       api=api, **distribution)
    return _config(LoadConfig, base_url=base_url or "http://127.0.0.1", users=users if users or rate else 10,
                   rate=rate, arrival=arrival, duration_s=duration, shape=shape, workers=workers,
                   slo=slo or SloSet.default(), report_dir=report_dir, max_rate=max_rate,
                   credentials=_credentials(api_key, hmac), validate_share=validate_share, journey_weights=None,
                   seed=seed, allow_remote=allow_remote, baseline=baseline, baseline_update=baseline_update,
                   connections=connections, api=api, mix=mix, **distribution)


def _replay_fields(replay: Path, speed: float, loop: bool, duration: float, workers: int) -> dict[str, Any]:
    """LoadConfig fields of ``load --replay``: one user per process; without --loop the run lasts the
    recording at --speed plus 3 s (or --duration when given)."""
    from talon_harness.loadtests.replay import load_traffic

    explicit = click.get_current_context().get_parameter_source("duration") is not click.core.ParameterSource.DEFAULT
    if not explicit and not loop:
        duration = load_traffic(replay)[-1].offset_ms / 1000.0 / speed + 3.0
    processes = max(1, workers)
    return {"users": processes, "spawn_rate": float(processes), "duration_s": duration, "workers": workers,
            "replay": replay, "replay_speed": speed, "replay_loop": loop}


def _replay_section(summary_path: Path | None) -> dict[str, Any] | None:
    """The ``"replay"`` section the replay locustfile adds to summary.json (None when absent)."""
    import json

    if summary_path is None:
        return None
    try:
        section = json.loads(summary_path.read_text(encoding="utf-8")).get("replay")
    except (OSError, ValueError, AttributeError):
        return None
    return section if isinstance(section, dict) else None


def _render_replay(section: dict[str, Any]) -> None:
    lateness = section.get("lateness_ms") or {}
    click.echo(f"replay: {section['sent']} requests sent, {section['status_matched']} statuses as recorded, "
               f"{section['status_mismatched']} different"
               + "".join(f"; {k}: {v}" for k, v in section["mismatches"].items())
               + (f"; schedule lateness p50 {lateness['p50']:.2f} ms p99 {lateness['p99']:.2f} ms" if lateness else "")
               + (f"; {section['dropped']} dropped" if section.get("dropped") else ""))


@main.command()
@LOAD_OPTIONS
def load(**options: Any) -> None:
    """Replay realistic profile-then-session traffic with Locust and gate on SLOs."""
    from talon_harness.harness.console import make_console
    from talon_harness.harness.html_report import write_load_report
    from talon_harness.harness.load_render import render_load_outcome, render_verdict
    from talon_harness.harness.summary import load_summary, publish
    from talon_harness.loadtests.run import run_load, run_worker

    config = _load_config(**options)
    if config.worker:
        done = run_worker(config)
        for problem in done.problems:
            click.secho(f"Error: {problem}", fg="red", err=True)
        if done.exit_code == EXIT_INTERRUPTED:
            click.secho("load: interrupted", fg="yellow", err=True)
        elif done.exit_code == EXIT_PASSED:
            click.echo(f"load: worker done; the master has the reports (log: {done.log_path})")
        sys.exit(done.exit_code)
    # a mixed run's embedded server speaks the v1 revision of the pair (and answers v2 beside it)
    served = next((a for a in (config.api, config.mix) if a and a != "v2"), config.api)
    with _target(options["base_url"], config.credentials, api=served, quiet=True) as base_url:
        if options["base_url"]:  # the embedded server is the right kind; a given one may not be
            for api in (config.api, config.mix or config.api):
                _refuse_wrong_target(base_url, config.credentials, api)
        result = run_load(dataclasses.replace(config, base_url=base_url))
    if result.outcome is not None:
        render_load_outcome(result.outcome, make_console())
    for problem in result.problems:  # the outcome's verdict lines above name every SLO breach
        click.secho(f"Error: {problem}" if result.exit_code == EXIT_HARNESS else problem, fg="red", err=True)
    replay = _replay_section(result.summary_path) if config.replay is not None else None
    if replay is not None:
        _render_replay(replay)
    if result.interrupted:
        click.secho("load: interrupted; partial reports were kept", fg="yellow", err=True)
    elif result.passed and result.outcome is not None:
        render_verdict(result.outcome, make_console())
    if result.summary_path:
        write_load_report(result.summary_path.parent, target=base_url)
        publish(*load_summary(result.summary_path.parent, result.problems))
        click.echo(f"summary: {result.summary_path}")
    sys.exit(result.exit_code)


@main.command()
@TARGET_OPTIONS
@ALLOW_REMOTE
@MAX_RATE
@click.option("--max-time", default=60.0, show_default=True, type=Duration(1, DAY_S),
              help="Upper bound for the check step (90, 2m...).")
@click.option("--duration", default=20.0, show_default=True, type=Duration(1, DAY_S),
              help="How long the load step runs (90, 90s, 2m, 1h30m).")
@click.option("--seed", default=0, show_default=True, type=click.IntRange(min=0))
@click.option("--oracle", is_flag=True, help="The check step also compares every answer with a reference server.")
@_report_dir("reports")
def run(base_url: str | None, api: str, api_key: str | None, hmac: tuple[int, str] | None, allow_remote: bool,
        max_rate: float | None, max_time: float, duration: float, seed: int, oracle: bool, report_dir: Path) -> None:
    """The main job: a short `check`, then a `load`, against --base-url or the embedded reference server."""
    from talon_harness.harness.pipeline import run_pipeline
    from talon_harness.harness.target import TargetError

    _refuse_remote_load(base_url, allow_remote)
    try:
        code = _config(run_pipeline, report_dir=report_dir, check_time=max_time, duration=duration, seed=seed,
                       base_url=base_url,
                       credentials=_credentials(api_key, hmac), allow_remote=allow_remote, max_rate=max_rate,
                       oracle=oracle, api=api)
    except TargetError as exc:
        raise HarnessError(str(exc)) from exc
    sys.exit(code)


@main.command()
@click.option("--seeds", default=1, show_default=True, type=click.IntRange(1), help="Seeds per fault (0..N-1).")
@click.option("--faults", "fault_list", default="", type=Names(_fault_names, many=True),
              help="Comma-separated fault names (default: all).")
@click.option("--budget", default=15, show_default=True, type=click.IntRange(1),
              help="Fuzzing examples per operation for check and the st baseline.")
@click.option("--max-time", default=20.0, show_default=True, type=Duration(1, DAY_S),
              help="Per schemathesis run (90, 90s, 2m).")
@click.option("--threshold", default=1.0, show_default=True, type=click.FloatRange(0, 1),
              help="Minimum detection rate.")
@click.option("--no-baseline", is_flag=True, help="Skip the plain `st run` column.")
@click.option("--oracle", is_flag=True, help="Add a `check --oracle` column (and replay its regression files).")
@API
@_report_dir("reports/selftest")
def selftest(seeds: int, fault_list: tuple[str, ...], budget: int, max_time: float, threshold: float,
             no_baseline: bool, oracle: bool, api: str, report_dir: Path) -> None:
    """Inject each refserver fault, run check (+ probes, + load for performance faults) and plain
    schemathesis against it; exit 1 if the detection rate is below --threshold or the correct server fails,
    2 if a run on the correct server could not complete."""
    from talon_harness.harness._selftest_render import render
    from talon_harness.harness.console import make_console
    from talon_harness.harness.selftest import SelftestConfig, run_selftest

    config = _config(SelftestConfig, faults=fault_list, seeds=seeds, max_examples=budget, max_time=max_time,
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
@_report_dir("reports/proxy")
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
    config = _config(ProxyConfig, upstream=upstream or "http://127.0.0.1", host=host, port=port, record=record,
                     max_exchanges=max_exchanges, max_bytes=max_bytes, timeout_s=timeout, report_dir=report_dir,
                     fresh=not upstream, api=api)
    creds = _credentials(api_key, hmac)
    with _target(upstream, None, api=api, quiet=True) as base_url:
        _health_probe(base_url, creds, api)
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
