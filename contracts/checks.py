"""Domain checks for the two v1 upserts: one ``@schemathesis.check`` per rule, named after the rule.

Each check reads the :class:`~contracts.model.Observation` of the response (the model's knowledge just
before the call plus the request as sent and the response) and raises :class:`RuleViolation`, an
``AssertionError`` carrying typed evidence: rule, what was sent, what was expected, what came back.
Schemathesis reports it as ``Custom check failed: `<rule>```; the name is also the ``--checks`` id.

Checks skip (return None) when the model cannot know the answer: an id it has not seen on a server that
did not start empty, concurrent workers for order-dependent rules. Retries (a known session sent its
current state again) belong to ``retry_counts_nothing_twice`` only, so one fault fails one check.
Decisions D1-D15 are in ``contracts/DECISIONS.md`` and cited as ``x-decision`` notes in ``integration-v1.yaml``.

:func:`domain_refusal` is the domain's word on schemathesis' own ``positive_data_acceptance``: a
schema-valid body that the state rules rightly refuse (``contracts.hooks.filter_failure`` uses it).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, NoReturn

import schemathesis

from talon_harness.contracts import rules
from talon_harness.contracts.model import Observation
from talon_harness.contracts.runtime import probe, runtime_for
from talon_harness.strategies.ids import valid_id
from talon_harness.strategies.invalid import RULE_TITLES
from talon_harness.strategies.wire import DOMAIN_ERROR_TITLES, PROFILE, SESSION

__all__ = ["DOMAIN_CHECKS", "RuleViolation", "domain_refusal"] + [
    "path_id_echoed", "session_state_machine", "illegal_transition_rejected", "retry_counts_nothing_twice",
    "attributes_merge", "failed_request_changes_nothing", "first_session_and_profile_autocreation",
    "closed_sessions_bookkeeping", "event_id_strictly_increasing", "event_type", "effects_well_formed",
    "discounts_reflect_effects", "error_response_pointer", "invalid_body_rejected",
]

_PARAMETERS = frozenset({"integrationId", "customerSessionId", "Authorization", "Content-Signature", "Content-Type"})
_STATE_EVENTS = {"closed": "talon_session_closed", "cancelled": "talon_session_cancelled"}
_SESSION_EVENTS = frozenset({"talon_session_created", "talon_session_updated", *_STATE_EVENTS.values()})


def _short(value: Any, limit: int = 300) -> str:
    text = value.decode("utf-8", "backslashreplace") if isinstance(value, bytes) else (
        value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str))
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


@dataclass
class RuleViolation(AssertionError):
    """A broken domain rule, with the evidence a report needs."""

    rule: str
    summary: str
    sent: str
    expected: str
    received: str

    def __str__(self) -> str:
        return (f"[{self.rule}] {self.summary}\n  sent:     {self.sent}\n  expected: {self.expected}\n"
                f"  received: {self.received}")


def _fail(rule: str, obs: Observation, summary: str, expected: Any, received: Any) -> NoReturn:
    x = obs.exchange
    before = ""
    if obs.before_session is not None:
        b = obs.before_session
        before = f" (stored before: state={b.state}, total={b.total!r}, profileId={b.profile_id!r})"
    elif obs.before_profile is not None and x.operation == PROFILE:
        before = f" (stored before: attributes={_short(obs.before_profile.attributes, 120)})"
    sent = f"{x.method} {_short(x.url, 200)} {_short(x.raw_body)}{before}"
    raise RuleViolation(rule, summary, sent, _short(expected), f"{x.status} {_short(received)}")


_Check = Callable[[Observation, Any], "bool | None"]
#: Returned when a rule does not apply to a response (schemathesis then records no result for it);
#: a check that returns None passed.
SKIP = True


def _domain_check(func: _Check) -> Callable[..., bool | None]:
    """Register ``func(obs, case)`` as a schemathesis check named like ``func``."""

    @functools.wraps(func)
    def check(ctx: Any, response: Any, case: Any) -> bool | None:
        try:
            obs = runtime_for(case).observe(response)
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError):  # undecodable: no verdict
            return SKIP
        return func(obs, case)

    return schemathesis.check(check)


def _ok(obs: Observation, operation: str | None = None) -> bool:
    x = obs.exchange
    return x.accepted and isinstance(x.response, dict) and x.entity_id is not None and (
        operation is None or x.operation == operation)


@_domain_check
def path_id_echoed(obs: Observation, case: Any) -> bool | None:
    """D12: an accepted call answers for the entity its path names (profile/session integrationId, event ids)."""
    x = obs.exchange
    if not _ok(obs):
        return SKIP
    if x.operation == SESSION:
        session, event = obs.response_session or {}, obs.event or {}
        if session.get("integrationId") != x.entity_id or event.get("sessionId") != x.entity_id:
            _fail("path_id_echoed", obs, "the response names another session than the path",
                  {"session.integrationId": x.entity_id, "event.sessionId": x.entity_id},
                  {"session.integrationId": session.get("integrationId"), "event.sessionId": event.get("sessionId")})
    else:
        profile = obs.response_profile or {}
        if profile.get("integrationId") != x.entity_id:
            _fail("path_id_echoed", obs, "the response names another profile than the path",
                  {"profile.integrationId": x.entity_id}, {"profile.integrationId": profile.get("integrationId")})
    return None


@_domain_check
def session_state_machine(obs: Observation, case: Any) -> bool | None:
    """D5: after an accepted session call the state is the requested one, else the stored one (open if new)."""
    if not _ok(obs, SESSION):
        return SKIP
    expected = rules.expected_session(obs)
    wanted = expected["state"] if expected else rules.requested_state(obs)
    got = (obs.response_session or {}).get("state")
    if wanted is not None and got != wanted:
        _fail("session_state_machine", obs, "the session is not in the state the call asked for",
              {"session.state": wanted}, {"session.state": got})
    return None


@_domain_check
def illegal_transition_rejected(obs: Observation, case: Any) -> bool | None:
    """D5: closed->open, leaving cancelled, and changes to a closed/cancelled session get 400 (pointer
    ``/state`` or the first changed field)."""
    if obs.exchange.method != "PUT":
        return SKIP
    reason = rules.illegal_reason(obs)
    if reason is None:
        return SKIP
    why, pointers = reason
    x = obs.exchange
    if x.accepted:
        _fail("illegal_transition_rejected", obs, f"{why} was accepted", "400 ErrorResponse",
              {"session.state": (obs.response_session or {}).get("state")})
    if rules.schema_valid(obs):
        errors = (x.response or {}).get("errors") if isinstance(x.response, dict) else None
        named = {(e.get("source") or {}).get("pointer") for e in errors or [] if isinstance(e, dict)}
        if x.status != 400 or not any(isinstance(n, str) and (n in pointers or n.startswith(tuple(p + "/" for p in pointers)))
                                      for n in named):
            _fail("illegal_transition_rejected", obs, f"{why} was not rejected as such",
                  f"400 with an error pointer in {sorted(pointers)}", x.response)
    return None


@_domain_check
def retry_counts_nothing_twice(obs: Observation, case: Any) -> bool | None:
    """D5/D6/D10: sending a session's current state again succeeds, records talon_session_updated and leaves
    closedSessions/totalSales alone."""
    if not rules.is_retry(obs) or obs.exchange.method != "PUT":
        return SKIP
    x = obs.exchange
    if not x.accepted:
        if rules.schema_valid(obs) and not rules.changed_fields(obs) and x.status == 400:
            _fail("retry_counts_nothing_twice", obs, "a retry of the current state was rejected", "200", x.response)
        return None
    event_type = (obs.event or {}).get("type")
    if event_type != "talon_session_updated":
        _fail("retry_counts_nothing_twice", obs, "a retry recorded a state-change event",
              {"event.type": "talon_session_updated"}, {"event.type": event_type})
    profile, before = obs.response_profile, obs.before_profile
    if profile and before and obs.strict_order and profile.get("integrationId") == obs.target_profile_id and not (
        profile.get("closedSessions") == before.closed_sessions
        and rules.same_number(profile.get("totalSales"), before.total_sales)
    ):
        _fail("retry_counts_nothing_twice", obs, "a retry changed the profile's bookkeeping",
              {"closedSessions": before.closed_sessions, "totalSales": before.total_sales},
              {"closedSessions": profile.get("closedSessions"), "totalSales": profile.get("totalSales")})
    return None


@_domain_check
def attributes_merge(obs: Observation, case: Any) -> bool | None:
    """D4: attributes merge key by key; earlier keys survive, null keeps the stored value; a session call
    leaves its profile's attributes alone."""
    if not _ok(obs):
        return SKIP
    x = obs.exchange
    sent = x.sent("attributes") if isinstance(x.sent("attributes"), dict) else {}
    if x.operation == PROFILE:
        stored = obs.before_profile.attributes if obs.before_profile else ({} if obs.existed is False else None)
        got = (obs.response_profile or {}).get("attributes")
    else:
        stored = obs.before_session.attributes if obs.before_session else ({} if obs.existed is False else None)
        got = (obs.response_session or {}).get("attributes")
    if stored is None:  # unknown entity: at least every sent key must be there
        missing = {k: v for k, v in sent.items() if v is not None and (not isinstance(got, dict) or got.get(k) != v)}
        if missing:
            _fail("attributes_merge", obs, "sent attributes are missing from the response", missing, got)
        return None
    expected = {**stored, **{k: v for k, v in sent.items() if v is not None}}
    if got != expected:
        _fail("attributes_merge", obs, "attributes are not the key-by-key merge of stored and sent",
              expected, got)
    profile, before = obs.response_profile, obs.before_profile
    if (x.operation == SESSION and profile and before and obs.strict_order
            and profile.get("integrationId") == obs.target_profile_id and profile.get("attributes") != before.attributes):
        _fail("attributes_merge", obs, "a session call changed its profile's attributes",
              {"profile.attributes": before.attributes}, {"profile.attributes": profile.get("attributes")})
    return None


