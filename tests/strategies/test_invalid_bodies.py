"""Every invalid body breaks exactly the rule it is tagged with: in the contract's validator and on the
reference server (the contract's 4xx, with ``source.pointer`` equal to the tag's pointer)."""

from __future__ import annotations

from collections.abc import Iterator

import hypothesis
import jsonschema
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.strategies import SearchStrategy

from talon_harness.contracts import request_schema
from talon_harness.strategies import (
    PROFILE,
    PROFILE_RULES,
    SESSION,
    SESSION_RULES,
    Invalid,
    invalid_profile_bodies,
    invalid_session_bodies,
    json_pointer,
)
from talon_harness.strategies.invalid import invalid_examples

_RAW_ONLY = {
    "malformed_json",
    "truncated_json",
    "invalid_utf8",
    "bom",
    "nan_literal",
    "number_overflow",
    "nesting_too_deep",
    "duplicate_key",
    "content_type",
    "body_size_limit",
}
ALL_CASES = [(PROFILE, rule) for rule in PROFILE_RULES] + [(SESSION, rule) for rule in SESSION_RULES]
JSON_CASES = [case for case in ALL_CASES if case[1] not in _RAW_ONLY]
JSON_CASES_BY_OPERATION = {op: [rule for o, rule in JSON_CASES if o == op] for op in (PROFILE, SESSION)}


def _strategy(operation: str, rule: str):
    factory = invalid_profile_bodies if operation == PROFILE else invalid_session_bodies
    return factory(rules=[rule])


def _case_id(case: tuple[str, str]) -> str:
    return f"{'profile' if case[0] == PROFILE else 'session'}-{case[1]}"


def _pointers(error: jsonschema.ValidationError) -> Iterator[str]:
    """Every pointer an error (and the errors under an anyOf/oneOf) names. ``required`` and
    ``additionalProperties`` report the parent object, so the missing/extra key is appended."""
    here = json_pointer(*error.absolute_path)
    if error.validator == "required":
        yield from (
            json_pointer(*error.absolute_path, key)
            for key in error.validator_value
            if key not in error.instance
        )
    elif error.validator == "additionalProperties":
        allowed = error.schema.get("properties", {})
        yield from (json_pointer(*error.absolute_path, key) for key in error.instance if key not in allowed)
    else:
        yield here
    for sub in error.context or ():
        yield from _pointers(sub)


def _is_at_or_above(ancestor: str, pointer: str) -> bool:
    return pointer == ancestor or pointer.startswith(ancestor + "/")


@pytest.mark.parametrize("case", JSON_CASES, ids=_case_id)
def test_invalid_bodies_fail_contract_at_tagged_pointer(
    case: tuple[str, str], request_validators: dict
) -> None:
    """Raw byte payloads are not JSON documents, so only object/JSON-value bodies are validated."""

    @given(_strategy(*case))
    def check(invalid: Invalid) -> None:
        assert not isinstance(invalid.body, bytes) and invalid.breaks == case[1]
        errors = list(request_validators[invalid.operation].iter_errors(invalid.body))
        assert errors, f"{invalid.breaks}: contract accepts {invalid.body!r:.300}"
        named = {p for e in errors for p in _pointers(e)}
        assert invalid.pointer in named, (invalid.breaks, invalid.pointer, sorted(named))
        tops = [json_pointer(*e.absolute_path) for e in errors]
        assert all(_is_at_or_above(top, invalid.pointer) for top in tops), (
            invalid.breaks,
            invalid.pointer,
            tops,
        )

    check()


