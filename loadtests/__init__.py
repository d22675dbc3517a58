"""Load testing for Talon.One v1 upserts: Locust journeys, open workload, HDR latency, SLO gates, reports.

Importing this package does not import Locust (which monkey-patches the process); the Locust side
lives in ``loadtests/locustfile.py`` and runs in its own process via :func:`run_load`.
"""

from __future__ import annotations

from talon_harness.loadtests.config import LOAD_SETTINGS_ENV, LoadConfig, UnsafeTargetError, is_loopback_url
from talon_harness.loadtests.gates import MIN_REQUESTS, Slo, SloSet, Verdict, evaluate
from talon_harness.loadtests.outcome import EndpointResult, LoadOutcome
from talon_harness.loadtests.recorder import LatencyRecorder
from talon_harness.loadtests.run import LoadResult, build_argv, run_load
from talon_harness.loadtests.shapes import SHAPES

__all__ = [
    "LOAD_SETTINGS_ENV",
    "MIN_REQUESTS",
    "SHAPES",
    "EndpointResult",
    "LatencyRecorder",
    "LoadConfig",
    "LoadOutcome",
    "LoadResult",
    "Slo",
    "SloSet",
    "UnsafeTargetError",
    "Verdict",
    "build_argv",
    "evaluate",
    "is_loopback_url",
    "run_load",
]
