"""Schemathesis hooks: they only register; the work lives where its knowledge is.

Load with ``SCHEMATHESIS_HOOKS=talon_harness.contracts.hooks`` (``harness.check`` does) or import it in a
conftest. It is the only module that registers anything with schemathesis. Importing it registers one check
per rule of :mod:`talon_harness.contracts.domain` (:data:`SCHEMATHESIS_CHECKS`: the rule's verdict on the
case's observation; a violation is written to the run's records file and raised as ``ViolationError``), the
oracle's ``matches_reference`` check and ``after_call`` hook (``contracts.oracle``), and:

- ``after_load_schema``: the run's ``CheckRuntime`` (model, credentials, case mix, records file) from the
  environment, attached to the loaded schema (``contracts.runtime``); its records file starts empty;
- ``map_case``: edge ids and bodies into coverage and fuzzing cases (``contracts.casemix``; v1 runs);
- ``before_generate_case``: fuzzing cases sometimes get a ``strategies.edges`` body, stateful session
  cases a ``strategies.journeys.journey_steps`` body (v1 runs);
- ``before_call``: v1: tagged ``strategies.invalid`` bodies into cases negative only in the body
  (``contracts.casemix``), then D2 auth computed over the exact bytes sent (:class:`SignedAuth`); v2: the
  v2 mix (``contracts.casemix_v2``): v2 journey calls and realistic and edge calls asking for the session,
  its profile and event into positive cases, ``strategies.v2_invalid`` bodies into cases negative only in
  the body (auth is schemathesis' own);
- ``filter_failure``: drops a ``positive_data_acceptance`` failure the domain explains
  (``contracts.checks.domain_refusal``; on v2 ``contracts.apis.v2_domain_refusal``);
- ``filter_case``: the coverage-nesting cap for runs on the contract as written (``contracts.generation``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import replace
from types import MappingProxyType
from typing import Any

import requests
import schemathesis
from hypothesis import strategies as st

from talon_harness.contracts import _schemathesis as st_adapter
from talon_harness.contracts import checks, oracle
from talon_harness.contracts.apis import all_rules, revision_difference, rules_for, v2_domain_refusal
from talon_harness.contracts.casemix import CaseMix
from talon_harness.contracts.casemix_v2 import CaseMixV2
from talon_harness.contracts.domain import NotApplicable, Rule
from talon_harness.contracts.generation import coverage_case_wanted
from talon_harness.contracts.runtime import CheckRuntime, attach_runtime, runtime_for
from talon_harness.contracts.settings import CheckSettings
from talon_harness.contracts.violation import ViolationError
from talon_harness.strategies.edges import edge_customer_profiles, edge_customer_sessions
from talon_harness.strategies.journeys import journey_steps
from talon_harness.strategies.wire import SESSION, Credentials, auth_headers, operation_of_path

__all__ = ["SCHEMATHESIS_CHECKS", "SignedAuth"]

_POSITIVE_DATA_ACCEPTANCE = "ST202"


class SignedAuth(requests.auth.AuthBase):
    """Adds D2 auth headers computed from the final request bytes (after serialisation)."""

    def __init__(self, creds: Credentials) -> None:
        self.creds = creds

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        raw = body.encode("utf-8") if isinstance(body, str) else body if isinstance(body, bytes) else b""
        request.headers.update(auth_headers(self.creds, raw))  # schemathesis always sends bytes or str
        return request


def _schemathesis_check(rule: Rule) -> Callable[[Any, Any, Any], bool | None]:
    """``rule`` as a schemathesis check named like it: None passed, True not applicable (schemathesis records
    no result), a violation recorded (with the case id) and raised."""

    def check(ctx: Any, response: Any, case: Any) -> bool | None:
        if rule.name not in rules_for(_api()):
            return True
        runtime = runtime_for(case)
        try:
            obs = runtime.observation(case, response)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):  # undecodable: no verdict
            return True
        if revision_difference(_api(), obs):  # the final v1 revision answers this otherwise, by decision
            return True
        outcome = rule.judge(obs)
        if outcome is None:
            return None
        if isinstance(outcome, NotApplicable):
            return True
        violation = replace(outcome, case_id=st_adapter.case_key(case))
        runtime.record(violation)
        raise ViolationError(violation)

    check.__name__ = check.__qualname__ = rule.name
    return check


#: The registered check of every domain rule, by rule name (for pytest drivers' ``checks=`` lists).
SCHEMATHESIS_CHECKS: Mapping[str, Callable[..., bool | None]] = MappingProxyType(
    {name: schemathesis.check(_schemathesis_check(rule)) for name, rule in all_rules().items()})


@functools.cache
def _api() -> str:
    """The API this run tests (``CheckSettings.api``): its rules judge (``contracts.apis``); a v1 run gets the
    v1 case mix, edge bodies and journey steps, a v2 run the v2 mix at send time (``before_call``; the v2
    contract has no links, so schemathesis' stateful phase does not run on it)."""
    return CheckSettings.from_env().api


@schemathesis.hook
def after_load_schema(ctx: Any, schema: Any) -> None:
    """One run, one runtime: built here, outside any Hypothesis test, from the run's environment."""
    attach_runtime(schema, CheckRuntime.from_env()).start_records()


schemathesis.check(oracle.matches_reference)
schemathesis.hook("after_call")(oracle.record_exchange)  # the oracle check + the journal (contracts.oracle)


@schemathesis.hook
def map_case(ctx: Any, case: Any) -> Any:
    """Edge ids and coverage edge bodies (``CaseMix.map_case``), keeping each component's mode."""
    mix = runtime_for(case).mix
    if isinstance(mix, CaseMix) and _api() != "v2":
        mix.map_case(case)
    return case


@schemathesis.hook
def before_generate_case(ctx: Any, strategy: st.SearchStrategy) -> st.SearchStrategy:
    """Fuzzing: a positive case's body is sometimes (1 in 4) replaced by a ``strategies.edges`` body.
    Stateful: a positive session case's body is often (1 in 2) replaced by a journey step, keeping a linked
    ``profileId``, so chains read like real sessions instead of random bodies a closed session rejects."""
    operation = ctx.operation
    if operation is None or _api() == "v2":
        return strategy
    is_session = operation_of_path(operation.path) == SESSION
    edges, steps = _replacement_bodies(is_session)

    def maybe_replace(case: Any) -> st.SearchStrategy:
        phase = st_adapter.phase_of(case)
        if st_adapter.is_negative_at(case, "body") or not isinstance(case.body, dict):
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


@functools.cache
def _replacement_bodies(is_session: bool) -> tuple[st.SearchStrategy[Any], st.SearchStrategy[Any]]:
    """(edge bodies, journey steps) for one operation, built once per process: the hook runs for every
    stateful step, and building these strategies (and Hypothesis' first-draw work on each new one) cost
    more than drawing from them."""
    return (edge_customer_sessions() if is_session else edge_customer_profiles()), journey_steps()


@schemathesis.hook
def before_call(ctx: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """At send time (the coverage phase sends its cases in another order than it maps them): a v2 run's
    mix (``CaseMixV2.swap_in``); a v1 run's tagged invalid body for a case negative only in the body, then
    auth with the run's credentials (overriding any generated auth header)."""
    runtime = runtime_for(case)
    if isinstance(runtime.mix, CaseMixV2):
        runtime.mix.swap_in(case)
    elif isinstance(runtime.mix, CaseMix) and _api() != "v2":
        invalid = runtime.mix.swap_in_invalid_body(case)
        if invalid is not None:
            runtime.tag(case, invalid)
    if runtime.credentials is not None and _api() != "v2":  # v2: schemathesis' own auth (harness.check)
        kwargs["auth"] = SignedAuth(runtime.credentials)


@schemathesis.hook
def filter_failure(ctx: Any, failure: Any, case: Any, response: Any) -> bool:
    """Keep every failure but a ``positive_data_acceptance`` one that ``checks.domain_refusal`` explains."""
    if st_adapter.failure_code(failure) != _POSITIVE_DATA_ACCEPTANCE or response.status_code != 400:
        return True
    if _api() == "v2":
        return not v2_domain_refusal(response.status_code, _json_or_none(response))
    obs = runtime_for(case).observation(case, response)
    return not (checks.domain_refusal(obs) or revision_difference(_api(), obs) is not None)


def _json_or_none(response: Any) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


@schemathesis.hook
def filter_case(ctx: Any, case: Any) -> bool:
    """The coverage-nesting cap (``contracts.generation.coverage_case_wanted``)."""
    return coverage_case_wanted(case)
