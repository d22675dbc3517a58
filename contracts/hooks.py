"""Schemathesis hooks: our checks, our edge data in every phase, auth that signs the exact bytes.

Load with ``SCHEMATHESIS_HOOKS=contracts.hooks`` (``harness.check`` does) or import it in a conftest.

- Checks: importing this module registers every domain check of :mod:`contracts.checks`.
- Auth (D2): a ``before_call`` hook attaches a ``requests`` auth object that runs after the body is
  serialised, so ``Content-Signature`` is the HMAC-MD5 of the exact bytes sent; credentials come from
  ``TALON_CHECK_API_KEY`` / ``TALON_CHECK_HMAC``, never from argv.
- Edge data: ``map_case`` (coverage and fuzzing phases) puts D12 edge ids into the path and, for
  positive cases, edge bodies built from ``strategies.edges`` constants into the body; cases negative at a
  location stay negative there (invalid ids go only into cases already negative at the path).
  ``before_generate_case`` (fuzzing) mixes Hypothesis-drawn ``strategies`` edge bodies into positive cases.
- Invalid inputs: ``before_call`` (coverage and fuzzing, i.e. at send time) replaces the body of cases that
  are negative only in the body with a ``strategies.invalid`` example tagged with the rule it breaks and
  its pointer (registered in the run's ``CheckRuntime``). The first cases of each operation cycle through
  every rule in order (so every rule is on the wire within the first few dozen negative cases), then one
  negative case in three. ``contracts.checks.invalid_body_rejected`` judges the answer.
- ``filter_failure``: drops ``positive_data_acceptance`` (ST202) failures where the 400 is a domain-rule
  rejection the model confirms (illegal transition, change to a closed session, totalSales overflow): the
  schema cannot express state, so schema-valid data may be rightly refused.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import threading
from collections import OrderedDict
from typing import Any

import requests
import schemathesis
from hypothesis import strategies as st

import talon_harness.contracts.checks  # noqa: F401  (registers the domain checks)
from talon_harness.contracts import oracle, rules
from talon_harness.contracts.model import valid_id
from talon_harness.contracts.runtime import runtime_for
from talon_harness.strategies.bodies import cart_items
from talon_harness.strategies.edges import (
    EDGE_INTEGERS,
    EDGE_NUMBERS,
    EDGE_STRINGS,
    edge_customer_profiles,
    edge_customer_sessions,
)
from talon_harness.strategies.invalid import invalid_examples
from talon_harness.strategies.types import Invalid
from talon_harness.strategies.wire import PROFILE, SESSION, Credentials, auth_headers

__all__ = ["EDGE_PATH_IDS", "INVALID_PATH_IDS", "SignedAuth", "edge_profile_bodies", "edge_session_bodies"]

#: Valid D12 ids that stress routing and encoding (sent in the coverage and fuzzing phases).
EDGE_PATH_IDS: tuple[str, ...] = (
    " ", " lead", "trail ", "a b", "é", "日本語", "😀", "👩‍💻", "+", "a+b", "~", "\u200b", "\u202eRTL",
    "\ufeffBOM", "e\u0301", "x" * 1000, "😀" * 1000, "\U0010fffd", "C-10023", "'\"", "<tag>",
)
# Not here: "/", "?", "#", "%" and dot segments. Schemathesis puts path values into the URL without
# escaping them, so they would address another resource; strategies.ids covers them in tests/contract.
#: Ids outside D12 (used only where a case is already negative at the path).
INVALID_PATH_IDS: tuple[str, ...] = ("\x00", "a\x00b", "\x1f", "\x7f", "\x85", "x" * 1001, "tab\there")
_DOMAIN_TITLES = frozenset({"Illegal state transition", "Session closed", "Out of range"})
_EVERY = 3  # one case in three gets edge data
_NON_BODY = ("path", "query", "header", "cookie")
_MAX_REPLAYS = 4096
_MAX_SENT_DEPTH = 64  # schemathesis deep-copies bodies (curl lines) with a ~255-level recursion limit


def _edge_items() -> list[dict[str, Any]]:
    return [{"name": s, "sku": f"SKU-{i}", "quantity": EDGE_INTEGERS[i % len(EDGE_INTEGERS)],
             "price": EDGE_NUMBERS[i % len(EDGE_NUMBERS)]} for i, s in enumerate(EDGE_STRINGS)]


def edge_session_bodies() -> tuple[dict[str, Any], ...]:
    """Deterministic valid session bodies with edge strings (NUL, BOM, RTL, astral...) and numbers."""
    items = _edge_items()
    bodies: list[dict[str, Any]] = [{"cartItems": [], "total": 0}]  # an emptied cart
    bodies += [{"cartItems": [item], "total": item["price"]} for item in items]
    bodies += [{"attributes": {s or "k": s}, "coupon": s, "referral": s} for s in EDGE_STRINGS]
    bodies += [{"total": n, "profileId": ""} for n in EDGE_NUMBERS]
    bodies += [{"cartItems": items, "attributes": {"deep": [[[[[[[[[["10"]]]]]]]]]]}}]
    return tuple(bodies)


def edge_profile_bodies() -> tuple[dict[str, Any], ...]:
    """Deterministic valid profile bodies: edge strings and numbers as attribute keys and values."""
    bodies: list[dict[str, Any]] = [{"attributes": {s: s}} for s in EDGE_STRINGS]
    bodies += [{"attributes": {"n": n, "Name": None}} for n in EDGE_NUMBERS]
    return tuple(bodies)


class _Cycles:
    """Round-robin pickers, one lock for all (cases are generated from several threads with --workers)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counter = itertools.count()
        self.ids = itertools.cycle(EDGE_PATH_IDS)
        self.invalid_ids = itertools.cycle(INVALID_PATH_IDS)
        self.sessions = itertools.cycle(edge_session_bodies())
        self.profiles = itertools.cycle(edge_profile_bodies())
        seed = int(os.environ.get("TALON_CHECK_SEED", "0") or 0)
        self.invalid: dict[str, tuple[Invalid, ...]] = {
            op: invalid_examples(op, seed=seed, json_only=True, max_depth=_MAX_SENT_DEPTH) for op in (SESSION, PROFILE)}
        self.invalid_turns = {op: itertools.count() for op in (SESSION, PROFILE)}
        self.replays: OrderedDict[str, Invalid | None] = OrderedDict()


