"""Pre-generated request corpus for the server benches: the realistic journey mix, as raw HTTP/1.1 bytes.

Journeys come from `strategies.journeys.build_journey` with the Locust default weights
(`loadtests.locustfile.DEFAULT_WEIGHTS`), each PUT built by `strategies.wire.build_put`. Journeys are
interleaved round-robin over a window of `INTERLEAVE` journeys, so two calls of one journey are about
that many requests apart: with fewer requests in flight than that, each call is answered before the
journey's next one is sent, and the answers are the ones the journey expects (`expect_status`).

Replays never reuse an id: request k of a replay (k = 0, 1, ...) is request k mod n of the corpus with
its pass tag (`PASS_TAG`, fixed width, in every id) set to pass k // n, so every pass touches new
entities only and the measured mix stays the intended mix (`expected_non_2xx_share`).
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import overload

from talon_harness.strategies.journeys import Call, build_journey
from talon_harness.strategies.wire import PROFILE, build_put

__all__ = ["DEFAULT_WEIGHTS", "INTERLEAVE", "MAX_PASSES", "Corpus", "Replay", "build_corpus", "write_wrk_corpus"]

# Same as loadtests.locustfile.DEFAULT_WEIGHTS (importing that module needs Locust's gevent patching).
DEFAULT_WEIGHTS: dict[str, int] = {
    "returning_customer": 30, "anonymous_shopper": 15, "coupon_hunter": 10, "abandoned_cart": 15,
    "cancelled_order": 5, "profile_only": 15, "multi_session": 5, "retry": 3, "illegal_transition": 2,
}
INTERLEAVE = 512  # journeys in progress at once in the corpus order (> any bench's requests in flight)
MAX_PASSES = 10_000  # the pass tag has 4 digits
_TAG_DIGITS = b"0000"


def pass_tag(seed: int, pass_no: int) -> bytes:
    """The id prefix marking pass `pass_no` (same length for every pass: Content-Length is unchanged)."""
    if not 0 <= pass_no < MAX_PASSES:
        raise ValueError(f"pass {pass_no} is outside 0..{MAX_PASSES - 1}")
    return b"bench%dp%04d-" % (seed, pass_no)


@dataclass(frozen=True)
class Corpus:
    """Raw requests of pass 0 (bytes, Host header 127.0.0.1), whether each is a profile PUT, and the
    status the journey model expects for it."""

    seed: int
    requests: tuple[bytes, ...]
    is_profile: tuple[bool, ...]
    expect_status: tuple[int, ...]

    @property
    def mean_body_bytes(self) -> float:
        return sum(len(r.split(b"\r\n\r\n", 1)[1]) for r in self.requests) / len(self.requests)

    @property
    def expected_statuses(self) -> dict[str, int]:
        """Status -> count the journey model expects over one pass."""
        return {str(s): c for s, c in sorted(Counter(self.expect_status).items())}

    @property
    def expected_non_2xx_share(self) -> float:
        return sum(1 for s in self.expect_status if not 200 <= s < 300) / len(self.expect_status)

    def request(self, k: int) -> bytes:
        """Request k of a replay: corpus request k mod n, with the ids of pass k // n."""
        pass_no, index = divmod(k, len(self.requests))
        raw = self.requests[index]
        return raw if pass_no == 0 else raw.replace(pass_tag(self.seed, 0), pass_tag(self.seed, pass_no))


class Replay(Sequence[tuple[bytes, int]]):
    """(raw request, 1 if profile else 0) for every request of passes 0..MAX_PASSES-1, built on demand
    (what bench/_openloop.py replays: its index never wraps onto an id already sent)."""

    def __init__(self, corpus: Corpus) -> None:
        self._corpus = corpus

    def __len__(self) -> int:
        return len(self._corpus.requests) * MAX_PASSES

    @overload
    def __getitem__(self, k: int) -> tuple[bytes, int]: ...
    @overload
    def __getitem__(self, k: slice) -> Sequence[tuple[bytes, int]]: ...
    def __getitem__(self, k: int | slice) -> tuple[bytes, int] | Sequence[tuple[bytes, int]]:
        if isinstance(k, slice):
            return [self[i] for i in range(*k.indices(len(self)))]
        return self._corpus.request(k), int(self._corpus.is_profile[k % len(self._corpus.requests)])


def _raw(path: str, headers: dict[str, str], body: bytes) -> bytes:
    lines = [f"PUT {path} HTTP/1.1", "Host: 127.0.0.1"]
    lines += [f"{k}: {v}" for k, v in headers.items()]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii") + body


def _interleaved(journeys: Iterator[tuple[Call, ...]], window: int) -> Iterator[Call]:
    """Round-robin over `window` journeys at a time; a finished journey is replaced by the next one."""
    active: deque[Iterator[Call]] = deque()
    while True:
        while len(active) < window and (calls := next(journeys, None)) is not None:
            active.append(iter(calls))
        if not active:
            return
        current = active.popleft()
        call = next(current, None)
        if call is not None:
            yield call
            active.append(current)


def build_corpus(n_requests: int, *, seed: int = 1) -> Corpus:
    """At least `n_requests` requests (whole journeys), deterministic for a seed."""
    rng = random.Random(seed)
    kinds, weights = list(DEFAULT_WEIGHTS), list(DEFAULT_WEIGHTS.values())
    prefix = pass_tag(seed, 0).decode("ascii")
    journeys: list[tuple[Call, ...]] = []
    total = 0
    while total < n_requests:
        kind = rng.choices(kinds, weights)[0]
        calls = build_journey(kind, rng, id_prefix=f"{prefix}{len(journeys)}").calls
        journeys.append(calls)
        total += len(calls)
    requests: list[bytes] = []
    profile: list[bool] = []
    expect: list[int] = []
    for call in _interleaved(iter(journeys), INTERLEAVE):
        put = build_put(call.operation, call.entity_id, call.body)
        requests.append(_raw(put.path, put.headers, put.body))
        profile.append(call.operation == PROFILE)
        expect.append(call.expect_status)
    return Corpus(seed, tuple(requests), tuple(profile), tuple(expect))


def write_wrk_corpus(corpus: Corpus, path: Path) -> None:
    """One request per record: "<length>\\n<raw bytes>" of pass 0 (read by bench/wrk_replay.lua, which
    retags later passes itself)."""
    with path.open("wb") as fh:
        for raw in corpus.requests:
            fh.write(b"%d\n" % len(raw))
            fh.write(raw)