@_domain_check
def failed_request_changes_nothing(obs: Observation, case: Any) -> bool | None:
    """D1: a rejected PUT leaves everything as it was. Verified with a ``PUT {}`` probe (a read without GET)
    right after the failure, for entities the model knows (or knows absent on a fresh server)."""
    x = obs.exchange
    if x.accepted or x.method != "PUT" or x.entity_id is None or not valid_id(x.entity_id) or obs.existed is None:
        return SKIP
    if not obs.strict_order:
        return SKIP
    runtime = runtime_for(case)
    after = probe(runtime, x.url, x.operation or "", x.entity_id)
    if after is None or not after.exchange.accepted:
        return SKIP
    event_type = (after.event or {}).get("type")
    if obs.existed is False:
        if event_type not in ("talon_profile_created", "talon_session_created"):
            _fail("failed_request_changes_nothing", obs, "the rejected call created the entity",
                  "a PUT {} afterwards creates it (event *_created)", {"probe event.type": event_type})
        return None
    if x.operation == SESSION:
        expected = rules.expected_session(after) or {}
        got = after.response_session or {}
        diff = {k: (v, got.get(k)) for k, v in expected.items()
                if not (rules.same_number(v, got.get(k)) if k == "total" else v == got.get(k))}
    else:
        before = obs.before_profile
        got = after.response_profile or {}
        diff = {"attributes": (before.attributes, got.get("attributes"))} if before and before.attributes != got.get(
            "attributes") else {}
    profile, before_profile = after.response_profile, after.before_profile
    if profile and before_profile and profile.get("integrationId") == after.target_profile_id and (
            profile.get("closedSessions") != before_profile.closed_sessions
            or not rules.same_number(profile.get("totalSales"), before_profile.total_sales)):
        diff["profile.closedSessions/totalSales"] = (
            (before_profile.closed_sessions, before_profile.total_sales),
            (profile.get("closedSessions"), profile.get("totalSales")))
    if diff:
        _fail("failed_request_changes_nothing", obs, "a rejected call changed stored state (seen by PUT {} after it)",
              {k: v[0] for k, v in diff.items()}, {k: v[1] for k, v in diff.items()})
    return None


