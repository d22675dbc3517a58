"""The contract validators the strategy tests use check ``format``: a 200 from the server validates, the
same state with one date-time in the wrong format does not (so "contract-valid" includes date-times)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import jsonschema

from talon_harness.strategies import SESSION


def test_response_validator_rejects_a_date_time_in_the_wrong_format(send, fresh, response_validators) -> None:
    response = send(SESSION, fresh("fmt"), {"cartItems": [{"name": "a", "sku": "b", "quantity": 1, "price": 2}]})
    assert response.status_code == 200, response.text
    state = response.json()
    validator = response_validators[(SESSION, 200)]
    assert list(validator.iter_errors(state)) == []
    state["session"]["created"] = state["session"]["created"].replace("T", " ").removesuffix("Z")
    assert _format_errors(validator.iter_errors(state)) == [(["session", "created"], "date-time")]


def _format_errors(errors: Iterable[jsonschema.ValidationError]) -> list[tuple[list[Any], Any]]:
    """(path, format) of every ``format`` error, through oneOf/anyOf contexts."""
    found: list[tuple[list[Any], Any]] = []
    for error in errors:
        if error.validator == "format":
            found.append((list(error.absolute_path), error.validator_value))
        found.extend(_format_errors(error.context or []))
    return found
