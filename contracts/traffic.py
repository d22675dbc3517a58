"""Judging observed traffic: each exchange that passes a proxy, against the contract and the domain rules.

A :class:`TrafficJudge` owns a :class:`~contracts.model.Model` learnt from the traffic itself and turns
one exchange (request as the client sent it, response as the upstream answered) into
:class:`Violation`\\ s, each blamed on one side:

- ``client``: the request breaks the contract: ``method_not_allowed`` (only PUT exists on the two paths),
  ``path_id`` (D12), ``content_type`` (D15), ``request_json`` (not JSON, duplicate keys, NaN),
  ``body_size`` (D13), ``request_schema`` (types, unknown session keys, enums), ``illegal_transition``
  (D5, as far as the model knows the stored session: e.g. ``"state": "open"`` sent to a closed session);
- ``server``: the response breaks it: ``server_error`` (5xx), ``response_json``, ``response_schema``,
  ``invalid_request_accepted`` (a 2xx for a request the contract rejects), and every rule of
  :mod:`contracts.domain` that can be judged from traffic alone (:data:`TRAFFIC_CHECKS`: the rules that need
  nothing, i.e. neither a read-back request of their own nor a generator's tag).

Exchanges that overlapped another one in time are judged without order-dependent predictions (the
model's ``strict_order`` off for that observation), as ``check`` does with several workers; exchanges that
overlapped one for the same path skip the rules that need the stored state (the server's order is unknown).
Requests outside the two operations are passed over (``judge`` returns None).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

import jsonschema_rs

from talon_harness.contracts import rules
from talon_harness.contracts.domain import RULES, judge
from talon_harness.contracts.model import Exchange, Model, Observation, valid_id
from talon_harness.contracts.spec import operation, request_schema, response_schema

__all__ = ["CLIENT_RULES", "SERVER_RULES", "TRAFFIC_CHECKS", "V1_CITES", "TrafficJudge", "Violation", "client_framing",
           "json_media"]

#: Domain rules judged from observed traffic (``Rule.needs`` empty: a proxy sends no read-back and has no tag).
TRAFFIC_CHECKS: tuple[str, ...] = tuple(name for name, rule in RULES.items() if not rule.needs)
CLIENT_RULES: tuple[str, ...] = ("method_not_allowed", "path_id", "content_type", "request_json", "body_size",
                                 "request_schema", "illegal_transition")
SERVER_RULES: tuple[str, ...] = ("server_error", "response_json", "response_schema", "invalid_request_accepted",
                                 *TRAFFIC_CHECKS)
_MAX_BODY = 1 << 20  # D13: 1 MiB
_SCHEMA_ERRORS_SHOWN = 3


@dataclass(frozen=True)
class Violation:
    """One broken rule in one exchange, blamed on ``side`` ("client" or "server")."""

    side: str
    rule: str
    message: str
    method: str
    path: str
    status: int

    def line(self) -> str:
        """The one-line live form: ``VIOLATION <side> <rule> <METHOD> <path> -> <status>: <message>``."""
        path = self.path if len(self.path) <= 120 else self.path[:117] + "..."
        message = " ".join(self.message.split())
        return f"VIOLATION {self.side} {self.rule} {self.method} {path} -> {self.status}: {message[:400]}"

    def to_dict(self) -> dict[str, Any]:
        return {"side": self.side, "rule": self.rule, "message": self.message, "method": self.method,
                "path": self.path, "status": self.status}


@functools.cache
def _request_validator(op: str) -> Any:
    return jsonschema_rs.validator_for(request_schema(op))


@functools.cache
def _response_validator(op: str, status: int) -> Any:
    _, _, spec = operation(op)
    key = str(status) if str(status) in spec["responses"] else ("400" if 400 <= status < 500 else None)
    return None if key is None else jsonschema_rs.validator_for(response_schema(op, key))


def json_media(content_type: str) -> bool:
    """``application/json`` or an ``application/*+json`` type, parameters ignored."""
    media = content_type.split(";")[0].strip().lower()
    return media == "application/json" or (media.startswith("application/") and media.endswith("+json"))


#: The decisions each client framing rule cites, per API family (the message names them).
V1_CITES: Mapping[str, str] = {"method": "D1", "path": "D12", "size": "D13", "type": "D15"}


def client_framing(x: Exchange, entity_id: str | None, validator: Any, add: Callable[[str, str, str], None],
                   cites: Mapping[str, str]) -> bool:
    """The client-side rules every API shares (method, path id, size, content type, JSON, the request
    schema of ``validator``), each message citing ``cites``; True when the server must refuse the request."""
    if x.method != "PUT":
        add("client", "method_not_allowed", f"{x.method} is not defined on this path; only PUT is "
            f"({cites['method']}: 405)")
        return x.method != "HEAD"
    if entity_id is None or not valid_id(entity_id):
        add("client", "path_id", "the path id is not 1-1000 characters without control characters, or the path "
            f"has an extra segment ({cites['path']}: 400; '/' in an id must be sent as %2F)")
        return True
    if len(x.raw_body) > _MAX_BODY:
        add("client", "body_size", f"the body has {len(x.raw_body)} bytes; the limit is {_MAX_BODY} "
            f"({cites['size']}: 413)")
        return True
    if x.raw_body.strip() and not json_media(x.content_type):
        add("client", "content_type", f"a body sent as {x.content_type or 'no Content-Type'!r}; it must be "
            f"application/json ({cites['type']}: 415)")
        return True
    if not x.json_body or x.raw_body.startswith(b"\xef\xbb\xbf"):
        add("client", "request_json", "the body is not JSON (UTF-8, no BOM)")
        return True
    if rules.repeats_a_member_name(x.raw_body):
        add("client", "request_json", "the body repeats a member name")
        return True
    errors = list(validator.iter_errors(x.body))
    if errors:
        shown = "; ".join("/" + "/".join(str(p) for p in e.instance_path) + ": " + e.message
                          for e in errors[:_SCHEMA_ERRORS_SHOWN])
        more = f" (+{len(errors) - _SCHEMA_ERRORS_SHOWN} more)" if len(errors) > _SCHEMA_ERRORS_SHOWN else ""
        add("client", "request_schema", f"{shown}{more}")
        return True
    return False


class TrafficJudge:
    """Judges exchanges in the order they complete; ``fresh``: the upstream started empty; ``max_entities``:
    the most ids its model keeps (see :class:`~contracts.model.Model`)."""

    def __init__(self, *, fresh: bool = False, max_entities: int | None = None) -> None:
        self.model = Model(fresh=fresh, max_entities=max_entities)

    def judge(self, method: str, path: str, headers: Mapping[str, str], body: bytes, status: int,
              response_headers: Mapping[str, str], response_body: bytes, *,
              overlapped: bool = False, contended: bool = False) -> list[Violation] | None:
        """Violations of one exchange (``path``: raw path and query as sent); None when it is not one of
        the two operations. Headers are matched case-insensitively. ``overlapped``: another exchange was in
        flight meanwhile (order-dependent predictions off); ``contended``: one for the same path was, so the
        stored state it met is unknown (state rules skipped: illegal_transition and the domain checks)."""
        try:
            parsed = json.loads(response_body) if response_body.strip() else None
        except (ValueError, RecursionError):
            parsed = None
        exchange = Exchange.of(method, "http://upstream" + path, body, dict(headers), status, parsed)
        if exchange.operation is None:
            return None
        obs = self.model.observe(exchange)
        if overlapped:
            obs = replace(obs, strict_order=False)
        found: list[Violation] = []

        def add(side: str, rule: str, message: str) -> None:
            found.append(Violation(side, rule, message, exchange.method, path, status))

        refused = self._client(obs, add, contended)
        self._server(obs, {k.lower(): v for k, v in response_headers.items()}, response_body, parsed, refused, add,
                     contended)
        return found

    def _client(self, obs: Observation, add: Callable[[str, str, str], None], contended: bool) -> bool:
        """Client-side rules; True when the contract requires the server to refuse the request."""
        x = obs.exchange
        if client_framing(x, x.entity_id, _request_validator(x.operation), add, V1_CITES):
            return True
        if not rules.schema_valid(obs):  # non-finite numbers and the other cases the schema cannot express
            add("client", "request_json", "the body holds a number JSON cannot carry (NaN/Infinity) or is malformed")
            return True
        reason = None if contended else rules.illegal_reason(obs)
        if reason is not None:
            add("client", "illegal_transition", f"{reason[0]} (D5: 400 at {', '.join(sorted(reason[1]))}); the "
                f"stored session is {obs.before_session.state if obs.before_session else '?'}")
        return False

    def _server(self, obs: Observation, headers: dict[str, str], raw: bytes, parsed: Any, refused: bool,
                add: Callable[[str, str, str], None], contended: bool) -> None:
        x = obs.exchange
        if x.status >= 500:
            add("server", "server_error", f"{x.status} from the upstream (a correct server never answers 5xx)")
            return
        if x.method not in ("PUT", "HEAD") or x.entity_id is None:
            return
        if x.method == "HEAD":
            return
        if not json_media(headers.get("content-type", "")) or parsed is None:
            add("server", "response_json", f"the response is not JSON (Content-Type "
                f"{headers.get('content-type', 'missing')!r}, {len(raw)} bytes)")
            return
        validator = _response_validator(x.operation, x.status)
        if validator is not None:
            for error in validator.iter_errors(parsed):
                where = "/" + "/".join(str(p) for p in error.instance_path)
                add("server", "response_schema", f"{x.status} body at {where}: {error.message}")
                break
        if refused and x.accepted:
            add("server", "invalid_request_accepted", f"{x.status} for a request the contract rejects")
            return
        if contended:
            return
        for violation in judge(obs, TRAFFIC_CHECKS):
            add("server", violation.rule, f"{violation.summary}; expected {violation.expected}; received "
                f"{violation.received}")