@_domain_check
def first_session_and_profile_autocreation(obs: Observation, case: Any) -> bool | None:
    """D7/D9: an unknown profileId creates an empty profile; anonymous sessions have profile null;
    firstSession is true for a profile's first (or an anonymous) session, false after, and never changes."""
    if not _ok(obs, SESSION):
        return SKIP
    session, profile = obs.response_session or {}, obs.response_profile
    expected = rules.expected_session(obs)
    pid = expected["profileId"] if expected else session.get("profileId")
    if pid == "" and profile is not None:
        _fail("first_session_and_profile_autocreation", obs, "an anonymous session returned a profile",
              {"profile": None}, {"profile": profile})
    if pid and (profile is None or profile.get("integrationId") != pid):
        _fail("first_session_and_profile_autocreation", obs, "the session's profile is missing from the response",
              {"profile.integrationId": pid}, {"profile": profile})
    if pid and obs.before_profile_existed is False and obs.strict_order and (profile or {}).get("attributes") != {}:
        _fail("first_session_and_profile_autocreation", obs, "an auto-created profile is not empty",
              {"profile.attributes": {}}, {"profile.attributes": (profile or {}).get("attributes")})
    got = session.get("firstSession")
    if obs.before_session is not None:
        wanted: bool | None = obs.before_session.first_session
    elif obs.existed is False or (obs.event or {}).get("type") == "talon_session_created":
        if pid == "":
            wanted = True
        elif obs.before_profile is not None and obs.before_profile.sessions is not None and obs.strict_order:
            wanted = obs.before_profile.sessions == 0
        elif obs.before_profile_existed is False:
            wanted = True
        else:
            wanted = None
    else:
        wanted = None
    if wanted is not None and got is not wanted:
        _fail("first_session_and_profile_autocreation", obs, "firstSession is wrong",
              {"session.firstSession": wanted}, {"session.firstSession": got})
    return None


