"""``contracts._schemathesis`` against the installed schemathesis: fails loudly (naming the internal) when a
release moves what the hooks and checks rely on."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import schemathesis
from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode

from talon_harness.contracts import _schemathesis as adapter
from talon_harness.contracts.generation import coverage_case_wanted
from talon_harness.contracts.model import Model
from talon_harness.contracts.runtime import CheckRuntime, attach_runtime, runtime_for
from talon_harness.contracts.spec import CONTRACT_FILE
from talon_harness.strategies.wire import PATH_PREFIXES, SESSION

_LOCATIONS = ("path", "query", "header", "cookie", "body")


def _session_operation() -> tuple[Any, Any]:
    schema = schemathesis.openapi.from_path(CONTRACT_FILE)
    return schema, schema[PATH_PREFIXES[SESSION] + "{customerSessionId}"]["PUT"]


def _first(strategy: st.SearchStrategy[Any], condition: Callable[[Any], bool]) -> Any:
    """The first generated case meeting ``condition`` (NoSuchExample, loudly, if none of 20 does)."""
    return find(strategy, condition, settings=settings(max_examples=20, database=None, phases=[Phase.generate],
                                                      suppress_health_check=list(HealthCheck)))


def test_generated_cases_expose_what_the_adapter_reads() -> None:
    _, operation = _session_operation()
    positive = _first(operation.as_strategy(generation_mode=GenerationMode.POSITIVE), lambda case: True)
    negative = _first(operation.as_strategy(generation_mode=GenerationMode.NEGATIVE),
                      lambda case: any(adapter.is_negative_at(case, where) for where in _LOCATIONS))
    adapter.assert_supported(positive)
    adapter.assert_supported(negative)
    assert adapter.phase_of(positive) == adapter.phase_of(negative) == "fuzzing"
    assert [adapter.is_negative_at(positive, where) for where in _LOCATIONS] == [False] * 5
    assert adapter.coverage_description(positive) == "" and coverage_case_wanted(positive)
    assert adapter.case_key(positive) != adapter.case_key(negative)


def test_hand_built_cases_have_no_phase_and_are_never_negative() -> None:
    _, operation = _session_operation()
    case = operation.Case(path_parameters={"customerSessionId": "s1"}, body={}, media_type="application/json")
    assert adapter.phase_of(case) == ""
    assert not any(adapter.is_negative_at(case, where) for where in _LOCATIONS)


def test_the_runtime_rides_on_the_schema_of_each_run() -> None:
    schema, operation = _session_operation()
    other_schema, other_operation = _session_operation()
    runtime = attach_runtime(schema, CheckRuntime(Model(fresh=True)))
    vars(other_schema).pop(adapter.RUN_ATTRIBUTE, None)  # as if loaded before the hooks were registered
    case = operation.Case(path_parameters={"customerSessionId": "s1"}, body={})
    other = other_operation.Case(path_parameters={"customerSessionId": "s1"}, body={})
    assert runtime_for(case) is runtime
    assert runtime_for(other) is not runtime and runtime_for(other) is runtime_for(other)
    assert runtime_for(other).mix is None  # such a run sends its cases as generated


def test_failure_code_of_positive_data_acceptance() -> None:
    from schemathesis.openapi.checks import RejectedPositiveData

    assert adapter.failure_code(RejectedPositiveData) == "ST202"
    assert adapter.failure_code(object()) == ""
