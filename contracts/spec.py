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

from talon_harness.strategies.wire import API_NAMES, DEFAULT_API, OPERATIONS, api_operations

__all__ = [
    "API_NAMES",
    "CONTRACT_FILE",
    "CONTRACT_FILES",
    "DEFAULT_API",
    "OPERATIONS",
    "api_operations",
    "load_contract",
    "operation",
    "query_parameters",
    "request_schema",
    "response_schema",
    "server_revision",
]

CONTRACT_FILE: Path = Path(str(resources.files("talon_harness.contracts") / "integration-v1.yaml"))
#: The contract of each API; the functions below without an ``api`` argument use "v1".
CONTRACT_FILES: dict[str, Path] = {"v1": CONTRACT_FILE, "v1-2021": CONTRACT_FILE.with_name("integration-v1-2021.yaml"),
                                   "v2": CONTRACT_FILE.with_name("integration-v2.yaml")}
_DIALECT = "https://json-schema.org/draft/2020-12/schema"


@functools.cache
def _contract(api: str = DEFAULT_API) -> dict[str, Any]:
    with CONTRACT_FILES[api].open(encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def load_contract(api: str = DEFAULT_API) -> dict[str, Any]:
    """Return a fresh deep copy of ``api``'s OpenAPI document (callers may mutate it); KeyError if unknown."""
    return copy.deepcopy(_contract(api))


def operation(operation_id: str, api: str = DEFAULT_API) -> tuple[str, str, dict[str, Any]]:
    """Return ``(method, path template, operation object)`` for an operationId of ``api``; KeyError if unknown."""
    for path, item in _contract(api)["paths"].items():
        for method, op in item.items():
            if isinstance(op, dict) and op.get("operationId") == operation_id:
                return method.upper(), path, op
    raise KeyError(f"no operation {operation_id!r} in {CONTRACT_FILES[api].name}; known: {api_operations(api)}")


def _standalone(ref: str, api: str) -> dict[str, Any]:
    return {"$schema": _DIALECT, "components": _contract(api)["components"], "$ref": ref}


def _resolve(obj: dict[str, Any], api: str) -> dict[str, Any]:
    while "$ref" in obj:
        *_, kind, name = obj["$ref"].split("/")
        obj = _contract(api)["components"][kind][name]
    return obj


def request_schema(operation_id: str, api: str = DEFAULT_API) -> dict[str, Any]:
    """The JSON Schema of an operation's ``application/json`` request body."""
    _, _, op = operation(operation_id, api)
    media = op["requestBody"]["content"]["application/json"]
    return _standalone(media["schema"]["$ref"], api)


def response_schema(operation_id: str, status: int | str = 200, api: str = DEFAULT_API) -> dict[str, Any]:
    """The JSON Schema of an operation's ``application/json`` response for ``status``."""
    _, _, op = operation(operation_id, api)
    response = _resolve(op["responses"][str(status)], api)
    return _standalone(response["content"]["application/json"]["schema"]["$ref"], api)


def server_revision(api: str) -> str:
    """The v1 revision a reference server started for testing ``api`` speaks: ``api`` itself for a v1
    revision; for "v2" the final one (the server answers v2 on every revision, D16/D20). KeyError if unknown."""
    if api not in API_NAMES:
        raise KeyError(f"unknown API {api!r}; known: {', '.join(API_NAMES)}")
    return "v1-2021" if api == "v2" else api


@functools.cache
def query_parameters(api: str = "v1") -> frozenset[str]:
    """Names of the query parameters the operations of ``api`` declare (``dry`` on "v1-2021", none on "v1",
    ``dry``, ``now`` and ``runRuleEngine`` on "v2"); KeyError for an unknown API."""
    document = _contract(api)
    names = set()
    for item in document["paths"].values():
        for op in item.values():
            for parameter in op.get("parameters", []) if isinstance(op, dict) else []:
                while "$ref" in parameter:
                    parameter = document["components"]["parameters"][parameter["$ref"].rsplit("/", 1)[1]]
                if parameter["in"] == "query":
                    names.add(parameter["name"])
    return frozenset(names)
