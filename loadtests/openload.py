"""Open workload: journeys arrive on a fixed schedule, whatever the server's response times.

A scheduler greenlet walks a precomputed arrival schedule (Poisson or constant at ``rate`` per second)
and spawns each journey into a gevent pool at its *intended* time. A slow server therefore does not
slow the arrivals down (no coordinated omission at the arrival level). Inside a journey, each call has
an intended start too: the journey's arrival for the first call, "previous call finished + think
time" for the next ones. Requests also wait for one of ``connections`` client connections (like
wrk2's fixed connection count), so the *raw* service time is measured on the wire, while the
*corrected* latency = raw + (actual start - intended start) carries the queueing a stall causes.

Counted per arrival: ``late`` when its first request started more than ``late_ms`` after the intended
time, ``dropped`` when the pool of in-flight journeys was full at the intended time.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import gevent
from gevent.lock import BoundedSemaphore
from gevent.pool import Pool

__all__ = ["ARRIVALS", "ArrivalPlan", "OpenWorkload", "arrival_offsets"]

ARRIVALS = ("poisson", "constant")


@dataclass(frozen=True)
class ArrivalPlan:
    """Arrival process: ``rate`` arrivals/s, ``arrival`` kind, pool and connection caps, lateness bound."""

    rate: float
    arrival: str = "poisson"
    max_in_flight: int = 1000
    connections: int = 10
    late_ms: float = 50.0
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.rate > 0:
            raise ValueError(f"rate must be > 0 arrivals per second, got {self.rate!r}")
        if self.arrival not in ARRIVALS:
            raise ValueError(f"arrival must be one of {ARRIVALS}, got {self.arrival!r}")
        if self.max_in_flight < 1 or self.connections < 1:
            raise ValueError(
                f"max_in_flight and connections must be >= 1, got {self.max_in_flight} and {self.connections}"
            )


def arrival_offsets(rate: float, arrival: str, rng: random.Random) -> Iterator[float]:
    """Endless increasing offsets (s from start): exponential gaps (poisson) or 1/rate gaps (constant)."""
    t = 0.0
    while True:
        t += rng.expovariate(rate) if arrival == "poisson" else 1.0 / rate
        yield t


class OpenWorkload:
    """Runs ``journey(intended_perf, gate)`` at each arrival until stopped; see the module docstring.

    ``journey`` receives the intended start (``time.perf_counter()`` clock) and ``gate``, the connection
    semaphore it must hold around every request. ``on_arrival(dropped=...)`` is called once per arrival
    at its intended time; ``on_late()`` when :meth:`note_first_start` sees a start past ``late_ms``.
    """

    def __init__(
        self,
        plan: ArrivalPlan,
        journey: Callable[[float, BoundedSemaphore], None],
        on_arrival: Callable[..., None],
        on_late: Callable[[], None],
    ) -> None:
        self.plan = plan
        self._journey = journey
        self._on_arrival = on_arrival
        self._on_late = on_late
        self.pool = Pool(plan.max_in_flight)
        self.gate = BoundedSemaphore(plan.connections)

    def run(self, *, until_perf: float | None = None, refill: Callable[[], None] | None = None) -> None:
        """Schedule arrivals (blocking, in the calling greenlet) until killed or ``until_perf``.

        ``refill`` runs before each wait, so journey preparation happens off the requests' path.
        """
        start = time.perf_counter()
        for offset in arrival_offsets(self.plan.rate, self.plan.arrival, random.Random(self.plan.seed)):
            intended = start + offset
            if until_perf is not None and intended >= until_perf:
                return
            if refill is not None:
                refill()
            delay = intended - time.perf_counter()
            if delay > 0:
                gevent.sleep(delay)
            if self.pool.full():
                self._on_arrival(dropped=True)
                continue
            self._on_arrival(dropped=False)
            self.pool.spawn(self._journey, intended, self.gate)

    def note_first_start(self, lateness_ms: float) -> None:
        """Call when a journey's first request goes out, ``lateness_ms`` after its intended time."""
        if lateness_ms > self.plan.late_ms:
            self._on_late()

    def stop(self) -> None:
        """Kill in-flight journeys and wait (up to 5 s) until they are gone, so a request they leave
        unanswered is reported (as such, see ``loadtests._locust``) before the run is judged."""
        self.pool.kill(block=True, timeout=5.0)
