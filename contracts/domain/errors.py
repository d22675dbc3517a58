"""Rules on refusals: the ErrorResponse and its pointers (D1), invalid bodies refused first (D1/D3/D13)."""

from __future__ import annotations

from typing import Any

from talon_harness.contracts import rules
from talon_harness.contracts.domain._rule import NOT_APPLICABLE, Outcome, Rule, fail
from talon_harness.contracts.model import Observation
from talon_harness.strategies.ids import valid_id
from talon_harness.strategies.invalid import RULE_TITLES

_PARAMETERS = frozenset({"integrationId", "customerSessionId", "Authorization", "Content-Signature", "Content-Type"})


def _error_titles_at(body: Any, pointer: str) -> set[Any]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return {e.get("title") for e in errors or [] if isinstance(e, dict) and isinstance(e.get("source"), dict)
            and e["source"].get("pointer") == pointer}


def error_response_pointer(obs: Observation) -> Outcome:
    """D1: every error is an ErrorResponse whose sources name a request member (JSON pointer) or parameter."""
    x = obs.exchange
    if x.accepted or x.method == "HEAD" or x.status >= 500:
        return NOT_APPLICABLE
    body = x.response
    errors = body.get("errors", []) if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str) or not isinstance(errors, list):
        return fail(obs, "the error body is not an ErrorResponse",
              '{"message": str, "errors": [...]}', body)
    for error in errors:
        source = error.get("source") if isinstance(error, dict) else None
        if not isinstance(source, dict) or not isinstance(error.get("title"), str):
            return fail(obs, "an APIError lacks title/source", "{title, source}", error)
        pointer, parameter = source.get("pointer"), source.get("parameter")
        if parameter is not None:
            if parameter not in _PARAMETERS:
                return fail(obs, "source.parameter names no request parameter",
                      sorted(_PARAMETERS), error)
        elif not isinstance(pointer, str) or not (
                rules.pointer_resolves(pointer, x.body) if x.json_body else pointer == ""):
            return fail(obs, "source.pointer does not point into the request",
                  "a JSON pointer to a member of the sent body (\"\" for the whole document)", error)
    return None


def invalid_body_rejected(obs: Observation) -> Outcome:
    """D1/D3/D13: a body from ``strategies.invalid`` (tagged by the hooks with the rule it breaks and the
    pointer of the offending member) is refused with its status (400) and an error naming that pointer."""
    x = obs.exchange
    if x.method != "PUT" or not x.json_body or x.entity_id is None or not valid_id(x.entity_id) or x.status >= 500:
        return NOT_APPLICABLE
    if x.content_type.split(";")[0].strip().lower() != "application/json":
        return NOT_APPLICABLE
    invalid = obs.invalid
    if invalid is None or invalid.operation != x.operation:
        return NOT_APPLICABLE
    expected = {"status": invalid.status, "source.pointer": invalid.pointer}
    if x.status != invalid.status:
        return fail(obs, f"a body breaking `{invalid.breaks}` at {invalid.pointer!r} was not "
              f"refused with {invalid.status}", expected, x.response)
    titles = _error_titles_at(x.response, invalid.pointer)
    if not titles:
        return fail(obs, f"the error for a body breaking `{invalid.breaks}` does not point at "
              f"{invalid.pointer!r}", expected, x.response)
    title = RULE_TITLES.get(invalid.breaks)
    if title is not None and title not in titles:  # e.g. "Session closed": validation ran after state rules
        return fail(obs, f"a body breaking `{invalid.breaks}` was refused for another reason "
              f"(validation must come first, whatever the stored state)", {**expected, "title": title}, x.response)
    return None


RULES: tuple[Rule, ...] = (
    Rule("error_response_pointer", ("D1",), "every error is an ErrorResponse pointing into the request",
         error_response_pointer,
         {"D1 state errors point at /state or the changed member": ("illegal_transitions",),
          "D1 validation errors point into the body": ("invalid_bodies", "rejected_change")},
         ("error_pointer_relative",)),
    Rule("invalid_body_rejected", ("D1", "D3", "D13"), "a body breaking a strategies.invalid rule is refused at its pointer",
         invalid_body_rejected,
         {"D1/D3/D13 every strategies.invalid rule is refused at its pointer": ("invalid_bodies",),
          "D1 validation comes before the state rules": ("rejected_change",)},
         ("quantity_zero_accepted", "unknown_session_field_accepted", "total_wrong_type_accepted",
          "too_many_items_accepted", "deep_attributes_accepted"), needs="tag"),
)