_CYCLES = _Cycles()  # deterministic pickers only; no run state lives here
schemathesis.hook("after_call")(oracle.record_exchange)  # the oracle check + the journal (contracts.oracle)


def _phase(case: Any) -> str:
    meta = getattr(case, "meta", None)
    return meta.phase.name.value if meta is not None else ""


def _negative_at(case: Any, location: str) -> bool:
    from schemathesis.core.parameters import ParameterLocation

    meta = getattr(case, "meta", None)
    return meta is not None and meta.is_negative_at(ParameterLocation(location))


def _path_param(case: Any) -> str | None:
    params = case.path_parameters or {}
    return next(iter(params), None)


def _negative_only_in_body(case: Any) -> bool:
    return _negative_at(case, "body") and not any(_negative_at(case, where) for where in _NON_BODY)


def _tagged_invalid_body(case: Any) -> bool:
    """Negative body cases get ``strategies.invalid`` bodies tagged with the rule they break: the first
    ``len(pool)`` SENT of each operation cycle through every rule in order, then one case in three. Done
    at send time (``before_call``): the coverage phase sends its cases in another order than it maps them."""
    if _phase(case) not in ("coverage", "fuzzing") or case.method.upper() != "PUT":
        return False
    if not _negative_only_in_body(case) or (case.media_type or "application/json") != "application/json":
        return False
    operation = SESSION if "session" in case.operation.path else PROFILE
    pool = _CYCLES.invalid[operation]
    # fuzzing: Hypothesis replays a failing case while shrinking; the same generated body gets the same answer
    replay_key = _replay_key(operation, case.body) if _phase(case) == "fuzzing" else None
    if replay_key is not None and replay_key in _CYCLES.replays:
        invalid = _CYCLES.replays[replay_key]
        if invalid is None:
            return False
    else:
        turn = next(_CYCLES.invalid_turns[operation])
        invalid = pool[turn % len(pool)] if pool and (turn < len(pool) or turn % _EVERY == 0) else None
        if replay_key is not None:
            _CYCLES.replays[replay_key] = invalid
            while len(_CYCLES.replays) > _MAX_REPLAYS:
                _CYCLES.replays.popitem(last=False)
        if invalid is None:
            return False
    case.body = copy.deepcopy(invalid.body)
    runtime_for(case).tag(case.body, invalid)
    return True


def _replay_key(operation: str, body: Any) -> str | None:
    try:
        return operation + json.dumps(body, sort_keys=True, allow_nan=True, default=repr)
    except (TypeError, ValueError, RecursionError):
        return None


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    """Edge ids and bodies into coverage and fuzzing cases (one in three; every other negative-path case gets
    one of our invalid ids), keeping each component's mode."""
    if _phase(case) not in ("coverage", "fuzzing") or case.method.upper() != "PUT":
        return case
    with _CYCLES.lock:
        turn = next(_CYCLES.counter)
        name = _path_param(case)
        if _negative_at(case, "path"):  # every other invalid id becomes one of ours (still invalid)
            current = str(case.path_parameters.get(name, "")) if name else ""
            if name is not None and turn % 2 == 0 and not valid_id(current):
                case.path_parameters[name] = next(_CYCLES.invalid_ids)
            return case
        if turn % _EVERY:
            return case
        if name is not None:
            case.path_parameters[name] = next(_CYCLES.ids)
        if not _negative_at(case, "body") and isinstance(case.body, dict) and _phase(case) == "coverage":
            pool = _CYCLES.sessions if "session" in case.operation.path else _CYCLES.profiles
            case.body = dict(next(pool))
    return case


