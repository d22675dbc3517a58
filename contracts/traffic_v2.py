"""Judging observed v2 traffic: each v2 exchange that passes ``proxy --api v2``, against integration-v2.yaml
and the v2 domain rules, as :class:`contracts.traffic.TrafficJudge` judges v1 exchanges.

:class:`V2TrafficJudge` turns one exchange into :class:`~contracts.traffic.Violation`\\ s, each blamed on one side:

- ``client``: ``method_not_allowed`` (only PUT, D24/D1: 405), ``path_id`` (D20/D12), ``body_size`` (D33/D13),
  ``content_type`` (D24/D15), ``request_json`` (not UTF-8 JSON, a repeated member name, NaN), and
  ``request_schema``: the body against the operation's request schema of integration-v2.yaml;
- ``server``: ``server_error`` (5xx), ``response_json``, ``response_schema_conformance`` (a documented status
  whose body does not fit its schema), ``invalid_request_accepted`` (a 2xx for a request the client side
  refused), and every v2 rule (``contracts.v2_witness.V2_RULES``) that needs nothing but the exchange
  (:data:`V2_TRAFFIC_CHECKS`), judged with the proxy run's own v2 model (``Model.extras``, see
  ``contracts.domain.v2_model``): it learns the sessions from answers that carry ``customerSession``.

Exchanges that overlapped another one are judged with the model's order-dependent knowledge off
(``strict_order`` False); one that overlapped an exchange for the same path is not judged by the rules and
its session is forgotten (the order the server applied them in is unknown). Requests outside the two v2
operations are passed over (``judge`` returns None).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema_rs

from talon_harness.contracts.domain.v2_model import V2Model
from talon_harness.contracts.model import Exchange, Model
from talon_harness.contracts.spec import operation, request_schema, response_schema
from talon_harness.contracts.traffic import Violation, client_framing, json_media
from talon_harness.contracts.v2_witness import V2_RULES
from talon_harness.contracts.violation import Violation as RuleViolation
from talon_harness.strategies.wire import V2_PATH_PREFIXES, operation_of_path

__all__ = ["V2_CLIENT_RULES", "V2_SERVER_RULES", "V2_TRAFFIC_CHECKS", "V2TrafficJudge"]

#: The v2 rules judged from observed traffic (``Rule.needs`` empty).
V2_TRAFFIC_CHECKS: tuple[str, ...] = tuple(name for name, rule in V2_RULES.items() if not rule.needs)
V2_CLIENT_RULES: tuple[str, ...] = ("method_not_allowed", "path_id", "content_type", "request_json", "body_size",
                                    "request_schema")
V2_SERVER_RULES: tuple[str, ...] = ("server_error", "response_json", "response_schema_conformance",
                                    "invalid_request_accepted", *V2_TRAFFIC_CHECKS)
#: The decisions v2's client framing rules cite (D24/D1: 405, D20/D12: path ids, D33: 1 MiB, D24/D15: 415).
_CITES: Mapping[str, str] = {"method": "D24/D1", "path": "D20/D12", "size": "D33", "type": "D24/D15"}


@functools.cache
def _request_validator(op: str) -> Any:
    return jsonschema_rs.validator_for(request_schema(op, "v2"))


@functools.cache
def _response_validator(op: str, status: int) -> tuple[str, Any] | None:
    """(schema name, validator) of ``op``'s documented ``status`` answer; None when it is not documented."""
    if str(status) not in operation(op, "v2")[2]["responses"]:
        return None
    schema = response_schema(op, status, "v2")
    return schema["$ref"].rpartition("/")[2], jsonschema_rs.validator_for(schema)


def _path_id(op: str, path: str) -> str | None:
    """The decoded path id after ``op``'s prefix (None: an extra segment or not UTF-8)."""
    raw = path[path.find(V2_PATH_PREFIXES[op]) + len(V2_PATH_PREFIXES[op]):]
    if "/" in raw:
        return None
    try:
        return unquote(raw, errors="strict")
    except UnicodeDecodeError:
        return None


class V2TrafficJudge:
    """Judges v2 exchanges in the order they complete, with one v2 model per judge (one proxy run).
    ``fresh`` and ``max_entities`` are ``TrafficJudge``'s (the v1 model, whose ``extras`` hold the v2 model);
    the v2 model bounds its own memory (``contracts.domain.v2_model``)."""

    def __init__(self, *, fresh: bool = False, max_entities: int | None = None) -> None:
        self.model = Model(fresh=fresh, max_entities=max_entities)  # its ``extras`` hold the v2 model

    def judge(self, method: str, path: str, headers: Mapping[str, str], body: bytes, status: int,
              response_headers: Mapping[str, str], response_body: bytes, *,
              overlapped: bool = False, contended: bool = False) -> list[Violation] | None:
        """Violations of one exchange (``path``: raw path and query as sent); None when it is not one of the
        two v2 operations. Same arguments as ``TrafficJudge.judge``."""
        op = operation_of_path(urlsplit(path).path, api="v2")
        if op is None:
            return None
        try:
            parsed = json.loads(response_body) if response_body.strip() else None
        except (ValueError, RecursionError):
            parsed = None
        exchange = Exchange.of(method, "http://upstream" + path, body, dict(headers), status, parsed)
        obs = self.model.observe(exchange)
        if overlapped:
            obs = replace(obs, strict_order=False)
        found: list[Violation] = []

        def add(side: str, rule: str, message: str) -> None:
            found.append(Violation(side, rule, message, exchange.method, path, status))

        refused = self._client(op, exchange, add)
        if status >= 500:
            add("server", "server_error", f"{status} from the upstream (a correct server never answers 5xx)")
            return found
        if exchange.method != "PUT":
            return found
        content_type = {k.lower(): v for k, v in response_headers.items()}.get("content-type", "")
        if not json_media(content_type) or parsed is None:
            add("server", "response_json", f"the response is not JSON (Content-Type {content_type or 'missing'!r}, "
                f"{len(response_body)} bytes)")
            return found
        documented = _response_validator(op, status)
        if documented is not None:
            for error in documented[1].iter_errors(parsed):
                where = "/" + "/".join(str(p) for p in error.instance_path)
                add("server", "response_schema_conformance", f"{documented[0]} at {where}: {error.message}")
                break
        if refused and exchange.accepted:
            add("server", "invalid_request_accepted", f"{status} for a request the contract rejects")
            self._forget(op, path)  # what it wrote is unknown
        elif contended:
            self._forget(op, path)
        elif not refused:
            for name in V2_TRAFFIC_CHECKS:
                violation = V2_RULES[name].judge(obs)
                if isinstance(violation, RuleViolation):
                    add("server", name, f"{violation.summary}; expected {violation.expected}; received "
                        f"{violation.received}")
        return found

    def _client(self, op: str, x: Exchange, add: Callable[[str, str, str], None]) -> bool:
        """Client-side rules; True when the contract requires the server to refuse the request."""
        return client_framing(x, _path_id(op, urlsplit(x.url).path), _request_validator(op), add, _CITES)

    def _forget(self, op: str, path: str) -> None:
        """Make the session of a contended exchange unknown to the v2 model (its stored state is unknown)."""
        model = self.model.extras.setdefault("v2", V2Model())
        entity_id = _path_id(op, urlsplit(path).path)
        with model.lock:
            model.sessions.pop(("http://upstream", entity_id or ""), None)