@_domain_check
def closed_sessions_bookkeeping(obs: Observation, case: Any) -> bool | None:
    """D6: reaching closed adds 1 and the total to the profile; closed->cancelled takes both back; nothing
    else (profile updates included) changes closedSessions/totalSales; an overflowing totalSales is a 400."""
    if not _ok(obs) or not obs.strict_order or rules.is_retry(obs):
        return SKIP
    profile = obs.response_profile or {}
    x = obs.exchange
    if x.operation == PROFILE:
        before = obs.before_profile
        if before and (profile.get("closedSessions") != before.closed_sessions
                       or not rules.same_number(profile.get("totalSales"), before.total_sales)):
            _fail("closed_sessions_bookkeeping", obs, "a profile update changed closedSessions/totalSales",
                  {"closedSessions": before.closed_sessions, "totalSales": before.total_sales},
                  {"closedSessions": profile.get("closedSessions"), "totalSales": profile.get("totalSales")})
        return None
    delta = rules.bookkeeping_delta(obs)
    if delta is None or profile.get("integrationId") != obs.target_profile_id:
        return SKIP
    base = obs.before_profile.closed_sessions if obs.before_profile else 0
    closed, sales = base + delta[0], delta[1]
    if sales is None:
        _fail("closed_sessions_bookkeeping", obs, "accepted although totalSales would not be finite",
              "400 Out of range, pointer /total", profile)
    if profile.get("closedSessions") != closed or not rules.same_number(profile.get("totalSales"), sales):
        _fail("closed_sessions_bookkeeping", obs, "closedSessions/totalSales do not follow the session's state",
              {"closedSessions": closed, "totalSales": sales},
              {"closedSessions": profile.get("closedSessions"), "totalSales": profile.get("totalSales")})
    return None


@_domain_check
def event_id_strictly_increasing(obs: Observation, case: Any) -> bool | None:
    """D10: every accepted call records a new event whose id is greater than every earlier one."""
    if not _ok(obs):
        return SKIP
    event_id = (obs.event or {}).get("id")
    if not isinstance(event_id, int) or isinstance(event_id, bool) or event_id in obs.seen_event_ids or (
            obs.strict_order and obs.last_event_id is not None and event_id <= obs.last_event_id):
        _fail("event_id_strictly_increasing", obs, "the event id is not new and increasing",
              f"an integer id > {obs.last_event_id}", {"event.id": event_id})
    return None


