"""Fixed, seeded example pools of the v2 strategies, for callers that cycle through examples in order
(schemathesis hooks, a witness phase, load shapes) instead of running Hypothesis themselves: invalid requests
with their reason (:func:`v2_invalid_examples`) and valid realistic and edge requests (:func:`v2_valid_examples`)."""

from __future__ import annotations

from typing import TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hypothesis_seed
from hypothesis import strategies as st

from talon_harness.strategies._v2_raw import V2Invalid
from talon_harness.strategies.v2_bodies import V2Request, v2_profile_queries, v2_session_queries
from talon_harness.strategies.v2_invalid import (
    V2_PROFILE_RULES,
    V2_SESSION_RULES,
    v2_invalid_profile_requests,
    v2_invalid_session_requests,
)
from talon_harness.strategies.v2_realistic import (
    v2_edge_profile_requests,
    v2_edge_session_requests,
    v2_realistic_profile_requests,
    v2_realistic_session_requests,
)
from talon_harness.strategies.wire import PROFILE_V2, SESSION_V2

__all__ = ["v2_invalid_examples", "v2_valid_examples"]

T = TypeVar("T")


def _draw(strategy: st.SearchStrategy[T], count: int, seed: int) -> list[T]:
    """The first *count* examples Hypothesis generates from *strategy* under *seed* (no shrinking, no db)."""
    drawn: list[T] = []

    @hypothesis_seed(seed)
    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: T) -> None:
        drawn.append(value)

    collect()
    return drawn[:count]


def _json_only(invalid: V2Invalid) -> bool:
    return not isinstance(invalid.body, bytes) and invalid.content_type == "application/json" and invalid.status == 400


def v2_invalid_examples(
    operation: str, *, seed: int = 0, per_rule: int = 2, json_only: bool = False
) -> tuple[V2Invalid, ...]:
    """Deterministic (for a given *seed*) invalid requests of every rule of *operation* (``SESSION_V2`` or
    ``PROFILE_V2``), interleaved round-robin: the first entries hold one example of each rule, and so on.

    Rule *i* is drawn under the Hypothesis seed ``seed * 1000 + i``. ``json_only`` keeps only JSON documents
    sent as ``application/json`` and refused with 400 (no raw bytes, 413 or 415): what a JSON client can send;
    query-parameter rules stay (their body is valid JSON). A rule with fewer distinct examples may give fewer.
    Must not be called from inside a running Hypothesis test (it runs its own ``@given``).
    """
    if operation not in (SESSION_V2, PROFILE_V2):
        raise ValueError(f"operation must be {SESSION_V2!r} or {PROFILE_V2!r}; got {operation!r}")
    if per_rule < 1:
        raise ValueError(f"per_rule must be >= 1; got {per_rule!r}")
    rules, factory = ((V2_SESSION_RULES, v2_invalid_session_requests) if operation == SESSION_V2
                      else (V2_PROFILE_RULES, v2_invalid_profile_requests))
    per: list[list[V2Invalid]] = []
    for index, rule in enumerate(rules):
        examples = _draw(factory(rules=[rule]), per_rule, seed * 1000 + index)
        kept = [e for e in examples if _json_only(e)] if json_only else examples
        if kept:
            per.append(kept)
    rounds = max((len(p) for p in per), default=0)
    return tuple(p[r] for r in range(rounds) for p in per if r < len(p))


def _valid_requests(operation: str) -> st.SearchStrategy[V2Request]:
    if operation == SESSION_V2:
        bodies = st.one_of(v2_realistic_session_requests(), v2_edge_session_requests())
        return st.builds(lambda b, q: V2Request(SESSION_V2, b, q), bodies, v2_session_queries())

    def profile(run: bool) -> st.SearchStrategy[V2Request]:
        bodies = st.one_of(v2_realistic_profile_requests(run_rule_engine=run), v2_edge_profile_requests(run_rule_engine=run))
        return st.builds(lambda b, q: V2Request(PROFILE_V2, b, q), bodies, v2_profile_queries(run_rule_engine=run))

    return st.booleans().flatmap(profile)


def v2_valid_examples(operation: str, *, seed: int = 0, count: int = 32) -> tuple[V2Request, ...]:
    """Deterministic (for a given *seed*) valid requests of *operation* (``SESSION_V2`` or ``PROFILE_V2``) for
    a fresh id: the first *count* (or fewer, if Hypothesis finds fewer distinct ones) of realistic and edge
    bodies (``v2_realistic``) with a valid query of the matching kind (``v2_bodies.v2_session_queries``;
    ``v2_profile_queries`` for the body's ``runRuleEngine``). Every one is accepted (200) by a server following
    D21-D33 on an id it has not seen. Must not be called from inside a running Hypothesis test."""
    if operation not in (SESSION_V2, PROFILE_V2):
        raise ValueError(f"operation must be {SESSION_V2!r} or {PROFILE_V2!r}; got {operation!r}")
    if count < 1:
        raise ValueError(f"count must be >= 1; got {count!r}")
    return tuple(_draw(_valid_requests(operation), count, seed))
