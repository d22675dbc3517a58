"""Which generated cases carry our data: edge ids, edge bodies and tagged invalid bodies (one per run).

A :class:`CaseMix` belongs to one run (it hangs off the run's ``CheckRuntime``); its pickers and counters
are that run's and nobody else's. Rules, in the coverage and fuzzing phases, for PUT cases:

- a case negative at the path gets one of ``strategies.ids.INVALID_PATH_IDS`` every other time (it stays
  invalid); otherwise one case in three gets an ``EDGE_PATH_IDS`` id and, when it is positive in the body
  and from the coverage phase, one of ``strategies.edges.edge_session_bodies``/``edge_profile_bodies``;
- at send time, a case negative only in the body gets a ``strategies.invalid`` example: the first cases of
  each operation cycle through every rule in order (so every rule reaches the wire within the first few
  dozen negative cases), then one case in three. Hypothesis replays a failing fuzzing case while it
  shrinks; the replay cache (keyed by the generated body) gives a replay the answer its original got.

Edge bodies for the fuzzing and stateful phases are Hypothesis strategies and live in the hooks' strategy
swap (``contracts.hooks.before_generate_case``).
"""

from __future__ import annotations

import copy
import functools
import itertools
import json
import threading
from collections import OrderedDict
from typing import Any

from talon_harness.contracts import _schemathesis as st_adapter
from talon_harness.strategies.edges import edge_profile_bodies, edge_session_bodies
from talon_harness.strategies.ids import EDGE_PATH_IDS, INVALID_PATH_IDS, valid_id
from talon_harness.strategies.invalid import invalid_examples
from talon_harness.strategies.types import Invalid
from talon_harness.strategies.wire import OPERATIONS, PROFILE, SESSION, operation_of_path

__all__ = ["MAX_SENT_DEPTH", "CaseMix"]

#: schemathesis deep-copies bodies (for curl lines) with a ~255-level recursion limit: deeper invalid
#: bodies are left out of the mix.
MAX_SENT_DEPTH = 64
_EVERY = 3  # one case in three gets our data
_NON_BODY = ("path", "query", "header", "cookie")
_MAX_REPLAYS = 4096


def _mixed(case: Any) -> bool:
    return st_adapter.phase_of(case) in ("coverage", "fuzzing") and case.method.upper() == "PUT"


class CaseMix:
    """The per-run pickers. Build it outside any running Hypothesis test (it draws the invalid examples);
    every method is thread-safe (schemathesis generates and sends from several threads with --workers)."""

    def __init__(self, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._turns = itertools.count()
        self._ids = itertools.cycle(EDGE_PATH_IDS)
        self._invalid_ids = itertools.cycle(INVALID_PATH_IDS)
        self._bodies = {SESSION: itertools.cycle(edge_session_bodies()),
                        PROFILE: itertools.cycle(edge_profile_bodies())}
        self._invalid = {op: _invalid_pool(op, seed) for op in OPERATIONS}
        self._invalid_turns = {op: itertools.count() for op in OPERATIONS}
        self._replays: OrderedDict[str, Invalid | None] = OrderedDict()

    def map_case(self, case: Any) -> None:
        """Put edge ids (and, in the coverage phase, edge bodies) into a generated case, in place."""
        if not _mixed(case):
            return
        name = next(iter(case.path_parameters or {}), None)
        operation = operation_of_path(case.operation.path)
        with self._lock:
            turn = next(self._turns)
            if st_adapter.is_negative_at(case, "path"):
                current = str(case.path_parameters.get(name, "")) if name else ""
                if name is not None and turn % 2 == 0 and not valid_id(current):
                    case.path_parameters[name] = next(self._invalid_ids)
                return
            if turn % _EVERY:
                return
            if name is not None:
                case.path_parameters[name] = next(self._ids)
            if (operation is not None and not st_adapter.is_negative_at(case, "body")
                    and isinstance(case.body, dict) and st_adapter.phase_of(case) == "coverage"):
                case.body = dict(next(self._bodies[operation]))

    def invalid_body(self, case: Any) -> Invalid | None:
        """At send time: the ``strategies.invalid`` example whose body replaces this case's, or None."""
        if not _mixed(case) or (case.media_type or "application/json") != "application/json":
            return None
        if not st_adapter.is_negative_at(case, "body") or any(st_adapter.is_negative_at(case, w) for w in _NON_BODY):
            return None
        operation = operation_of_path(case.operation.path)
        if operation is None:
            return None
        replay_key = _replay_key(operation, case.body) if st_adapter.phase_of(case) == "fuzzing" else None
        with self._lock:
            if replay_key is not None and replay_key in self._replays:
                return self._replays[replay_key]
            pool = self._invalid[operation]
            turn = next(self._invalid_turns[operation])
            invalid = pool[turn % len(pool)] if pool and (turn < len(pool) or turn % _EVERY == 0) else None
            if replay_key is not None:
                self._replays[replay_key] = invalid
                while len(self._replays) > _MAX_REPLAYS:
                    self._replays.popitem(last=False)
            return invalid

    def swap_in_invalid_body(self, case: Any) -> Invalid | None:
        """Replace the body of a case picked by :meth:`invalid_body` (a copy of the example's); return the
        example, so the caller can tag the case with it."""
        invalid = self.invalid_body(case)
        if invalid is not None:
            case.body = copy.deepcopy(invalid.body)
        return invalid


@functools.cache  # a pure function of its arguments (deterministic draws), shared by every run in a process
def _invalid_pool(operation: str, seed: int) -> tuple[Invalid, ...]:
    return invalid_examples(operation, seed=seed, json_only=True, max_depth=MAX_SENT_DEPTH)


def _replay_key(operation: str, body: Any) -> str | None:
    try:
        return operation + json.dumps(body, sort_keys=True, allow_nan=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        return None
