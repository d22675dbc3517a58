"""The per-process plugin the locustfile installs: config, HDR recorder wiring, rate cap, CPU watch, report.

On every node it records ``events.request`` into a :class:`LatencyRecorder`. Workers ship their delta
on each ``report_to_master``; the master merges it on ``worker_report`` and keeps each worker's share
(requests, failures, arrivals) for the summary's ``workers`` section. The master (or the local
runner) samples generator CPU while the test runs and, on ``quitting``, judges the run
(``loadtests.gates``), builds the :class:`~talon_harness.loadtests.outcome.LoadOutcome`, has
``loadtests.report`` write it, and sets the process exit code: 1 when an SLO is breached, 2 when user
code raised, else 0 (the SLO gates decide, not Locust's "any failure" rule).

The run's settings arrive as one document (D41): ``LoadConfig.to_env()``, credentials inside, in the
environment variable ``loadtests.config.LOAD_SETTINGS_ENV`` of every Locust process ``talon-harness load``
starts; nothing of ours is in Locust's argv. The master forwards its settings without the credentials
(``LoadConfig.to_json()`` as the custom option ``talon_config``, which Locust sends to every worker at test
start over its unauthenticated channel); a worker takes them and keeps the credentials of its own document,
so a key never crosses the network except to the target. A plain ``locust -f`` run may give its settings as
``--talon-config`` (JSON or ``@FILE``, no credentials: it is argv) and its keys in the document; with
neither, the defaults of :class:`LoadConfig` apply, with Locust's ``--host`` and ``-u``.
"""

from __future__ import annotations

import itertools
import json
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from talon_harness.loadtests import report
from talon_harness.loadtests.baseline import BaselineVerdict, Histograms, compare, read_histograms
from talon_harness.loadtests.config import LoadConfig
from talon_harness.loadtests.gates import cpu_trust, evaluate, trust
from talon_harness.loadtests.journeybook import JourneyBook, default_weights
from talon_harness.loadtests.outcome import FailureRow, LoadOutcome, build_outcome
from talon_harness.loadtests.recorder import LatencyRecorder

__all__ = ["RateLimiter", "TalonPlugin", "add_arguments", "config_from_options"]


def add_arguments(parser: Any) -> None:
    """Register ``--talon-config``: a plain ``locust -f`` run's settings, and what a master forwards to its
    workers (Locust sends custom options to every worker at test start)."""
    parser.add_argument(
        "--talon-config",
        default="",
        help="the run's settings (LoadConfig.to_json(): no credentials) as JSON, or @FILE holding them; "
        "credentials only in the TALON_HARNESS_LOAD document",
    )


def config_from_options(opts: Any, environ: Mapping[str, str], *, worker: bool = False) -> LoadConfig:
    """The LoadConfig of this Locust process (D41), its credentials always those of its own document.

    ``opts.talon_config`` set (on a worker: the settings its master forwarded at test start; on a plain
    ``locust -f`` run: ``--talon-config``, JSON or ``@FILE``): those settings. Otherwise the document
    in ``environ`` (``LoadConfig.from_env``); without one (or one holding only credentials) the defaults of
    :class:`LoadConfig` with Locust's ``--host`` and ``-u``. On a ``worker`` forwarded settings lose the
    baseline: only the master compares, and it may live on another host."""
    raw = str(getattr(opts, "talon_config", "") or "")
    if raw:
        text = Path(raw[1:]).read_text(encoding="utf-8") if raw.startswith("@") else raw
        if worker:
            text = json.dumps({**json.loads(text), "baseline": None, "baseline_update": False})
        return LoadConfig.from_env(environ, settings=text)
    config = LoadConfig.from_env(environ)
    if config is not None:
        return config
    host = str(getattr(opts, "host", "") or "http://127.0.0.1")
    users = max(1, int(getattr(opts, "num_users", 0) or 1))
    defaults = {"base_url": host, "users": users, "allow_remote": True}  # locust's own --host
    return LoadConfig.from_env(environ, settings=json.dumps(defaults))


