"""``talon-harness run``: the README's main job, a short check then a short load, one summary; for one API
(:func:`run_pipeline`) or several in turn (:func:`run_apis`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from rich.console import Console
from rich.table import Table

from talon_harness.harness.check import CheckConfig, run_check
from talon_harness.harness.console import make_console
from talon_harness.harness.html_report import write_load_report
from talon_harness.harness.load_render import render_load_outcome
from talon_harness.harness.preflight import wrong_target
from talon_harness.harness.summary import load_summary, publish
from talon_harness.harness.target import check_credentials, target
from talon_harness.loadtests.config import LoadConfig
from talon_harness.loadtests.probe import api_mismatch, probe_target, unanswered
from talon_harness.loadtests.run import run_load
from talon_harness.strategies.wire import Credentials

__all__ = ["Steps", "run_apis", "run_pipeline"]

CHECK_MAX_EXAMPLES = 25
CHECK_MAX_TIME_S = 60.0
LOAD_RATE = 20.0  # journeys per second (open workload), about 60 requests per second
_VERDICTS = {0: "[green]pass[/]", 1: "[red]fail[/]", 2: "[yellow]no verdict[/]", 130: "[yellow]interrupted[/]"}


@dataclasses.dataclass(frozen=True)
class Steps:
    """One API's run: its exit code (as :func:`run_pipeline` returns it), each step's own exit code (``load``
    None when it did not run: the check could not run or was interrupted) and where the reports are."""

    exit_code: int
    check: int
    load: int | None
    report_dir: Path

    def rows(self) -> list[tuple[str, str, str]]:
        """(step, verdict, report) for the final table."""
        load = "not run" if self.load is None else _VERDICTS[self.load]
        return [("check", _VERDICTS[self.check], str(self.report_dir / "check" / "report.html")),
                ("load", load, str(self.report_dir / "load" / "report.html"))]


def run_pipeline(*, report_dir: Path, check_time: float = CHECK_MAX_TIME_S, duration: float = 20.0, seed: int = 0,
                 base_url: str | None = None, credentials: Credentials | None = None, allow_remote: bool = False,
                 max_rate: float | None = None, oracle: bool = False, console: Console | None = None,
                 api: str = "v1") -> int:
    """Run ``check`` (short budget, at most ``check_time`` seconds), then ``load`` for ``duration`` seconds
    (capped at ``max_rate`` requests/s), against ``base_url`` or else one embedded reference server
    started with ``credentials``; both steps send ``credentials``. ``oracle``: the check step runs with
    ``CheckConfig.oracle`` (every answer compared with a fresh reference server's). ``api``: the API both steps
    test (``contracts.spec.API_NAMES``); the embedded server speaks it (on v2 with a fresh API key when no
    credentials are given: ``harness.target.check_credentials``).

    Returns the process exit code: 0 when the check found nothing and every SLO held; 2 when the check
    could not run (the load step is skipped then) or the load measured nothing after a clean check; 130 when
    interrupted; else 1. Reports go to ``report_dir/check`` and ``report_dir/load``; a table of both steps
    ends the output once the load ran. Raises ValueError on an invalid load configuration (e.g. a non-loopback
    ``base_url`` without ``allow_remote``) before any traffic is sent.
    """
    console = console or make_console()
    steps = _steps(report_dir=report_dir, check_time=check_time, duration=duration, seed=seed, base_url=base_url,
                   credentials=credentials, allow_remote=allow_remote, max_rate=max_rate, oracle=oracle,
                   console=console, api=api)
    if steps.load is not None:
        table = Table(title="talon-harness run")
        for column in ("step", "verdict", "reports"):
            table.add_column(column)
        for row in steps.rows():
            table.add_row(*row)
        console.print(table)
    return steps.exit_code


def _steps(*, report_dir: Path, check_time: float, duration: float, seed: int, base_url: str | None,
           credentials: Credentials | None, allow_remote: bool, max_rate: float | None, oracle: bool,
           console: Console, api: str) -> Steps:
    """:func:`run_pipeline` without its table."""
    credentials = check_credentials(api, base_url, credentials)
    load_config = LoadConfig(
        base_url=base_url or "http://127.0.0.1", rate=LOAD_RATE, duration_s=duration, report_dir=report_dir / "load",
        max_rate=max_rate, credentials=credentials, seed=seed, allow_remote=allow_remote, api=api,
    )
    with target(base_url, credentials, api=api) as url:
        checked = run_check(CheckConfig(
            base_url=url, credentials=credentials, max_examples=CHECK_MAX_EXAMPLES, max_time=check_time,
            seed=seed, report_dir=report_dir / "check", fresh_server=not base_url, oracle=oracle, api=api,
        ), console=console)
        if checked.exit_code in (2, 130):
            return Steps(checked.exit_code, checked.exit_code, None, report_dir)
        loaded = run_load(dataclasses.replace(load_config, base_url=url))
    if loaded.outcome is not None:
        render_load_outcome(loaded.outcome, console)
    for problem in loaded.problems:
        console.print(f"[red]{'Error: ' if loaded.exit_code == 2 else ''}{problem}[/]", soft_wrap=True, highlight=False)
    if loaded.summary_path:
        write_load_report(loaded.summary_path.parent, target=url)
        publish(*load_summary(loaded.summary_path.parent, loaded.problems))
    if loaded.interrupted:
        code = 130
    elif checked.exit_code == 0 and loaded.exit_code == 2:  # the load measured nothing: no verdict on it
        code = 2
    else:
        code = 0 if checked.exit_code == 0 and loaded.passed else 1
    return Steps(code, checked.exit_code, loaded.exit_code, report_dir)


def run_apis(apis: tuple[str, ...], *, every: bool = False, report_dir: Path, check_time: float = CHECK_MAX_TIME_S,
             duration: float = 20.0, seed: int = 0, base_url: str | None = None,
             credentials: Credentials | None = None, allow_remote: bool = False, max_rate: float | None = None,
             oracle: bool = False, console: Console | None = None) -> int:
    """:func:`run_pipeline` for each API of ``apis`` in turn (``every``: they are all of ``API_NAMES``, ``--api
    all``). One API asked by name is exactly :func:`run_pipeline` (reports in ``report_dir/check`` and
    ``report_dir/load``); otherwise each API's reports go to ``report_dir/<api>/`` and one table of every API
    and step ends the output.

    Without ``base_url`` each API gets a fresh embedded reference server. With it, the target is probed first
    (``loadtests.probe``): unreachable, refusing the credentials or not a Talon.One server is one line and exit
    2; an API it does not answer is, with ``every``, skipped with one line ``run: skipping <api> (...)``, else
    one line and exit 2 before any check runs. ``every`` with ``--hmac`` skips v2 (it takes only an API key).

    Returns 130 at once when interrupted; else 1 when any API's check or load failed; else 2 when any could
    not be measured (or, with ``every``, the target answers none); else 0. Raises ValueError (before any
    traffic) when ``credentials`` do not fit an API asked by name or the load configuration is invalid.
    """
    console = console or make_console()
    if len(apis) == 1 and not every:
        return run_pipeline(report_dir=report_dir, check_time=check_time, duration=duration, seed=seed,
                            base_url=base_url, credentials=credentials, allow_remote=allow_remote,
                            max_rate=max_rate, oracle=oracle, console=console, api=apis[0])
    kept = _fitting_credentials(apis, every, base_url, credentials, console)
    if base_url:
        kept = _answered(base_url, kept, every, credentials, console)
    if not kept:
        return 2
    done: list[tuple[str, Steps]] = []
    for api in kept:
        steps = _steps(report_dir=report_dir / api, check_time=check_time, duration=duration, seed=seed,
                       base_url=base_url, credentials=credentials, allow_remote=allow_remote, max_rate=max_rate,
                       oracle=oracle, console=console, api=api)
        done.append((api, steps))
        if steps.exit_code == 130:
            break
    table = Table(title="talon-harness run")
    for column in ("api", "step", "verdict", "reports"):
        table.add_column(column)
    for api, steps in done:
        for row in steps.rows():
            table.add_row(api, *row)
    console.print(table)
    codes = {steps.exit_code for _, steps in done}
    return next((code for code in (130, 1, 2) if code in codes), 0)


def _fitting_credentials(apis: tuple[str, ...], every: bool, base_url: str | None, credentials: Credentials | None,
                         console: Console) -> tuple[str, ...]:
    """``apis`` whose check accepts ``credentials`` (``check_credentials``); with ``every`` the others are
    skipped with one line each, else the first raises its ValueError."""
    kept = []
    for api in apis:
        try:
            check_credentials(api, base_url, credentials)
        except ValueError as exc:
            if not every:
                raise
            console.print(f"run: skipping {api} ({exc})", soft_wrap=True, highlight=False)
            continue
        kept.append(api)
    return tuple(kept)


def _answered(base_url: str, apis: tuple[str, ...], every: bool, credentials: Credentials | None,
              console: Console) -> tuple[str, ...]:
    """The APIs of ``apis`` that ``base_url`` answers (see :func:`run_apis`); () after one ``Error:`` line when
    the run must stop."""
    problem = probe_target(base_url, credentials).problem
    kept: list[str] = []
    for api in () if problem else apis:
        missing = unanswered(base_url, api, credentials) if every else None
        mismatch = None if every else api_mismatch(base_url, api, credentials)
        if missing:
            console.print(f"run: skipping {api} (the target does not answer it: {missing})",
                          soft_wrap=True, highlight=False)
        elif mismatch:
            problem = mismatch
            break
        else:
            kept.append(api)
    if not problem and any(api != "v2" for api in kept):  # wrong_target asks v1's questions
        problem = wrong_target(base_url, creds=credentials)
    if not problem and not kept:
        problem = f"the target answers none of {', '.join(apis)}: nothing to test"
    if problem:
        console.print(f"[red]Error:[/red] {problem}", soft_wrap=True, highlight=False)
        return ()
    return tuple(kept)
