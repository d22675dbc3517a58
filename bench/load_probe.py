"""A Locust add-on file for the load benchmarks (``-f <locustfile>,bench/load_probe.py``).

Between test_start and test_stop it counts requests and the process CPU time; with BENCH_PROBE_EXACT=1 it
also keeps every exact response time (ms floats, as Locust measured them). Writes JSON to BENCH_PROBE_OUT
on quitting.
"""

from __future__ import annotations

import json
import os
from typing import Any

import psutil
from locust import events

_state: dict[str, Any] = {"requests": 0, "response_bytes": 0, "exact": [], "cpu0": None, "cpu1": None}
_proc = psutil.Process()


def _cpu() -> float:
    t = _proc.cpu_times()
    return t.user + t.system


@events.test_start.add_listener
def _start(**_: Any) -> None:
    _state["cpu0"] = _cpu()


@events.test_stop.add_listener
def _stop(**_: Any) -> None:
    _state["cpu1"] = _cpu()


@events.request.add_listener
def _request(response_time: float | None = None, response_length: int = 0, **_: Any) -> None:
    if _state["cpu0"] is not None and _state["cpu1"] is None and response_time is not None:
        _state["requests"] += 1
        _state["response_bytes"] += response_length or 0
        if os.environ.get("BENCH_PROBE_EXACT") == "1":
            _state["exact"].append(response_time)


@events.quitting.add_listener
def _quit(**_: Any) -> None:
    out = os.environ.get("BENCH_PROBE_OUT")
    if out:
        cpu1 = _state["cpu1"] if _state["cpu1"] is not None else _cpu()
        with open(out, "w") as f:
            json.dump(
                {
                    "requests": _state["requests"],
                    "response_bytes": _state["response_bytes"],
                    "cpu_s": cpu1 - (_state["cpu0"] or 0.0),
                    "exact_ms": _state["exact"],
                },
                f,
            )
