"""Locust scenarios for the Talon.One v1 upserts: realistic journeys, sampled contract checks, HDR stats.

Runnable on its own::

    locust -f loadtests/locustfile.py --headless -u 20 -r 5 -t 30s --host http://127.0.0.1:8000

Under ``talon-harness load`` every setting of the run comes from one document, ``LoadConfig`` as JSON with
the credentials inside, in the environment variable ``TALON_HARNESS_LOAD`` (D41; see ``loadtests.config``
and ``loadtests._plugin``); a plain run may give its settings as ``--talon-config '<LoadConfig.to_json()>'``.
Closed mode (default): each user walks journeys from a per-process ``JourneyBook`` (built once from
``strategies.journeys``, re-issued with fresh ids; see ``loadtests.journeybook``), with
think times between calls and between journeys. Open mode (``rate`` set): each user runs an
arrival scheduler (see ``loadtests.openload``) at rate / users journeys per second.

Every request is built by ``strategies.wire.build_put`` before its journey starts and is named
per endpoint template, e.g. ``PUT /v1/customer_sessions/[id]``. A request fails when it gets a 5xx, a
status other than the journey expects, a transport error, or (for a sampled share) a body that violates
the contract's IntegrationState / ErrorResponse schema. Credentials come only from the ``credentials`` of
that document (``TALON_HARNESS_LOAD='{"credentials": {"api_key": "..."}}'`` for a plain run), never from argv.
"""

from __future__ import annotations

import itertools
import random
import time
from collections import deque
from typing import Any

import gevent
import orjson
from gevent.lock import BoundedSemaphore
from locust import FastHttpUser, events, task
from locust.env import Environment

from talon_harness.loadtests._contract import ResponseValidator
from talon_harness.loadtests._locust import make_sender
from talon_harness.loadtests._plugin import TalonPlugin, add_arguments
from talon_harness.loadtests.journeybook import DEFAULT_WEIGHTS, JourneyBook, PreparedCall
from talon_harness.loadtests.openload import ArrivalPlan, OpenWorkload
from talon_harness.strategies.journeys import Call
from talon_harness.strategies.v2_journeys import V2Call
from talon_harness.strategies.wire import redact

__all__ = ["DEFAULT_WEIGHTS", "TalonBaseUser", "TalonUser"]

_BATCH = 16  # journeys issued at a time, between journeys (never while a journey runs)


@events.init_command_line_parser.add_listener
def _on_parser(parser: Any, **_: Any) -> None:
    add_arguments(parser)


@events.init.add_listener
def _on_init(environment: Environment, **_: Any) -> None:
    TalonPlugin.install(environment)  # blocks while it builds the journey book and compiles the schemas
    # Locust arms its --run-time timer right after init, on the event loop's cached clock: without this
    # refresh the time spent above (and in the imports) came off the run, e.g. a 3 s run lasted 1.5 s
    gevent.get_hub().loop.update_now()


