"""Pre-generated request corpus for the server benches: the realistic journey mix, as raw HTTP/1.1 bytes.

Journeys come from `strategies.journeys.build_journey` with the Locust default weights
(`loadtests.locustfile.DEFAULT_WEIGHTS`), in journey order, each PUT built by `strategies.wire.build_put`.
Every journey has its own id prefix, so a corpus replayed once against a fresh server touches new
entities only (a wrapped-around replay re-sends journeys; some then earn a 400, which the benches count).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path

from talon_harness.strategies.journeys import build_journey
from talon_harness.strategies.wire import PROFILE, build_put

__all__ = ["DEFAULT_WEIGHTS", "Corpus", "build_corpus", "write_wrk_corpus"]

# Same as loadtests.locustfile.DEFAULT_WEIGHTS (importing that module needs Locust's gevent patching).
DEFAULT_WEIGHTS: dict[str, int] = {
    "returning_customer": 30, "anonymous_shopper": 15, "coupon_hunter": 10, "abandoned_cart": 15,
    "cancelled_order": 5, "profile_only": 15, "multi_session": 5, "retry": 3, "illegal_transition": 2,
}


@dataclass(frozen=True)
class Corpus:
    """Raw requests (bytes, Host header 127.0.0.1) and, per request, whether it is a profile PUT."""

    requests: tuple[bytes, ...]
    is_profile: tuple[bool, ...]

    @property
    def mean_body_bytes(self) -> float:
        return sum(len(r.split(b"\r\n\r\n", 1)[1]) for r in self.requests) / len(self.requests)


def _raw(path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"PUT {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def build_corpus(n_requests: int, *, seed: int = 1) -> Corpus:
    """At least `n_requests` requests (whole journeys), deterministic for a seed."""
    rng = random.Random(seed)
    kinds, weights = list(DEFAULT_WEIGHTS), list(DEFAULT_WEIGHTS.values())
    requests: list[bytes] = []
    profile: list[bool] = []
    journey = 0
    while len(requests) < n_requests:
        kind = rng.choices(kinds, weights)[0]
        for call in build_journey(kind, rng, id_prefix=f"bench{seed}-{journey}").calls:
            put = build_put(call.operation, call.entity_id, call.body)
            requests.append(_raw(put.path, put.headers, put.body))
            profile.append(call.operation == PROFILE)
        journey += 1
    return Corpus(tuple(requests), tuple(profile))


def write_wrk_corpus(corpus: Corpus, path: Path) -> None:
    """One request per record: "<length>\\n<raw bytes>" (read by bench/wrk_replay.lua)."""
    with path.open("wb") as fh:
        for raw in corpus.requests:
            fh.write(b"%d\n" % len(raw))
            fh.write(raw)