def journey_steps() -> st.SearchStrategy[dict[str, Any]]:
    """Session bodies a real integration sends after opening a session: a cart update (items + total), a
    close, a cancel, a retry-looking repeat of a state, a coupon, or a read (``{}``). Always valid."""
    cart = st.lists(cart_items(), min_size=1, max_size=3)
    return st.one_of(
        st.builds(lambda items, total: {"cartItems": items, "total": total}, cart,
                  st.floats(0, 1000, allow_nan=False).map(lambda t: round(t, 2))),
        st.sampled_from(({"state": "closed"}, {"state": "cancelled"}, {"state": "open"}, {},
                         {"coupon": "SUMMER10"}, {"referral": "FRIEND-ALICE"})),
    )


@schemathesis.hook
def before_generate_case(ctx: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Fuzzing: a positive case's body is sometimes (1 in 4) replaced by a ``strategies.edges`` body.
    Stateful: a positive session case's body is often (1 in 2) replaced by a journey step (cart update,
    close, cancel, state repeat, coupon), keeping a linked ``profileId``, so chains read like real
    sessions instead of random bodies that a closed session rejects."""
    operation = ctx.operation
    if operation is None:
        return strategy
    is_session = "session" in operation.path
    edges = edge_customer_sessions() if is_session else edge_customer_profiles()
    steps = journey_steps()

    def maybe_replace(case: Any) -> st.SearchStrategy:
        phase = _phase(case)
        if _negative_at(case, "body") or not isinstance(case.body, dict):
            return st.just(case)
        if phase == "fuzzing":
            replacement, odds = edges, 4
        elif phase == "stateful" and is_session:
            linked = {k: v for k, v in case.body.items() if k == "profileId"}
            replacement, odds = steps.map(lambda body: {**body, **linked}), 2
        else:
            return st.just(case)

        def swap(body: Any) -> Any:
            case.body = body
            return case

        # draw the coin first: the edge strategies are costly, so draw a body only when it is used
        return st.integers(0, odds - 1).flatmap(lambda n: replacement.map(swap) if n == 0 else st.just(case))

    return strategy.flatmap(maybe_replace)


class SignedAuth(requests.auth.AuthBase):
    """Adds D2 auth headers computed from the final request bytes (after serialisation)."""

    def __init__(self, creds: Credentials) -> None:
        self.creds = creds

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        request.headers.update(auth_headers(self.creds, body))
        return request


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Tagged invalid bodies into negative body cases (``_tagged_invalid_body``), then authenticate every
    request with the run's credentials (overriding any generated auth header)."""
    with _CYCLES.lock:
        _tagged_invalid_body(case)
    creds = runtime_for(case).credentials
    if creds is not None:
        kwargs["auth"] = SignedAuth(creds)


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure except a ST202 whose 400 is a domain-rule rejection the model agrees with, or the
    rejection of a tagged ``strategies.invalid`` body (the generation view of the contract is looser than
    the contract at depth, so schemathesis may take such a body for valid)."""
    if getattr(failure, "code", "") != "ST202" or response.status_code != 400:
        return True
    runtime = runtime_for(case)
    obs = runtime.observe(response)
    if obs.exchange.json_body and runtime.tag_of(obs.exchange.body) is not None:
        return False
    if obs.exchange.entity_id is not None and not valid_id(obs.exchange.entity_id):
        return False  # e.g. a link carrying an anonymous session's profileId "": D12 makes it a 400
    try:
        body = response.json()
        titles = {e.get("title") for e in body.get("errors", [])}
    except Exception:
        return True
    if not titles or not titles <= _DOMAIN_TITLES:
        return True
    if obs.before_session is None:  # the model cannot tell: take the server's word for a domain refusal
        return False
    if rules.illegal_reason(obs) is not None:
        return False
    delta = rules.bookkeeping_delta(obs)
    return not ("Out of range" in titles and (delta is None or delta[1] is None))


_MAX_COVERAGE_NESTING = 2


@schemathesis.hook
def filter_case(ctx: Any, case: Any) -> bool:
    """Coverage: skip scenarios nested deeper than two levels inside a body.

    The recursive ``AttributeValue`` schema (any JSON, depth <= 10, D13) makes the coverage phase enumerate
    tens of thousands of nested permutations ("Object with additional property: Single-item array: ...");
    the attribute edge cases are sent by ``map_case``/``before_generate_case`` instead.
    """
    meta = getattr(case, "meta", None)
    if meta is None or _phase(case) != "coverage":
        return True
    description = getattr(meta.phase.data, "description", "") or ""
    return description.count(": ") <= _MAX_COVERAGE_NESTING
