"""Which generated cases of a v2 run carry our data: v2 journeys, realistic and edge calls, invalid bodies.

A :class:`CaseMixV2` belongs to one run on v2 (it hangs off the run's ``CheckRuntime``, which builds it for
``api == "v2"``; v1 runs get ``contracts.casemix.CaseMix``); its streams and counters are that run's. It works
at send time (``contracts.hooks.before_call``): the coverage phase sends its cases in another order than it
generates them, and a journey's calls must reach the server in order. Rules, in the coverage and fuzzing
phases, for PUT cases with a JSON body:

- every other case generated positive becomes the next call of its operation's stream (id, body and query
  replaced; the query written as the SDK writes it, ``dry=true``). The session stream: the session calls of
  ``strategies.v2_journeys`` journeys in order (open, carts, codes, dry previews, close, cancel, retries,
  illegal moves; the kinds in turn), every third call a ``strategies.v2_examples.v2_valid_examples`` body
  (realistic or edge, with a valid session query) on a fresh id, a dry one followed by the same call
  without ``dry`` (which must create the session, D28). Every session call asks, besides what it asks
  itself, for ``customerSession``, ``customerProfile`` and ``event`` (D27), so the v2 model
  (``contracts.domain.v2_model``) learns every session it touches and the v2 rules judge each answer. The
  profile stream: the journeys' profile calls, every other call a valid realistic or edge one (a dry one
  followed by it without ``dry``). Every call is one a correct server accepts, or refuses as D22 says (an
  illegal move: a 400 whose title ``contracts.apis.v2_domain_refusal`` explains, judged by v2_state_machine);
- a case generated negative in the body and nowhere else gets a ``strategies.v2_invalid`` example of a body rule (with the query
  the example needs): the first cases of each operation cycle through every rule in order, then one in three.
  No v2 rule reads an invalid-body tag (v1's ``invalid_body_rejected`` has no v2 counterpart), so the case is
  not tagged: schemathesis' ``negative_data_rejection`` judges the bodies integration-v2.yaml refuses; one
  that only a decision refuses (D21, D33) is positive to schemathesis, and its 400 is one
  ``v2_domain_refusal`` explains. Both must not crash the server (``not_a_server_error``).

Ids start with a prefix drawn per run (a server checked before holds none of them); bodies, queries and
their order are a function of the seed. Hypothesis replays a failing fuzzing case while it shrinks; the
replay cache (keyed by the generated case) gives a replay the call its original got.
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import random
import threading
import uuid
from collections import OrderedDict, deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl

from talon_harness.contracts import _schemathesis as st_adapter
from talon_harness.strategies.v2_bodies import V2Request
from talon_harness.strategies.v2_examples import v2_invalid_examples, v2_valid_examples
from talon_harness.strategies.v2_invalid import V2Invalid
from talon_harness.strategies.v2_journeys import V2_JOURNEY_KINDS, v2_build_journey
from talon_harness.strategies.wire import (
    PROFILE_V2,
    SESSION_V2,
    V2_OPERATIONS,
    QueryValue,
    operation_of_path,
    query_string,
)

__all__ = ["ASKED", "CaseMixV2"]

#: What every session call of the mix asks for (D27), besides what it asks itself.
ASKED = ("customerSession", "customerProfile", "event")
_EVERY = 3  # after the first round, one body-negative case in three gets an invalid body
_LOCATIONS = ("path", "query", "header", "cookie", "body")
_MAX_REPLAYS = 4096


def _mixed(case: Any) -> bool:
    return (st_adapter.phase_of(case) in ("coverage", "fuzzing") and case.method.upper() == "PUT"
            and (case.media_type or "application/json") == "application/json")


def _wire_query(query: Mapping[str, QueryValue]) -> dict[str, str]:
    """``query`` as the strings ``strategies.wire`` sends (``true``, not Python's ``True``)."""
    return dict(parse_qsl(query_string(query), keep_blank_values=True))


def _asking(operation: str, body: Any) -> Any:
    """A session body that also asks for :data:`ASKED` (a copy; other bodies as they are)."""
    if operation != SESSION_V2 or not isinstance(body, dict):
        return copy.deepcopy(body)
    asked = list(body.get("responseContent") or [])
    return {**copy.deepcopy(body), "responseContent": asked + [c for c in ASKED if c not in asked]}


class _Stream:
    """One operation's calls, ``(id, body, query)``: journey calls of that operation, and every ``every``-th
    call a pool request on a fresh id."""

    def __init__(self, operation: str, seed: int, prefix: str, every: int) -> None:
        self.operation, self.prefix, self.every = operation, prefix, every
        self.rng = random.Random(f"{seed}-{operation}")
        self.pool = itertools.cycle(v2_valid_examples(operation, seed=seed))
        self.kinds = itertools.cycle(V2_JOURNEY_KINDS)  # a kind without calls of this operation adds none
        self.numbers = itertools.count()
        self.turns = itertools.count()
        self.queued: deque[tuple[str, Any, Mapping[str, QueryValue]]] = deque()

    def __next__(self) -> tuple[str, Any, dict[str, str]]:
        if next(self.turns) % self.every == self.every - 1:
            request: V2Request = next(self.pool)
            entity_id, body = f"{self.prefix}-x{next(self.numbers)}", request.body
            query: Mapping[str, QueryValue] = request.query
            if query.get("dry") is True:  # D28: the id is still absent, so the same call without dry creates it
                self.queued.appendleft((entity_id, body, {k: v for k, v in query.items() if k not in ("dry", "now")}))
        else:
            while not self.queued:
                journey = v2_build_journey(next(self.kinds), self.rng, id_prefix=f"{self.prefix}-j{next(self.numbers)}")
                self.queued.extend((c.entity_id, c.body, c.query) for c in journey.calls
                                   if c.operation == self.operation)
            entity_id, body, query = self.queued.popleft()
        return entity_id, _asking(self.operation, body), _wire_query(query)


class CaseMixV2:
    """The per-run streams of a v2 run. Build it outside any running Hypothesis test (it draws its example
    pools); every method is thread-safe (schemathesis generates and sends from several threads with
    --workers; the v2 rules then predict nothing that depends on order)."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        prefix = "V2mix" + uuid.uuid4().hex[:10]  # upper case too: a server that folds case shows it
        self._streams = {SESSION_V2: _Stream(SESSION_V2, seed, prefix + "s", 3),
                         PROFILE_V2: _Stream(PROFILE_V2, seed, prefix + "p", 2)}
        self._turns = {op: itertools.count() for op in V2_OPERATIONS}
        self._invalid = {op: _invalid_pool(op, seed) for op in V2_OPERATIONS}
        self._invalid_turns = {op: itertools.count() for op in V2_OPERATIONS}
        self._replays: OrderedDict[str, tuple[str, Any, dict[str, str]] | V2Invalid | None] = OrderedDict()

    def swap_in(self, case: Any) -> tuple[str, Any, dict[str, str]] | V2Invalid | None:
        """At send time: give ``case`` the next call of its stream (a positive case, every other one) or a v2
        invalid body (a case negative only in the body, see the module docstring), in place;
        return what it got (``(id, body, query)`` or the ``V2Invalid``), None when the case is sent as
        generated."""
        operation = operation_of_path(case.operation.path, api="v2")
        name = next(iter(case.path_parameters or {}), None)
        if operation is None or name is None or not _mixed(case):
            return None
        negative = {where for where in _LOCATIONS if st_adapter.is_negative_at(case, where)}
        if negative != ({"body"} if st_adapter.generation_mode(case) == "negative" else set()):
            return None  # negative elsewhere too, or in a way no location names (sent as generated)
        key = _replay_key(operation, case) if st_adapter.phase_of(case) == "fuzzing" else None
        with self._lock:
            if key is not None and key in self._replays:
                picked = self._replays[key]
            else:
                picked = self._invalid_body(operation) if negative else self._call(operation)
                if key is not None:
                    self._replays[key] = picked
                    while len(self._replays) > _MAX_REPLAYS:
                        self._replays.popitem(last=False)
        if isinstance(picked, V2Invalid):
            case.body, case.query = copy.deepcopy(picked.body), _wire_query(picked.query)
        elif picked is not None:
            entity_id, body, query = picked
            case.path_parameters = {**case.path_parameters, name: entity_id}
            case.body, case.query = copy.deepcopy(body), dict(query)
        return picked

    def _call(self, operation: str) -> tuple[str, Any, dict[str, str]] | None:
        return next(self._streams[operation]) if next(self._turns[operation]) % 2 == 0 else None

    def _invalid_body(self, operation: str) -> V2Invalid | None:
        pool = self._invalid[operation]
        turn = next(self._invalid_turns[operation])
        return pool[turn % len(pool)] if pool and (turn < len(pool) or turn % _EVERY == 0) else None


@functools.cache  # a pure function of its arguments (deterministic draws), shared by every run in a process
def _invalid_pool(operation: str, seed: int) -> tuple[V2Invalid, ...]:
    """The JSON body rules' examples (a query-parameter rule's body is valid: not for a body-negative case)."""
    return tuple(e for e in v2_invalid_examples(operation, seed=seed, json_only=True) if e.parameter is None)


def _replay_key(operation: str, case: Any) -> str | None:
    try:
        return operation + json.dumps([case.path_parameters, case.query, case.body], sort_keys=True,
                                      allow_nan=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        return None