@_domain_check
def event_type(obs: Observation, case: Any) -> bool | None:
    """D10: *_created on creation, talon_session_closed/cancelled when the call changes the state,
    *_updated otherwise; event.sessionId only for sessions, event.profileId the entity's profile."""
    if not _ok(obs) or rules.is_retry(obs):
        return SKIP
    x, event = obs.exchange, obs.event or {}
    got = event.get("type")
    if x.operation == PROFILE:
        allowed = {True: {"talon_profile_updated"}, False: {"talon_profile_created"},
                   None: {"talon_profile_created", "talon_profile_updated"}}[obs.existed]
        ids_ok = event.get("sessionId") is None and event.get("profileId") == x.entity_id
    else:
        if obs.existed is False:
            allowed = {"talon_session_created"}
        elif obs.before_session is not None:
            target = rules.requested_state(obs)
            changes = target is not None and target != obs.before_session.state
            allowed = {_STATE_EVENTS.get(target or "", "talon_session_updated")} if changes else {"talon_session_updated"}
        else:
            allowed = set(_SESSION_EVENTS)
        ids_ok = event.get("profileId") == (obs.response_session or {}).get("profileId")
    if got not in allowed or not ids_ok:
        _fail("event_type", obs, "the event does not describe the call",
              {"event.type": sorted(allowed), "event.profileId": (obs.response_session or {}).get("profileId", x.entity_id)},
              {"event.type": got, "event.profileId": event.get("profileId"), "event.sessionId": event.get("sessionId")})
    return None


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _effects(obs: Observation) -> list[Any]:
    effects = (obs.event or {}).get("effects")
    return effects if isinstance(effects, list) else []


@_domain_check
def effects_well_formed(obs: Observation, case: Any) -> bool | None:
    """D11: effects are [campaignId, rulesetId, ruleIndex, [name, args...]]; a session with a coupon/referral
    has exactly one accept or reject effect for that code, none without; profile updates have none."""
    if not _ok(obs):
        return SKIP
    effects = (obs.event or {}).get("effects")
    bad = [e for e in effects or [] if not (isinstance(e, list) and len(e) == 4 and all(_is_int(v) for v in e[:3])
                                            and isinstance(e[3], list) and e[3] and isinstance(e[3][0], str))]
    if not isinstance(effects, list) or bad:
        _fail("effects_well_formed", obs, "malformed effect tuples", "[int, int, int, [name, args...]]", effects)
    if obs.exchange.operation == PROFILE:
        if effects:
            _fail("effects_well_formed", obs, "a profile update produced effects", [], effects)
        return None
    session = obs.response_session or {}
    for field_name, names in (("coupon", ("acceptCoupon", "rejectCoupon")),
                              ("referral", ("acceptReferral", "rejectReferral"))):
        code = session.get(field_name) or ""
        found = [e for e in effects if e[3][0] in names]
        wanted_count = 1 if code else 0
        if len(found) != wanted_count or (code and found[0][3][1:2] != [code]):
            _fail("effects_well_formed", obs, f"{field_name} effects do not match session.{field_name}",
                  f"{wanted_count} of {names} for {code!r}", found)
    for e in effects:
        if e[3][0] == "setDiscount" and not (len(e[3]) == 3 and isinstance(e[3][1], str)
                                              and isinstance(e[3][2], (int, float)) and not isinstance(e[3][2], bool)):
            _fail("effects_well_formed", obs, "setDiscount args are not [label, amount]", "[label, amount]", e)
    return None


@_domain_check
def discounts_reflect_effects(obs: Observation, case: Any) -> bool | None:
    """D11: session.discounts has exactly one entry per setDiscount label, with its amount."""
    if not _ok(obs, SESSION):
        return SKIP
    amounts: dict[str, list[Any]] = {}
    for e in _effects(obs):
        if isinstance(e, list) and len(e) == 4 and isinstance(e[3], list) and len(e[3]) == 3 and e[3][0] == "setDiscount":
            amounts.setdefault(str(e[3][1]), []).append(e[3][2])
    got = (obs.response_session or {}).get("discounts")
    ok = isinstance(got, dict) and set(got) == set(amounts) and all(
        any(rules.same_number(got[k], a) for a in (*v, sum(v))) for k, v in amounts.items())
    if not ok:
        _fail("discounts_reflect_effects", obs, "session.discounts differ from the setDiscount effects",
              {k: v[-1] for k, v in amounts.items()}, {"session.discounts": got})
    return None


