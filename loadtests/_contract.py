"""Response-schema validation for sampled load-test responses (jsonschema_rs, compiled once per process).

The contract YAML is read as *data* through ``importlib.resources.files("talon_harness.contracts")``; no contracts
code is imported. 2xx bodies must match ``IntegrationState``, 4xx bodies ``ErrorResponse``.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import yaml

__all__ = ["CONTRACT_RESOURCE", "ResponseValidator"]

CONTRACT_RESOURCE = "integration-v1.yaml"


def _validator(components: dict[str, Any], name: str) -> jsonschema_rs.Draft202012Validator:
    if name not in components.get("schemas", {}):
        raise LookupError(f"contract has no components.schemas.{name}")
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": components}
    )


@dataclass(frozen=True)
class ResponseValidator:
    """Validators for the success and the error body."""

    state: jsonschema_rs.Draft202012Validator
    error: jsonschema_rs.Draft202012Validator

    @staticmethod
    @functools.cache
    def shared() -> ResponseValidator:
        """The process-wide instance, built from the packaged contract on first use."""
        text = (importlib.resources.files("talon_harness.contracts") / CONTRACT_RESOURCE).read_text(
            encoding="utf-8"
        )
        components = yaml.safe_load(text)["components"]
        return ResponseValidator(
            _validator(components, "IntegrationState"), _validator(components, "ErrorResponse")
        )

    def problem(self, status: int, body: Any) -> str | None:
        """None when ``body`` fits the schema for ``status``, else the first violation with its location."""
        validator = self.state if 200 <= status < 300 else self.error
        for err in validator.iter_errors(body):
            where = "/" + "/".join(str(p) for p in err.instance_path)
            schema = "IntegrationState" if validator is self.state else "ErrorResponse"
            return f"{schema} at {where}: {err.message}"
        return None
