"""Fixtures for the strategy tests: the settings profile, one real refserver over loopback, validators."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import jsonschema
import pytest

from talon_harness.contracts import request_schema, response_schema
from talon_harness.refserver import ServerProcess
from talon_harness.strategies import PROFILE, SESSION, Credentials, PreparedPut, build_put
from talon_harness.strategies.settings import load_profile

load_profile()

API_KEY = "strategies-test-key"
HMAC_KEY = "0123456789abcdef"
#: The server accepts either scheme; tests rotate through them so every request path is exercised.
CREDENTIALS = (
    Credentials(api_key=API_KEY),
    Credentials(hmac_application_id=1, hmac_key=HMAC_KEY),
    Credentials(api_key=API_KEY, hmac_application_id=1, hmac_key=HMAC_KEY),
)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    db = tmp_path_factory.mktemp("strategies-refserver") / "refserver.db"
    with ServerProcess(db=db, api_key=API_KEY, hmac_key=HMAC_KEY, quiet=True) as proc:
        yield proc


@pytest.fixture(scope="session")
def client(server: ServerProcess) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.base_url, timeout=30) as http:
        yield http


@pytest.fixture(scope="session")
def fresh() -> Callable[[str], str]:
    """``fresh(id)``: *id* made unique for this test run (a counter prefix), still within 1000 chars."""
    counter = itertools.count()
    return lambda entity_id: f"t{next(counter)}~{entity_id}"[:1000]


@pytest.fixture(scope="session")
def send(client: httpx.Client) -> Callable[..., httpx.Response]:
    """``send(operation, id, body, creds_index=0, content_type=...)`` through the one request builder."""
    rotation = itertools.cycle(CREDENTIALS)

    def _send(operation: str, entity_id: str, body: object, **kwargs: Any) -> httpx.Response:
        put: PreparedPut = build_put(operation, entity_id, body, creds=next(rotation), **kwargs)
        return client.put(put.path, headers=put.headers, content=put.body)

    return _send


#: Checks ``format`` (date-time through rfc3339-validator, in the test extra); without it a wrong
#: date-time would validate. ``test_format_checker_rejects_a_wrong_date_time`` keeps it honest.
FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def contract_validator(schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    """A Draft 2020-12 validator for *schema* that also checks ``format`` (date-time etc.)."""
    return jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


@pytest.fixture(scope="session")
def request_validators() -> dict[str, jsonschema.protocols.Validator]:
    return {op: contract_validator(request_schema(op)) for op in (PROFILE, SESSION)}


@pytest.fixture(scope="session")
def response_validators() -> dict[tuple[str, int], jsonschema.protocols.Validator]:
    """Validators for the contract's documented responses: 200 and every 4xx the contract lists (a status
    the contract does not document raises KeyError here, loudly)."""
    return {
        (op, status): contract_validator(response_schema(op, status))
        for op in (PROFILE, SESSION)
        for status in (200, 400, 401, 413, 415)
    }