class TalonBaseUser(FastHttpUser):
    """Abstract base: owns the single request path (``_send``) and the response verdict (``_judge``)."""

    abstract = True
    concurrency = 10
    network_timeout = 30.0
    connection_timeout = 10.0

    def __init__(self, environment: Environment) -> None:
        self.concurrency = TalonPlugin.of(environment).config.connections
        super().__init__(environment)
        self._open: OpenWorkload | None = None

    def on_start(self) -> None:
        self.plugin: TalonPlugin = TalonPlugin.of(self.environment)
        self.config = self.plugin.config
        self.seq = self.plugin.next_user_seq()
        self.rng: random.Random = random.Random(f"{self.config.seed}:{self.plugin.node}:{self.seq}")
        self.creds = self.config.credentials
        # built at init (see TalonPlugin.install); a mixed run's v2 calls are judged by the v2 contract
        apis = (self.config.api, self.config.mix or self.config.api)
        self.validator = ResponseValidator.shared(next((a for a in apis if a != "v2"), "v2"))
        self.v2_validator = ResponseValidator.shared("v2") if "v2" in apis else self.validator
        self._share = self.config.validate_share
        self._paced = self.plugin.limiter.interval > 0
        self._put = make_sender(self, self._verdict, self.plugin.recorder.count_unanswered)

    # -- the single request path ---------------------------------------------------------------
    def _send(self, pc: PreparedCall, intended: float | None = None, *, first: bool = False) -> None:
        """Send one prepared PUT; in open mode ``intended`` (perf clock) gives the CO-corrected latency."""
        if self._paced:
            self.plugin.limiter.wait()
        context: dict[str, float] = {}
        if intended is not None:
            lateness_ms = (time.perf_counter() - intended) * 1000.0
            context["talon_lateness_ms"] = lateness_ms
            if first and self._open is not None:
                self._open.note_first_start(lateness_ms)
        self._put(pc.put.path, pc.put.body, pc.headers, pc.name, context, pc.call)

    def _verdict(self, resp: Any, call: Call | V2Call, transport_error: BaseException | None) -> str | None:
        if transport_error is not None:
            return f"{call.step}: transport error {type(transport_error).__name__}: {transport_error}"
        return self._judge(resp, call)

    def _judge(self, resp: Any, call: Call | V2Call) -> str | None:
        """None when the response is what the journey expects (and, if sampled, fits the contract)."""
        status = resp.status_code or 0
        sampled = self._share >= 1.0 or (self._share > 0.0 and self.rng.random() < self._share)
        if not sampled and status == call.expect_status and call.expect_pointer is None:
            return None  # the common case: expected status, not sampled for validation
        if status == 0:
            return f"{call.step}: transport error {type(resp.error).__name__}: {resp.error}"
        if status >= 500:
            return f"{call.step}: server error {status}: {self._excerpt(resp)}"
        if status != call.expect_status:
            return f"{call.step}: unexpected status {status} (expected {call.expect_status}): {self._excerpt(resp)}"
        if not sampled and call.expect_pointer is None:
            return None
        media_type = (resp.headers.get("content-type") or "").split(";")[0].strip().lower()
        if media_type != "application/json":
            return f"{call.step}: contract violation: content type {media_type or 'missing'!r}, not application/json"
        try:
            body = orjson.loads(resp.content or b"")
        except orjson.JSONDecodeError as exc:
            return f"{call.step}: contract violation: body is not JSON ({exc})"
        if sampled and (problem := (self.v2_validator if isinstance(call, V2Call) else self.validator).problem(
                status, body, call.operation)) is not None:
            return f"{call.step}: contract violation: {problem}"
        if call.expect_pointer is not None:
            pointers = (
                [
                    (e.get("source") or {}).get("pointer")
                    for e in body.get("errors", [])
                    if isinstance(e, dict)
                ]
                if isinstance(body, dict)
                else []
            )
            if call.expect_pointer not in pointers:
                return f"{call.step}: expected an error at pointer {call.expect_pointer!r}, got {pointers}"
        return None

    def _excerpt(self, resp: Any) -> str:
        """The start of the response body, for failure messages (keys never travel in bodies)."""
        text = (resp.content or b"")[:200].decode("utf-8", "replace")
        return redact(text, self.creds) if self.creds else text


class TalonUser(TalonBaseUser):
    """One virtual customer stream; ids are unique per process run token, user and journey number."""

    def on_start(self) -> None:
        super().on_start()
        self.book: JourneyBook = self.plugin.journey_book()
        self._buffer: deque[list[PreparedCall]] = deque()
        self._counter = itertools.count()
        if self.config.rate:
            plan = ArrivalPlan(
                rate=self.config.rate / self.config.locust_users,
                arrival=self.config.arrival,
                connections=self.config.connections,
                late_ms=self.config.late_ms,
                seed=self.rng.randrange(2**32),
            )
            self._open = OpenWorkload(
                plan, self._open_journey, self.plugin.recorder.count_arrival, self.plugin.recorder.count_late
            )

    def on_stop(self) -> None:
        if self._open is not None:
            self._open.stop()

    def wait_time(self) -> float:
        if self._open is not None:
            return 0.0
        return self.rng.uniform(1.0, 5.0) * self.config.think_scale

    # -- journeys built ahead of the hot path ------------------------------------------------
    def _refill(self) -> None:
        """Top the buffer of prepared journeys up; called between journeys / between arrivals only."""
        while len(self._buffer) < _BATCH:
            self._buffer.append(self._prepare(next(self._counter)))

    def _take(self) -> list[PreparedCall]:
        if not self._buffer:
            self._refill()
        return self._buffer.popleft()

    def _prepare(self, n: int) -> list[PreparedCall]:
        return self.book.issue(self.rng, f"{self.plugin.run_token}-{self.seq}-{n}", self.creds)

    def _think(self) -> None:
        if self.config.think_scale > 0:
            gevent.sleep(self.rng.uniform(0.5, 3.0) * self.config.think_scale)

    # -- closed mode ---------------------------------------------------------------------------
    @task
    def journey(self) -> None:
        if self._open is not None:
            self._open.run(refill=self._refill)  # runs until the user is stopped
            return
        self._refill()
        think = self.config.think_scale > 0
        for i, pc in enumerate(self._take()):
            if i and think:
                self._think()
            self._send(pc)

    # -- open mode -----------------------------------------------------------------------------
    def _open_journey(self, intended: float, gate: BoundedSemaphore) -> None:
        for i, pc in enumerate(self._take()):
            if i:
                self._think()
                intended = time.perf_counter()
            with gate:
                self._send(pc, intended, first=i == 0)
