"""A small rate-limited open-loop HTTP/1.1 generator (what wrk2 does; Debian's wrk cannot rate-limit).

Request i is due at t0 + i/rate, whatever the server does. It goes out on an idle keep-alive connection
(a fixed pool, like wrk2), or waits for one. Latency is measured from the *due* time to the last response
byte, so queueing caused by a slow server is counted (no coordinated omission); the service time (from
the actual send) is kept too. Every latency is kept (a float per request: percentiles are exact, and
recording costs less than an HDR histogram in Python). Only Content-Length responses are understood,
which both servers under test send. On a shared machine the generator itself can fall behind its
schedule (`max_send_lag_ms`): that lag is counted as latency, so read the service times beside it.
The generator wakes once a millisecond at most (event-loop timers tick in whole milliseconds), so
due-time latencies include up to ~1 ms of its own scheduling; service times do not.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter, deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

__all__ = ["OpenLoopResult", "run_closed_loop", "run_open_loop"]

_TICK_S = 0.001  # the generator wakes at most once a millisecond and sends everything due by then


def _percentile(sorted_values: list[float], p: float) -> float:
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, max(0, round(p / 100.0 * len(sorted_values) + 0.5) - 1))
    return sorted_values[index] * 1000.0


@dataclass(frozen=True)
class OpenLoopResult:
    """What one open-loop run measured (latencies in ms, from the due time)."""

    rate: float
    sent: int
    completed: int
    non_2xx: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    max_send_lag_ms: float  # how far behind schedule the generator itself got
    service_p50_ms: float  # from the actual send
    service_p99_ms: float
    per_label: dict[str, dict[str, float]]  # label -> {"count", "p50_ms", "p99_ms"}
    statuses: dict[str, int] = field(default_factory=dict)  # status -> answers with it

    @property
    def achieved_rate(self) -> float:
        return self.completed / self.duration_s if self.duration_s else 0.0


class _Conn(asyncio.Protocol):
    def __init__(self, owner: _Run) -> None:
        self.owner = owner
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.due = 0.0
        self.sent = 0.0
        self.label = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]

    def send(self, raw: bytes, due: float, label: int) -> None:
        self.due = due
        self.label = label
        self.sent = time.perf_counter()
        self.transport.write(raw)  # type: ignore[union-attr]

    def data_received(self, data: bytes) -> None:
        self.buf += data
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(self.buf[:end]).lower()
        start = head.find(b"content-length:") + 15
        stop = head.find(b"\r\n", start)
        length = int(head[start:] if stop < 0 else head[start:stop])
        if len(self.buf) < end + 4 + length:
            return
        status = int(head[9:12])
        del self.buf[:end + 4 + length]
        self.owner.done(self, status)

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.lost(self)


class _Run:
    def __init__(self, n_labels: int, closed_loop_next: Callable[[], tuple[bytes, int] | None] | None) -> None:
        self.latencies: list[float] = []
        self.service: list[float] = []
        self.labels: list[int] = []
        self.next_request = closed_loop_next
        self.idle: deque[_Conn] = deque()
        self.pending: deque[tuple[bytes, float, int]] = deque()
        self.completed = 0
        self.non_2xx = 0
        self.statuses: Counter[int] = Counter()
        self.in_flight = 0
        self.all_done: asyncio.Future[None] | None = None
        self.closing = False
        self.lost_conns = 0

    def dispatch(self, raw: bytes, due: float, label: int) -> None:
        self.in_flight += 1
        if self.idle:
            self.idle.popleft().send(raw, due, label)
        else:
            self.pending.append((raw, due, label))

    def done(self, conn: _Conn, status: int) -> None:
        now = time.perf_counter()
        self.latencies.append(now - conn.due)
        self.service.append(now - conn.sent)
        self.labels.append(conn.label)
        self.completed += 1
        self.in_flight -= 1
        self.statuses[status] += 1
        if not 200 <= status < 300:
            self.non_2xx += 1
        if self.next_request is not None and not self.closing:  # closed loop: next one at once
            nxt = self.next_request()
            if nxt is not None:
                self.in_flight += 1
                conn.send(nxt[0], now, nxt[1])
                return
        if self.pending:
            conn.send(*self.pending.popleft())
        else:
            self.idle.append(conn)
        if self.closing and self.in_flight == 0 and self.all_done is not None and not self.all_done.done():
            self.all_done.set_result(None)

    def lost(self, conn: _Conn) -> None:
        if not self.closing:
            self.lost_conns += 1


def _result(run: _Run, rate: float, sent: int, elapsed: float, max_lag: float,
            labels: Sequence[str]) -> OpenLoopResult:
    latencies = sorted(run.latencies)
    service = sorted(run.service)
    per_label = {}
    for index, name in enumerate(labels):
        mine = sorted(v for v, label in zip(run.latencies, run.labels, strict=True) if label == index)
        per_label[name] = {"count": len(mine), "p50_ms": _percentile(mine, 50), "p99_ms": _percentile(mine, 99)}
    return OpenLoopResult(rate=rate, sent=sent, completed=run.completed, non_2xx=run.non_2xx,
                          duration_s=elapsed, p50_ms=_percentile(latencies, 50), p90_ms=_percentile(latencies, 90),
                          p99_ms=_percentile(latencies, 99), max_ms=(latencies[-1] * 1000.0) if latencies else 0.0,
                          max_send_lag_ms=max_lag * 1000.0, service_p50_ms=_percentile(service, 50),
                          service_p99_ms=_percentile(service, 99), per_label=per_label,
                          statuses={str(s): c for s, c in sorted(run.statuses.items())})


async def _connect(run: _Run, host: str, port: int, connections: int) -> list[_Conn]:
    loop = asyncio.get_running_loop()
    conns = []
    for _ in range(connections):
        _, proto = await loop.create_connection(lambda: _Conn(run), host, port)
        conns.append(proto)
    return conns


async def _drain(run: _Run, conns: list[_Conn]) -> None:
    run.closing = True
    if run.in_flight:
        run.all_done = asyncio.get_running_loop().create_future()
        try:
            await asyncio.wait_for(run.all_done, timeout=30)
        except TimeoutError:
            pass
    for conn in conns:
        if conn.transport is not None:
            conn.transport.close()


async def _open(host: str, port: int, requests: Sequence[tuple[bytes, int]], labels: Sequence[str],
                rate: float, seconds: float, connections: int, offset: int) -> OpenLoopResult:
    run = _Run(len(labels), None)
    conns = await _connect(run, host, port, connections)
    run.idle.extend(conns)
    total = int(rate * seconds)
    interval = 1.0 / rate
    max_lag = 0.0
    t0 = time.perf_counter() + 0.01
    n = len(requests)
    i = 0
    while i < total:
        now = time.perf_counter()
        due = t0 + i * interval
        if due > now:  # event-loop timers tick in whole ms: shorter sleeps would just spin the CPU
            await asyncio.sleep(max(due - now, _TICK_S))
            continue
        max_lag = max(max_lag, now - due)
        while i < total and t0 + i * interval <= now:  # everything already due goes out now
            raw, label = requests[(offset + i) % n]
            run.dispatch(raw, t0 + i * interval, label)
            i += 1
        await asyncio.sleep(0)
    await _drain(run, conns)
    return _result(run, rate, total, time.perf_counter() - t0, max_lag, labels)


async def _closed(host: str, port: int, requests: Sequence[tuple[bytes, int]], labels: Sequence[str],
                  seconds: float, connections: int, offset: int) -> OpenLoopResult:
    n = len(requests)
    counter = iter(range(offset, 1 << 62))

    def next_request() -> tuple[bytes, int]:
        return requests[next(counter) % n]

    run = _Run(len(labels), next_request)
    conns = await _connect(run, host, port, connections)
    t0 = time.perf_counter()
    for conn in conns:
        run.in_flight += 1
        raw, label = next_request()
        conn.send(raw, t0, label)
    await asyncio.sleep(seconds)
    sent = run.completed + run.in_flight
    elapsed = time.perf_counter() - t0
    completed = run.completed
    await _drain(run, conns)
    result = _result(run, completed / elapsed, sent, elapsed, 0.0, labels)
    return result


def _runner() -> asyncio.Runner:
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


def run_open_loop(host: str, port: int, requests: Sequence[tuple[bytes, int]], labels: Sequence[str], *,
                  rate: float, seconds: float, connections: int = 64, offset: int = 0) -> OpenLoopResult:
    """Send `rate` requests/s for `seconds`, replaying (raw request, label index) pairs from `offset`,
    wrapping; latencies from the due time (see module doc), also per label."""
    with _runner() as runner:
        return runner.run(_open(host, port, requests, labels, rate, seconds, connections, offset))


def run_closed_loop(host: str, port: int, requests: Sequence[tuple[bytes, int]], labels: Sequence[str], *,
                    seconds: float, connections: int = 32, offset: int = 0) -> OpenLoopResult:
    """Saturation without wrk: each connection sends its next request as soon as the answer arrives;
    `rate` of the result is the completed requests/s (latencies here include no queueing)."""
    with _runner() as runner:
        return runner.run(_closed(host, port, requests, labels, seconds, connections, offset))
