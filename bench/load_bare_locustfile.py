"""Baseline for bench/load_efficiency.py: a bare FastHttpUser looping the same 5 PUTs with no extras
(no journeys, no validation, no HDR recorder, no think time). Requests are built once per user, for the API
the bench names in ``TALON_BENCH_API`` (v1, the default, or v2)."""

from __future__ import annotations

import itertools
import os
import random
from typing import Any

from locust import FastHttpUser, constant, task

from talon_harness.strategies.journeys import build_journey
from talon_harness.strategies.v2_journeys import v2_build_journey
from talon_harness.strategies.wire import PATH_PREFIXES, V2_PATH_PREFIXES, build_put, path_for, query_string

_seq = itertools.count()
_V2 = os.environ.get("TALON_BENCH_API", "v1") == "v2"


class BareUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        # the first 5 PUTs of 64 coupon_hunter journeys (v1: profile upsert, open, add items, 2 x coupon; v2:
        # the profile, then the session with codes and costs), encoded once: the same bodies and queries our
        # journeys send. Fresh ids go in the path only.
        self.n = 0
        self.token = f"bare-{os.getpid()}-{next(_seq)}"
        rng = random.Random(1)
        build, prefixes = (v2_build_journey, V2_PATH_PREFIXES) if _V2 else (build_journey, PATH_PREFIXES)
        self.templates = []
        for t in range(64):
            journey = build("coupon_hunter", rng, id_prefix=f"tpl{t}")
            calls = []
            for c in journey.calls[:5]:
                put = build_put(c.operation, "x", c.body)
                query = "?" + query_string(c.query) if getattr(c, "query", None) else ""  # v1 calls have none
                calls.append((c.operation, query, put.body, put.headers, prefixes[c.operation] + "[id]"))
            self.templates.append(calls)

    @task
    def five_puts(self) -> None:
        self.n += 1
        for op, query, body, headers, name in self.templates[self.n % 64]:
            path = path_for(op, f"{self.token}-{self.n}-{op[13:]}") + query
            self.client.request("PUT", path, data=body, headers=headers, name=name)


__all__: list[Any] = ["BareUser"]
