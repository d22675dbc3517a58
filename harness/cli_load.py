"""``talon-harness load``: its options, its one validated ``LoadConfig``, and the replay section it prints."""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import click

from talon_harness.contracts.spec import API_NAMES
from talon_harness.harness.cli_options import (
    ALLOW_REMOTE,
    EXIT_HARNESS,
    EXIT_INTERRUPTED,
    EXIT_PASSED,
    MAX_RATE,
    TARGET_OPTIONS,
    credentials_from,
    options_in_order,
    refuse_remote_load,
    refuse_wrong_target,
    report_dir_option,
    shape_names,
    target_url,
    validated,
)
from talon_harness.harness.params import (
    Duration,
    Host,
    Names,
    RecordingFile,
    SloFile,
)

__all__ = ["LOAD_OPTIONS", "load"]

LOAD_OPTIONS = options_in_order(
    TARGET_OPTIONS,
    ALLOW_REMOTE,
    click.option("--users", type=click.IntRange(min=1), help="Closed model: concurrent virtual users."),
    click.option("--rate", type=click.FloatRange(min=0, min_open=True),
                 help="Open model: journeys per second (a journey is several requests)."),
    click.option("--arrival", type=click.Choice(["poisson", "constant"]), default="poisson", show_default=True),
    click.option("--duration", default=20.0, show_default=True, type=Duration(),
                 help="How long to load (90, 90s, 2m, 1h30m); always bounded."),
    click.option("--shape", default=None, type=Names(shape_names), help="Load shape (with --users)."),
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
    report_dir_option("reports/load"),
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
        return validated(LoadConfig, base_url="http://127.0.0.1", users=1, duration_s=duration, report_dir=report_dir,
                       credentials=credentials_from(api_key, hmac), **distribution)
    if users and rate:
        raise click.UsageError("give either --users (closed model) or --rate (open model), not both")
    refuse_remote_load(base_url, allow_remote)
    if replay is not None:
        if users or rate or shape or baseline is not None:
            raise click.UsageError("--replay replays the recording's own schedule: drop --users/--rate/--shape/--baseline")
        if mix:
            raise click.UsageError("--replay replays the recording's own requests: drop --mix")
        return validated(LoadConfig, **_replay_fields(replay, speed, loop, duration, workers),
                       base_url=base_url or "http://127.0.0.1", slo=slo or SloSet.default(), report_dir=report_dir,
                       max_rate=max_rate, credentials=credentials_from(api_key, hmac), validate_share=validate_share,
                       journey_weights=None, seed=seed, allow_remote=allow_remote, connections=connections,
                       api=api, **distribution)
    return validated(LoadConfig, base_url=base_url or "http://127.0.0.1", users=users if users or rate else 10,
                   rate=rate, arrival=arrival, duration_s=duration, shape=shape, workers=workers,
                   slo=slo or SloSet.default(), report_dir=report_dir, max_rate=max_rate,
                   credentials=credentials_from(api_key, hmac), validate_share=validate_share, journey_weights=None,
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
    from talon_harness.loadtests.outcome import read_summary

    if summary_path is None:
        return None
    try:
        section = read_summary(summary_path.parent).get("replay")
    except (OSError, ValueError):
        return None
    return section if isinstance(section, dict) else None


def _render_replay(section: dict[str, Any]) -> None:
    lateness = section.get("lateness_ms") or {}
    click.echo(f"replay: {section['sent']} requests sent, {section['status_matched']} statuses as recorded, "
               f"{section['status_mismatched']} different"
               + "".join(f"; {k}: {v}" for k, v in section["mismatches"].items())
               + (f"; schedule lateness p50 {lateness['p50']:.2f} ms p99 {lateness['p99']:.2f} ms" if lateness else "")
               + (f"; {section['dropped']} dropped" if section.get("dropped") else ""))


@click.command()
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
    with target_url(options["base_url"], config.credentials, api=served, quiet=True) as base_url:
        if options["base_url"]:  # the embedded server is the right kind; a given one may not be
            for api in (config.api, config.mix or config.api):
                refuse_wrong_target(base_url, config.credentials, api)
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

