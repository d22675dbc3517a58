"""The Talon.One Integration API v1 contract (OpenAPI 3.1) and the domain checks that go with it."""

from __future__ import annotations

from talon_harness.contracts.spec import (
    CONTRACT_FILE,
    OPERATIONS,
    load_contract,
    operation,
    request_schema,
    response_schema,
)

__all__ = ["CONTRACT_FILE", "OPERATIONS", "load_contract", "operation", "request_schema", "response_schema"]
