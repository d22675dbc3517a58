"""The contract document and standalone JSON Schemas cut from it.

Every schema returned here is a self-contained JSON Schema (draft 2020-12) whose ``$ref``\\ s resolve
inside it: the contract's ``components`` travel with it, so ``jsonschema`` and ``jsonschema_rs`` validate
against exactly what the YAML says. Nothing here copies a schema into Python code.
"""

from __future__ import annotations

import copy
import functools
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from talon_harness.strategies.wire import OPERATIONS

__all__ = [
    "CONTRACT_FILE",
    "CONTRACT_FILES",
    "OPERATIONS",
    "load_contract",
    "operation",
    "query_parameters",
    "request_schema",
    "response_schema",
]

CONTRACT_FILE: Path = Path(str(resources.files("talon_harness.contracts") / "integration-v1.yaml"))
#: The contract of each v1 revision the reference server speaks (D16); the functions above it use "v1".
CONTRACT_FILES: dict[str, Path] = {"v1": CONTRACT_FILE, "v1-2021": CONTRACT_FILE.with_name("integration-v1-2021.yaml")}
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@functools.cache
def _contract() -> dict[str, Any]:
    with CONTRACT_FILE.open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_contract() -> dict[str, Any]:
    """Return a fresh deep copy of the OpenAPI document (callers may mutate it)."""
    return copy.deepcopy(_contract())


def operation(operation_id: str) -> tuple[str, str, dict[str, Any]]:
    """Return ``(method, path template, operation object)`` for an operationId; KeyError if unknown."""
    for path, item in _contract()["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return method.upper(), path, op
    raise KeyError(f"no operation {operation_id!r} in {CONTRACT_FILE.name}; known: {OPERATIONS}")


def _standalone(ref: str) -> dict[str, Any]:
    return {"$schema": _DIALECT, "components": _contract()["components"], "$ref": ref}


def _resolve(obj: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in obj:
        *_, kind, name = obj["$ref"].split("/")
        obj = _contract()["components"][kind][name]
    return obj


def request_schema(operation_id: str) -> dict[str, Any]:
    """The JSON Schema of an operation's ``application/json`` request body."""
    _, _, op = operation(operation_id)
    media = op["requestBody"]["content"]["application/json"]
    return _standalone(media["schema"]["$ref"])


def response_schema(operation_id: str, status: int | str = 200) -> dict[str, Any]:
    """The JSON Schema of an operation's ``application/json`` response for ``status``."""
    _, _, op = operation(operation_id)
    response = _resolve(op["responses"][str(status)])
    return _standalone(response["content"]["application/json"]["schema"]["$ref"])


@functools.cache
def query_parameters(api: str = "v1") -> frozenset[str]:
    """Names of the query parameters the operations of revision ``api`` declare (``dry`` on "v1-2021",
    none on "v1"); KeyError for an unknown revision."""
    with CONTRACT_FILES[api].open(encoding="utf-8") as fh:
        document = yaml.safe_load(fh)
    names = set()
    for item in document["paths"].values():
        for op in item.values():
            for parameter in op.get("parameters", []) if isinstance(op, dict) else []:
                while "$ref" in parameter:
                    parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
                if parameter["in"] == "query":
                    names.add(parameter["name"])
    return frozenset(names)
