"""The hot-path shortcuts give exactly what the checked paths give.

`validation._session_ok` / the profile fast path may only say "valid" where the full validators find no
problem; `body.parse_body`'s orjson path may only accept what the checked json parser accepts, with the
same value (types included: 1.0 stays a float, big integers stay integers)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from talon_harness.refserver import validation
from talon_harness.refserver.body import parse_body, parse_checked
from talon_harness.refserver.errors import MalformedBody
from talon_harness.strategies import (
    edge_customer_profiles,
    edge_customer_sessions,
    invalid_profile_bodies,
    invalid_session_bodies,
    new_customer_profiles,
    new_customer_sessions,
)

_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))


def _full_session_errors(body: Any) -> list[Any]:
    errors: list[Any] = []
    if not isinstance(body, dict):
        return ["not an object"]
    for key, value in body.items():
        check = validation._SESSION_MEMBERS.get(key)
        if check is None:
            errors.append(key)
        elif value is not None:
            check(value, "/" + key, errors)
    return errors


def _typed(value: Any) -> Any:
    """The value with every scalar tagged by its type, so 1 and 1.0 (and True) compare different."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_typed(v) for v in value]
    return (type(value).__name__, value)


def _objects(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return strategy.map(lambda b: b.body if hasattr(b, "body") else b).filter(
        lambda b: not isinstance(b, bytes)
    )


@_SETTINGS
@given(_objects(st.one_of(new_customer_sessions(), edge_customer_sessions(), invalid_session_bodies())))
def test_session_fast_path_agrees_with_full_validator(body: Any) -> None:
    assert validation._session_ok(body) == (not _full_session_errors(body))


@_SETTINGS
@given(_objects(st.one_of(new_customer_profiles(), edge_customer_profiles(), invalid_profile_bodies())))
def test_profile_fast_path_accepts_only_valid_bodies(body: Any) -> None:
    fast = validation.validate_profile(body)
    errors: list[Any] = []
    if not isinstance(body, dict):
        errors.append("not an object")
    elif body.get("attributes") is not None:
        validation.attributes_check(body["attributes"], "/attributes", errors)
    assert (fast == []) == (errors == [])


def _checked_parse(raw: bytes) -> Any:
    """What the checked path gives (no orjson): the reference for the fast path."""
    try:
        return ("ok", _typed(parse_checked(raw)))
    except MalformedBody as error:
        return ("error", error.body())


def _bodies() -> st.SearchStrategy[bytes]:
    objects = _objects(st.one_of(new_customer_sessions(), edge_customer_sessions(), invalid_session_bodies()))
    raw = (
        st.one_of(
            new_customer_sessions(),
            edge_customer_sessions(),
            invalid_session_bodies(),
            invalid_profile_bodies(),
        )
        .map(lambda b: getattr(b, "body", b))
        .filter(lambda b: isinstance(b, bytes))
    )
    compact = objects.map(lambda b: json.dumps(b, separators=(",", ":"), ensure_ascii=False).encode())
    spaced = objects.map(lambda b: json.dumps(b).encode())
    numbers = st.sampled_from(
        [
            b'{"total":1e400}',
            b'{"total":123456789012345678901234567890}',
            b'{"total":-0}',
            b'{"total":1E2}',
            b'{"total":1.0}',
            b'{"a":1,"a":2}',
            b'{"a":NaN}',
            b'"\\ud800"',
        ]
    )
    return st.one_of(compact, spaced, raw, numbers)


@_SETTINGS
@given(_bodies())
def test_orjson_fast_path_parses_like_the_checked_parser(raw: bytes) -> None:
    try:
        fast: Any = ("ok", _typed(parse_body(raw)))
    except MalformedBody as error:
        fast = ("error", error.body())
    assert fast == _checked_parse(raw)
