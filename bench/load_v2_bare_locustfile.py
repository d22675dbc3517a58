"""Baseline for bench/load_v2_efficiency.py: a bare FastHttpUser looping the same 5 v2 PUTs with no extras
(no journeys, no validation, no HDR recorder, no think time). Requests are built once per user."""

from __future__ import annotations

import itertools
import os
import random
from typing import Any

from locust import FastHttpUser, constant, task

from talon_harness.strategies.v2_journeys import v2_build_journey
from talon_harness.strategies.wire import V2_PATH_PREFIXES, build_put, path_for, query_string

_seq = itertools.count()


class BareV2User(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        # the first 5 PUTs of 64 v2 coupon_hunter journeys (profile, then the session with codes and costs),
        # encoded once: the same bodies and queries our v2 journeys send. Fresh ids go in the path only.
        self.n = 0
        self.token = f"bare-{os.getpid()}-{next(_seq)}"
        rng = random.Random(1)
        self.templates = []
        for t in range(64):
            journey = v2_build_journey("coupon_hunter", rng, id_prefix=f"tpl{t}")
            calls = []
            for c in journey.calls[:5]:
                put = build_put(c.operation, "x", c.body)
                query = "?" + query_string(c.query) if c.query else ""
                calls.append((c.operation, query, put.body, put.headers, V2_PATH_PREFIXES[c.operation] + "[id]"))
            self.templates.append(calls)

    @task
    def five_puts(self) -> None:
        self.n += 1
        for op, query, body, headers, name in self.templates[self.n % 64]:
            path = path_for(op, f"{self.token}-{self.n}-{op[13:]}") + query
            self.client.request("PUT", path, data=body, headers=headers, name=name)


__all__: list[Any] = ["BareV2User"]
