"""The per-process plugin the locustfile installs: settings, HDR recorder wiring, rate cap, CPU watch, report.

On every node it records ``events.request`` into a :class:`LatencyRecorder`. Workers ship their delta
on each ``report_to_master``; the master merges it on ``worker_report``. The master (or the local
runner) samples generator CPU while the test runs and, on ``quitting``, judges the SLOs, writes our
reports when ``--talon-report-dir`` is set, and sets the process exit code: 1 when an SLO is
breached, 2 when user code raised, else 0 (the SLO gates decide, not Locust's "any failure" rule).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gevent
import psutil
from locust.env import Environment
from locust.runners import MasterRunner, WorkerRunner

from talon_harness.loadtests.gates import SloSet
from talon_harness.loadtests.journeybook import DEFAULT_WEIGHTS, JourneyBook
from talon_harness.loadtests.recorder import LatencyRecorder

__all__ = ["RateLimiter", "Settings", "TalonPlugin", "add_arguments"]


def add_arguments(parser: Any) -> None:
    """Register the ``--talon-*`` options (forwarded to workers by Locust as custom arguments)."""
    g = parser.add_argument_group("talon-harness")
    g.add_argument(
        "--talon-rate", type=float, default=0.0, help="open mode: journeys per second (0 = closed)"
    )
    g.add_argument(
        "--talon-open-users",
        type=int,
        default=0,
        help="open mode: users sharing --talon-rate (default: -u); forwarded to remote workers",
    )
    g.add_argument("--talon-arrival", choices=("poisson", "constant"), default="poisson")
    g.add_argument("--talon-connections", type=int, default=10, help="client connections per user")
    g.add_argument("--talon-late-ms", type=float, default=50.0, help="an arrival starting later is 'late'")
    g.add_argument("--talon-validate-share", type=float, default=0.05, help="share of responses validated")
    g.add_argument("--talon-weights", default="", help='journey weights as JSON, e.g. {"profile_only": 1}')
    g.add_argument("--talon-seed", type=int, default=0)
    g.add_argument("--talon-think-scale", type=float, default=1.0, help="multiplies think times (0 = none)")
    g.add_argument("--talon-max-rate", type=float, default=0.0, help="cap on requests per second (0 = none)")
    g.add_argument("--talon-report-dir", default="", help="write summary.json, latency.png, hdr.json here")
    g.add_argument("--talon-slo", default="", help="SLO file (.toml/.json/.yaml) or inline JSON mapping")
    g.add_argument("--talon-shape", default="", help="shape name when loadtests/shapefile.py is loaded")
    g.add_argument("--talon-window", type=float, default=1.0, help="timeline window in seconds")


@dataclass(frozen=True)
class Settings:
    """The ``--talon-*`` options, parsed and checked."""

    rate: float
    open_users: int
    arrival: str
    connections: int
    late_ms: float
    validate_share: float
    weights: dict[str, int] | None
    seed: int
    think_scale: float
    max_rate: float
    report_dir: Path | None
    slo: SloSet
    window_s: float

    @classmethod
    def from_options(cls, opts: Any) -> Settings:
        get = lambda name, default: getattr(opts, name, default) if opts is not None else default
        share = float(get("talon_validate_share", 0.05))
        if not 0.0 <= share <= 1.0:
            raise ValueError(f"--talon-validate-share must be within [0, 1], got {share}")
        weights_raw = get("talon_weights", "")
        slo_raw = get("talon_slo", "")
        if not slo_raw:
            slo = SloSet.default()
        elif slo_raw.lstrip().startswith("{"):
            slo = SloSet.from_mapping(json.loads(slo_raw), base=SloSet.default())
        else:
            slo = SloSet.from_file(Path(slo_raw))
        report_dir = get("talon_report_dir", "")
        users = int(get("talon_open_users", 0) or get("num_users", 0) or 1)
        return cls(
            rate=float(get("talon_rate", 0.0)),
            open_users=max(1, users),
            arrival=get("talon_arrival", "poisson"),
            connections=int(get("talon_connections", 10)),
            late_ms=float(get("talon_late_ms", 50.0)),
            validate_share=share,
            weights=json.loads(weights_raw) if weights_raw else None,
            seed=int(get("talon_seed", 0)),
            think_scale=float(get("talon_think_scale", 1.0)),
            max_rate=float(get("talon_max_rate", 0.0)),
            report_dir=Path(report_dir) if report_dir else None,
            slo=slo,
            window_s=float(get("talon_window", 1.0)),
        )


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
        self.recorder = LatencyRecorder(window_s=self.settings.window_s)
        self.run_token = os.urandom(4).hex()
        self.cpu_samples: list[float] = []
        self.machine_cpu: list[float] = []
        self.cpu_warnings = 0
        self.started_perf: float | None = None
        self.started_at: float | None = None
        self.stopped_perf: float | None = None
        self._sampler: gevent.Greenlet | None = None
        self._book: JourneyBook | None = None

    def _configure(self) -> None:
        """(Re)read the options: remote workers only get the master's ``--talon-*`` values at test start."""
        self.settings = Settings.from_options(self.environment.parsed_options)
        nodes = 1
        if isinstance(self.environment.runner, WorkerRunner):
            nodes = max(1, int(getattr(self.environment.parsed_options, "expect_workers", 1) or 1))
        self.limiter = RateLimiter(self.settings.max_rate / nodes if self.settings.max_rate > 0 else 0.0)

    def journey_book(self) -> JourneyBook:
        """The process's JourneyBook for the current weights (built at init, rebuilt if they change)."""
        weights = self.settings.weights or DEFAULT_WEIGHTS
        if self._book is None or self._book.weights != weights:
            self._book = JourneyBook(weights, seed=f"{self.settings.seed}:{self.node}", marker=self.run_token)
        return self._book

    def _prepare_ahead(self) -> None:
        """Build the journey book and compile the response schemas before the test starts."""
        from talon_harness.loadtests._contract import ResponseValidator

        ResponseValidator.shared()
        self.journey_book()

    @property
    def node(self) -> int:
        runner = self.environment.runner
        return int(getattr(runner, "worker_index", 0) or 0) if isinstance(runner, WorkerRunner) else 0

    @classmethod
    def of(cls, environment: Environment) -> TalonPlugin:
        return environment.talon_plugin  # type: ignore[attr-defined]

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
            self.recorder.merge(data["talon"])

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
        from talon_harness.loadtests.report import finish

        if self._sampler is not None:
            self._sampler.kill(block=False)
        if self.started_perf is None:
            return
        end = self.stopped_perf or time.perf_counter()
        outcome = finish(self, duration_s=end - self.started_perf)
        runner = environment.runner
        if not outcome.passed:
            environment.process_exit_code = 1
        elif runner is not None and runner.exceptions:
            environment.process_exit_code = 2
        else:
            environment.process_exit_code = 0

    def cpu_verdict(self) -> tuple[bool, dict[str, Any]]:
        """(trustworthy, details) from the CPU samples taken during the run; see ``report.cpu_trust``."""
        from talon_harness.loadtests.report import cpu_trust

        return cpu_trust(self.cpu_samples, self.machine_cpu, locust_warnings=self.cpu_warnings)