@pytest.mark.parametrize("case", ALL_CASES, ids=_case_id)
def test_invalid_bodies_rejected_by_server_with_tagged_pointer(
    case: tuple[str, str], send, fresh, response_validators: dict
) -> None:
    @given(_strategy(*case))
    def check(invalid: Invalid) -> None:
        response = send(invalid.operation, fresh("invalid"), invalid.body, content_type=invalid.content_type)
        evidence = (
            f"{invalid.breaks} sent {invalid.body!r:.200} -> {response.status_code} {response.text[:300]}"
        )
        assert response.status_code == invalid.status, evidence
        payload = response.json()
        validator = response_validators[(invalid.operation, invalid.status)]
        assert validator.is_valid(payload), evidence
        sources = [error["source"] for error in payload["errors"]]
        if invalid.parameter is not None:
            assert {s.get("parameter") for s in sources} == {invalid.parameter}, evidence
        else:
            assert {s.get("pointer") for s in sources} == {invalid.pointer}, evidence

    check()


def _seeded_draw(strategy: SearchStrategy[Invalid], count: int, seed: int) -> list[Invalid]:
    """The first *count* examples Hypothesis generates from *strategy* under *seed* (no shrinking, no db)."""
    drawn: list[Invalid] = []

    @hypothesis.seed(seed)
    @settings(max_examples=count, database=None, phases=[Phase.generate], deadline=None,
              suppress_health_check=list(HealthCheck))
    @given(strategy)
    def collect(value: Invalid) -> None:
        drawn.append(value)

    collect()
    return drawn[:count]


def _nesting(value: object) -> int:
    """Container depth: a scalar is 0, ``[]`` and ``{}`` are 1, ``{"a": [1]}`` is 2."""
    if isinstance(value, dict):
        return 1 + max((_nesting(v) for v in value.values()), default=0)
    if isinstance(value, list):
        return 1 + max((_nesting(v) for v in value), default=0)
    return 0


@pytest.mark.parametrize("operation", [SESSION, PROFILE])
def test_invalid_examples_json_only_is_the_filtered_full_draw(operation: str, request_validators: dict) -> None:
    """The short cuts of ``invalid_examples`` (raw rules not drawn under ``json_only``; four times the
    examples drawn only when the depth filter dropped some) change no example: the pool equals what the
    filters keep of four times the examples of every rule, raw ones included. The expectation is computed
    here from the public per-rule strategies (``invalid_*_bodies(rules=[rule])``), seeded ``seed * 1000 +``
    the rule's index in ``*_RULES``, not from the module's private helpers."""
    from talon_harness.contracts.casemix import MAX_SENT_DEPTH

    rules, factory = (SESSION_RULES, invalid_session_bodies) if operation == SESSION else (
        PROFILE_RULES, invalid_profile_bodies)
    seed, per_rule = 3, 2
    per = []
    for index, rule in enumerate(rules):
        drawn = _seeded_draw(factory(rules=[rule]), 4 * per_rule, seed * 1000 + index)
        kept = [e for e in drawn if not isinstance(e.body, bytes | bytearray)
                and e.content_type == "application/json" and e.status == 400 and e.parameter is None
                and _nesting(e.body) <= MAX_SENT_DEPTH]
        assert all(e.breaks == rule for e in kept)
        if kept:
            per.append(kept[:per_rule])
    assert len(per) == len(JSON_CASES_BY_OPERATION[operation])  # every JSON rule gives an example
    expected = [p[r] for r in range(per_rule) for p in per if r < len(p)]
    pool = list(invalid_examples(operation, seed=seed, json_only=True, max_depth=MAX_SENT_DEPTH))
    if operation == SESSION:  # one {member: wrong type} body per top-level member, after the first round
        members = list(request_schema(SESSION)["components"]["schemas"]["NewCustomerSession"]["properties"])
        inserted = pool[len(per):len(per) + len(members)]
        del pool[len(per):len(per) + len(members)]
        assert [list(e.body) for e in inserted] == [[m] for m in members]
        for example in inserted:
            assert (example.breaks, example.pointer, example.status) == ("invalid_type", "/" + next(iter(example.body)), 400)
            assert not request_validators[SESSION].is_valid(example.body), example.body
    assert pool == expected