class RateLimiter:
    """Process-wide pacing: at most ``rate`` request starts per second (``rate <= 0``: no cap)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    def wait(self) -> None:
        if not self.interval:
            return
        now = time.perf_counter()
        slot = max(now, self._next)
        self._next = slot + self.interval
        if slot > now:
            gevent.sleep(slot - now)


class TalonPlugin:
    """Everything the locustfile needs per process; reach it with ``TalonPlugin.of(environment)``."""

    def __init__(self, environment: Environment) -> None:
        self.environment = environment
        self._configure()
        self.recorder = LatencyRecorder(window_s=self.config.window_s)
        self.run_token = os.urandom(4).hex()
        self.cpu_samples: list[float] = []
        self.machine_cpu: list[float] = []
        self.cpu_warnings = 0
        self.started_perf: float | None = None
        self.started_at: float | None = None
        self.stopped_perf: float | None = None
        self._sampler: gevent.Greenlet | None = None
        self._book: JourneyBook | None = None
        self._user_seq = itertools.count()  # with the node id and run token it makes ids unique
        self.worker_shares: dict[str, dict[str, int]] = {}  # master: what each worker's reports held

    def _configure(self) -> None:
        """(Re)read the config: a worker gets its master's settings at test start (see the module docstring)."""
        worker = isinstance(self.environment.runner, WorkerRunner)
        self.config = config_from_options(self.environment.parsed_options, os.environ, worker=worker)
        nodes = 1
        if worker:
            nodes = max(1, int(getattr(self.environment.parsed_options, "expect_workers", 1) or 1))
        self.limiter = RateLimiter(self.config.max_rate / nodes if self.config.max_rate else 0.0)

    def next_user_seq(self) -> int:
        """A number unique to each user this process starts (part of every entity id it sends)."""
        return next(self._user_seq)

    def journey_book(self) -> JourneyBook:
        """The process's JourneyBook for the current weights (built at init, rebuilt if they change)."""
        weights = self.config.journey_weights or default_weights(self.config.api)
        if self._book is None or self._book.weights != weights:
            self._book = JourneyBook(weights, seed=f"{self.config.seed}:{self.node}", marker=self.run_token,
                                     api=self.config.api, mix=self.config.mix)
        return self._book

    def _prepare_ahead(self) -> None:
        """Build the journey book and compile the response schemas before the test starts."""
        from talon_harness.loadtests._contract import ResponseValidator

        for api in (self.config.api, self.config.mix or self.config.api):
            ResponseValidator.shared(api)
        self.journey_book()

    @property
    def node(self) -> int:
        runner = self.environment.runner
        return int(getattr(runner, "worker_index", 0) or 0) if isinstance(runner, WorkerRunner) else 0

    @classmethod
    def of(cls, environment: Environment) -> TalonPlugin:
        plugin: TalonPlugin = environment.talon_plugin  # type: ignore[attr-defined]
        return plugin

    @classmethod
    def install(cls, environment: Environment) -> TalonPlugin:
        plugin = cls(environment)
        environment.talon_plugin = plugin  # type: ignore[attr-defined]
        ev = environment.events
        ev.request.add_listener(plugin.recorder.on_request)
        if not isinstance(environment.runner, MasterRunner):
            plugin._prepare_ahead()  # off the measured run: nothing is generated while requests fly
        if isinstance(environment.runner, WorkerRunner):
            ev.report_to_master.add_listener(plugin._on_report_to_master)
            ev.test_start.add_listener(lambda **_: plugin._configure())
            return plugin
        if isinstance(environment.runner, MasterRunner):
            ev.worker_report.add_listener(plugin._on_worker_report)
            if environment.parsed_options is not None:  # forwarded to every worker at test start: no secret
                environment.parsed_options.talon_config = plugin.config.to_json()
        ev.test_start.add_listener(plugin._on_test_start)
        ev.test_stop.add_listener(plugin._on_test_stop)
        ev.cpu_warning.add_listener(plugin._on_cpu_warning)
        ev.quitting.add_listener(plugin._on_quitting)
        return plugin

    # -- event handlers ------------------------------------------------------------------------
    def _on_report_to_master(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        data["talon"] = self.recorder.drain()

    def _on_worker_report(self, client_id: str, data: dict[str, Any], **_: Any) -> None:
        if "talon" in data:
            delta = data["talon"]
            self.recorder.merge(delta)
            share = self.worker_shares.setdefault(
                client_id, {"requests": 0, "failures": 0, "intended_arrivals": 0, "reports": 0}
            )
            share["requests"] += sum(req for req, _ in delta["counts"].values())
            share["failures"] += sum(fail for _, fail in delta["counts"].values())
            share["intended_arrivals"] += delta["arrivals"]["intended"]
            share["reports"] += 1

    def _on_test_start(self, **_: Any) -> None:
        self.started_perf, self.started_at, self.stopped_perf = time.perf_counter(), time.time(), None
        if self._sampler is None:
            self._sampler = gevent.spawn(self._sample_cpu)

    def _on_test_stop(self, **_: Any) -> None:
        self.stopped_perf = time.perf_counter()

    def _on_cpu_warning(self, **_: Any) -> None:
        self.cpu_warnings += 1

    def _sample_cpu(self) -> None:
        """Every second: the busiest generator process (this one via psutil, workers as they report)."""
        me = psutil.Process()
        me.cpu_percent(None)
        psutil.cpu_percent(None)
        while True:
            gevent.sleep(1.0)
            runner = self.environment.runner
            values = [me.cpu_percent(None)]
            if isinstance(runner, MasterRunner):
                values += [c.cpu_usage for c in runner.clients.values()]
            self.cpu_samples.append(float(max(values)))
            self.machine_cpu.append(psutil.cpu_percent(None))

    def _on_quitting(self, environment: Environment, **_: Any) -> None:
        if self._sampler is not None:
            self._sampler.kill(block=False)
        if self.started_perf is None:
            return
        end = self.stopped_perf or time.perf_counter()
        outcome = self.judge(duration_s=end - self.started_perf)
        runner = environment.runner
        if not outcome.passed:
            environment.process_exit_code = 1
        elif runner is not None and runner.exceptions:
            environment.process_exit_code = 2
        else:
            environment.process_exit_code = 0

    def judge(self, *, duration_s: float) -> LoadOutcome:
        """Judge what was recorded (gates), log it, and write the reports into ``config.report_dir``."""
        cfg = self.config
        stats = self.recorder.run_stats(duration_s)
        cpu_ok, cpu = cpu_trust(self.cpu_samples, self.machine_cpu, locust_warnings=self.cpu_warnings)
        distrust = trust(stats, cpu_ok=cpu_ok, saturated_share=cpu["saturated_share"])
        outcome = build_outcome(
            stats,
            evaluate(cfg.slo, stats),
            trustworthy=not distrust,
            warnings=tuple(r.warning for r in distrust),
            distrust=distrust,
            late=self.recorder.arrivals["late"],
            late_threshold_ms=cfg.late_ms,
            rate=cfg.rate,
            max_rate=cfg.max_rate,
            replay=cfg.replay is not None,
            failures=self._failures(),
            baseline=self._baseline(),
        )
        report.log(outcome)
        report.write(outcome, self.recorder, cfg, cpu=cpu, workers=self.worker_shares or None)
        return outcome

    def _baseline(self) -> tuple[BaselineVerdict, ...]:
        cfg = self.config
        if cfg.baseline is None or cfg.baseline_update:
            return ()
        try:
            before = read_histograms(cfg.baseline)
        except ValueError as exc:
            return (BaselineVerdict("all", "all", "no data", reason=str(exc)),)
        return compare(Histograms(self.recorder.raw, self.recorder.corrected), before, cfg.slo.margins)

    def _failures(self) -> tuple[FailureRow, ...]:
        runner = self.environment.runner
        if runner is None:
            return ()
        errors = sorted(runner.stats.errors.values(), key=lambda e: -e.occurrences)[:20]
        return tuple(FailureRow(e.method or "", e.name, str(e.error), e.occurrences) for e in errors)
