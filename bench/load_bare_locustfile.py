"""Baseline for bench/load_efficiency.py: a bare FastHttpUser looping the same 5 PUTs with no extras
(no journeys, no validation, no HDR recorder, no think time). Bodies are built once per user."""

from __future__ import annotations

import itertools
import os
import random
from typing import Any

from locust import FastHttpUser, constant, task

from talon_harness.strategies.journeys import build_journey
from talon_harness.strategies.wire import PROFILE, build_put, path_for

_seq = itertools.count()


class BareUser(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        # the first 5 PUTs (profile upsert, open, add items, 2 x coupon) of 64 coupon_hunter journeys,
        # encoded once: the same body mix our journeys send. Fresh ids go in the path only.
        self.n = 0
        self.token = f"bare-{os.getpid()}-{next(_seq)}"
        rng = random.Random(1)
        self.templates = []
        for t in range(64):
            journey = build_journey("coupon_hunter", rng, id_prefix=f"tpl{t}")
            calls = []
            for c in journey.calls[:5]:
                put = build_put(c.operation, "x", c.body)
                name = (
                    "/v1/customer_profiles/[id]" if c.operation == PROFILE else "/v1/customer_sessions/[id]"
                )
                calls.append((c.operation, put.body, put.headers, name))
            self.templates.append(calls)

    @task
    def five_puts(self) -> None:
        self.n += 1
        for op, body, headers, name in self.templates[self.n % 64]:
            path = path_for(op, f"{self.token}-{self.n}-{op[13:]}")
            self.client.request("PUT", path, data=body, headers=headers, name=name)


__all__: list[Any] = ["BareUser"]
