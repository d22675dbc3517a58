"""Locust user that replays recorded traffic in the open model (``talon-harness load --replay FILE``).

Each process reads ``LoadConfig.replay`` (the recording) from its settings document (``TALON_HARNESS_LOAD``,
credentials inside; D41, see ``loadtests._plugin``), remaps ids with ``replay_token`` (one per run, the
same on every worker, plus the pass number under ``replay_loop``), takes its share of customers
(:func:`loadtests.replay.split` by worker index) and sends every request at ``start + offset / replay_speed``,
a customer's requests one after another in recorded order.
Requests go through :meth:`TalonBaseUser._send`, so HDR latency, corrected latency (from the intended
time), SLO gates and reports are those of every load run; the recorded status is the expected one, so a
different answer is a failed request, and the replay's own counts (sent, status matches, mismatches by
``recorded->got``, scheduling lateness) are added to ``summary.json`` under ``"replay"``.
Run one user per process (``-u`` = number of workers, or 1).
"""

from __future__ import annotations

import json
import time
from collections import Counter
from pathlib import Path
from typing import Any

import gevent
from gevent.local import local
from gevent.lock import BoundedSemaphore
from gevent.pool import Pool
from hdrh.histogram import HdrHistogram
from locust import events, task
from locust.env import Environment
from locust.runners import LocalRunner, MasterRunner, WorkerRunner

from talon_harness.loadtests._plugin import TalonPlugin
from talon_harness.loadtests.journeybook import ACCEPT_ENCODING, PreparedCall, request_name
from talon_harness.loadtests.locustfile import TalonBaseUser
from talon_harness.loadtests.outcome import SUMMARY_FILE, read_summary
from talon_harness.loadtests.replay import REPORT_KEY, Entry, load_traffic, remap, split
from talon_harness.strategies.journeys import Call
from talon_harness.strategies.wire import V2_OPERATIONS, PreparedPut, auth_headers

__all__ = ["ReplayUser"]

_NOT_SENT = frozenset({"host", "content-length", "connection", "keep-alive", "transfer-encoding", "te", "trailer",
                       "upgrade", "proxy-connection", "user-agent", "accept-encoding"})
_MAX_CUSTOMERS_IN_FLIGHT = 10_000
_LOOP_GAP_MS = 1000.0


class _ReplayStats:
    """Counts and scheduling lateness of one process; drained to the master like the HDR recorder."""

    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.sent = 0
        self.matched = 0
        self.mismatched: Counter[str] = Counter()
        self.dropped = 0
        self.passes = 0
        self.lateness = HdrHistogram(1, 3_600_000_000, 3)  # microseconds

    def drain(self) -> dict[str, Any]:
        data = {"sent": self.sent, "matched": self.matched, "mismatched": dict(self.mismatched),
                "dropped": self.dropped, "passes": self.passes,
                "lateness": self.lateness.encode().decode() if self.lateness.get_total_count() else ""}
        self.reset()
        return data

    def merge(self, data: dict[str, Any]) -> None:
        self.sent += data["sent"]
        self.matched += data["matched"]
        self.mismatched.update(data["mismatched"])
        self.dropped += data["dropped"]
        self.passes = max(self.passes, data["passes"])
        if data["lateness"]:
            self.lateness.decode_and_add(data["lateness"].encode())

    def section(self) -> dict[str, Any]:
        h = self.lateness
        lateness = None if not h.get_total_count() else {
            f"p{p:g}": h.get_value_at_percentile(p) / 1000.0 for p in (50.0, 90.0, 99.0, 99.9)} | {
            "max": h.get_max_value() / 1000.0}
        return {"sent": self.sent, "status_matched": self.matched,
                "status_mismatched": sum(self.mismatched.values()),
                "mismatches": dict(sorted(self.mismatched.items())), "dropped": self.dropped,
                "passes": self.passes, "lateness_ms": lateness}


def _stats(environment: Environment) -> _ReplayStats:
    return environment.talon_replay  # type: ignore[attr-defined]


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    # The hub's clock is cached since its last loop turn, before the blocking start-up (imports, schema
    # compilation); Locust arms its --run-time timer right after init, so refresh it or the run ends early.
    gevent.get_hub().loop.update_now()
    stats = environment.talon_replay = _ReplayStats()  # type: ignore[attr-defined]
    ev = environment.events
    ev.request.add_listener(_on_request(stats))
    def on_report_to_master(client_id: str, data: dict[str, Any], **_: Any) -> None:
        data[REPORT_KEY] = stats.drain()

    def on_worker_report(client_id: str, data: dict[str, Any], **_: Any) -> None:
        if REPORT_KEY in data:
            stats.merge(data[REPORT_KEY])

    if isinstance(environment.runner, WorkerRunner):
        ev.report_to_master.add_listener(on_report_to_master)
    elif isinstance(environment.runner, MasterRunner):
        ev.worker_report.add_listener(on_worker_report)


