"""Every invalid body breaks exactly the rule it is tagged with: in the contract's validator and on the
reference server (the contract's 4xx, with ``source.pointer`` equal to the tag's pointer)."""

from __future__ import annotations

from collections.abc import Iterator

import jsonschema
import pytest
from hypothesis import given

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


@pytest.mark.parametrize("operation", [SESSION, PROFILE])
def test_invalid_examples_json_only_is_the_filtered_full_draw(operation: str) -> None:
    """The short cuts of ``invalid_examples`` (raw rules not drawn under ``json_only``; four times the
    examples drawn only when the depth filter dropped some) change no example: the pool equals what the
    filters keep of four times the examples of every rule, raw ones included."""
    from talon_harness.contracts.casemix import MAX_SENT_DEPTH
    from talon_harness.strategies import invalid

    rules = invalid._session_rules() if operation == SESSION else invalid._profile_rules()
    seed, per_rule = 3, 2
    per = []
    for index, strategy in enumerate(rules.values()):
        drawn = invalid._draw_examples(strategy, 4 * per_rule, seed * 1000 + index)
        kept = [e for e in drawn if not isinstance(e.body, bytes) and e.content_type == "application/json"
                and e.status == 400 and e.parameter is None and invalid._depth(e.body) <= MAX_SENT_DEPTH]
        if kept[:per_rule]:
            per.append(kept[:per_rule])
    expected = [p[r] for r in range(per_rule) for p in per if r < len(p)]
    if operation == SESSION:
        expected[len(per):len(per)] = invalid._top_level_wrong_types(seed)
    assert invalid.invalid_examples(operation, seed=seed, json_only=True, max_depth=MAX_SENT_DEPTH) == tuple(expected)