@_domain_check
def error_response_pointer(obs: Observation, case: Any) -> bool | None:
    """D1: every error is an ErrorResponse whose sources name a request member (JSON pointer) or parameter."""
    x = obs.exchange
    if x.accepted or x.method == "HEAD" or x.status >= 500:
        return SKIP
    body = x.response
    errors = body.get("errors", []) if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("message"), str) or not isinstance(errors, list):
        _fail("error_response_pointer", obs, "the error body is not an ErrorResponse",
              '{"message": str, "errors": [...]}', body)
    for error in errors:
        source = error.get("source") if isinstance(error, dict) else None
        if not isinstance(source, dict) or not isinstance(error.get("title"), str):
            _fail("error_response_pointer", obs, "an APIError lacks title/source", "{title, source}", error)
        pointer, parameter = source.get("pointer"), source.get("parameter")
        if parameter is not None:
            if parameter not in _PARAMETERS:
                _fail("error_response_pointer", obs, "source.parameter names no request parameter",
                      sorted(_PARAMETERS), error)
        elif not isinstance(pointer, str) or not (
                rules.pointer_resolves(pointer, x.body) if x.json_body else pointer == ""):
            _fail("error_response_pointer", obs, "source.pointer does not point into the request",
                  "a JSON pointer to a member of the sent body (\"\" for the whole document)", error)
    return None


def _error_titles_at(body: Any, pointer: str) -> set[Any]:
    errors = body.get("errors") if isinstance(body, dict) else None
    return {e.get("title") for e in errors or [] if isinstance(e, dict) and isinstance(e.get("source"), dict)
            and e["source"].get("pointer") == pointer}


@_domain_check
def invalid_body_rejected(obs: Observation, case: Any) -> bool | None:
    """D1/D3/D13: a body from ``strategies.invalid`` (tagged by the hooks with the rule it breaks and the
    pointer of the offending member) is refused with its status (400) and an error naming that pointer."""
    x = obs.exchange
    if x.method != "PUT" or not x.json_body or x.entity_id is None or not valid_id(x.entity_id) or x.status >= 500:
        return SKIP
    if x.content_type.split(";")[0].strip().lower() != "application/json":
        return SKIP
    invalid = runtime_for(case).tag_of(case)
    if invalid is None or invalid.operation != x.operation:
        return SKIP
    expected = {"status": invalid.status, "source.pointer": invalid.pointer}
    if x.status != invalid.status:
        _fail("invalid_body_rejected", obs, f"a body breaking `{invalid.breaks}` at {invalid.pointer!r} was not "
              f"refused with {invalid.status}", expected, x.response)
    titles = _error_titles_at(x.response, invalid.pointer)
    if not titles:
        _fail("invalid_body_rejected", obs, f"the error for a body breaking `{invalid.breaks}` does not point at "
              f"{invalid.pointer!r}", expected, x.response)
    title = RULE_TITLES.get(invalid.breaks)
    if title is not None and title not in titles:  # e.g. "Session closed": validation ran after state rules
        _fail("invalid_body_rejected", obs, f"a body breaking `{invalid.breaks}` was refused for another reason "
              f"(validation must come first, whatever the stored state)", {**expected, "title": title}, x.response)
    return None


def domain_refusal(case: Any, response: Any) -> bool:
    """A 400 to a schema-valid request that the domain explains, so ``positive_data_acceptance`` must not
    count it: a tagged ``strategies.invalid`` body (the generation view of the contract is looser at depth
    than the contract, so schemathesis may take it for valid), an id outside D12 (e.g. an anonymous
    session's ``profileId: ""`` followed as a link), or a refusal titled by a domain rule (D5 transition or
    final state, D6 totalSales overflow) that the model agrees with, or cannot judge."""
    if response.status_code != 400:
        return False
    runtime = runtime_for(case)
    obs = runtime.observe(response)
    if runtime.tag_of(case) is not None:
        return True
    if obs.exchange.entity_id is not None and not valid_id(obs.exchange.entity_id):
        return True
    body = obs.exchange.response
    errors = body.get("errors") if isinstance(body, dict) else None
    titles = {e.get("title") for e in errors or [] if isinstance(e, dict)} if isinstance(errors, list) else set()
    if not titles or not titles <= DOMAIN_ERROR_TITLES:
        return False
    if obs.before_session is None or rules.illegal_reason(obs) is not None:
        return True  # the model cannot tell (take the server's word), or agrees
    delta = rules.bookkeeping_delta(obs)
    return "Out of range" in titles and (delta is None or delta[1] is None)


DOMAIN_CHECKS: tuple[str, ...] = tuple(n for n in __all__ if n not in ("DOMAIN_CHECKS", "RuleViolation",
                                                                       "domain_refusal"))