def _on_request(stats: _ReplayStats) -> Any:
    def listener(context: dict[str, Any] | None = None, response: Any = None, **_: Any) -> None:
        recorded = (context or {}).get("talon_recorded_status")
        if recorded is None:
            return
        got = getattr(response, "status_code", 0) or 0
        stats.sent += 1
        if got == recorded:
            stats.matched += 1
        else:
            stats.mismatched[f"{recorded}->{got}"] += 1

    return listener


# Registered at import, before the plugin registers its own at init: Locust fires ``quitting`` in reverse
# order, so this runs after the plugin has written summary.json (tests/loadtests/test_replay.py checks it).
@events.quitting.add_listener
def _add_to_summary(environment: Environment, **_: Any) -> None:
    """Add the replay section to summary.json (master or local runner)."""
    if isinstance(environment.runner, WorkerRunner):
        return
    stats = _stats(environment)
    path = Path(TalonPlugin.of(environment).config.report_dir) / SUMMARY_FILE
    if not path.exists():
        return
    doc = read_summary(path.parent)
    doc["replay"] = stats.section()
    path.write_text(json.dumps(doc, indent=2, allow_nan=False, default=str), encoding="utf-8")


class ReplayUser(TalonBaseUser):
    """Replays this process's share of the recording; see the module docstring."""

    def on_start(self) -> None:
        super().on_start()
        opts = self.environment.parsed_options
        config = self.plugin.config
        if config.replay is None:
            raise RuntimeError("the replay locustfile needs LoadConfig.replay (talon-harness load --replay FILE)")
        self.speed = config.replay_speed
        self.loop = config.replay_loop
        self.token = config.replay_token
        nodes = 1
        if isinstance(self.environment.runner, WorkerRunner):
            nodes = max(1, int(getattr(opts, "expect_workers", 1) or 1))
        entries = load_traffic(Path(config.replay))
        self.span_ms = entries[-1].offset_ms
        self.share = split(entries, nodes)[self.plugin.node % nodes]
        self.stats = _stats(self.environment)
        self._local = local()
        self._gate = BoundedSemaphore(self.concurrency)
        self._late_ms = self.config.late_ms

    def context(self) -> dict[str, Any]:
        recorded = getattr(self._local, "recorded", None)
        return {} if recorded is None else {"talon_recorded_status": recorded}

    def _prepared(self, e: Entry, n: int) -> PreparedCall:
        headers = {k: v for k, v in e.headers if k.lower() not in _NOT_SENT}
        headers.update(auth_headers(self.creds, e.body, hmac_scheme=e.operation not in V2_OPERATIONS))  # D34
        headers.setdefault("Accept-Encoding", ACCEPT_ENCODING)
        call = Call(step=f"replay #{n}", operation=e.operation, entity_id=e.entity_id or "", body=e.body,
                    expect_status=e.status)
        return PreparedCall(call=call, put=PreparedPut(e.path, headers, e.body), name=request_name(e.operation),
                            headers=headers)

    def _customer(self, calls: list[tuple[float, PreparedCall]]) -> None:
        for intended, pc in calls:
            delay = intended - time.perf_counter()
            if delay > 0:
                gevent.sleep(delay)
            self.plugin.recorder.count_arrival()
            with self._gate:
                lateness_ms = (time.perf_counter() - intended) * 1000.0
                self.stats.lateness.record_value(min(3_600_000_000, max(1, round(lateness_ms * 1000))))
                if lateness_ms > self._late_ms:
                    self.plugin.recorder.count_late()
                self._local.recorded = pc.call.expect_status
                self._send(pc, intended)

    @task
    def replay(self) -> None:
        pool = Pool(_MAX_CUSTOMERS_IN_FLIGHT)
        start = time.perf_counter() + 0.05
        period_s = (self.span_ms + _LOOP_GAP_MS) / 1000.0 / self.speed
        n = 0
        while True:
            base = start + self.stats.passes * period_s
            prefix = f"{self.token}-{self.stats.passes}-" if self.loop else f"{self.token}-"
            for customer in self.share:
                mapped = remap(customer, prefix)
                calls = []
                for e in mapped:
                    calls.append((base + e.offset_ms / 1000.0 / self.speed, self._prepared(e, n)))
                    n += 1
                delay = calls[0][0] - time.perf_counter() - 0.005
                if delay > 0:
                    gevent.sleep(delay)
                if pool.full():
                    self.stats.dropped += len(calls)
                    for _ in calls:
                        self.plugin.recorder.count_arrival(dropped=True)
                    continue
                pool.spawn(self._customer, calls)
            self.stats.passes += 1
            if not self.loop:
                break
        pool.join()
        if isinstance(self.environment.runner, LocalRunner):  # done: end the run now, reports included
            gevent.spawn_later(0.2, self.environment.runner.quit)
        gevent.sleep(3600.0)  # distributed: idle until the run's duration ends
