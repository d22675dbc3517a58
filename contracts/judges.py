"""The witness phase's judges: each turns one answer into the :class:`~contracts.violation.Violation`\\ s it finds.

A judge is a callable ``(Sent) -> Sequence[Violation]``. :data:`DEFAULT_JUDGES`: every rule of the registry
(:func:`domain_rules`, the same ``Rule.judge`` the schemathesis adapter and the proxy call), a 5xx judge
(``not_a_server_error``), the journey model's acceptance prediction (``positive_data_acceptance``) and the
contract's responses (``status_code_conformance``, ``content_type_conformance``,
``response_schema_conformance``, with jsonschema-rs), named like the schemathesis checks they stand in for.
Another judge (e.g. a reference oracle) is one more callable: :func:`reference_judge` is ``matches_reference``
(``check --oracle``).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jsonschema_rs

from talon_harness.contracts import oracle as reference
from talon_harness.contracts.domain import judge
from talon_harness.contracts.model import Observation
from talon_harness.contracts.sequences import Step
from talon_harness.contracts.spec import operation, response_schema
from talon_harness.contracts.violation import Violation, short

__all__ = ["DEFAULT_JUDGES", "Judge", "Sent", "domain_rules", "expected_acceptance", "reference_judge",
           "response_conformance", "server_errors"]


@dataclass(frozen=True)
class Sent:
    """What a judge sees: the witness step and its observation (request as sent, model before, answer, and
    the step's invalid tag and read-back, when it has them); ``request`` the journal entry of the request,
    ``content_type``/``content`` the answer's header and bytes."""

    witness: str
    step: Step
    observation: Observation
    content_type: str = ""
    request: reference.Step | None = None
    content: bytes = b""


#: A judge returns one Violation per check that failed on the answer (empty: nothing wrong).
Judge = Callable[[Sent], Sequence[Violation]]


def _built_in(sent: Sent, check: str, summary: str, expected: str = "", received: str = "") -> Violation:
    x = sent.observation.exchange
    return Violation(check, "", summary, f"{x.method} {short(x.url, 200)} {short(x.raw_body)}", expected,
                     received or f"{x.status} {short(x.response)}", x.method, x.url)


def domain_rules(sent: Sent) -> list[Violation]:
    """Every rule of ``contracts.domain`` on the answer (the read-back rule only where the phase gave one)."""
    return judge(sent.observation)


def server_errors(sent: Sent) -> list[Violation]:
    """``not_a_server_error``: no answer is a 5xx."""
    x = sent.observation.exchange
    if x.status < 500:
        return []
    return [_built_in(sent, "not_a_server_error", f"{x.status} for {x.method} {x.url[:200]}", "not a 5xx")]


def expected_acceptance(sent: Sent) -> list[Violation]:
    """``positive_data_acceptance``: a valid call the journey model predicts accepted got a 4xx."""
    x = sent.observation.exchange
    if sent.step.expect_status != 200 or not 400 <= x.status < 500:
        return []
    return [_built_in(sent, "positive_data_acceptance", f"a valid call ({sent.step.step}) was refused", "200")]


@functools.cache
def _response_validator(operation_id: str, status: int, api: str = "v1") -> Any:
    return jsonschema_rs.validator_for(response_schema(operation_id, status, api))


def response_conformance(sent: Sent, api: str = "v1") -> list[Violation]:
    """The answer as the contract (of the v1 revision ``api``) documents it (what schemathesis' checks of the
    same names verify): ``status_code_conformance`` a documented status, ``content_type_conformance`` JSON,
    ``response_schema_conformance`` a body valid against the schema of that status."""
    x = sent.observation.exchange
    if x.operation is None:
        return []
    where = f"{x.method} {x.url[:200]} -> {x.status}"
    documented = operation(x.operation, api)[2]["responses"]
    if str(x.status) not in documented:
        return [_built_in(sent, "status_code_conformance", f"undocumented status: {where}", ", ".join(documented))]
    content_type = sent.content_type.split(";")[0].strip().lower()
    if content_type != "application/json":
        return [_built_in(sent, "content_type_conformance", f"{content_type!r} instead of application/json: {where}",
                          "application/json")]
    errors = list(_response_validator(x.operation, x.status, api).iter_errors(x.response))
    if errors:
        shown = "; ".join(f"{'/'.join(map(str, e.instance_path))}: {e.message[:160]}" for e in errors[:3])
        return [_built_in(sent, "response_schema_conformance", f"{where}: {shown}", f"the {x.status} schema")]
    return []


DEFAULT_JUDGES: tuple[Judge, ...] = (domain_rules, server_errors, expected_acceptance, response_conformance)


def reference_judge(oracle: reference.OracleRuntime) -> Judge:
    """``matches_reference`` on the witness phase: each witness request goes again, byte for byte with its own
    headers, to ``oracle``'s reference server and the two answers are compared as in the schemathesis phases
    (``OracleRuntime.mirror``). The ``PUT {}`` read-backs of failed_request_changes_nothing reach the target only:
    they change nothing a later witness step reads (an entity a refused body did not create is never sent again)."""

    def matches_reference(sent: Sent) -> list[Violation]:
        x = sent.observation.exchange
        if sent.request is None:
            return []
        answer = reference.Answer.of(x.status, {"content-type": sent.content_type}, sent.content)
        text = oracle.mirror(sent.request, x.headers, answer)
        if not text:
            return []
        summary, _, rest = text.removeprefix("[matches_reference] ").partition("\n")
        return [Violation("matches_reference", "", summary, received=rest, method=x.method, url=x.url)]

    return matches_reference
