"""A Locust add-on file for bench/soak.py (``-f <locustfile>,bench/soak_probe.py``).

Every SOAK_WINDOW_S seconds (from test_start) it appends one JSON line to SOAK_PROBE_OUT: the window's
request and failure counts, status classes ("2xx", "4xx", "5xx", "transport" for no status), HDR
latency percentiles of the window (its own 3-digit histograms, the project's layout): service time as
Locust measured it, and corrected (plus the lateness from the intended start, as the gates see it in the
open model), this process's RSS and CPU seconds in the window. It only listens to ``events.request``; the run's own recorder, gates and reports are untouched.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import gevent
import psutil
from locust import events

from talon_harness.loadtests._hdr import new_histogram, record
from talon_harness.loadtests.recorder import percentiles_ms

_state: dict[str, Any] = {"hist": new_histogram(3), "corrected": new_histogram(3), "requests": 0, "failures": 0,
                          "statuses": {}, "cpu": 0.0}


def _cpu_s() -> float:
    t = psutil.Process().cpu_times()
    return float(t.user + t.system)


def _status_class(response: Any) -> str:
    code = int(getattr(response, "status_code", 0) or 0)
    return f"{code // 100}xx" if code else "transport"


@events.request.add_listener
def _request(
    response_time: float | None = None, exception: Any = None, response: Any = None, context: Any = None, **_: Any
) -> None:
    if response_time is None:
        return
    record(_state["hist"], max(1, int(response_time * 1000.0 + 0.5)))
    lateness = max(0.0, float((context or {}).get("talon_lateness_ms", 0.0)))  # open model: from the intended start
    record(_state["corrected"], max(1, int((response_time + lateness) * 1000.0 + 0.5)))
    _state["requests"] += 1
    _state["failures"] += exception is not None
    cls = _status_class(response)
    _state["statuses"][cls] = _state["statuses"].get(cls, 0) + 1


def _flush(index: int, started: float) -> None:
    hist = _state["hist"]
    row = {
        "window": index,
        "t_s": round(time.perf_counter() - started, 3),
        "requests": _state["requests"],
        "failures": _state["failures"],
        "statuses": dict(_state["statuses"]),
        "latency_ms": percentiles_ms(hist),
        "corrected_ms": percentiles_ms(_state["corrected"]),
        "generator_rss_mb": psutil.Process().memory_info().rss / 2**20,
        "generator_cpu_s": _cpu_s() - _state["cpu"],
    }
    _state.update(hist=new_histogram(3), corrected=new_histogram(3), requests=0, failures=0, statuses={}, cpu=_cpu_s())
    with open(os.environ["SOAK_PROBE_OUT"], "a", encoding="utf-8") as f:
        f.write(json.dumps(row) + "\n")


def _windows() -> None:
    window = float(os.environ.get("SOAK_WINDOW_S", "60"))
    started = time.perf_counter()
    index = 0
    while True:
        index += 1
        gevent.sleep(max(0.0, started + index * window - time.perf_counter()))
        _flush(index, started)


@events.test_start.add_listener
def _start(**_: Any) -> None:
    if os.environ.get("SOAK_PROBE_OUT"):
        _state["cpu"] = _cpu_s()
        _state["greenlet"] = gevent.spawn(_windows)
