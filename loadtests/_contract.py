"""Response-schema validation for sampled load-test responses (jsonschema_rs, compiled once per process and API).

The contract YAML of the API under test is read as *data* through
``importlib.resources.files("talon_harness.contracts")``; no contracts code is imported. v1 revisions: 2xx
bodies must match ``IntegrationState``, 4xx bodies ``ErrorResponse``. v2: a session's 2xx body must match
``IntegrationStateV2``, a profile's ``CustomerProfileIntegrationResponseV2``; 4xx bodies ``ErrorResponse``
(a profile's ``ErrorResponseWithStatus``), as integration-v2.yaml declares them.
"""

from __future__ import annotations

import functools
import importlib.resources
from dataclasses import dataclass
from typing import Any

import jsonschema_rs
import yaml

__all__ = ["CONTRACT_RESOURCE", "CONTRACT_RESOURCES", "ResponseValidator"]

CONTRACT_RESOURCE = "integration-v1.yaml"
#: The contract file of each API (``contracts.spec.CONTRACT_FILES``' names, read here as data).
CONTRACT_RESOURCES: dict[str, str] = {"v1": CONTRACT_RESOURCE, "v1-2021": "integration-v1-2021.yaml",
                                      "v2": "integration-v2.yaml"}
_PROFILE_V2 = "updateCustomerProfileV2"  # strategies.wire.PROFILE_V2


def _validator(components: dict[str, Any], name: str) -> jsonschema_rs.Draft202012Validator:
    if name not in components.get("schemas", {}):
        raise LookupError(f"contract has no components.schemas.{name}")
    return jsonschema_rs.Draft202012Validator(
        {"$ref": f"#/components/schemas/{name}", "components": components}
    )


@dataclass(frozen=True)
class ResponseValidator:
    """Validators for the success body (the session's; ``profile_state``: a v2 profile's when it differs)
    and the error body."""

    state: jsonschema_rs.Draft202012Validator
    error: jsonschema_rs.Draft202012Validator
    profile_state: jsonschema_rs.Draft202012Validator | None = None
    profile_error: jsonschema_rs.Draft202012Validator | None = None
    state_name: str = "IntegrationState"

    @staticmethod
    @functools.cache
    def shared(api: str = "v1") -> ResponseValidator:
        """The process-wide instance for ``api``, built from the packaged contract on first use."""
        text = (importlib.resources.files("talon_harness.contracts") / CONTRACT_RESOURCES[api]).read_text(
            encoding="utf-8"
        )
        components = yaml.safe_load(text)["components"]
        if api == "v2":
            return ResponseValidator(
                _validator(components, "IntegrationStateV2"), _validator(components, "ErrorResponse"),
                _validator(components, "CustomerProfileIntegrationResponseV2"),
                _validator(components, "ErrorResponseWithStatus"), "IntegrationStateV2",
            )
        return ResponseValidator(
            _validator(components, "IntegrationState"), _validator(components, "ErrorResponse")
        )

    def problem(self, status: int, body: Any, operation: str | None = None) -> str | None:
        """None when ``body`` fits the schema for ``status`` (and ``operation``), else the first violation
        with its location."""
        if not 200 <= status < 300 and operation == _PROFILE_V2 and self.profile_error is not None:
            validator, schema = self.profile_error, "ErrorResponseWithStatus"
        elif not 200 <= status < 300:
            validator, schema = self.error, "ErrorResponse"
        elif operation == _PROFILE_V2 and self.profile_state is not None:
            validator, schema = self.profile_state, "CustomerProfileIntegrationResponseV2"
        else:
            validator, schema = self.state, self.state_name
        for err in validator.iter_errors(body):
            where = "/" + "/".join(str(p) for p in err.instance_path)
            return f"{schema} at {where}: {err.message}"
        return None
