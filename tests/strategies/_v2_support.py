"""Helpers for the v2 strategy tests: the v2 contract's request/response schemas (with a format checker) and
the reference server's ASGI app in-process, driven through the one request builder (``wire.build_put``)."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import yaml

from talon_harness.refserver import ServerConfig, Store, create_app
from talon_harness.strategies import PROFILE_V2, SESSION_V2, Credentials, build_put

CONTRACT_V2 = Path(__file__).resolve().parents[2] / "contracts" / "integration-v2.yaml"
API_KEY = "v2-strategies-key"
CREDS = Credentials(api_key=API_KEY)
FORMAT_CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


@functools.cache
def _contract() -> dict[str, Any]:
    with CONTRACT_V2.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _operation(operation_id: str) -> dict[str, Any]:
    for item in _contract()["paths"].values():
        for op in item.values():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return op
    raise KeyError(operation_id)


def _validator(ref: str) -> jsonschema.protocols.Validator:
    schema = {"$schema": "https://json-schema.org/draft/2020-12/schema", "components": _contract()["components"],
              "$ref": ref}
    return jsonschema.Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


@functools.cache
def request_validator(operation_id: str) -> jsonschema.protocols.Validator:
    """integration-v2.yaml's request body schema of *operation_id*."""
    return _validator(_operation(operation_id)["requestBody"]["content"]["application/json"]["schema"]["$ref"])


@functools.cache
def response_validator(operation_id: str, status: int) -> jsonschema.protocols.Validator:
    """integration-v2.yaml's response schema of *operation_id* for *status* (KeyError if undocumented)."""
    response = _operation(operation_id)["responses"][str(status)]
    return _validator(response["content"]["application/json"]["schema"]["$ref"])


class V2App:
    """The reference server's ASGI app on its own SQLite file, answering on one event loop."""

    def __init__(self, db: Path, config: ServerConfig | None = None) -> None:
        self.store = Store(db)
        self.app = create_app(self.store, config or ServerConfig(api_key=API_KEY))
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="http://refserver")

    def send(self, operation: str, entity_id: str, body: Any, query: Mapping[str, Any] | None = None,
             creds: Credentials | None = CREDS, content_type: str | None = "application/json") -> httpx.Response:
        """PUT *body* to *operation*/*entity_id* with *query*, built by ``wire.build_put``."""
        put = build_put(operation, entity_id, body, creds=creds, query=query, content_type=content_type)
        return self.loop.run_until_complete(self.client.put(put.path, headers=put.headers, content=put.body))

    def read_session(self, session_id: str) -> dict[str, Any]:
        """The stored session, read with a dry no-op (D23/D28: answers as a write would, stores nothing)."""
        response = self.send(SESSION_V2, session_id, {"customerSession": {}, "responseContent": ["customerSession"]},
                             {"dry": True})
        assert response.status_code == 200, response.text
        return response.json()["customerSession"]

    def read_profile(self, profile_id: str) -> dict[str, Any]:
        """The stored profile, read with a dry rule-engine call (D28, D30)."""
        response = self.send(PROFILE_V2, profile_id, {"responseContent": ["customerProfile"]},
                             {"runRuleEngine": True, "dry": True})
        assert response.status_code == 200, response.text
        return response.json()["customerProfile"]

    def close(self) -> None:
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()
        self.store.close()
